#include "planner/gpu_assignment.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl::planner {
namespace {

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

TEST(FreeFits, WholeGpuListsEveryPlainProfileLargestFirst) {
  EXPECT_EQ(FreeFits(Model("h100-80gb"), {}),
            (std::vector<std::string>{"7g.80gb x1", "4g.40gb x1", "3g.40gb x2", "2g.20gb x3", "1g.20gb x4",
                                      "1g.10gb x7"}));
}

TEST(FreeFits, CountsWhatFitsBesideTheLayout) {
  const GpuModel& a100 = Model("a100-80gb");
  ProfileId three = a100.FindProfile("3g.40gb")->id, one = a100.FindProfile("1g.10gb")->id;
  // Slots 5-7 and three compute slices are free, but no 2g.20gb starts at 5 or 6: placement matters.
  EXPECT_EQ(FreeFits(a100, {{three, 0}, {one, 4}}), (std::vector<std::string>{"1g.20gb x1", "1g.10gb x2"}));
  EXPECT_TRUE(FreeFits(a100, {{a100.FindProfile("7g.80gb")->id, 0}}).empty());
}

}  // namespace
}  // namespace migctl::planner
