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
#include "common/private_dir.h"

namespace migctl::mps {

DaemonDirs DirsUnder(const std::string& root) { return {root + "/pipe", root + "/log"}; }

Status MakePrivateDirectory(const std::string& path) {
  MIGCTL_ASSIGN_OR_RETURN(const std::string dir,
                          EnsurePrivateDir(path, "set MIGCTL_MPS_DIR (or --dir) to a directory of yours"));
  // Ours and writable by us alone (checked above): closing it to readers too cannot be turned against us.
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot inspect {}: {}", dir, std::strerror(errno)));
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot make {} private: {}", dir, std::strerror(errno)));
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
