#include "layout/diff.h"

#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "layout/feasibility.h"
#include "layout/placement_solver.h"

namespace migctl {
namespace {

constexpr unsigned kImpossible = std::numeric_limits<unsigned>::max();

using SliceMask = std::uint32_t;

SliceMask SlicesOf(unsigned start, unsigned size) { return ((SliceMask{1} << size) - 1) << start; }

const CiProfile* FindCi(const GiProfile& gi, CiProfileId id) {
  for (const CiProfile& ci : gi.ci_profiles)
    if (ci.id == id) return &ci;
  return nullptr;
}

struct CiSearch {
  const GiProfile& gi;
  std::vector<const CiProfile*> profiles;  // per free request, largest first
  std::vector<std::size_t> order;          // request index per position
  std::map<unsigned, unsigned> used;       // CI profile id -> instances
  std::vector<unsigned> starts;            // per request

  bool Place(std::size_t pos, SliceMask occupied) {
    if (pos == order.size()) return true;
    const CiProfile* p = profiles[pos];
    if (used[p->id.value()] >= p->instance_limit) return false;
    for (unsigned s : p->starts) {
      SliceMask m = SlicesOf(s, p->compute_slices);
      if (s + p->compute_slices > gi.compute_slices || (m & occupied)) continue;
      ++used[p->id.value()];
      starts[order[pos]] = s;
      if (Place(pos + 1, occupied | m)) return true;
      --used[p->id.value()];
    }
    return false;
  }
};

}  // namespace

bool CurrentGi::busy() const {
  return std::any_of(cis.begin(), cis.end(), [](const CurrentCi& c) { return c.busy; });
}

unsigned LayoutDiff::DestroyCount(const std::vector<CurrentGi>& current) const {
  unsigned n = 0;
  for (std::size_t i : destroyed) n += 1 + static_cast<unsigned>(current[i].cis.size());
  for (const KeptGi& k : kept) n += static_cast<unsigned>(k.destroy_cis.size());
  return n;
}

unsigned LayoutDiff::CreateCount() const {
  unsigned n = 0;
  for (const NewGi& g : created) n += 1 + static_cast<unsigned>(g.cis.size());
  for (const KeptGi& k : kept) n += static_cast<unsigned>(k.create_cis.size());
  return n;
}

bool LayoutDiff::empty() const {
  return destroyed.empty() && created.empty() && std::all_of(kept.begin(), kept.end(), [](const KeptGi& k) {
           return k.destroy_cis.empty() && k.create_cis.empty();
         });
}

Result<std::vector<PlacedCi>> PlaceComputeInstances(const GiProfile& gi,
                                                    const std::vector<PlacedCi>& existing,
                                                    const std::vector<CiTarget>& cis) {
  SliceMask occupied = 0;
  CiSearch search{gi, {}, {}, {}, std::vector<unsigned>(cis.size(), 0)};
  for (const PlacedCi& e : existing) {
    const CiProfile* p = FindCi(gi, e.profile);
    if (p == nullptr) return MakeError(ErrorCode::kInternal, "existing CI of an unknown profile");
    occupied |= SlicesOf(e.start, p->compute_slices);
    ++search.used[p->id.value()];
  }
  std::vector<std::size_t> free;
  for (std::size_t i = 0; i < cis.size(); ++i) {
    const CiProfile* p = FindCi(gi, cis[i].profile);
    if (p == nullptr) {
      std::string offered;
      for (const CiProfile& c : gi.ci_profiles) offered += (offered.empty() ? "" : ", ") + c.name;
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("a {} GPU instance has no compute-instance profile {}; it offers {}",
                                   gi.name, cis[i].profile.value(), offered));
    }
    if (!cis[i].start) {
      free.push_back(i);
      continue;
    }
    const unsigned s = *cis[i].start;
    if (std::find(p->starts.begin(), p->starts.end(), s) == p->starts.end())
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("{} cannot start at compute slice {} of a {} GPU instance", p->name, s, gi.name));
    SliceMask m = SlicesOf(s, p->compute_slices);
    if (m & occupied)
      return MakeError(ErrorCode::kInfeasible, fmt::format("{} at compute slice {} overlaps another compute "
                                                           "instance in the {} GPU instance",
                                                           p->name, s, gi.name));
    if (search.used[p->id.value()] >= p->instance_limit)
      return MakeError(ErrorCode::kInfeasible, fmt::format("a {} GPU instance holds at most {} {}", gi.name,
                                                           p->instance_limit, p->name));
    occupied |= m;
    ++search.used[p->id.value()];
    search.starts[i] = s;
  }
  std::stable_sort(free.begin(), free.end(), [&](std::size_t a, std::size_t b) {
    return FindCi(gi, cis[a].profile)->compute_slices > FindCi(gi, cis[b].profile)->compute_slices;
  });
  search.order = free;
  for (std::size_t i : free) search.profiles.push_back(FindCi(gi, cis[i].profile));
  if (!search.Place(0, occupied)) {
    unsigned slices = 0;
    for (const CiTarget& c : cis) slices += FindCi(gi, c.profile)->compute_slices;
    for (const PlacedCi& e : existing) slices += FindCi(gi, e.profile)->compute_slices;
    return MakeError(
        ErrorCode::kInfeasible,
        fmt::format("the compute instances do not fit in a {} GPU instance ({} compute slices asked, "
                    "{} available, or a per-instance limit reached)",
                    gi.name, slices, gi.compute_slices));
  }
  std::vector<PlacedCi> placed;
  for (std::size_t i = 0; i < cis.size(); ++i)
    placed.push_back({cis[i].profile, search.starts[i], FindCi(gi, cis[i].profile)->compute_slices});
  return placed;
}

