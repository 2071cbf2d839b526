#include "planner/workload_mapping.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "catalog/catalog.h"

namespace migctl::planner {
namespace {

bool SameKey(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

/// The plain profiles' names over `models`, each once, in model then NVML order.
std::string ProfileNames(const std::vector<const GpuModel*>& models) {
  std::vector<std::string> names;
  for (const GpuModel* m : models)
    for (const GiProfile& p : m->gi_profiles)
      if (IsPlannable(p) && std::find(names.begin(), names.end(), p.name) == names.end())
        names.push_back(p.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

Result<Need> ResolveNeed(const std::vector<const GpuModel*>& models, const std::vector<Workload>& workloads,
                         size_t w) {
  const Workload& workload = workloads[w];
  if (!workload.profile) {
    if (!workload.memory_mib && !workload.compute_slices)
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("{} has no need: give a profile, a memory size or compute slices",
                                   WorkloadLabel(workloads, w)));
    return Need{workload.memory_mib.value_or(0), workload.compute_slices.value_or(0)};
  }
  if (workload.memory_mib || workload.compute_slices)
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("{} names profile {} and also a memory or compute need: give one or the other",
                    WorkloadLabel(workloads, w), *workload.profile));
  std::optional<Need> need;
  for (const GpuModel* m : models) {
    const GiProfile* p = m->FindProfile(*workload.profile);
    if (p == nullptr) continue;
    if (!IsPlannable(*p))
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("{}: {} is a media variant, and plan places plain profiles only; ask for the "
                      "plain profile and change it by hand after planning",
                      WorkloadLabel(workloads, w), p->name));
    if (!need) need = Need{p->memory_mib, p->compute_slices};
    need->memory_mib = std::min<unsigned long long>(need->memory_mib, p->memory_mib);
    need->compute_slices = std::min(need->compute_slices, p->compute_slices);
  }
  if (!need)
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("{}: no GPU model of the fleet has profile '{}'; the fleet's profiles are {}",
                    WorkloadLabel(workloads, w), *workload.profile, ProfileNames(models)));
  return *need;
}

/// Which of `models` `workload` allows. kInvalidInput for a key that is neither a fleet model nor built in.
Result<std::vector<bool>> AllowedModels(const std::vector<const GpuModel*>& models,
                                        const std::vector<Workload>& workloads, size_t w) {
  const Workload& workload = workloads[w];
  std::vector<bool> allowed(models.size(), workload.models.empty());
  for (const std::string& key : workload.models) {
    bool known = false;
    for (size_t m = 0; m < models.size(); ++m) {
      if (!SameKey(models[m]->key, key)) continue;
      allowed[m] = true;
      known = true;
    }
    if (!known && !FindModel(key).ok()) {
      std::vector<std::string> keys;
      for (const GpuModel& m : BuiltinModels()) keys.push_back(m.key);
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("{}: unknown GPU model '{}'; known models are {}",
                                   WorkloadLabel(workloads, w), key, fmt::join(keys, ", ")));
    }
  }
  return allowed;
}

}  // namespace

bool IsPlannable(const GiProfile& profile) { return profile.media == MediaKind::kDefault; }

const GiProfile* SmallestProfileForNeed(const GpuModel& model, const Need& need) {
  const GiProfile* best = nullptr;
  for (const GiProfile& p : model.gi_profiles) {
    if (!IsPlannable(p) || p.memory_mib < need.memory_mib || p.compute_slices < need.compute_slices) continue;
    auto rank = [](const GiProfile* q) { return std::tuple(q->memory_mib, q->compute_slices, q->id); };
    if (best == nullptr || rank(&p) < rank(best)) best = &p;
  }
  return best;
}

std::optional<ProfileId> SmallestProfileFor(const GpuModel& model, const Workload& workload) {
  if (workload.profile) {
    const GiProfile* p = model.FindProfile(*workload.profile);
    if (p == nullptr || !IsPlannable(*p)) return std::nullopt;
    return p->id;
  }
  if (!workload.memory_mib && !workload.compute_slices) return std::nullopt;
  const GiProfile* p = SmallestProfileForNeed(
      model, Need{workload.memory_mib.value_or(0), workload.compute_slices.value_or(0)});
  if (p == nullptr) return std::nullopt;
  return p->id;
}

Result<WorkloadMap> MapWorkloads(const std::vector<const GpuModel*>& models,
                                 const std::vector<Workload>& workloads) {
  WorkloadMap map;
  map.models = models;
  for (size_t w = 0; w < workloads.size(); ++w) {
    MIGCTL_ASSIGN_OR_RETURN(Need need, ResolveNeed(models, workloads, w));
    MIGCTL_ASSIGN_OR_RETURN(std::vector<bool> allowed, AllowedModels(models, workloads, w));
    std::vector<const GiProfile*> profiles(models.size(), nullptr);
    for (size_t m = 0; m < models.size(); ++m) {
      if (!allowed[m]) continue;
      const GiProfile* exact = workloads[w].profile ? models[m]->FindProfile(*workloads[w].profile) : nullptr;
      profiles[m] = exact != nullptr ? exact : SmallestProfileForNeed(*models[m], need);
    }
    map.needs.push_back(need);
    map.profile.push_back(std::move(profiles));
    map.allowed.push_back(std::move(allowed));
  }
  return map;
}

std::vector<DemandClass> GroupDemand(const WorkloadMap& map, const std::vector<Workload>& workloads) {
  std::vector<DemandClass> classes;
  std::map<std::pair<unsigned, std::vector<const GiProfile*>>, size_t> index;
  for (size_t w = 0; w < workloads.size(); ++w) {
    const std::vector<const GiProfile*>& profile = map.profile[w];
    bool held = std::any_of(profile.begin(), profile.end(), [](const GiProfile* p) { return p != nullptr; });
    if (workloads[w].count == 0 || !held) continue;
    auto [it, inserted] = index.emplace(std::make_pair(workloads[w].priority, profile), classes.size());
    if (inserted) classes.push_back(DemandClass{workloads[w].priority, profile, {}, 0});
    classes[it->second].workloads.push_back(w);
    classes[it->second].count += workloads[w].count;
  }
  return classes;
}

std::string WorkloadLabel(const std::vector<Workload>& workloads, size_t index) {
  if (workloads[index].name.empty()) return fmt::format("workload {}", index);
  return fmt::format("workload {} ({})", index, workloads[index].name);
}

}  // namespace migctl::planner
