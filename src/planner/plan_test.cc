#include "planner/plan.h"

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "layout/enumerate.h"
#include "layout/feasibility.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {
namespace {

constexpr unsigned long long kGib = 1024;

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

FleetGroup Group(const char* key, unsigned count) {
  FleetGroup g;
  g.model = &Model(key);
  g.count = count;
  return g;
}

Workload Memory(unsigned long long gib, unsigned count = 1, unsigned priority = 0) {
  Workload w;
  w.name = std::to_string(gib) + "GiB";
  w.memory_mib = gib * kGib;
  w.count = count;
  w.priority = priority;
  return w;
}

Workload Slices(unsigned slices, unsigned count = 1, unsigned priority = 0) {
  Workload w;
  w.name = std::to_string(slices) + " slices";
  w.compute_slices = slices;
  w.count = count;
  w.priority = priority;
  return w;
}

Workload Named(const char* profile, unsigned count = 1, unsigned priority = 0) {
  Workload w;
  w.name = profile;
  w.profile = profile;
  w.count = count;
  w.priority = priority;
  return w;
}

FleetPlan Plan(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads,
               Objective objective = Objective::kFewestGpus) {
  Result<FleetPlan> plan = PlanFleet(fleet, workloads, {.objective = objective});
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return plan.ok() ? *plan : FleetPlan{};
}

std::vector<const GpuModel*> Models(const std::vector<FleetGroup>& fleet) {
  std::vector<const GpuModel*> models;
  for (const FleetGroup& g : fleet)
    if (std::find(models.begin(), models.end(), g.model) == models.end()) models.push_back(g.model);
  return models;
}

/// Checks what every plan must satisfy and returns the units served per workload: every GPU of the fleet
/// once, in order; every layout valid; each served unit on an instance of the profile its workload takes on
/// that model (so on an allowed model); no instance that serves nothing unless it is a kept current one;
/// served + unserved = demand; the GPU counts add up.
std::vector<unsigned> ExpectValid(const std::vector<FleetGroup>& fleet,
                                  const std::vector<Workload>& workloads, const FleetPlan& plan,
                                  bool keep_current) {
  std::vector<const GpuModel*> models = Models(fleet);
  Result<WorkloadMap> map = MapWorkloads(models, workloads);
  EXPECT_TRUE(map.ok());
  std::vector<unsigned> served(workloads.size(), 0);
  if (!map.ok()) return served;
  size_t k = 0;
  unsigned used = 0;
  for (size_t g = 0; g < fleet.size(); ++g) {
    const GpuModel& model = *fleet[g].model;
    size_t m = std::find(models.begin(), models.end(), fleet[g].model) - models.begin();
    for (unsigned i = 0; i < fleet[g].count; ++i, ++k) {
      if (k >= plan.gpus.size()) {
        ADD_FAILURE() << "the plan has " << plan.gpus.size() << " GPUs, fewer than the fleet";
        return served;
      }
      const PlannedGpu& gpu = plan.gpus[k];
      EXPECT_EQ(gpu.group, g);
      EXPECT_EQ(gpu.gpu, fleet[g].gpu_indexes.empty() ? i : fleet[g].gpu_indexes[i]);
      Status valid = CheckLayout(model, gpu.layout);
      EXPECT_TRUE(valid.ok()) << "GPU " << k << ": " << valid.error().message;
      EXPECT_TRUE(
          std::is_sorted(gpu.layout.begin(), gpu.layout.end(),
                         [](const PlacedInstance& a, const PlacedInstance& b) { return a.start < b.start; }));
      if (gpu.served_by.size() != gpu.layout.size()) {
        ADD_FAILURE() << "GPU " << k << ": served_by is not parallel to layout";
        continue;
      }
      used += !gpu.layout.empty();
      if (keep_current && !fleet[g].busy.empty())
        for (const PlacedInstance& b : fleet[g].busy[i]) {
          auto at = std::find(gpu.layout.begin(), gpu.layout.end(), b);
          EXPECT_TRUE(at != gpu.layout.end()) << "GPU " << k << " lost its busy instance at slot " << b.start;
          if (at != gpu.layout.end()) {
            EXPECT_EQ(gpu.served_by[at - gpu.layout.begin()], -1) << "GPU " << k << ": a busy instance serves";
          }
        }
      for (size_t j = 0; j < gpu.layout.size(); ++j) {
        int w = gpu.served_by[j];
        if (w < 0) {
          bool current =
              keep_current && !fleet[g].current.empty() &&
              std::count(fleet[g].current[i].begin(), fleet[g].current[i].end(), gpu.layout[j]) > 0;
          EXPECT_TRUE(current) << "GPU " << k << " has an instance that serves nothing: "
                               << DescribeLayout(model, gpu.layout);
          continue;
        }
        if (static_cast<size_t>(w) >= workloads.size()) {
          ADD_FAILURE() << "GPU " << k << " serves workload " << w << ", which does not exist";
          continue;
        }
        ++served[w];
        const GiProfile* takes = map->profile[w][m];
        if (takes == nullptr) {
          ADD_FAILURE() << "workload " << w << " served on " << model.key << ", where it may not run";
          continue;
        }
        EXPECT_EQ(gpu.layout[j].profile, takes->id) << "workload " << w << " on GPU " << k;
      }
    }
  }
  EXPECT_EQ(k, plan.gpus.size());
  std::vector<unsigned> unserved(workloads.size(), 0);
  std::set<size_t> listed;
  for (const Unserved& u : plan.unserved) {
    if (u.workload >= workloads.size()) {
      ADD_FAILURE() << "unserved workload " << u.workload << " does not exist";
      continue;
    }
    EXPECT_TRUE(listed.insert(u.workload).second) << "workload " << u.workload << " listed twice";
    EXPECT_GT(u.count, 0u);
    EXPECT_FALSE(u.reason.empty());
    unserved[u.workload] += u.count;
  }
  for (size_t w = 0; w < workloads.size(); ++w)
    EXPECT_EQ(served[w] + unserved[w], workloads[w].count) << "workload " << w;
  EXPECT_EQ(plan.gpus_used, used);
  EXPECT_EQ(plan.whole_gpus_free, plan.gpus.size() - used);
  return served;
}

/// Units served per priority, highest priority first: the first objectives of every plan.
std::vector<long long> ByPriority(const std::vector<Workload>& workloads,
                                  const std::vector<unsigned>& served) {
  std::map<unsigned, long long, std::greater<>> sums;
  for (size_t w = 0; w < workloads.size(); ++w) sums[workloads[w].priority] += served[w];
  std::vector<long long> out;
  for (const auto& [priority, sum] : sums) out.push_back(sum);
  return out;
}

/// The true optimum by exhaustive search: every layout (not only maximal ones, any placement of any plain
/// multiset, or for a GPU with a current layout any placed layout) or nothing on each GPU, and every way to
/// split each workload's units between models. Independent of the planner's program: it shares only the
/// workload-to-profile mapping, which workload_mapping_test checks on its own.
class BruteForce {
 public:
  struct Optimum {
    std::vector<long long> by_priority;
    long long kept = 0;
    long long gpus = 0;
  };

