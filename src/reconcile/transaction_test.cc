#include "reconcile/transaction.h"

#include <gtest/gtest.h>

#include "reconcile/test_gpus.h"

namespace migctl {
namespace {

using testing_gpus::Gpu;

GpuPlan PlanTo(const ObservedGpu& gpu, bool enabled, std::vector<unsigned> profiles) {
  GpuGoal goal{GpuIndex(0), enabled, {}, "test"};
  for (unsigned p : profiles)
    goal.instances.push_back(
        {ProfileId(p), std::nullopt, {{gpu.geometry.FindProfile(ProfileId(p))->DefaultCiProfile()->id, {}}}});
  Result<GpuPlan> plan = PlanGpu(gpu, goal, {});
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return *plan;
}

TEST(DescribeMismatch, AgreesWhenTheGpuIsWhatThePlanSaid) {
  ObservedGpu before = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}});
  GpuPlan plan = PlanTo(before, true, {9, 9});
  // What a driver leaves: the kept GI and a new one at the plan's placement, ids of its own choosing.
  ObservedGpu after = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}, {ProfileId(9), 4}});
  EXPECT_EQ(DescribeMismatch(before, plan, after.snapshot), "");
}

TEST(DescribeMismatch, NamesWhatSomethingElseChanged) {
  // The regression: a `destroy --all` during an apply left the GPU in neither layout, unnoticed.
  ObservedGpu before = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}});
  GpuPlan plan = PlanTo(before, true, {9, 9});
  ObservedGpu emptied = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 4}});
  const std::string why = DescribeMismatch(before, plan, emptied.snapshot);
  EXPECT_NE(why.find("expected 3g.40gb@0 + 3g.40gb@4"), std::string::npos) << why;
  EXPECT_NE(why.find("found 3g.40gb@4"), std::string::npos) << why;
}

TEST(DescribeMismatch, ChecksTheModeTheStepsSet) {
  ObservedGpu off = Gpu("a100-80gb", {false, false});
  GpuPlan enable;
  enable.steps.ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = true});
  EXPECT_EQ(DescribeMismatch(off, enable, Gpu("a100-80gb", {false, true}).snapshot), "");
  EXPECT_NE(DescribeMismatch(off, enable, Gpu("a100-80gb", {false, false}).snapshot), "");
  GpuPlan reset;
  reset.steps.ops.push_back({.kind = PlannedOp::Kind::kResetGpu, .enable = true});
  EXPECT_EQ(DescribeMismatch(Gpu("a100-80gb", {false, true}), reset, Gpu("a100-80gb", {true, true}).snapshot),
            "");
  EXPECT_NE(
      DescribeMismatch(Gpu("a100-80gb", {false, true}), reset, Gpu("a100-80gb", {false, true}).snapshot), "");
}

}  // namespace
}  // namespace migctl
