// The write-ahead record of one GPU change: before a command changes a GPU, the GPU's exact state is saved in
// the run directory; the record is removed once the GPU reached its goal or was put back. A record found
// later means a migctl was killed half-way. The next command that changes that GPU keeps the record aside
// (`interrupted-PID-gpu-UUID.json`, a checkpoint the user can `migctl restore`) and rolls back, if it must,
// only to its own "before": never to a state some other command saw. A record that cannot be read blocks its
// own GPU only, with the fix in the message.
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

/// One directory of entries, one file per GPU (`gpu-<uuid>.json`); other files there are not entries. The
/// directory is the run directory the conductor made private. Not thread-safe; callers hold the host lock.
class Journal {
 public:
  explicit Journal(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }

  /// Records `before` for its GPU, replacing any entry (call Find and SetAside first). Written durably
  /// (fsync, rename), mode 0600. Errors as WriteFileAtomically: kNotFound when the directory is missing, kIo
  /// for other failures.
  Result<JournalEntry> Begin(const GpuCheckpoint& before, const std::string& command);
  /// The entry for `uuid`, if any. kCorrupt for an unreadable one: the message names the file and says how
  /// to clear it.
  Result<std::optional<JournalEntry>> Find(const GpuUuid& uuid, GpuIndex index) const;
  /// Moves an interrupted command's entry out of the way (to `interrupted-PID-gpu-UUID.json` beside it) and
  /// returns its new path, so that it stays a checkpoint the user can restore.
  Result<std::string> SetAside(const JournalEntry& entry);
  /// Removes the entry for `uuid` (no error when there is none).
  Status End(const GpuUuid& uuid);

 private:
  std::string PathFor(const GpuUuid& uuid) const;
  std::string dir_;
};

}  // namespace migctl