  /// `workloads` fixes needs, priorities and models; their counts are the demand, each up to `bound`.
  BruteForce(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads, unsigned bound,
             bool keep_current)
      : workloads_(workloads), bound_(bound) {
    models_ = Models(fleet);
    map_ = MapWorkloads(models_, workloads).value();
    for (size_t w = 0; w < workloads.size(); ++w)
      for (size_t m = 0; m < models_.size(); ++m)
        if (map_.profile[w][m] != nullptr) {
          auto key = std::make_pair(m, map_.profile[w][m]->id);
          if (std::find(keys_.begin(), keys_.end(), key) == keys_.end()) keys_.push_back(key);
        }
    std::vector<std::map<std::vector<unsigned>, Value>> per_gpu;
    for (const FleetGroup& g : fleet)
      for (unsigned i = 0; i < g.count; ++i) {
        Layout current = keep_current && !g.current.empty() ? g.current[i] : Layout{};
        Layout busy = keep_current && !g.busy.empty() ? g.busy[i] : Layout{};
        per_gpu.push_back(Offers(*g.model, current, busy));
      }
    std::map<std::vector<unsigned>, Value> totals;
    std::vector<unsigned> cap(keys_.size(), 0);
    Combine(per_gpu, 0, cap, Value{0, 0}, totals);
    for (const auto& [total, value] : totals) Serve(total, value);
  }

  Optimum Solve(const std::vector<unsigned>& demand) const {
    bool found = false;
    Optimum best;
    std::vector<unsigned> s(demand.size(), 0);
    std::function<void(size_t)> walk = [&](size_t w) {
      if (w == s.size()) {
        auto it = best_.find(s);
        if (it == best_.end()) return;
        Optimum o{ByPriority(workloads_, s), it->second.kept, -it->second.minus_gpus};
        if (!found ||
            std::tie(o.by_priority, o.kept, best.gpus) > std::tie(best.by_priority, best.kept, o.gpus)) {
          best = o;
          found = true;
        }
        return;
      }
      for (s[w] = 0; s[w] <= demand[w]; ++s[w]) walk(w + 1);
      s[w] = 0;
    };
    walk(0);
    return best;
  }

