// Small file-system primitives shared by every part that persists something: atomic replacement, whole-file
// reads and flock-based locks.
#pragma once

#include <string>
#include <utility>

#include "common/result.h"

namespace migctl {

/// Writes `text` to a temporary file beside `path` and renames it over `path`, so readers see the old or the
/// new content, never a mix. With `durable`, the data is fsync'ed before the rename (journals). kIo on
/// failure.
Status WriteFileAtomically(const std::string& path, const std::string& text, bool durable = false);

/// The whole content of `path`. kNotFound when it does not exist, kIo otherwise.
Result<std::string> ReadFile(const std::string& path);

/// Creates `path` and its parents (mode 0755) when missing. kIo on failure.
Status MakeDirectories(const std::string& path);

/// Holds a flock on a file for its lifetime (released on destruction, or when the process dies).
class FileLock {
 public:
  /// Blocks until `operation` (LOCK_SH or LOCK_EX) is granted on `path` (created if missing). kIo on failure.
  static Result<FileLock> Acquire(const std::string& path, int operation);
  /// Like Acquire without blocking: kBusy when another process holds a conflicting lock.
  static Result<FileLock> TryAcquire(const std::string& path, int operation);

  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

  int fd() const { return fd_; }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace migctl
