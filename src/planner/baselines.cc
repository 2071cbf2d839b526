#include "planner/baselines.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "layout/enumerate.h"
#include "layout/feasibility.h"
#include "layout/placement_solver.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {
namespace {

/// One unit of work: a copy of a workload, with its profile on each group's model (nullopt: not there).
struct Unit {
  size_t workload = 0;
  unsigned priority = 0;
  std::vector<std::optional<ProfileId>> profile;  // By fleet group.
  const GiProfile* key = nullptr;  // Its profile on the first group that takes it: the sort key.
};

/// Larger by memory, then compute slices.
bool Larger(const GiProfile& a, const GiProfile& b) {
  if (a.memory_mib != b.memory_mib) return a.memory_mib > b.memory_mib;
  return a.compute_slices > b.compute_slices;
}

Status CheckFleet(const std::vector<FleetGroup>& fleet) {
  if (fleet.empty()) return MakeError(ErrorCode::kInvalidInput, "the fleet is empty; give at least one GPU");
  for (const FleetGroup& g : fleet)
    if (g.model == nullptr) return MakeError(ErrorCode::kInvalidInput, "a fleet group has no GPU model");
  return Ok();
}

std::vector<Unit> MakeUnits(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads) {
  std::vector<Unit> units;
  for (size_t w = 0; w < workloads.size(); ++w) {
    const Workload& workload = workloads[w];
    Unit unit{w, workload.priority, {}, nullptr};
    for (const FleetGroup& g : fleet) {
      const bool allowed =
          workload.models.empty() ||
          std::find(workload.models.begin(), workload.models.end(), g.model->key) != workload.models.end();
      unit.profile.push_back(allowed ? SmallestProfileFor(*g.model, workload) : std::nullopt);
      if (unit.key == nullptr && unit.profile.back()) unit.key = g.model->FindProfile(*unit.profile.back());
    }
    units.insert(units.end(), workload.count, unit);
  }
  return units;
}

BaselinePlan EmptyPlan(const std::vector<FleetGroup>& fleet) {
  BaselinePlan plan;
  for (size_t g = 0; g < fleet.size(); ++g)
    for (unsigned i = 0; i < fleet[g].count; ++i) plan.gpus.push_back({g, i, {}, {}});
  return plan;
}

void Tally(BaselinePlan* plan, size_t units) {
  for (const BaselineGpu& gpu : plan->gpus) {
    plan->gpus_used += !gpu.layout.empty();
    plan->placed += static_cast<unsigned>(gpu.layout.size());
  }
  plan->unplaced = static_cast<unsigned>(units) - plan->placed;
}

std::vector<ProfileId> ProfilesOf(const Layout& layout) {
  std::vector<ProfileId> ids;
  for (const PlacedInstance& i : layout) ids.push_back(i.profile);
  return ids;
}

/// Adds `profile` to `gpu`, rearranging its instances when only that makes room. False when it cannot fit.
bool TryAdd(const GpuModel& model, BaselineGpu* gpu, ProfileId profile, size_t workload) {
  if (RemainingCapacity(model, gpu->layout, profile) > 0) {
    Result<Layout> added = SolvePlacements(model, gpu->layout, {profile});
    if (!added.ok()) return false;
    gpu->layout.push_back(added->front());
  } else {
    std::vector<ProfileId> all = ProfilesOf(gpu->layout);
    all.push_back(profile);
    Result<Layout> rearranged = SolvePlacements(model, {}, all);  // One placement per request, in order.
    if (!rearranged.ok()) return false;
    gpu->layout = std::move(*rearranged);
  }
  gpu->served_by.push_back(workload);
  return true;
}

// --- nos ---

using Counts = std::map<ProfileId, unsigned>;

Counts CountsOf(const Layout& layout) {
  Counts counts;
  for (const PlacedInstance& i : layout) ++counts[i.profile];
  return counts;
}

unsigned CountOf(const Counts& counts, ProfileId p) {
  auto it = counts.find(p);
  return it == counts.end() ? 0 : it->second;
}

/// A GPU as nos sees it: used devices (serving units) and free ones, both placed.
struct NosGpu {
  Layout used;
  std::vector<size_t> served_by;
  Layout free;
};

/// nos `GPU.UpdateGeometryFor`: applies the allowed geometry that provides most of `lacking`, if any provides
/// some. The free instances are placed beside the used ones, which stay.
void UpdateGeometryFor(const GpuModel& model, const std::vector<Counts>& geometries, const Counts& lacking,
                       NosGpu* gpu) {
  const Counts used = CountsOf(gpu->used), free = CountsOf(gpu->free);
  unsigned best_score = 0;
  std::optional<Layout> best_free;
  for (const Counts& geometry : geometries) {
    bool keeps_used = true;
    for (const auto& [p, n] : used) keeps_used = keeps_used && CountOf(geometry, p) >= n;
    if (!keeps_used) continue;
    unsigned score = 0;
    for (const auto& [p, wanted] : lacking) {
      if (CountOf(free, p) >= wanted) continue;
      const int provided = static_cast<int>(CountOf(geometry, p)) - static_cast<int>(CountOf(used, p));
      score += static_cast<unsigned>(std::clamp(provided, 0, static_cast<int>(wanted)));
    }
    if (score <= best_score) continue;
    std::vector<ProfileId> to_create;
    for (const auto& [p, n] : geometry) to_create.insert(to_create.end(), n - CountOf(used, p), p);
    Result<Layout> placed = SolvePlacements(model, gpu->used, to_create);
    if (!placed.ok()) continue;
    best_score = score;
    best_free = std::move(*placed);
  }
  if (best_free) gpu->free = std::move(*best_free);
}

/// Stands in for nos's `knownMigGeometries`: the maximal combinations of the model's plain profiles, largest
/// profiles first (EnumerateCombinations' order).
std::vector<Counts> AllowedGeometries(const GpuModel& model) {
  EnumerateOptions plain{.maximal_only = true};
  for (const GiProfile& p : model.gi_profiles)
    if (IsPlannable(p)) plain.profiles.push_back(p.id);
  std::vector<Counts> geometries;
  for (const Combination& c : EnumerateCombinations(model, plain))
    geometries.push_back(CountsOf(c.placements));
  return geometries;
}

/// nos's lacking profiles for a GPU of `group`: the pending units' profiles on its model, less the free
/// instances of every GPU of that model.
Counts Lacking(const BaselinePlan& plan, const std::vector<FleetGroup>& fleet, const std::vector<Unit>& units,
               const std::vector<bool>& pending, const std::vector<NosGpu>& gpus, size_t group) {
  Counts lacking;
  for (size_t u = 0; u < units.size(); ++u)
    if (pending[u] && units[u].profile[group]) ++lacking[*units[u].profile[group]];
  for (size_t j = 0; j < gpus.size(); ++j) {
    if (fleet[plan.gpus[j].group].model != fleet[group].model) continue;
    for (const PlacedInstance& f : gpus[j].free)
      if (auto it = lacking.find(f.profile); it != lacking.end() && it->second > 0) --it->second;
  }
  std::erase_if(lacking, [](const auto& entry) { return entry.second == 0; });
  return lacking;
}

/// Every pending unit, in order, takes a free instance of its profile on `gpu` (a GPU of `group`) if there
/// is one. Returns how many did.
unsigned TakeFreeInstances(const std::vector<Unit>& units, size_t group, std::vector<bool>* pending,
                           NosGpu* gpu) {
  unsigned taken = 0;
  for (size_t u = 0; u < units.size(); ++u) {
    if (!(*pending)[u] || !units[u].profile[group]) continue;
    auto it = std::find_if(gpu->free.begin(), gpu->free.end(),
                           [&](const PlacedInstance& f) { return f.profile == *units[u].profile[group]; });
    if (it == gpu->free.end()) continue;
    gpu->used.push_back(*it);
    gpu->served_by.push_back(units[u].workload);
    gpu->free.erase(it);
    (*pending)[u] = false;
    ++taken;
  }
  return taken;
}

// --- DRA ---

std::string DnsLabel(std::string_view profile_name) {
  std::string out;
  for (char c : profile_name) {
    if (c == '.') continue;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' ? c : '-';
  }
  const size_t first = out.find_first_not_of('-'), last = out.find_last_not_of('-');
  return first == std::string::npos ? "" : out.substr(first, last - first + 1);
}

/// The devices of one GPU of `model` in ResourceSlice order. The `gpu-<i>-` prefix is common to all of
/// them, so the order does not depend on i.
std::vector<PlacedInstance> DeviceOrder(const GpuModel& model) {
  std::vector<std::pair<std::string, PlacedInstance>> named;
  for (const GiProfile& p : model.gi_profiles)
    for (unsigned start : p.starts) named.push_back({DraDeviceName(0, p, start), {p.id, start}});
  std::sort(named.begin(), named.end());
  std::vector<PlacedInstance> devices;
  for (auto& [name, device] : named) devices.push_back(device);
  return devices;
}

}  // namespace