 private:
  /// (kept, -gpus), compared lexicographically: larger is better.
  struct Value {
    long long kept = 0;
    long long minus_gpus = 0;
    auto operator<=>(const Value&) const = default;
  };

  static void Improve(std::map<std::vector<unsigned>, Value>& best, const std::vector<unsigned>& key,
                      Value v) {
    auto [it, inserted] = best.emplace(key, v);
    if (!inserted && v > it->second) it->second = v;
  }

  /// Every layout one GPU may take (holding every busy instance in place), as capacity over keys_ (busy
  /// instances give none), best value per capacity.
  std::map<std::vector<unsigned>, Value> Offers(const GpuModel& model, const Layout& current,
                                                const Layout& busy) const {
    size_t m = std::find(models_.begin(), models_.end(), &model) - models_.begin();
    std::vector<ProfileId> profiles;
    for (const GiProfile& p : model.gi_profiles)
      if (p.media == MediaKind::kDefault) profiles.push_back(p.id);
    std::vector<Layout> layouts;
    if (current.empty()) {
      for (const Combination& c : EnumerateCombinations(model, {.profiles = profiles}))
        layouts.push_back(c.placements);
    } else {
      for (const PlacedInstance& i : current)
        if (std::find(profiles.begin(), profiles.end(), i.profile) == profiles.end())
          profiles.push_back(i.profile);
      layouts = EnumerateLayouts(model, {.profiles = profiles});
    }
    layouts.push_back({});
    std::map<std::vector<unsigned>, Value> offers;
    for (const Layout& layout : layouts) {
      if (!std::all_of(busy.begin(), busy.end(), [&](const PlacedInstance& b) {
            return std::count(layout.begin(), layout.end(), b) > 0;
          }))
        continue;
      std::vector<unsigned> cap(keys_.size(), 0);
      for (const PlacedInstance& i : layout)
        if (std::count(busy.begin(), busy.end(), i) == 0)
          for (size_t k = 0; k < keys_.size(); ++k) cap[k] += keys_[k] == std::make_pair(m, i.profile);
      long long kept = 0;
      for (const PlacedInstance& i : current) kept += std::count(layout.begin(), layout.end(), i);
      Improve(offers, cap, Value{kept, layout.empty() ? 0 : -1});
    }
    return offers;
  }

  void Combine(const std::vector<std::map<std::vector<unsigned>, Value>>& per_gpu, size_t g,
               std::vector<unsigned>& cap, Value value,
               std::map<std::vector<unsigned>, Value>& totals) const {
    if (g == per_gpu.size()) {
      Improve(totals, cap, value);
      return;
    }
    for (const auto& [offer, v] : per_gpu[g]) {
      for (size_t k = 0; k < cap.size(); ++k) cap[k] += offer[k];
      Combine(per_gpu, g + 1, cap, Value{value.kept + v.kept, value.minus_gpus + v.minus_gpus}, totals);
      for (size_t k = 0; k < cap.size(); ++k) cap[k] -= offer[k];
    }
  }

  /// Records, for every served vector that capacity `cap` allows (units per workload up to bound_), the
  /// value of the best fleet configuration that allows it.
  void Serve(const std::vector<unsigned>& cap, Value value) {
    std::vector<unsigned> left = cap;
    std::vector<unsigned> s(workloads_.size(), 0);
    std::function<void(size_t, size_t)> walk = [&](size_t w, size_t m) {
      if (w == workloads_.size()) {
        Improve(best_, s, value);
        return;
      }
      if (m == models_.size()) return walk(w + 1, 0);
      if (map_.profile[w][m] == nullptr) return walk(w, m + 1);
      size_t k =
          std::find(keys_.begin(), keys_.end(), std::make_pair(m, map_.profile[w][m]->id)) - keys_.begin();
      for (unsigned y = 0; y <= left[k] && s[w] + y <= bound_; ++y) {
        s[w] += y;
        left[k] -= y;
        walk(w, m + 1);
        s[w] -= y;
        left[k] += y;
      }
    };
    walk(0, 0);
  }

