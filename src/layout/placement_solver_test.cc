#include "layout/placement_solver.h"

#include <algorithm>
#include <chrono>
#include <random>

#include <gtest/gtest.h>

#include "layout/enumerate.h"
#include "layout/feasibility.h"
#include "layout/test_models.h"

namespace migctl {
namespace {

using testing::A100_40gb;
using testing::Ids;

Layout Merge(Layout a, const Layout& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// NVIDIA's guide: `-cgi 19,19,14,9` fails by automatic placement; the solver places the same set in any
// order.
TEST(SolvePlacements, EveryOrderOfAFeasibleSetSucceeds) {
  GpuModel m = A100_40gb();
  std::vector<unsigned> ids = {19, 19, 14, 9};
  std::sort(ids.begin(), ids.end());
  do {
    std::vector<ProfileId> req;
    for (unsigned i : ids) req.emplace_back(i);
    auto placed = SolvePlacements(m, {}, req);
    ASSERT_TRUE(placed.ok()) << placed.error().message;
    ASSERT_EQ(placed->size(), req.size());
    for (size_t k = 0; k < req.size(); ++k) EXPECT_EQ((*placed)[k].profile, req[k]);
    EXPECT_TRUE(CheckLayout(m, *placed).ok());
  } while (std::next_permutation(ids.begin(), ids.end()));
}

TEST(SolvePlacements, LeavesTheMostRoom) {
  GpuModel m = A100_40gb();
  // One 1g on an empty GPU goes to slot 6: 4g@0, 3g@0 and three 2g stay possible.
  EXPECT_EQ(SolvePlacements(m, {}, Ids({19}))->front().start, 6u);
  // A 3g goes to 4, keeping the 4g at 0.
  EXPECT_EQ(SolvePlacements(m, {}, Ids({9}))->front().start, 4u);
  // Next to a 3g@4, a 2g takes 0 or 2 and leaves the other pair for a 2g.
  auto two = SolvePlacements(m, {{ProfileId(9), 4}}, Ids({14}));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(RemainingCapacity(m, Merge({{ProfileId(9), 4}}, *two), ProfileId(14)), 1u);
}

TEST(SolvePlacements, ExistingInstancesStayPut) {
  GpuModel m = A100_40gb();
  Layout existing = {{ProfileId(19), 0}, {ProfileId(19), 6}};
  auto placed = SolvePlacements(m, existing, Ids({14, 14}));
  ASSERT_TRUE(placed.ok()) << placed.error().message;
  EXPECT_TRUE(CheckLayout(m, Merge(existing, *placed)).ok());
  EXPECT_EQ(SolvePlacements(m, existing, Ids({9})).error().code, ErrorCode::kInfeasible);
}

TEST(SolvePlacements, SaysWhyASetDoesNotFit) {
  GpuModel m = A100_40gb();
  auto r = SolvePlacements(m, {}, Ids({5, 9, 19}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInfeasible);
  EXPECT_EQ(
      r.error().message,
      "4g.20gb + 3g.20gb + 1g.5gb does not fit: 8 of 8 memory slots are taken after 4g.20gb@0 + 3g.20gb@4, "
      "and 1g.5gb needs 1");
  auto me = SolvePlacements(m, {}, Ids({20, 20}));
  EXPECT_NE(me.error().message.find("at most 1 1g.5gb+me fits on an a100-40gb; 2 were asked"),
            std::string::npos)
      << me.error().message;
  auto nine = SolvePlacements(m, {}, Ids({19, 19, 19, 19, 19, 19, 19, 19, 19}));
  EXPECT_EQ(nine.error().message,
            "1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb + 1g.5gb does not fit: at "
            "most 7 "
            "1g.5gb fit on an a100-40gb; 9 were asked");
  auto more = SolvePlacements(m, {{ProfileId(19), 0}, {ProfileId(19), 1}}, Ids({19, 19, 19, 19, 19, 19}));
  EXPECT_NE(more.error().message.find("at most 7 1g.5gb fit on an a100-40gb; 2 exist and 6 more were asked"),
            std::string::npos)
      << more.error().message;
  auto compute = SolvePlacements(m, {}, Ids({14, 14, 14, 19, 19}));
  EXPECT_NE(compute.error().message.find("7 of 7 compute slices are used"), std::string::npos)
      << compute.error().message;
  EXPECT_EQ(SolvePlacements(m, {}, Ids({42})).error().code, ErrorCode::kInvalidInput);
}

// Property: on every multiset that some layout realizes, the solver finds a placement (it is complete), and
// on multisets one instance larger than a maximal one, it refuses.
TEST(SolvePlacements, CompleteOnEveryRealizableCombination) {
  GpuModel m = A100_40gb();
  for (const Combination& c : EnumerateCombinations(m)) {
    auto placed = SolvePlacements(m, {}, c.profiles);
    ASSERT_TRUE(placed.ok()) << DescribeLayout(m, c.placements) << ": " << placed.error().message;
    EXPECT_TRUE(CheckLayout(m, *placed).ok());
  }
  for (const Combination& c : EnumerateCombinations(m, {.maximal_only = true})) {
    for (const GiProfile& extra : m.gi_profiles) {
      std::vector<ProfileId> more = c.profiles;
      more.push_back(extra.id);
      EXPECT_FALSE(SolvePlacements(m, {}, more).ok())
          << DescribeLayout(m, c.placements) << " + " << extra.name;
    }
  }
}

}  // namespace
}  // namespace migctl
