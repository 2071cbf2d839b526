// ExecutePlan against a simulated GPU: what each step did is read back from the simulator's state file.
#include "reconcile/executor.h"

#include <gtest/gtest.h>

#include "reconcile/test_sim_gpu.h"

namespace migctl {
namespace {

using Strings = std::vector<std::string>;

class Executor : public testing_sim::SimulatedGpu {
 protected:
  /// Creating a GI of `profile` at `start`, with its full-width CI unless `with_ci` is false.
  PlannedOp Create(const std::string& profile, unsigned start, bool with_ci = true) const {
    const GiProfile& p = Profile(profile);
    std::vector<PlacedCi> cis;
    if (with_ci) cis.push_back({p.DefaultCiProfile()->id, 0, p.DefaultCiProfile()->compute_slices});
    return CreateGiOp(p, start, cis);
  }
  Result<std::vector<ExecutedOp>> Execute(std::vector<PlannedOp> ops) const {
    return ExecutePlan(device(), InstancePlan{GpuIndex(0), std::move(ops)});
  }
  /// The id of the GI at `start`, as the simulator holds it.
  GiId GiAt(unsigned start) const {
    for (const sim::SimGpuInstance& gi : Gpu().gpu_instances)
      if (gi.start == start) return GiId(gi.id);
    ADD_FAILURE() << "no GI at " << start;
    return GiId(0);
  }
};

TEST_F(Executor, CreatesEachGpuInstanceWithItsComputeInstanceAtThePlannedPlacement) {
  Start("h100-80gb:1");
  Result<std::vector<ExecutedOp>> done =
      Execute({Create("3g.40gb", 4), Create("1g.10gb", 0), Create("2g.20gb", 2)});
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(Instances(),
            (Strings{"1g.10gb@0 ci 1g.10gb@0", "2g.20gb@2 ci 2g.20gb@0", "3g.40gb@4 ci 3g.40gb@0"}));
  // The ids reported are the ones the driver assigned.
  ASSERT_EQ(done->size(), 3u);
  const sim::SimGpu gpu = Gpu();
  for (const ExecutedOp& step : *done) {
    ASSERT_TRUE(step.gi.has_value());
    EXPECT_EQ(*step.gi, GiAt(step.op.start));
    const sim::SimGpuInstance* gi = sim::FindGpuInstance(gpu, step.gi->value());
    ASSERT_NE(gi, nullptr);
    ASSERT_EQ(step.cis.size(), 1u);
    ASSERT_EQ(gi->compute_instances.size(), 1u);
    EXPECT_EQ(step.cis[0].value(), gi->compute_instances[0].id);
  }
}

TEST_F(Executor, DestroysComputeInstancesBeforeTheirGpuInstance) {
  Start("h100-80gb:1");
  ASSERT_TRUE(Execute({Create("4g.40gb", 0), Create("3g.40gb", 4)}).ok());
  Result<InstancePlan> destroy = PlanDestroy(Observe(), {{GiAt(4), std::nullopt}});
  ASSERT_TRUE(destroy.ok()) << destroy.error().message;
  Result<std::vector<ExecutedOp>> done = ExecutePlan(device(), *destroy);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(Instances(), Strings{"4g.40gb@0 ci 4g.40gb@0"});
}

TEST_F(Executor, CreatesAndDestroysOneComputeInstanceInsideAGpuInstanceThatStays) {
  Start("h100-80gb:1");
  ASSERT_TRUE(Execute({Create("3g.40gb", 0, /*with_ci=*/false)}).ok());
  const GiId gi = GiAt(0);
  const CiProfile& one_slice = Profile("3g.40gb").ci_profiles.front();
  ASSERT_EQ(one_slice.compute_slices, 1u);

  PlannedOp create_ci{.kind = PlannedOp::Kind::kCreateCi, .gi = gi, .cis = {{one_slice.id, 2, 1}}};
  Result<std::vector<ExecutedOp>> created = Execute({create_ci});
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(Instances(), Strings{"3g.40gb@0 ci " + one_slice.name + "@2"});
  ASSERT_EQ((*created)[0].cis.size(), 1u);

  PlannedOp destroy_ci{.kind = PlannedOp::Kind::kDestroyCi, .gi = gi, .ci = (*created)[0].cis[0]};
  Result<std::vector<ExecutedOp>> destroyed = Execute({destroy_ci});
  ASSERT_TRUE(destroyed.ok()) << destroyed.error().message;
  EXPECT_EQ(Instances(), Strings{"3g.40gb@0"});
}

TEST_F(Executor, ACreateRefusedForLackOfRoomIsARaceToRetryNotAnInfeasibleRequest) {
  Start("h100-80gb:1");
  Result<InstancePlan> plan = PlanCreate(Observe(), {Profile("7g.80gb").id}, /*with_default_ci=*/true);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  // Another process takes a slot after migctl looked.
  ASSERT_TRUE(device().CreateGpuInstance(Profile("1g.10gb").id, nvml::Placement{6, 1}).ok());

  Result<std::vector<ExecutedOp>> done = ExecutePlan(device(), *plan);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kBusy);
  EXPECT_EQ(done.error().nvml_return, NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_NE(done.error().message.find("run the command again"), std::string::npos) << done.error().message;
  EXPECT_EQ(Instances(), Strings{"1g.10gb@6"});
}

TEST_F(Executor, StopsAtTheFirstFailedStepAndKeepsTheStepsBeforeIt) {
  Start("h100-80gb:1", true, "nvmlDeviceCreateGpuInstanceWithPlacement@2=UNKNOWN");
  Result<std::vector<ExecutedOp>> done =
      Execute({Create("3g.40gb", 4), Create("2g.20gb", 0), Create("1g.10gb", 2)});
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kNvml);
  EXPECT_EQ(done.error().nvml_return, NVML_ERROR_UNKNOWN);
  EXPECT_TRUE(done.error().message.starts_with("GPU 0")) << done.error().message;
  EXPECT_EQ(Instances(), Strings{"3g.40gb@4 ci 3g.40gb@0"});
}

TEST_F(Executor, AnInstanceWithAProcessIsNotDestroyedAndTheErrorSaysBusy) {
  Start("h100-80gb:1");
  ASSERT_TRUE(Execute({Create("3g.40gb", 0)}).ok());
  Result<InstancePlan> destroy = PlanDestroy(Observe(), {{GiAt(0), std::nullopt}});
  ASSERT_TRUE(destroy.ok()) << destroy.error().message;
  // The process starts between planning and executing.
  Attach(GiAt(0), CiId(Gpu().gpu_instances[0].compute_instances[0].id));

  Result<std::vector<ExecutedOp>> done = ExecutePlan(device(), *destroy);
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kBusy);
  EXPECT_EQ(done.error().nvml_return, NVML_ERROR_IN_USE);
  EXPECT_EQ(Instances(), Strings{"3g.40gb@0 ci 3g.40gb@0"});
}

