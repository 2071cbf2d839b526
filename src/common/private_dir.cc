#include "common/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

Error IoError(const std::string& what, const std::string& path) {
  return MakeError(ErrorCode::kIo, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

Error Refused(const std::string& message) { return MakeError(ErrorCode::kInvalidInput, message); }

bool WritableByOthers(const struct stat& st) { return (st.st_mode & (S_IWGRP | S_IWOTH)) != 0; }

/// Every directory from / down to `canonical` (a resolved path): owned by root or us, and not writable by
/// anyone else unless sticky.
Status CheckAncestors(const fs::path& canonical, std::string_view elsewhere) {
  fs::path at;
  for (const fs::path& part : canonical) {
    at /= part;
    struct stat st {};
    if (::lstat(at.c_str(), &st) != 0) return IoError("cannot inspect", at.string());
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
      return Refused(fmt::format("{} is owned by uid {}, who could swap what lies below it; {}", at.string(),
                                 st.st_uid, elsewhere));
    if (WritableByOthers(st) && (st.st_mode & S_ISVTX) == 0)
      return Refused(
          fmt::format("{} is writable by others (mode {:04o}, not sticky); run 'chmod go-w {}' or {}",
                      at.string(), st.st_mode & 07777, at.string(), elsewhere));
  }
  return Ok();
}

}  // namespace

Result<std::string> EnsurePrivateDir(const std::string& path, std::string_view elsewhere) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  if (ec) return MakeError(ErrorCode::kIo, fmt::format("cannot resolve {}: {}", path, ec.message()));
  if (!p.has_filename()) p = p.parent_path();  // "dir/" names "dir"
  if (p == p.root_path())
    return Refused(fmt::format("{} cannot be a private directory; {}", p.string(), elsewhere));
  const fs::path parent = p.parent_path();
  struct stat st {};
  if (::lstat(parent.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot inspect", parent.string());
    MIGCTL_RETURN_IF_ERROR(EnsurePrivateDir(parent.string(), elsewhere));
  }
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(parent.c_str(), nullptr), &std::free);
  if (real == nullptr) return IoError("cannot resolve", parent.string());
  MIGCTL_RETURN_IF_ERROR(CheckAncestors(real.get(), elsewhere));

  const std::string dir = (fs::path(real.get()) / p.filename()).string();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return IoError("cannot create directory", dir);
  if (::lstat(dir.c_str(), &st) != 0) return IoError("cannot inspect", dir);
  if (S_ISLNK(st.st_mode))
    return Refused(fmt::format("{} is a symbolic link; remove it or {}", dir, elsewhere));
  if (!S_ISDIR(st.st_mode))
    return Refused(fmt::format("{} is not a directory; remove it or {}", dir, elsewhere));
  if (st.st_uid != ::geteuid())
    return Refused(fmt::format("{} is owned by uid {}; remove it or {}", dir, st.st_uid, elsewhere));
  if (WritableByOthers(st))
    return Refused(
        fmt::format("{} is writable by others (mode {:04o}), who may have planted files in it; "
                    "remove it or {}",
                    dir, st.st_mode & 07777, elsewhere));
  return dir;
}

std::string DefaultPrivateDir(std::string_view leaf) {
  if (::geteuid() == 0) return fmt::format("/run/migctl/{}", leaf);
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg == '/')
    return fmt::format("{}/migctl/{}", xdg, leaf);
  return fmt::format("/tmp/migctl-{}/{}", ::geteuid(), leaf);
}

}  // namespace migctl
