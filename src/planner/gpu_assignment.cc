#include "planner/gpu_assignment.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "layout/feasibility.h"
#include "layout/placement_solver.h"

namespace migctl::planner {
namespace {

/// A GPU while units are dealt: the layout the program chose and who each of its instances serves.
struct Draft {
  size_t model = 0;
  const Layout* current = nullptr;
  const Layout* busy = nullptr;  ///< Of current: kept, serving nothing.
  const CandidateLayout* chosen = nullptr;
  std::vector<int> served_by;
};

/// An instance of a draft: (draft, instance index).
using InstanceRef = std::pair<size_t, size_t>;

bool IsCurrent(const Draft& draft, const PlacedInstance& instance) {
  return std::find(draft.current->begin(), draft.current->end(), instance) != draft.current->end();
}

bool IsBusy(const Draft& draft, const PlacedInstance& instance) {
  return std::find(draft.busy->begin(), draft.busy->end(), instance) != draft.busy->end();
}

/// Instances waiting for units, per (model, profile): current ones before new ones, each in fleet order.
class InstancePool {
 public:
  explicit InstancePool(const std::vector<Draft>& drafts) {
    for (int pass = 0; pass < 2; ++pass)
      for (size_t d = 0; d < drafts.size(); ++d) {
        if (drafts[d].chosen == nullptr) continue;
        const Layout& placements = drafts[d].chosen->placements;
        for (size_t i = 0; i < placements.size(); ++i)
          if (IsCurrent(drafts[d], placements[i]) == (pass == 0) && !IsBusy(drafts[d], placements[i]))
            queues_[{drafts[d].model, placements[i].profile}].refs.push_back({d, i});
      }
  }

  /// The next free instance of `profile` on `model`; nullopt when none is left, which the program's capacity
  /// rows rule out.
  std::optional<InstanceRef> Take(size_t model, ProfileId profile) {
    auto it = queues_.find({model, profile});
    if (it == queues_.end() || it->second.next == it->second.refs.size()) return std::nullopt;
    return it->second.refs[it->second.next++];
  }

 private:
  struct Queue {
    std::vector<InstanceRef> refs;
    size_t next = 0;
  };
  std::map<std::pair<size_t, ProfileId>, Queue> queues_;
};

/// A draft's final layout: its current instances where they are, and the other instances that serve a unit,
/// placed to leave the most room. Memoised: GPUs of one plan repeat a handful of shapes.
class Finisher {
 public:
  explicit Finisher(const WorkloadMap& map) : map_(map) {}

  void Finish(const Draft& draft, PlannedGpu* out) {
    Layout kept, fallback;
    std::vector<int> kept_served, request_served;
    std::vector<ProfileId> requests;
    for (size_t i = 0; i < draft.chosen->placements.size(); ++i) {
      const PlacedInstance& instance = draft.chosen->placements[i];
      if (IsCurrent(draft, instance)) {
        kept.push_back(instance);
        kept_served.push_back(draft.served_by[i]);
      } else if (draft.served_by[i] >= 0) {
        requests.push_back(instance.profile);
        fallback.push_back(instance);
        request_served.push_back(draft.served_by[i]);
      }
    }
    // Sort requests by profile so that equal shapes share one memo entry; the units go with them.
    std::vector<size_t> order(requests.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return requests[a] < requests[b]; });
    std::vector<ProfileId> sorted;
    Layout sorted_fallback;
    for (size_t k : order) {
      sorted.push_back(requests[k]);
      sorted_fallback.push_back(fallback[k]);
    }
    const Layout& placed = Place(draft.model, kept, sorted, sorted_fallback);

