#include "mps/daemon_dirs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl::mps {

DaemonDirs DirsUnder(const std::string& root) { return {root + "/pipe", root + "/log"}; }

Status MakePrivateDirectory(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  if (!parent.empty()) MIGCTL_RETURN_IF_ERROR(MakeDirectories(parent));
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot create directory {}: {}", path, std::strerror(errno)));
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot inspect {}: {}", path, std::strerror(errno)));
  if (!S_ISDIR(st.st_mode))
    return MakeError(ErrorCode::kIo,
                     fmt::format("{} is not a directory: remove it or choose another one", path));
  if (st.st_uid != ::geteuid())
    return MakeError(ErrorCode::kIo,
                     fmt::format("{} belongs to uid {}, not to you (uid {}): choose another directory", path,
                                 st.st_uid, ::geteuid()));
  if ((st.st_mode & 07777) != 0700 && ::chmod(path.c_str(), 0700) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot make {} private: {}", path, std::strerror(errno)));
  return Ok();
}

Status MakeDaemonDirs(const DaemonDirs& dirs) {
  MIGCTL_RETURN_IF_ERROR(MakePrivateDirectory(dirs.pipe_dir));
  return MakePrivateDirectory(dirs.log_dir);
}

std::string ControlPipePath(const DaemonDirs& dirs) { return dirs.pipe_dir + "/control"; }

std::string ControlLogPath(const DaemonDirs& dirs) { return dirs.log_dir + "/control.log"; }

std::string OutputLogPath(const DaemonDirs& dirs) { return dirs.log_dir + "/control-output.log"; }

std::string LogTail(const std::string& path, std::size_t from, std::size_t lines) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return "";
  std::vector<std::string> kept;
  std::size_t begin = from;
  while (begin < text->size()) {
    std::size_t end = text->find('\n', begin);
    if (end == std::string::npos) end = text->size();
    if (end > begin) kept.push_back(text->substr(begin, end - begin));
    begin = end + 1;
  }
  std::string tail;
  for (std::size_t i = kept.size() > lines ? kept.size() - lines : 0; i < kept.size(); ++i)
    tail += (tail.empty() ? "" : " | ") + kept[i];
  return tail;
}

LogMark MarkLogs(const DaemonDirs& dirs) {
  auto size = [](const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  };
  return {size(ControlLogPath(dirs)), size(OutputLogPath(dirs))};
}

std::string DaemonLogHint(const DaemonDirs& dirs, const LogMark& mark) {
  std::string hint;
  for (auto [path, from] :
       {std::pair(ControlLogPath(dirs), mark.control), std::pair(OutputLogPath(dirs), mark.output)})
    if (std::string tail = LogTail(path, from); !tail.empty())
      hint += fmt::format("{}{} says: {}", hint.empty() ? "" : "; ", path, tail);
  return hint.empty() ? fmt::format("nothing new in {}", ControlLogPath(dirs)) : hint;
}

std::optional<pid_t> ReadDaemonPidFile(const DaemonDirs& dirs) {
  Result<std::string> text = ReadFile(dirs.pipe_dir + "/nvidia-cuda-mps-control.pid");
  if (!text.ok()) return std::nullopt;
  const char* begin = text->data();
  const char* end = begin + text->size();
  while (begin < end && (*begin == ' ' || *begin == '\n')) ++begin;
  pid_t pid = 0;
  auto [ptr, ec] = std::from_chars(begin, end, pid);
  if (ec != std::errc() || ptr == begin || pid <= 0) return std::nullopt;
  return pid;
}

std::string DefaultRoot() {
  if (const char* env = std::getenv("MIGCTL_MPS_DIR"); env != nullptr && *env != '\0') return env;
  return fmt::format("/tmp/migctl-mps-{}", ::getuid());
}

}  // namespace migctl::mps
