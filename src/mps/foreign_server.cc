#include "mps/foreign_server.h"

#include <algorithm>

#include <fmt/format.h>

namespace migctl::mps {

bool IsMpsServer(const std::string& process_name) {
  const std::size_t slash = process_name.rfind('/');
  const std::string base = slash == std::string::npos ? process_name : process_name.substr(slash + 1);
  return base == kServerProcessName || base == std::string(kServerProcessName).substr(0, 15);
}

Status CheckNoForeignServer(GpuIndex gpu, const std::vector<GpuProcess>& processes,
                            const std::vector<unsigned>& own_server_pids) {
  for (const GpuProcess& p : processes) {
    if (!IsMpsServer(p.name)) continue;
    if (std::find(own_server_pids.begin(), own_server_pids.end(), p.pid) != own_server_pids.end()) continue;
    return MakeError(ErrorCode::kBusy,
                     fmt::format("GPU {} is already served by another MPS server (pid {}); stop that daemon "
                                 "first (echo quit | nvidia-cuda-mps-control, with its "
                                 "CUDA_MPS_PIPE_DIRECTORY) or use --share none",
                                 gpu.value(), p.pid));
  }
  return Ok();
}

}  // namespace migctl::mps
