#include "sim/state_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace migctl::sim {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

/// Holds a flock on `<state>.lock` for its lifetime.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& state_path, int operation) {
    std::string lock_path = state_path + ".lock";
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return IoError("cannot open lock file", lock_path);
    while (::flock(fd, operation) != 0) {
      if (errno != EINTR) {
        Error error = IoError("cannot lock", lock_path);
        ::close(fd);
        return error;
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // Closing the last descriptor releases the flock.
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

/// Writes `text` to a temporary file beside `path` and renames it over `path`.
Status WriteAtomically(const std::string& path, const std::string& text) {
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
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error error = IoError("cannot replace", path);
    ::unlink(tmp.c_str());
    return error;
  }
  return Ok();
}

std::string Serialize(const MachineState& state) { return MachineStateToJson(state).dump(1) + "\n"; }

}  // namespace

StateFile::StateFile(std::string path) : path_(std::move(path)) {}

Result<StateFile::FileStamp> StateFile::Stamp() const {
  struct stat st;
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return MakeError(ErrorCode::kNotFound, "no simulated machine at " + path_ +
                                                 "; create one with `migctl sim init " + path_ + " MODEL`");
    }
    return IoError("cannot stat", path_);
  }
  return FileStamp{st.st_dev,          st.st_ino,         st.st_size,        st.st_mtim.tv_sec,
                   st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

Status StateFile::Refresh() {
  Result<FileStamp> stamp = Stamp();
  if (!stamp.ok()) {
    stamp_.reset();
    return std::move(stamp).error();
  }
  if (stamp_ == *stamp) return Ok();
  stamp_.reset();
  std::ifstream in(path_, std::ios::binary);
  if (!in) return IoError("cannot read", path_);
  std::stringstream text;
  text << in.rdbuf();
  Result<MachineState> state = ParseMachineState(text.str());
  if (!state.ok()) return state.error().WithContext(path_ + ": ");
  cache_ = std::move(state).value();
  stamp_ = *stamp;
  return Ok();
}

Result<const MachineState*> StateFile::Read() {
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_, LOCK_SH));
  MIGCTL_RETURN_IF_ERROR(Refresh());
  return &cache_;
}

Status StateFile::Update(const std::function<bool(MachineState&)>& change) {
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_, LOCK_EX));
  MIGCTL_RETURN_IF_ERROR(Refresh());
  MachineState next = cache_;
  if (!change(next)) return Ok();
  stamp_.reset();
  MIGCTL_RETURN_IF_ERROR(WriteAtomically(path_, Serialize(next)));
  cache_ = std::move(next);
  MIGCTL_ASSIGN_OR_RETURN(stamp_, Stamp());
  return Ok();
}

Status StateFile::Create(const std::string& path, const MachineState& state, bool force) {
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path, LOCK_EX));
  struct stat st;
  if (!force && ::stat(path.c_str(), &st) == 0) {
    return MakeError(ErrorCode::kInvalidInput,
                     path + " already holds a simulated machine; pass --force to replace it");
  }
  return WriteAtomically(path, Serialize(state));
}

}  // namespace migctl::sim