namespace {

/// The cheapest change of one current GI's CIs into one target's CIs.
struct CiChange {
  unsigned cost = kImpossible;
  std::vector<CiId> destroy;
  std::vector<PlacedCi> create;
};

CiChange BestCiChange(const GiProfile& gi, const CurrentGi& cur, const GiTarget& tgt,
                      bool allow_destroy_busy) {
  CiChange best;
  const std::size_t n = cur.cis.size();
  std::vector<int> match(n, -1);  // target CI index kept by each current CI, -1: destroyed
  std::vector<bool> taken(tgt.cis.size(), false);
  auto leaf = [&] {
    unsigned destroyed = 0;
    std::vector<PlacedCi> kept;
    std::vector<CiId> destroy;
    for (std::size_t i = 0; i < n; ++i) {
      if (match[i] < 0) {
        ++destroyed;
        destroy.push_back(cur.cis[i].id);
      } else {
        kept.push_back({cur.cis[i].profile, cur.cis[i].start, 0});
      }
    }
    std::vector<CiTarget> missing;
    for (std::size_t j = 0; j < tgt.cis.size(); ++j)
      if (!taken[j]) missing.push_back(tgt.cis[j]);
    const unsigned cost = destroyed + static_cast<unsigned>(missing.size());
    if (cost >= best.cost) return;
    Result<std::vector<PlacedCi>> placed = PlaceComputeInstances(gi, kept, missing);
    if (!placed.ok()) return;
    best = {cost, std::move(destroy), std::move(*placed)};
  };
  auto dfs = [&](auto&& self, std::size_t i, unsigned destroyed) -> void {
    if (destroyed >= best.cost) return;
    if (i == n) return leaf();
    const CurrentCi& c = cur.cis[i];
    int last_class = -1;
    for (std::size_t j = 0; j < tgt.cis.size(); ++j) {
      if (taken[j] || tgt.cis[j].profile != c.profile || (tgt.cis[j].start && *tgt.cis[j].start != c.start))
        continue;
      // Identical target CIs are interchangeable: try one of them.
      if (last_class >= 0 && tgt.cis[j] == tgt.cis[static_cast<std::size_t>(last_class)]) continue;
      last_class = static_cast<int>(j);
      taken[j] = true;
      match[i] = static_cast<int>(j);
      self(self, i + 1, destroyed);
      taken[j] = false;
      match[i] = -1;
    }
    if (!c.busy || allow_destroy_busy) self(self, i + 1, destroyed + 1);
  };
  dfs(dfs, 0, 0);
  return best;
}

struct GiSearch {
  const GpuModel& model;
  const std::vector<CurrentGi>& current;
  const std::vector<GiTarget>& target;
  bool allow_destroy_busy;
  std::vector<std::vector<CiChange>> pair;  // [current][target]
  std::vector<unsigned> fresh_cost;         // per target: 1 + its CIs
  std::vector<int> match;                   // per current: target index or -1
  std::vector<bool> taken;
  unsigned best_cost = kImpossible;
  std::optional<LayoutDiff> best;

  void Leaf(unsigned cost) {
    Layout fixed;
    for (std::size_t i = 0; i < current.size(); ++i)
      if (match[i] >= 0) fixed.push_back({current[i].profile, current[i].start});
    std::vector<std::size_t> free_targets;
    std::vector<ProfileId> requests;
    std::vector<std::size_t> fixed_targets;
    for (std::size_t t = 0; t < target.size(); ++t) {
      if (taken[t]) continue;
      cost += fresh_cost[t];
      if (target[t].start) {
        fixed.push_back({target[t].profile, *target[t].start});
        fixed_targets.push_back(t);
      } else {
        free_targets.push_back(t);
        requests.push_back(target[t].profile);
      }
    }
    if (cost >= best_cost) return;
    if (!CheckLayout(model, fixed).ok()) return;
    Result<Layout> placed = SolvePlacements(model, fixed, requests);
    if (!placed.ok()) return;
    LayoutDiff diff;
    for (std::size_t i = 0; i < current.size(); ++i) {
      if (match[i] < 0) {
        diff.destroyed.push_back(i);
        continue;
      }
      const CiChange& c = pair[i][static_cast<std::size_t>(match[i])];
      diff.kept.push_back({i, static_cast<std::size_t>(match[i]), c.destroy, c.create});
    }
    auto fresh_cis = [&](std::size_t t) {
      return *PlaceComputeInstances(*model.FindProfile(target[t].profile), {}, target[t].cis);
    };
    for (std::size_t t : fixed_targets) diff.created.push_back({t, *target[t].start, fresh_cis(t)});
    for (std::size_t k = 0; k < free_targets.size(); ++k)
      diff.created.push_back({free_targets[k], (*placed)[k].start, fresh_cis(free_targets[k])});
    best_cost = cost;
    best = std::move(diff);
  }

