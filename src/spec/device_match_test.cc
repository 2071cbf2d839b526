#include "spec/device_match.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace migctl::spec {
namespace {

constexpr std::uint16_t kNvidia = 0x10DE;
constexpr std::uint16_t kA100_80 = 0x20B2;
constexpr std::uint16_t kH100 = 0x2330;
constexpr std::uint16_t kT4 = 0x1EB8;

HostGpu Gpu(unsigned index, std::uint16_t device_id, bool mig_capable = true) {
  HostGpu gpu;
  gpu.index = GpuIndex(index);
  gpu.uuid = GpuUuid(fmt::format("GPU-{:08x}-0b85-7603-9390-03076bf3f151", 0x3ecd4590 + index));
  gpu.pci_bus_id = fmt::format("00000000:{:02X}:00.0", 0x10 + index);
  gpu.device_id = device_id;
  gpu.vendor_id = kNvidia;
  gpu.mig_capable = mig_capable;
  return gpu;
}

/// Two A100-80GB (0, 1), two H100 (2, 3).
std::vector<HostGpu> MixedHost() {
  return {Gpu(0, kA100_80), Gpu(1, kA100_80), Gpu(2, kH100), Gpu(3, kH100)};
}

/// Parses a config whose only layout, `l`, has the specs written in `specs` (a YAML list at indent 4).
ConfigFile Config(std::string_view specs) {
  auto file = ParseConfig("version: v1\nmig-configs:\n  l:\n" + std::string(specs), "c.yaml");
  EXPECT_TRUE(file.ok()) << file.error().message;
  return file.ok() ? std::move(file).value() : ConfigFile{};
}

Result<DeviceAssignment> Assign(const ConfigFile& file, const std::vector<HostGpu>& gpus) {
  return AssignDevices(file, file.configs.at(0), gpus);
}

/// GPU index → index of the spec in layout `l`, as "0:1 1:1 2:0".
std::string Summary(const ConfigFile& file, const DeviceAssignment& assignment) {
  std::string out;
  for (const GpuAssignment& a : assignment.gpus)
    out +=
        fmt::format("{}{}:{}", out.empty() ? "" : " ", a.gpu.value(), a.spec - file.configs[0].specs.data());
  return out;
}

void ExpectError(const Result<DeviceAssignment>& result, std::string_view where, std::string_view what) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(result.error().message.starts_with("c.yaml:" + std::string(where) + ": "))
      << result.error().message;
  EXPECT_NE(result.error().message.find(what), std::string::npos) << result.error().message;
}

/// NVIDIA's all-balanced, shortened: one spec per model, told apart by device-filter.
constexpr const char* kPerModelSpecs = R"(    - device-filter: ["0x20B010DE"]
      devices: all
      mig-enabled: true
      mig-devices: {1g.5gb: 7}
    - device-filter: ["0x20B210DE", "0x20B510DE"]
      devices: all
      mig-enabled: true
      mig-devices: {1g.10gb: 7}
    - device-filter: "0x233010DE"
      devices: all
      mig-enabled: true
      mig-devices: {1g.10gb: 7}
    - device-filter: ["0x294110DE"]
      devices: all
      mig-enabled: true
      mig-devices: {1g.23gb: 7}
)";

TEST(AssignDevices, DeviceFilterPicksSpecsPerModel) {
  ConfigFile file = Config(kPerModelSpecs);
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:1 1:1 2:2 3:2");
  EXPECT_TRUE(result->unselected.empty());
}

// Regression: NVIDIA's all-balanced printed 11 warnings on every apply, one per spec for a model not here.
TEST(AssignDevices, AllBalancedWarnsNothingWhenEveryGpuHasASpec) {
  ConfigFile file = Config(kPerModelSpecs);
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->warnings.empty()) << result->warnings[0];
}

TEST(AssignDevices, SpecsForOtherModelsAreOneLineWhenAGpuIsLeftWithoutASpec) {
  ConfigFile file = Config(kPerModelSpecs);
  auto result = Assign(file, {Gpu(0, kH100), Gpu(1, 0x2321)});  // An H100 NVL has no spec here.
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:2");
  ASSERT_EQ(result->unselected.size(), 1u);
  EXPECT_EQ(result->unselected[0], GpuIndex(1));
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(result->warnings[0],
            "c.yaml:4:7: 3 specs of 'l' are for models not on this host (a100-40gb, a100-80gb, "
            "0x294110DE); skipped");
}

