#include "common/process_host.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;

/// A Child behind the Process interface.
class ChildProcess final : public Process {
 public:
  explicit ChildProcess(Child child) : child_(std::move(child)) {}
  pid_t pid() const override { return child_.pid(); }
  std::optional<ChildExit> Poll() override { return child_.Poll(); }
  void Reaped(int status) override { child_.Reaped(status); }
  void Signal(int signal) override { child_.Signal(signal); }
  void MarkTimedOut() override { child_.MarkTimedOut(); }
  std::optional<int> FirstProcessExit() override { return child_.FirstProcessExit(); }
  void EndGroup(milliseconds timeout) override { child_.EndGroup(timeout); }

 private:
  Child child_;
};

class RealHost final : public ProcessHost {
 public:
  Clock::time_point Now() override { return Clock::now(); }

  Result<int> Wait(std::vector<pollfd>& fds, Clock::time_point deadline) override {
    int wait_ms = -1;
    if (deadline != Clock::time_point::max()) {
      // Rounded up: a poll that wakes a little early would only spin until the deadline.
      const auto left = std::chrono::ceil<milliseconds>(deadline - Now()).count();
      wait_ms = static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
    }
    const int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready >= 0) return ready;
    if (errno == EINTR) return 0;  // a signal: the caller's loop looks at what it changed
    return MakeError(ErrorCode::kIo, fmt::format("poll failed: {}", std::strerror(errno)));
  }

  Result<std::unique_ptr<Process>> Start(const ChildOptions& options) override {
    MIGCTL_ASSIGN_OR_RETURN(Child child, Child::Start(options));
    return std::unique_ptr<Process>(std::make_unique<ChildProcess>(std::move(child)));
  }

  std::optional<std::string> CommandLine(pid_t pid) override {
    if (pid <= 0 || (::kill(pid, 0) != 0 && errno == ESRCH)) return std::nullopt;
    Result<std::string> stat = ReadFile(fmt::format("/proc/{}/stat", pid));
    if (!stat.ok()) return std::nullopt;
    const std::size_t name_end = stat->rfind(')');  // the name, in parentheses, may hold anything
    if (name_end != std::string::npos && name_end + 2 < stat->size() && (*stat)[name_end + 2] == 'Z')
      return std::nullopt;
    Result<std::string> cmdline = ReadFile(fmt::format("/proc/{}/cmdline", pid));
    return cmdline.ok() ? std::move(cmdline).value() : std::string();
  }

  bool Kill(pid_t pid, int signal, const IsIt& is_it) override {
    if (pid <= 0) return false;
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) {
      // Gone (ESRCH), or not a process (EINVAL). Without pidfds (a kernel before 5.3: ENOSYS; a seccomp
      // filter: EPERM), check, then signal.
      if (errno != ENOSYS && errno != EPERM) return false;
      const std::optional<std::string> line = CommandLine(pid);
      return line && is_it(*line) && ::kill(pid, signal) == 0;
    }
    // Read after the pidfd is held: if the pid was reused before, this is the process the pidfd holds; if
    // that process ends now, the signal fails (ESRCH) rather than reaching a newcomer.
    const std::optional<std::string> line = CommandLine(pid);
    const bool sent =
        line && is_it(*line) && ::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0) == 0;
    ::close(fd);
    return sent;
  }
};

}  // namespace

ProcessHost& RealProcessHost() {
  static RealHost host;
  return host;
}

std::string ProgramOf(std::string_view command_line) {
  const std::string_view argv0 = command_line.substr(0, command_line.find('\0'));
  const size_t slash = argv0.rfind('/');
  return std::string(slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1));
}

Result<ChildExit> RunProcess(ProcessHost& host, const ChildOptions& options, milliseconds timeout,
                             milliseconds grace) {
  constexpr milliseconds kStep(10);
  MIGCTL_ASSIGN_OR_RETURN(std::unique_ptr<Process> process, host.Start(options));
  using TimePoint = ProcessHost::Clock::time_point;
  TimePoint deadline = timeout.count() > 0 ? host.Now() + timeout : TimePoint::max();
  bool terminated = false;
  for (;;) {
    if (std::optional<ChildExit> exit = process->Poll()) return *exit;
    const TimePoint now = host.Now();
    if (now >= deadline) {
      process->MarkTimedOut();
      process->Signal(terminated ? SIGKILL : SIGTERM);
      deadline = terminated ? TimePoint::max() : now + grace;
      terminated = true;
      continue;
    }
    host.SleepUntil(std::min(deadline, now + kStep));
  }
}

}  // namespace migctl