  std::vector<Workload> workloads_;
  unsigned bound_;
  std::vector<const GpuModel*> models_;
  WorkloadMap map_;
  std::vector<std::pair<size_t, ProfileId>> keys_;
  std::map<std::vector<unsigned>, Value> best_;  // served vector -> best fleet value that allows it
};

/// Every demand vector with each count in 0..bound.
std::vector<std::vector<unsigned>> Demands(size_t workloads, unsigned bound) {
  std::vector<std::vector<unsigned>> out;
  std::vector<unsigned> d(workloads, 0);
  std::function<void(size_t)> walk = [&](size_t w) {
    if (w == workloads) return out.push_back(d);
    for (d[w] = 0; d[w] <= bound; ++d[w]) walk(w + 1);
  };
  walk(0);
  return out;
}

/// Plans every demand up to `bound` and compares with the exhaustive optimum; returns the cases checked.
int ExpectOptimal(const std::vector<FleetGroup>& fleet, std::vector<Workload> workloads, unsigned bound,
                  Objective objective) {
  bool keep_current = objective == Objective::kKeepCurrent;
  BruteForce brute(fleet, workloads, bound, keep_current);
  int cases = 0;
  for (const std::vector<unsigned>& demand : Demands(workloads.size(), bound)) {
    std::string label;
    for (size_t w = 0; w < workloads.size(); ++w) {
      workloads[w].count = demand[w];
      label += (label.empty() ? "" : ", ") + workloads[w].name + " x" + std::to_string(demand[w]);
    }
    SCOPED_TRACE(label);
    FleetPlan plan = Plan(fleet, workloads, objective);
    EXPECT_TRUE(plan.optimal);
    std::vector<unsigned> served = ExpectValid(fleet, workloads, plan, keep_current);
    BruteForce::Optimum best = brute.Solve(demand);
    EXPECT_EQ(ByPriority(workloads, served), best.by_priority);
    if (keep_current) {
      EXPECT_EQ(plan.kept, best.kept);
    }
    EXPECT_EQ(plan.gpus_used, best.gpus);
    ++cases;
    if (::testing::Test::HasFailure()) break;  // one failing demand says enough
  }
  return cases;
}

std::vector<std::vector<FleetGroup>> SmallFleets() {
  return {{Group("a100-80gb", 1)},
          {Group("a100-80gb", 2)},
          {Group("a100-80gb", 3)},
          {Group("h100-80gb", 2)},
          {Group("a100-40gb", 3)},
          {Group("a100-80gb", 1), Group("h100-80gb", 1)},
          {Group("a100-80gb", 2), Group("a100-40gb", 1)},
          {Group("h100-80gb", 1), Group("a100-80gb", 1), Group("a100-40gb", 1)}};
}

TEST(PlanFleet, MatchesExhaustiveSearchByMemory) {
  int cases = 0;
  for (const auto& fleet : SmallFleets())
    cases += ExpectOptimal(fleet, {Memory(8), Memory(18), Memory(30)}, 4, Objective::kFewestGpus);
  EXPECT_EQ(cases, 8 * 125);
}

TEST(PlanFleet, MatchesExhaustiveSearchWithPriorities) {
  int cases = 0;
  for (const auto& fleet : SmallFleets())
    cases += ExpectOptimal(fleet, {Memory(30, 1, 0), Memory(8, 1, 2), Memory(18, 1, 1)}, 4,
                           Objective::kMostServed);
  EXPECT_EQ(cases, 8 * 125);
}

TEST(PlanFleet, MatchesExhaustiveSearchByComputeWithModelConstraints) {
  Workload small = Slices(1, 1, 1);
  small.models = {"a100-80gb", "a100-40gb"};
  Workload large = Slices(4);
  large.models = {"h100-80gb"};
  int cases = 0;
  for (const auto& fleet : SmallFleets())
    cases += ExpectOptimal(fleet, {small, Slices(2), large}, 4, Objective::kMostServed);
  EXPECT_EQ(cases, 8 * 125);
}

TEST(PlanFleet, MatchesExhaustiveSearchWhenWorkloadsShareAProfile) {
  // 8 GiB and one slice both take 1g.10gb on the 80 GB parts, but not on a100-40gb (1g.10gb against 1g.5gb).
  int cases = 0;
  for (const auto& fleet : SmallFleets())
    cases += ExpectOptimal(fleet, {Memory(8, 1, 1), Slices(1, 1, 1), Memory(18)}, 4, Objective::kMostServed);
  EXPECT_EQ(cases, 8 * 125);
}

TEST(PlanFleet, MatchesExhaustiveSearchByProfileName) {
  int cases = 0;
  for (const auto& fleet : SmallFleets()) {
    if (fleet.size() == 1 && fleet[0].model->key == "a100-40gb") continue;  // it has none of these names
    cases += ExpectOptimal(fleet, {Named("1g.20gb"), Named("2g.20gb", 1, 1), Named("3g.40gb")}, 4,
                           Objective::kFewestGpus);
  }
  EXPECT_EQ(cases, 7 * 125);
}

/// A random valid placed layout of `model` (any profile, media variants included), or empty.
Layout RandomLayout(const GpuModel& model, std::mt19937& rng) {
  static std::map<const GpuModel*, std::vector<Layout>> all;
  auto it = all.find(&model);
  if (it == all.end()) it = all.emplace(&model, EnumerateLayouts(model)).first;
  std::uniform_int_distribution<size_t> pick(0, it->second.size());
  size_t k = pick(rng);
  return k == it->second.size() ? Layout{} : it->second[k];
}

/// 12 rounds of random fleets (one or two GPUs, A100 and H100), each GPU with a random current layout and,
/// with `busy`, a random half of its instances busy; every demand up to 3 of three memory needs is planned
/// keep-current and compared with exhaustive search. Returns the cases checked.
int KeepCurrentRounds(unsigned seed, bool busy) {
  std::mt19937 rng(seed);
  int cases = 0;
  for (int round = 0; round < 12; ++round) {
    std::vector<FleetGroup> fleet =
        round % 3 == 2 ? std::vector<FleetGroup>{Group("a100-80gb", 1), Group("h100-80gb", 1)}
                       : std::vector<FleetGroup>{Group(busy && round % 2 ? "h100-80gb" : "a100-80gb", 1 + round % 2)};
    std::string label;
    for (FleetGroup& g : fleet)
      for (unsigned i = 0; i < g.count; ++i) {
        g.current.push_back(RandomLayout(*g.model, rng));
        label += "[" + DescribeLayout(*g.model, g.current.back());
        if (busy) {
          g.busy.emplace_back();
          for (const PlacedInstance& inst : g.current.back())
            if (rng() % 2 == 0) g.busy.back().push_back(inst);
          label += " busy " + DescribeLayout(*g.model, g.busy.back());
        }
        label += "] ";
      }
    SCOPED_TRACE("current " + label);
    cases += ExpectOptimal(fleet, {Memory(8, 1, 1), Memory(18), Memory(30)}, 3, Objective::kKeepCurrent);
    if (::testing::Test::HasFailure()) break;
  }
  return cases;
}

TEST(PlanFleet, KeepCurrentMatchesExhaustiveSearch) { EXPECT_EQ(KeepCurrentRounds(7, false), 12 * 64); }

TEST(PlanFleet, BusyInstancesStayPutServeNothingAndThePlanMatchesExhaustiveSearch) {
  EXPECT_EQ(KeepCurrentRounds(11, true), 12 * 64);
}

TEST(PlanFleet, ABusyInstanceIsNeverGivenUpEvenToServeMore) {
  const GpuModel& a100 = Model("a100-80gb");
  FleetGroup g = Group("a100-80gb", 1);
  const PlacedInstance seven{a100.FindProfile("7g.80gb")->id, 0};
  g.current = {{seven}};
  g.busy = {{seven}};
  std::vector<Workload> work = {Memory(30, 2)};
  FleetPlan plan = Plan({g}, work, Objective::kKeepCurrent);
  ExpectValid({g}, work, plan, true);
  EXPECT_EQ(plan.gpus[0].layout, Layout{seven});
  ASSERT_EQ(plan.unserved.size(), 1u);
  EXPECT_EQ(plan.unserved[0].count, 2u);
  // Idle, the same instance gives way (KeepCurrentGivesUpInstancesOnlyToServeMore).
  g.busy = {{}};
  EXPECT_TRUE(Plan({g}, work, Objective::kKeepCurrent).unserved.empty());
}

TEST(PlanFleet, BusyMustBeOfTheCurrentLayout) {
  const GpuModel& a100 = Model("a100-80gb");
  FleetGroup g = Group("a100-80gb", 1);
  g.current = {{{a100.FindProfile("3g.40gb")->id, 0}}};
  g.busy = {{{a100.FindProfile("3g.40gb")->id, 4}}};
  Result<FleetPlan> plan = PlanFleet({g}, {Memory(8)}, {.objective = Objective::kKeepCurrent});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("busy instance at slot 4 is not in its current layout"), std::string::npos);
}

