#include "nvml/geometry.h"

#include <gtest/gtest.h>

#include "nvml/fake_h100.h"

namespace migctl::nvml {
namespace {

using GeometryTest = FakeH100;

TEST_F(GeometryTest, BuildsTheModelFromRecordedH100Answers) {
  auto model = ReadGeometry(Open(false));
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ(model->product_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(model->pci_device_ids, std::vector<unsigned>{0x2330});
  EXPECT_EQ(model->architecture, Architecture::kHopper);
  EXPECT_EQ(model->memory_slots, 8u);
  EXPECT_EQ(model->compute_slices, 7u);
  EXPECT_EQ(model->multiprocessors, 132u);
  EXPECT_EQ(model->memory_mib, 81559u);
  ASSERT_EQ(model->gi_profiles.size(), 7u);

  const GiProfile& three = model->gi_profiles[2];
  EXPECT_EQ(three.id, ProfileId(9));
  EXPECT_EQ(three.nvml_index, 2u);
  EXPECT_EQ(three.name, "3g.40gb");
  EXPECT_EQ(three.compute_slices, 3u);
  EXPECT_EQ(three.memory_mib, 40448u);
  EXPECT_EQ(three.placement_size, 4u);
  EXPECT_EQ(three.starts, (std::vector<unsigned>{0, 4}));
  EXPECT_TRUE(three.ci_profiles.empty()) << "no GI exists to ask for CI profiles";

  EXPECT_EQ(model->gi_profiles[5].name, "1g.10gb+me");
  EXPECT_EQ(model->gi_profiles[5].media, MediaKind::kMe);
  EXPECT_EQ(model->gi_profiles[6].placement_size, 2u);
  EXPECT_EQ(model->gi_profiles[6].starts, (std::vector<unsigned>{0, 2, 4, 6}));
}

TEST_F(GeometryTest, MatchesTheCatalogModelWithTheSameGeometry) {
  auto model = ReadGeometry(Open(false));
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ(model->key, "h100-80gb");
}

TEST_F(GeometryTest, DerivesNamesWhenOnlyV1Answers) {
  auto model = ReadGeometry(Open(false, /*without_v=*/true));
  ASSERT_TRUE(model.ok()) << model.error().message;
  std::vector<std::string> names;
  for (const GiProfile& p : model->gi_profiles) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb",
                                             "1g.10gb+me", "1g.20gb"}));
  EXPECT_EQ(model->gi_profiles[5].media, MediaKind::kMe);
}

TEST_F(GeometryTest, ReadsCiProfilesThroughExistingInstances) {
  auto model = ReadGeometry(Open(true));
  ASSERT_TRUE(model.ok()) << model.error().message;
  const GiProfile& three = model->gi_profiles[2];
  ASSERT_EQ(three.ci_profiles.size(), 2u);
  EXPECT_EQ(three.ci_profiles[0].name, "1c.3g.40gb");
  EXPECT_EQ(three.ci_profiles[0].starts, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_FALSE(three.ci_profiles[0].is_default);
  EXPECT_EQ(three.ci_profiles[1].name, "3g.40gb");
  EXPECT_TRUE(three.ci_profiles[1].is_default);
  ASSERT_EQ(model->gi_profiles[0].ci_profiles.size(), 1u);
  EXPECT_TRUE(model->gi_profiles[0].ci_profiles[0].is_default);
  EXPECT_TRUE(model->gi_profiles[1].ci_profiles.empty());
}

TEST(DeriveGiProfileName, FollowsGoNvlibRule) {
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_1_SLICE, 9984, 81559), "1g.10gb");
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_3_SLICE, 40448, 81559), "3g.40gb");
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME, 9984, 81559), "1g.10gb+me.all");
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME, 20096, 81559), "2g.20gb-me");
  // A100-40GB: 4864 MiB of 40536 → the 1/8 of a 40 GiB card.
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_1_SLICE, 4864, 40536), "1g.5gb");
  EXPECT_EQ(DeriveGiProfileName(0x1F, 4864, 40536), "");
  EXPECT_EQ(DeriveGiProfileName(NVML_GPU_INSTANCE_PROFILE_1_SLICE, 4864, 0), "");
}

}  // namespace
}  // namespace migctl::nvml
