#include "cli/plan_request.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(PlanRequest, FleetNumbersGpusInOrder) {
  Result<std::vector<planner::FleetGroup>> fleet = ParseFleetSpec("a100-80gb:2, h100-80gb");
  ASSERT_TRUE(fleet.ok()) << fleet.error().message;
  ASSERT_EQ(fleet->size(), 2u);
  EXPECT_EQ((*fleet)[0].model->key, "a100-80gb");
  EXPECT_EQ((*fleet)[0].gpu_indexes, (std::vector<unsigned>{0, 1}));
  EXPECT_EQ((*fleet)[1].count, 1u);
  EXPECT_EQ((*fleet)[1].gpu_indexes, (std::vector<unsigned>{2}));
  for (const char* bad : {"", "a100-80gb:0", "a100-80gb:x", "z100:2", "a100-80gb:2,,h100-80gb"})
    EXPECT_FALSE(ParseFleetSpec(bad).ok()) << bad;
}

TEST(PlanRequest, NeedsAreSizesWithCounts) {
  Result<std::vector<planner::Workload>> needs = ParseNeeds("30GiB x3, 18GiB x4,8G");
  ASSERT_TRUE(needs.ok()) << needs.error().message;
  ASSERT_EQ(needs->size(), 3u);
  EXPECT_EQ((*needs)[0].memory_mib, 30720u);
  EXPECT_EQ((*needs)[0].count, 3u);
  EXPECT_EQ((*needs)[0].name, "30GiB");
  EXPECT_EQ((*needs)[2].count, 1u);
  EXPECT_EQ((*needs)[2].memory_mib, 8192u);
  for (const char* bad : {"", "lots x3", "30GiB x0", "30GiB x", "30GiB,"})
    EXPECT_FALSE(ParseNeeds(bad).ok()) << bad;
}

TEST(PlanRequest, DemandIsProfilesWithCounts) {
  Result<std::vector<planner::Workload>> demand = ParseDemand("3g.40gb:2, 1g.10gb");
  ASSERT_TRUE(demand.ok()) << demand.error().message;
  ASSERT_EQ(demand->size(), 2u);
  EXPECT_EQ((*demand)[0].profile, "3g.40gb");
  EXPECT_EQ((*demand)[0].count, 2u);
  EXPECT_EQ((*demand)[1].count, 1u);
  EXPECT_FALSE(ParseDemand("3g.40gb:-1").ok());
  EXPECT_FALSE(ParseDemand(",").ok());
}

}  // namespace
}  // namespace migctl
