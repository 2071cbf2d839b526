#include "sim/engine.h"

#include <gtest/gtest.h>

#include <set>

#include "sim/test_support.h"

namespace migctl::sim {
namespace {

using testing::MakeGpu;
using testing::Model;

constexpr unsigned k1g = 19, k2g = 14, k3g = 9, k4g = 5, k7g = 0;

/// Creates GIs of `profiles` in order with automatic placement; returns the first failure or SUCCESS.
nvmlReturn_t CreateAll(const GpuModel& model, SimGpu& gpu, std::initializer_list<unsigned> profiles) {
  for (unsigned profile : profiles) {
    unsigned id = 0;
    if (nvmlReturn_t ret = CreateGpuInstance(model, gpu, profile, std::nullopt, &id); ret != NVML_SUCCESS)
      return ret;
  }
  return NVML_SUCCESS;
}

std::multiset<std::pair<unsigned, unsigned>> ProfilesAndStarts(const SimGpu& gpu) {
  std::multiset<std::pair<unsigned, unsigned>> out;
  for (const SimGpuInstance& gi : gpu.gpu_instances) out.emplace(gi.profile_id, gi.start);
  return out;
}

TEST(AutomaticPlacement, SmallFirstOrderFailsOnA100AsNvidiaDocuments) {
  const GpuModel& model = Model("a100-40gb");
  SimGpu gpu = MakeGpu("a100-40gb");
  EXPECT_EQ(CreateAll(model, gpu, {k1g, k1g, k2g, k3g}), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(ProfilesAndStarts(gpu),
            (std::multiset<std::pair<unsigned, unsigned>>{{k1g, 6}, {k1g, 4}, {k2g, 0}}));
}

TEST(AutomaticPlacement, LargeFirstOrderFitsOnA100) {
  const GpuModel& model = Model("a100-40gb");
  SimGpu gpu = MakeGpu("a100-40gb");
  EXPECT_EQ(CreateAll(model, gpu, {k3g, k1g, k2g, k1g}), NVML_SUCCESS);
  EXPECT_EQ(ProfilesAndStarts(gpu),
            (std::multiset<std::pair<unsigned, unsigned>>{{k3g, 4}, {k1g, 0}, {k2g, 2}, {k1g, 1}}));
}

TEST(AutomaticPlacement, ThreeGThenFourGOnA100_80) {
  const GpuModel& model = Model("a100-80gb");
  SimGpu gpu = MakeGpu("a100-80gb");
  EXPECT_EQ(CreateAll(model, gpu, {k3g, k4g}), NVML_SUCCESS);
  EXPECT_EQ(ProfilesAndStarts(gpu), (std::multiset<std::pair<unsigned, unsigned>>{{k3g, 4}, {k4g, 0}}));
}

TEST(CreateWithPlacement, FeasibleSetFitsInAnyOrder) {
  const GpuModel& model = Model("a100-40gb");
  std::vector<std::pair<unsigned, Placement>> set = {
      {k1g, {0, 1}}, {k1g, {1, 1}}, {k2g, {2, 2}}, {k3g, {4, 4}}};
  std::sort(set.begin(), set.end(), [](auto& a, auto& b) { return a.second.start < b.second.start; });
  do {
    SimGpu gpu = MakeGpu("a100-40gb");
    for (auto& [profile, placement] : set) {
      unsigned id = 0;
      ASSERT_EQ(CreateGpuInstance(model, gpu, profile, placement, &id), NVML_SUCCESS);
    }
  } while (std::next_permutation(set.begin(), set.end(),
                                 [](auto& a, auto& b) { return a.second.start < b.second.start; }));
}

TEST(CreateWithPlacement, RejectsBadStartsAndOverlaps) {
  const GpuModel& model = Model("a100-40gb");
  SimGpu gpu = MakeGpu("a100-40gb");
  unsigned id = 0;
  EXPECT_EQ(CreateGpuInstance(model, gpu, k1g, Placement{7, 1}, &id), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(CreateGpuInstance(model, gpu, k3g, Placement{4, 3}, &id), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(CreateGpuInstance(model, gpu, 77, Placement{0, 1}, &id), NVML_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(CreateGpuInstance(model, gpu, k3g, Placement{4, 4}, &id), NVML_SUCCESS);
  EXPECT_EQ(CreateGpuInstance(model, gpu, k2g, Placement{4, 2}, &id), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(CreateGpuInstance(model, gpu, k7g, Placement{0, 8}, &id), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(gpu.gpu_instances.size(), 1u);
}

TEST(CreateGpuInstance, NeedsMigEnabled) {
  SimGpu gpu = MakeGpu("h100-80gb", NVML_DEVICE_MIG_DISABLE);
  unsigned id = 0;
  EXPECT_EQ(CreateGpuInstance(Model("h100-80gb"), gpu, k1g, std::nullopt, &id), NVML_ERROR_NOT_SUPPORTED);
}

TEST(GpuInstanceIds, AreUniqueOpaqueAndDifferAcrossGpus) {
  const GpuModel& model = Model("a100-40gb");
  std::set<std::vector<unsigned>> seen;
  for (int g = 0; g < 8; ++g) {
    SimGpu gpu = MakeGpu("a100-40gb", NVML_DEVICE_MIG_ENABLE, "GPU-" + std::to_string(g));
    ASSERT_EQ(CreateAll(model, gpu, {k1g, k1g, k1g, k1g, k1g, k1g, k1g}), NVML_SUCCESS);
    std::vector<unsigned> ids;
    for (const SimGpuInstance& gi : gpu.gpu_instances) {
      EXPECT_LE(gi.id, 14u);
      ids.push_back(gi.id);
    }
    EXPECT_EQ(std::set<unsigned>(ids.begin(), ids.end()).size(), 7u);
    seen.insert(ids);
  }
  EXPECT_EQ(seen.size(), 2u) << "GI ids should depend on the GPU, not only on placement";
}

TEST(DestroyGpuInstance, InUseWithComputeInstancesOrProcesses) {
  const GpuModel& model = Model("h100-80gb");
  SimGpu gpu = MakeGpu("h100-80gb");
  unsigned gi = 0, ci = 0;
  ASSERT_EQ(CreateGpuInstance(model, gpu, k3g, std::nullopt, &gi), NVML_SUCCESS);
  ASSERT_EQ(CreateComputeInstance(model, gpu, gi, 2, std::nullopt, &ci), NVML_SUCCESS);
  EXPECT_EQ(DestroyGpuInstance(gpu, gi), NVML_ERROR_IN_USE);
  gpu.processes.push_back({42, "train", 100, gi, ci});
  EXPECT_EQ(DestroyComputeInstance(gpu, gi, ci), NVML_ERROR_IN_USE);
  gpu.processes.clear();
  EXPECT_EQ(DestroyComputeInstance(gpu, gi, ci), NVML_SUCCESS);
  EXPECT_EQ(DestroyGpuInstance(gpu, gi), NVML_SUCCESS);
  EXPECT_EQ(DestroyGpuInstance(gpu, gi), NVML_ERROR_NOT_FOUND);
}

TEST(ComputeInstances, PlaceLowestFirstAndRespectLimits) {
  const GpuModel& model = Model("a100-40gb");
  SimGpu gpu = MakeGpu("a100-40gb");
  unsigned gi = 0, ci = 0;
  ASSERT_EQ(CreateGpuInstance(model, gpu, k3g, std::nullopt, &gi), NVML_SUCCESS);
  const CiProfile* one_c = nullptr;
  ASSERT_EQ(FindCiProfile(model, *FindGpuInstance(gpu, gi), 0, &one_c), NVML_SUCCESS);
  EXPECT_EQ(ComputeInstanceRemainingCapacity(*FindGpuInstance(gpu, gi), *one_c), 3u);
  for (unsigned expected = 0; expected < 3; ++expected) {
    ASSERT_EQ(CreateComputeInstance(model, gpu, gi, 0, std::nullopt, &ci), NVML_SUCCESS);
    EXPECT_EQ(ci, expected);
    EXPECT_EQ(FindComputeInstance(*FindGpuInstance(gpu, gi), ci)->start, expected);
  }
  EXPECT_EQ(CreateComputeInstance(model, gpu, gi, 0, std::nullopt, &ci), NVML_ERROR_INSUFFICIENT_RESOURCES);
  EXPECT_EQ(CreateComputeInstance(model, gpu, gi, 9, std::nullopt, &ci), NVML_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(CreateComputeInstance(model, gpu, gi, 4, std::nullopt, &ci), NVML_ERROR_NOT_SUPPORTED);
  const std::string& uuid = FindGpuInstance(gpu, gi)->compute_instances[0].uuid;
  EXPECT_EQ(uuid.size(), 40u);
  EXPECT_EQ(uuid.substr(0, 4), "MIG-");
}

TEST(MigMode, AmpereWaitsForResetHopperSwitchesWhenIdle) {
  nvmlReturn_t activation = NVML_SUCCESS;
  SimGpu ampere = MakeGpu("a100-80gb", NVML_DEVICE_MIG_DISABLE);
  ASSERT_EQ(SetMigMode(Model("a100-80gb"), ampere, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_ERROR_RESET_REQUIRED);
  EXPECT_EQ(ampere.mig_current, 0u);
  EXPECT_EQ(ampere.mig_pending, 1u);
  ASSERT_EQ(ResetGpu(ampere), NVML_SUCCESS);
  EXPECT_EQ(ampere.mig_current, 1u);

  SimGpu hopper = MakeGpu("h100-80gb", NVML_DEVICE_MIG_DISABLE);
  hopper.processes.push_back({7, "busy", 10, std::nullopt, std::nullopt});
  ASSERT_EQ(SetMigMode(Model("h100-80gb"), hopper, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_ERROR_IN_USE);
  EXPECT_EQ(hopper.mig_current, 0u);
  EXPECT_EQ(ResetGpu(hopper), NVML_ERROR_IN_USE);
  hopper.processes.clear();
  ASSERT_EQ(SetMigMode(Model("h100-80gb"), hopper, NVML_DEVICE_MIG_ENABLE, &activation), NVML_SUCCESS);
  EXPECT_EQ(activation, NVML_SUCCESS);
  EXPECT_EQ(hopper.mig_current, 1u);

  unsigned gi = 0;
  ASSERT_EQ(CreateGpuInstance(Model("h100-80gb"), hopper, k7g, std::nullopt, &gi), NVML_SUCCESS);
  EXPECT_EQ(SetMigMode(Model("h100-80gb"), hopper, NVML_DEVICE_MIG_DISABLE, &activation), NVML_ERROR_IN_USE);
  EXPECT_EQ(SetMigMode(Model("h100-80gb"), hopper, 2, &activation), NVML_ERROR_INVALID_ARGUMENT);
}

TEST(ResetGpu, DestroysEveryInstance) {
  SimGpu gpu = MakeGpu("h100-80gb");
  ASSERT_EQ(CreateAll(Model("h100-80gb"), gpu, {k3g, k3g}), NVML_SUCCESS);
  ASSERT_EQ(ResetGpu(gpu), NVML_SUCCESS);
  EXPECT_TRUE(gpu.gpu_instances.empty());
}

}  // namespace
}  // namespace migctl::sim
