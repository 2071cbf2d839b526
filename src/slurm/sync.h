// `migctl slurm sync` as a library call: after a layout change, make Slurm's configuration of one node true
// again (its GPU lines in gres.conf, its Gres= in slurm.conf), have Slurm take it, and let jobs in again.
//
// Deciding is separate from doing. ReadSyncFiles reads; PlanFileEdits and PlanSync are pure and return a
// plan that can be printed (--dry-run); CheckBeforeChanging refuses what would fail half-way (a missing
// device file, a file or program others could change); ExecuteSync carries the plan out. Every refusal comes
// before the node is drained.
//
// What Slurm 22.05 needs (measured on Debian's 22.05.8; docs/guide.md, "Keep Slurm in step"): the same GPU counts per type
// (other device files, UUIDs) are taken by `scontrol reconfigure`, which makes slurmd read gres.conf again;
// new counts or types only by restarting slurmctld, then the node's slurmd (reconfigure leaves slurmctld
// with the old counts). A node with jobs is never changed: it is drained first, so no new job starts, and
// sync refuses, or with `wait` waits until its jobs have ended. A node someone else drained stays drained.
//
// Thread-safety: none.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"
#include "slurm/gres.h"
#include "slurm/slurm_client.h"
#include "slurm/slurm_conf.h"

namespace migctl::slurm {

/// The Reason= sync drains a node with; a node drained with it is sync's to resume.
inline constexpr const char* kDrainReason = "migctl slurm sync";

struct SyncRequest {
  std::string node;                 ///< Slurm's NodeName of this host.
  std::vector<GresDevice> devices;  ///< The live layout with device files (DescribeGres with mig-minors).
  std::string slurm_conf;           ///< Its path; gres.conf is the one beside it.
  std::string map_file;             ///< Where to write the index -> UUID map too; "" for none.
  bool wait = false;                ///< Wait for the node's jobs instead of refusing.
  std::chrono::milliseconds wait_timeout{0};  ///< How long `wait` waits; 0: no limit.
  /// How long slurmctld may take to answer again and the node to register its new GRES.
  std::chrono::milliseconds register_timeout{60000};
  std::chrono::milliseconds command_timeout{120000};  ///< How long each restart command may run.
  std::string restart_ctld;  ///< Command line that restarts slurmctld; "" when the caller gave none.
  std::string restart_slurmd =
      "systemctl restart slurmd";  ///< Command line that restarts this node's slurmd.
  /// As root: files written and programs run must be changeable by root alone (common/trusted_path.h).
  bool only_root_files = false;
};

/// A file as read.
struct ConfFile {
  std::string path;
  std::optional<std::string> text;  ///< nullopt: it does not exist.
  mode_t mode = 0644;               ///< Its permission bits, kept when it is rewritten.
};

struct SyncFiles {
  ConfFile slurm_conf;
  ConfFile gres_conf;
  ConfFile map;  ///< Only with SyncRequest::map_file.
};

/// Reads slurm.conf (kNotFound naming it, and --slurm-conf, when it cannot be read), the gres.conf beside it
/// and the map file (both may be missing).
Result<SyncFiles> ReadSyncFiles(const SyncRequest& request);

/// One file to replace.
struct FileWrite {
  std::string path;
  std::string text;
  std::optional<std::string> old_text;  ///< What it held (nullopt: it did not exist), to put back on failure.
  mode_t mode = 0644;
  std::string what;  ///< `gres.conf: n1's 3 GPU lines -> 5`.
};

/// What the live layout asks of the files.
struct FileEdits {
  GresChange change = GresChange::kInSync;
  std::string gres_before;        ///< The node's Gres= in slurm.conf.
  std::string gres_after;         ///< The GPUs it should have (NodeGresValue).
  std::vector<FileWrite> writes;  ///< gres.conf, slurm.conf, map: each only when its text changes.
};

/// Pure. Errors: FindNodeLine's, SetNodeGres's and ReplaceNodeGresLines's refusals (kInvalidInput).
Result<FileEdits> PlanFileEdits(const SyncRequest& request, const SyncFiles& files);

/// What Slurm is asked to do so that it takes the files.
enum class SlurmAction {
  kNone,         ///< Nothing (in sync, or only the map changes).
  kReconfigure,  ///< `scontrol reconfigure`.
  kRestart,      ///< Restart slurmctld, then the node's slurmd.
};
const char* SlurmActionName(SlurmAction action);  ///< `none`, `reconfigure`, `restart`.

enum class StepKind {
  kDrain,
  kWaitForJobs,
  kWriteFile,
  kReconfigure,
  kRestartSlurmctld,
  kRestartSlurmd,
  kWaitForRegistration,
  kResume,
};
const char* StepName(StepKind kind);  ///< `drain`, `wait_for_jobs`, `write_file`, ...

struct SyncStep {
  StepKind kind;
  std::string what;               ///< One line for people.
  std::vector<std::string> argv;  ///< kRestart*: the command.
  size_t write = 0;               ///< kWriteFile: its index in SyncPlan::edits.writes.
};

struct SyncPlan {
  std::string node;
  FileEdits edits;
  SlurmAction action = SlurmAction::kNone;
  NodeInfo node_before;            ///< The node as slurmctld reported it before anything changed.
  std::string gres_controller;     ///< slurmctld's Gres= of the node then.
  bool drained_by_others = false;  ///< Drained before sync, not by sync: it stays drained.
  bool finishes_earlier = false;   ///< Drained by a sync that did not finish: this one finishes and resumes.
  std::vector<std::string> jobs;   ///< Jobs running there when planned.
  std::vector<SyncStep> steps;     ///< In order; none when Slurm is in step with the layout.

