#include "launch/worker.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

nvml::InstanceSnapshot Device(unsigned gi, const std::string& profile, unsigned long long mib,
                              std::string uuid) {
  nvml::InstanceSnapshot inst;
  inst.gi = GiId(gi);
  inst.profile_name = profile;
  inst.ci = CiId(0);
  inst.uuid = MigUuid(std::move(uuid));
  inst.memory = nvml::MemoryInfo{mib, 0};
  return inst;
}

nvml::GpuSnapshot Gpu(unsigned index, bool mig, std::vector<nvml::InstanceSnapshot> instances = {}) {
  nvml::GpuSnapshot gpu;
  gpu.index = GpuIndex(index);
  gpu.uuid = GpuUuid("GPU-" + std::to_string(index));
  gpu.memory = nvml::MemoryInfo{81559, 0};
  gpu.mig = nvml::MigMode{mig, mig};
  gpu.instances = std::move(instances);
  return gpu;
}

TEST(SelectMigWorkers, TakesIdleDevicesThatMatchInOrder) {
  std::vector<nvml::GpuSnapshot> gpus = {
      Gpu(0, true, {Device(1, "3g.40gb", 40192, "MIG-a"), Device(2, "1g.10gb", 9728, "MIG-b")}),
      Gpu(1, false), Gpu(2, true, {Device(5, "3g.40gb", 40192, "MIG-c")})};
  gpus[2].instances[0].processes.push_back({77, "train.py", std::nullopt});
  std::vector<std::string> skipped;
  Result<std::vector<Worker>> workers = SelectMigWorkers(gpus, WorkerRequest{}, &skipped);
  ASSERT_TRUE(workers.ok()) << workers.error().message;
  ASSERT_EQ(workers->size(), 2u);
  EXPECT_EQ((*workers)[0].device, "MIG-a");
  EXPECT_EQ((*workers)[0].lease_key, "MIG-a");
  EXPECT_EQ((*workers)[0].profile, "3g.40gb");
  EXPECT_EQ((*workers)[1].device, "MIG-b");
  EXPECT_EQ((*workers)[1].index, 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("pid 77 (train.py)"), std::string::npos);

  WorkerRequest big;
  big.memory_mib = 20000;
  workers = SelectMigWorkers(gpus, big, nullptr);
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].device, "MIG-a");
}

TEST(SelectMigWorkers, PinnedToTheGivenDevicesOnly) {
  std::vector<nvml::GpuSnapshot> gpus = {
      Gpu(0, true, {Device(1, "3g.40gb", 40192, "MIG-a"), Device(2, "1g.10gb", 9728, "MIG-b")}),
      Gpu(1, true, {Device(3, "1g.10gb", 9728, "MIG-c")})};
  WorkerRequest request;
  request.devices = {"MIG-c"};
  Result<std::vector<Worker>> workers = SelectMigWorkers(gpus, request, nullptr);
  ASSERT_TRUE(workers.ok()) << workers.error().message;
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].device, "MIG-c");
  EXPECT_EQ((*workers)[0].gpu, GpuIndex(1));

  // A held-by-processes device is never taken, even when it is the one asked for.
  gpus[1].instances[0].processes.push_back({77, "train.py", std::nullopt});
  workers = SelectMigWorkers(gpus, request, nullptr);
  ASSERT_FALSE(workers.ok());
  EXPECT_NE(workers.error().message.find("MIG-c"), std::string::npos) << workers.error().message;

  request.devices = {"MIG-gone"};
  workers = SelectMigWorkers(gpus, request, nullptr);
  ASSERT_FALSE(workers.ok());
  EXPECT_EQ(workers.error().code, ErrorCode::kNotFound);
  EXPECT_NE(workers.error().message.find("MIG-gone"), std::string::npos) << workers.error().message;
}

TEST(SelectMigWorkers, SaysWhatExistsWhenTooFewMatch) {
  std::vector<nvml::GpuSnapshot> gpus = {Gpu(0, true, {Device(1, "3g.40gb", 40192, "MIG-a")}), Gpu(1, false)};
  WorkerRequest request;
  request.profile = "3g.40gb";
  request.workers = 2;
  Result<std::vector<Worker>> workers = SelectMigWorkers(gpus, request, nullptr);
  ASSERT_FALSE(workers.ok());
  EXPECT_EQ(workers.error().code, ErrorCode::kInfeasible);
  EXPECT_NE(workers.error().message.find("--workers 2 but only 1 idle MIG device"), std::string::npos)
      << workers.error().message;
  EXPECT_NE(workers.error().message.find("GPU 1: MIG off"), std::string::npos);
  EXPECT_NE(workers.error().message.find("--create"), std::string::npos);
  request.profile = "7g.80gb";
  workers = SelectMigWorkers(gpus, request, nullptr);
  ASSERT_FALSE(workers.ok());
  EXPECT_NE(workers.error().message.find("no idle MIG device matches (--profile 7g.80gb)"), std::string::npos)
      << workers.error().message;
}

TEST(SelectSharedWorkers, SpreadsSlotsOverGpusWithMigOff) {
  std::vector<nvml::GpuSnapshot> gpus = {Gpu(0, false), Gpu(1, false)};
  WorkerRequest request;
  request.share = ShareMode::kMps;
  request.workers = 3;
  Result<std::vector<Worker>> workers = SelectSharedWorkers(gpus, request, 10240);
  ASSERT_TRUE(workers.ok()) << workers.error().message;
  ASSERT_EQ(workers->size(), 3u);
  EXPECT_EQ((*workers)[0].lease_key, "GPU-0/slot0");
  EXPECT_EQ((*workers)[1].lease_key, "GPU-1/slot0");
  EXPECT_EQ((*workers)[2].lease_key, "GPU-0/slot1");
  EXPECT_EQ((*workers)[2].device, "GPU-0");
  EXPECT_EQ((*workers)[0].memory_mib, 10240u) << "the MPS pinned-memory limit caps a worker";
  EXPECT_EQ((*workers)[0].profile, "gpu");

  gpus.push_back(Gpu(2, true));
  Result<std::vector<Worker>> refused = SelectSharedWorkers(gpus, request, std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("GPU 2 has MIG on"), std::string::npos);
}

TEST(CheckTasksFit, NamesATaskNoWorkerCanHold) {
  Worker small;
  small.device = "MIG-a";
  small.profile = "1g.10gb";
  small.memory_mib = 9728;
  Task ok, big;
  ok.id = 1;
  big.id = 2;
  big.needs.memory_mib = 20480;
  EXPECT_TRUE(CheckTasksFit({ok}, {small}).ok());
  Status status = CheckTasksFit({ok, big}, {small});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("task 2 needs 20 GiB"), std::string::npos) << status.error().message;
  Task profiled;
  profiled.id = 3;
  profiled.needs.profile = "3g.40gb";
  EXPECT_FALSE(CheckTasksFit({profiled}, {small}).ok());
}

}  // namespace
}  // namespace migctl