std::string DraDeviceName(unsigned gpu, const GiProfile& profile, unsigned start) {
  return fmt::format("gpu-{}-mig-{}-{}-{}", gpu, DnsLabel(profile.name), profile.id.value(), start);
}

Result<BaselinePlan> FirstFitDecreasing(const std::vector<FleetGroup>& fleet,
                                        const std::vector<Workload>& workloads) {
  MIGCTL_RETURN_IF_ERROR(CheckFleet(fleet));
  std::vector<Unit> units = MakeUnits(fleet, workloads);
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
    if (!a.key || !b.key) return a.key != nullptr && b.key == nullptr;
    return Larger(*a.key, *b.key);
  });
  BaselinePlan plan = EmptyPlan(fleet);
  for (const Unit& unit : units) {
    auto try_gpus = [&](bool in_use) {
      for (BaselineGpu& gpu : plan.gpus) {
        const std::optional<ProfileId>& p = unit.profile[gpu.group];
        if (p && gpu.layout.empty() != in_use && TryAdd(*fleet[gpu.group].model, &gpu, *p, unit.workload))
          return true;
      }
      return false;
    };
    if (!try_gpus(true)) try_gpus(false);
  }
  Tally(&plan, units.size());
  return plan;
}

Result<BaselinePlan> NosRule(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads) {
  MIGCTL_RETURN_IF_ERROR(CheckFleet(fleet));
  std::vector<Unit> units = MakeUnits(fleet, workloads);
  std::stable_sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    if (!a.key || !b.key) return a.key != nullptr && b.key == nullptr;
    return Larger(*b.key, *a.key);
  });
  std::map<const GpuModel*, std::vector<Counts>> geometries;
  for (const FleetGroup& g : fleet)
    if (!geometries.count(g.model)) geometries[g.model] = AllowedGeometries(*g.model);
  BaselinePlan plan = EmptyPlan(fleet);
  std::vector<NosGpu> gpus(plan.gpus.size());
  std::vector<bool> pending(units.size(), true);
  size_t left = units.size();
  for (bool progress = true; progress && left > 0;) {
    progress = false;
    for (size_t i = 0; i < gpus.size() && left > 0; ++i) {
      const size_t group = plan.gpus[i].group;
      const GpuModel* model = fleet[group].model;
      const NosGpu before = gpus[i];
      UpdateGeometryFor(*model, geometries[model], Lacking(plan, fleet, units, pending, gpus, group),
                        &gpus[i]);
      const unsigned added = TakeFreeInstances(units, group, &pending, &gpus[i]);
      left -= added;
      if (added == 0) gpus[i] = before;
      progress = progress || added > 0;
    }
  }
  for (size_t i = 0; i < gpus.size(); ++i) {
    plan.gpus[i].layout = std::move(gpus[i].used);
    plan.gpus[i].served_by = std::move(gpus[i].served_by);
  }
  Tally(&plan, units.size());
  return plan;
}

