#include "common/fake_process_host.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace migctl {

using Clock = ProcessHost::Clock;

struct FakeProcessHost::State {
  pid_t pid = 0;
  std::vector<std::string> argv;
  FakeProgram program;
  Clock::time_point ends_at;  ///< time_point::max(): runs until something ends it.
  std::vector<int> held_fds;  ///< Duplicates of its stdout, stderr, inherited and keeper-held descriptors.
  std::optional<ChildExit> exit;
};

/// The Process handle of a fake process; the host keeps its state.
class FakeProcess final : public Process {
 public:
  FakeProcess(FakeProcessHost& host, std::shared_ptr<FakeProcessHost::State> state)
      : host_(host), state_(std::move(state)) {}

  pid_t pid() const override { return state_->pid; }
  std::optional<ChildExit> Poll() override {
    if (!state_->exit && host_.now_ >= state_->ends_at)
      host_.End(*state_, ChildExit{.exit_status = state_->program.exit_status});
    if (!state_->exit) return std::nullopt;
    ChildExit exit = *state_->exit;
    exit.timed_out = timed_out_;
    return exit;
  }
  void Reaped(int status) override {
    if (state_->exit) return;
    ChildExit exit;
    if (WIFEXITED(status)) exit.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
    host_.End(*state_, exit);
  }
  void Signal(int signal) override { host_.Deliver(*state_, signal); }
  void MarkTimedOut() override { timed_out_ = true; }
  void EndGroup(std::chrono::milliseconds) override {}  // a fake process leaves nothing behind

 private:
  FakeProcessHost& host_;
  std::shared_ptr<FakeProcessHost::State> state_;
  bool timed_out_ = false;
};

namespace {

/// Writes all of `text` to `fd`; false on failure.
bool WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

FakeProcessHost::FakeProcessHost() : epoch_(Clock::time_point() + std::chrono::hours(1000)), now_(epoch_) {}

FakeProcessHost::~FakeProcessHost() {
  for (auto& [pid, process] : processes_)
    for (int fd : process->held_fds) ::close(fd);
}

void FakeProcessHost::Script(const std::string& argv0, FakeProgram program) {
  programs_[argv0] = [program = std::move(program)](pid_t, const ChildOptions&) { return program; };
}

void FakeProcessHost::Script(const std::string& argv0, Behaviour behaviour) {
  programs_[argv0] = std::move(behaviour);
}

void FakeProcessHost::At(Clock::time_point when, std::function<void()> event) {
  events_.emplace(when, std::move(event));
}

void FakeProcessHost::Exit(pid_t pid, int exit_status) {
  auto it = processes_.find(pid);
  if (it != processes_.end() && !it->second->exit) End(*it->second, ChildExit{.exit_status = exit_status});
}

std::vector<FakeStart> FakeProcessHost::StartsOf(const std::string& argv0) const {
  std::vector<FakeStart> out;
  for (const FakeStart& start : starts_)
    if (!start.argv.empty() && start.argv[0] == argv0) out.push_back(start);
  return out;
}

Result<int> FakeProcessHost::Wait(std::vector<pollfd>& fds, Clock::time_point deadline) {
  auto ready = [&fds]() -> Result<int> {
    const int n = ::poll(fds.data(), fds.size(), 0);
    if (n < 0) return MakeError(ErrorCode::kIo, fmt::format("poll failed: {}", std::strerror(errno)));
    return n;
  };
  bool progress = FireDue();
  MIGCTL_ASSIGN_OR_RETURN(const int now_ready, ready());
  if (now_ready > 0 || ended_since_wait_) {
    ended_since_wait_ = false;
    idle_waits_ = 0;
    return now_ready;
  }
  Clock::time_point target = deadline;
  if (std::optional<Clock::time_point> next = NextEvent()) target = std::min(target, *next);
  if (target == Clock::time_point::max())
    return MakeError(ErrorCode::kInternal,
                     "fake clock: a wait without a deadline that nothing scripted ends");
  progress = target > now_ || progress;
  now_ = std::max(now_, target);
  progress = FireDue() || progress;
  ended_since_wait_ = false;
  MIGCTL_ASSIGN_OR_RETURN(const int then_ready, ready());
  idle_waits_ = progress || then_ready > 0 ? 0 : idle_waits_ + 1;
  if (idle_waits_ >= kMaxIdleWaits)
    return MakeError(
        ErrorCode::kInternal,
        fmt::format("fake clock: {} waits in a row found nothing ready and nothing due; the caller "
                    "spins (waiting for a deadline that has passed?)",
                    kMaxIdleWaits));
  return then_ready;
}

Result<std::unique_ptr<Process>> FakeProcessHost::Start(const ChildOptions& options) {
  if (options.argv.empty() || options.argv[0].empty())
    return MakeError(ErrorCode::kInternal, "no program to run");
  starts_.push_back(FakeStart{0, options.argv, options.env, options.workdir, now_});
  const std::size_t record = starts_.size() - 1;
  auto program = programs_.find(options.argv[0]);
  if (program == programs_.end())
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} not found", options.argv[0]));

