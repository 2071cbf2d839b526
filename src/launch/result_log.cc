#include "launch/result_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/file_io.h"

namespace migctl {
namespace {

using std::chrono::system_clock;

constexpr std::array<std::pair<TaskStatus, const char*>, 5> kStatusNames = {
    {{TaskStatus::kOk, "ok"},
     {TaskStatus::kFailed, "failed"},
     {TaskStatus::kKilled, "killed"},
     {TaskStatus::kTimedOut, "timeout"},
     {TaskStatus::kNotStarted, "not-started"}}};

std::string SignalName(int signal) {
  static const std::array<std::pair<int, const char*>, 31> kNames = {{
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},       {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
      {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},     {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
      {SIGKILL, "SIGKILL"}, {SIGUSR1, "SIGUSR1"},     {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},     {SIGTERM, "SIGTERM"}, {SIGSTKFLT, "SIGSTKFLT"},
      {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"},     {SIGSTOP, "SIGSTOP"}, {SIGTSTP, "SIGTSTP"},
      {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},     {SIGURG, "SIGURG"},   {SIGXCPU, "SIGXCPU"},
      {SIGXFSZ, "SIGXFSZ"}, {SIGVTALRM, "SIGVTALRM"}, {SIGPROF, "SIGPROF"}, {SIGWINCH, "SIGWINCH"},
      {SIGIO, "SIGIO"},     {SIGPWR, "SIGPWR"},       {SIGSYS, "SIGSYS"},
  }};
  for (const auto& [number, name] : kNames)
    if (number == signal) return name;
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) return fmt::format("SIGRTMIN+{}", signal - SIGRTMIN);
  return fmt::format("signal {}", signal);
}

std::string FormatTimestamp(system_clock::time_point t) {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto day = std::chrono::floor<std::chrono::days>(ms);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss time{ms - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

/// Parses FormatTimestamp's form; the fraction may have 0 to 9 digits (cut to milliseconds).
std::optional<system_clock::time_point> ParseTimestamp(std::string_view s) {
  size_t pos = 0;
  auto number = [&](size_t digits, char after) -> std::optional<int> {
    int value = 0;
    for (size_t i = 0; i < digits; ++i, ++pos) {
      if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return std::nullopt;
      value = value * 10 + (s[pos] - '0');
    }
    if (pos >= s.size() || s[pos] != after) return std::nullopt;
    ++pos;
    return value;
  };
  const auto year = number(4, '-'), month = number(2, '-'), day = number(2, 'T');
  const auto hour = number(2, ':'), minute = number(2, ':');
  if (!year || !month || !day || !hour || !minute) return std::nullopt;
  int second = 0, millis = 0;
  for (size_t i = 0; i < 2; ++i, ++pos) {
    if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') return std::nullopt;
    second = second * 10 + (s[pos] - '0');
  }
  if (pos < s.size() && s[pos] == '.') {
    const size_t first = ++pos;
    for (; pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - first < 9; ++pos)
      if (pos - first < 3) millis = millis * 10 + (s[pos] - '0');
    if (pos == first) return std::nullopt;
    for (size_t digits = pos - first; digits < 3; ++digits) millis *= 10;
  }
  if (s.substr(pos) != "Z") return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year), std::chrono::month(*month),
                                         std::chrono::day(*day)};
  if (!date.ok() || *hour > 23 || *minute > 59 || second > 60) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(second) + std::chrono::milliseconds(millis);
}

/// `j` as one line; bytes that are not UTF-8 become U+FFFD instead of throwing.
std::string DumpLine(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

/// `text` as a result line stores it (see DumpLine).
std::string AsWritten(const std::string& text) {
  return Json::parse(DumpLine(Json(text))).get<std::string>();
}

/// A command inside a one-line message: newlines and tabs escaped, cut after 200 bytes.
std::string ShowCommand(std::string_view command) {
  constexpr size_t kMaxShown = 200;
  std::string out = "`";
  for (size_t i = 0; i < command.size() && i < kMaxShown; ++i) {
    if (command[i] == '\n') {
      out += "\\n";
    } else if (command[i] == '\t') {
      out += "\\t";
    } else {
      out += command[i];
    }
  }
  return out + (command.size() > kMaxShown ? "...`" : "`");
}

Error Corrupt(const std::string& message) { return MakeError(ErrorCode::kCorrupt, message); }

/// Reads `key` of `json` into `out`, checking its type; absent or null leaves `out` unless `required`.
template <typename T>
Status Field(const Json& json, const char* key, bool required, T& out) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) {
    if (required) return Corrupt(fmt::format("the result has no \"{}\"", key));
    return Ok();
  }
  const Json& v = *it;
  bool fits = false;
  if constexpr (std::is_same_v<T, bool>) {
    fits = v.is_boolean();
  } else if constexpr (std::is_same_v<T, std::string>) {
    fits = v.is_string();
  } else if constexpr (std::is_same_v<T, double>) {
    fits = v.is_number();
  } else if constexpr (std::is_same_v<T, unsigned> || std::is_same_v<T, std::optional<unsigned>>) {
    fits = v.is_number_unsigned() ? v.get<unsigned long long>() <= std::numeric_limits<unsigned>::max()
                                  : v.is_number_integer() && v.get<long long>() >= 0 &&
                                        v.get<long long>() <= std::numeric_limits<unsigned>::max();
  } else if constexpr (std::is_same_v<T, std::optional<int>>) {
    fits = v.is_number_integer() && v.get<long long>() >= std::numeric_limits<int>::min() &&
           v.get<long long>() <= std::numeric_limits<int>::max();
  } else {
    static_assert(std::is_same_v<T, std::map<std::string, std::string>>);
    fits = v.is_object();
    for (const auto& [name, value] : v.items()) fits = fits && value.is_string();
  }
  if (!fits) return Corrupt(fmt::format("the result's \"{}\" has the wrong type: {}", key, DumpLine(v)));
  if constexpr (std::is_same_v<T, std::optional<unsigned>>) {
    out = v.get<unsigned>();
  } else if constexpr (std::is_same_v<T, std::optional<int>>) {
    out = v.get<int>();
  } else {
    out = v.get<T>();
  }
  return Ok();
}

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

/// Reads `size` bytes at `offset`.
Result<std::string> ReadAt(int fd, off_t offset, size_t size, const std::string& path) {
  std::string out(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, out.data() + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot append to results file", path);
    data.remove_prefix(static_cast<size_t>(n));  // A short write (disk full) retries, then fails above.
  }
  return Ok();
}

/// Makes the file at `fd` end with a newline (see ResultLog::Open).
Status RepairTornTail(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("cannot stat", path);
  off_t end = st.st_size;
  if (end == 0) return Ok();
  off_t start = end;  // Start of the last line.
  constexpr off_t kChunk = 65536;
  for (bool found = false; start > 0 && !found;) {
    const off_t from = std::max<off_t>(0, start - kChunk);
    MIGCTL_ASSIGN_OR_RETURN(std::string chunk, ReadAt(fd, from, static_cast<size_t>(start - from), path));
    const size_t newline = chunk.rfind('\n');
    found = newline != std::string::npos;
    start = found ? from + static_cast<off_t>(newline) + 1 : from;
  }
  if (start == end) return Ok();
  MIGCTL_ASSIGN_OR_RETURN(std::string tail, ReadAt(fd, start, static_cast<size_t>(end - start), path));
  const std::string_view ours = R"({"v":)";  // How every line ResultToJson writes begins.
  const size_t compared = std::min(ours.size(), tail.size());
  if (std::string_view(tail).substr(0, compared) != ours.substr(0, compared))
    return Corrupt(
        fmt::format("{} does not end with a complete line and does not look like a migctl results file; give "
                    "another file",
                    path));
  const Json json = Json::parse(tail, nullptr, false);
  if (!json.is_discarded() && ResultFromJson(json).ok()) return WriteAll(fd, "\n", path);
  if (::ftruncate(fd, start) != 0) return IoError("cannot cut the torn last line of", path);
  return Ok();
}

}  // namespace

const char* TaskStatusName(TaskStatus status) {
  for (const auto& [value, name] : kStatusNames)
    if (value == status) return name;
  return "unknown";
}

Json ResultToJson(const TaskResult& r) {
  Json params = Json::object();
  for (const auto& [name, value] : r.params) params[name] = value;
  auto optional = [](const auto& value) { return value ? Json(*value) : Json(nullptr); };
  return Json{{"v", kResultLogVersion},
              {"task", r.task},
              {"attempt", r.attempt},
              {"final", r.final},
              {"status", TaskStatusName(r.status)},
              {"command", r.command},
              {"params", params},
              {"worker", r.worker},
              {"device", r.device},
              {"node", r.node.empty() ? Json(nullptr) : Json(r.node)},
              {"gpu", optional(r.gpu)},
              {"profile", r.profile},
              {"exit_status", optional(r.exit_status)},
              {"signal", optional(r.signal)},
              {"signal_name", r.signal ? Json(SignalName(*r.signal)) : Json(nullptr)},
              {"start", FormatTimestamp(r.start)},
              {"duration_s", r.duration_s},
              {"log", r.log},
              {"output", r.output},
              {"error", r.error}};
}

Result<TaskResult> ResultFromJson(const Json& json) {
  if (!json.is_object()) return Corrupt("a result line must be a JSON object");
  const auto version = json.find("v");
  if (version == json.end()) return Corrupt("the result has no version (\"v\")");
  if (*version != kResultLogVersion)
    return Corrupt(fmt::format("result version {} is unknown; this migctl reads version {}",
                               DumpLine(*version), kResultLogVersion));
  TaskResult r;
  std::string status, start;
  MIGCTL_RETURN_IF_ERROR(Field(json, "task", true, r.task));
  MIGCTL_RETURN_IF_ERROR(Field(json, "attempt", true, r.attempt));
  MIGCTL_RETURN_IF_ERROR(Field(json, "final", true, r.final));
  MIGCTL_RETURN_IF_ERROR(Field(json, "status", true, status));
  MIGCTL_RETURN_IF_ERROR(Field(json, "command", true, r.command));
  MIGCTL_RETURN_IF_ERROR(Field(json, "params", false, r.params));
  MIGCTL_RETURN_IF_ERROR(Field(json, "worker", false, r.worker));
  MIGCTL_RETURN_IF_ERROR(Field(json, "device", false, r.device));
  MIGCTL_RETURN_IF_ERROR(Field(json, "node", false, r.node));
  MIGCTL_RETURN_IF_ERROR(Field(json, "gpu", false, r.gpu));
  MIGCTL_RETURN_IF_ERROR(Field(json, "profile", false, r.profile));
  MIGCTL_RETURN_IF_ERROR(Field(json, "exit_status", false, r.exit_status));
  MIGCTL_RETURN_IF_ERROR(Field(json, "signal", false, r.signal));
  MIGCTL_RETURN_IF_ERROR(Field(json, "start", true, start));
  MIGCTL_RETURN_IF_ERROR(Field(json, "duration_s", false, r.duration_s));
  MIGCTL_RETURN_IF_ERROR(Field(json, "log", false, r.log));
  MIGCTL_RETURN_IF_ERROR(Field(json, "error", false, r.error));
  if (r.task == 0) return Corrupt("the result's \"task\" is 0; task ids start at 1");
  if (r.attempt == 0) return Corrupt("the result's \"attempt\" is 0; attempts start at 1");
  bool known_status = false;
  for (const auto& [value, name] : kStatusNames)
    if (status == name) {
      r.status = value;
      known_status = true;
    }
  if (!known_status) return Corrupt(fmt::format("the result's status '{}' is unknown", status));
  const auto time = ParseTimestamp(start);
  if (!time)
    return Corrupt(fmt::format("the result's start '{}' is not a time like 2026-11-21T10:00:00.123Z", start));
  r.start = *time;
  if (const auto output = json.find("output"); output != json.end()) r.output = *output;
  return r;
}

std::optional<Json> JsonFromLastLine(std::string_view output_tail) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!output_tail.empty() && blank(output_tail.back())) output_tail.remove_suffix(1);
  const size_t newline = output_tail.rfind('\n');
  std::string_view line = newline == std::string_view::npos ? output_tail : output_tail.substr(newline + 1);
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  if (line.empty() || (line.front() != '{' && line.front() != '[')) return std::nullopt;
  Json json = Json::parse(line, nullptr, false);
  if (json.is_discarded()) return std::nullopt;
  return json;
}

