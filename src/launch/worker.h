// Workers: the devices a run's tasks execute on, one task at a time each. A worker is an existing MIG device
// (its MIG UUID), or a slot on a whole GPU that several workers share by time-slicing or through MPS.
// Choosing them is pure: it reads snapshots of the selected GPUs and decides nothing else.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "launch/task.h"
#include "nvml/snapshot.h"

namespace migctl {

enum class ShareMode { kMig, kNone, kMps };  ///< MIG devices; whole GPUs time-sliced; whole GPUs through MPS.

/// `mig`, `none`, `mps`.
const char* ShareModeName(ShareMode mode);

struct Worker {
  unsigned index = 0;     ///< 0-based; the child's MIGCTL_WORKER.
  std::string lease_key;  ///< The MIG UUID, or `GPU-…/slotN` for a shared GPU.
  std::string device;     ///< The child's CUDA_VISIBLE_DEVICES: a MIG UUID or a GPU UUID.
  GpuIndex gpu;           ///< The physical GPU.
  std::string gpu_uuid;
  std::string profile;                ///< `3g.40gb`, or `gpu` for a whole GPU.
  unsigned long long memory_mib = 0;  ///< What a task may use: the MIG device's memory, the GPU's, or the MPS
                                      ///< pinned-memory limit when one is set.
  std::vector<std::string> env;       ///< Extra `NAME=value` entries for its children (MPS client settings).

  /// Whether a task with `needs` may run here.
  bool CanHold(const TaskNeeds& needs) const;
};

/// What the user asked for.
struct WorkerRequest {
  ShareMode share = ShareMode::kMig;
  std::optional<std::string> profile;            ///< --profile: only MIG devices of this GI profile.
  std::optional<unsigned long long> memory_mib;  ///< --memory: only devices with at least this much memory.
  std::optional<unsigned> workers;  ///< --workers: how many (default: every match; 1 per GPU shared).
  /// Only the MIG devices with these UUIDs (those Slurm allocated to an array element); empty: any.
  std::set<std::string> devices;
};

/// The MIG devices of `gpus` that match `request`, in GPU then GI then CI order, skipping devices NVML
/// reports processes on (named in `skipped`). When `request.workers` is set, the first that many.
/// Errors (kInfeasible, one line saying what exists and what to do: --create, --share, fewer workers): no
/// device matches, or fewer than `request.workers`; kNotFound when a UUID of `request.devices` is no MIG
/// device of `gpus`.
Result<std::vector<Worker>> SelectMigWorkers(const std::vector<nvml::GpuSnapshot>& gpus,
                                             const WorkerRequest& request, std::vector<std::string>* skipped);

/// `request.workers` slots (default one per GPU) spread round-robin over `gpus`, which must have MIG off
/// (kInvalidInput naming a GPU with MIG on, and what to do). `mps_memory_mib` caps each slot's memory.
Result<std::vector<Worker>> SelectSharedWorkers(const std::vector<nvml::GpuSnapshot>& gpus,
                                                const WorkerRequest& request,
                                                std::optional<unsigned long long> mps_memory_mib);

/// Checks that every task can run on some worker; kInfeasible naming the first that cannot, what it needs
/// and the largest worker there is.
Status CheckTasksFit(const std::vector<Task>& tasks, const std::vector<Worker>& workers);

}  // namespace migctl
