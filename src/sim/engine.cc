#include "sim/engine.h"

#include <algorithm>

#include "layout/feasibility.h"
#include "layout/placement_solver.h"
#include "sim/instance_ids.h"
#include "sim/uuid.h"

namespace migctl::sim {
namespace {

bool HasProcesses(const SimGpu& gpu) { return !gpu.processes.empty(); }

bool HoldsWholeGpu(const SimGpu& gpu) {
  return std::ranges::any_of(gpu.processes, [](const SimProcess& p) { return !p.gi.has_value(); });
}

bool RunsOnGi(const SimGpu& gpu, unsigned gi_id) {
  return std::ranges::any_of(gpu.processes, [&](const SimProcess& p) { return p.gi == gi_id; });
}

bool RunsOnCi(const SimGpu& gpu, unsigned gi_id, unsigned ci_id) {
  return std::ranges::any_of(gpu.processes,
                             [&](const SimProcess& p) { return p.gi == gi_id && p.ci == ci_id; });
}

bool Contains(const std::vector<unsigned>& values, unsigned value) {
  return std::ranges::find(values, value) != values.end();
}

/// Bit i set = compute slice i of the GI is taken by a CI.
unsigned UsedComputeSlices(const SimGpuInstance& gi) {
  unsigned mask = 0;
  for (const SimComputeInstance& ci : gi.compute_instances) mask |= SlotsOf(ci.start, ci.size);
  return mask;
}

unsigned CountOfProfile(const SimGpuInstance& gi, unsigned ci_profile_id) {
  return static_cast<unsigned>(std::ranges::count_if(
      gi.compute_instances, [&](const SimComputeInstance& ci) { return ci.profile_id == ci_profile_id; }));
}

nvmlReturn_t ConflictToReturn(Conflict conflict) {
  switch (conflict) {
    case Conflict::kNone:
      return NVML_SUCCESS;
    case Conflict::kUnknownProfile:
    case Conflict::kBadStart:
      return NVML_ERROR_INVALID_ARGUMENT;
    case Conflict::kOverlap:
    case Conflict::kComputeExceeded:
    case Conflict::kInstanceLimit:
    case Conflict::kMediaExclusive:
      return NVML_ERROR_INSUFFICIENT_RESOURCES;
  }
  return NVML_ERROR_UNKNOWN;
}

}  // namespace

Layout LayoutOf(const SimGpu& gpu) {
  Layout layout;
  for (const SimGpuInstance& gi : gpu.gpu_instances) layout.push_back({ProfileId(gi.profile_id), gi.start});
  return layout;
}

std::optional<unsigned> ChooseGpuInstanceStart(const GpuModel& model, const Layout& layout,
                                               const GiProfile& profile) {
  std::optional<unsigned> best;
  Room best_room;
  for (unsigned start : profile.starts) {  // Ascending, so a tie keeps the lowest start.
    PlacedInstance candidate{profile.id, start};
    if (CheckAddition(model, layout, candidate) != Conflict::kNone) continue;
    Layout next = layout;
    next.push_back(candidate);
    Room room = ComputeRoom(model, next);
    if (!best || room > best_room) {
      best = start;
      best_room = std::move(room);
    }
  }
  return best;
}

nvmlReturn_t CreateGpuInstance(const GpuModel& model, SimGpu& gpu, unsigned profile_id,
                               std::optional<Placement> placement, unsigned* gi_id) {
  if (gpu.mig_current != NVML_DEVICE_MIG_ENABLE) return NVML_ERROR_NOT_SUPPORTED;
  const GiProfile* profile = model.FindProfile(ProfileId(profile_id));
  if (!profile) return NVML_ERROR_INVALID_ARGUMENT;
  Layout layout = LayoutOf(gpu);
  unsigned start = 0;
  if (placement) {
    if (placement->size != profile->placement_size || !Contains(profile->starts, placement->start)) {
      return NVML_ERROR_INVALID_ARGUMENT;
    }
    start = placement->start;
    if (nvmlReturn_t ret = ConflictToReturn(CheckAddition(model, layout, {profile->id, start}));
        ret != NVML_SUCCESS) {
      return ret;
    }
  } else {
    std::optional<unsigned> chosen = ChooseGpuInstanceStart(model, layout, *profile);
    if (!chosen) return NVML_ERROR_INSUFFICIENT_RESOURCES;
    start = *chosen;
  }
  if (HoldsWholeGpu(gpu)) return NVML_ERROR_IN_USE;
  std::optional<unsigned> id =
      AssignGpuInstanceId(model, gpu.uuid, start, profile->placement_size, gpu.gpu_instances);
  if (!id) return NVML_ERROR_INSUFFICIENT_RESOURCES;
  gpu.gpu_instances.push_back({*id, profile_id, start, profile->placement_size, {}});
  std::ranges::sort(gpu.gpu_instances, {}, &SimGpuInstance::id);
  ++gpu.creations;
  *gi_id = *id;
  return NVML_SUCCESS;
}

nvmlReturn_t DestroyGpuInstance(SimGpu& gpu, unsigned gi_id) {
  const SimGpuInstance* gi = FindGpuInstance(gpu, gi_id);
  if (!gi) return NVML_ERROR_NOT_FOUND;
  if (!gi->compute_instances.empty() || RunsOnGi(gpu, gi_id)) return NVML_ERROR_IN_USE;
  std::erase_if(gpu.gpu_instances, [&](const SimGpuInstance& g) { return g.id == gi_id; });
  return NVML_SUCCESS;
}

const GiProfile* GiProfileOf(const GpuModel& model, const SimGpuInstance& gi) {
  return model.FindProfile(ProfileId(gi.profile_id));
}

nvmlReturn_t FindCiProfile(const GpuModel& model, const SimGpuInstance& gi, unsigned ci_profile_id,
                           const CiProfile** out) {
  if (ci_profile_id >= kComputeInstanceProfileCount) return NVML_ERROR_INVALID_ARGUMENT;
  const GiProfile* gi_profile = GiProfileOf(model, gi);
  if (!gi_profile) return NVML_ERROR_UNKNOWN;
  auto it = std::ranges::find_if(gi_profile->ci_profiles,
                                 [&](const CiProfile& p) { return p.id.value() == ci_profile_id; });
  if (it == gi_profile->ci_profiles.end()) return NVML_ERROR_NOT_SUPPORTED;
  *out = &*it;
  return NVML_SUCCESS;
}

unsigned ComputeInstanceRemainingCapacity(const SimGpuInstance& gi, const CiProfile& ci_profile) {
  unsigned existing = CountOfProfile(gi, ci_profile.id.value());
  if (existing >= ci_profile.instance_limit) return 0;
  unsigned used = UsedComputeSlices(gi);
  unsigned fits = 0;
  for (unsigned start : ci_profile.starts) {  // Greedy by start is optimal for equal-size intervals.
    unsigned slots = SlotsOf(start, ci_profile.compute_slices);
    if ((used & slots) == 0) {
      used |= slots;
      ++fits;
    }
  }
  return std::min(fits, ci_profile.instance_limit - existing);
}

nvmlReturn_t CreateComputeInstance(const GpuModel& model, SimGpu& gpu, unsigned gi_id, unsigned ci_profile_id,
                                   std::optional<Placement> placement, unsigned* ci_id) {
  SimGpuInstance* gi = FindGpuInstance(gpu, gi_id);
  if (!gi) return NVML_ERROR_NOT_FOUND;
  const CiProfile* profile = nullptr;
  if (nvmlReturn_t ret = FindCiProfile(model, *gi, ci_profile_id, &profile); ret != NVML_SUCCESS) return ret;
  unsigned used = UsedComputeSlices(*gi);
  auto fits = [&](unsigned start) { return (used & SlotsOf(start, profile->compute_slices)) == 0; };
  std::optional<unsigned> start;
  if (placement) {
    if (placement->size != profile->compute_slices || !Contains(profile->starts, placement->start)) {
      return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (fits(placement->start)) start = placement->start;
  } else {
    auto it = std::ranges::find_if(profile->starts, fits);
    if (it != profile->starts.end()) start = *it;
  }
  if (!start || CountOfProfile(*gi, ci_profile_id) >= profile->instance_limit) {
    return NVML_ERROR_INSUFFICIENT_RESOURCES;
  }
  std::optional<unsigned> id = AssignComputeInstanceId(*gi);
  if (!id) return NVML_ERROR_INSUFFICIENT_RESOURCES;
  ++gpu.creations;
  gi->compute_instances.push_back({*id, ci_profile_id, *start, profile->compute_slices,
                                   MakeMigUuid(gpu.uuid, gi_id, *id, gpu.creations)});
  std::ranges::sort(gi->compute_instances, {}, &SimComputeInstance::id);
  *ci_id = *id;
  return NVML_SUCCESS;
}

nvmlReturn_t DestroyComputeInstance(SimGpu& gpu, unsigned gi_id, unsigned ci_id) {
  SimGpuInstance* gi = FindGpuInstance(gpu, gi_id);
  if (!gi || !FindComputeInstance(*gi, ci_id)) return NVML_ERROR_NOT_FOUND;
  if (RunsOnCi(gpu, gi_id, ci_id)) return NVML_ERROR_IN_USE;
  std::erase_if(gi->compute_instances, [&](const SimComputeInstance& c) { return c.id == ci_id; });
  return NVML_SUCCESS;
}

nvmlReturn_t SetMigMode(const GpuModel& model, SimGpu& gpu, unsigned mode, nvmlReturn_t* activation) {
  if (mode != NVML_DEVICE_MIG_DISABLE && mode != NVML_DEVICE_MIG_ENABLE) return NVML_ERROR_INVALID_ARGUMENT;
  if (mode == NVML_DEVICE_MIG_DISABLE && !gpu.gpu_instances.empty()) return NVML_ERROR_IN_USE;
  gpu.mig_pending = mode;
  if (gpu.mig_current == mode) {
    *activation = NVML_SUCCESS;
  } else if (model.ModeChangeNeedsReset()) {
    *activation = NVML_ERROR_RESET_REQUIRED;
  } else if (HasProcesses(gpu)) {
    *activation = NVML_ERROR_IN_USE;
  } else {
    gpu.mig_current = mode;
    *activation = NVML_SUCCESS;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t ResetGpu(SimGpu& gpu) {
  if (HasProcesses(gpu)) return NVML_ERROR_IN_USE;
  gpu.mig_current = gpu.mig_pending;
  gpu.gpu_instances.clear();
  return NVML_SUCCESS;
}

}  // namespace migctl::sim
