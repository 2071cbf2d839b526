#include "reconcile/gpu_plan.h"

#include <gtest/gtest.h>

#include "reconcile/test_gpus.h"

namespace migctl {
namespace {

using Kind = PlannedOp::Kind;
using testing_gpus::Gpu;

GpuGoal Goal(const GpuModel& m, bool enabled, std::vector<unsigned> profiles) {
  GpuGoal goal{GpuIndex(0), enabled, {}, "test.yaml:3:7"};
  for (unsigned p : profiles)
    goal.instances.push_back(
        {ProfileId(p), std::nullopt, {{m.FindProfile(ProfileId(p))->DefaultCiProfile()->id, {}}}});
  return goal;
}

std::vector<Kind> Kinds(const GpuPlan& plan) {
  std::vector<Kind> out;
  for (const PlannedOp& op : plan.steps.ops) out.push_back(op.kind);
  return out;
}

TEST(PlanGpu, AmpereEnableResetsOnlyThisGpuThenCreates) {
  ObservedGpu gpu = Gpu("a100-80gb", {false, false});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, true, {9, 9}), {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(Kinds(*plan),
            (std::vector<Kind>{Kind::kSetMigMode, Kind::kResetGpu, Kind::kCreateGi, Kind::kCreateGi}));
  EXPECT_EQ(plan->created, 4u);  // two GIs, two CIs
  EXPECT_FALSE(plan->unfinished);
}

TEST(PlanGpu, HopperEnableNeedsNoReset) {
  ObservedGpu gpu = Gpu("h100-80gb", {false, false});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, true, {0}), {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(Kinds(*plan), (std::vector<Kind>{Kind::kSetMigMode, Kind::kCreateGi}));
}

TEST(PlanGpu, SkipResetOrNoResetSupportLeavesTheModePendingAndSaysSo) {
  ObservedGpu gpu = Gpu("a100-80gb", {false, false});
  Result<GpuPlan> skipped = PlanGpu(gpu, Goal(gpu.geometry, true, {9}), {.skip_reset = true});
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(Kinds(*skipped), std::vector<Kind>{Kind::kSetMigMode});
  ASSERT_TRUE(skipped->unfinished);
  EXPECT_NE(skipped->unfinished->find("--skip-reset"), std::string::npos);
  Result<GpuPlan> vm = PlanGpu(gpu, Goal(gpu.geometry, true, {9}), {.reset_supported = false});
  ASSERT_TRUE(vm.ok());
  ASSERT_TRUE(vm->unfinished);
  EXPECT_NE(vm->unfinished->find("reboot"), std::string::npos);
}

TEST(PlanGpu, AnInvalidLayoutFailsEvenWhenTheModeIsPending) {
  ObservedGpu gpu = Gpu("a100-80gb", {false, false});
  Result<GpuPlan> plan =
      PlanGpu(gpu, Goal(gpu.geometry, true, {5, 9, 19}), {.skip_reset = true});  // 4g+3g+1g
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kInfeasible);
  EXPECT_EQ(plan.error().message.rfind("GPU 0 (", 0), 0u) << plan.error().message;
}

TEST(PlanGpu, AlreadyAppliedPlansNothing) {
  ObservedGpu gpu = Gpu("a100-80gb", {true, true}, {{ProfileId(9), 4}, {ProfileId(9), 0}});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, true, {9, 9}), {});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
  Result<GpuPlan> off = PlanGpu(Gpu("a100-80gb", {false, false}), Goal(gpu.geometry, false, {}), {});
  ASSERT_TRUE(off.ok());
  EXPECT_TRUE(off->empty());
}

