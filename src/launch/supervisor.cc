#include "launch/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/process_host.h"
#include "common/stop_signals.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using std::chrono::system_clock;

constexpr size_t kTailKeep = 64 * 1024;  ///< Bytes of a task's stdout kept for its last line.
constexpr milliseconds kLeaseRetry{50};
constexpr milliseconds kWaitReport{1000};
constexpr milliseconds kKeeperMargin{5000};
constexpr milliseconds kDeviceCheckEvery{1000};
constexpr milliseconds kLingerReport{1000};
constexpr milliseconds kLingerCheck{250};  ///< How often a running task's keeper is asked (none for short ones).

struct Queued {
  const Task* task;
  unsigned attempt;
};

struct Running {
  const Task* task = nullptr;
  unsigned attempt = 1;
  std::unique_ptr<Process> child;  ///< Set once started.
  int out_fd = -1;             ///< Read end of the child's stdout.
  int log_fd = -1;
  std::string log_path;
  std::string tail;     ///< The last bytes of stdout (for the last line).
  std::string partial;  ///< An unfinished stdout line being forwarded.
  system_clock::time_point start;
  steady_clock::time_point started;
  std::optional<steady_clock::time_point> deadline;  ///< SIGTERM when it passes.
  std::optional<steady_clock::time_point> kill_at;   ///< SIGKILL when it passes (after a SIGTERM).
  std::string stop_reason;                           ///< Set when we stopped it (not for a timeout).
  std::optional<steady_clock::time_point> first_exit;  ///< When its first process was seen to have ended.
  steady_clock::time_point linger_check;  ///< When to look for that next (not at all for short tasks).
  bool lingering_reported = false;
};

struct Slot {
  const Worker* worker = nullptr;
  std::optional<Running> running;
  steady_clock::time_point next_try{};  ///< When a busy lease is tried again.
  std::optional<steady_clock::time_point> waiting_since;
  std::optional<steady_clock::time_point> device_checked;  ///< When NVML was last asked about its device.
  bool waiting_reported = false;
};

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::vector<std::string> ChildEnvironment(const std::vector<std::string>& base, const Worker& worker,
                                          const Task& task, unsigned attempt) {
  static const std::set<std::string> kOurs = {"CUDA_VISIBLE_DEVICES", "MIGCTL_WORKER",  "MIGCTL_DEVICE",
                                              "MIGCTL_GPU",           "MIGCTL_PROFILE", "MIGCTL_TASK_ID",
                                              "MIGCTL_ATTEMPT"};
  std::vector<std::string> env;
  env.reserve(base.size() + 8 + worker.env.size());
  for (const std::string& e : base)
    if (!kOurs.contains(e.substr(0, e.find('=')))) env.push_back(e);
  env.push_back("CUDA_VISIBLE_DEVICES=" + worker.device);
  env.push_back(fmt::format("MIGCTL_WORKER={}", worker.index));
  env.push_back("MIGCTL_DEVICE=" + worker.device);
  env.push_back(fmt::format("MIGCTL_GPU={}", worker.gpu.value()));
  env.push_back("MIGCTL_PROFILE=" + worker.profile);
  env.push_back(fmt::format("MIGCTL_TASK_ID={}", task.id));
  env.push_back(fmt::format("MIGCTL_ATTEMPT={}", attempt));
  env.insert(env.end(), worker.env.begin(), worker.env.end());
  return env;
}

class Pool {
 public:
  Pool(const std::vector<Worker>& workers, const std::vector<Task>& tasks, LeaseTable& leases,
       const SupervisorOptions& options, RunObserver& observer, ProcessHost& host)
      : leases_(leases), options_(options), observer_(observer), host_(host) {
    for (const Worker& w : workers) {
      slots_.push_back(Slot{&w});
      next_index_ = std::max(next_index_, w.index + 1);
    }
    for (const Task& t : tasks) queue_.push_back({&t, 1});
  }

  Result<RunSummary> Run() {
    StopSignals signals;  // nested in Run's: a signal from before supervision began stops it at once
    MIGCTL_RETURN_IF_ERROR(signals.Install(/*sigchld=*/true));
    Status status = Loop(signals);
    if (!status.ok()) {
      Stop("migctl cannot go on: " + status.error().message);
      while (AnyRunning()) {
        host_.SleepUntil(host_.Now() + milliseconds(10));
        ReapAndEnforce(host_.Now());
      }
      return status.error();
    }
    summary_.not_run = static_cast<unsigned>(queue_.size());
    summary_.workers = next_index_;
    return summary_;
  }

