#include "mps/control_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl::mps {
namespace {

using std::chrono::milliseconds;
using Clock = ProcessHost::Clock;

constexpr milliseconds kPollInterval(20);
constexpr milliseconds kKillGrace(2000);

}  // namespace

Result<ControlDaemon> ControlDaemon::Start(const DaemonOptions& options, ProcessHost& host) {
  MIGCTL_ASSIGN_OR_RETURN(std::string program, FindControlProgram());
  MIGCTL_RETURN_IF_ERROR(MakeDaemonDirs(options.dirs));
  ControlClient client(program, options.dirs, host);
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
  Result<std::unique_ptr<Process>> started = host.Start(child_options);
  ::close(output_fd);
  if (!started.ok())
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot start the MPS control daemon: {}", started.error().message));
  ControlDaemon daemon(std::move(client), std::move(started).value());

  const Clock::time_point deadline = host.Now() + options.start_timeout;
  for (;;) {
    if (std::optional<ChildExit> exit = daemon.process_->Poll())
      return MakeError(ErrorCode::kIo,
                       fmt::format("the MPS control daemon ({} -f) exited at once ({}); {}", program,
                                   exit->Describe(), DaemonLogHint(options.dirs, mark)));
    if (daemon.client_.Answering()) break;
    const Clock::time_point now = host.Now();
    if (now >= deadline) {
      daemon.Kill(kKillGrace);
      return MakeError(
          ErrorCode::kIo,
          fmt::format("the MPS control daemon ({} -f, pid {}) did not answer within {} ms, so it "
                      "was stopped; {}",
                      program, daemon.pid(), options.start_timeout.count(),
                      DaemonLogHint(options.dirs, mark)));
    }
    host.SleepUntil(std::min(deadline, now + kPollInterval));
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

bool ControlDaemon::running() { return process_ && !process_->Poll().has_value(); }

bool ControlDaemon::WaitUntil(Clock::time_point deadline) {
  ProcessHost& host = client_.host();
  for (;;) {
    if (process_->Poll()) return true;
    const Clock::time_point now = host.Now();
    if (now >= deadline) return false;
    host.SleepUntil(std::min(deadline, now + kPollInterval));
  }
}

Status ControlDaemon::Stop(milliseconds timeout) {
  if (!running()) return Ok();
  const Clock::time_point deadline = client_.host().Now() + timeout;
  // The client's answer does not matter: the daemon's exit does. A daemon that cannot be told is signalled.
  Result<std::string> told = client_.Send("quit", std::min(timeout, milliseconds(5000)));
  if (WaitUntil(deadline)) return Ok();
  const int signal = Kill(kKillGrace);
  return MakeError(
      ErrorCode::kIo,
      fmt::format("the MPS control daemon (pid {}) did not quit within {} ms{}, so it was stopped "
                  "with {}; MPS servers it started may remain (see nvidia-smi)",
                  pid(), timeout.count(), told.ok() ? "" : fmt::format(" ({})", told.error().message),
                  SignalName(signal)));
}

int ControlDaemon::Kill(milliseconds grace) {
  process_->Signal(SIGTERM);
  if (WaitUntil(client_.host().Now() + grace)) return SIGTERM;
  process_->Signal(SIGKILL);
  WaitUntil(Clock::time_point::max());  // SIGKILL cannot be ignored
  return SIGKILL;
}

}  // namespace migctl::mps
