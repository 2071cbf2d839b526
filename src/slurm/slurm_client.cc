#include "slurm/slurm_client.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "common/mem_file.h"

#include "common/child_process.h"
#include "launch/command_line.h"

namespace migctl::slurm {
namespace {

using std::chrono::milliseconds;

std::string FirstLine(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  text.remove_prefix(begin);
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  return std::string(text);
}

std::string Seconds(milliseconds d) { return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000); }

/// The value of `key=` in a `scontrol show -o` line, up to the next space; nullopt when absent.
std::optional<std::string_view> Word(std::string_view text, std::string_view key) {
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at != 0 && text[at - 1] != ' ') continue;
    const size_t begin = at + key.size();
    return text.substr(begin, text.find_first_of(" \n", begin) - begin);
  }
  return std::nullopt;
}

class CommandSlurmClient final : public SlurmClient {
 public:
  CommandSlurmClient(ProcessHost& host, std::vector<std::string> env, milliseconds timeout)
      : host_(host), env_(std::move(env)), timeout_(timeout) {}

  Result<NodeInfo> Node(const std::string& node) override {
    Result<std::string> out = Run({"scontrol", "show", "node", "-o", node});
    if (!out.ok() && out.error().message.find("not found") != std::string::npos) {
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("slurmctld does not know node {} ({}): check --node, or add the node to "
                                   "slurm.conf and restart slurmctld",
                                   node, out.error().message));
    }
    if (!out.ok()) return std::move(out).error();
    return ParseNodeInfo(*out);
  }

  Result<std::vector<NodeInfo>> Nodes() override {
    MIGCTL_ASSIGN_OR_RETURN(std::string out, Run({"scontrol", "-d", "show", "node", "-o"}));  // -d: GresUsed=
    return ParseNodeInfos(out);
  }

  Result<std::vector<std::string>> ActiveJobs(const std::string& node) override {
    MIGCTL_ASSIGN_OR_RETURN(std::string out, Run({"squeue", "-h", "-w", node, "-t",
                                                  "CONFIGURING,RUNNING,SUSPENDED,COMPLETING", "-o", "%i"}));
    return ParseJobIds(out);
  }

  Status Drain(const std::string& node, const std::string& reason) override {
    return Update({"scontrol", "update", "NodeName=" + node, "State=DRAIN", "Reason=" + reason});
  }

  Status Resume(const std::string& node) override {
    return Update({"scontrol", "update", "NodeName=" + node, "State=RESUME"});
  }

  Status Reconfigure() override { return Update({"scontrol", "reconfigure"}); }

 private:
  Result<std::string> Run(const std::vector<std::string>& argv) {
    return RunSlurmCommand(host_, argv, env_, timeout_);
  }
  Status Update(const std::vector<std::string>& argv) {
    Result<std::string> out = Run(argv);
    if (!out.ok()) return std::move(out).error();
    return Ok();
  }

  ProcessHost& host_;
  std::vector<std::string> env_;
  milliseconds timeout_;
};

}  // namespace

