// The process-and-clock seam: everything launch/, mps/ and hooks need from the OS to start child processes,
// watch them end, signal them, read the clock and wait. Two sides:
// - RealProcessHost(): common/child_process.h (fork/exec, waitpid, poll) and std::chrono::steady_clock;
// - FakeProcessHost (common/fake_process_host.h): scripted programs on a virtual clock that only moves when
//   the code under test waits, so supervisor, MPS daemon and hook tests run without wall-clock sleeps and
//   decide timeouts exactly.
// Code that takes a ProcessHost& never calls steady_clock::now(), sleep_for, poll() or Child::Start itself.
//
// Thread-safety: none; one thread starts, waits for and signals its children.
#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/child_process.h"
#include "common/result.h"

namespace migctl {

/// A started child process (or, with ChildOptions::keeper, a whole task tree). Destroying one that still
/// runs does not stop it: Signal it and Poll until it has ended.
class Process {
 public:
  virtual ~Process() = default;
  virtual pid_t pid() const = 0;
  /// Reaps without blocking: its exit once it has ended, else nullopt. With a keeper, "ended" means its
  /// whole tree has ended, and the exit is the task's first process's.
  virtual std::optional<ChildExit> Poll() = 0;
  /// Records a waitpid status the caller obtained itself (a supervisor that reaps with waitpid(-1)).
  virtual void Reaped(int status) = 0;
  /// `signal` to its process group (its keeper, which passes it on to the whole tree). None once reaped.
  virtual void Signal(int signal) = 0;
  /// Its exit will read `timed out`.
  virtual void MarkTimedOut() = 0;
  /// With a keeper: the wait status of the task's first process once that has ended while processes it
  /// started still run; nullopt otherwise (and on sides that do not track it).
  virtual std::optional<int> FirstProcessExit() { return std::nullopt; }
  /// Once reaped: SIGKILLs what is left of its process group and waits up to `timeout` for it to go.
  virtual void EndGroup(std::chrono::milliseconds timeout) = 0;
};

class ProcessHost {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~ProcessHost() = default;

  virtual Clock::time_point Now() = 0;
  /// Waits until one of `fds` is ready (revents set), `deadline` passes, or a signal arrives; returns how
  /// many are ready (0 at the deadline or on a signal: callers loop). kIo when waiting itself fails. The fake
  /// side moves its clock to the deadline or to its next scripted event, whichever comes first, instead of
  /// sleeping. Clock::time_point::max(): no deadline.
  virtual Result<int> Wait(std::vector<pollfd>& fds, Clock::time_point deadline) = 0;
  /// Sleeps until `deadline` (Wait with no descriptors).
  void SleepUntil(Clock::time_point deadline) {
    std::vector<pollfd> none;
    (void)Wait(none, deadline);  // nothing to be ready; a failed wait is a shorter sleep
  }
  /// Starts a child. Errors as Child::Start.
  virtual Result<std::unique_ptr<Process>> Start(const ChildOptions& options) = 0;

  /// For a process that is not a child we hold (a daemon that detached itself, named by its pid file): its
  /// command line (each argument followed by a NUL, as in /proc/PID/cmdline; "" when unreadable) while it
  /// lives; nullopt once it has ended (a zombie has ended).
  virtual std::optional<std::string> CommandLine(pid_t pid) = 0;
  /// Whether a command line (CommandLine's form) is the process meant.
  using IsIt = std::function<bool(const std::string& command_line)>;
  /// Sends `signal` to such a process, `pid` alone, only while `is_it` holds for its command line; returns
  /// whether it was sent. The real side holds the process by a pidfd while it checks, so a pid that was
  /// reused meanwhile (the process meant ended, another took its number) is never signalled. (A Process of
  /// ours is signalled through Signal.)
  virtual bool Kill(pid_t pid, int signal, const IsIt& is_it) = 0;
};

/// The real side: Child processes and steady_clock. One per process.
ProcessHost& RealProcessHost();

/// The program of a command line (CommandLine's form): argv[0] without its directory; "" for an empty one.
std::string ProgramOf(std::string_view command_line);

/// Runs a child to completion on `host`: after `timeout` (0: none) SIGTERM to its group, after `grace` more
/// SIGKILL; its exit then reads `timed out`. Checks on it every 10 ms of host time at most. Errors as
/// Child::Start; a child that fails is a ChildExit, not an error.
Result<ChildExit> RunProcess(ProcessHost& host, const ChildOptions& options,
                             std::chrono::milliseconds timeout, std::chrono::milliseconds grace);

}  // namespace migctl
