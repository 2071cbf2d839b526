#include "nvml/snapshot.h"

#include <gtest/gtest.h>

#include "nvml/fake_h100.h"

namespace migctl::nvml {
namespace {

using SnapshotTest = FakeH100;

TEST_F(SnapshotTest, MigOffListsWholeGpuProcessesAndNoInstances) {
  auto gpu = ObserveGpu(Open(false));
  ASSERT_TRUE(gpu.ok()) << gpu.error().message;
  EXPECT_EQ(gpu->index, GpuIndex(0));
  EXPECT_EQ(gpu->uuid, GpuUuid("GPU-3ecd459c-0b85-7603-9390-03076bf3f151"));
  EXPECT_EQ(gpu->name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpu->pci_bus_id, "00000000:00:06.0");
  EXPECT_EQ(gpu->pci_device_id, 0x2330u);
  EXPECT_EQ(gpu->architecture, std::optional(Architecture::kHopper));
  EXPECT_EQ(gpu->mig, (std::optional(MigMode{false, false})));
  EXPECT_TRUE(gpu->instances.empty());
  ASSERT_EQ(gpu->processes.size(), 2u);
  EXPECT_EQ(gpu->processes[0].name, "python3");
}

TEST_F(SnapshotTest, MigOnListsEachGiCiPairAndCilessGis) {
  auto gpu = ObserveGpu(Open(true));
  ASSERT_TRUE(gpu.ok()) << gpu.error().message;
  EXPECT_TRUE(gpu->processes.empty());
  ASSERT_EQ(gpu->instances.size(), 2u);

  const InstanceSnapshot& with_ci = gpu->instances[0];
  EXPECT_EQ(with_ci.gi, GiId(2));
  EXPECT_EQ(with_ci.profile, ProfileId(9));
  EXPECT_EQ(with_ci.profile_name, "3g.40gb");
  EXPECT_EQ(with_ci.placement, (Placement{4, 4}));
  EXPECT_EQ(with_ci.ci, std::optional(CiId(0)));
  EXPECT_EQ(with_ci.ci_profile, std::optional(CiProfileId(2)));
  EXPECT_EQ(with_ci.ci_placement, (std::optional(Placement{0, 3})));
  EXPECT_EQ(with_ci.uuid, std::optional(MigUuid("MIG-c7384736-a75d-5afc-978f-d2f1294409fd")));
  EXPECT_EQ(with_ci.memory, (std::optional(MemoryInfo{40448, 1037})));
  ASSERT_EQ(with_ci.processes.size(), 1u);
  EXPECT_EQ(with_ci.processes[0].pid, 4242u);

  const InstanceSnapshot& without_ci = gpu->instances[1];
  EXPECT_EQ(without_ci.gi, GiId(7));
  EXPECT_EQ(without_ci.profile_name, "1g.10gb");
  EXPECT_EQ(without_ci.ci, std::nullopt);
  EXPECT_EQ(without_ci.uuid, std::nullopt);
  EXPECT_EQ(without_ci.memory, std::nullopt);
}

TEST_F(SnapshotTest, HostHasVersionsAndEveryGpu) {
  Open(true);
  auto host = Observe(*nvml_);
  ASSERT_TRUE(host.ok()) << host.error().message;
  EXPECT_EQ(host->driver_version, "580.159.04");
  EXPECT_EQ(host->nvml_version, "13.580.159.04");
  ASSERT_EQ(host->gpus.size(), 1u);
  EXPECT_EQ(host->gpus[0].instances.size(), 2u);
}

}  // namespace
}  // namespace migctl::nvml
