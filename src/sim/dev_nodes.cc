#include "sim/dev_nodes.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/private_dir.h"

namespace migctl::sim {
namespace {

constexpr unsigned kMaxGpuMinor = 31;
constexpr unsigned kGis = 15;
constexpr unsigned kCis = 8;

Status MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Ok();
  return MakeError(ErrorCode::kIo, fmt::format("cannot make {}: {}", path, std::strerror(errno)));
}

Status MakeNode(const std::string& path, bool* plain) {
  if (::mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0 || errno == EEXIST) return Ok();
  if (errno != EPERM) return MakeError(ErrorCode::kIo, fmt::format("cannot make {}: {}", path, std::strerror(errno)));
  if (plain != nullptr) *plain = true;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST) {
    return MakeError(ErrorCode::kIo, fmt::format("cannot make {}: {}", path, std::strerror(errno)));
  }
  if (fd >= 0) ::close(fd);
  return Ok();
}

}  // namespace

unsigned GiAccessMinor(unsigned gpu_minor, unsigned gi) { return 3 + 135 * gpu_minor + 9 * gi; }
unsigned CiAccessMinor(unsigned gpu_minor, unsigned gi, unsigned ci) { return GiAccessMinor(gpu_minor, gi) + 1 + ci; }

std::string MigMinorsTable() {
  std::string out = "config 1\nmonitor 2\n";
  for (unsigned g = 0; g <= kMaxGpuMinor; ++g) {
    for (unsigned i = 0; i < kGis; ++i) {
      out += fmt::format("gpu{}/gi{}/access {}\n", g, i, GiAccessMinor(g, i));
      for (unsigned c = 0; c < kCis; ++c) out += fmt::format("gpu{}/gi{}/ci{}/access {}\n", g, i, c, CiAccessMinor(g, i, c));
    }
  }
  return out;
}

Status MakeStandInDevices(const std::string& root_path, const std::vector<unsigned>& gpu_minors, bool* plain) {
  // Root makes device nodes here: only in a directory nobody else can change (no planted `dev` link).
  MIGCTL_ASSIGN_OR_RETURN(const std::string root, EnsurePrivateDir(root_path, "give a directory of your own"));
  for (const char* dir : {"/proc", "/proc/driver", "/proc/driver/nvidia-caps", "/dev", "/dev/nvidia-caps"}) {
    MIGCTL_RETURN_IF_ERROR(MakeDir(root + dir));
  }
  MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(root + "/proc/driver/nvidia-caps/mig-minors", MigMinorsTable(), 0444,
                                             /*durable=*/false));
  for (unsigned cap : {1u, 2u}) MIGCTL_RETURN_IF_ERROR(MakeNode(fmt::format("{}/dev/nvidia-caps/nvidia-cap{}", root, cap), plain));
  for (unsigned g : gpu_minors) {
    if (g > kMaxGpuMinor) {
      return MakeError(ErrorCode::kInvalidInput, fmt::format("GPU minor {} is above the driver's {}", g, kMaxGpuMinor));
    }
    MIGCTL_RETURN_IF_ERROR(MakeNode(fmt::format("{}/dev/nvidia{}", root, g), plain));
    for (unsigned i = 0; i < kGis; ++i) {
      MIGCTL_RETURN_IF_ERROR(MakeNode(fmt::format("{}/dev/nvidia-caps/nvidia-cap{}", root, GiAccessMinor(g, i)), plain));
      for (unsigned c = 0; c < kCis; ++c) {
        MIGCTL_RETURN_IF_ERROR(
            MakeNode(fmt::format("{}/dev/nvidia-caps/nvidia-cap{}", root, CiAccessMinor(g, i, c)), plain));
      }
    }
  }
  return Ok();
}

}  // namespace migctl::sim