    std::vector<std::pair<PlacedInstance, int>> instances;
    for (size_t k = 0; k < kept.size(); ++k) instances.emplace_back(kept[k], kept_served[k]);
    for (size_t k = 0; k < placed.size(); ++k) instances.emplace_back(placed[k], request_served[order[k]]);
    std::sort(instances.begin(), instances.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first.start, a.first.profile) < std::tie(b.first.start, b.first.profile);
    });
    for (const auto& [instance, served] : instances) {
      out->layout.push_back(instance);
      out->served_by.push_back(served);
    }
    out->free_fits = Fits(draft.model, out->layout);
  }

  const std::vector<std::string>& Fits(size_t model, const Layout& layout) {
    auto key = std::make_pair(model, layout);
    auto it = fits_.find(key);
    if (it == fits_.end()) it = fits_.emplace(key, FreeFits(*map_.models[model], layout)).first;
    return it->second;
  }

 private:
  const Layout& Place(size_t model, const Layout& kept, const std::vector<ProfileId>& requests,
                      const Layout& fallback) {
    auto key = std::make_tuple(model, kept, requests);
    auto it = placed_.find(key);
    if (it != placed_.end()) return it->second;
    // The chosen layout itself proves that the requests fit beside `kept`; the fallback is never needed
    // unless the solver and the enumeration disagree, and it is valid either way.
    Result<Layout> placed = SolvePlacements(*map_.models[model], kept, requests);
    return placed_.emplace(key, placed.ok() ? *placed : fallback).first->second;
  }

  const WorkloadMap& map_;
  std::map<std::tuple<size_t, Layout, std::vector<ProfileId>>, Layout> placed_;
  std::map<std::pair<size_t, Layout>, std::vector<std::string>> fits_;
};

}  // namespace

Result<std::vector<PlannedGpu>> AssignGpus(const std::vector<FleetGroup>& fleet,
                                           const std::vector<GpuClass>& classes, const WorkloadMap& map,
                                           const FleetProgram& program, const std::vector<long long>& values,
                                           const std::vector<std::vector<long long>>& served) {
  std::vector<size_t> first(fleet.size() + 1, 0);  // index of each group's first GPU in the output
  for (size_t g = 0; g < fleet.size(); ++g) first[g + 1] = first[g] + fleet[g].count;
  static const Layout kNothing;
  std::vector<Draft> drafts(first.back());
  for (size_t c = 0; c < classes.size(); ++c) {
    size_t next = 0;
    for (const auto& [group, position] : classes[c].members) {
      Draft& draft = drafts[first[group] + position];
      draft.model = classes[c].model;
      draft.current = &classes[c].current;
      draft.busy = &classes[c].busy;
    }
    for (size_t l = 0; l < classes[c].layouts.size(); ++l)
      for (long long k = 0; k < values[program.x(c, l)]; ++k) {
        const auto& [group, position] = classes[c].members.at(next++);
        Draft& draft = drafts[first[group] + position];
        draft.chosen = &classes[c].layouts[l];
        draft.served_by.assign(draft.chosen->placements.size(), -1);
      }
  }

  InstancePool pool(drafts);
  for (size_t w = 0; w < served.size(); ++w)
    for (size_t m = 0; m < map.models.size(); ++m) {
      for (long long k = 0; k < served[w][m]; ++k) {
        std::optional<InstanceRef> instance = pool.Take(m, map.profile[w][m]->id);
        if (!instance)
          return MakeError(
              ErrorCode::kInternal,
              fmt::format("the plan serves more {} units on {} than it has instances for; please "
                          "report this with the command line",
                          map.profile[w][m]->name, map.models[m]->key));
        drafts[instance->first].served_by[instance->second] = static_cast<int>(w);
      }
    }

  std::vector<PlannedGpu> out(drafts.size());
  Finisher finisher(map);
  for (size_t g = 0; g < fleet.size(); ++g)
    for (unsigned i = 0; i < fleet[g].count; ++i) {
      PlannedGpu& gpu = out[first[g] + i];
      gpu.group = g;
      gpu.gpu = fleet[g].gpu_indexes.empty() ? i : fleet[g].gpu_indexes[i];
      const Draft& draft = drafts[first[g] + i];
      if (draft.chosen != nullptr)
        finisher.Finish(draft, &gpu);
      else
        gpu.free_fits = finisher.Fits(draft.model, kNothing);
    }
  return out;
}

std::vector<std::string> FreeFits(const GpuModel& model, const Layout& layout) {
  std::vector<const GiProfile*> profiles;
  for (const GiProfile& p : model.gi_profiles)
    if (IsPlannable(p)) profiles.push_back(&p);
  std::stable_sort(profiles.begin(), profiles.end(), [](const GiProfile* a, const GiProfile* b) {
    return std::tie(b->placement_size, b->compute_slices, b->memory_mib) <
           std::tie(a->placement_size, a->compute_slices, a->memory_mib);
  });
  std::vector<std::string> out;
  for (const GiProfile* p : profiles)
    if (unsigned n = RemainingCapacity(model, layout, p->id); n > 0)
      out.push_back(fmt::format("{} x{}", p->name, n));
  return out;
}

}  // namespace migctl::planner
