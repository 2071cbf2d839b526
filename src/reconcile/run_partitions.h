// Partitions made for one `migctl run --create`: how many MIG devices of a profile the selected GPUs already
// have idle, where the missing ones go (MIG mode enabled where the GPU allows it), and, for --ephemeral,
// taking away exactly those again. Pure: both are planners for the conductor (reconcile/conductor.h), which
// alone changes GPUs.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "reconcile/conductor.h"
#include "reconcile/gpu_plan.h"
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

/// PlanRunPartitions as a planner: one plan per GPU (empty where nothing is added). `*plan` receives the
/// partition plan the conductor carries out (for messages); it must outlive the planner.
HostPlanner RunPartitionsPlanner(std::string profile, unsigned wanted, std::vector<bool> reset_supported,
                                 PartitionPlan* plan);

/// A GI the run created: what --ephemeral removes, if it is still there unchanged.
struct CreatedPartition {
  size_t gpu = 0;  ///< Index into the devices.
  GiId gi;
  ProfileId profile;
  unsigned start = 0;
};

/// The GIs that the change of device `k` created.
std::vector<CreatedPartition> CreatedBy(std::size_t k, const GpuOutcome& outcome);

/// A planner destroying the GIs in `created` that still exist with the same profile and placement, leaving
/// everything else, MIG mode included. A busy one is refused (kBusy, naming its processes).
HostPlanner RemovePartitionsPlanner(std::vector<CreatedPartition> created);

}  // namespace migctl
