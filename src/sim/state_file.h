// The state file: where a simulated machine lives between processes. Many processes may share one; every
// access holds a flock on the sidecar `<path>.lock` (shared to read, exclusive to change), and writes are
// atomic (a temporary file renamed over the state), so a reader never sees a half-written machine.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "common/result.h"
#include "sim/machine_state.h"

namespace migctl::sim {

/// One process's view of a state file. Not thread-safe: callers serialize access (libmigsim holds a mutex).
/// Safe across fork(): the lock file is opened anew for every access, so a child never shares its parent's
/// lock.
class StateFile {
 public:
  explicit StateFile(std::string path);

  const std::string& path() const { return path_; }

  /// The current machine, read under a shared lock. The file is parsed again only when its inode, size, mtime
  /// or ctime changed since the last read. Errors: kNotFound (no file), kInvalidInput (a directory, a device
  /// or a file too large to be a state), kIo, kCorrupt (anything ParseMachineState refuses). The lock file is
  /// created only once `path` is known to be a regular file, so a bad path changes nothing. The pointer
  /// stays valid until the next call on this object.
  Result<const MachineState*> Read();

  /// Read-modify-write under the exclusive lock: loads the freshest state, runs `change` on it, and writes
  /// the result atomically when `change` returns true (false leaves the file untouched). Errors as Read(),
  /// plus kIo.
  Status Update(const std::function<bool(MachineState&)>& change);

  /// Writes a new machine to `path` under the exclusive lock. kInvalidInput when the file exists and !force.
  static Status Create(const std::string& path, const MachineState& state, bool force);

 private:
  struct FileStamp {
    dev_t dev;
    ino_t ino;
    mode_t mode;
    off_t size;
    long mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
    bool operator==(const FileStamp&) const = default;
  };

  /// Identity and change times of the file; kNotFound when it does not exist.
  Result<FileStamp> Stamp() const;
  /// kNotFound when `path` does not exist, kInvalidInput when it is not a regular file.
  Status CheckIsFile() const;
  /// Loads the file into cache_ unless the stamp says it is already there. Caller holds the lock.
  Status Refresh();

  std::string path_;
  std::optional<FileStamp> stamp_;
  MachineState cache_;
};

}  // namespace migctl::sim
