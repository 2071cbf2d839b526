#include "sim/machine.h"

#include <gtest/gtest.h>

#include "sim/engine.h"
#include "sim/state_file.h"
#include "sim/test_support.h"

namespace migctl::sim {
namespace {

TEST(MachineSpec, ExpandsCountsInOrder) {
  Result<std::vector<const GpuModel*>> models = ParseMachineSpec("h100-80gb:2, a30-24gb");
  ASSERT_TRUE(models.ok()) << models.error().message;
  ASSERT_EQ(models->size(), 3u);
  EXPECT_EQ((*models)[0]->key, "h100-80gb");
  EXPECT_EQ((*models)[2]->key, "a30-24gb");
}

TEST(MachineSpec, UnknownModelListsKnownKeys) {
  Result<std::vector<const GpuModel*>> models = ParseMachineSpec("v100:2");
  ASSERT_FALSE(models.ok());
  EXPECT_EQ(models.error().code, ErrorCode::kNotFound);
  EXPECT_NE(models.error().message.find("a100-80gb"), std::string::npos) << models.error().message;
}

TEST(MachineSpec, RejectsBadCounts) {
  for (const char* bad : {"", "a100-80gb:0", "a100-80gb:x", "a100-80gb:65", ",a100-80gb"}) {
    EXPECT_EQ(ParseMachineSpec(bad).error().code, ErrorCode::kInvalidInput) << bad;
  }
}

TEST(Machine, InitGivesDistinctIdentities) {
  testing::TempDir dir;
  std::string path = dir.File("m.json");
  ASSERT_TRUE(InitMachine(path, "a100-80gb:8", false, 1).ok());
  EXPECT_EQ(InitMachine(path, "a100-80gb", false).error().code, ErrorCode::kInvalidInput);
  Result<MachineState> state = LoadMachine(path);
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->gpus.size(), 8u);
  EXPECT_EQ(state->gpus[0].pci_bus_id, "00000000:07:00.0");
  EXPECT_NE(state->gpus[0].uuid, state->gpus[1].uuid);
  EXPECT_EQ(state->gpus[7].minor, 7u);
}

TEST(Machine, AttachAndDetachProcesses) {
  testing::TempDir dir;
  std::string path = dir.File("m.json");
  ASSERT_TRUE(InitMachine(path, "h100-80gb:2", false, 1).ok());
  Result<unsigned> pid = AttachProcess(path, {GpuIndex(1), std::nullopt, std::nullopt}, 0, "python", 1024);
  ASSERT_TRUE(pid.ok()) << pid.error().message;
  EXPECT_EQ(AttachProcess(path, {GpuIndex(0), std::nullopt, std::nullopt}, *pid, "dup", 1).error().code,
            ErrorCode::kInvalidInput);
  EXPECT_EQ(AttachProcess(path, {GpuIndex(2), std::nullopt, std::nullopt}, 0, "x", 1).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(AttachProcess(path, {GpuIndex(0), GiId(1), std::nullopt}, 0, "x", 1).error().code,
            ErrorCode::kUnsupported);
  EXPECT_EQ(AttachProcess(path, {GpuIndex(0), std::nullopt, std::nullopt}, 0, "x", 1 << 30).error().code,
            ErrorCode::kInfeasible);
  EXPECT_EQ(LoadMachine(path)->gpus[1].processes.size(), 1u);
  EXPECT_TRUE(DetachProcess(path, *pid).ok());
  EXPECT_EQ(DetachProcess(path, *pid).error().code, ErrorCode::kNotFound);

  StateFile file(path);
  unsigned gi = 0, ci = 0;
  ASSERT_TRUE(file.Update([&](MachineState& s) {
                    SimGpu& gpu = s.gpus[0];
                    gpu.mig_current = gpu.mig_pending = NVML_DEVICE_MIG_ENABLE;
                    const GpuModel& model = testing::Model("h100-80gb");
                    return CreateGpuInstance(model, gpu, 9, std::nullopt, &gi) == NVML_SUCCESS &&
                           CreateComputeInstance(model, gpu, gi, 2, std::nullopt, &ci) == NVML_SUCCESS;
                  })
                  .ok());
  Result<unsigned> on_ci = AttachProcess(path, {GpuIndex(0), GiId(gi), CiId(ci)}, 4242, "worker", 512);
  ASSERT_TRUE(on_ci.ok()) << on_ci.error().message;
  EXPECT_EQ(*on_ci, 4242u);
  EXPECT_EQ(AttachProcess(path, {GpuIndex(0), GiId(gi), CiId(ci + 1)}, 0, "x", 1).error().code,
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace migctl::sim
