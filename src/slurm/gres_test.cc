#include "slurm/gres.h"

#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl::slurm {
namespace {

nvml::InstanceSnapshot Mig(unsigned profile, const char* name, unsigned gi, unsigned start, const char* uuid) {
  nvml::InstanceSnapshot i;
  i.profile = ProfileId(profile);
  i.profile_name = name;
  i.gi = GiId(gi);
  i.placement = {start, 1};
  i.ci = CiId(0);
  i.uuid = MigUuid(uuid);
  return i;
}

nvml::GpuSnapshot H100(unsigned index, std::vector<nvml::InstanceSnapshot> instances) {
  nvml::GpuSnapshot g;
  g.index = GpuIndex(index);
  g.uuid = GpuUuid("GPU-" + std::to_string(index));
  g.name = "NVIDIA H100 80GB HBM3";
  g.pci_device_id = 0x2330;
  g.minor = index;
  g.mig = nvml::MigMode{true, true};
  g.instances = std::move(instances);
  return g;
}

MigMinors Minors() {
  MigMinors m;
  for (unsigned g = 0; g < 2; ++g)
    for (unsigned i = 0; i < 15; ++i) {
      m[fmt::format("gpu{}/gi{}/access", g, i)] = 3 + 135 * g + 9 * i;
      for (unsigned c = 0; c < 8; ++c) m[fmt::format("gpu{}/gi{}/ci{}/access", g, i, c)] = 4 + 135 * g + 9 * i + c;
    }
  return m;
}

TEST(Gres, AJobsTypeMapsBackToThePlainProfileOfTheModel) {
  const GpuModel& h200 = *FindModel("h200-141gb").value();
  const GpuModel& a100 = *FindModel("a100-80gb").value();
  ASSERT_NE(ProfileOfType(h200, "1g.16gb"), nullptr);
  EXPECT_EQ(ProfileOfType(h200, "1g.16gb")->name, "1g.18gb");  // Slurm's rounding of its real memory
  ASSERT_NE(ProfileOfType(a100, "7g.79gb"), nullptr);
  EXPECT_EQ(ProfileOfType(a100, "7g.79gb")->name, "7g.80gb");
  EXPECT_EQ(ProfileOfType(a100, "3g.40gb"), nullptr);  // an A100-80GB's 3g.40gb has 40,192 MiB: `3g.39gb`
  EXPECT_EQ(ProfileOfType(a100, "9g.99gb"), nullptr);
  for (const GpuModel* model : {&h200, &a100})  // every plain profile's type leads back to it
    for (const GiProfile& p : model->gi_profiles)
      if (p.media == MediaKind::kDefault) {
        EXPECT_EQ(ProfileOfType(*model, MigTypeName(p.compute_slices, p.memory_mib)), &p) << p.name;
      }
  EXPECT_EQ(ProfileOfType(a100, "nvidia_a100"), nullptr);
}

TEST(Gres, TypeNamesAreWhatSlurmsAutodetectEndsWith) {
  EXPECT_EQ(MigTypeName(3, 40448), "3g.40gb");  // H100 3g.40gb
  EXPECT_EQ(MigTypeName(1, 9984), "1g.10gb");
  EXPECT_EQ(MigTypeName(1, 16384), "1g.16gb");  // H200 1g.18gb: Slurm rounds the real memory
  EXPECT_EQ(MigTypeName(1, 19968), "1g.20gb");  // A100-40GB 2g.20gb-like: 19.5 rounds up
  EXPECT_EQ(WholeGpuTypeName("NVIDIA H100 80GB HBM3"), "nvidia_h100_80gb_hbm3");
  EXPECT_EQ(WholeGpuTypeName("NVIDIA A100-SXM4-40GB"), "nvidia_a100-sxm4-40gb");
}

TEST(Gres, OrderIsByTypeThenGpuThenPlacement) {
  nvml::HostSnapshot host;
  host.gpus.push_back(H100(0, {Mig(9, "3g.40gb", 1, 4, "MIG-a"), Mig(19, "1g.10gb", 9, 2, "MIG-b"),
                               Mig(19, "1g.10gb", 7, 0, "MIG-c")}));
  host.gpus.push_back(H100(1, {Mig(19, "1g.10gb", 8, 1, "MIG-d")}));
  const MigMinors minors = Minors();
  auto devices = DescribeGres(host, &minors, "");
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  ASSERT_EQ(devices->size(), 4u);
  std::vector<std::string> uuids;
  for (const auto& d : *devices) uuids.push_back(d.uuid);
  EXPECT_EQ(uuids, (std::vector<std::string>{"MIG-c", "MIG-b", "MIG-d", "MIG-a"}));
  EXPECT_EQ((*devices)[3].type, "3g.40gb");
  EXPECT_EQ((*devices)[3].index, 3u);
  EXPECT_EQ((*devices)[0].files,
            (std::vector<std::string>{"/dev/nvidia0", "/dev/nvidia-caps/nvidia-cap66", "/dev/nvidia-caps/nvidia-cap67"}));
  EXPECT_EQ(NodeGresValue(*devices), "gpu:1g.10gb:3,gpu:3g.40gb:1");
  const std::string conf = GresConfLines("n1", *devices);
  EXPECT_NE(conf.find("NodeName=n1 Name=gpu Type=1g.10gb MultipleFiles=/dev/nvidia1,/dev/nvidia-caps/nvidia-cap210,"
                      "/dev/nvidia-caps/nvidia-cap211\n"),
            std::string::npos)
      << conf;
  // The same layout created in another order describes the same way.
  std::reverse(host.gpus[0].instances.begin(), host.gpus[0].instances.end());
  auto again = DescribeGres(host, &minors, "/r");
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < again->size(); ++i) EXPECT_EQ((*again)[i].uuid, uuids[i]);
  EXPECT_EQ((*again)[0].files[0], "/r/dev/nvidia0");
}

