#include "common/trusted_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

/// Who besides root can change the entry `st`, as "uid 1000 (its owner), group 27 and everyone", or "".
std::string OtherWriters(const struct stat& st, bool allow_sticky) {
  const bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) != 0;
  std::vector<std::string> who;
  if (st.st_uid != 0) who.push_back(fmt::format("uid {} (its owner)", st.st_uid));
  if (!S_ISLNK(st.st_mode) && !(allow_sticky && sticky_dir)) {
    if (st.st_mode & S_IWGRP) who.push_back(fmt::format("group {}", st.st_gid));
    if (st.st_mode & S_IWOTH) who.push_back("everyone");
  }
  std::string text;
  for (std::size_t i = 0; i < who.size(); ++i)
    text += (i == 0 ? "" : i + 1 == who.size() ? " and " : ", ") + who[i];
  return text;
}

Error Untrusted(std::string_view what, const std::string& path, const std::string& at, const struct stat& st,
                const std::string& who) {
  std::string fix;
  if (st.st_uid != 0) fix = fmt::format("chown root {}", at);
  if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    fix += fmt::format("{}chmod go-w {}", fix.empty() ? "" : " && ", at);
  return MakeError(ErrorCode::kInvalidInput,
                   fmt::format("{} {}: {} is writable by {} (mode {:04o}), and migctl runs as root only what "
                               "root alone can change; fix: {}, or move it somewhere only root can write",
                               what, path, at, who, st.st_mode & 07777, fix));
}

/// Checks every existing prefix of the absolute `walk`, not following links at the final component.
Status CheckPrefixes(const fs::path& walk, std::string_view what, const std::string& path) {
  fs::path at;
  std::vector<fs::path> parts(walk.begin(), walk.end());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    at /= parts[i];
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR)
        return MakeError(ErrorCode::kIo, fmt::format("{} {}: cannot inspect {}: {}", what, path, at.string(),
                                                     std::strerror(errno)));
      // Missing: whoever can write the directory above can create it, sticky or not.
      const fs::path parent = at.parent_path();
      struct stat up {};
      if (::stat(parent.c_str(), &up) == 0)
        if (std::string who = OtherWriters(up, /*allow_sticky=*/false); !who.empty())
          return Untrusted(what, path, parent.string(), up, who);
      return Ok();
    }
    if (std::string who = OtherWriters(st, /*allow_sticky=*/true); !who.empty())
      return Untrusted(what, path, at.string(), st, who);
  }
  return Ok();
}

}  // namespace

Status CheckOnlyRootCanChange(const std::string& path, std::string_view what) {
  std::error_code ec;
  const fs::path literal = fs::absolute(path, ec).lexically_normal();
  if (ec)
    return MakeError(ErrorCode::kIo, fmt::format("{} {}: cannot resolve: {}", what, path, ec.message()));
  MIGCTL_RETURN_IF_ERROR(CheckPrefixes(literal, what, path));
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(literal.c_str(), nullptr), &std::free);
  if (real == nullptr) return Ok();  // Missing: the prefixes decided.
  return CheckPrefixes(fs::path(real.get()), what, path);
}

namespace {

/// `path` made absolute against `workdir` (itself relative to the working directory).
std::string Against(const std::string& workdir, const std::string& path) {
  if (path.starts_with('/')) return path;
  return (fs::absolute(workdir.empty() ? "." : workdir) / path).string();
}

bool IsRegularFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

/// The interpreter named by a `#!` line at the start of `program`, or "".
std::string Interpreter(const std::string& program) {
  std::ifstream in(program, std::ios::binary);
  std::string line;
  if (!std::getline(in, line) || !line.starts_with("#!")) return "";
  const std::size_t begin = line.find_first_not_of(" \t", 2);
  if (begin == std::string::npos) return "";
  return line.substr(begin, line.find_first_of(" \t\r", begin) - begin);
}

}  // namespace

Result<std::string> CheckRootCommand(const std::string& program, const std::vector<std::string>& args,
                                     const std::string& path, const std::string& workdir, std::string_view what) {
  const std::string prefix(what);
  std::string found;
  if (program.find('/') != std::string::npos) {
    found = Against(workdir, program);
    if (!IsRegularFile(found)) found.clear();
  } else {
    for (std::size_t begin = 0; found.empty() && begin <= path.size();) {
      std::size_t end = path.find(':', begin);
      if (end == std::string::npos) end = path.size();
      const std::string dir = Against("", path.substr(begin, end - begin));  // as FindProgram resolves it
      MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(dir, prefix + " PATH directory"));
      const std::string candidate = dir + "/" + program;
      if (IsRegularFile(candidate) && ::access(candidate.c_str(), X_OK) == 0) found = candidate;
      begin = end + 1;
    }
  }
  if (found.empty()) return found;
  MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(found, prefix + " program"));
  if (const std::string interpreter = Interpreter(found); !interpreter.empty()) {
    MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(interpreter, prefix + " interpreter"));
  }
  for (const std::string& arg : args) {
    if (const std::string file = Against(workdir, arg); IsRegularFile(file)) {
      MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(file, prefix + " argument"));
    }
  }
  return found;
}

}  // namespace migctl
