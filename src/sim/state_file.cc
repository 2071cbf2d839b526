#include "sim/state_file.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/file_io.h"

namespace migctl::sim {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

/// Bytes that are not UTF-8 (a process name) are written as U+FFFD rather than failing the write.
std::string Serialize(const MachineState& state) {
  return MachineStateToJson(state).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

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
  return FileStamp{st.st_dev,         st.st_ino,          st.st_mode,        st.st_size,
                   st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec};
}

Status StateFile::Refresh() {
  Result<FileStamp> stamp = Stamp();
  if (!stamp.ok()) {
    stamp_.reset();
    return std::move(stamp).error();
  }
  if (stamp_ == *stamp) return Ok();
  stamp_.reset();
  MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadFile(path_));
  Result<MachineState> state = ParseMachineState(text);
  if (!state.ok()) return state.error().WithContext(path_ + ": ");
  cache_ = std::move(state).value();
  stamp_ = *stamp;
  return Ok();
}

Status StateFile::CheckIsFile() const {
  MIGCTL_ASSIGN_OR_RETURN(FileStamp stamp, Stamp());
  if (!S_ISREG(stamp.mode)) {
    return MakeError(ErrorCode::kInvalidInput,
                     path_ + (S_ISDIR(stamp.mode) ? " is a directory" : " is not a regular file") +
                         ", not a simulated machine; give the state file that `migctl sim init` wrote");
  }
  return Ok();
}

Result<const MachineState*> StateFile::Read() {
  MIGCTL_RETURN_IF_ERROR(CheckIsFile());
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", LOCK_SH));
  MIGCTL_RETURN_IF_ERROR(Refresh());
  return &cache_;
}

Status StateFile::Update(const std::function<bool(MachineState&)>& change) {
  MIGCTL_RETURN_IF_ERROR(CheckIsFile());
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path_ + ".lock", LOCK_EX));
  MIGCTL_RETURN_IF_ERROR(Refresh());
  MachineState next = cache_;
  if (!change(next)) return Ok();
  stamp_.reset();
  MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(path_, Serialize(next), 0644));
  cache_ = std::move(next);
  MIGCTL_ASSIGN_OR_RETURN(stamp_, Stamp());
  return Ok();
}

Status StateFile::Create(const std::string& path, const MachineState& state, bool force) {
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(path + ".lock", LOCK_EX));
  struct stat st;
  if (!force && ::stat(path.c_str(), &st) == 0) {
    return MakeError(ErrorCode::kInvalidInput,
                     path + " already holds a simulated machine; pass --force to replace it");
  }
  return WriteFileAtomically(path, Serialize(state), 0644);
}

}  // namespace migctl::sim
