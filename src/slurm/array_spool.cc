#include "slurm/array_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/escape.h"
#include "common/file_io.h"
#include "common/private_dir.h"

namespace migctl::slurm {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxSpecBytes = std::size_t{256} << 20;
constexpr std::size_t kMaxReadPerPoll = std::size_t{4} << 20;

Error Corrupt(const std::string& message) { return MakeError(ErrorCode::kCorrupt, message); }

/// `json[key]` when it is present and of the type `is` checks; else kCorrupt naming `where` and `key`.
Result<const Json*> Member(const Json& json, const char* key, bool (Json::*is)() const noexcept,
                           const std::string& where) {
  const auto it = json.find(key);
  if (it == json.end() || !((*it).*is)()) return Corrupt(fmt::format("{} has no valid \"{}\"", where, key));
  return &*it;
}

Result<Task> TaskFromJson(const Json& json, std::size_t k) {
  const std::string where = fmt::format("task #{}", k + 1);
  if (!json.is_object()) return Corrupt(where + " is not an object");
  Task t;
  MIGCTL_ASSIGN_OR_RETURN(const Json* id, Member(json, "id", &Json::is_number_integer, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* command, Member(json, "command", &Json::is_string, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* argv, Member(json, "argv", &Json::is_array, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* params, Member(json, "params", &Json::is_object, where));
  if (id->get<long long>() <= 0 || id->get<long long>() > 0xffffffffLL)
    return Corrupt(where + " has an id out of range");
  t.id = id->get<unsigned>();
  t.command = command->get<std::string>();
  for (const Json& word : *argv) {
    if (!word.is_string()) return Corrupt(where + " has a word of argv that is not a string");
    t.argv.push_back(word.get<std::string>());
  }
  if (t.argv.empty()) return Corrupt(where + " has an empty argv");
  for (const auto& [name, value] : params->items()) {
    if (!value.is_string()) return Corrupt(where + " has a parameter value that is not a string");
    t.params[name] = value.get<std::string>();
  }
  if (const auto needs = json.find("needs"); needs != json.end() && !needs->is_null()) {
    if (!needs->is_object()) return Corrupt(where + " has \"needs\" that is not an object");
    if (const auto m = needs->find("memory_mib"); m != needs->end() && !m->is_null()) {
      if (!m->is_number_unsigned()) return Corrupt(where + " has a memory_mib that is not a number");
      t.needs.memory_mib = m->get<unsigned long long>();
    }
    if (const auto p = needs->find("profile"); p != needs->end() && !p->is_null()) {
      if (!p->is_string()) return Corrupt(where + " has a profile that is not a string");
      t.needs.profile = p->get<std::string>();
    }
  }
  return t;
}

/// The last non-blank line of `text`.
std::string_view LastLine(std::string_view text) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  const std::size_t newline = text.rfind('\n');
  return newline == std::string_view::npos ? text : text.substr(newline + 1);
}

/// Bytes of `path` from `offset`, at most `limit`; empty when there are none.
Result<std::string> ReadFrom(const std::string& path, std::uint64_t offset, std::size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return MakeError(ErrorCode::kIo, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  std::string out(limit, '\0');
  std::size_t done = 0;
  while (done < limit) {
    const ssize_t n = ::pread(fd, out.data() + done, limit - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      ::close(fd);
      return MakeError(ErrorCode::kIo, fmt::format("cannot read {}: {}", path, std::strerror(saved)));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(done);
  return out;
}

}  // namespace

Json SpecToJson(const ArraySpec& spec) {
  Json tasks = Json::array();
  for (const Task& t : spec.tasks) {
    Json params = Json::object();
    for (const auto& [name, value] : t.params) params[name] = value;
    tasks.push_back({{"id", t.id},
                     {"command", t.command},
                     {"argv", t.argv},
                     {"params", params},
                     {"needs",
                      {{"memory_mib", t.needs.memory_mib ? Json(*t.needs.memory_mib) : Json(nullptr)},
                       {"profile", t.needs.profile ? Json(*t.needs.profile) : Json(nullptr)}}}});
  }
  return {{"v", kArraySpecVersion},         {"gres_type", spec.gres_type},
          {"retries", spec.retries},        {"timeout_ms", spec.timeout.count()},
          {"grace_ms", spec.grace.count()}, {"logs_dir", spec.logs_dir},
          {"workdir", spec.workdir},        {"tasks", tasks}};
}

Result<ArraySpec> SpecFromJson(const Json& json) {
  if (!json.is_object()) return Corrupt("the spec is not a JSON object");
  const auto version = json.find("v");
  if (version == json.end() || *version != kArraySpecVersion)
    return Corrupt(
        fmt::format("spec version {} is unknown; this migctl reads version {} (submit and run "
                    "elements with the same migctl)",
                    version == json.end() ? "(none)" : version->dump(), kArraySpecVersion));
  ArraySpec spec;
  const std::string where = "the spec";
  MIGCTL_ASSIGN_OR_RETURN(const Json* type, Member(json, "gres_type", &Json::is_string, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* retries, Member(json, "retries", &Json::is_number_integer, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* timeout, Member(json, "timeout_ms", &Json::is_number_integer, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* grace, Member(json, "grace_ms", &Json::is_number_integer, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* logs, Member(json, "logs_dir", &Json::is_string, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* workdir, Member(json, "workdir", &Json::is_string, where));
  MIGCTL_ASSIGN_OR_RETURN(const Json* tasks, Member(json, "tasks", &Json::is_array, where));
  if (timeout->get<long long>() < 0 || grace->get<long long>() < 0 || retries->get<long long>() < 0 ||
      retries->get<long long>() > 1000000)
    return Corrupt("the spec has a negative timeout, grace or retries");
  spec.gres_type = type->get<std::string>();
  spec.retries = retries->get<unsigned>();
  spec.timeout = std::chrono::milliseconds(timeout->get<long long>());
  spec.grace = std::chrono::milliseconds(grace->get<long long>());
  spec.logs_dir = logs->get<std::string>();
  spec.workdir = workdir->get<std::string>();
  std::set<unsigned> ids;
  for (std::size_t k = 0; k < tasks->size(); ++k) {
    MIGCTL_ASSIGN_OR_RETURN(Task t, TaskFromJson((*tasks)[k], k));
    if (!ids.insert(t.id).second) return Corrupt(fmt::format("the spec lists task {} twice", t.id));
    spec.tasks.push_back(std::move(t));
  }
  return spec;
}

Result<std::string> CreateSpool(const std::string& dir) {
  constexpr std::string_view kElsewhere =
      "give --spool a directory of yours on a file system the nodes share";
  MIGCTL_ASSIGN_OR_RETURN(std::string spool, EnsurePrivateDir(dir, kElsewhere));
  for (const char* sub : {"results", "logs", "slurm"}) {
    Result<std::string> made = EnsurePrivateDir(spool + "/" + sub, kElsewhere);
    if (!made.ok()) return made.error();
  }
  return spool;
}

Status WriteSpec(const std::string& dir, const ArraySpec& spec) {
  return WriteFileAtomically(SpecPath(dir), SpecToJson(spec).dump() + "\n", 0600, /*durable=*/true);
}

Result<ArraySpec> ReadSpec(const std::string& dir) {
  Result<std::string> text = ReadFile(SpecPath(dir), kMaxSpecBytes);
  if (!text.ok() && text.error().code == ErrorCode::kNotFound)
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("{} has no spec.json: it is not the spool of a `migctl run --slurm`, or the "
                                 "nodes do not share its file system",
                                 dir));
  if (!text.ok()) return text.error();
  const Json json = Json::parse(*text, nullptr, false);
  if (json.is_discarded()) return Corrupt(SpecPath(dir) + ": not JSON; the spool is damaged");
  Result<ArraySpec> spec = SpecFromJson(json);
  if (!spec.ok()) return spec.error().WithContext(SpecPath(dir) + ": ");
  return spec;
}

std::string SpecPath(const std::string& dir) { return dir + "/spec.json"; }
std::string ResultsPath(const std::string& dir, unsigned task) {
  return fmt::format("{}/results/task-{}.jsonl", dir, task);
}
std::string LogsDir(const std::string& dir) { return dir + "/logs"; }
std::string SlurmOutputPattern(const std::string& dir) { return dir + "/slurm/%a.out"; }
std::string SlurmOutputPath(const std::string& dir, unsigned index) {
  return fmt::format("{}/slurm/{}.out", dir, index);
}

std::string LastOutputLine(const std::string& dir, unsigned index) {
  constexpr std::size_t kTail = 4096, kShown = 300;
  const std::string path = SlurmOutputPath(dir, index);
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) return "";
  const std::uint64_t from = size > kTail ? size - kTail : 0;
  Result<std::string> tail = ReadFrom(path, from, kTail);
  if (!tail.ok()) return "";
  std::string line = EscapeControl(LastLine(*tail));
  if (line.size() > kShown) line = line.substr(0, kShown) + "...";
  return line;
}

Result<NewResults> ResultCollector::Collect() {
  NewResults out;
  const fs::path results = fs::path(dir_) / "results";
  std::error_code ec;
  std::map<unsigned, std::pair<std::string, std::uint64_t>> grown;  // task -> file name, size
  for (fs::directory_iterator it(results, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    unsigned task = 0;
    if (std::sscanf(name.c_str(), "task-%u.jsonl", &task) != 1 || name != fmt::format("task-{}.jsonl", task))
      continue;
    std::error_code size_ec;
    const std::uintmax_t size = it->file_size(size_ec);
    if (size_ec || size <= offsets_[name]) continue;
    grown[task] = {name, size};
  }
  if (ec) return MakeError(ErrorCode::kIo, fmt::format("cannot list {}: {}", results.string(), ec.message()));
  for (const auto& [task, file] : grown) {
    const auto& [name, size] = file;
    const std::string path = (results / name).string();
    std::uint64_t& offset = offsets_[name];
    Result<std::string> text = ReadFrom(
        path, offset, static_cast<std::size_t>(std::min<std::uint64_t>(size - offset, kMaxReadPerPoll)));
    if (!text.ok()) {
      out.problems.push_back(text.error().message);
      continue;
    }
    const std::size_t complete = text->rfind('\n');
    if (complete == std::string::npos) continue;  // an element is mid-line
    std::string_view rest(text->data(), complete + 1);
    offset += complete + 1;
    while (!rest.empty()) {
      const std::size_t newline = rest.find('\n');
      const std::string_view line = rest.substr(0, newline);
      rest.remove_prefix(newline + 1);
      const unsigned number = ++lines_[name];
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      const Json json = Json::parse(line, nullptr, false);
      Result<TaskResult> result =
          json.is_discarded() ? Result<TaskResult>(Corrupt("not a JSON line")) : ResultFromJson(json);
      if (!result.ok()) {
        out.problems.push_back(fmt::format("{}:{}: {}", path, number, result.error().message));
        continue;
      }
      out.results.push_back(std::move(*result));
    }
  }
  return out;
}

}  // namespace migctl::slurm
