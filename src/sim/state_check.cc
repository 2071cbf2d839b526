#include "sim/state_check.h"

#include <map>
#include <set>
#include <string>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "layout/feasibility.h"
#include "sim/engine.h"
#include "sim/instance_ids.h"
#include "sim/machine.h"

namespace migctl::sim {
namespace {

Error Bad(const std::string& where, const std::string& what) {
  return MakeError(ErrorCode::kCorrupt, where + ": " + what);
}

bool Contains(const std::vector<unsigned>& values, unsigned value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

std::string Starts(const std::vector<unsigned>& starts) { return fmt::format("{}", fmt::join(starts, ", ")); }

/// What every placement on an axis of `length` slots needs: a size, and to lie inside the axis.
Status CheckSpan(const std::string& where, unsigned start, unsigned size, unsigned length, const char* axis) {
  if (size == 0) return Bad(where, "a placement needs a size of 1 or more");
  if (start >= length || size > length - start)
    return Bad(where, fmt::format("the placement reaches past the {} {} {}", length, axis,
                                  length == 1 ? "slot" : "slots"));
  return Ok();
}

std::string At(const std::string& where, unsigned start, unsigned size) {
  return fmt::format("{} at start {} size {}", where, start, size);
}

/// `a` and `b` (start, size) share a slot.
bool Overlap(unsigned a_start, unsigned a_size, unsigned b_start, unsigned b_size) {
  return a_start < b_start + b_size && b_start < a_start + a_size;
}

Status CheckComputeInstances(const std::string& gi_where, const SimGpuInstance& gi, const GiProfile& profile,
                             std::set<std::string>& mig_uuids) {
  std::set<unsigned> ids;
  std::map<unsigned, unsigned> per_profile;
  for (size_t n = 0; n < gi.compute_instances.size(); ++n) {
    const SimComputeInstance& ci = gi.compute_instances[n];
    const std::string where = fmt::format("{}: CI {}", gi_where, ci.id);
    if (ci.id > kMaxComputeInstanceId)
      return Bad(where, fmt::format("CI ids go from 0 to {}", kMaxComputeInstanceId));
    if (!ids.insert(ci.id).second) return Bad(where, "the id is used twice in its GI");
    const CiProfile* ci_profile = nullptr;
    for (const CiProfile& p : profile.ci_profiles)
      if (p.id.value() == ci.profile_id) ci_profile = &p;
    if (ci_profile == nullptr)
      return Bad(where,
                 fmt::format("CI profile id {} is not offered inside {}", ci.profile_id, profile.name));
    const std::string at = At(where, ci.start, ci.size);
    MIGCTL_RETURN_IF_ERROR(CheckSpan(at, ci.start, ci.size, profile.compute_slices, "compute"));
    if (ci.size != ci_profile->compute_slices)
      return Bad(at, fmt::format("{} takes {} compute slices", ci_profile->name, ci_profile->compute_slices));
    if (!Contains(ci_profile->starts, ci.start))
      return Bad(at, fmt::format("{} can only start at {}", ci_profile->name, Starts(ci_profile->starts)));
    for (size_t m = 0; m < n; ++m) {
      const SimComputeInstance& other = gi.compute_instances[m];
      if (Overlap(ci.start, ci.size, other.start, other.size))
        return Bad(at,
                   fmt::format("it overlaps CI {} at start {} size {}", other.id, other.start, other.size));
    }
    if (++per_profile[ci.profile_id] > ci_profile->instance_limit)
      return Bad(where,
                 fmt::format("more than {} {} in one GI", ci_profile->instance_limit, ci_profile->name));
    if (ci.uuid.empty() || !mig_uuids.insert(ci.uuid).second)
      return Bad(where, fmt::format("MIG UUID '{}' is empty or used twice", ci.uuid));
  }
  return Ok();
}

Status CheckGpuInstances(const std::string& gpu_where, const SimGpu& gpu, const GpuModel& model,
                         std::set<std::string>& mig_uuids) {
  std::set<unsigned> ids;
  Layout layout;
  for (size_t n = 0; n < gpu.gpu_instances.size(); ++n) {
    const SimGpuInstance& gi = gpu.gpu_instances[n];
    const std::string where = fmt::format("{}: GI {}", gpu_where, gi.id);
    if (gi.id > kMaxGpuInstanceId)
      return Bad(where, fmt::format("GI ids go from 0 to {}", kMaxGpuInstanceId));
    if (!ids.insert(gi.id).second) return Bad(where, "the id is used twice on this GPU");
    const std::string at = At(where, gi.start, gi.size);
    MIGCTL_RETURN_IF_ERROR(CheckSpan(at, gi.start, gi.size, model.memory_slots, "memory"));
    const GiProfile* profile = GiProfileOf(model, gi);
    if (profile == nullptr)
      return Bad(where,
                 fmt::format("profile id {} is not a GPU instance profile of {}", gi.profile_id, model.key));
    if (gi.size != profile->placement_size)
      return Bad(at, fmt::format("{} takes {} memory slots", profile->name, profile->placement_size));
    if (!Contains(profile->starts, gi.start))
      return Bad(at, fmt::format("{} can only start at {}", profile->name, Starts(profile->starts)));
    for (size_t m = 0; m < n; ++m) {
      const SimGpuInstance& other = gpu.gpu_instances[m];
      if (Overlap(gi.start, gi.size, other.start, other.size))
        return Bad(at,
                   fmt::format("it overlaps GI {} at start {} size {}", other.id, other.start, other.size));
    }
    const PlacedInstance placed{profile->id, gi.start};
    if (Conflict conflict = CheckAddition(model, layout, placed); conflict != Conflict::kNone)
      return Bad(where, ExplainConflict(model, layout, placed, conflict));
    layout.push_back(placed);
    MIGCTL_RETURN_IF_ERROR(CheckComputeInstances(where, gi, *profile, mig_uuids));
  }
  return Ok();
}

Status CheckProcesses(const std::string& gpu_where, const SimGpu& gpu, const GpuModel& model,
                      std::map<unsigned, std::string>& pids) {
  for (const SimProcess& p : gpu.processes) {
    const std::string where = fmt::format("{}: process {}", gpu_where, p.pid);
    if (p.pid == 0 || p.pid > kMaxPid) return Bad(where, fmt::format("a pid goes from 1 to {}", kMaxPid));
    if (auto [it, added] = pids.emplace(p.pid, gpu_where); !added)
      return Bad(where, fmt::format("pid {} is also on {}", p.pid, it->second));
    if (p.ci && !p.gi) return Bad(where, "a compute instance needs its GPU instance (gpu_instance_id)");
    if (p.gi) {
      const SimGpuInstance* gi = FindGpuInstance(gpu, *p.gi);
      if (gi == nullptr) return Bad(where, fmt::format("it runs on GI {}, which does not exist", *p.gi));
      if (p.ci && FindComputeInstance(*gi, *p.ci) == nullptr)
        return Bad(where, fmt::format("it runs on CI {} of GI {}, which does not exist", *p.ci, *p.gi));
    }
    if (p.used_mib > model.memory_mib)
      return Bad(where,
                 fmt::format("it uses {} MiB, more than the GPU's {} MiB", p.used_mib, model.memory_mib));
  }
  return Ok();
}

}  // namespace

Status CheckMachineState(const MachineState& state) {
  if (state.gpus.size() > kMaxGpus)
    return Bad("state", fmt::format("{} GPUs, more than the {} a simulated machine may have",
                                    state.gpus.size(), kMaxGpus));
  std::map<std::string, size_t> uuids, buses;
  std::map<unsigned, size_t> minors;
  std::set<std::string> mig_uuids;
  std::map<unsigned, std::string> pids;
  for (size_t i = 0; i < state.gpus.size(); ++i) {
    const SimGpu& gpu = state.gpus[i];
    const std::string where = fmt::format("GPU {}", i);
    Result<const GpuModel*> model = FindModel(gpu.model);
    if (!model.ok()) return Bad(where, model.error().message);
    if (gpu.uuid.empty()) return Bad(where, "'uuid' is empty");
    if (auto [it, added] = uuids.emplace(gpu.uuid, i); !added)
      return Bad(where, fmt::format("uuid {} is also GPU {}'s", gpu.uuid, it->second));
    if (gpu.pci_bus_id.empty()) return Bad(where, "'pci_bus_id' is empty");
    if (auto [it, added] = buses.emplace(gpu.pci_bus_id, i); !added)
      return Bad(where, fmt::format("pci_bus_id {} is also GPU {}'s", gpu.pci_bus_id, it->second));
    if (auto [it, added] = minors.emplace(gpu.minor, i); !added)
      return Bad(where, fmt::format("minor {} is also GPU {}'s", gpu.minor, it->second));
    for (const auto& [name, mode] :
         {std::pair{"current", gpu.mig_current}, std::pair{"pending", gpu.mig_pending}})
      if (mode > 1)
        return Bad(where,
                   fmt::format("mig_mode {} is {}; it must be 0 (disabled) or 1 (enabled)", name, mode));
    if (gpu.mig_current == 0 && !gpu.gpu_instances.empty())
      return Bad(where, "MIG mode is disabled, yet it has GPU instances");
    MIGCTL_RETURN_IF_ERROR(CheckGpuInstances(where, gpu, **model, mig_uuids));
    MIGCTL_RETURN_IF_ERROR(CheckProcesses(where, gpu, **model, pids));
  }
  return Ok();
}

}  // namespace migctl::sim
