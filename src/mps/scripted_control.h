// For the tests of mps/: nvidia-cuda-mps-control played on a FakeProcessHost (common/fake_process_host.h),
// so that tests of timeouts, slow quits and escalation take no wall-clock time and see exact times. It
// behaves as the fake program tests/fixtures/fake-mps-control does, on the same files: the daemon (`-f`, or
// `-d` which starts a detached `-f` and exits) makes pipe_dir/control and the pid file, logs to its stdout
// (detached: to log_dir/control.log) and serves get_server_list, start_server, get/set of the default active
// thread percentage and quit; the client (no argument) sends its stdin's lines to the daemon of its
// CUDA_MPS_PIPE_DIRECTORY and prints the replies, or says "Cannot find MPS control daemon process". Its
// MPS servers are fake processes named nvidia-cuda-mps-server.
//
// The program is the one FindControlProgram returns (a real executable file: set $MIGCTL_MPS_CONTROL to
// it), scripted on the host by that path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/fake_process_host.h"

namespace migctl::mps::testing {

class ScriptedControl {
 public:
  /// Scripts `program` (and nvidia-cuda-mps-server) on `host`, which must outlive this.
  ScriptedControl(FakeProcessHost& host, std::string program);
  ScriptedControl(const ScriptedControl&) = delete;
  ScriptedControl& operator=(const ScriptedControl&) = delete;

  // The fake program's knobs (FAKE_MPS_*), here set directly.
  bool ignore_quit = false;                 ///< The daemon logs "ignoring quit" and goes on.
  std::chrono::milliseconds quit_delay{0};  ///< quit, and the client that sent it, take this long.
  std::string fail_start;                   ///< Non-empty: the daemon logs it and exits 1 at start.

  /// The pid of the daemon that serves `pipe_dir` now, if one does (or quits).
  std::optional<pid_t> Daemon(const std::string& pipe_dir);
  /// Its servers started so far (running or not).
  std::vector<pid_t> Servers(const std::string& pipe_dir) const;

 private:
  struct Served {
    pid_t pid = 0;
    std::string log_dir;
    int log_fd = -1;  ///< Its stdout (a duplicate), or -1 when detached.
    bool detached = false;
    unsigned percentage = 100;
    std::vector<pid_t> servers;
    std::optional<ProcessHost::Clock::time_point> quitting_until;
  };

  FakeProgram Behave(pid_t pid, const ChildOptions& options);
  FakeProgram Serve(pid_t pid, const ChildOptions& options);
  FakeProgram Detach(const ChildOptions& options);
  FakeProgram Client(const ChildOptions& options);
  /// The reply to one command line.
  std::string Handle(const std::string& pipe_dir, Served& daemon, const std::string& line);
  void Quit(const std::string& pipe_dir, Served& daemon);
  void ShutDown(const std::string& pipe_dir);
  void Log(const Served& daemon, const std::string& line) const;
  /// The daemon of `pipe_dir` when its pid file names a fake process that runs.
  Served* Alive(const std::string& pipe_dir);

  FakeProcessHost& host_;
  std::string program_;
  std::map<std::string, Served> daemons_;  ///< By pipe directory.
};

}  // namespace migctl::mps::testing
