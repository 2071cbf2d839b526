// Partitions made for one `migctl run --create`: how many MIG devices of a profile the selected GPUs already
// have idle, where the missing ones go (MIG mode enabled where the GPU allows it), and, for --ephemeral,
// taking away exactly those again. Planning is pure; creating and removing go through the same journalled,
// all-or-nothing change per GPU as apply (transaction.h), under the host lock the caller holds.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/gpu_plan.h"
#include "reconcile/journal.h"
#include "reconcile/observed_gpu.h"

namespace migctl {

/// One GPU that gets new instances.
struct PartitionAddition {
  size_t gpu = 0;      ///< Index into the observed GPUs.
  unsigned count = 0;  ///< New GIs of the profile (each with its full-width CI).
  GpuPlan plan;        ///< From the observed state: mode change if needed, then the creates.
};

struct PartitionPlan {
  unsigned idle = 0;  ///< Idle MIG devices of the profile that exist already.
  std::vector<PartitionAddition> additions;
};

/// Plans `wanted` MIG devices of `profile` (a GI profile name, `3g.40gb`) on `gpus`: counts the idle ones
/// (a CI-bearing instance with no processes), then adds the missing ones GPU by GPU in index order, GPUs
/// already in MIG mode first, each as many as fit, keeping every existing instance in place. Errors, before
/// anything changes: kInvalidInput when no selected GPU has the profile; kInfeasible when they cannot all
/// exist, saying how many fit and what would fit instead (per profile, on the same GPUs).
Result<PartitionPlan> PlanRunPartitions(const std::vector<ObservedGpu>& gpus, const std::string& profile,
                                        unsigned wanted, const std::vector<bool>& reset_supported);

/// A GI the run created: what --ephemeral removes, if it is still there unchanged.
struct CreatedPartition {
  size_t gpu = 0;  ///< Index into the devices.
  GiId gi;
  ProfileId profile;
  unsigned start = 0;
};

/// Runs the additions (each GPU all or nothing). Returns the GIs created. On an error, GPUs already done
/// keep their new instances and are listed in `done` so the caller can remove them.
Result<std::vector<CreatedPartition>> CreateRunPartitions(const std::vector<nvml::Device>& devices,
                                                          const std::vector<ObservedGpu>& gpus,
                                                          const PartitionPlan& plan, Journal& journal,
                                                          const std::vector<bool>& reset_supported,
                                                          std::vector<CreatedPartition>* done);

/// Destroys the GIs in `created` that still exist with the same profile and placement (and no processes),
/// leaving everything else, MIG mode included. Returns how many it removed; the first error otherwise.
Result<unsigned> RemoveRunPartitions(const std::vector<nvml::Device>& devices,
                                     const std::vector<CreatedPartition>& created, Journal& journal);

}  // namespace migctl
