#include "nvml/device.h"

#include <gtest/gtest.h>

#include "nvml/fake_h100.h"

namespace migctl::nvml {
namespace {

using DeviceTest = FakeH100;

TEST_F(DeviceTest, ReadsIdentity) {
  Device gpu = Open(false);
  EXPECT_EQ(gpu.index(), GpuIndex(0));
  EXPECT_EQ(*gpu.Name(), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(*gpu.Uuid(), GpuUuid("GPU-3ecd459c-0b85-7603-9390-03076bf3f151"));
  auto pci = gpu.Pci();
  ASSERT_TRUE(pci.ok());
  EXPECT_EQ(pci->bus_id, "00000000:00:06.0");
  EXPECT_EQ(pci->device_id, 0x2330u);
  EXPECT_EQ(pci->vendor_id, 0x10DEu);
  EXPECT_EQ(*gpu.MinorNumber(), 0u);
  EXPECT_EQ(*gpu.MigArchitecture(), std::optional(Architecture::kHopper));
  EXPECT_EQ(gpu.Memory()->total_mib, 81559u);
  EXPECT_EQ(*nvml_->DriverVersion(), "580.159.04");
  EXPECT_EQ(*nvml_->NvmlVersion(), "13.580.159.04");
}

TEST_F(DeviceTest, MigMode) {
  EXPECT_EQ(*Open(false).GetMigMode(), (MigMode{false, false}));
  EXPECT_EQ(*Open(true).GetMigMode(), (MigMode{true, true}));
}

TEST_F(DeviceTest, EnumeratesProfilesByIndexSkippingUnsupported) {
  auto profiles = Open(false).GiProfiles();
  ASSERT_TRUE(profiles.ok()) << profiles.error().message;
  std::vector<unsigned> indexes, ids;
  for (const GiProfileInfo& p : *profiles) {
    indexes.push_back(p.nvml_index);
    ids.push_back(p.id.value());
  }
  EXPECT_EQ(indexes, (std::vector<unsigned>{0, 1, 2, 3, 4, 7, 9}));
  EXPECT_EQ(ids, (std::vector<unsigned>{19, 14, 9, 5, 0, 20, 15}));
  const GiProfileInfo& me = (*profiles)[5];
  EXPECT_EQ(me.name, "1g.10gb+me");
  EXPECT_EQ(me.engines, (Engines{.copy = 1, .decoder = 1, .encoder = 0, .jpeg = 1, .ofa = 1}));
  EXPECT_EQ((*profiles)[4].multiprocessors, 132u);
  EXPECT_EQ((*profiles)[2].memory_mib, 40448u);
}

TEST_F(DeviceTest, FallsBackToV1PerIndexWhenVIsNotSupported) {
  auto profiles = Open(false, /*without_v=*/true).GiProfiles();
  ASSERT_TRUE(profiles.ok()) << profiles.error().message;
  ASSERT_EQ(profiles->size(), 7u);
  EXPECT_EQ((*profiles)[0].id, ProfileId(19));
  EXPECT_EQ((*profiles)[0].name, "");
  EXPECT_EQ((*profiles)[0].slices, 1u);
}

TEST_F(DeviceTest, PlacementsAndCapacity) {
  Device gpu = Open(false);
  auto placements = gpu.GiPlacements(ProfileId(9));
  ASSERT_TRUE(placements.ok()) << placements.error().message;
  EXPECT_EQ(*placements, (std::vector<Placement>{{0, 4}, {4, 4}}));
  auto capacity = gpu.GiRemainingCapacity(ProfileId(19));
  ASSERT_TRUE(capacity.ok()) << capacity.error().message;
  EXPECT_EQ(*capacity, std::nullopt) << "NOT_SUPPORTED with MIG off means unknown";
  EXPECT_EQ(*Open(true).GiRemainingCapacity(ProfileId(19)), std::optional(3u));
}

TEST_F(DeviceTest, ListsGpuAndComputeInstances) {
  Device gpu = Open(true);
  auto gis = gpu.GpuInstances();
  ASSERT_TRUE(gis.ok()) << gis.error().message;
  ASSERT_EQ(gis->size(), 2u);
  // Ordered by profile index: 1g.10gb (index 0) before 3g.40gb (index 2).
  EXPECT_EQ((*gis)[0].info().id, GiId(7));
  const GpuInstance& three = (*gis)[1];
  EXPECT_EQ(three.info().id, GiId(2));
  EXPECT_EQ(three.info().profile, ProfileId(9));
  EXPECT_EQ(three.info().placement, (Placement{4, 4}));

  auto cis = three.ComputeInstances();
  ASSERT_TRUE(cis.ok()) << cis.error().message;
  ASSERT_EQ(cis->size(), 1u);
  EXPECT_EQ((*cis)[0].info().id, CiId(0));
  EXPECT_EQ((*cis)[0].info().profile, CiProfileId(2));
  EXPECT_EQ((*cis)[0].info().placement, (Placement{0, 3}));
  EXPECT_TRUE((*gis)[0].ComputeInstances()->empty());
}

TEST_F(DeviceTest, GpuInstancesNeedMigOn) {
  auto gis = Open(false).GpuInstances();
  ASSERT_FALSE(gis.ok());
  EXPECT_EQ(gis.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(gis.error().message, "GPU 0: listing GPU instances (nvmlDeviceGetGpuInstances): Not Supported");
}

TEST_F(DeviceTest, CiProfilesAndDefault) {
  auto gis = Open(true).GpuInstances();
  ASSERT_TRUE(gis.ok()) << gis.error().message;
  auto profiles = (*gis)[1].CiProfiles();
  ASSERT_TRUE(profiles.ok()) << profiles.error().message;
  ASSERT_EQ(profiles->size(), 2u);
  EXPECT_EQ((*profiles)[0].id, CiProfileId(0));
  EXPECT_EQ((*profiles)[0].placements, (std::vector<Placement>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(DefaultCiProfile(*profiles)->id, CiProfileId(2));
}

TEST(DefaultCiProfile, PrefersWidestThenHighestIdUpToRev1) {
  std::vector<CiProfileInfo> rev2_gi = {{.id = CiProfileId(0), .slices = 1},
                                        {.id = CiProfileId(7), .slices = 1}};
  EXPECT_EQ(DefaultCiProfile(rev2_gi)->id, CiProfileId(7));
  std::vector<CiProfileInfo> full = {{.id = CiProfileId(0), .slices = 1},
                                     {.id = CiProfileId(4), .slices = 7},
                                     {.id = CiProfileId(8), .slices = 7}};
  EXPECT_EQ(DefaultCiProfile(full)->id, CiProfileId(4));
  EXPECT_EQ(DefaultCiProfile({}), nullptr);
}

TEST_F(DeviceTest, InstanceErrorsAreMappedWithContext) {
  Device gpu = Open(true);
  auto gis = gpu.GpuInstances();
  ASSERT_TRUE(gis.ok()) << gis.error().message;
  Status destroy = (*gis)[1].Destroy();
  ASSERT_FALSE(destroy.ok());
  EXPECT_EQ(destroy.error().code, ErrorCode::kBusy);
  EXPECT_EQ(destroy.error().nvml_return, NVML_ERROR_IN_USE);
  EXPECT_EQ(destroy.error().message,
            "GPU 0 GI 2: destroying the GPU instance (nvmlGpuInstanceDestroy): In use by another client");

  auto create = gpu.CreateGpuInstance(ProfileId(9), Placement{0, 4});
  ASSERT_FALSE(create.ok());
  EXPECT_EQ(create.error().code, ErrorCode::kInfeasible);
  EXPECT_EQ(
      create.error().message,
      "GPU 0: creating a GI of profile 9 at 0:4 (nvmlDeviceCreateGpuInstanceWithPlacement): Insufficient "
      "Resources");

  auto automatic = gpu.CreateGpuInstance(ProfileId(9));
  ASSERT_FALSE(automatic.ok());
  EXPECT_EQ(automatic.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(automatic.error().message.find("nvmlDeviceCreateGpuInstance is not exported"), std::string::npos);
}

TEST_F(DeviceTest, MigDevicesSkipEmptyIndexesAndNameProcesses) {
  auto devices = Open(true).MigDevices();
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  ASSERT_EQ(devices->size(), 1u);
  const MigDeviceInfo& mig = (*devices)[0];
  EXPECT_EQ(mig.gi, GiId(2));
  EXPECT_EQ(mig.ci, CiId(0));
  EXPECT_EQ(mig.uuid, MigUuid("MIG-c7384736-a75d-5afc-978f-d2f1294409fd"));
  EXPECT_EQ(mig.memory, (MemoryInfo{40448, 1037}));
  EXPECT_EQ(mig.attributes.gi_slices, 3u);
  EXPECT_EQ(mig.attributes.multiprocessors, 60u);
  ASSERT_EQ(mig.processes.size(), 1u);
  EXPECT_EQ(mig.processes[0].pid, 4242u);
  EXPECT_EQ(mig.processes[0].name, "python3");
  EXPECT_EQ(mig.processes[0].used_mib, std::optional(1024ull));
  EXPECT_TRUE(Open(false).MigDevices()->empty());
}

TEST_F(DeviceTest, WholeGpuProcessesKeepUnnamedAndUnmeasuredOnes) {
  auto processes = Open(false).ComputeProcesses();
  ASSERT_TRUE(processes.ok()) << processes.error().message;
  ASSERT_EQ(processes->size(), 2u);
  EXPECT_EQ((*processes)[1].pid, 4343u);
  EXPECT_EQ((*processes)[1].name, "");
  EXPECT_EQ((*processes)[1].used_mib, std::nullopt);
}

TEST_F(DeviceTest, ResetGoesToTheSimulatorExtension) { EXPECT_TRUE(Open(false).Reset().ok()); }

}  // namespace
}  // namespace migctl::nvml
