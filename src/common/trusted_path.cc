#include "common/trusted_path.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

}  // namespace migctl
