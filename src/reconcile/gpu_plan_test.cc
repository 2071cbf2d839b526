#include "reconcile/gpu_plan.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl {
namespace {

using Kind = PlannedOp::Kind;

ObservedGpu Gpu(const char* model, nvml::MigMode mode, std::vector<PlacedInstance> gis = {},
                std::vector<unsigned> busy_gis = {}) {
  ObservedGpu gpu;
  gpu.geometry = *FindModel(model).value();
  gpu.snapshot.index = GpuIndex(0);
  gpu.snapshot.name = gpu.geometry.product_name;
  gpu.snapshot.mig = mode;
  unsigned id = 1;
  for (const PlacedInstance& p : gis) {
    const GiProfile* profile = gpu.geometry.FindProfile(p.profile);
    nvml::InstanceSnapshot i;
    i.profile = p.profile;
    i.profile_name = profile->name;
    i.gi = GiId(id);
    i.placement = {p.start, profile->placement_size};
    i.ci = CiId(0);
    i.ci_profile = profile->DefaultCiProfile()->id;
    i.ci_placement = nvml::Placement{0, profile->compute_slices};
    if (std::find(busy_gis.begin(), busy_gis.end(), id) != busy_gis.end())
      i.processes = {{4242, "python", 100}};
    gpu.snapshot.instances.push_back(i);
    ++id;
  }
  gpu.layout = LayoutOf(gpu.snapshot);
  return gpu;
}

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

}  // namespace
}  // namespace migctl
