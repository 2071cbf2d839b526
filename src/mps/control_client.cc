#include "mps/control_client.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "common/mem_file.h"

#include "common/child_process.h"

namespace migctl::mps {
namespace {

using std::chrono::milliseconds;

/// `program` itself when it has a '/', else its first executable match in migctl's PATH.
std::optional<std::string> Locate(const std::string& program) { return FindProgram(program, OwnPath()); }

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Result<std::string> FindControlProgram() {
  const char* chosen = std::getenv("MIGCTL_MPS_CONTROL");
  if (chosen != nullptr && *chosen != '\0') {
    if (std::optional<std::string> program = Locate(chosen)) return *program;
    return MakeError(
        ErrorCode::kUnsupported,
        fmt::format("MPS is not available: MIGCTL_MPS_CONTROL names {}, which is not an executable "
                    "file (fix or unset it)",
                    chosen));
  }
  if (std::optional<std::string> program = Locate(kControlProgramName)) return *program;
  return MakeError(ErrorCode::kUnsupported,
                   fmt::format("MPS is not available: {} not found in PATH (install the CUDA toolkit or the "
                               "driver's MPS package, or use --share none)",
                               kControlProgramName));
}

std::vector<std::string> ControlEnvironment(const DaemonDirs& dirs, const std::vector<GpuUuid>& gpus) {
  std::vector<std::string> env = {"PATH=" + OwnPath()};
  if (const char* libs = std::getenv("LD_LIBRARY_PATH"); libs != nullptr && *libs != '\0')
    env.push_back(std::string("LD_LIBRARY_PATH=") + libs);
  env.push_back("CUDA_MPS_PIPE_DIRECTORY=" + dirs.pipe_dir);
  env.push_back("CUDA_MPS_LOG_DIRECTORY=" + dirs.log_dir);
  if (!gpus.empty()) {
    std::string visible;
    for (const GpuUuid& uuid : gpus) visible += (visible.empty() ? "" : ",") + uuid.value();
    env.push_back("CUDA_VISIBLE_DEVICES=" + visible);
  }
  return env;
}

Result<std::string> ControlClient::Send(std::string_view command, milliseconds timeout) const {
  MIGCTL_ASSIGN_OR_RETURN(MemFile in, MemFile::Create("mps-command"));
  MIGCTL_ASSIGN_OR_RETURN(MemFile out, MemFile::Create("mps-reply"));
  MIGCTL_ASSIGN_OR_RETURN(MemFile err, MemFile::Create("mps-error"));
  if (!in.Write(std::string(command) + "\n"))
    return MakeError(ErrorCode::kIo, fmt::format("cannot write the MPS command: {}", std::strerror(errno)));
  ChildOptions options;
  options.argv = {program_};
  options.env = ControlEnvironment(dirs_);
  options.stdin_fd = in.fd();
  options.stdout_fd = out.fd();
  options.stderr_fd = err.fd();
  Result<ChildExit> exit = RunProcess(*host_, options, timeout, milliseconds(500));
  const std::string what = fmt::format("'{}' to the MPS control daemon in {}", command, dirs_.pipe_dir);
  if (!exit.ok())
    return MakeError(ErrorCode::kIo, fmt::format("cannot send {}: {}", what, exit.error().message));
  if (exit->timed_out)
    return MakeError(ErrorCode::kIo, fmt::format("{} did not answer {} within {} ms ({})", program_, what,
                                                 timeout.count(), exit->Describe()));
  if (!exit->success()) {
    std::string said = Trim(err.Read());
    if (said.empty()) said = Trim(out.Read());
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no MPS control daemon answers in {}: {} ({})", dirs_.pipe_dir,
                                 said.empty() ? "no message" : said, exit->Describe()));
  }
  return out.Read();
}

Result<std::vector<unsigned>> ControlClient::ServerList() const {
  MIGCTL_ASSIGN_OR_RETURN(std::string reply, Send("get_server_list"));
  std::vector<unsigned> pids;
  std::istringstream words(reply);
  for (std::string word; words >> word;) {
    unsigned pid = 0;
    auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), pid);
    if (ec != std::errc() || ptr != word.data() + word.size())
      return MakeError(ErrorCode::kIo,
                       fmt::format("the MPS control daemon in {} answered get_server_list with '{}', not a "
                                   "list of pids",
                                   dirs_.pipe_dir, Trim(reply)));
    pids.push_back(pid);
  }
  return pids;
}

bool ControlClient::Answering(milliseconds timeout) const {
  struct stat st {};
  if (::stat(ControlPipePath(dirs_).c_str(), &st) != 0) return false;  // no daemon ever listened there
  return Send("get_server_list", timeout).ok();
}

}  // namespace migctl::mps