 private:
  bool AnyRunning() const {
    return std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.running.has_value(); });
  }

  Status Loop(const StopSignals& signals) {
    for (;;) {
      if (signals.signal() != 0 && summary_.signal == 0) {
        summary_.signal = signals.signal();
        Stop(fmt::format("interrupted by {}", SignalName(summary_.signal)));
      }
      const steady_clock::time_point now = host_.Now();
      if (summary_.stopped.empty()) MIGCTL_RETURN_IF_ERROR(Dispatch(now));
      if (summary_.stopped.empty() && options_.reshape) {
        MIGCTL_ASSIGN_OR_RETURN(const bool changed, Reshape());
        if (changed) continue;  // dispatch onto the new devices at once
      }
      if (!AnyRunning() && (queue_.empty() || !summary_.stopped.empty())) return Ok();

      std::vector<pollfd> fds = {{signals.read_fd(), POLLIN, 0}};
      std::vector<Slot*> owners = {nullptr};
      for (Slot& slot : slots_)
        if (slot.running && slot.running->out_fd >= 0) {
          fds.push_back({slot.running->out_fd, POLLIN, 0});
          owners.push_back(&slot);
        }
      MIGCTL_RETURN_IF_ERROR(host_.Wait(fds, NextWakeup(now)));
      signals.Drain();
      for (size_t i = 1; i < fds.size(); ++i)
        if (fds[i].revents != 0) ReadOutput(*owners[i]->running, *owners[i]->worker);
      ReapAndEnforce(host_.Now());
    }
  }

  /// The queued tasks that no worker's device can hold.
  std::vector<TaskNeeds> FitNowhere() const {
    std::vector<TaskNeeds> out;
    for (const Queued& q : queue_)
      if (std::none_of(slots_.begin(), slots_.end(),
                       [&](const Slot& s) { return s.worker->CanHold(q.task->needs); }))
        out.push_back(q.task->needs);
    return out;
  }

  /// run --reshape: when queued tasks fit no device and a worker is idle, asks for new workers and rebuilds
  /// the slots (a running slot keeps its state; idle slots whose device went are dropped; new devices get
  /// new slots). True when the workers changed. When nothing runs and nothing could change, stops the run.
  Result<bool> Reshape() {
    // Cheap checks first: this runs on every turn of the loop.
    if (reshape_blocked_) {
      if (AnyRunning()) return false;
      if (const size_t n = FitNowhere().size(); n > 0)
        Stop(fmt::format("{} task{} fit no device, and reshaping the idle slices cannot make one that does", n,
                         n == 1 ? "" : "s"));
      return false;
    }
    const bool idle = slots_.empty() || std::any_of(slots_.begin(), slots_.end(),
                                                    [](const Slot& s) { return !s.running.has_value(); });
    if (!idle || queue_.empty()) return false;
    const std::vector<TaskNeeds> waiting = FitNowhere();
    if (waiting.empty()) return false;
    MIGCTL_ASSIGN_OR_RETURN(std::optional<std::vector<Worker>> workers, options_.reshape(waiting));
    reshape_blocked_ = true;  // until a task ends, or the new devices are tried
    if (!workers) return false;
    for (const Slot& s : slots_)  // checked before anything moves: on error every running task stays put
      if (s.running && std::none_of(workers->begin(), workers->end(), [&](const Worker& w) {
            return w.lease_key == s.worker->lease_key;
          }))
        return MakeError(ErrorCode::kInternal,
                         fmt::format("a reshape lost {}, on which task {} runs; please report this",
                                     s.worker->device, s.running->task->id));
    std::vector<Slot> slots;
    for (Worker& w : *workers) {
      auto old = std::find_if(slots_.begin(), slots_.end(),
                              [&](const Slot& s) { return s.worker->lease_key == w.lease_key; });
      w.index = old != slots_.end() ? old->worker->index : next_index_++;
      owned_.push_back(std::move(w));
      Slot slot{&owned_.back()};
      if (old != slots_.end()) {
        slot.running = std::move(old->running);
        slot.next_try = old->next_try;
        old->running.reset();
      }
      slots.push_back(std::move(slot));
    }
    slots_ = std::move(slots);
    reshape_blocked_ = false;
    return true;
  }

  /// Starts a task on every free worker that has one it can hold and can take its lease.
  Status Dispatch(steady_clock::time_point now) {
    for (Slot& slot : slots_) {
      if (slot.running || now < slot.next_try || queue_.empty()) continue;
      auto it = std::find_if(queue_.begin(), queue_.end(),
                             [&](const Queued& q) { return slot.worker->CanHold(q.task->needs); });
      if (it == queue_.end()) continue;
      MIGCTL_ASSIGN_OR_RETURN(std::optional<Lease> lease, leases_.TryAcquire(slot.worker->lease_key));
      // A free lease on a device NVML shows a process on is not free either (someone else's work).
      // Asked when the worker first takes it, after it waited, and at most once a second otherwise (on the
      // simulator an NVML process query costs milliseconds).
      std::optional<pid_t> user;
      if (lease && options_.device_user &&
          (!slot.device_checked || slot.waiting_since || now - *slot.device_checked >= kDeviceCheckEvery)) {
        user = options_.device_user(*slot.worker);
        slot.device_checked = now;
      }
      if (!lease || user) {
        lease.reset();
        if (!slot.waiting_since) slot.waiting_since = now;
        if (!slot.waiting_reported && now - *slot.waiting_since >= kWaitReport) {
          observer_.OnWaiting(*slot.worker, user ? user : leases_.Holder(slot.worker->lease_key));
          slot.waiting_reported = true;
        }
        slot.next_try = now + kLeaseRetry;
        continue;
      }
      slot.waiting_since.reset();
      slot.waiting_reported = false;
      const Queued job = *it;
      queue_.erase(it);
      Start(slot, job, *lease);
      // The child holds the lease now (or never started); ours closes either way.
    }
    return Ok();
  }

  void Start(Slot& slot, const Queued& job, Lease& lease) {
    const Worker& worker = *slot.worker;
    Running run;
    run.task = job.task;
    run.attempt = job.attempt;
    run.start = system_clock::now();
    run.started = host_.Now();
    run.linger_check = run.started + kLingerCheck;
    observer_.OnStart(*job.task, worker, job.attempt);  // every start gets a result, started or not
    int out[2] = {-1, -1};
    std::string failure;
    if (::pipe2(out, O_CLOEXEC) != 0) failure = fmt::format("cannot make a pipe: {}", strerror(errno));
    if (failure.empty() && !options_.logs_dir.empty()) {
      run.log_path = fmt::format("{}/task-{}.log", options_.logs_dir, job.task->id);
      // Never through a planted link or into someone else's file: logs are written as whoever runs migctl.
      Result<int> log = OpenForAppend(run.log_path, O_WRONLY, 0644);
      if (log.ok()) {
        run.log_fd = *log;
      } else {
        failure = log.error().message;
      }
    }
    if (failure.empty()) {
      ChildOptions child;
      child.argv = job.task->argv;
      child.env = ChildEnvironment(options_.env, worker, *job.task, job.attempt);
      child.workdir = options_.workdir;
      child.stdout_fd = out[1];
      child.stderr_fd = run.log_fd;
      if (options_.keepers) {
        child.keeper.enabled = true;
        child.keeper.hold_fds = {lease.fd()};
        child.keeper.record_fd = lease.fd();
        child.keeper.grace = options_.grace;
        if (worker.index < options_.cgroups.size()) child.keeper.cgroup = options_.cgroups[worker.index];
      } else {
        child.inherit_fds = {lease.fd()};
      }
      Result<std::unique_ptr<Process>> started = host_.Start(child);
      if (started.ok()) {
        run.child = std::move(started).value();
      } else {
        failure = started.error().message;
      }
    }
    CloseFd(out[1]);
    lease.Release();
    if (!failure.empty()) {
      CloseFd(out[0]);
      CloseFd(run.log_fd);
      TaskResult result = BaseResult(run, worker);
      result.status = TaskStatus::kNotStarted;
      result.error = failure;
      Finish(job.task, std::move(result), /*retryable=*/false);
      return;
    }
    ::fcntl(out[0], F_SETFL, O_NONBLOCK);
    run.out_fd = out[0];
    if (options_.timeout.count() > 0) run.deadline = run.started + options_.timeout;
    slot.running = std::move(run);
  }

  /// Reads what a child wrote to stdout without blocking: into its log (or forwarded line by line) and its
  /// tail. Closes the pipe at end of file.
  void ReadOutput(Running& run, const Worker& worker) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(run.out_fd, buf, sizeof buf);
      if (n > 0) {
        const std::string_view chunk(buf, static_cast<size_t>(n));
        if (run.log_fd >= 0) {
          [[maybe_unused]] ssize_t w = ::write(run.log_fd, chunk.data(), chunk.size());
        } else {
          Forward(run, worker, chunk);
        }
        run.tail.append(chunk);
        if (run.tail.size() > 2 * kTailKeep) run.tail.erase(0, run.tail.size() - kTailKeep);
        continue;
      }
      if (n == 0) {
        CloseFd(run.out_fd);
        run.linger_check = {};  // its first process may just have ended: ask its keeper at once
      }
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  }

  void Forward(Running& run, const Worker& worker, std::string_view chunk) {
    run.partial.append(chunk);
    size_t begin = 0;
    for (size_t nl; (nl = run.partial.find('\n', begin)) != std::string::npos; begin = nl + 1)
      observer_.OnOutput(*run.task, worker, std::string_view(run.partial).substr(begin, nl - begin));
    run.partial.erase(0, begin);
  }

  /// Reaps children that ended and signals those past their time.
  void ReapAndEnforce(steady_clock::time_point now) {
    for (Slot& slot : slots_) {
      if (!slot.running) continue;
      Running& run = *slot.running;
      if (std::optional<ChildExit> exit = run.child->Poll()) {
        // A task migctl stopped (Ctrl-C, --fail-fast, its timeout) leaves nothing behind in its group.
        if (!run.stop_reason.empty() || exit->timed_out) run.child->EndGroup(options_.grace);
        if (run.out_fd >= 0) ReadOutput(run, *slot.worker);  // what is left; a grandchild may keep it open
        CloseFd(run.out_fd);
        CloseFd(run.log_fd);
        if (!run.partial.empty()) observer_.OnOutput(*run.task, *slot.worker, run.partial);
        TaskResult result = BaseResult(run, *slot.worker);
        result.duration_s = std::chrono::duration<double>(now - run.started).count();
        result.exit_status = exit->signal == 0 ? std::optional<int>(exit->exit_status) : std::nullopt;
        if (exit->signal != 0) result.signal = exit->signal;
        result.output = JsonFromLastLine(run.tail).value_or(Json());
        if (exit->start_error) {
          result.status = TaskStatus::kNotStarted;  // its keeper could not exec it
          result.error = *exit->start_error;
          result.exit_status.reset();
          const Task* task = run.task;
          slot.running.reset();
          Finish(task, std::move(result), /*retryable=*/false);
          continue;
        }
        if (exit->success())
          result.status = TaskStatus::kOk;
        else if (exit->timed_out)
          result.status = TaskStatus::kTimedOut;
        else if (exit->signal != 0)
          result.status = TaskStatus::kKilled;
        else
          result.status = TaskStatus::kFailed;
        if (exit->timed_out)
          result.error =
              fmt::format("no result within the {:g} s timeout: {}",
                          std::chrono::duration<double>(options_.timeout).count(), exit->Describe());
        else if (!run.stop_reason.empty())
          result.error = "stopped: " + run.stop_reason;
        const Task* task = run.task;
        const bool retryable = run.stop_reason.empty();
        slot.running.reset();
        Finish(task, std::move(result), retryable);
        continue;
      }
      if (options_.keepers && !run.lingering_reported && !run.first_exit && now >= run.linger_check) {
        run.linger_check = now + kLingerCheck;
        if (run.child->FirstProcessExit()) run.first_exit = now;
      }
      if (!run.lingering_reported && run.first_exit) {
        if (now - *run.first_exit >= kLingerReport) {
          observer_.OnLingering(*run.task, *slot.worker, leases_.Holder(slot.worker->lease_key));
          run.lingering_reported = true;
        }
      }
      if (run.deadline && now >= *run.deadline) {
        run.child->MarkTimedOut();
        run.child->Signal(SIGTERM);
        run.deadline.reset();
        run.kill_at = now + KillAfter();
      } else if (run.kill_at && now >= *run.kill_at) {
        run.child->Signal(SIGKILL);
        run.kill_at.reset();
      }
    }
  }

  TaskResult BaseResult(const Running& run, const Worker& worker) const {
    TaskResult r;
    r.task = run.task->id;
    r.attempt = run.attempt;
    r.command = run.task->command;
    r.params = run.task->params;
    r.worker = worker.index;
    r.device = worker.device;
    r.gpu = worker.gpu.value();
    r.profile = worker.profile;
    r.start = run.start;
    r.log = run.log_path;
    return r;
  }

  /// Reports an attempt's result and decides what follows: a retry, the next task, or a stop.
  void Finish(const Task* task, TaskResult result, bool retryable) {
    reshape_blocked_ = false;  // a slice may be free for a reshape now
    const bool ok = result.status == TaskStatus::kOk;
    const bool retry = !ok && retryable && summary_.stopped.empty() && result.attempt <= options_.retries;
    result.final = !retry;
    observer_.OnResult(result);
    if (retry) {
      queue_.push_back({task, result.attempt + 1});
      return;
    }
    if (ok) {
      ++summary_.succeeded;
      return;
    }
    ++summary_.failed;
    if (options_.fail_fast && summary_.stopped.empty())
      Stop(fmt::format("--fail-fast: task {} {}", result.task,
                       result.status == TaskStatus::kNotStarted ? "could not start" : "failed"));
  }

  /// How long after SIGTERM migctl itself SIGKILLs a task: after the grace period, or, with a keeper (which
  /// SIGKILLs its tree itself after the grace), a little later, so the keeper is never cut short.
  std::chrono::milliseconds KillAfter() const { return options_.grace + (options_.keepers ? kKeeperMargin : milliseconds(0)); }

  /// Stops the run: no new tasks; every child gets SIGTERM now and SIGKILL after the grace period.
  void Stop(const std::string& why) {
    if (!summary_.stopped.empty()) return;
    summary_.stopped = why;
    observer_.OnStopping(why);
    const steady_clock::time_point now = host_.Now();
    for (Slot& slot : slots_) {
      if (!slot.running) continue;
      slot.running->stop_reason = why;
      slot.running->child->Signal(SIGTERM);
      slot.running->deadline.reset();
      slot.running->kill_at = now + KillAfter();
    }
  }

  /// When the loop must look again: the next deadline, kill or lease retry, and at least once a second.
  steady_clock::time_point NextWakeup(steady_clock::time_point now) const {
    steady_clock::time_point next = now + milliseconds(1000);
    for (const Slot& slot : slots_) {
      if (slot.running) {
        if (slot.running->deadline) next = std::min(next, *slot.running->deadline);
        if (slot.running->kill_at) next = std::min(next, *slot.running->kill_at);
        if (options_.keepers && !slot.running->lingering_reported)
          next = std::min(next, slot.running->first_exit ? *slot.running->first_exit + kLingerReport
                                                         : slot.running->linger_check);
      } else if (!queue_.empty() && summary_.stopped.empty() && slot.next_try > now) {
        // A lease to try again. A free worker without one has just found nothing it can hold: what could
        // change that is a child's end, which wakes the loop by itself.
        next = std::min(next, slot.next_try);
      }
    }
    return next;
  }

  LeaseTable& leases_;
  const SupervisorOptions& options_;
  RunObserver& observer_;
  ProcessHost& host_;
  std::vector<Slot> slots_;
  std::deque<Worker> owned_;  ///< Workers a reshape made (a deque: slots point into it).
  unsigned next_index_ = 0;   ///< The index a new worker gets.
  bool reshape_blocked_ = false;
  std::deque<Queued> queue_;
  RunSummary summary_;
};

}  // namespace

Result<RunSummary> RunTasks(const std::vector<Worker>& workers, const std::vector<Task>& tasks,
                            LeaseTable& leases, const SupervisorOptions& options, RunObserver& observer,
                            ProcessHost& host) {
  Pool pool(workers, tasks, leases, options, observer, host);
  return pool.Run();
}

}  // namespace migctl
