#include "layout/enumerate.h"

#include <set>

#include <gtest/gtest.h>

#include "layout/feasibility.h"
#include "layout/test_models.h"

namespace migctl {
namespace {

using testing::A100_40gb;
using testing::Classic;

// facts §6.1: with the classic profiles, 297 non-empty layouts, 19 maximal layouts, 12 maximal combinations.
TEST(EnumerateLayouts, ClassicA100CountsMatchTheReference) {
  GpuModel m = A100_40gb();
  EXPECT_EQ(EnumerateLayouts(m, {.profiles = Classic()}).size(), 297u);
  EXPECT_EQ(EnumerateLayouts(m, {.maximal_only = true, .profiles = Classic()}).size(), 19u);
  EXPECT_EQ(EnumerateCombinations(m, {.maximal_only = true, .profiles = Classic()}).size(), 12u);
}

// facts §6.1: adding the double-memory 1g (REV2, {0,2,4,6}:2) to the classic set gives 78 maximal layouts.
TEST(EnumerateLayouts, DoubleMemoryOneGRaisesMaximalLayoutsTo78) {
  std::vector<ProfileId> with_rev2 = Classic();
  with_rev2.push_back(ProfileId(15));
  EXPECT_EQ(EnumerateLayouts(A100_40gb(), {.maximal_only = true, .profiles = with_rev2}).size(), 78u);
}

TEST(EnumerateLayouts, EveryLayoutIsValidAndDistinct) {
  GpuModel m = A100_40gb();
  auto layouts = EnumerateLayouts(m);
  std::set<Layout> seen;
  for (const Layout& l : layouts) {
    EXPECT_TRUE(CheckLayout(m, l).ok()) << DescribeLayout(m, l);
    EXPECT_TRUE(seen.insert(l).second) << DescribeLayout(m, l);
  }
  // Never two +me instances.
  for (const Layout& l : layouts) {
    int me = 0;
    for (const auto& i : l) me += i.profile == ProfileId(20);
    EXPECT_LE(me, 1);
  }
}

TEST(EnumerateCombinations, MaximalMeansNothingMoreFits) {
  GpuModel m = A100_40gb();
  auto all = EnumerateCombinations(m);
  auto maximal = EnumerateCombinations(m, {.maximal_only = true});
  EXPECT_LT(maximal.size(), all.size());
  for (const Combination& c : maximal)
    for (const GiProfile& p : m.gi_profiles)
      for (unsigned s : p.starts) EXPECT_NE(CheckAddition(m, c.placements, {p.id, s}), Conflict::kNone);
}

TEST(EnumerateCombinations, A30HasFiveMaximalClassicLayouts) {
  GpuModel m = testing::A30();
  // facts §6.1: 1×4g, 2×2g, 2g+1g+1g (both orders), 4×1g.
  EXPECT_EQ(EnumerateLayouts(m, {.maximal_only = true, .profiles = testing::Ids({14, 5, 0})}).size(), 5u);
}

}  // namespace
}  // namespace migctl
