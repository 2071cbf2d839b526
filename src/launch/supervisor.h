// The worker pool: runs tasks on workers, one task at a time per worker, each task holding its device's
// lease for as long as any process of it lives (with SupervisorOptions::keepers: its keeper holds it; see
// common/child_process.h). Single-threaded: one poll loop starts tasks, reads their stdout, enforces
// timeouts, reaps them, retries failures and stops everything on Ctrl-C (SIGINT, SIGTERM, SIGHUP) or
// --fail-fast. Deciding what to print is the observer's (cli/). Processes and time go through a ProcessHost
// (common/process_host.h), so tests run it on a virtual clock.
//
// A task goes to the first free worker that can hold it (Worker::CanHold), in submission order otherwise.
// Each task gets: the base environment, then CUDA_VISIBLE_DEVICES=<its device's UUID>, MIGCTL_WORKER,
// MIGCTL_DEVICE, MIGCTL_GPU, MIGCTL_PROFILE, MIGCTL_TASK_ID, MIGCTL_ATTEMPT and the worker's own entries
// (MPS); stdin /dev/null. A task ends when its whole tree has; stopping it reaches every process of the
// tree (the keeper's SIGTERM, then SIGKILL after the grace), also when migctl dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"
#include "launch/lease.h"
#include "launch/result_log.h"
#include "launch/task.h"
#include "launch/worker.h"

namespace migctl {

struct SupervisorOptions {
  unsigned retries = 0;                    ///< Extra attempts for a task that fails, times out or is killed.
  std::chrono::milliseconds timeout{0};    ///< Per attempt; 0: none. Then SIGTERM to the child's group...
  std::chrono::milliseconds grace{10000};  ///< ...and SIGKILL this much later. Also used when stopping.
  bool fail_fast = false;                  ///< Stop everything after the first task that finally fails.
  /// Per-task logs: stdout and stderr of every attempt appended to DIR/task-ID.log. Empty: stdout lines go to
  /// RunObserver::OnOutput, stderr to migctl's stderr.
  std::string logs_dir;
  std::vector<std::string> env;  ///< Every child's base environment (`NAME=value`).
  std::string workdir;           ///< Empty: migctl's.
  /// Run each task under a keeper (ChildOptions::keeper) that holds the device's lease until the task's
  /// whole tree has ended, writes the tree's record into it, and stops the tree itself. Off: the child
  /// inherits the lease descriptor (unit tests of the pool).
  bool keepers = false;
  std::vector<std::string> cgroups;  ///< With keepers: worker index -> its cgroup directory ("" or absent: none).
  /// Asked after a worker took its device's lease (the first time, after it waited, and at most once a
  /// second otherwise): a process NVML lists on the device, if any. Then the lease is let go and the worker
  /// waits, as for a held lease. Empty: not asked.
  std::function<std::optional<pid_t>(const Worker&)> device_user;
  /// `run --reshape`: asked when queued tasks fit no worker's device and a worker is idle (or there is none),
  /// with those tasks' needs (one entry per task). Returns the workers to run on from now on, or nullopt when
  /// nothing could change. Every worker that runs a task must still be in the new list with the same device
  /// (a reshape never touches a slice in use); the supervisor keeps its slot and gives new devices new
  /// indexes. It is not asked again until a task ends. When nothing runs and it cannot help, the waiting
  /// tasks are left not run and the run stops saying why. Empty: never (then every task must fit some worker).
  std::function<Result<std::optional<std::vector<Worker>>>(const std::vector<TaskNeeds>& waiting)> reshape;
};

/// What the pool reports while it runs. Called on the pool's thread, between its steps.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// An attempt begins (its OnResult follows, also when the child could not be started).
  virtual void OnStart(const Task& task, const Worker& worker, unsigned attempt) = 0;
  /// Every attempt's result, as it ends (final=false when it will be retried).
  virtual void OnResult(const TaskResult& result) = 0;
  /// A complete stdout line of a task, when there are no per-task logs.
  virtual void OnOutput(const Task& task, const Worker& worker, std::string_view line) = 0;
  /// A worker has waited a second for its device's lease (held by `holder`, if known).
  virtual void OnWaiting(const Worker& worker, std::optional<pid_t> holder) = 0;
  /// The run is stopping early: why.
  virtual void OnStopping(const std::string& why) = 0;
  /// A task's first process ended a second ago, but processes it started still run (`holder`, one of them,
  /// if known): its result waits for them, and its slice stays leased. Once per attempt.
  virtual void OnLingering(const Task& task, const Worker& worker, std::optional<pid_t> holder) {
    (void)task, (void)worker, (void)holder;
  }
};

struct RunSummary {
  unsigned succeeded = 0;
  unsigned failed = 0;   ///< Tasks whose last attempt did not succeed (incl. those killed by a stop).
  unsigned not_run = 0;  ///< Tasks never started because the run stopped early.
  unsigned workers = 0;  ///< Workers the run had in all, those its re-cuts added included.
  int signal = 0;        ///< The signal that interrupted the run, else 0.
  std::string stopped;   ///< Why the run stopped early; empty when it ran every task.
};

/// Runs `tasks` on `workers` until every task has a final result or the run stops. Children are started,
/// and the clock read and waited on, through `host` (the signals above still wake it for real).
/// Preconditions: every task fits some worker (CheckTasksFit) unless options.reshape is set, worker lease
/// keys are distinct. Errors (kIo)
/// only when the pool itself cannot go on (lease directory unusable, poll failure); then every child is
/// stopped and reaped first. A task that cannot start (program not found) is a result with status
/// not-started, not an error.
Result<RunSummary> RunTasks(const std::vector<Worker>& workers, const std::vector<Task>& tasks,
                            LeaseTable& leases, const SupervisorOptions& options, RunObserver& observer,
                            ProcessHost& host = RealProcessHost());

}  // namespace migctl
