#include "layout/enumerate.h"

#include <algorithm>
#include <map>
#include <set>

#include "layout/feasibility.h"
#include "layout/placement_solver.h"

namespace migctl {
namespace {

std::vector<PlacedInstance> Candidates(const GpuModel& model, const EnumerateOptions& options) {
  std::vector<PlacedInstance> out;
  for (const GiProfile& p : model.gi_profiles) {
    if (!options.profiles.empty() &&
        std::find(options.profiles.begin(), options.profiles.end(), p.id) == options.profiles.end())
      continue;
    for (unsigned s : p.starts) out.push_back({p.id, s});
  }
  std::sort(out.begin(), out.end(), [](const PlacedInstance& a, const PlacedInstance& b) {
    return a.start != b.start ? a.start < b.start : a.profile < b.profile;
  });
  return out;
}

bool IsMaximal(const GpuModel& model, const Layout& layout, const std::vector<PlacedInstance>& candidates) {
  for (const PlacedInstance& c : candidates)
    if (CheckAddition(model, layout, c) == Conflict::kNone) return false;
  return true;
}

void Walk(const GpuModel& model, const std::vector<PlacedInstance>& candidates, size_t next, Layout& current,
          bool maximal_only, std::vector<Layout>& out) {
  if (!current.empty() && (!maximal_only || IsMaximal(model, current, candidates))) out.push_back(current);
  for (size_t i = next; i < candidates.size(); ++i) {
    if (CheckAddition(model, current, candidates[i]) != Conflict::kNone) continue;
    current.push_back(candidates[i]);
    Walk(model, candidates, i + 1, current, maximal_only, out);
    current.pop_back();
  }
}

std::vector<ProfileId> Multiset(const GpuModel& model, const Layout& layout) {
  std::vector<ProfileId> ids;
  for (const PlacedInstance& i : layout) ids.push_back(i.profile);
  std::sort(ids.begin(), ids.end(), [&](ProfileId a, ProfileId b) {
    const GiProfile* pa = model.FindProfile(a);
    const GiProfile* pb = model.FindProfile(b);
    if (pa->placement_size != pb->placement_size) return pa->placement_size > pb->placement_size;
    if (pa->compute_slices != pb->compute_slices) return pa->compute_slices > pb->compute_slices;
    return a < b;
  });
  return ids;
}

}  // namespace

std::vector<Layout> EnumerateLayouts(const GpuModel& model, const EnumerateOptions& options) {
  std::vector<PlacedInstance> candidates = Candidates(model, options);
  std::vector<Layout> out;
  Layout current;
  Walk(model, candidates, 0, current, options.maximal_only, out);
  return out;
}

std::vector<Combination> EnumerateCombinations(const GpuModel& model, const EnumerateOptions& options) {
  EnumerateOptions all = options;
  all.maximal_only = false;
  std::map<std::vector<ProfileId>, std::pair<Layout, Room>> best;
  for (Layout& layout : EnumerateLayouts(model, all)) {
    std::vector<ProfileId> key = Multiset(model, layout);
    Room room = ComputeRoom(model, layout);
    auto it = best.find(key);
    if (it == best.end()) {
      best.emplace(std::move(key), std::make_pair(std::move(layout), std::move(room)));
    } else if (room > it->second.second) {
      it->second = {std::move(layout), std::move(room)};
    }
  }
  std::vector<ProfileId> allowed;
  for (const GiProfile& p : model.gi_profiles)
    if (options.profiles.empty() ||
        std::find(options.profiles.begin(), options.profiles.end(), p.id) != options.profiles.end())
      allowed.push_back(p.id);

  std::vector<Combination> out;
  for (auto& [profiles, entry] : best) {
    if (options.maximal_only) {
      bool extendable = std::any_of(allowed.begin(), allowed.end(), [&](ProfileId extra) {
        Layout probe = entry.first;
        probe.push_back({extra, 0});
        return best.count(Multiset(model, probe)) > 0;
      });
      if (extendable) continue;
    }
    out.push_back(Combination{profiles, entry.first});
  }
  std::sort(out.begin(), out.end(), [&](const Combination& a, const Combination& b) {
    auto size_of = [&](const Combination& c) {
      std::vector<unsigned> sizes;
      for (ProfileId id : c.profiles) {
        const GiProfile* p = model.FindProfile(id);
        sizes.push_back(p->placement_size * 16 + p->compute_slices);
      }
      return sizes;
    };
    auto sa = size_of(a), sb = size_of(b);
    if (sa != sb) return sa > sb;
    return a.profiles < b.profiles;
  });
  return out;
}

}  // namespace migctl
