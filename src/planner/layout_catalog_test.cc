#include "planner/layout_catalog.h"

#include <set>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "layout/enumerate.h"
#include "layout/feasibility.h"

namespace migctl::planner {
namespace {

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

ProfileId Id(const GpuModel& model, const char* name) { return model.FindProfile(name)->id; }

TEST(FreshLayouts, AreMaximalValidDistinctAndPlain) {
  for (const GpuModel& model : BuiltinModels()) {
    std::vector<CandidateLayout> layouts = FreshLayouts(model);
    ASSERT_FALSE(layouts.empty()) << model.key;
    std::set<std::vector<std::pair<ProfileId, unsigned>>> seen;
    for (const CandidateLayout& c : layouts) {
      EXPECT_TRUE(CheckLayout(model, c.placements).ok())
          << model.key << ": " << DescribeLayout(model, c.placements);
      EXPECT_TRUE(seen.insert(c.counts).second) << model.key;
      EXPECT_EQ(c.kept, 0u);
      unsigned instances = 0;
      for (const auto& [profile, count] : c.counts) {
        instances += count;
        EXPECT_EQ(model.FindProfile(profile)->media, MediaKind::kDefault) << model.key;
      }
      EXPECT_EQ(instances, c.placements.size());
      for (const GiProfile& p : model.gi_profiles) {
        if (p.media == MediaKind::kDefault) {
          EXPECT_EQ(RemainingCapacity(model, c.placements, p.id), 0u) << p.name;
        }
      }
    }
  }
}

TEST(FreshLayouts, EveryPlainMultisetIsInsideOne) {
  const GpuModel& model = Model("a100-80gb");
  std::vector<ProfileId> plain;
  for (const GiProfile& p : model.gi_profiles)
    if (p.media == MediaKind::kDefault) plain.push_back(p.id);
  std::vector<CandidateLayout> fresh = FreshLayouts(model);
  for (const Combination& c : EnumerateCombinations(model, {.profiles = plain})) {
    std::map<ProfileId, unsigned> need;
    for (ProfileId id : c.profiles) ++need[id];
    bool inside = false;
    for (const CandidateLayout& f : fresh) {
      bool all = true;
      for (const auto& [id, n] : need) {
        unsigned have = 0;
        for (const auto& [fid, fn] : f.counts)
          if (fid == id) have = fn;
        all = all && have >= n;
      }
      inside = inside || all;
    }
    EXPECT_TRUE(inside) << DescribeLayout(model, c.placements);
  }
}

TEST(LayoutsKeeping, OneCandidateKeepsAllOfAValidCurrentLayout) {
  const GpuModel& model = Model("a100-80gb");
  Layout current = {{Id(model, "3g.40gb"), 4}, {Id(model, "1g.10gb+me"), 1}};
  std::vector<CandidateLayout> layouts = LayoutsKeeping(model, current);
  unsigned best = 0;
  for (const CandidateLayout& c : layouts) {
    EXPECT_TRUE(CheckLayout(model, c.placements).ok()) << DescribeLayout(model, c.placements);
    unsigned kept = 0;
    for (const PlacedInstance& i : current) kept += std::count(c.placements.begin(), c.placements.end(), i);
    EXPECT_EQ(c.kept, kept);
    best = std::max(best, c.kept);
  }
  EXPECT_EQ(best, 2u);  // the +me instance can be kept: the current layout's profiles are allowed
}

TEST(LayoutsKeeping, NoCandidateIsDominated) {
  const GpuModel& model = Model("h100-80gb");
  Layout current = {{Id(model, "2g.20gb"), 2}, {Id(model, "1g.10gb"), 6}};
  std::vector<CandidateLayout> layouts = LayoutsKeeping(model, current);
  for (size_t a = 0; a < layouts.size(); ++a)
    for (size_t b = 0; b < layouts.size(); ++b) {
      if (a == b) continue;
      EXPECT_NE(layouts[a].counts, layouts[b].counts);
      bool contains = true;
      for (const auto& [id, n] : layouts[a].counts) {
        unsigned have = 0;
        for (const auto& [bid, bn] : layouts[b].counts)
          if (bid == id) have = bn;
        contains = contains && have >= n;
      }
      EXPECT_FALSE(contains && layouts[b].kept >= layouts[a].kept)
          << DescribeLayout(model, layouts[a].placements) << " is dominated by "
          << DescribeLayout(model, layouts[b].placements);
    }
}

}  // namespace
}  // namespace migctl::planner