TEST(PlanFleet, KeepCurrentKeepsWhatServesAndWhatIsIdle) {
  const GpuModel& a100 = Model("a100-80gb");
  FleetGroup g = Group("a100-80gb", 1);
  ProfileId three = a100.FindProfile("3g.40gb")->id, one = a100.FindProfile("1g.10gb")->id;
  g.current = {{{three, 0}, {one, 4}, {one, 5}}};
  FleetPlan plan = Plan({g}, {Memory(8)}, Objective::kKeepCurrent);
  ExpectValid({g}, {Memory(8)}, plan, true);
  EXPECT_EQ(plan.kept, 3u);
  ASSERT_EQ(plan.gpus[0].layout.size(), 3u);
  EXPECT_EQ(plan.gpus[0].layout, g.current[0]);
  // The unit goes to a current 1g.10gb rather than to a new instance.
  EXPECT_EQ(std::count(plan.gpus[0].served_by.begin(), plan.gpus[0].served_by.end(), 0), 1);

  // Without keep-current the same demand gets just the instance it needs.
  FleetPlan fresh = Plan({g}, {Memory(8)}, Objective::kMostServed);
  EXPECT_EQ(fresh.gpus[0].layout.size(), 1u);
  EXPECT_EQ(fresh.kept, 0u);
}

