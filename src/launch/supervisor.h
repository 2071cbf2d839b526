// The worker pool: runs tasks on workers, one child at a time per worker, each child holding its device's
// lease for exactly its own life. Single-threaded: one poll loop starts children, reads their stdout,
// enforces timeouts, reaps them, retries failures and stops everything on Ctrl-C (SIGINT, SIGTERM, SIGHUP) or
// --fail-fast. Deciding what to print is the observer's (cli/).
//
// A task goes to the first free worker that can hold it (Worker::CanHold), in submission order otherwise.
// Each child gets: the base environment, then CUDA_VISIBLE_DEVICES=<its device's UUID>, MIGCTL_WORKER,
// MIGCTL_DEVICE, MIGCTL_GPU, MIGCTL_PROFILE, MIGCTL_TASK_ID, MIGCTL_ATTEMPT and the worker's own entries
// (MPS); stdin /dev/null; its own process group (a stop reaches its whole tree) and SIGTERM if migctl dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
};

struct RunSummary {
  unsigned succeeded = 0;
  unsigned failed = 0;   ///< Tasks whose last attempt did not succeed (incl. those killed by a stop).
  unsigned not_run = 0;  ///< Tasks never started because the run stopped early.
  int signal = 0;        ///< The signal that interrupted the run, else 0.
  std::string stopped;   ///< Why the run stopped early; empty when it ran every task.
};

/// Runs `tasks` on `workers` until every task has a final result or the run stops. Preconditions: every task
/// fits some worker (CheckTasksFit), worker lease keys are distinct. Errors (kIo) only when the pool itself
/// cannot go on (lease directory unusable, poll failure); then every child is stopped and reaped first. A
/// task that cannot start (program not found) is a result with status not-started, not an error.
Result<RunSummary> RunTasks(const std::vector<Worker>& workers, const std::vector<Task>& tasks,
                            LeaseTable& leases, const SupervisorOptions& options, RunObserver& observer);

}  // namespace migctl
