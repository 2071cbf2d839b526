// `migctl run --slurm`: a run's tasks submitted as one Slurm job array, one element per task (the array index
// is the task id), each asking for one MIG slice (`--gres=gpu:<type>:1`) and running `migctl exec --array
// SPOOL` (cli/array_element.h), which runs its task through launch::Run pinned to the slice Slurm allocated,
// under the same keeper, lease and supervision as a local run. The submitter follows the array from the
// spool (slurm/array_spool.h): each element's results arrive in the run's own results journal and as the same
// result lines as a local run, as tasks finish; an element that leaves the queue without a result is recorded
// with the reason, so nothing is lost silently; Ctrl-C cancels the array.
//
// Three steps, kept apart: the pure parts (ranges, GRES types, nodes, queue states, the sbatch command line),
// PlanArrayRun (reads the cluster, decides, submits nothing: what --dry-run prints) and RunArray (writes the
// spool, submits, follows). Slurm's client commands go through a SlurmCommand and time through a ProcessHost,
// so the follower runs against a scripted cluster on a virtual clock in tests.
#pragma once

#include <chrono>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"
#include "launch/run.h"
#include "launch/task_source.h"

namespace migctl::slurm {

/// Runs one Slurm client command (`argv[0]` is `sbatch`, `squeue`, ...) with the environment `env`, at most
/// `timeout`, and returns its stdout; an error's message carries its first stderr line. The real one is
/// slurm_client.h's RunSlurmCommand on the real process host.
using SlurmCommand = std::function<Result<std::string>(const std::vector<std::string>& argv,
                                                       const std::vector<std::string>& env,
                                                       std::chrono::milliseconds timeout)>;

// ---- Pure parts ----

/// Sorted, distinct ids as Slurm's --array ranges: {1,2,3,4,5,8,10,11,12} -> `1-5,8,10-12`.
std::string FormatIndexRanges(std::vector<unsigned> ids);

/// One node of a partition.
struct PartitionNode {
  std::string name;
  std::string state;                     ///< sinfo's compact state (`idle`, `mix`, `drain*`, ...).
  std::map<std::string, unsigned> gres;  ///< GPU type -> how many the node has.
  std::map<std::string, unsigned> used;  ///< GPU type -> how many are allocated now.
  std::string partition;                 ///< As sinfo prints it: the default partition ends with `*`.
  /// Whether Slurm gives it new jobs (not down, drained, draining, failing or not responding).
  bool Usable() const;
};

/// The sinfo command whose output ParseNodes reads (one line a node and partition:
/// `NAME|PARTITION|GRES|GRESUSED|STATE`; without `partition`, every partition's).
std::vector<std::string> SinfoNodesArgv(const std::string& partition);
/// Reads that output: the nodes of the default partition when it names one (`debug*`), else of every
/// partition listed, each node once. kInvalidInput naming the line for one without five fields.
Result<std::vector<PartitionNode>> ParseNodes(std::string_view text);

/// The device memory a MIG GRES type names, in GiB: `3g.40gb` -> 40, also at the end of an autodetected name
/// (`nvidia_h100_80gb_hbm3_3g.40gb`); nullopt for any other name.
std::optional<unsigned> TypeMemoryGib(std::string_view type);

/// The GRES type the elements ask for: `profile` when some usable node of the partition has that type; else
/// the type whose memory (TypeMemoryGib) is the smallest that holds `memory_mib` (ties: the smaller slice
/// count, then by name). kInvalidInput (one line naming the types there are) when neither is given, when no
/// node has `profile`, or when no type holds `memory_mib`; `profile` and `memory_mib` together must agree.
Result<std::string> ChooseGresType(const std::vector<PartitionNode>& nodes,
                                   const std::optional<std::string>& profile,
                                   std::optional<unsigned long long> memory_mib,
                                   const std::string& partition);

/// Where the elements may run.
struct NodeChoice {
  std::vector<std::string> use;      ///< Usable nodes with the type, in the order chosen.
  std::vector<std::string> exclude;  ///< Every other node of the partition (sbatch --exclude).
  unsigned slices = 0;               ///< Slices of the type on `use`: how many elements run at once at most.
};

/// Every usable node that has `type`; with `count`, the `count` of them with the most free slices of it (then
/// the most slices, then by name). kInvalidInput when `count` is 0 or more than there are such nodes.
Result<NodeChoice> ChooseNodes(const std::vector<PartitionNode>& nodes, const std::string& type,
                               std::optional<unsigned> count);

/// MaxArraySize from `scontrol show config` (`MaxArraySize = 1001`). kInvalidInput when it is not there.
Result<unsigned> ParseMaxArraySize(std::string_view config);

/// Where an element of the array is.
enum class ElementPhase { kPending, kRunning, kEnded };
/// Slurm's job state (`PENDING`, `RUNNING`, `COMPLETING`, `CANCELLED`, ...) as a phase; unknown ones count
/// as running (the element is in the queue and not waiting for resources).
ElementPhase PhaseOf(std::string_view state);

/// The squeue command whose output ParseQueue reads: one line an element, `INDEX STATE`.
std::vector<std::string> SqueueArgv(const std::string& job_id);
/// Reads it: array index -> Slurm state (PhaseOf says what it means). A line that is not `INDEX STATE` (the
/// whole job's line before Slurm split it, `N/A`) is skipped.
std::map<unsigned, std::string> ParseQueue(std::string_view text);
/// Whether a failed squeue only says the job has left the queue (`Invalid job id specified`).
bool JobHasLeftQueue(const Error& squeue_error);

/// What sbatch is given.
struct ArrayJob {
  std::vector<unsigned> ids;  ///< The array indexes: the task ids.
  std::string gres_type;
  std::string spool;   ///< Absolute.
  std::string migctl;  ///< The absolute path of the migctl the elements run.
  std::string workdir;
  std::string partition;   ///< Empty: the default.
  std::string time_limit;  ///< --time; empty: the partition's default.
  std::vector<std::string> exclude;
};
/// `sbatch --parsable --array=RANGES --gres=gpu:TYPE:1 --job-name=migctl-run --output=SPOOL/slurm/%a.out
/// --open-mode=append --chdir=WORKDIR [--partition=P] [--time=T] [--exclude=N,...] --wrap "exec MIGCTL exec
/// --array SPOOL"`, the paths quoted for the shell sbatch wraps them in.
std::vector<std::string> SbatchArgv(const ArrayJob& job);
/// The job id in `sbatch --parsable` output (`123` or `123;cluster`). kIo when there is none.
Result<std::string> ParseJobId(std::string_view sbatch_output);

// ---- Deciding ----

struct ArrayRunRequest {
  TaskSourceOptions tasks;
  std::istream* task_input = nullptr;  ///< What `--tasks -` reads.
  std::string resume;   ///< As RunRequest::resume: run only what it does not record as succeeded.
  std::string results;  ///< As RunRequest::results.
  std::optional<std::string> profile;            ///< --profile: the GRES type.
  std::optional<unsigned long long> memory_mib;  ///< --memory: the smallest type that holds it.
  std::optional<unsigned> nodes;                 ///< --nodes N.
  std::string partition;
  std::string time_limit;
  std::string spool;    ///< Empty: WORKDIR/migctl-slurm-DATE-TIME-PID.
  std::string migctl;   ///< Absolute path of this migctl (what the elements exec).
  std::string workdir;  ///< Absolute: the submitter's working directory.
  unsigned retries = 0;
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds grace{10000};
  std::string logs_dir;  ///< Empty: SPOOL/logs.
  bool fail_fast = false;
  /// sbatch's environment, which Slurm gives every element and so every task: migctl's own, as the tasks of
  /// a local run get it. Queries run with SlurmCommandEnvironment.
  std::vector<std::string> env;
  SlurmCommand slurm;
  std::chrono::milliseconds poll_every{500};
};

/// What PlanArrayRun decided; printed as is by --dry-run.
struct ArrayPlan {
  std::vector<Task> tasks;  ///< Those the array runs (a resume's successes left out).
  unsigned total_tasks = 0;
  unsigned succeeded_before = 0;
  std::string journal;  ///< The results journal (resume or results), if any.
  std::string gres_type;
  unsigned long long type_memory_mib = 0;
  NodeChoice nodes;
  std::string spool;  ///< Absolute; not created yet.
  ArrayJob job;
};

/// Decides everything before a submission: the tasks (the same task source as a local run, so ids and
/// commands match one, and a local run's journal resumes here), what a resume leaves, the GRES type, the
/// nodes, the spool's path and the sbatch command. Reads the cluster (sinfo, scontrol show config), creates
/// and submits nothing. Errors, one line with what to do: kInvalidInput for bad tasks or options, a type no
/// node has, a memory no type holds, a task whose needs the type does not meet, more nodes than have the
/// type, task ids past the cluster's MaxArraySize; no tasks left after a resume is not an error (no job);
/// kUnsupported when Slurm's commands fail (no cluster reachable).
Result<ArrayPlan> PlanArrayRun(const ArrayRunRequest& request, RunEvents& events);

// ---- Doing ----

/// How the array stands.
struct ArrayProgress {
  unsigned pending = 0;  ///< Elements waiting for a slice.
  unsigned running = 0;
  unsigned done = 0;  ///< Tasks with a final result.
  unsigned total = 0;
};

class ArrayRunEvents : public RunEvents {
 public:
  /// The array is in Slurm's queue as job `job_id`.
  virtual void OnSubmitted(const std::string& job_id, const ArrayPlan& plan) = 0;
  /// After every look at the queue.
  virtual void OnProgress(const ArrayProgress& progress) = 0;
};

/// Runs `plan`: creates the spool (private) and writes the spec, submits the array, then every poll_every
/// reads the queue and the elements' new results: each result is appended to the journal and passed to
/// OnResult (the same lines as a local run, as tasks finish). An element that has left the queue for 3 s
/// without a final result gets one of its own (not-started, the reason: its Slurm state is gone, and the last
/// line of DIR/slurm/N.out), journalled like the others. SIGINT, SIGTERM or SIGHUP (or --fail-fast after a
/// task failed) cancel the array (scancel), wait until it has left the queue (at most grace + 60 s) and
/// collect what arrived; tasks that never ran are not_run, and summary.signal is set for a signal. Errors
/// (nothing submitted): the spool or the journal cannot be made, sbatch refuses (its line). After a
/// submission, failures are notes and the run goes on. `outcome.workers` stands for the slices the array may
/// use at once (NodeChoice::slices).
Result<RunOutcome> RunArray(const ArrayRunRequest& request, const ArrayPlan& plan, ArrayRunEvents& events,
                            ProcessHost& host = RealProcessHost());

}  // namespace migctl::slurm