TEST(PlanFleet, KeepCurrentGivesUpInstancesOnlyToServeMore) {
  const GpuModel& a100 = Model("a100-80gb");
  FleetGroup g = Group("a100-80gb", 1);
  g.current = {{{a100.FindProfile("7g.80gb")->id, 0}}};
  std::vector<Workload> work = {Memory(30, 2)};
  FleetPlan plan = Plan({g}, work, Objective::kKeepCurrent);
  ExpectValid({g}, work, plan, true);
  EXPECT_TRUE(plan.unserved.empty());
  EXPECT_EQ(plan.kept, 0u);
}

TEST(PlanFleet, HigherPriorityIsServedFirstEvenAtTheCostOfCount) {
  // One A100: three 18 GiB units (1g.20gb) would fit beside nothing else that a 60 GiB unit (7g.80gb) leaves.
  std::vector<Workload> work = {Memory(18, 4, 0), Memory(60, 1, 5)};
  FleetPlan plan = Plan({Group("a100-80gb", 1)}, work, Objective::kMostServed);
  std::vector<unsigned> served = ExpectValid({Group("a100-80gb", 1)}, work, plan, false);
  EXPECT_EQ(served, (std::vector<unsigned>{0, 1}));
  work[1].priority = 0;
  plan = Plan({Group("a100-80gb", 1)}, work, Objective::kMostServed);
  served = ExpectValid({Group("a100-80gb", 1)}, work, plan, false);
  EXPECT_EQ(served, (std::vector<unsigned>{4, 0}));
}

TEST(PlanFleet, ModelConstraintsAreRespected) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 2), Group("h100-80gb", 2)};
  Workload h100_only = Memory(30, 3);
  h100_only.models = {"h100-80gb"};
  std::vector<Workload> work = {h100_only, Memory(8, 2)};
  FleetPlan plan = Plan(fleet, work);
  ExpectValid(fleet, work, plan, false);  // also checks that each unit runs on an allowed model
  for (const PlannedGpu& gpu : plan.gpus) {
    for (int w : gpu.served_by) {
      if (w == 0) {
        EXPECT_EQ(fleet[gpu.group].model->key, "h100-80gb");
      }
    }
  }
  EXPECT_EQ(plan.gpus_used, 2u);
}

TEST(PlanFleet, FewestGpusPacksAndLeavesWholeGpusLast) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 4)};
  std::vector<Workload> work = {Memory(30, 3), Memory(8, 2)};
  FleetPlan plan = Plan(fleet, work);
  ExpectValid(fleet, work, plan, false);
  EXPECT_TRUE(plan.optimal);
  EXPECT_TRUE(plan.unserved.empty());
  EXPECT_EQ(plan.gpus_used, 2u);
  EXPECT_EQ(plan.whole_gpus_free, 2u);
  EXPECT_TRUE(plan.gpus[2].layout.empty());
  EXPECT_TRUE(plan.gpus[3].layout.empty());
  EXPECT_EQ(plan.gpus[3].free_fits, (std::vector<std::string>{"7g.80gb x1", "4g.40gb x1", "3g.40gb x2",
                                                              "2g.20gb x3", "1g.20gb x4", "1g.10gb x7"}));
  EXPECT_NE(plan.method.find("GLPK"), std::string::npos);
}

