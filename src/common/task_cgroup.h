// Cgroups for a run's tasks: one directory per worker, which holds the worker's current task (its keeper
// and every process the task starts: a cgroup cannot be left by forking, setsid or double-forking). Used with
// the keeper (common/child_process.h, KeeperOptions): the keeper moves itself in before it starts the task,
// and ends the tree by the cgroup's members (cgroup v2's cgroup.kill where there is one).
//
// Where: under migctl's own cgroup, in `migctl-run-PID` with `worker-N` below it: on a cgroup v2 host in its
// v2 tree (/sys/fs/cgroup, or the hybrid `unified` tree beside v1 controllers), else in the v1 `pids`
// hierarchy. No controller is enabled or limited: the cgroup only groups. Where none can be made (no
// permission, a read-only /sys/fs/cgroup, no cgroup mounted) tracking falls back to the keeper alone
// (PR_SET_CHILD_SUBREAPER): still every descendant, but a process that escapes the keeper's tree
// (a daemon asked to start something, e.g. through systemd or D-Bus) is not seen by either.
//
// Thread-safety: none.
#pragma once

#include <string>
#include <vector>

namespace migctl {

enum class TreeTracking { kCgroupV2, kCgroupV1, kSubreaper };

/// How this host will track task trees, in words for --help and notes: `cgroup v2 (/sys/fs/cgroup/unified)`,
/// `cgroup v1 (pids hierarchy)`, or `process tree only (no usable cgroup: REASON)`.
std::string DescribeTreeTracking(TreeTracking kind, const std::string& detail);

class TaskCgroups {
 public:
  /// Makes `count` worker cgroups for this run (removing empty ones left by runs that were killed). Never
  /// fails: without a usable cgroup the result has kind() kSubreaper, empty Dir()s and why() says why.
  static TaskCgroups Create(unsigned count);

  TaskCgroups(TaskCgroups&& other) noexcept;
  TaskCgroups& operator=(TaskCgroups&&) = delete;
  TaskCgroups(const TaskCgroups&) = delete;
  TaskCgroups& operator=(const TaskCgroups&) = delete;
  /// Removes the directories (empty ones; a cgroup that still holds a process stays, and says so nowhere:
  /// its keeper ends it).
  ~TaskCgroups();

  TreeTracking kind() const { return kind_; }
  /// The cgroup directory of worker `index`; empty without cgroups.
  std::string Dir(unsigned index) const;
  /// The cgroup tree used, or why none is.
  const std::string& why() const { return why_; }
  std::string Describe() const { return DescribeTreeTracking(kind_, why_); }

 private:
  TaskCgroups() = default;
  void Remove();
  TreeTracking kind_ = TreeTracking::kSubreaper;
  std::string why_;
  std::string run_dir_;
  std::vector<std::string> dirs_;
};

/// Probes without creating anything lasting: the mechanism Create would use here (for --help).
TreeTracking ProbeTreeTracking(std::string* detail);

}  // namespace migctl
