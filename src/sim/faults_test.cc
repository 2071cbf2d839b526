#include "sim/faults.h"

#include <gtest/gtest.h>

namespace migctl::sim {
namespace {

TEST(FaultPlan, FiresOnTheNthCallCountedPerFunction) {
  Result<FaultPlan> plan = FaultPlan::Parse("nvmlA@2=IN_USE,nvmlB@1=23,nvmlA@3=CRASH");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->OnCall("nvmlA").kind, FaultAction::kProceed);
  FaultAction b = plan->OnCall("nvmlB");
  EXPECT_EQ(b.kind, FaultAction::kReturn);
  EXPECT_EQ(b.code, NVML_ERROR_INSUFFICIENT_RESOURCES);
  FaultAction a2 = plan->OnCall("nvmlA");
  EXPECT_EQ(a2.kind, FaultAction::kReturn);
  EXPECT_EQ(a2.code, NVML_ERROR_IN_USE);
  EXPECT_EQ(plan->OnCall("nvmlA").kind, FaultAction::kCrash);
  EXPECT_EQ(plan->OnCall("nvmlA").kind, FaultAction::kProceed);
  EXPECT_EQ(plan->OnCall("nvmlB").kind, FaultAction::kProceed);
}

TEST(FaultPlan, RejectsMalformedEntriesByName) {
  for (const char* bad : {"nvmlA", "nvmlA@x=IN_USE", "nvmlA@0=IN_USE", "nvmlA@1=NOPE", "@1=IN_USE"}) {
    Result<FaultPlan> plan = FaultPlan::Parse(bad);
    ASSERT_FALSE(plan.ok()) << bad;
    EXPECT_NE(plan.error().message.find(bad), std::string::npos) << plan.error().message;
  }
  EXPECT_TRUE(FaultPlan::Parse("").ok());
}

}  // namespace
}  // namespace migctl::sim