TEST(PlanFleet, FreeFitsSaysWhatStillFitsBesideTheLayout) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 1)};
  FleetPlan plan = Plan(fleet, {Memory(30)});
  ASSERT_EQ(plan.gpus[0].layout.size(), 1u);
  EXPECT_EQ(plan.gpus[0].free_fits,
            (std::vector<std::string>{"4g.40gb x1", "3g.40gb x1", "2g.20gb x2", "1g.20gb x2", "1g.10gb x4"}));
}

TEST(PlanFleet, GpuIndexesNameHostGpus) {
  FleetGroup g = Group("h100-80gb", 2);
  g.gpu_indexes = {4, 6};
  FleetPlan plan = Plan({g}, {Memory(30, 3)});
  ExpectValid({g}, {Memory(30, 3)}, plan, false);
  ASSERT_EQ(plan.gpus.size(), 2u);
  EXPECT_EQ(plan.gpus[0].gpu, 4u);
  EXPECT_EQ(plan.gpus[1].gpu, 6u);
}

TEST(PlanFleet, TooBigWorkIsReportedWithTheLargestProfile) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 2)};
  std::vector<Workload> work = {Memory(100, 2), Slices(8), Memory(8)};
  FleetPlan plan = Plan(fleet, work);
  ExpectValid(fleet, work, plan, false);
  ASSERT_EQ(plan.unserved.size(), 2u);
  EXPECT_EQ(plan.unserved[0].workload, 0u);
  EXPECT_EQ(plan.unserved[0].count, 2u);
  EXPECT_EQ(
      plan.unserved[0].reason,
      "too big for any profile of a100-80gb: it needs 100 GiB, and the largest, 7g.80gb, has 78.75 GiB and 7 "
      "compute slices");
  EXPECT_NE(plan.unserved[1].reason.find("it needs 8 compute slices"), std::string::npos)
      << plan.unserved[1].reason;
  EXPECT_EQ(plan.gpus_used, 1u);
}

TEST(PlanFleet, WorkForModelsOutsideTheFleetSaysSo) {
  Workload w = Memory(8);
  w.models = {"b200-180gb"};
  FleetPlan plan = Plan({Group("a100-80gb", 1)}, {w});
  ASSERT_EQ(plan.unserved.size(), 1u);
  EXPECT_EQ(plan.unserved[0].reason, "none of the GPU models it may run on is in the fleet");
}

TEST(PlanFleet, FleetTooSmallSaysHowManyMoreGpus) {
  // 30 GiB takes a 3g.40gb: two per A100. Five units on one A100 leave three, which two more A100s serve.
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 1)};
  std::vector<Workload> work = {Memory(30, 5)};
  for (Objective objective : {Objective::kFewestGpus, Objective::kMostServed, Objective::kKeepCurrent}) {
    FleetPlan plan = Plan(fleet, work, objective);
    ExpectValid(fleet, work, plan, false);
    ASSERT_EQ(plan.unserved.size(), 1u);
    EXPECT_EQ(plan.unserved[0].count, 3u);
    EXPECT_EQ(plan.unserved[0].reason, "fleet too small: 2 more a100-80gb would serve it");
  }
}

TEST(PlanFleet, FleetTooSmallNamesEveryModelItNeeds) {
  Workload a = Memory(60, 2);
  a.models = {"a100-80gb"};
  Workload h = Memory(60, 3);
  h.models = {"h100-80gb"};
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 1), Group("h100-80gb", 1)};
  FleetPlan plan = Plan(fleet, {a, h});
  ASSERT_EQ(plan.unserved.size(), 2u);
  EXPECT_EQ(plan.unserved[0].reason, "fleet too small: 1 more a100-80gb and 2 more h100-80gb would serve it");
}

TEST(PlanFleet, OutOfTimeGivesAValidPlanThatSaysSo) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 2)};
  std::vector<Workload> work = {Memory(30, 2)};
  Result<FleetPlan> plan = PlanFleet(fleet, work, {.objective = Objective::kFewestGpus, .time_limit_s = 0});
  ASSERT_TRUE(plan.ok());
  ExpectValid(fleet, work, *plan, false);
  EXPECT_FALSE(plan->optimal);
  EXPECT_NE(plan->method.find("not proven optimal"), std::string::npos) << plan->method;
  ASSERT_EQ(plan->unserved.size(), 1u);
  EXPECT_EQ(plan->unserved[0].reason,
            "the time limit ran out before the planner placed it; give it more time");
}

