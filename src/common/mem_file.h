// An anonymous in-memory file (memfd): a child's stdin, stdout or stderr that is read after the child exits,
// without the deadlock a full pipe could cause while the parent waits.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"

namespace migctl {

class MemFile {
 public:
  /// kIo when the kernel refuses one. `name` shows in /proc/PID/fd only.
  static Result<MemFile> Create(const char* name);
  MemFile(MemFile&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  MemFile& operator=(MemFile&&) = delete;
  ~MemFile();

  /// Close-on-exec; hand it to a child as a standard stream (ChildOptions::stdout_fd, ...).
  int fd() const { return fd_; }
  /// Writes `text` at the start (for a child's stdin); false when not all of it was written.
  bool Write(std::string_view text) const;
  /// Everything written so far, from the start.
  std::string Read() const;

 private:
  explicit MemFile(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace migctl