Result<ResultLog> ResultLog::Open(const std::string& path) {
  Result<int> opened = OpenForAppend(path, O_RDWR, 0644);
  if (!opened.ok()) return opened.error().WithContext("results file: ");
  const int fd = *opened;
  ResultLog log(path, fd);
  MIGCTL_RETURN_IF_ERROR(RepairTornTail(fd, path));
  return log;
}

Status ResultLog::Append(const TaskResult& r) {
  return WriteAll(fd_, DumpLine(ResultToJson(r)) + "\n", path_);
}

ResultLog& ResultLog::operator=(ResultLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

ResultLog::~ResultLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<PriorResults> ReadResults(const std::string& path) {
  PriorResults prior;
  auto text = ReadFile(path);
  if (!text.ok() && text.error().code == ErrorCode::kNotFound) return prior;
  if (!text.ok()) return text.error();
  std::vector<std::string_view> lines;
  for (std::string_view rest = *text; !rest.empty();) {
    const size_t newline = rest.find('\n');
    lines.push_back(rest.substr(0, newline));
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  auto blank = [](std::string_view line) {
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
  };
  size_t last = lines.size();
  while (last > 0 && blank(lines[last - 1])) --last;
  std::map<unsigned, size_t> first_line;
  for (size_t i = 0; i < last; ++i) {
    if (blank(lines[i])) continue;
    const std::string where = fmt::format("{}:{}: ", path, i + 1);
    const Json json = Json::parse(lines[i], nullptr, false);
    if (json.is_discarded()) {
      if (i + 1 == last) {
        prior.torn_tail = true;
        break;
      }
      return Corrupt(where + "not a JSON line; the file is damaged or not a migctl results file");
    }
    auto result = ResultFromJson(json);
    if (!result.ok()) return result.error().WithContext(where);
    const auto [known, inserted] = prior.commands.emplace(result->task, result->command);
    if (inserted) {
      first_line[result->task] = i + 1;
    } else if (known->second != result->command) {
      return Corrupt(fmt::format("{}task {} is {} here but {} on line {}; the file mixes two task lists",
                                 where, result->task, ShowCommand(result->command),
                                 ShowCommand(known->second), first_line[result->task]));
    }
    if (result->status == TaskStatus::kOk) prior.succeeded.insert(result->task);
    ++prior.lines;
  }
  return prior;
}

Result<std::vector<Task>> PendingTasks(const std::vector<Task>& all, const PriorResults& prior,
                                       const std::string& path) {
  std::map<unsigned, const Task*> by_id;
  for (const Task& task : all) by_id[task.id] = &task;
  for (const auto& [id, command] : prior.commands) {
    const auto it = by_id.find(id);
    const std::string prefix = fmt::format("{} was written for a different task list: task {} was {}, ", path,
                                           id, ShowCommand(command));
    const std::string next = "; resume with the same tasks and options, or give a new results file";
    if (it == by_id.end())
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("{}now there is no task {} ({} tasks){}", prefix, id, all.size(), next));
    const std::string& now = it->second->command;
    if (command != now && command != AsWritten(now))
      return MakeError(ErrorCode::kInvalidInput, fmt::format("{}now {}{}", prefix, ShowCommand(now), next));
  }
  std::vector<Task> pending;
  for (const Task& task : all)
    if (!prior.succeeded.count(task.id)) pending.push_back(task);
  return pending;
}

}  // namespace migctl
