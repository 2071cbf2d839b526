// Whether another MPS server already serves a GPU. Only one MPS server can own a GPU at a time: a second
// control daemon's server would fail to start, or its clients would silently join the other user's server.
// Pure: the caller brings the processes NVML reports on the GPU (mps/ does not depend on nvml/).
#pragma once

#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"

namespace migctl::mps {

/// The name the MPS server process has.
inline constexpr const char* kServerProcessName = "nvidia-cuda-mps-server";

/// A process on a GPU, as NVML reports it.
struct GpuProcess {
  unsigned pid = 0;
  std::string name;  ///< As NVML gives it: a path or a bare name; empty when NVML cannot name it.
};

/// True for the MPS server: a name whose last path component is nvidia-cuda-mps-server, or that name cut to
/// the 15 characters of a Linux process name (`nvidia-cuda-mps`; the control daemon never appears on a GPU).
bool IsMpsServer(const std::string& process_name);

/// Ok when no MPS server other than ours (`own_server_pids`) runs on GPU `gpu`. Else kBusy naming the GPU
/// and the foreign server's pid: "GPU 0 is already served by another MPS server (pid N); stop that daemon
/// first (echo quit | nvidia-cuda-mps-control, with its CUDA_MPS_PIPE_DIRECTORY) or use --share none".
Status CheckNoForeignServer(GpuIndex gpu, const std::vector<GpuProcess>& processes,
                            const std::vector<unsigned>& own_server_pids);

}  // namespace migctl::mps
