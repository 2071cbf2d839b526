#include "integrations/k8s_labels.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

constexpr unsigned long long kMiB = 1024ULL * 1024;

KubeGpu::Device Dev(unsigned gi, unsigned ci, unsigned sms, unsigned long long mib, std::string suffix = "") {
  KubeGpu::Device d;
  d.attributes.gi_slices = gi;
  d.attributes.ci_slices = ci;
  d.attributes.multiprocessors = sms;
  d.attributes.memory_mib = mib;
  d.attributes.shared_engines = {gi, gi, 0, gi == 7 ? 1u : 0u, gi == 7 ? 1u : 0u};
  d.profile_suffix = std::move(suffix);
  return d;
}

KubeGpu H100(std::vector<KubeGpu::Device> devices) {
  return KubeGpu{"NVIDIA H100 80GB HBM3", 81559 * kMiB, true, std::move(devices)};
}

TEST(K8sLabels, TypesAreNamedWithTheDevicePluginsFormula) {
  const KubeGpu h100 = H100({});
  EXPECT_EQ(DevicePluginType(h100, Dev(3, 3, 60, 40448)), "3g.40gb");
  EXPECT_EQ(DevicePluginType(h100, Dev(1, 1, 16, 9856)), "1g.10gb");
  EXPECT_EQ(DevicePluginType(h100, Dev(1, 1, 16, 9856, "+me")), "1g.10gb+me");
  EXPECT_EQ(DevicePluginType(h100, Dev(7, 7, 132, 80896)), "7g.80gb");
  EXPECT_EQ(DevicePluginType(h100, Dev(3, 1, 16, 40448)), "1c.3g.40gb") << "a CI smaller than its GI";
  const KubeGpu a100{"NVIDIA A100-SXM4-40GB", 40536 * kMiB, true, {}};
  EXPECT_EQ(DevicePluginType(a100, Dev(1, 1, 14, 4864)), "1g.5gb");
  EXPECT_EQ(DevicePluginType(a100, Dev(3, 3, 42, 19968)), "3g.20gb");
}

TEST(K8sLabels, MixedLabelsPerTypeAsGfdWritesThem) {
  const std::vector<KubeGpu> gpus = {H100({Dev(3, 3, 60, 40448), Dev(1, 1, 16, 9856), Dev(1, 1, 16, 9856)}),
                                     H100({Dev(3, 3, 60, 40448)})};
  EXPECT_EQ(StrategyFor(gpus), MigStrategy::kMixed);
  auto labels = GfdLabels(gpus, MigStrategy::kMixed);
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  const std::vector<std::string> want = {"nvidia.com/mig-1g.10gb.count=2",
                                         "nvidia.com/mig-1g.10gb.engines.copy=1",
                                         "nvidia.com/mig-1g.10gb.engines.decoder=1",
                                         "nvidia.com/mig-1g.10gb.engines.encoder=0",
                                         "nvidia.com/mig-1g.10gb.engines.jpeg=0",
                                         "nvidia.com/mig-1g.10gb.engines.ofa=0",
                                         "nvidia.com/mig-1g.10gb.memory=9856",
                                         "nvidia.com/mig-1g.10gb.multiprocessors=16",
                                         "nvidia.com/mig-1g.10gb.product=NVIDIA-H100-80GB-HBM3-MIG-1g.10gb",
                                         "nvidia.com/mig-1g.10gb.slices.ci=1",
                                         "nvidia.com/mig-1g.10gb.slices.gi=1",
                                         "nvidia.com/mig-3g.40gb.count=2",
                                         "nvidia.com/mig-3g.40gb.engines.copy=3",
                                         "nvidia.com/mig-3g.40gb.engines.decoder=3",
                                         "nvidia.com/mig-3g.40gb.engines.encoder=0",
                                         "nvidia.com/mig-3g.40gb.engines.jpeg=0",
                                         "nvidia.com/mig-3g.40gb.engines.ofa=0",
                                         "nvidia.com/mig-3g.40gb.memory=40448",
                                         "nvidia.com/mig-3g.40gb.multiprocessors=60",
                                         "nvidia.com/mig-3g.40gb.product=NVIDIA-H100-80GB-HBM3-MIG-3g.40gb",
                                         "nvidia.com/mig-3g.40gb.slices.ci=3",
                                         "nvidia.com/mig-3g.40gb.slices.gi=3",
                                         "nvidia.com/mig.strategy=mixed"};
  EXPECT_EQ(*labels, want);
}

TEST(K8sLabels, SingleOnlyWhenEveryGpuHasOneTypeAndSaysWhatDiffers) {
  std::vector<KubeGpu> gpus = {H100({Dev(3, 3, 60, 40448), Dev(3, 3, 60, 40448)}),
                               H100({Dev(3, 3, 60, 40448)})};
  EXPECT_EQ(StrategyFor(gpus), MigStrategy::kSingle);
  auto labels = GfdLabels(gpus, MigStrategy::kSingle);
  ASSERT_TRUE(labels.ok());
  EXPECT_NE(std::find(labels->begin(), labels->end(), "nvidia.com/gpu.count=3"), labels->end());
  EXPECT_NE(
      std::find(labels->begin(), labels->end(), "nvidia.com/gpu.product=NVIDIA-H100-80GB-HBM3-MIG-3g.40gb"),
      labels->end());
  gpus[1].devices.push_back(Dev(1, 1, 16, 9856));
  auto refused = GfdLabels(gpus, MigStrategy::kSingle);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("1g.10gb, 3g.40gb"), std::string::npos) << refused.error().message;
  gpus[1] = KubeGpu{"NVIDIA H100 80GB HBM3", 81559 * kMiB, false, {}};
  EXPECT_EQ(StrategyFor(gpus), MigStrategy::kMixed);
  EXPECT_FALSE(GfdLabels(gpus, MigStrategy::kSingle).ok());
  EXPECT_EQ(StrategyFor({gpus[1]}), MigStrategy::kNone);
  EXPECT_EQ(StrategyFor({H100({})}), MigStrategy::kMixed) << "MIG on without devices: no type to be single";
}

TEST(K8sLabels, LabelValuesFollowKubernetesGrammar) {
  EXPECT_TRUE(IsLabelValue("NVIDIA-H100-80GB-HBM3-MIG-3g.40gb"));
  EXPECT_TRUE(IsLabelValue(""));
  EXPECT_FALSE(IsLabelValue("NVIDIA A100 MIG")) << "spaces";
  EXPECT_FALSE(IsLabelValue("-x"));
  EXPECT_FALSE(IsLabelValue("x."));
  EXPECT_FALSE(IsLabelValue(std::string(64, 'a')));
  EXPECT_EQ(DevicePluginConfig(MigStrategy::kMixed).find("version: v1\nflags:\n  migStrategy: mixed\n") !=
                std::string::npos,
            true);
}

}  // namespace
}  // namespace migctl
