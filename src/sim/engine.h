// The simulated driver's decisions: what a MIG operation does to one GPU's state and which NVML return code
// it answers. Pure functions of (model, state): no I/O, no locking, so every rule is unit-testable. Each
// mutating call leaves `gpu` unchanged unless it returns NVML_SUCCESS.
#pragma once

#include <optional>

#include "catalog/gpu_model.h"
#include "layout/layout.h"
#include "nvml/nvml_abi.h"
#include "sim/machine_state.h"

namespace migctl::sim {

/// Number of CI profile indexes NVML defines (NVML_COMPUTE_INSTANCE_PROFILE_COUNT in NVML 13.3).
inline constexpr unsigned kComputeInstanceProfileCount = 9;

/// A (start, size) on the memory-slot axis (GIs) or a GI's compute-slice axis (CIs).
struct Placement {
  unsigned start = 0;
  unsigned size = 0;
};

/// The GPU's instances as layout/ sees them.
Layout LayoutOf(const SimGpu& gpu);

/// Where the driver puts a new GI of `profile` without an explicit placement. Modelled as a greedy choice per
/// call: among the feasible starts, the one leaving the most ComputeRoom, ties to the lowest start. This
/// reproduces the order dependence NVIDIA documents (A100-40GB: 19,19,14,9 fails at 9 while 9,19,14,19 fits).
/// nullopt: nothing fits.
std::optional<unsigned> ChooseGpuInstanceStart(const GpuModel& model, const Layout& layout,
                                               const GiProfile& profile);

/// nvmlDeviceCreateGpuInstance[WithPlacement]. NOT_SUPPORTED when MIG is off; INVALID_ARGUMENT for a profile
/// the model lacks or a placement that is not one of the profile's; IN_USE when a process holds the whole
/// GPU; INSUFFICIENT_RESOURCES when the GI does not fit (overlap, compute slices, instance limit, media
/// exclusivity). On success sets `*gi_id`.
nvmlReturn_t CreateGpuInstance(const GpuModel& model, SimGpu& gpu, unsigned profile_id,
                               std::optional<Placement> placement, unsigned* gi_id);

/// nvmlGpuInstanceDestroy. NOT_FOUND for an unknown id; IN_USE while it has CIs or processes.
nvmlReturn_t DestroyGpuInstance(SimGpu& gpu, unsigned gi_id);

/// The GI profile of `gi`, or nullptr when the model lacks it (a corrupt state).
const GiProfile* GiProfileOf(const GpuModel& model, const SimGpuInstance& gi);

/// The CI profile `ci_profile_id` inside `gi`. INVALID_ARGUMENT for an id ≥ kComputeInstanceProfileCount,
/// NOT_SUPPORTED for one the GI's profile does not offer.
nvmlReturn_t FindCiProfile(const GpuModel& model, const SimGpuInstance& gi, unsigned ci_profile_id,
                           const CiProfile** out);

/// How many more CIs of `ci_profile` fit into `gi` (free non-overlapping placements, capped by the instance
/// limit).
unsigned ComputeInstanceRemainingCapacity(const SimGpuInstance& gi, const CiProfile& ci_profile);

/// nvmlGpuInstanceCreateComputeInstance[WithPlacement]. NOT_FOUND for an unknown GI; errors of FindCiProfile;
/// INVALID_ARGUMENT for a placement not among the profile's; INSUFFICIENT_RESOURCES when it does not fit.
/// Automatic placement takes the lowest free start. On success sets `*ci_id` and gives the CI a new MIG UUID.
nvmlReturn_t CreateComputeInstance(const GpuModel& model, SimGpu& gpu, unsigned gi_id, unsigned ci_profile_id,
                                   std::optional<Placement> placement, unsigned* ci_id);

/// nvmlComputeInstanceDestroy. NOT_FOUND for unknown ids; IN_USE while a process runs on the CI.
nvmlReturn_t DestroyComputeInstance(SimGpu& gpu, unsigned gi_id, unsigned ci_id);

/// nvmlDeviceSetMigMode. INVALID_ARGUMENT for a mode other than 0/1; IN_USE when disabling while GIs exist.
/// Otherwise SUCCESS and the new mode becomes pending. Ampere (ModeChangeNeedsReset) activates it only at a
/// reset:
/// `*activation` = RESET_REQUIRED. Later architectures switch at once when no process runs on the GPU
/// (`*activation` = SUCCESS) and keep it pending when one does (`*activation` = IN_USE).
nvmlReturn_t SetMigMode(const GpuModel& model, SimGpu& gpu, unsigned mode, nvmlReturn_t* activation);

/// migsimDeviceReset: the pending MIG mode becomes current and every GI/CI is gone, as after a real GPU
/// reset. IN_USE when processes run on the GPU.
nvmlReturn_t ResetGpu(SimGpu& gpu);

}  // namespace migctl::sim
