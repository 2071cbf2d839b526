#include "mps/control_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl::mps {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr milliseconds kPollInterval(20);
constexpr milliseconds kKillGrace(2000);

/// Waits until `child` has ended or `deadline` passes; true when it has ended (and is reaped).
bool WaitUntil(Child& child, steady_clock::time_point deadline) {
  for (;;) {
    if (child.Poll()) return true;
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

}  // namespace

Result<ControlDaemon> ControlDaemon::Start(const DaemonOptions& options) {
  MIGCTL_ASSIGN_OR_RETURN(std::string program, FindControlProgram());
  MIGCTL_RETURN_IF_ERROR(MakeDaemonDirs(options.dirs));
  ControlClient client(program, options.dirs);
  if (client.Answering())
    return MakeError(ErrorCode::kBusy,
                     fmt::format("an MPS control daemon already answers in {}: stop it (echo quit | "
                                 "CUDA_MPS_PIPE_DIRECTORY={} {}) or use other directories",
                                 options.dirs.pipe_dir, options.dirs.pipe_dir, kControlProgramName));

  const LogMark mark = MarkLogs(options.dirs);
  const std::string output = OutputLogPath(options.dirs);
  MIGCTL_ASSIGN_OR_RETURN(const int output_fd, OpenForAppend(output, O_WRONLY, 0600));
  ChildOptions child_options;
  child_options.argv = {program, "-f"};
  child_options.env = ControlEnvironment(options.dirs, options.gpus);
  child_options.stdout_fd = output_fd;
  child_options.stderr_fd = output_fd;
  child_options.own_process_group = true;
  child_options.die_with_parent = true;
  Result<Child> started = Child::Start(child_options);
  ::close(output_fd);
  if (!started.ok())
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot start the MPS control daemon: {}", started.error().message));
  ControlDaemon daemon(std::move(client), std::move(started).value());

  const steady_clock::time_point deadline = steady_clock::now() + options.start_timeout;
  for (;;) {
    if (std::optional<ChildExit> exit = daemon.child_.Poll())
      return MakeError(ErrorCode::kIo,
                       fmt::format("the MPS control daemon ({} -f) exited at once ({}); {}", program,
                                   exit->Describe(), DaemonLogHint(options.dirs, mark)));
    if (daemon.client_.Answering()) break;
    if (steady_clock::now() >= deadline) {
      daemon.Kill(kKillGrace);
      return MakeError(
          ErrorCode::kIo,
          fmt::format("the MPS control daemon ({} -f, pid {}) did not answer within {} ms, so it "
                      "was stopped; {}",
                      program, daemon.pid(), options.start_timeout.count(),
                      DaemonLogHint(options.dirs, mark)));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  if (options.default_thread_percentage) {
    Result<std::string> set = daemon.client_.Send(
        fmt::format("set_default_active_thread_percentage {}", *options.default_thread_percentage));
    if (!set.ok()) {
      daemon.Kill(kKillGrace);
      return MakeError(ErrorCode::kIo, fmt::format("the MPS control daemon refused thread percentage {}: {}",
                                                   *options.default_thread_percentage, set.error().message));
    }
  }
  return daemon;
}

ControlDaemon::~ControlDaemon() {
  if (running()) (void)Stop(std::chrono::seconds(10));
}

bool ControlDaemon::running() { return !child_.Poll().has_value(); }

Status ControlDaemon::Stop(milliseconds timeout) {
  if (!running()) return Ok();
  const steady_clock::time_point deadline = steady_clock::now() + timeout;
  // The client's answer does not matter: the daemon's exit does. A daemon that cannot be told is signalled.
  Result<std::string> told = client_.Send("quit", std::min(timeout, milliseconds(5000)));
  if (WaitUntil(child_, deadline)) return Ok();
  const int signal = Kill(kKillGrace);
  return MakeError(
      ErrorCode::kIo,
      fmt::format("the MPS control daemon (pid {}) did not quit within {} ms{}, so it was stopped "
                  "with {}; MPS servers it started may remain (see nvidia-smi)",
                  child_.pid(), timeout.count(), told.ok() ? "" : fmt::format(" ({})", told.error().message),
                  SignalName(signal)));
}

int ControlDaemon::Kill(milliseconds grace) {
  child_.Signal(SIGTERM);
  if (WaitUntil(child_, steady_clock::now() + grace)) return SIGTERM;
  child_.Signal(SIGKILL);
  child_.Wait();
  return SIGKILL;
}

}  // namespace migctl::mps
