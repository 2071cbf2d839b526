#include "planner/layout_catalog.h"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "catalog/catalog.h"
#include "layout/enumerate.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {
namespace {

/// Instances per profile of `layout`, leaving out those in `busy`.
std::vector<std::pair<ProfileId, unsigned>> CountProfiles(const Layout& layout, const Layout& busy = {}) {
  std::map<ProfileId, unsigned> counts;
  for (const PlacedInstance& i : layout)
    if (std::find(busy.begin(), busy.end(), i) == busy.end()) ++counts[i.profile];
  return {counts.begin(), counts.end()};
}

/// Every instance of `small` is matched by one of `large` (both sorted by profile id).
bool Contains(const std::vector<std::pair<ProfileId, unsigned>>& large,
              const std::vector<std::pair<ProfileId, unsigned>>& small) {
  for (const auto& [profile, count] : small) {
    auto it = std::lower_bound(large.begin(), large.end(), std::make_pair(profile, 0u));
    if (it == large.end() || it->first != profile || it->second < count) return false;
  }
  return true;
}

unsigned CountKept(const Layout& layout, const Layout& current) {
  unsigned kept = 0;
  for (const PlacedInstance& i : current)
    if (std::find(layout.begin(), layout.end(), i) != layout.end()) ++kept;
  return kept;
}

std::vector<ProfileId> Plannable(const GpuModel& model) {
  std::vector<ProfileId> out;
  for (const GiProfile& p : model.gi_profiles)
    if (IsPlannable(p)) out.push_back(p.id);
  return out;
}

std::vector<CandidateLayout> ComputeFreshLayouts(const GpuModel& model) {
  std::vector<CandidateLayout> out;
  for (Combination& c : EnumerateCombinations(model, {.maximal_only = true, .profiles = Plannable(model)}))
    out.push_back({c.placements, CountProfiles(c.placements), 0});
  return out;
}

std::vector<CandidateLayout> ComputeLayoutsKeeping(const GpuModel& model, const Layout& current,
                                                  const Layout& busy) {
  std::vector<ProfileId> profiles = Plannable(model);
  for (const PlacedInstance& i : current)
    if (std::find(profiles.begin(), profiles.end(), i.profile) == profiles.end())
      profiles.push_back(i.profile);

  // Keyed by the free multiset: with the busy instances fixed in every candidate, that is what serves work.
  std::map<std::vector<std::pair<ProfileId, unsigned>>, CandidateLayout> best;
  for (Layout& layout : EnumerateLayouts(model, {.maximal_only = true, .profiles = profiles})) {
    if (CountKept(layout, busy) != busy.size()) continue;
    CandidateLayout candidate{layout, CountProfiles(layout, busy), CountKept(layout, current)};
    auto [it, inserted] = best.emplace(candidate.counts, candidate);
    if (!inserted && candidate.kept > it->second.kept) it->second = std::move(candidate);
  }
  std::vector<CandidateLayout> all;
  for (auto& entry : best) all.push_back(std::move(entry.second));
  std::vector<CandidateLayout> out;
  for (size_t a = 0; a < all.size(); ++a) {
    bool dominated = false;
    for (size_t b = 0; b < all.size() && !dominated; ++b)
      dominated = b != a && all[b].kept >= all[a].kept && Contains(all[b].counts, all[a].counts) &&
                  all[b].counts != all[a].counts;
    if (!dominated) out.push_back(all[a]);
  }
  return out;
}

/// Enumerating a model's layouts takes milliseconds, far more than solving a plan, so the results for
/// built-in models (which live as long as the process, see catalog.h) are kept. Other models are computed
/// each time: nothing says how long they live.
class Memo {
 public:
  std::vector<CandidateLayout> Get(const GpuModel& model, const Layout& current, const Layout& busy) {
    const std::vector<GpuModel>& builtin = BuiltinModels();
    std::less<const GpuModel*> before;
    bool is_builtin = !before(&model, builtin.data()) && before(&model, builtin.data() + builtin.size());
    if (!is_builtin) return Compute(model, current, busy);
    std::lock_guard<std::mutex> lock(mutex_);
    auto key = std::make_tuple(&model, current, busy);
    auto it = layouts_.find(key);
    if (it == layouts_.end()) it = layouts_.emplace(key, Compute(model, current, busy)).first;
    return it->second;
  }

 private:
  static std::vector<CandidateLayout> Compute(const GpuModel& model, const Layout& current,
                                              const Layout& busy) {
    return current.empty() ? ComputeFreshLayouts(model) : ComputeLayoutsKeeping(model, current, busy);
  }

  std::mutex mutex_;
  std::map<std::tuple<const GpuModel*, Layout, Layout>, std::vector<CandidateLayout>> layouts_;
};

Memo& TheMemo() {
  static Memo* memo = new Memo;  // never destroyed, like the catalog it caches for
  return *memo;
}

}  // namespace

std::vector<CandidateLayout> FreshLayouts(const GpuModel& model) { return TheMemo().Get(model, {}, {}); }

std::vector<CandidateLayout> LayoutsKeeping(const GpuModel& model, const Layout& current, const Layout& busy) {
  Layout sorted = current, sorted_busy = busy;
  SortLayout(&sorted);
  SortLayout(&sorted_busy);
  return sorted.empty() ? FreshLayouts(model) : TheMemo().Get(model, sorted, sorted_busy);
}

}  // namespace migctl::planner
