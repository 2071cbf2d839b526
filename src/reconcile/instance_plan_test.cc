#include "reconcile/instance_plan.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl {
namespace {

nvml::InstanceSnapshot Instance(unsigned profile, const char* name, unsigned gi, unsigned start,
                                unsigned size, std::optional<unsigned> ci,
                                std::vector<nvml::ProcessInfo> processes = {}) {
  nvml::InstanceSnapshot i;
  i.profile = ProfileId(profile);
  i.profile_name = name;
  i.gi = GiId(gi);
  i.placement = {start, size};
  if (ci) i.ci = CiId(*ci);
  i.processes = std::move(processes);
  return i;
}

ObservedGpu A100_80gb(std::vector<nvml::InstanceSnapshot> instances, bool mig = true) {
  ObservedGpu gpu;
  gpu.snapshot.index = GpuIndex(0);
  gpu.snapshot.mig = nvml::MigMode{mig, mig};
  gpu.snapshot.instances = std::move(instances);
  gpu.geometry = *FindModel("a100-80gb").value();
  gpu.layout = LayoutOf(gpu.snapshot);
  return gpu;
}

std::vector<ProfileId> Ids(std::initializer_list<unsigned> ids) {
  std::vector<ProfileId> out;
  for (unsigned i : ids) out.emplace_back(i);
  return out;
}

TEST(PlanCreate, OrderThatDefeatsTheDriverStillPlans) {
  auto plan = PlanCreate(A100_80gb({}), Ids({19, 19, 14, 9}), true);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->ops.size(), 4u);
  EXPECT_EQ(plan->ops[3].profile_name, "3g.40gb");
  EXPECT_EQ(DescribeOp(plan->ops[3]).rfind("create 3g.40gb at slots ", 0), 0u);
}

TEST(PlanCreate, RefusesWhenMigIsOffOrTheSetDoesNotFit) {
  auto off = PlanCreate(A100_80gb({}, false), Ids({19}), true);
  ASSERT_FALSE(off.ok());
  EXPECT_NE(off.error().message.find("migctl mode enable -i 0"), std::string::npos);
  auto full = PlanCreate(A100_80gb({Instance(0, "7g.80gb", 0, 0, 8, 0)}), Ids({19}), true);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, ErrorCode::kInfeasible);
  EXPECT_EQ(full.error().message.rfind("GPU 0: 1g.10gb does not fit", 0), 0u) << full.error().message;
}

TEST(PlanDestroy, CisGoBeforeTheirGi) {
  auto plan = PlanDestroy(A100_80gb({Instance(9, "3g.40gb", 2, 4, 4, 0), Instance(9, "3g.40gb", 2, 4, 4, 1)}),
                          {DestroyTarget{}});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->ops.size(), 3u);
  EXPECT_EQ(plan->ops[0].kind, PlannedOp::Kind::kDestroyCi);
  EXPECT_EQ(plan->ops[1].kind, PlannedOp::Kind::kDestroyCi);
  EXPECT_EQ(plan->ops[2].kind, PlannedOp::Kind::kDestroyGi);
}

TEST(PlanDestroy, BusyInstanceIsRefusedWithItsProcesses) {
  auto gpu = A100_80gb(
      {Instance(19, "1g.10gb", 7, 0, 1, 0, {{4242, "python", 100}}), Instance(19, "1g.10gb", 8, 1, 1, 0)});
  auto plan = PlanDestroy(gpu, {DestroyTarget{}});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kBusy);
  EXPECT_NE(plan.error().message.find("pid 4242 (python)"), std::string::npos) << plan.error().message;
  // The idle GI alone can go.
  auto idle = PlanDestroy(gpu, {DestroyTarget{GiId(8), std::nullopt}});
  ASSERT_TRUE(idle.ok());
  EXPECT_EQ(idle->ops.size(), 2u);
}

TEST(PlanDestroy, UnknownTargetsAreNotFound) {
  auto gpu = A100_80gb({Instance(19, "1g.10gb", 7, 0, 1, 0)});
  EXPECT_EQ(PlanDestroy(gpu, {DestroyTarget{GiId(3), std::nullopt}}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(PlanDestroy(gpu, {DestroyTarget{GiId(7), CiId(5)}}).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace migctl