TEST(AssignDevices, AllSkipsGpusWithoutMig) {
  ConfigFile file = Config("    - devices: all\n      mig-enabled: false\n");
  auto result = Assign(file, {Gpu(0, kT4, false), Gpu(1, kH100)});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "1:0");
  EXPECT_TRUE(result->warnings.empty());
}

TEST(AssignDevices, ListedGpusByIndexUuidAndPciBusId) {
  ConfigFile file = Config(R"(    - devices: [3, GPU-3ecd4590, "11:00.0"]
      mig-enabled: false
)");
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:0 1:0 3:0");
  EXPECT_TRUE(result->warnings.empty());
}

TEST(AssignDevices, GpusNoSpecSelectsAreLeftOut) {
  ConfigFile file = Config("    - devices: [1]\n      mig-enabled: true\n      mig-devices: {}\n");
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "1:0");
}

TEST(AssignDevices, SubsystemFilterNeedsAKnownMatchingSubsystem) {
  ConfigFile file = Config(R"(    - device-filter: "0x233010DE:0x16C110DE"
      devices: all
      mig-enabled: false
)");
  std::vector<HostGpu> gpus = {Gpu(0, kH100), Gpu(1, kH100), Gpu(2, kH100)};
  gpus[0].subsystem_device_id = 0x16C1;
  gpus[0].subsystem_vendor_id = kNvidia;
  gpus[1].subsystem_device_id = 0x16C2;
  gpus[1].subsystem_vendor_id = kNvidia;
  auto result = Assign(file, gpus);  // GPU 2's subsystem is unknown.
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:0");
}

TEST(AssignDevices, ListedGpuThatTheFilterExcludesIsSkippedWithAWarning) {
  ConfigFile file = Config(R"(    - device-filter: "0x233010DE"
      devices: [0, 2]
      mig-enabled: false
)");
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "2:0");
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(
      result->warnings[0],
      "c.yaml:5:17: GPU 0 is a 0x20B210DE, which this spec's device-filter (0x233010DE) excludes; it is "
      "skipped");
}

// Regression: `devices: [0..7]` on a 4-GPU host was refused, where mig-parted skips the missing indexes (the
// GPU Operator shares one ConfigMap across nodes of different sizes).
TEST(AssignDevices, IndexesPastTheHostsGpusAreSkippedWithOneWarning) {
  ConfigFile file = Config("    - devices: [0, 1, 2, 3, 4, 5, 6, 7]\n      mig-enabled: false\n");
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:0 1:0 2:0 3:0");
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(result->warnings[0],
            "c.yaml:4:29: GPUs 4, 5, 6, 7 in 'devices' are not on this host, which has 4 GPUs (indexes 0 to "
            "3); skipped, as mig-parted does (--strict refuses this)");
}

TEST(AssignDevices, StrictRefusesAMissingIndexSayingHowManyGpusExist) {
  ConfigFile file = Config("    - devices: [0, 4]\n      mig-enabled: false\n");
  ExpectError(AssignDevices(file, file.configs[0], MixedHost(), {.strict = true}), "4:20",
              "GPU 4 does not exist: this host has 4 GPUs (indexes 0 to 3)");
}

TEST(AssignDevices, MissingIndexInASpecForAnotherModelIsIgnored) {
  ConfigFile file = Config(R"(    - device-filter: "0x20B010DE"
      devices: [6, 7]
      mig-enabled: false
    - devices: all
      mig-enabled: false
)");
  auto result = AssignDevices(file, file.configs[0], MixedHost(), {.strict = true});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->warnings.empty());
}

TEST(AssignDevices, UnknownUuidAndPciBusIdAreErrors) {
  ExpectError(Assign(Config("    - devices: [GPU-ffffffff]\n      mig-enabled: false\n"), MixedHost()),
              "4:17", "no GPU has UUID gpu-ffffffff");
  ExpectError(Assign(Config("    - devices: [\"0000:99:00.0\"]\n      mig-enabled: false\n"), MixedHost()),
              "4:17", "no GPU at PCI bus id 00000000:99:00.0");
}