  void Search(std::size_t i, unsigned cost) {
    if (cost >= best_cost) return;
    if (i == current.size()) return Leaf(cost);
    const CurrentGi& cur = current[i];
    // Keep it for one target (cheapest change first); identical targets are interchangeable.
    std::vector<std::size_t> options;
    for (std::size_t t = 0; t < target.size(); ++t) {
      if (taken[t] || pair[i][t].cost == kImpossible) continue;
      bool duplicate =
          std::any_of(options.begin(), options.end(), [&](std::size_t o) { return target[o] == target[t]; });
      if (!duplicate) options.push_back(t);
    }
    std::stable_sort(options.begin(), options.end(),
                     [&](std::size_t a, std::size_t b) { return pair[i][a].cost < pair[i][b].cost; });
    for (std::size_t t : options) {
      taken[t] = true;
      match[i] = static_cast<int>(t);
      Search(i + 1, cost + pair[i][t].cost);
      taken[t] = false;
      match[i] = -1;
    }
    if (!cur.busy() || allow_destroy_busy) Search(i + 1, cost + 1 + static_cast<unsigned>(cur.cis.size()));
  }
};

std::optional<LayoutDiff> SearchDiff(const GpuModel& model, const std::vector<CurrentGi>& current,
                                     const std::vector<GiTarget>& target, bool allow_destroy_busy) {
  GiSearch s{model,
             current,
             target,
             allow_destroy_busy,
             {},
             {},
             std::vector<int>(current.size(), -1),
             std::vector<bool>(target.size(), false)};
  for (const GiTarget& t : target) s.fresh_cost.push_back(1 + static_cast<unsigned>(t.cis.size()));
  for (const CurrentGi& c : current) {
    std::vector<CiChange> row;
    const GiProfile* gi = model.FindProfile(c.profile);
    for (const GiTarget& t : target) {
      if (gi == nullptr || t.profile != c.profile || (t.start && *t.start != c.start)) {
        row.emplace_back();
        continue;
      }
      row.push_back(BestCiChange(*gi, c, t, allow_destroy_busy));
    }
    s.pair.push_back(std::move(row));
  }
  s.Search(0, 0);
  return std::move(s.best);
}

}  // namespace

Result<LayoutDiff> DiffLayouts(const GpuModel& model, const std::vector<CurrentGi>& current,
                               const std::vector<GiTarget>& target, bool allow_destroy_busy) {
  // The target alone must be valid and fit on an empty GPU.
  Layout fixed;
  std::vector<ProfileId> requests;
  for (const GiTarget& t : target) {
    const GiProfile* p = model.FindProfile(t.profile);
    if (p == nullptr)
      return MakeError(ErrorCode::kInvalidInput, fmt::format("{} has no GPU instance profile {}",
                                                             model.product_name, t.profile.value()));
    MIGCTL_RETURN_IF_ERROR(PlaceComputeInstances(*p, {}, t.cis));
    if (t.start)
      fixed.push_back({t.profile, *t.start});
    else
      requests.push_back(t.profile);
  }
  MIGCTL_RETURN_IF_ERROR(CheckLayout(model, fixed));
  MIGCTL_RETURN_IF_ERROR(SolvePlacements(model, fixed, requests));

  if (std::optional<LayoutDiff> diff = SearchDiff(model, current, target, allow_destroy_busy)) return *diff;
  std::optional<LayoutDiff> forced = SearchDiff(model, current, target, true);
  std::string victims;
  if (forced) {
    for (std::size_t i : forced->destroyed)
      if (current[i].busy())
        victims += fmt::format("{}GI {}", victims.empty() ? "" : ", ", current[i].id.value());
    for (const KeptGi& k : forced->kept)
      for (CiId ci : k.destroy_cis)
        for (const CurrentCi& c : current[k.current].cis)
          if (c.id == ci && c.busy)
            victims += fmt::format("{}GI {} CI {}", victims.empty() ? "" : ", ",
                                   current[k.current].id.value(), ci.value());
  }
  return MakeError(ErrorCode::kBusy, fmt::format("the target needs busy instances destroyed ({})", victims));
}

}  // namespace migctl
