// What an MPS client needs: where its daemon listens, and its share of the GPU (a cap on the SMs it may use
// and on the device memory it may pin). These are environment variables the CUDA driver reads in the client;
// migctl puts them into each worker's environment. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "mps/daemon_dirs.h"

namespace migctl::mps {

struct ClientLimits {
  /// CUDA_MPS_ACTIVE_THREAD_PERCENTAGE: the share of the GPU's SMs the client may use, 1..100.
  std::optional<unsigned> active_thread_percentage;
  /// CUDA_MPS_PINNED_DEVICE_MEM_LIMIT for device 0: the device memory the client may allocate, MiB.
  std::optional<unsigned long long> pinned_memory_mib;
  bool operator==(const ClientLimits&) const = default;
};

/// `NAME=value` entries for a client of the daemon at `dirs`: CUDA_MPS_PIPE_DIRECTORY,
/// CUDA_MPS_LOG_DIRECTORY, then CUDA_MPS_ACTIVE_THREAD_PERCENTAGE and CUDA_MPS_PINNED_DEVICE_MEM_LIMIT
/// (`0=<N>M`) when set. The memory limit names device 0, so the caller must show the client exactly one GPU:
/// CUDA_VISIBLE_DEVICES=<its GPU UUID> (UUIDs, not indexes: the MPS server renumbers the devices it sees,
/// UUIDs stay valid).
std::vector<std::string> ClientEnvironment(const DaemonDirs& dirs, const ClientLimits& limits);

/// Parses a thread percentage (`--mps-threads`): `auto` is an equal share for `clients_per_gpu` clients
/// (100 / clients_per_gpu, at least 1; 0 clients counts as 1), else a whole number from 1 to 100.
/// kInvalidInput otherwise.
Result<unsigned> ParseThreadPercentage(std::string_view text, unsigned clients_per_gpu);

}  // namespace migctl::mps
