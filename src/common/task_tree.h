// A task's process tree, as the OS shows it: processes named by pid *and* start time (so a reused pid is
// never taken for the old process), the descendants of a process, and the record a task keeper writes into
// its lease file so that a later migctl can tell whether the tree still lives without trusting any
// descriptor (common/child_process.h, KeeperOptions; launch/lease.h).
//
// Record format, one item a line (the keeper rewrites it in place, padding with blank lines; readers skip
// those and treat a torn or empty record as none):
//   migctl-tree 1
//   keeper PID START       the keeper (holds the lease while it lives)
//   process PID START      a process of the task (the first, then whatever outlived it)
//   cgroup PATH            the cgroup directory the tree was put in, if any
// START is field 22 of /proc/PID/stat (clock ticks since boot).
//
// The functions marked "async-signal-safe" allocate nothing and call only system calls: the keeper, a
// fork of migctl that does not exec, uses them.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace migctl {

/// A process as of its start: (pid, start time) names one process for the life of the system.
struct ProcStamp {
  pid_t pid = 0;
  unsigned long long start = 0;
  bool operator==(const ProcStamp&) const = default;
};

/// The start time of `pid`, or 0 when it does not exist or has exited (zombies count as exited).
/// Async-signal-safe.
unsigned long long ProcessStartTime(pid_t pid);
/// Whether the process `stamp` names still runs (same pid, same start time, not a zombie).
bool StillRuns(const ProcStamp& stamp);

/// The live descendants of `root` (children, their children, ...; zombies left out), at most `capacity`
/// written to `out`; returns how many were found (may exceed `capacity`: then the first `capacity`).
/// Async-signal-safe; takes a /proc snapshot, so a process forked during the scan may be missed.
size_t Descendants(pid_t root, pid_t* out, size_t capacity);

/// The live processes listed in `dir`/cgroup.procs, at most `capacity`; returns how many there were.
/// 0 when the directory does not exist. Async-signal-safe.
size_t CgroupMembers(const char* dir, pid_t* out, size_t capacity);

/// Writes the decimal digits of `v` at `buf + at`; returns the new end (at most 20 digits). Async-signal-safe.
size_t AppendDecimal(char* buf, size_t at, unsigned long long v);

/// The record (format above) for `keeper` (may be null), `n` processes and `cgroup` (may be empty), written
/// into `buf`; returns its length. Items that would not fit in `cap` are left out. Async-signal-safe.
size_t FormatTreeRecord(char* buf, size_t cap, const ProcStamp* keeper, const ProcStamp* processes, size_t n,
                        const char* cgroup);

struct TreeRecord {
  std::optional<ProcStamp> keeper;
  std::vector<ProcStamp> processes;
  std::string cgroup;
  bool operator==(const TreeRecord&) const = default;
};

/// The record as text (format above).
std::string FormatTreeRecord(const TreeRecord& record);
/// Parses a record; nullopt for anything that is not one (an empty file, an older pid-only hint, a torn
/// write), which readers treat as "no record".
std::optional<TreeRecord> ParseTreeRecord(const std::string& text);

/// A live process of the tree a record names: the keeper, a listed process, or a member of its cgroup, in
/// that order; nullopt when none lives (the record is stale).
std::optional<pid_t> LiveProcessOf(const TreeRecord& record);

}  // namespace migctl
