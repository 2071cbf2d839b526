// What `run --create --ephemeral` owns, kept on disk while the run lives. A run that ends removes its
// instances and then its record; one that is killed (SIGKILL, the OOM killer) leaves both, and the next
// `run --ephemeral` of the same user removes those instances that are still there unchanged and idle
// (launch/run.cc). One record a run, in the user's private lease directory (launch/lease.h):
// `ephemeral-PID-START.json`, START being the process's start time, so that a reused pid is another run.
// Readers and writers of the records hold `ephemeral.lock` there (EphemeralLock), so that one run's sweep
// never reads a record another is rewriting.
#pragma once

#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/result.h"
#include "common/task_tree.h"

namespace migctl {

/// A GPU instance a run created, as --ephemeral must find it to remove it: the same GPU, GI id, profile
/// and placement start.
struct EphemeralGi {
  std::string gpu_uuid;
  unsigned gi = 0;
  unsigned profile = 0;
  unsigned start = 0;
  bool operator==(const EphemeralGi&) const = default;
};

struct EphemeralRecord {
  ProcStamp owner;
  std::vector<EphemeralGi> gis;
};

/// The lock every reader and writer of the records in `dir` holds (blocking). Errors as FileLock::Acquire.
Result<FileLock> EphemeralLock(const std::string& dir);

/// Writes `record` into `dir` (private, as LeaseTable::Prepare leaves it) atomically, 0600; with no GI,
/// removes its file instead. kIo when that fails.
Status WriteEphemeralRecord(const std::string& dir, const EphemeralRecord& record);

/// The records in `dir` whose owner no longer runs (StillRuns). Files that cannot be read or parsed, and
/// links, are skipped and left. Empty when `dir` does not exist.
std::vector<EphemeralRecord> OrphanedEphemeralRecords(const std::string& dir);

}  // namespace migctl
