#include "common/file_io.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace migctl {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                   what + " " + path + ": " + std::strerror(errno));
}

Result<int> LockFd(const std::string& path, int operation) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return IoError("cannot open lock file", path);
  while (::flock(fd, operation) != 0) {
    if (errno == EINTR) continue;
    const bool busy = errno == EWOULDBLOCK;
    Error error = IoError("cannot lock", path);
    ::close(fd);
    if (busy) error.code = ErrorCode::kBusy;
    return error;
  }
  return fd;
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& text, bool durable) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return IoError("cannot create", tmp);
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error error = IoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return error;
    }
    written += static_cast<size_t>(n);
  }
  if (durable && ::fsync(fd) != 0) {
    Error error = IoError("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return error;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = IoError("cannot replace", path);
    ::unlink(tmp.c_str());
    return error;
  }
  return Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", path);
  std::string text;
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error error = IoError("cannot read", path);
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

Status MakeDirectories(const std::string& path) {
  for (std::size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return IoError("cannot create directory", prefix);
  }
  return Ok();
}

Result<FileLock> FileLock::Acquire(const std::string& path, int operation) {
  MIGCTL_ASSIGN_OR_RETURN(int fd, LockFd(path, operation));
  return FileLock(fd);
}

Result<FileLock> FileLock::TryAcquire(const std::string& path, int operation) {
  MIGCTL_ASSIGN_OR_RETURN(int fd, LockFd(path, operation | LOCK_NB));
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // Closing the last descriptor releases the flock.
}

}  // namespace migctl