TEST(PlanFleet, RejectsBadInput) {
  auto code = [](const std::vector<FleetGroup>& fleet, const std::vector<Workload>& work,
                 Objective objective = Objective::kFewestGpus) {
    Result<FleetPlan> plan = PlanFleet(fleet, work, {.objective = objective});
    EXPECT_FALSE(plan.ok());
    return plan.ok() ? std::string()
                     : std::string(ErrorCodeName(plan.error().code)) + ": " + plan.error().message;
  };
  EXPECT_EQ(code({}, {Memory(8)}),
            "invalid_input: the fleet has no GPUs: give at least one model with a count");
  EXPECT_EQ(code({Group("a100-80gb", 0)}, {Memory(8)}).substr(0, 13), "invalid_input");
  EXPECT_EQ(code({FleetGroup{}}, {Memory(8)}).substr(0, 13), "invalid_input");
  FleetGroup indexes = Group("a100-80gb", 2);
  indexes.gpu_indexes = {0};
  EXPECT_NE(code({indexes}, {Memory(8)}).find("2 GPUs but 1 GPU indexes"), std::string::npos);
  FleetGroup currents = Group("a100-80gb", 2);
  currents.current = {{}};
  EXPECT_NE(code({currents}, {Memory(8)}).find("2 GPUs but 1 current layouts"), std::string::npos);
  FleetGroup overlap = Group("a100-80gb", 1);
  ProfileId three = Model("a100-80gb").FindProfile("3g.40gb")->id;
  overlap.current = {{{three, 0}, {three, 0}}};
  std::string bad_current = code({overlap}, {Memory(8)}, Objective::kKeepCurrent);
  EXPECT_EQ(bad_current.rfind("infeasible: GPU 0: current layout: ", 0), 0u) << bad_current;
  EXPECT_NE(code({Group("a100-80gb", 1)}, {Workload{}}).find("has no need"), std::string::npos);
  EXPECT_NE(code({Group("a100-80gb", 1)}, {Named("9g.90gb")}).find("no GPU model of the fleet has profile"),
            std::string::npos);
}

TEST(PlanFleet, NothingToServeUsesNoGpu) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 2)};
  FleetPlan plan = Plan(fleet, {});
  EXPECT_TRUE(plan.optimal);
  EXPECT_EQ(plan.gpus_used, 0u);
  EXPECT_EQ(plan.whole_gpus_free, 2u);
  plan = Plan(fleet, {Memory(8, 0)});
  EXPECT_EQ(plan.gpus_used, 0u);
  EXPECT_TRUE(plan.unserved.empty());
}

TEST(PlanFleet, PlansAThousandGpuMixedFleet) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 512), Group("h100-80gb", 512)};
  std::vector<Workload> work = {Memory(8, 600), Memory(18, 500),       Memory(30, 400),
                                Slices(2, 200), Named("4g.40gb", 150), Memory(60, 150)};
  FleetPlan plan = Plan(fleet, work);
  std::vector<unsigned> served = ExpectValid(fleet, work, plan, false);
  EXPECT_TRUE(plan.optimal) << plan.method;
  EXPECT_TRUE(plan.unserved.empty());
  // A lower bound on GPUs: compute slices (each unit's profile on either model) over 7 per GPU.
  unsigned slices = 600 * 1 + 500 * 1 + 400 * 3 + 200 * 2 + 150 * 4 + 150 * 7;
  EXPECT_GE(plan.gpus_used, (slices + 6) / 7);
  EXPECT_LE(plan.gpus_used, 1024u);
}

TEST(PlanFleet, PlansAThousandGpusForThousandsOfOneUnitWorkloads) {
  // What a trace gives: one workload per pod. Equal needs share a demand class, so the program stays small.
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 512), Group("h100-80gb", 512)};
  std::mt19937 rng(3);
  std::vector<Workload> work;
  for (int i = 0; i < 2400; ++i)
    work.push_back(i % 2 ? Memory(1 + rng() % 70, 1, rng() % 2) : Slices(1 + rng() % 7, 1, rng() % 2));
  FleetPlan plan = Plan(fleet, work, Objective::kMostServed);
  std::vector<unsigned> served = ExpectValid(fleet, work, plan, false);
  EXPECT_TRUE(plan.optimal) << plan.method;
  EXPECT_EQ(plan.whole_gpus_free, 0u);
  EXPECT_FALSE(plan.unserved.empty());
  for (const Unserved& u : plan.unserved) EXPECT_EQ(u.reason.rfind("fleet too small: ", 0), 0u) << u.reason;
}

}  // namespace
}  // namespace migctl::planner
