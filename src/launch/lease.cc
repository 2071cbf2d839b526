#include "launch/lease.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl {

Lease::Lease(Lease&& other) noexcept : fd_(other.fd_), key_(std::move(other.key_)) { other.fd_ = -1; }

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    key_ = std::move(other.key_);
    other.fd_ = -1;
  }
  return *this;
}

Lease::~Lease() { Release(); }

void Lease::SetHolder(pid_t pid) const {
  if (fd_ < 0) return;
  const std::string text = fmt::format("{}\n", pid);
  // Best effort: the file may be read-only for us (made by another user); the flock is what counts.
  if (::pwrite(fd_, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) [[maybe_unused]]
    int rc = ::ftruncate(fd_, static_cast<off_t>(text.size()));
}

void Lease::Release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string LeaseTable::PathOf(const std::string& key) const {
  std::string name = key;
  for (char& c : name)
    if (c == '/' || c == '\0') c = '.';
  return dir_ + "/" + name + ".lock";
}

Result<std::optional<Lease>> LeaseTable::TryAcquire(const std::string& key) {
  if (!dir_ready_) {
    struct stat st {};
    const bool existed = ::stat(dir_.c_str(), &st) == 0;
    MIGCTL_RETURN_IF_ERROR(MakeDirectories(dir_));
    if (!existed) ::chmod(dir_.c_str(), 01777);
    dir_ready_ = true;
  }
  const std::string path = PathOf(key);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0) {
    ::fchmod(fd,
             0666);  // past the umask, so other users' runs can lock it too (fails harmlessly if not ours)
  } else if (errno == EACCES) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // another user's file: a read-only descriptor locks too
  }
  if (fd < 0)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot open the lease file {}: {} (set MIGCTL_LEASE_DIR to a "
                                 "directory every user of the GPUs can write)",
                                 path, strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return std::optional<Lease>();
    return MakeError(ErrorCode::kIo, fmt::format("cannot lock {}: {}", path, strerror(error)));
  }
  return std::optional<Lease>(Lease(fd, key));
}

std::optional<pid_t> LeaseTable::Holder(const std::string& key) const {
  Result<std::string> text = ReadFile(PathOf(key));
  if (!text.ok()) return std::nullopt;
  char* end = nullptr;
  const long pid = std::strtol(text->c_str(), &end, 10);
  if (end == text->c_str() || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::string DefaultLeaseDir(bool simulated, const std::string& run_dir) {
  const char* env = std::getenv("MIGCTL_LEASE_DIR");
  if (env != nullptr && *env != '\0') return env;
  if (simulated) return run_dir + "/leases";
  return "/tmp/migctl-leases";
}

}  // namespace migctl
