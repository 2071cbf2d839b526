// Small file-system primitives shared by every part that persists something: atomic replacement, bounded
// whole-file reads, safe append-opening and flock-based locks.
//
// migctl runs as root on shared hosts, often in directories other users can write. Every primitive here is
// safe against files planted there: none follows a symbolic link at the final component, none changes the
// mode of, truncates or writes a file that migctl did not create (or, for append, one the effective user
// does not solely own), and every mode is explicit and independent of the umask.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <utility>

#include "common/result.h"

namespace migctl {

/// Default cap of ReadFile: larger than any file migctl reads, small enough to fail in one line.
inline constexpr std::size_t kDefaultReadLimit = std::size_t{64} << 20;

/// Replaces `path` with a new regular file holding `text` and exactly `mode` (the umask does not apply), so
/// readers see the old or the new content, never a mix. Pass 0644 for what the user asked for (configs,
/// units, outputs) and 0600 for private state (journals, records).
///
/// The new file is written unnamed (O_TMPFILE) in the target's directory and linked under a random hidden
/// name just before the rename, so nothing predictable is ever opened and a crash leaves no temporary file
/// behind (where the file system lacks O_TMPFILE, a random name created with O_EXCL|O_NOFOLLOW is used and
/// removed on failure). An existing `path` is replaced as a directory entry, never written through: a
/// symbolic link there is refused, not followed. With `durable`, the file and the directory are fsync'ed
/// (journals). kInvalidInput when `path` is a directory or not a regular file; kNotFound when its directory
/// does not exist; kIo otherwise. The messages name the path.
Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode,
                           bool durable = false);

/// The whole content of `path` (symbolic links followed: reading cannot be turned against the reader), at
/// most `max_bytes`. kNotFound when it does not exist; kInvalidInput when it is a directory or longer than
/// `max_bytes` (/dev/zero is an error, not an endless read); kIo otherwise.
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes = kDefaultReadLimit);

/// Opens `path` for appending (`access` is O_WRONLY or O_RDWR) and returns a descriptor the caller owns
/// (O_APPEND, O_CLOEXEC). A missing file is created with exactly `mode`. An existing one is used only when
/// it is a regular file, not a symbolic link, owned by the effective user and with a single hard link;
/// anything else (a planted link, a FIFO, a device, a directory, another user's file) is refused with
/// kInvalidInput naming the path. kNotFound when the directory does not exist; kIo otherwise. For results
/// and logs.
Result<int> OpenForAppend(const std::string& path, int access, mode_t mode);

/// Creates `path` and its parents (mode 0755) when missing. kIo on failure.
Status MakeDirectories(const std::string& path);

/// Holds a flock on a file for its lifetime (released on destruction, or when the process dies).
///
/// The lock file is opened without following a symbolic link and created 0600 (less under a stricter
/// umask; never chmod'ed, never written): a lock in a shared directory cannot be turned into a write.
class FileLock {
 public:
  /// Blocks until `operation` (LOCK_SH or LOCK_EX) is granted on `path` (created if missing). kInvalidInput
  /// when `path` is a symbolic link or not a regular file; kIo on other failures.
  static Result<FileLock> Acquire(const std::string& path, int operation);
  /// Like Acquire without blocking: kBusy when another process holds a conflicting lock.
  static Result<FileLock> TryAcquire(const std::string& path, int operation);

  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

  int fd() const { return fd_; }
  /// Hands the locked descriptor to the caller, who closes it to let go of the lock.
  int Release() { return std::exchange(fd_, -1); }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace migctl
