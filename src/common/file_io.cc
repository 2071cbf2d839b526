#include "common/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <fmt/format.h>

namespace migctl {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                   fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Error Refused(const std::string& path, const std::string& why) {
  return MakeError(ErrorCode::kInvalidInput,
                   fmt::format("{} {}; refusing to write it (remove it or name another file)", path, why));
}

/// Closes a descriptor on scope exit.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string SizeText(std::size_t bytes) {
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  return bytes % kMiB == 0 ? fmt::format("{} MiB", bytes / kMiB) : fmt::format("{} bytes", bytes);
}

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot write", path);
    written += static_cast<size_t>(n);
  }
  return Ok();
}

/// Fills the new file `fd` and gives it exactly `mode`.
Status FillNewFile(int fd, const std::string& text, mode_t mode, bool durable, const std::string& path) {
  if (::fchmod(fd, mode & 07777) != 0) return IoError("cannot set the mode of", path);
  MIGCTL_RETURN_IF_ERROR(WriteAll(fd, text, path));
  if (durable && ::fsync(fd) != 0) return IoError("cannot sync", path);
  return Ok();
}

constexpr std::string_view kTempSuffix = ".migctl-tmp";
constexpr std::size_t kTempNameMax = 128;
constexpr std::size_t kRandomHex = 16;

/// A hidden name beside `name` that nobody can predict.
std::string RandomName(const std::string& name) {
  unsigned char bytes[8] = {};
  for (size_t got = 0; got < sizeof(bytes);) {
    ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return fmt::format(".{}.{}{}", name.substr(0, kTempNameMax), hex, kTempSuffix);
}

/// Removes temporary names of `name` that a writer killed between its link and its rename left behind a
/// while ago (a live writer renames within microseconds). Only directory entries are removed, nothing is
/// followed or opened: harmless even when someone else planted them.
void RemoveStaleTemporaries(int dir_fd, const std::string& name) {
  const int fd = ::dup(dir_fd);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return;
  }
  const std::string prefix = "." + name.substr(0, kTempNameMax) + ".";
  const std::size_t length = prefix.size() + kRandomHex + kTempSuffix.size();
  const time_t stale = ::time(nullptr) - 60;
  while (const struct dirent* entry = ::readdir(dir)) {
    const std::string_view entry_name = entry->d_name;
    if (entry_name.size() != length || !entry_name.starts_with(prefix) || !entry_name.ends_with(kTempSuffix))
      continue;
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_mtime < stale)
      ::unlinkat(dir_fd, entry->d_name, 0);
  }
  ::closedir(dir);
}

/// An unnamed file in `dir_fd`, filled, then linked under a random hidden name (returned). A crash before
/// the link leaves nothing behind. kUnsupported when the file system has no O_TMPFILE.
Result<std::string> WriteUnnamed(int dir_fd, const std::string& name, const std::string& text, mode_t mode,
                                 bool durable, const std::string& path) {
  ScopedFd fd(::openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
      return MakeError(ErrorCode::kUnsupported, "no O_TMPFILE");
    return IoError("cannot create a file beside", path);
  }
  MIGCTL_RETURN_IF_ERROR(FillNewFile(fd.get(), text, mode, durable, path));
  const std::string proc = fmt::format("/proc/self/fd/{}", fd.get());
  // No file there yet: link the final name itself, and no temporary name ever exists.
  if (::linkat(AT_FDCWD, proc.c_str(), dir_fd, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return name;
  for (;;) {
    std::string tmp = RandomName(name);
    if (::linkat(AT_FDCWD, proc.c_str(), dir_fd, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0) return tmp;
    if (errno == EEXIST) continue;
    // Without /proc, root can still link the descriptor itself.
    if (errno == ENOENT && ::linkat(fd.get(), "", dir_fd, tmp.c_str(), AT_EMPTY_PATH) == 0) return tmp;
    return IoError("cannot link the new content of", path);
  }
}

/// The fallback without O_TMPFILE: a random name, created exclusively, removed again on failure.
Result<std::string> WriteNamed(int dir_fd, const std::string& name, const std::string& text, mode_t mode,
                               bool durable, const std::string& path) {
  for (;;) {
    std::string tmp = RandomName(name);
    ScopedFd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0 && errno == EEXIST) continue;
    if (fd.get() < 0) return IoError("cannot create a file beside", path);
    Status filled = FillNewFile(fd.get(), text, mode, durable, path);
    if (filled.ok()) return tmp;
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return std::move(filled).error();
  }
}

/// Ok when `name` in `dir_fd` is missing or a regular file, which a rename may replace.
Status CheckReplaceable(int dir_fd, const std::string& name, const std::string& path) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Ok() : Status(IoError("cannot inspect", path));
  if (S_ISDIR(st.st_mode))
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{} is a directory; name a file to write", path));
  if (S_ISLNK(st.st_mode)) return Refused(path, "is a symbolic link");
  if (!S_ISREG(st.st_mode)) return Refused(path, "is not a regular file");
  return Ok();
}

Result<int> LockFd(const std::string& path, int operation) {
  ScopedFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0 && errno == ELOOP)
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("lock file {} is a symbolic link; refusing to use it (remove it)", path));
  if (fd.get() < 0) return IoError("cannot open lock file", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot inspect lock file", path);
  if (!S_ISREG(st.st_mode))
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("lock file {} is not a regular file; refusing to use it (remove it)", path));
  while (::flock(fd.get(), operation) != 0) {
    if (errno == EINTR) continue;
    const bool busy = errno == EWOULDBLOCK;
    Error error = IoError("cannot lock", path);
    if (busy) error.code = ErrorCode::kBusy;
    return error;
  }
  return fd.release();
}