TEST_F(Executor, DestroyingAGpuInstanceThatIsGoneIsNotFound) {
  Start("h100-80gb:1");
  ASSERT_TRUE(Execute({Create("3g.40gb", 0, /*with_ci=*/false)}).ok());
  const GiId gi = GiAt(0);
  ASSERT_TRUE(device().GpuInstanceById(gi)->Destroy().ok());

  Result<std::vector<ExecutedOp>> done = Execute({{.kind = PlannedOp::Kind::kDestroyGi, .gi = gi}});
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kNotFound);
}

TEST_F(Executor, AmpereModeChangeStaysPendingUntilTheResetStep) {
  Start("a100-80gb:1", /*mig_on=*/false);
  ASSERT_TRUE(Execute({{.kind = PlannedOp::Kind::kSetMigMode, .enable = true}}).ok());
  EXPECT_EQ(Gpu().mig_current, 0u);
  EXPECT_EQ(Gpu().mig_pending, 1u);

  Result<std::vector<ExecutedOp>> reset = Execute({{.kind = PlannedOp::Kind::kResetGpu, .enable = true}});
  ASSERT_TRUE(reset.ok()) << reset.error().message;
  EXPECT_EQ(Gpu().mig_current, 1u);
}

TEST_F(Executor, HopperModeChangeLeftPendingByAProcessIsBusy) {
  Start("h100-80gb:1", /*mig_on=*/false);
  Attach();
  Result<std::vector<ExecutedOp>> done = Execute({{.kind = PlannedOp::Kind::kSetMigMode, .enable = true}});
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kBusy);
  EXPECT_NE(done.error().message.find("left pending"), std::string::npos) << done.error().message;
  EXPECT_EQ(Gpu().mig_current, 0u);
}

TEST_F(Executor, AResetThatDoesNotTurnMigOnIsAnError) {
  Start("a100-80gb:1", /*mig_on=*/false);
  Result<std::vector<ExecutedOp>> done = Execute({{.kind = PlannedOp::Kind::kResetGpu, .enable = true}});
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, ErrorCode::kNvml);
  EXPECT_NE(done.error().message.find("did not turn MIG on"), std::string::npos) << done.error().message;
  EXPECT_EQ(Gpu().mig_current, 0u);
}

}  // namespace
}  // namespace migctl
