// Apply's write-ahead record: before a GPU is changed, its exact state is saved in the run directory; the
// record is removed once the GPU reached its goal or was put back. A record left behind means a migctl was
// killed half-way: the next apply finds it, rolls back to it if it fails again, and the user can restore it
// (`migctl restore FILE`: a journal entry is a checkpoint).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "reconcile/checkpoint.h"

namespace migctl {

struct JournalEntry {
  std::string path;
  GpuCheckpoint before;
  int pid = 0;          ///< The migctl that wrote it.
  std::string command;  ///< What it was doing: `apply -c custom-config`.
};

/// One directory of entries, one file per GPU (`gpu-<uuid>.json`). Not thread-safe; callers hold the host
/// lock.
class Journal {
 public:
  explicit Journal(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  /// Records `before` for its GPU unless an entry for that GPU already exists (an interrupted run's: that one
  /// is the state to go back to). Returns the entry in force. Written durably (fsync, rename). kIo on
  /// failure.
  Result<JournalEntry> Begin(const GpuCheckpoint& before, const std::string& command);
  /// The entry for `uuid`, if any. kCorrupt for an unreadable one.
  Result<std::optional<JournalEntry>> Find(const GpuUuid& uuid) const;
  /// Every entry (interrupted runs). kCorrupt for an unreadable one.
  Result<std::vector<JournalEntry>> Entries() const;
  /// Removes the entry for `uuid` (no error when there is none).
  Status End(const GpuUuid& uuid);

 private:
  std::string PathFor(const GpuUuid& uuid) const;
  std::string dir_;
};

}  // namespace migctl
