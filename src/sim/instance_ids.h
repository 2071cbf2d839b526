// How the simulated driver numbers new GPU and compute instances.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "sim/machine_state.h"

namespace migctl::sim {

/// Largest GI id the driver hands out (the mig-minors table reserves 0..14).
inline constexpr unsigned kMaxGpuInstanceId = 14;
/// Largest CI id within one GI.
inline constexpr unsigned kMaxComputeInstanceId = 7;

/// The GI id for a new GI at (start, size) on `model`'s slot axis. Real ids come from a per-slot buddy table
/// that is physically permuted per chip (mig-hardware-facts §9), so ids are opaque: the buddy node of the
/// placement (whole axis → 0, halves → 1-2, quarters → 3-6, eighths → 7-14; 12-slot parts count in 3-slot
/// units) with the halves mirrored on GPUs whose UUID hashes odd. Falls back to the smallest free id when the
/// node's id is taken or the placement is not a buddy node. nullopt when all of 0..kMaxGpuInstanceId are in
/// use.
std::optional<unsigned> AssignGpuInstanceId(const GpuModel& model, const std::string& gpu_uuid,
                                            unsigned start, unsigned size,
                                            const std::vector<SimGpuInstance>& existing);

/// The smallest CI id in 0..kMaxComputeInstanceId unused in `gi`, as drivers number CIs in creation order;
/// nullopt when all are used.
std::optional<unsigned> AssignComputeInstanceId(const SimGpuInstance& gi);

}  // namespace migctl::sim
