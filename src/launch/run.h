// A whole `migctl run` as one library call: the tasks (and what --resume skips), the workers, the partitions
// --create makes (through the conductor, like every GPU change) and --ephemeral removes (under the leases of
// the instances it removes, so never one another run uses), the run's private MPS daemon, the supervision
// of every task's whole process tree, the results journal and the summary. cli/cmd_run.cc only parses and
// prints; a Python binding or a Slurm job step calls Run the same way.
//
// Thread-safety: none; call it from the thread that lives as long as the run (parent-death signals of the
// task keepers and the MPS daemon follow that thread).
#pragma once

#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "launch/supervisor.h"
#include "launch/task.h"
#include "launch/task_source.h"
#include "launch/worker.h"
#include "nvml/device.h"
#include "reconcile/conductor.h"

namespace migctl {

/// Changes GPUs through the conductor (reconcile/conductor.h) with the caller's lock timeout and notes.
using GpuChanger = std::function<Result<ChangeReport>(ChangeRequest, ChangeCallbacks)>;

struct RunRequest {
  // Tasks.
  TaskSourceOptions tasks;
  /// The tasks themselves, already built (a Slurm array element's one task, with its id): then `tasks`,
  /// `task_input` and `resume` are not read.
  std::optional<std::vector<Task>> task_list;
  std::istream* task_input = nullptr;  ///< What `--tasks -` reads; required then.
  std::string resume;   ///< Run only what this journal does not record as succeeded; append to it.
  std::string results;  ///< Append every attempt's result to this journal (the same file as resume, if both).
  // Workers.
  std::vector<nvml::Device> devices;  ///< The selected GPUs.
  WorkerRequest workers;
  bool create = false;     ///< Make the missing MIG devices of workers.profile first (needs workers.workers).
  bool ephemeral = false;  ///< Remove at the end what create made (not what another run uses).
  /// Workers are every MIG device of the selected GPUs (none is fine), and when queued tasks fit none, idle
  /// slices are re-cut for them (reconcile/reshape.h; a slice with a live task is never touched). Needs
  /// change_gpus; excludes create, ephemeral, workers.profile/memory/workers and sharing.
  bool reshape = false;
  std::vector<bool> reset_supported;  ///< Per device, for create (MIG mode changes that need a reset).
  std::string mps_threads;            ///< --share mps: `auto` or a percentage, per worker.
  std::optional<unsigned long long> mps_memory_mib;
  // Where and how.
  std::string lease_dir;  ///< DefaultLeaseDir.
  std::string mps_root;   ///< Where the run's private MPS directories go (mps::DefaultRoot()).
  bool dry_run = false;   ///< Decide workers and tasks (and partitions: what would be made); start nothing.
  SupervisorOptions supervisor;
  GpuChanger change_gpus;  ///< Required for create and reshape.
  std::string node;  ///< Recorded in every result (TaskResult::node): a Slurm element's SLURMD_NODENAME.
};

/// What a run reports while it goes, beyond the pool's events (RunObserver).
class RunEvents : public RunObserver {
 public:
  /// A line for people: what resume skips, devices skipped, partitions made or left, the MPS daemon,
  /// how task trees are tracked.
  virtual void OnNote(const std::string& line) = 0;
  /// Workers and tasks are decided; supervision begins (not called for a dry run).
  virtual void OnBegin(const std::vector<Worker>& workers, const std::vector<Task>& tasks) = 0;
};

struct RunOutcome {
  std::vector<Worker> workers;
  std::vector<Task> tasks;     ///< Those this run runs (or would): resumed ones left out.
  unsigned total_tasks = 0;    ///< Every task of the task list.
  unsigned succeeded_before = 0;
  std::vector<std::string> partitions;  ///< `GPU 0: created 2 x 3g.40gb` (or `would create`).
  RunSummary summary;
  double wall_s = 0;
  std::string journal;  ///< The results journal, if any.
  std::optional<Error> journal_error;  ///< The first failed journal write (the run went on).
  /// What went wrong after the tasks ran: --ephemeral removal, stopping the MPS daemon. Never dropped: the
  /// run fails with it.
  std::vector<std::string> cleanup_errors;
  std::string tracking;  ///< How task trees were tracked (DescribeTreeTracking).
  /// --reshape: every re-cut, in order.
  struct Reshape {
    unsigned waiting = 0;    ///< Tasks that fit no device when it was asked for.
    unsigned served = 0;     ///< Of those, how many the new layout has a device for.
    unsigned destroyed = 0;  ///< GPU instances.
    unsigned created = 0;
    double seconds = 0;      ///< The whole change: lock, driver calls, checks.
    std::vector<std::string> changes;  ///< `GPU 0: 4 x 1g.10gb -> 3g.40gb`.
  };
  std::vector<Reshape> reshapes;
  /// Every task ran and succeeded, nothing failed after.
  bool ok() const {
    return summary.failed == 0 && summary.not_run == 0 && !journal_error && cleanup_errors.empty();
  }
};

/// The tasks a run runs.
struct TaskPlan {
  std::vector<Task> tasks;        ///< In order; those a resume records as succeeded left out.
  unsigned total_tasks = 0;       ///< Every task of the task list.
  unsigned succeeded_before = 0;  ///< Left out by the resume.
};

/// The tasks of `request` (its task_list, or its task source), less what the journal to resume records as
/// succeeded (said through OnNote). What Run does first; `run --slurm` builds its array with it, so its task
/// ids and commands are a local run's. kInvalidInput for a bad task list (with a hint when migctl's options
/// came after --) or a journal of another task list; ReadResults's errors.
Result<TaskPlan> PlanTasks(const RunRequest& request, RunEvents& events);

/// Runs `request`. Errors, with nothing started and no GPU changed (except by create, which --ephemeral
/// then takes back): kInvalidInput for bad tasks, options or journals; kInfeasible for workers that cannot
/// exist or tasks no worker can hold; the conductor's errors for create; kIo when the pool cannot go on
/// (after every task has been stopped). A task that fails is in the summary, not an error.
Result<RunOutcome> Run(const RunRequest& request, RunEvents& events);

}  // namespace migctl
