#include "sim/latency.h"

#include <gtest/gtest.h>

namespace migctl::sim {
namespace {

using std::chrono::microseconds;

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("300ms"), microseconds(300000));
  EXPECT_EQ(*ParseDuration("1.5s"), microseconds(1500000));
  EXPECT_EQ(*ParseDuration("20us"), microseconds(20));
  EXPECT_FALSE(ParseDuration("20").ok());
  EXPECT_FALSE(ParseDuration("ms").ok());
  EXPECT_FALSE(ParseDuration("-1s").ok());
}

TEST(LatencyPlan, PresetAndOverrides) {
  Result<LatencyPlan> plan = LatencyPlan::Parse("realistic,nvmlGpuInstanceDestroy=1ms");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->DelayFor("nvmlDeviceCreateGpuInstance"), microseconds(300000));
  EXPECT_EQ(plan->DelayFor("nvmlGpuInstanceDestroy"), microseconds(1000));
  EXPECT_EQ(plan->DelayFor("nvmlDeviceGetCount_v2"), microseconds(0));
  EXPECT_FALSE(LatencyPlan::Parse("nvmlX=fast").ok());
}

}  // namespace
}  // namespace migctl::sim
