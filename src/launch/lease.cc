#include "launch/lease.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/private_dir.h"
#include "common/task_tree.h"

namespace migctl {
namespace {

constexpr size_t kMaxRecord = 64 * 1024;

std::optional<TreeRecord> ReadRecord(int fd, off_t size) {
  if (size <= 0) return std::nullopt;
  std::string text(std::min<size_t>(static_cast<size_t>(size), kMaxRecord), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  if (n <= 0) return std::nullopt;
  text.resize(static_cast<size_t>(n));
  return ParseTreeRecord(text);
}

}  // namespace

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

Status LeaseTable::Prepare() {
  if (dir_ready_) return Ok();
  MIGCTL_ASSIGN_OR_RETURN(dir_, EnsurePrivateDir(dir_, "set MIGCTL_LEASE_DIR to a directory of yours"));
  dir_ready_ = true;
  return Ok();
}

Result<std::optional<Lease>> LeaseTable::TryAcquire(const std::string& key) {
  MIGCTL_RETURN_IF_ERROR(Prepare());
  const std::string path = PathOf(key);
  Result<FileLock> lock = FileLock::TryAcquire(path, LOCK_EX);
  if (!lock.ok() && lock.error().code == ErrorCode::kBusy) return std::optional<Lease>();
  if (!lock.ok()) return lock.error();
  // The keeper writes the tree's record into it: it must be ours alone.
  struct stat st {};
  if (::fstat(lock->fd(), &st) != 0 || st.st_uid != ::geteuid())
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("lease file {} is not a file of uid {}; remove it", path, ::geteuid()));
  // A free flock with a live tree behind it: the keeper was killed, the task was not.
  if (std::optional<TreeRecord> record = ReadRecord(lock->fd(), st.st_size); record && LiveProcessOf(*record))
    return std::optional<Lease>();
  const int fd = lock->Release();
  return std::optional<Lease>(Lease(fd, key));
}

std::optional<pid_t> LeaseTable::Holder(const std::string& key) const {
  Result<std::string> text = ReadFile(PathOf(key), kMaxRecord);
  if (!text.ok()) return std::nullopt;
  std::optional<TreeRecord> record = ParseTreeRecord(*text);
  return record ? LiveProcessOf(*record) : std::nullopt;
}

std::map<std::string, pid_t> LeaseTable::Holders() const {
  std::map<std::string, pid_t> held;
  std::error_code ec;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.ends_with(".lock") || !entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;
    Result<std::string> text = ReadFile(entry.path().string(), kMaxRecord);
    if (!text.ok()) continue;
    std::optional<TreeRecord> record = ParseTreeRecord(*text);
    if (std::optional<pid_t> pid = record ? LiveProcessOf(*record) : std::nullopt)
      held.emplace(name.substr(0, name.size() - 5), *pid);
  }
  return held;
}

std::string DefaultLeaseDir(bool simulated, const std::string& run_dir) {
  const char* env = std::getenv("MIGCTL_LEASE_DIR");
  if (env != nullptr && *env != '\0') return env;
  if (simulated) return run_dir + "/leases";
  return DefaultPrivateDir("leases");
}

}  // namespace migctl
