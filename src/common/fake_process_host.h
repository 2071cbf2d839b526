// The fake side of common/process_host.h: scripted programs on a virtual clock. The clock starts at an
// arbitrary epoch and moves only in Wait (so in SleepUntil), straight to the deadline or to the next
// scripted event, whichever comes first: a test of timeouts and retries takes no wall-clock time and sees
// exact times. Descriptors stay real: a fake process writes its scripted output into the pipe or file the
// caller gave it, and holds duplicates of its stdout, stderr, inherit_fds and keeper.hold_fds exactly for its
// life, so a reader sees end of file at its exit and a lease (an flock it was given) is held as long as it
// runs.
//
// A program is chosen by argv[0], exactly as given. Fake pids count up from 100000; they are never signalled
// or looked up for real. A fake process ends at its scripted time, through Exit, or on a signal: SIGKILL
// always, SIGTERM unless it ignores SIGTERM, any other (SIGINT, SIGHUP) too; signal 0 does nothing. Processes
// started on a host must not outlive it. Thread-safety: none.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/process_host.h"

namespace migctl {

/// How a fake program behaves once started.
struct FakeProgram {
  /// From its start to its exit; kForever: until signalled or ended by FakeProcessHost::Exit.
  std::chrono::milliseconds runs_for{0};
  int exit_status = 0;  ///< Its status when it exits by itself.
  /// Written at its start to ChildOptions::stdout_fd / stderr_fd (dropped when those are -1). Keep each
  /// under a pipe's capacity (64 KiB): nobody reads while it is written.
  std::string stdout_text;
  std::string stderr_text;
  bool ignores_sigterm = false;  ///< SIGTERM does nothing; SIGKILL still ends it.
  /// Called once when it ends, however it ends (after its descriptors are closed).
  std::function<void(const ChildExit&)> on_exit;

  static constexpr std::chrono::milliseconds kForever = std::chrono::milliseconds::max();
};

/// One Start, successful or not.
struct FakeStart {
  pid_t pid = 0;  ///< 0 when it did not start (unknown program).
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string workdir;
  ProcessHost::Clock::time_point at;
};

/// One Process::Signal or Kill that reached a fake process that still ran.
struct FakeSignal {
  pid_t pid = 0;
  int signal = 0;
  ProcessHost::Clock::time_point at;
};

class FakeProcessHost final : public ProcessHost {
 public:
  /// Decides at each start what the program does (it may read the options' stdin descriptor, Start other
  /// processes or schedule events). `pid` is the fake process's.
  using Behaviour = std::function<FakeProgram(pid_t pid, const ChildOptions& options)>;

  FakeProcessHost();
  ~FakeProcessHost() override;
  FakeProcessHost(const FakeProcessHost&) = delete;
  FakeProcessHost& operator=(const FakeProcessHost&) = delete;

  /// Every start of `argv0` behaves as `program` (replacing what was scripted before).
  void Script(const std::string& argv0, FakeProgram program);
  /// Every start of `argv0` behaves as `behaviour` decides then.
  void Script(const std::string& argv0, Behaviour behaviour);
  /// Runs `event` when the clock reaches `when` (at once in the next Wait when it has passed).
  void At(Clock::time_point when, std::function<void()> event);
  /// Process `pid` exits now with `exit_status` (nothing when it has already ended).
  void Exit(pid_t pid, int exit_status);

  /// The clock's starting point, so tests can name times as epoch() + 5s.
  Clock::time_point epoch() const { return epoch_; }
  const std::vector<FakeStart>& starts() const { return starts_; }
  const std::vector<FakeSignal>& signals() const { return signals_; }
  /// The starts of `argv0` only.
  std::vector<FakeStart> StartsOf(const std::string& argv0) const;

  Clock::time_point Now() override { return now_; }
  /// Returns at once when a descriptor is ready or a process ended since the last Wait (as SIGCHLD wakes a
  /// real poll); else moves the clock to `deadline` or the next event, fires what is due, and returns how
  /// many descriptors are ready then. kInternal when nothing could ever end the wait (no deadline, no
  /// event): a real process would hang there; and after 1000 waits in a row that found nothing ready and
  /// nothing due without moving the clock: a caller spinning on a passed deadline would hang its test.
  Result<int> Wait(std::vector<pollfd>& fds, Clock::time_point deadline) override;
  /// kNotFound for a program nobody scripted ("program X not found"), kInternal for an empty argv.
  Result<std::unique_ptr<Process>> Start(const ChildOptions& options) override;
  /// While fake process `pid` runs: its arguments, each followed by a NUL (as /proc/PID/cmdline). Else, and
  /// for any pid that is not a fake one, nullopt.
  std::optional<std::string> CommandLine(pid_t pid) override;
  bool Kill(pid_t pid, int signal, const IsIt& is_it) override;

 private:
  friend class FakeProcess;
  struct State;
  void Deliver(State& process, int signal);
  void End(State& process, ChildExit exit);
  /// Ends the processes whose time has come and runs due events, in time order; true when there were any.
  bool FireDue();
  std::optional<Clock::time_point> NextEvent() const;

  Clock::time_point epoch_;
  Clock::time_point now_;
  pid_t next_pid_ = 100000;
  bool ended_since_wait_ = false;
  /// Waits in a row that changed nothing: a caller that spins would otherwise hang its test.
  int idle_waits_ = 0;
  static constexpr int kMaxIdleWaits = 1000;
  std::map<std::string, Behaviour> programs_;
  std::map<pid_t, std::shared_ptr<State>> processes_;
  std::multimap<Clock::time_point, std::function<void()>> events_;
  std::vector<FakeStart> starts_;
  std::vector<FakeSignal> signals_;
};

}  // namespace migctl