Status Synced(int dir_fd, bool durable, const std::string& path) {
  if (durable && ::fsync(dir_fd) != 0) return IoError("cannot sync the directory of", path);
  return Ok();
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode, bool durable) {
  const std::filesystem::path p(path);
  const std::string name = p.filename().string();
  if (name.empty() || name == "." || name == "..")
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{} is a directory; name a file to write", path));
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  ScopedFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 && errno == ENOENT)
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("cannot write {}: directory {} does not exist", path, dir));
  if (dir_fd.get() < 0) return IoError("cannot open the directory of", path);
  MIGCTL_RETURN_IF_ERROR(CheckReplaceable(dir_fd.get(), name, path));

  Result<std::string> tmp = WriteUnnamed(dir_fd.get(), name, text, mode, durable, path);
  if (!tmp.ok() && tmp.error().code == ErrorCode::kUnsupported)
    tmp = WriteNamed(dir_fd.get(), name, text, mode, durable, path);
  if (!tmp.ok()) return std::move(tmp).error();
  if (*tmp == name) return Synced(dir_fd.get(), durable, path);
  if (::renameat(dir_fd.get(), tmp->c_str(), dir_fd.get(), name.c_str()) != 0) {
    Error error = IoError("cannot replace", path);
    ::unlinkat(dir_fd.get(), tmp->c_str(), 0);
    return error;
  }
  RemoveStaleTemporaries(dir_fd.get(), name);
  return Synced(dir_fd.get(), durable, path);
}

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 && errno == EISDIR)
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{} is a directory, not a file", path));
  if (fd.get() < 0) return IoError("cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot inspect", path);
  if (S_ISDIR(st.st_mode))
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{} is a directory, not a file", path));
  auto too_large = [&] {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{} is larger than {}: is it the right file?", path, SizeText(max_bytes)));
  };
  if (S_ISREG(st.st_mode) && static_cast<std::size_t>(st.st_size) > max_bytes) return too_large();
  std::string text;
  if (S_ISREG(st.st_mode)) text.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    const std::size_t want = std::min(sizeof(buffer), max_bytes + 1 - text.size());
    ssize_t n = ::read(fd.get(), buffer, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read", path);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > max_bytes) return too_large();
  }
  return text;
}

Result<int> OpenForAppend(const std::string& path, int access, mode_t mode) {
  const int flags = access | O_APPEND | O_NOFOLLOW | O_CLOEXEC;
  ScopedFd created(::open(path.c_str(), flags | O_CREAT | O_EXCL, 0600));
  if (created.get() >= 0) {
    if (::fchmod(created.get(), mode & 07777) != 0) {
      Error error = IoError("cannot set the mode of", path);
      ::unlink(path.c_str());
      return error;
    }
    return created.release();
  }
  if (errno == ENOENT) {
    const std::filesystem::path p(path);
    return MakeError(ErrorCode::kNotFound, fmt::format("cannot create {}: directory {} does not exist", path,
                                                       p.has_parent_path() ? p.parent_path().string() : "."));
  }
  if (errno != EEXIST) return IoError("cannot create", path);
  // O_NONBLOCK: a planted FIFO must not hang us; it is refused below.
  ScopedFd fd(::open(path.c_str(), flags | O_NONBLOCK));
  if (fd.get() < 0 && errno == EISDIR)
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{} is a directory; name a file to write", path));
  if (fd.get() < 0 && errno == ELOOP) return Refused(path, "is a symbolic link");
  if (fd.get() < 0 && errno == ENXIO) return Refused(path, "is not a regular file");
  if (fd.get() < 0) return IoError("cannot open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot inspect", path);
  if (!S_ISREG(st.st_mode)) return Refused(path, "is not a regular file");
  if (st.st_uid != ::geteuid())
    return Refused(path,
                   fmt::format("belongs to uid {}, not to uid {} that runs migctl", st.st_uid, ::geteuid()));
  if (st.st_nlink != 1) return Refused(path, fmt::format("has {} hard links", st.st_nlink));
  if (::fcntl(fd.get(), F_SETFL, O_APPEND) != 0) return IoError("cannot open", path);
  return fd.release();
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
