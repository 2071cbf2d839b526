// Talking to an MPS control daemon the way its users do, through the control program: `echo get_server_list |
// nvidia-cuda-mps-control` with the daemon's CUDA_MPS_PIPE_DIRECTORY. The program is the real one, found in
// PATH, or whatever $MIGCTL_MPS_CONTROL names: tests substitute a fake program there, not a fake class, so
// the code path under test is the one that runs on a GPU host. Every call runs one child process on a
// ProcessHost (common/process_host.h) with a timeout; tests that need time to pass script the program on a
// FakeProcessHost instead (mps/scripted_control.h). Thread-safety: as its host's; the client holds no
// mutable state.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/process_host.h"
#include "common/result.h"
#include "mps/daemon_dirs.h"

namespace migctl::mps {

/// The control program's name, looked up in PATH.
inline constexpr const char* kControlProgramName = "nvidia-cuda-mps-control";

/// The control program to run: $MIGCTL_MPS_CONTROL when set (a path, or a name looked up in PATH), else
/// nvidia-cuda-mps-control from PATH. kUnsupported when there is none: "MPS is not available:
/// nvidia-cuda-mps-control not found in PATH (install the CUDA toolkit or the driver's MPS package, or use
/// --share none)".
Result<std::string> FindControlProgram();

/// The whole environment of the control program (daemon or client): migctl's PATH and LD_LIBRARY_PATH (the
/// daemon finds nvidia-cuda-mps-server and the driver through them), CUDA_MPS_PIPE_DIRECTORY,
/// CUDA_MPS_LOG_DIRECTORY, and CUDA_VISIBLE_DEVICES=<comma-joined UUIDs> when `gpus` is not empty (a daemon's
/// servers see only those GPUs). Nothing else of migctl's environment is passed on.
std::vector<std::string> ControlEnvironment(const DaemonDirs& dirs, const std::vector<GpuUuid>& gpus = {});

/// Sends commands to the daemon listening in `dirs`, running `program` on `host` (which must outlive it).
class ControlClient {
 public:
  ControlClient(std::string program, DaemonDirs dirs, ProcessHost& host = RealProcessHost())
      : program_(std::move(program)), dirs_(std::move(dirs)), host_(&host) {}

  /// Sends one command line and returns what the program printed. Errors: kNotFound when no daemon answers
  /// (the message quotes the program's, e.g. "Cannot find MPS control daemon process"); kIo when the program
  /// cannot be run or does not finish within `timeout` (then it is stopped).
  Result<std::string> Send(std::string_view command,
                           std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  /// The pids of the daemon's MPS servers (`get_server_list`); empty before a client has connected. Errors
  /// as Send, and kIo for a reply that is not a list of pids.
  Result<std::vector<unsigned>> ServerList() const;
  /// True when a daemon answers `get_server_list` within `timeout`. A healthy daemon answers at once; one
  /// that was told to quit while MPS clients run answers no one (its client program hangs) until it has quit.
  bool Answering(std::chrono::milliseconds timeout = std::chrono::seconds(2)) const;

  const std::string& program() const { return program_; }
  const DaemonDirs& dirs() const { return dirs_; }
  ProcessHost& host() const { return *host_; }

 private:
  std::string program_;
  DaemonDirs dirs_;
  ProcessHost* host_;
};

}  // namespace migctl::mps