TEST(Gres, WholeGpusFollowMigDevicesAndANodeWithoutMigIsRefused) {
  nvml::HostSnapshot host;
  host.gpus.push_back(H100(0, {}));
  host.gpus[0].mig = nvml::MigMode{false, false};
  auto none = DescribeGres(host, nullptr, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidInput);
  host.gpus.push_back(H100(1, {Mig(19, "1g.10gb", 7, 0, "MIG-x")}));
  auto some = DescribeGres(host, nullptr, "");
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[1].uuid, "GPU-0");
  EXPECT_EQ((*some)[1].type, "nvidia_h100_80gb_hbm3");
  EXPECT_TRUE((*some)[1].files.empty());
}

TEST(Gres, MissingCapabilityIsNamed) {
  nvml::HostSnapshot host;
  host.gpus.push_back(H100(0, {Mig(19, "1g.10gb", 7, 0, "MIG-x")}));
  MigMinors empty;
  auto r = DescribeGres(host, &empty, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("gpu0/gi7/access"), std::string::npos);
}

TEST(Gres, MigMinorsAndMapsParse) {
  auto m = ParseMigMinors("config 1\nmonitor 2\ngpu0/gi1/access 12\n\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->at("gpu0/gi1/access"), 12u);
  EXPECT_FALSE(ParseMigMinors("gpu0/gi1/access twelve\n").ok());
  auto map = ParseGresMap("# c\n1 MIG-b 1g.10gb\n0 MIG-a 1g.10gb\n", "map");
  ASSERT_TRUE(map.ok());
  EXPECT_EQ((*map)[0].uuid, "MIG-a");
  auto dup = ParseGresMap("0 MIG-a t\n0 MIG-b t\n", "map");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("map line 2"), std::string::npos);
  EXPECT_FALSE(ParseGresMap("0 MIG-a\n", "map").ok());
}

TEST(Gres, IndexListsAsSlurmWritesThem) {
  EXPECT_EQ(*ParseIndexList("3", "V"), (std::vector<unsigned>{3}));
  EXPECT_EQ(*ParseIndexList("0,2-4", "V"), (std::vector<unsigned>{0, 2, 3, 4}));
  for (const char* bad : {"", "a", "1,", "3-1", "1;2"}) {
    auto r = ParseIndexList(bad, "SLURM_STEP_GPUS");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("SLURM_STEP_GPUS"), std::string::npos);
  }
}

}  // namespace
}  // namespace migctl::slurm
