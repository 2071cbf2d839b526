// An MPS control daemon owned by one `migctl run`: started in the foreground (`nvidia-cuda-mps-control -f`)
// as migctl's child, with the parent-death signal, so a killed migctl leaks no daemon; told to `quit` when
// the run ends, then signalled if it does not. Skyward's mps plugin starts `-d` with fixed /tmp directories
// and never stops it; this is the opposite on each count.
//
// The daemon and every control program it takes are started, polled and waited for on a ProcessHost
// (common/process_host.h): the real one, or a FakeProcessHost in tests that need time to pass.
//
// Thread-safety: none; create, stop and destroy it on one thread. The parent-death signal fires when the
// thread that started the daemon ends, so start it from the thread that lives as long as the run (main).
// A supervisor that reaps children with waitpid(-1) may reap the daemon; it then counts as stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "common/ids.h"
#include "common/process_host.h"
#include "common/result.h"
#include "mps/control_client.h"
#include "mps/daemon_dirs.h"

namespace migctl::mps {

struct DaemonOptions {
  std::vector<GpuUuid> gpus;  ///< The GPUs its servers may use (CUDA_VISIBLE_DEVICES); empty: all.
  DaemonDirs dirs;            ///< Created (0700) when missing.
  /// Sent as `set_default_active_thread_percentage N` once it answers: the share of SMs a client gets
  /// unless its own CUDA_MPS_ACTIVE_THREAD_PERCENTAGE says otherwise.
  std::optional<unsigned> default_thread_percentage;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);  ///< How long to wait for it to answer.
};

class ControlDaemon {
 public:
  /// Creates the directories, starts the control program in the foreground with CUDA_VISIBLE_DEVICES, the
  /// pipe and log directories, and waits until it answers `get_server_list`. In the foreground the daemon
  /// logs to its stdout, not to control.log: migctl sends that to `log_dir/control-output.log` (its servers
  /// still log to server.log there). Errors, with nothing left running:
  /// - kUnsupported: no control program (see FindControlProgram);
  /// - kBusy: a daemon already answers in `dirs.pipe_dir`;
  /// - kIo: a directory cannot be made private, the daemon exits at once (the message quotes the last lines
  ///   it logged), does not answer within `start_timeout`, or refuses the thread percentage.
  /// `host` must outlive the daemon.
  static Result<ControlDaemon> Start(const DaemonOptions& options, ProcessHost& host = RealProcessHost());

  ControlDaemon(ControlDaemon&& other) noexcept = default;
  ControlDaemon(const ControlDaemon&) = delete;
  ControlDaemon& operator=(const ControlDaemon&) = delete;
  ControlDaemon& operator=(ControlDaemon&&) = delete;
  /// Stops the daemon if it still runs (Stop with a 10 s timeout; its outcome is lost: call Stop to see it).
  ~ControlDaemon();

  /// Sends `quit` and waits up to `timeout` for the daemon to exit (the real one waits for its clients
  /// first), then SIGTERM, and SIGKILL 2 s later. Ok when it quit when told, or had already ended. kIo when
  /// it had to be signalled: it is gone, but servers it started may remain. Idempotent: a second call is Ok.
  Status Stop(std::chrono::milliseconds timeout);

  /// True until the daemon has ended (reaps it when it has).
  bool running();
  /// The pids of its MPS servers now (get_server_list); errors as ControlClient::Send.
  Result<std::vector<unsigned>> ServerList() const { return client_.ServerList(); }

  const DaemonDirs& dirs() const { return client_.dirs(); }
  /// Its pid; -1 once moved from.
  pid_t pid() const { return process_ ? process_->pid() : -1; }

 private:
  ControlDaemon(ControlClient client, std::unique_ptr<Process> process)
      : client_(std::move(client)), process_(std::move(process)) {}
  /// Waits until the daemon has ended (and is reaped) or `deadline` passes; true when it has ended.
  bool WaitUntil(ProcessHost::Clock::time_point deadline);
  /// Signals and reaps the daemon: SIGTERM, then SIGKILL after `grace`. Returns the signal that ended it.
  int Kill(std::chrono::milliseconds grace);

  ControlClient client_;  ///< Also holds the host.
  std::unique_ptr<Process> process_;
};

}  // namespace migctl::mps