TEST(AssignDevices, AmbiguousUuidPrefixIsAnError) {
  std::vector<HostGpu> gpus = MixedHost();
  gpus[1].uuid = GpuUuid("GPU-3ecd4590-aaaa-7603-9390-03076bf3f151");
  ExpectError(Assign(Config("    - devices: [GPU-3ecd4590]\n      mig-enabled: false\n"), gpus), "4:17",
              "matches 2 GPUs");
}

TEST(AssignDevices, GpuSelectedByTwoSpecsIsAnErrorWithBothPositions) {
  ConfigFile file = Config(R"(    - device-filter: "0x233010DE"
      devices: all
      mig-enabled: false
    - devices: [1, 2]
      mig-enabled: true
      mig-devices: {}
)");
  ExpectError(
      Assign(file, MixedHost()), "7:20",
      "GPU 2 is selected by this spec and by the one at line 4, column 7, which mig-parted would apply in "
      "turn");
}

TEST(AssignDevices, SameGpuTwiceInOneSpecUnderTwoNamesIsAnError) {
  ConfigFile file = Config("    - devices: [1, GPU-3ecd4591]\n      mig-enabled: false\n");
  ExpectError(Assign(file, MixedHost()), "4:20",
              "GPU 1 is listed twice in 'devices' (also at line 4, column 17)");
}

TEST(AssignDevices, ListedGpuWithoutMigCannotBeEnabled) {
  std::vector<HostGpu> gpus = {Gpu(0, kT4, false), Gpu(1, kH100)};
  ExpectError(Assign(Config("    - devices: [0]\n      mig-enabled: true\n      mig-devices: {}\n"), gpus),
              "4:17", "GPU 0 (0x1EB810DE) is not MIG-capable, so it cannot have 'mig-enabled: true'");
  auto disabled = Assign(Config("    - devices: [0]\n      mig-enabled: false\n"), gpus);
  ASSERT_TRUE(disabled.ok()) << disabled.error().message;
}

TEST(AssignDevices, LayoutThatSelectsNothingIsAWarningListingTheHost) {
  ConfigFile file = Config(R"(    - device-filter: ["0x20B010DE"]
      devices: all
      mig-enabled: true
      mig-devices: {1g.5gb: 7}
)");
  auto result = Assign(file, {Gpu(0, kH100), Gpu(1, kT4, false)});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_TRUE(result->gpus.empty());
  ASSERT_EQ(result->unselected.size(), 1u);
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_EQ(result->warnings[0],
            "c.yaml:3:3: layout 'l' selects no GPU of this host, so nothing would be applied; this host has "
            "GPU 0: 0x233010DE, GPU 1: 0x1EB810DE (not MIG-capable)");
}

TEST(AssignDevices, StrictRefusesALayoutThatSelectsNothing) {
  ConfigFile file = Config(R"(    - device-filter: ["0x20B010DE"]
      devices: all
      mig-enabled: true
      mig-devices: {1g.5gb: 7}
)");
  auto strict = [&](const std::vector<HostGpu>& gpus) {
    return AssignDevices(file, file.configs[0], gpus, {.strict = true});
  };
  ExpectError(strict({Gpu(0, kH100), Gpu(1, kT4, false)}), "3:3",
              "layout 'l' selects no GPU of this host, so nothing would be applied; this host has GPU 0: "
              "0x233010DE, GPU 1: 0x1EB810DE (not MIG-capable)");
  ExpectError(strict({}), "3:3", "this host has no GPUs");
  ConfigFile all = Config("    - devices: all\n      mig-enabled: false\n");
  ExpectError(AssignDevices(all, all.configs[0], {}, {.strict = true}), "3:3",
              "layout 'l' selects no GPU of this host");
}

TEST(AssignDevices, SpecWithAnEmptyDeviceListIsSkippedWithAWarning) {
  ConfigFile file = Config(R"(    - devices: []
      mig-enabled: false
    - devices: [0]
      mig-enabled: false
)");
  auto result = Assign(file, MixedHost());
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(Summary(file, *result), "0:1");
  ASSERT_EQ(result->warnings.size(), 1u);
  EXPECT_TRUE(result->warnings[0].starts_with("c.yaml:4:7: this spec selects no GPU here"))
      << result->warnings[0];
}

}  // namespace
}  // namespace migctl::spec