  auto state = std::make_shared<State>();
  state->pid = next_pid_++;
  state->argv = options.argv;
  starts_[record].pid = state->pid;
  // What a real child (or its keeper) holds for its life.
  std::vector<int> hold = options.inherit_fds;
  hold.insert(hold.end(), options.keeper.hold_fds.begin(), options.keeper.hold_fds.end());
  for (int fd : {options.stdout_fd, options.stderr_fd})
    if (fd >= 0) hold.push_back(fd);
  for (int fd : hold) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
      const int error = errno;
      for (int held : state->held_fds) ::close(held);
      return MakeError(ErrorCode::kIo, fmt::format("cannot start {}: descriptor {}: {}", options.argv[0], fd,
                                                   std::strerror(error)));
    }
    state->held_fds.push_back(copy);
  }
  // The behaviour may start processes itself (a daemon that detaches), so it runs before this one is listed.
  state->program = program->second(state->pid, options);
  const std::chrono::milliseconds runs_for = state->program.runs_for;
  state->ends_at = runs_for == FakeProgram::kForever ? Clock::time_point::max() : now_ + runs_for;
  for (auto [fd, text] : {std::pair(options.stdout_fd, &state->program.stdout_text),
                          std::pair(options.stderr_fd, &state->program.stderr_text)})
    if (fd >= 0 && !WriteAll(fd, *text)) {
      const int error = errno;
      for (int held : state->held_fds) ::close(held);
      return MakeError(ErrorCode::kIo, fmt::format("fake {} cannot write its output to descriptor {}: {}",
                                                   options.argv[0], fd, std::strerror(error)));
    }
  processes_[state->pid] = state;
  return std::unique_ptr<Process>(std::make_unique<FakeProcess>(*this, std::move(state)));
}

std::optional<std::string> FakeProcessHost::CommandLine(pid_t pid) {
  auto it = processes_.find(pid);
  if (it == processes_.end() || it->second->exit) return std::nullopt;
  std::string line;
  for (const std::string& arg : it->second->argv) line.append(arg).push_back('\0');
  return line;
}

bool FakeProcessHost::Kill(pid_t pid, int signal, const IsIt& is_it) {
  const std::optional<std::string> line = CommandLine(pid);
  if (!line || !is_it(*line)) return false;
  Deliver(*processes_.at(pid), signal);
  return true;
}

void FakeProcessHost::Deliver(State& process, int signal) {
  if (process.exit || signal == 0) return;
  signals_.push_back(FakeSignal{process.pid, signal, now_});
  if (signal == SIGTERM && process.program.ignores_sigterm) return;
  End(process, ChildExit{.signal = signal});
}

void FakeProcessHost::End(State& process, ChildExit exit) {
  if (process.exit) return;
  process.exit = exit;
  for (int fd : process.held_fds) ::close(fd);
  process.held_fds.clear();
  ended_since_wait_ = true;
  if (std::function<void(const ChildExit&)> on_exit = std::move(process.program.on_exit)) on_exit(exit);
}

bool FakeProcessHost::FireDue() {
  for (bool fired = false;; fired = true) {
    std::shared_ptr<State> due;
    for (const auto& [pid, process] : processes_)
      if (!process->exit && process->ends_at <= now_ && (!due || process->ends_at < due->ends_at))
        due = process;
    const auto event = events_.begin();
    const bool event_due = event != events_.end() && event->first <= now_;
    if (due && (!event_due || due->ends_at <= event->first)) {
      End(*due, ChildExit{.exit_status = due->program.exit_status});
    } else if (event_due) {
      std::function<void()> run = std::move(event->second);
      events_.erase(event);
      run();
    } else {
      return fired;
    }
  }
}

std::optional<Clock::time_point> FakeProcessHost::NextEvent() const {
  std::optional<Clock::time_point> next;
  if (!events_.empty()) next = events_.begin()->first;
  for (const auto& [pid, process] : processes_)
    if (!process->exit && process->ends_at != Clock::time_point::max() && (!next || process->ends_at < *next))
      next = process->ends_at;
  return next;
}

}  // namespace migctl
