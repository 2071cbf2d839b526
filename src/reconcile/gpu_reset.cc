#include "reconcile/gpu_reset.h"

#include <spawn.h>
#include <sys/wait.h>

#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace migctl {
namespace {

/// `nvidia-smi -r -i INDEX`, exec'd directly (no shell).
Status ResetWithNvidiaSmi(unsigned index) {
  std::string i = std::to_string(index);
  const char* argv[] = {"nvidia-smi", "-r", "-i", i.c_str(), nullptr};
  pid_t pid = 0;
  if (int rc = posix_spawnp(&pid, "nvidia-smi", nullptr, nullptr, const_cast<char**>(argv), environ); rc != 0)
    return MakeError(ErrorCode::kUnsupported,
                     fmt::format("GPU {}: cannot run nvidia-smi to reset it: {}", index, std::strerror(rc)));
  int status = 0;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return MakeError(ErrorCode::kNvml,
                     fmt::format("GPU {}: 'nvidia-smi -r -i {}' failed (status {}); a VM without "
                                 "reset support needs a reboot",
                                 index, index, status));
  return Ok();
}

}  // namespace

Status ResetGpu(const nvml::Device& device) {
  Status reset = device.Reset();
  if (!reset.ok() && reset.error().code == ErrorCode::kUnsupported)
    return ResetWithNvidiaSmi(device.index().value());
  return reset;
}

}  // namespace migctl