  bool InSync() const { return steps.empty(); }
};

/// Pure: decides the steps from the file edits and the node as slurmctld reports it. Errors (nothing has
/// changed): kInvalidInput when the counts change and no restart_ctld was given, or a restart command does
/// not split into words; kBusy when jobs run on the node and `wait` is not set.
Result<SyncPlan> PlanSync(const SyncRequest& request, FileEdits edits, const NodeInfo& node,
                          const std::vector<std::string>& jobs);

/// Refuses, before anything changes, what would fail half-way: a device file a new gres.conf line names that
/// is missing (kNotFound: slurmd stops on it) or not a character device (kInvalidInput); a file to write that
/// is a symbolic link; as root (only_root_files), a file to write or a restart program (as PATH finds it, its
/// `#!` interpreter, a file it is given) that others than root could change; a restart program not found.
Status CheckBeforeChanging(const SyncRequest& request, const SyncPlan& plan);

/// Progress for people while sync runs (waiting for jobs, restarts).
class SyncNotes {
 public:
  virtual ~SyncNotes() = default;
  virtual void Note(const std::string& text) = 0;
};

/// What is needed to act.
struct SyncEnv {
  SlurmClient& slurm;
  ProcessHost& host;  ///< Runs the restart commands; its clock times and paces every wait.
  SyncNotes& notes;
  ProcessHost::Clock::time_point started;  ///< When the call began, on `host`'s clock.
  /// This host's wall clock, to tell a slurmd that started after its restart from the one before.
  std::function<std::time_t()> wall_clock = [] { return std::time(nullptr); };
};

struct DoneStep {
  StepKind kind;
  std::string what;
  double seconds = 0;
};

struct SyncReport {
  SyncPlan plan;
  bool dry_run = false;
  std::vector<DoneStep> done;
  std::vector<std::string> waited_for;  ///< Jobs it waited for.
  bool resumed = false;                 ///< It resumed the node.
  /// From `started` until slurmctld would start jobs on the node again (resumed, registered, responding).
  std::optional<double> seconds_to_jobs;
  double seconds = 0;  ///< From `started` to the end.
};

/// Carries the plan out, step by step. A failure before Slurm was asked to act (draining, waiting, writing)
/// puts the files back and resumes the node if this call drained it: nothing changed, as the message says.
/// Later (a restart that fails, a node that does not register in time), the node stays drained with the new
/// files, and the message says so: running sync again finishes the job. kBusy for jobs (no `wait`, or past
/// wait_timeout); kIo for Slurm's commands and the restart commands.
Result<SyncReport> ExecuteSync(const SyncRequest& request, const SyncPlan& plan, SyncEnv& env);

/// The whole of `migctl slurm sync`: reads, plans, checks, and executes unless `dry_run`.
Result<SyncReport> Sync(const SyncRequest& request, bool dry_run, SyncEnv& env);

}  // namespace migctl::slurm