TEST(PlanGpu, BusyInstancesAreNamedWithTheirProcesses) {
  ObservedGpu gpu = Gpu("a100-80gb", {true, true}, {{ProfileId(9), 0}, {ProfileId(9), 4}}, {2});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, true, {0}), {});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kBusy);
  EXPECT_NE(plan.error().message.find("pid 4242 (python)"), std::string::npos) << plan.error().message;
  EXPECT_NE(plan.error().message.find("--force"), std::string::npos);
  // Keeping the busy GI is fine: only the idle one changes.
  Result<GpuPlan> keep = PlanGpu(gpu, Goal(gpu.geometry, true, {9, 14, 19, 19}), {});
  ASSERT_TRUE(keep.ok()) << keep.error().message;
  EXPECT_EQ(keep->steps.ops[0].kind, Kind::kDestroyCi);
  EXPECT_EQ(keep->steps.ops[0].gi, GiId(1));
  // Turning MIG off with a busy instance is refused likewise.
  Result<GpuPlan> off = PlanGpu(gpu, Goal(gpu.geometry, false, {}), {});
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error().code, ErrorCode::kBusy);
}

TEST(PlanGpu, DisablingDestroysEverythingFirst) {
  ObservedGpu gpu = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}, {ProfileId(19), 4}});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, false, {}), {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(Kinds(*plan), (std::vector<Kind>{Kind::kDestroyCi, Kind::kDestroyGi, Kind::kDestroyCi,
                                             Kind::kDestroyGi, Kind::kSetMigMode}));
  EXPECT_EQ(plan->destroyed, 4u);
}

TEST(PlanGpu, TurningMigOffIsAModeChangeNotAConfigChange) {
  // mig-parted runs pre-apply-config only when the instances of a MIG-enabled GPU change.
  ObservedGpu gpu = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}});
  Result<GpuPlan> off = PlanGpu(gpu, Goal(gpu.geometry, false, {}), {});
  ASSERT_TRUE(off.ok()) << off.error().message;
  EXPECT_TRUE(off->ChangesMode());
  EXPECT_TRUE(off->ChangesInstances());
  EXPECT_FALSE(off->ChangesConfig());
  Result<GpuPlan> more = PlanGpu(gpu, Goal(gpu.geometry, true, {9, 9}), {});
  ASSERT_TRUE(more.ok()) << more.error().message;
  EXPECT_TRUE(more->ChangesConfig());
}

TEST(PlanGpu, CountsMigDevicesAsUsersDo) {
  ObservedGpu gpu = Gpu("a100-80gb", {true, true});
  Result<GpuPlan> plan = PlanGpu(gpu, Goal(gpu.geometry, true, {19, 19, 19, 19, 19, 19, 19}), {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->created, 14u);  // seven GIs and seven CIs
  EXPECT_EQ(plan->MigDevicesCreated(), 7u);
  EXPECT_EQ(plan->MigDevicesDestroyed(), 0u);
}

TEST(PlanModeChange, RefusesInstancesAndProcessesAndIsEmptyWhenDone) {
  ObservedGpu off = Gpu("a100-80gb", {false, false});
  Result<GpuPlan> on = PlanModeChange(off, true);
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(Kinds(*on), std::vector<Kind>{Kind::kSetMigMode});
  ObservedGpu with = Gpu("a100-80gb", {true, true}, {{ProfileId(9), 0}});
  EXPECT_EQ(PlanModeChange(with, false).error().code, ErrorCode::kBusy);
  EXPECT_TRUE(PlanModeChange(with, true)->empty());
  ObservedGpu busy = Gpu("a100-80gb", {false, false});
  busy.snapshot.processes = {{77, "train", 10}};
  Result<GpuPlan> refused = PlanModeChange(busy, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("77"), std::string::npos);
}

TEST(PlanActivation, ResetsOnlyAPendingChange) {
  EXPECT_TRUE(PlanActivation(Gpu("a100-80gb", {true, true}))->empty());
  Result<GpuPlan> pending = PlanActivation(Gpu("a100-80gb", {false, true}));
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(Kinds(*pending), std::vector<Kind>{Kind::kResetGpu});
  EXPECT_TRUE(pending->steps.ops[0].enable);
}

}  // namespace
}  // namespace migctl