std::vector<std::optional<std::pair<size_t, PlacedInstance>>> NosPass(const GpuModel& model,
                                                                     std::vector<NosGpuState>* gpus,
                                                                     const std::vector<ProfileId>& pending) {
  std::vector<size_t> order(pending.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return Larger(*model.FindProfile(pending[b]), *model.FindProfile(pending[a]));
  });
  const std::vector<Counts> geometries = AllowedGeometries(model);
  std::vector<std::optional<std::pair<size_t, PlacedInstance>>> taken(pending.size());
  size_t left = pending.size();
  for (bool progress = true; progress && left > 0;) {
    progress = false;
    for (size_t i = 0; i < gpus->size() && left > 0; ++i) {
      Counts lacking;
      for (size_t k : order)
        if (!taken[k]) ++lacking[pending[k]];
      for (const NosGpuState& g : *gpus)
        for (const PlacedInstance& f : g.free)
          if (auto it = lacking.find(f.profile); it != lacking.end() && it->second > 0) --it->second;
      std::erase_if(lacking, [](const auto& entry) { return entry.second == 0; });
      NosGpu gpu{(*gpus)[i].used, std::vector<size_t>((*gpus)[i].used.size(), 0), (*gpus)[i].free};
      UpdateGeometryFor(model, geometries, lacking, &gpu);
      unsigned added = 0;
      std::vector<std::optional<std::pair<size_t, PlacedInstance>>> now = taken;
      for (size_t k : order) {
        if (now[k]) continue;
        auto it = std::find_if(gpu.free.begin(), gpu.free.end(),
                               [&](const PlacedInstance& f) { return f.profile == pending[k]; });
        if (it == gpu.free.end()) continue;
        now[k] = std::make_pair(i, *it);
        gpu.used.push_back(*it);
        gpu.free.erase(it);
        ++added;
      }
      if (added == 0) continue;  // nos reverts a GPU where nothing was placed
      taken = std::move(now);
      (*gpus)[i] = {gpu.used, gpu.free};
      left -= added;
      progress = true;
    }
  }
  return taken;
}

Result<BaselinePlan> DraFirstFit(const std::vector<FleetGroup>& fleet,
                                 const std::vector<Workload>& workloads) {
  MIGCTL_RETURN_IF_ERROR(CheckFleet(fleet));
  const std::vector<Unit> units = MakeUnits(fleet, workloads);
  std::map<const GpuModel*, std::vector<PlacedInstance>> devices;
  for (const FleetGroup& g : fleet)
    if (!devices.count(g.model)) devices[g.model] = DeviceOrder(*g.model);
  BaselinePlan plan = EmptyPlan(fleet);
  for (const Unit& unit : units) {
    bool placed = false;
    for (BaselineGpu& gpu : plan.gpus) {
      const std::optional<ProfileId>& p = unit.profile[gpu.group];
      if (!p) continue;
      const GpuModel& model = *fleet[gpu.group].model;
      for (const PlacedInstance& device : devices[&model]) {
        if (device.profile != *p || CheckAddition(model, gpu.layout, device) != Conflict::kNone) continue;
        gpu.layout.push_back(device);
        gpu.served_by.push_back(unit.workload);
        placed = true;
        break;
      }
      if (placed) break;
    }
  }
  Tally(&plan, units.size());
  return plan;
}

}  // namespace migctl::planner