std::optional<std::time_t> ParseLocalTime(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* end = ::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

std::vector<std::string> SlurmCommandEnvironment(const std::string& slurm_conf) {
  std::vector<std::string> env = {"PATH=" + OwnPath()};
  for (const char* name : {"HOME", "TZ"})
    if (const char* value = std::getenv(name); value != nullptr)
      env.push_back(fmt::format("{}={}", name, value));
  const char* own = std::getenv("SLURM_CONF");
  if (!slurm_conf.empty()) {
    env.push_back("SLURM_CONF=" + slurm_conf);
  } else if (own != nullptr && *own != '\0') {
    env.push_back(std::string("SLURM_CONF=") + own);
  }
  return env;
}

Result<std::string> RunSlurmCommand(ProcessHost& host, const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env, milliseconds timeout) {
  const std::string line = JoinCommandLine(argv);
  MIGCTL_ASSIGN_OR_RETURN(MemFile out, MemFile::Create("slurm-stdout"));
  MIGCTL_ASSIGN_OR_RETURN(MemFile err, MemFile::Create("slurm-stderr"));
  ChildOptions options;
  options.argv = argv;
  options.env = env;
  options.stdout_fd = out.fd();
  options.stderr_fd = err.fd();
  Result<ChildExit> exit = RunProcess(host, options, timeout, milliseconds(1000));
  if (!exit.ok() && exit.error().code == ErrorCode::kNotFound) {
    return MakeError(
        ErrorCode::kUnsupported,
        fmt::format("cannot run `{}`: {} is not installed or not in PATH (install Slurm's client "
                    "commands: Debian's slurm-client)",
                    line, argv.empty() ? "" : argv[0]));
  }
  if (!exit.ok())
    return MakeError(ErrorCode::kIo, fmt::format("cannot run `{}`: {}", line, exit.error().message));
  if (exit->timed_out) {
    return MakeError(ErrorCode::kIo, fmt::format("`{}` did not finish within {}: is slurmctld up? ({})", line,
                                                 Seconds(timeout), exit->Describe()));
  }
  if (!exit->success()) {
    std::string said = FirstLine(err.Read());
    if (said.empty()) said = FirstLine(out.Read());
    return MakeError(ErrorCode::kIo, fmt::format("`{}` failed: {} ({})", line,
                                                 said.empty() ? "no message" : said, exit->Describe()));
  }
  return out.Read();
}

Result<std::string> RunSlurmCommand(const std::vector<std::string>& argv, milliseconds timeout) {
  return RunSlurmCommand(RealProcessHost(), argv, SlurmCommandEnvironment(""), timeout);
}

bool NodeInfo::Has(std::string_view word) const {
  std::string_view rest = state;
  while (!rest.empty()) {
    const size_t plus = rest.find('+');
    if (rest.substr(0, plus) == word) return true;
    if (plus == std::string_view::npos) break;
    rest.remove_prefix(plus + 1);
  }
  return false;
}

bool NodeInfo::Registered() const {
  for (const char* bad : {"UNKNOWN", "DOWN", "FUTURE", "NOT_RESPONDING", "INVALID_REG"})
    if (Has(bad)) return false;
  return !state.empty();
}

Result<NodeInfo> ParseNodeInfo(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  const std::optional<std::string_view> name = Word(text, "NodeName=");
  const std::optional<std::string_view> state = Word(text, "State=");
  if (!name || !state) {
    return MakeError(
        ErrorCode::kIo,
        fmt::format("cannot read `scontrol show node -o`: no NodeName= or State= in '{}'", text));
  }
  NodeInfo info{.name = std::string(*name), .state = std::string(*state)};
  if (std::optional<std::string_view> gres = Word(text, "Gres="); gres && *gres != "(null)") {
    info.gres = *gres;
    info.gpu_types = GpuTypeCounts(*gres);
  }
  if (std::optional<std::string_view> used = Word(text, "GresUsed=")) info.gpu_types_used = GpuTypeCounts(*used);
  if (std::optional<std::string_view> parts = Word(text, "Partitions=")) {
    for (size_t begin = 0; begin <= parts->size();) {
      const size_t comma = std::min(parts->find(',', begin), parts->size());
      if (comma > begin) info.partitions.emplace_back(parts->substr(begin, comma - begin));
      begin = comma + 1;
    }
  }
  if (std::optional<std::string_view> start = Word(text, "SlurmdStartTime="))
    info.slurmd_start = ParseLocalTime(*start);
  if (const size_t at = text.find(" Reason="); at != std::string_view::npos) {
    std::string_view reason = text.substr(at + 8);
    // Slurm appends who set it and when: `Reason=text [root@2024-01-01T00:00:00]`, then maybe more settings.
    if (const size_t by = reason.rfind(" [");
        by != std::string_view::npos && reason.find('@', by) != std::string_view::npos)
      reason = reason.substr(0, by);
    info.reason = reason;
  }
  return info;
}

std::vector<NodeInfo> ParseNodeInfos(std::string_view text) {
  std::vector<NodeInfo> nodes;
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = std::min(text.find('\n', begin), text.size());
    if (Result<NodeInfo> node = ParseNodeInfo(text.substr(begin, end - begin)); node.ok())
      nodes.push_back(std::move(node).value());
    begin = end + 1;
  }
  return nodes;
}

std::map<std::string, unsigned> GpuTypeCounts(std::string_view gres) {
  std::map<std::string, unsigned> types;
  // Entries are separated by commas outside parentheses: `(IDX:0,2-3)` holds commas of its own.
  size_t begin = 0;
  int depth = 0;
  for (size_t i = 0; i <= gres.size(); ++i) {
    if (i < gres.size() && gres[i] == '(') ++depth;
    if (i < gres.size() && gres[i] == ')') --depth;
    if (i < gres.size() && (gres[i] != ',' || depth > 0)) continue;
    std::string_view entry = gres.substr(begin, i - begin);
    begin = i + 1;
    entry = entry.substr(0, entry.find('('));
    for (std::string_view prefix : {"gres:", "gres/"})  // as squeue's %b writes a job's request
      if (entry.starts_with(prefix)) entry.remove_prefix(prefix.size());
    if (!entry.starts_with("gpu:")) continue;
    entry.remove_prefix(4);
    const size_t colon = entry.find(':');
    const std::string_view type = entry.substr(0, colon);
    if (type.empty()) continue;
    unsigned n = 1;  // `gpu:TYPE` asks one
    if (colon != std::string_view::npos) {
      const std::string_view count = entry.substr(colon + 1);
      auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc() || ptr != count.data() + count.size()) continue;
    } else if (type.find_first_not_of("0123456789") == std::string_view::npos) {
      continue;  // `gpu:N`: untyped
    }
    types[std::string(type)] += n;
  }
  return types;
}

std::vector<std::string> ParseJobIds(std::string_view text) {
  std::vector<std::string> ids;
  std::istringstream words{std::string(text)};
  for (std::string id; words >> id;) ids.push_back(id);
  return ids;
}

std::unique_ptr<SlurmClient> MakeCommandSlurmClient(ProcessHost& host, const std::string& slurm_conf,
                                                    milliseconds timeout) {
  return std::make_unique<CommandSlurmClient>(host, SlurmCommandEnvironment(slurm_conf), timeout);
}

}  // namespace migctl::slurm
