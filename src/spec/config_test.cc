#include "spec/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace migctl::spec {
namespace {

Result<ConfigFile> Parse(std::string_view text) { return ParseConfig(text, "t.yaml"); }

/// Expects `text` to fail with kInvalidInput at `where` (`LINE:COLUMN`) with `what` in the message.
void ExpectError(std::string_view text, std::string_view where, std::string_view what) {
  auto file = Parse(text);
  ASSERT_FALSE(file.ok()) << text;
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidInput) << file.error().message;
  EXPECT_TRUE(file.error().message.starts_with("t.yaml:" + std::string(where) + ": "))
      << file.error().message;
  EXPECT_NE(file.error().message.find(what), std::string::npos) << file.error().message;
  EXPECT_EQ(file.error().message.find('\n'), std::string::npos) << file.error().message;
}

/// A one-spec config whose spec body (indented under `- `) is `spec`.
std::string OneSpec(std::string_view spec) {
  return "version: v1\nmig-configs:\n  custom:\n    - " + std::string(spec) + "\n";
}

TEST(ParseConfig, ReadsLabelsSpecsAndCountsInFileOrder) {
  auto file = Parse(R"(version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  mixed:
    - device-filter: ["0x20B010DE", "0x20B210DE:0x147E10DE"]
      devices: [0, 1]
      mig-enabled: true
      mig-devices:
        "3g.40gb": 1
        1c.3g.40gb: 0
        "1g.10gb+me": 2
    - devices: [2]
      mig-enabled: true
      mig-devices: {}
)");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->path, "t.yaml");
  ASSERT_EQ(file->configs.size(), 2u);
  EXPECT_EQ(file->configs[0].label, "all-disabled");
  EXPECT_EQ(file->configs[0].pos.line, 3u);
  EXPECT_EQ(file->configs[0].pos.column, 3u);
  const MigConfigSpec& disabled = file->configs[0].specs.at(0);
  EXPECT_TRUE(disabled.all_devices);
  EXPECT_FALSE(disabled.mig_enabled);
  EXPECT_TRUE(disabled.mig_devices.empty());
  EXPECT_EQ(disabled.pos.line, 4u);
  EXPECT_EQ(disabled.pos.column, 7u);

  const NamedConfig& mixed = file->configs[1];
  ASSERT_EQ(mixed.specs.size(), 2u);
  const MigConfigSpec& first = mixed.specs[0];
  ASSERT_EQ(first.device_filters.size(), 2u);
  EXPECT_EQ(first.device_filters[0].device_id, 0x20B0);
  EXPECT_FALSE(first.device_filters[0].subsystem_device_id);
  EXPECT_EQ(first.device_filters[1].subsystem_device_id, 0x147E);
  EXPECT_EQ(first.device_filters[1].pos.line, 7u);
  EXPECT_EQ(first.device_filters[1].pos.column, 37u);
  EXPECT_FALSE(first.all_devices);
  ASSERT_EQ(first.devices.size(), 2u);
  EXPECT_EQ(first.devices[1].index, 1u);
  EXPECT_EQ(first.devices[1].pos.line, 8u);
  EXPECT_EQ(first.devices[1].pos.column, 20u);
  EXPECT_TRUE(first.mig_enabled);
  ASSERT_EQ(first.mig_devices.size(), 3u);
  EXPECT_EQ(first.mig_devices[0].profile.text, "3g.40gb");
  EXPECT_EQ(first.mig_devices[0].count, 1u);
  EXPECT_EQ(first.mig_devices[1].profile.text, "1c.3g.40gb");
  EXPECT_EQ(first.mig_devices[1].count, 0u);
  EXPECT_EQ(first.mig_devices[2].profile.gi_name, "1g.10gb+me");
  EXPECT_EQ(first.mig_devices[2].count, 2u);
  EXPECT_EQ(first.mig_devices[2].pos.line, 13u);
  EXPECT_EQ(first.mig_devices[2].pos.column, 9u);
  EXPECT_FALSE(first.uses_instances);
  EXPECT_TRUE(mixed.specs[1].mig_enabled);
  EXPECT_TRUE(mixed.specs[1].mig_devices.empty());
}

TEST(ParseConfig, DeviceFilterMayBeOneStringOrEmpty) {
  auto file = Parse(OneSpec("device-filter: 0x233010DE\n      devices: all\n      mig-enabled: false"));
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_EQ(file->configs[0].specs[0].device_filters.size(), 1u);
  EXPECT_EQ(file->configs[0].specs[0].device_filters[0].device_id, 0x2330);
  file = Parse(OneSpec("device-filter: []\n      devices: all\n      mig-enabled: false"));
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_TRUE(file->configs[0].specs[0].device_filters.empty());
}

TEST(ParseConfig, DevicesMayBeUuidsAndPciBusIds) {
  auto file =
      Parse(OneSpec("devices: [GPU-3ecd459c-0b85-7603-9390-03076bf3f151, \"0000:3b:00.0\", gpu-9CE1EF66, "
                    "2]\n      mig-enabled: "
                    "false"));
  ASSERT_TRUE(file.ok()) << file.error().message;
  const auto& devices = file->configs[0].specs[0].devices;
  ASSERT_EQ(devices.size(), 4u);
  EXPECT_FALSE(devices[0].index);
  EXPECT_EQ(devices[0].selector, "GPU-3ecd459c-0b85-7603-9390-03076bf3f151");
  EXPECT_EQ(devices[1].selector, "0000:3b:00.0");
  EXPECT_EQ(devices[2].selector, "gpu-9CE1EF66");
  EXPECT_EQ(devices[3].index, 2u);
}

TEST(ParseConfig, MigEnabledTakesYamlBooleans) {
  for (const char* word : {"true", "True", "TRUE", "yes", "on"}) {
    auto file =
        Parse(OneSpec(std::string("devices: all\n      mig-devices: {}\n      mig-enabled: ") + word));
    ASSERT_TRUE(file.ok()) << word << ": " << file.error().message;
    EXPECT_TRUE(file->configs[0].specs[0].mig_enabled) << word;
  }
  for (const char* word : {"false", "False", "no", "off"}) {
    auto file = Parse(OneSpec(std::string("devices: all\n      mig-enabled: ") + word));
    ASSERT_TRUE(file.ok()) << word << ": " << file.error().message;
    EXPECT_FALSE(file->configs[0].specs[0].mig_enabled) << word;
  }
}

TEST(ParseConfig, EmptyMigDevicesMeansMigOnWithoutInstances) {
  for (const char* body : {"mig-devices: {}", "mig-devices:"}) {
    auto file = Parse(OneSpec(std::string("devices: all\n      mig-enabled: true\n      ") + body));
    ASSERT_TRUE(file.ok()) << body << ": " << file.error().message;
    EXPECT_TRUE(file->configs[0].specs[0].mig_devices.empty());
  }
  auto off = Parse(OneSpec("devices: all\n      mig-enabled: false\n      mig-devices: {}"));
  ASSERT_TRUE(off.ok()) << off.error().message;
}

TEST(ParseConfig, MergeKeysApplyAsInMigParted) {
  auto file = Parse(R"(version: v1
defaults: &on
  devices: all
  mig-enabled: true
mig-configs:
  a:
    - <<: *on
      mig-devices: {1g.10gb: 7}
    - <<: [*on]
      devices: [1]
      mig-devices: {}
)");
  // `defaults` is not a mig-parted key: the anchor has to live inside mig-configs.
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.error().message.find("t.yaml:2:1: unexpected field: 'defaults'"), std::string::npos)
      << file.error().message;

  file = Parse(R"(version: v1
mig-configs:
  base:
    - &on {devices: all, mig-enabled: true, mig-devices: {}}
  a:
    - <<: *on
      mig-devices: {1g.10gb: 7}
    - <<: [*on]
      devices: [1]
)");
  ASSERT_TRUE(file.ok()) << file.error().message;
  const NamedConfig& a = file->configs[1];
  EXPECT_TRUE(a.specs[0].all_devices);
  EXPECT_TRUE(a.specs[0].mig_enabled);
  ASSERT_EQ(a.specs[0].mig_devices.size(), 1u);
  EXPECT_EQ(a.specs[0].mig_devices[0].count, 7u);
  EXPECT_FALSE(a.specs[1].all_devices);
  ASSERT_EQ(a.specs[1].devices.size(), 1u);
}

TEST(ParseConfig, MigInstancesGiveProfilesStartsAndComputeInstances) {
  auto file = Parse(R"(version: v1
mig-configs:
  placed:
    - devices: [0]
      mig-enabled: true
      mig-instances:
        - profile: 4g.40gb
          start: 0
        - profile: 3g.40gb
          start: 4
          compute-instances: [1c.3g.40gb, {profile: 2c.3g.40gb, start: 1}]
        - profile: 1g.10gb+me
          compute-instances: []
        - profile: 2g.20gb
          compute-instances: [2g.20gb]
)");
  ASSERT_TRUE(file.ok()) << file.error().message;
  const MigConfigSpec& spec = file->configs[0].specs[0];
  EXPECT_TRUE(spec.uses_instances);
  EXPECT_TRUE(spec.mig_devices.empty());
  ASSERT_EQ(spec.mig_instances.size(), 4u);
  EXPECT_EQ(spec.mig_instances[0].profile.gi_name, "4g.40gb");
  EXPECT_EQ(spec.mig_instances[0].start, 0u);
  EXPECT_FALSE(spec.mig_instances[0].compute_instances);
  EXPECT_EQ(spec.mig_instances[0].pos.line, 7u);
  EXPECT_EQ(spec.mig_instances[0].pos.column, 11u);
  const InstanceSpec& three = spec.mig_instances[1];
  EXPECT_EQ(three.start, 4u);
  ASSERT_TRUE(three.compute_instances);
  ASSERT_EQ(three.compute_instances->size(), 2u);
  EXPECT_EQ((*three.compute_instances)[0].profile.ci_slices, 1u);
  EXPECT_FALSE((*three.compute_instances)[0].start);
  EXPECT_EQ((*three.compute_instances)[1].profile.ci_slices, 2u);
  EXPECT_EQ((*three.compute_instances)[1].start, 1u);
  EXPECT_EQ((*three.compute_instances)[1].pos.line, 11u);
  EXPECT_FALSE(spec.mig_instances[2].start);
  ASSERT_TRUE(spec.mig_instances[2].compute_instances);
  EXPECT_TRUE(spec.mig_instances[2].compute_instances->empty());
  EXPECT_EQ((*spec.mig_instances[3].compute_instances)[0].profile.ci_slices, 2u);
}

TEST(ParseConfig, EmptyMigInstancesMeansMigOnWithoutInstances) {
  auto file = Parse(OneSpec("devices: all\n      mig-enabled: true\n      mig-instances: []"));
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_TRUE(file->configs[0].specs[0].uses_instances);
  EXPECT_TRUE(file->configs[0].specs[0].mig_instances.empty());
}

TEST(ParseConfig, ByteOrderMarkAndCrLfAreAccepted) {
  auto file = Parse(
      "\xef\xbb\xbfversion: v1\r\nmig-configs:\r\n  a:\r\n    - devices: all\r\n      mig-enabled: no\r\n");
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->configs[0].pos.line, 3u);
  EXPECT_EQ(file->configs[0].pos.column, 3u);
}

// The top level.

TEST(ParseConfigErrors, EmptyFileHasNoMigConfigs) {
  ExpectError("", "1:1", "no mig-configs");
  ExpectError("# only a comment\n\n", "1:1", "no mig-configs");
  ExpectError("---\n", "1:1", "no mig-configs");
}

TEST(ParseConfigErrors, TopLevelMustBeAMap) {
  ExpectError("- a\n- b\n", "1:1", "the top level is a list");
  ExpectError("hello\n", "1:1", "the top level is the single value 'hello'");
}

TEST(ParseConfigErrors, VersionIsRequiredAndMustBeV1) {
  ExpectError("mig-configs:\n  a:\n    - {devices: all, mig-enabled: false}\n", "1:1",
              "unable to parse with missing 'version' field");
  ExpectError("version: v2\nmig-configs: {}\n", "1:10", "unknown version: 'v2'");
  ExpectError("version: 1\nmig-configs: {}\n", "1:10", "unknown version: '1'");
  ExpectError("version: [v1]\n", "1:10", "unknown version: a list");
}

TEST(ParseConfigErrors, MigConfigsMustHaveAnEntry) {
  ExpectError("version: v1\n", "1:1", "at least one entry in 'mig-configs' is required");
  ExpectError("version: v1\nmig-configs:\n", "2:1", "at least one entry in 'mig-configs' is required");
  ExpectError("version: v1\nmig-configs: {}\n", "2:14", "at least one entry in 'mig-configs' is required");
  ExpectError("version: v1\nmig-configs: [a]\n", "2:14", "'mig-configs' must be a map, not a list");
}

TEST(ParseConfigErrors, UnknownTopLevelKeyIsAnUnexpectedField) {
  ExpectError("version: v1\nmig-config:\n  a: []\n", "2:1", "unexpected field: 'mig-config'");
}

TEST(ParseConfigErrors, DuplicateKeysAndLabelsAreRejectedWithBothPositions) {
  ExpectError("version: v1\nversion: v1\n", "2:1",
              "duplicate key 'version' in the top level (first at line 1, "
              "column 1)");
  ExpectError(R"(version: v1
mig-configs:
  a:
    - {devices: all, mig-enabled: false}
  a:
    - {devices: all, mig-enabled: false}
)",
              "5:3", "duplicate label 'a' in 'mig-configs' (first at line 3, column 3)");
  ExpectError(OneSpec("devices: all\n      devices: [0]\n      mig-enabled: false"), "5:7",
              "duplicate key 'devices' in a spec (first at line 4, column 7)");
}

TEST(ParseConfigErrors, KeysMustBeScalars) {
  ExpectError("version: v1\n? [a]\n: 1\n", "2:3", "a key in the top level is a list");
  ExpectError("version: v1\nmig-configs: {: 1}\n", "2:14", "a key in 'mig-configs' is empty");
}

TEST(ParseConfigErrors, LabelsNeedANonEmptyListOfSpecs) {
  ExpectError("version: v1\nmig-configs:\n  a: []\n", "3:6", "at least one entry in 'a' is required");
  ExpectError("version: v1\nmig-configs:\n  a:\n", "3:3", "at least one entry in 'a' is required");
  ExpectError("version: v1\nmig-configs:\n  a: {devices: all}\n", "3:6", "'a' is a map; it must be a list");
  ExpectError("version: v1\nmig-configs:\n  \"\": [{devices: all, mig-enabled: false}]\n", "3:3",
              "a label is empty");
  ExpectError("version: v1\nmig-configs:\n  \"a\\tb\": [{devices: all, mig-enabled: false}]\n", "3:3",
              "label 'a\\tb' has a control character");
}

// Specs.

TEST(ParseConfigErrors, SpecMustBeAMap) {
  ExpectError("version: v1\nmig-configs:\n  a:\n    - all\n", "4:7", "a spec is the single value 'all'");
}

TEST(ParseConfigErrors, SpecNeedsDevicesAndMigEnabled) {
  ExpectError(OneSpec("mig-enabled: false"), "4:7", "missing required field: devices");
  ExpectError(OneSpec("devices: all"), "4:7", "missing required field: mig-enabled");
}

TEST(ParseConfigErrors, UnknownSpecKeyIsAnUnexpectedField) {
  ExpectError(OneSpec("devices: all\n      mig-enabled: false\n      mig-device: {}"), "6:7",
              "unexpected field: 'mig-device'");
}

TEST(ParseConfigErrors, DevicesMustBeAllOrAList) {
  ExpectError(OneSpec("devices: some\n      mig-enabled: false"), "4:16",
              "invalid string input for 'devices': 'some'");
  ExpectError(OneSpec("devices: ALL\n      mig-enabled: false"), "4:16",
              "invalid string input for 'devices': 'ALL'");
  ExpectError(OneSpec("devices:\n      mig-enabled: false"), "4:7", "'devices' is empty");
  ExpectError(OneSpec("devices: {0: 1}\n      mig-enabled: false"), "4:16", "'devices' is a map");
}

TEST(ParseConfigErrors, DeviceEntriesMustBeGpus) {
  ExpectError(OneSpec("devices: [0, -1]\n      mig-enabled: false"), "4:20",
              "invalid GPU index in 'devices': -1 is negative");
  ExpectError(OneSpec("devices: [1.5]\n      mig-enabled: false"), "4:17", "'1.5' in 'devices' is not a GPU");
  ExpectError(OneSpec("devices: [gpu0]\n      mig-enabled: false"), "4:17",
              "'gpu0' in 'devices' is not a GPU");
  ExpectError(OneSpec("devices: [\"0\"]\n      mig-enabled: false"), "4:17", "'0' in 'devices' is quoted");
  ExpectError(OneSpec("devices: [[0]]\n      mig-enabled: false"), "4:17", "an entry of 'devices' is a list");
  ExpectError(OneSpec("devices: [99999999]\n      mig-enabled: false"), "4:17", "99999999 is too large");
  ExpectError(OneSpec("devices: [GPU-1234567z]\n      mig-enabled: false"), "4:17", "is not a GPU");
}

TEST(ParseConfigErrors, DuplicateDevicesAreRejected) {
  ExpectError(OneSpec("devices: [0, 1, 0]\n      mig-enabled: false"), "4:23",
              "GPU 0 is listed twice in 'devices' (first at line 4, column 17)");
  ExpectError(OneSpec("devices: [\"3b:00.0\", \"0000:3B:00.0\"]\n      mig-enabled: false"), "4:28",
              "GPU '0000:3B:00.0' is listed twice");
  ExpectError(OneSpec("devices: [GPU-abcdef12, gpu-ABCDEF12]\n      mig-enabled: false"), "4:31",
              "listed twice");
}

TEST(ParseConfigErrors, MigEnabledMustBeABoolean) {
  ExpectError(OneSpec("devices: all\n      mig-enabled: maybe"), "5:20",
              "'mig-enabled' must be true or false, not 'maybe'");
  ExpectError(OneSpec("devices: all\n      mig-enabled: \"true\""), "5:20",
              "'mig-enabled' is the quoted string 'true'; write true without quotes");
  ExpectError(OneSpec("devices: all\n      mig-enabled:"), "5:7", "'mig-enabled' is empty");
  ExpectError(OneSpec("devices: all\n      mig-enabled: 1"), "5:20", "must be true or false, not '1'");
}

TEST(ParseConfigErrors, MigDevicesIffMigEnabled) {
  ExpectError(OneSpec("devices: all\n      mig-enabled: true"), "4:7",
              "missing required field 'mig-devices' when 'mig-enabled' is true");
  ExpectError(OneSpec("devices: all\n      mig-enabled: false\n      mig-devices: {1g.10gb: 7}"), "6:7",
              "MIG devices included when 'mig-enabled' is false");
  ExpectError(OneSpec("devices: all\n      mig-enabled: false\n      mig-instances: [{profile: 1g.10gb}]"),
              "6:7", "MIG instances included when 'mig-enabled' is false");
}

TEST(ParseConfigErrors, MigDevicesIsAMapOfProfileCounts) {
  ExpectError(OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: [1g.10gb]"), "6:20",
              "'mig-devices' is a list; it must be a map");
  ExpectError(OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: {1x.10gb: 1}"), "6:21",
              "'1x.10gb' is not a MIG profile name");
  ExpectError(OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: {1g.10gb: 1, 1G.10GB: 2}"),
              "6:33",
              "profile '1G.10GB' appears twice in 'mig-devices' (first at line 6, column 21 as '1g.10gb')");
  ExpectError(
      OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: {1g.10gb: 1, 1c.1g.10gb: 2}"),
      "6:33", "appears twice");
  ExpectError(OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: {1g.10gb: 1, 1g.10gb: 2}"),
              "6:33", "duplicate profile '1g.10gb' in 'mig-devices' (first at line 6, column 21)");
}

TEST(ParseConfigErrors, CountsAreNonNegativeIntegersNotAllZero) {
  auto spec = [](std::string_view devices) {
    return OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: " + std::string(devices));
  };
  ExpectError(spec("{1g.10gb: -1}"), "6:30", "invalid count for '1g.10gb': -1 is negative");
  ExpectError(spec("{1g.10gb: two}"), "6:30", "invalid count for '1g.10gb': 'two' is not a whole number");
  ExpectError(spec("{1g.10gb: 1.5}"), "6:30", "'1.5' is not a whole number");
  ExpectError(spec("{1g.10gb: \"2\"}"), "6:30", "'2' is quoted");
  ExpectError(spec("{1g.10gb: }"), "6:21", "invalid count for '1g.10gb': it is empty");
  ExpectError(spec("{1g.10gb: [1]}"), "6:30", "it is a list");
  ExpectError(spec("{1g.10gb: 1000}"), "6:30", "1000 is too large");
  ExpectError(spec("{1g.10gb: 010}"), "6:30", "leading zero");
  ExpectError(spec("{1g.10gb: 0, 2g.20gb: 0}"), "6:20", "all counts for all MigProfiles are 0");
}

TEST(ParseConfigErrors, DeviceFilterEntriesMustParse) {
  ExpectError(
      OneSpec("device-filter: [\"0x20B010DE\", \"A100\"]\n      devices: all\n      mig-enabled: false"),
      "4:37", "device filter 'A100': 'A100' is not 8 hex digits");
  ExpectError(OneSpec("device-filter: {a: 1}\n      devices: all\n      mig-enabled: false"), "4:22",
              "'device-filter' is a map");
  ExpectError(OneSpec("device-filter: [[1]]\n      devices: all\n      mig-enabled: false"), "4:23",
              "a 'device-filter' entry is a list");
}

// mig-instances.

TEST(ParseConfigErrors, MigInstancesAndMigDevicesExcludeEachOther) {
  ExpectError(
      OneSpec("devices: all\n      mig-enabled: true\n      mig-devices: {}\n      mig-instances: []"), "7:7",
      "'mig-devices' and 'mig-instances' are both given");
}

TEST(ParseConfigErrors, MigInstanceEntriesAreChecked) {
  auto spec = [](std::string_view instances) {
    return OneSpec("devices: all\n      mig-enabled: true\n      mig-instances: " + std::string(instances));
  };
  ExpectError(spec("{profile: 1g.10gb}"), "6:22", "'mig-instances' is a map; it must be a list");
  ExpectError(spec("[1g.10gb]"), "6:23", "an entry of 'mig-instances' is the single value '1g.10gb'");
  ExpectError(spec("[{start: 0}]"), "6:23", "missing required field: profile");
  ExpectError(spec("[{profile: 1c.3g.40gb}]"), "6:33", "'1c.3g.40gb' is a compute instance profile");
  ExpectError(spec("[{profile: 3x.40gb}]"), "6:33", "'3x.40gb' is not a MIG profile name");
  ExpectError(spec("[{profile: 3g.40gb, start: -4}]"), "6:49", "invalid start for '3g.40gb': -4 is negative");
  ExpectError(spec("[{profile: 3g.40gb, size: 4}]"), "6:42", "unexpected field: 'size'");
  ExpectError(spec("[{profile: 3g.40gb, compute-instances: }]"), "6:42", "'compute-instances' is empty");
  ExpectError(spec("[{profile: 3g.40gb, compute-instances: 1c.3g.40gb}]"), "6:61",
              "'compute-instances' is the single value '1c.3g.40gb'; it must be a list");
}

TEST(ParseConfigErrors, ComputeInstancesMustBelongToTheirGpuInstance) {
  auto spec = [](std::string_view cis) {
    return OneSpec(
        "devices: all\n      mig-enabled: true\n      mig-instances:\n        - profile: 3g.40gb\n"
        "          compute-instances: " +
        std::string(cis));
  };
  ExpectError(spec("[1c.4g.40gb]"), "8:31",
              "compute instance '1c.4g.40gb' belongs to GPU instance 4g.40gb, not to "
              "3g.40gb");
  ExpectError(spec("[1g.10gb]"), "8:31", "belongs to GPU instance 1g.10gb");
  ExpectError(spec("[{profile: 1c.4g.40gb}]"), "8:41", "belongs to GPU instance 4g.40gb");
  ExpectError(spec("[{start: 0}]"), "8:31", "missing required field: profile");
  ExpectError(spec("[{profile: 1c.3g.40gb, slot: 0}]"), "8:53", "unexpected field: 'slot'");
  ExpectError(spec("[{profile: 1c.3g.40gb, start: x}]"), "8:60", "invalid start of a compute instance");
  ExpectError(spec("[[1c.3g.40gb]]"), "8:31", "a compute instance is a list");
}

// Text that is not YAML.

TEST(ParseConfigErrors, YamlSyntaxErrorsCarryTheirPosition) {
  ExpectError("version: v1\nmig-configs: [a, b\n", "3:1", "not valid YAML: end of sequence flow not found");
  ExpectError("version: v1\nmig-configs:\n  a: - 1\n", "3:6", "not valid YAML: illegal block entry");
}

// Found by fuzzing: yaml-cpp 0.7's LoadAll loops forever (allocating) on a token it neither consumes nor
// rejects.
TEST(ParseConfigErrors, StrayCommaIsASyntaxErrorNotAHang) {
  ExpectError(",", "1:1", "not valid YAML: unexpected ','");
  ExpectError("version: v1\n---\n,\n", "3:1", "not valid YAML: unexpected ','");
  ExpectError("# comment\n\n  ,\n", "3:3", "not valid YAML: unexpected ','");
}

TEST(ParseConfigErrors, TabIndentationIsNamed) {
  ExpectError("version: v1\nmig-configs:\n\ta:\n", "3:1", "a tab indents this line");
  ExpectError("version: v1\n\t# comment\n", "2:1", "a tab indents this line");
  ExpectError(OneSpec("devices: all\n\t      mig-enabled: false"), "5:1", "a tab indents this line");
}

TEST(ParseConfigErrors, NonUtf8AndControlCharactersAreRejected) {
  ExpectError("version: v1\nmig-configs: \xff\xfe\n", "2:14", "byte 0xFF is not UTF-8 text");
  ExpectError(std::string("version: v1\n\0\0\0", 15), "2:1", "control character U+0000");
  ExpectError("ver\x1bsion: v1\n", "1:4", "control character U+001B");
  ExpectError("version: v1\xc2\x80\n", "1:12", "control character U+0080");
  ExpectError("version: \xc0\xaf\n", "1:10", "byte 0xC0 is not UTF-8");      // Overlong.
  ExpectError("version: \xed\xa0\x80\n", "1:10", "byte 0xED is not UTF-8");  // A surrogate.
  ExpectError("version: \xe2\x82", "1:10", "byte 0xE2 is not UTF-8");        // Cut short.
}

TEST(ParseConfigErrors, SecondDocumentIsRejected) {
  ExpectError("version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n---\nversion: v1\n",
              "5:1", "a second YAML document starts here");
  EXPECT_TRUE(Parse("version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n---\n").ok());
}

TEST(ParseConfigErrors, HugeInputIsRejectedBeforeParsing) {
  ExpectError(std::string(5 << 20, '#'), "1:1", "the file is over 4 MiB");
}

TEST(ParseConfigErrors, DeepNestingIsAnErrorNotACrash) {
  // yaml-cpp's depth guard throws; its position is not where the depth was passed, so only the text is
  // checked.
  for (std::string deep : {"version: v1\nmig-configs: " + std::string(100000, '['),
                           "version: v1\nmig-configs: " + std::string(5000, '[') + std::string(5000, ']')}) {
    auto file = Parse(deep);
    ASSERT_FALSE(file.ok());
    EXPECT_TRUE(file.error().message.starts_with("t.yaml:")) << file.error().message;
    EXPECT_NE(file.error().message.find("lists and maps nest more than 500 deep"), std::string::npos)
        << file.error().message;
  }
}

TEST(ParseConfigErrors, AliasBombIsCutShort) {
  // Each level multiplies: 200 labels of 40 specs of 40 profiles would be 320,000 counts from 3 KiB of text.
  std::string text =
      "version: v1\nmig-configs:\n  base:\n    - &s\n      devices: all\n      mig-enabled: true\n"
      "      mig-devices: &p {";
  for (int i = 1; i <= 40; ++i) text += (i > 1 ? ", " : "") + std::to_string(i) + "g.10gb: 1";
  text += "}\n  l0: &l [";
  for (int i = 0; i < 40; ++i) text += i > 0 ? ", *s" : "*s";
  text += "]\n";
  for (int i = 1; i < 200; ++i) text += "  l" + std::to_string(i) + ": *l\n";
  ExpectError(text, "7:392", "the config expands to more than 50000 entries through YAML aliases");
}

TEST(ParseConfigErrors, MergeOfANonMapIsRejected) {
  ExpectError(OneSpec("<<: 1\n      devices: all\n      mig-enabled: false"), "4:11",
              "'<<' in a spec merges the "
              "single value '1'");
}

TEST(ParseConfigErrors, SelfReferentialMergeIsBounded) {
  auto file = Parse("version: v1\nmig-configs:\n  a:\n    - &x {<<: *x, devices: all, mig-enabled: false}\n");
  // yaml-cpp may reject the alias or build a cycle; either way the answer is an error or a finite result.
  if (!file.ok()) {
    EXPECT_EQ(file.error().code, ErrorCode::kInvalidInput) << file.error().message;
  }
}

TEST(ParseConfigErrors, MessagesQuoteControlCharactersInKeys) {
  ExpectError("version: v1\n\"mig\\nconfigs\": {}\n", "2:1", "unexpected field: 'mig\\nconfigs'");
}

// Selecting a layout.

TEST(SelectConfig, EmptyLabelTakesTheOnlyLayout) {
  auto file = Parse(OneSpec("devices: all\n      mig-enabled: false"));
  ASSERT_TRUE(file.ok());
  auto config = SelectConfig(*file, "");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ((*config)->label, "custom");
}

TEST(SelectConfig, EmptyLabelWithSeveralLayoutsListsThem) {
  auto file = Parse(
      "version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n"
      "  b: [{devices: all, mig-enabled: false}]\n");
  ASSERT_TRUE(file.ok());
  auto config = SelectConfig(*file, "");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(config.error().message.find("missing required flag 'selected-config'"), std::string::npos);
  EXPECT_NE(config.error().message.find("choose one of: a, b"), std::string::npos) << config.error().message;
  auto b = SelectConfig(*file, "b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, &file->configs[1]);
}

TEST(SelectConfig, UnknownLabelIsNotFoundAndListsLabels) {
  auto file = Parse(OneSpec("devices: all\n      mig-enabled: false"));
  ASSERT_TRUE(file.ok());
  auto config = SelectConfig(*file, "all-1g.10gb");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(config.error().message,
            "t.yaml: selected mig-config not present: 'all-1g.10gb'; the file has: custom");
}

// Loading.

TEST(LoadConfig, MissingFileIsNotFoundWithThePath) {
  auto file = LoadConfig("/nonexistent/migctl.yaml");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(file.error().message.find("/nonexistent/migctl.yaml"), std::string::npos);
}

TEST(LoadConfig, RegressionDirectoryIsBadInputLikeAMissingFile) {
  // A directory exited 1 where a missing file exits 2.
  auto file = LoadConfig("/");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(file.error().message.find("is a directory"), std::string::npos) << file.error().message;
  auto endless = LoadConfig("/dev/zero");
  ASSERT_FALSE(endless.ok());
  EXPECT_EQ(endless.error().code, ErrorCode::kInvalidInput);
}

TEST(LoadConfig, ErrorsNameThePathAsGiven) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "migctl_spec_load_test.yaml";
  std::ofstream(path) << "version: v2\n";
  auto file = LoadConfig(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(file.ok());
  EXPECT_TRUE(file.error().message.starts_with(path.string() + ":1:10: unknown version"))
      << file.error().message;
}

TEST(LoadConfig, DashReadsStandardInput) {
  std::filesystem::path path = std::filesystem::temp_directory_path() / "migctl_spec_stdin_test.yaml";
  std::ofstream(path) << "version: v1\nmig-configs:\n  a: [{devices: all, mig-enabled: false}]\n";
  int saved = dup(STDIN_FILENO);
  ASSERT_NE(freopen(path.c_str(), "r", stdin), nullptr);
  auto file = LoadConfig("-");
  dup2(saved, STDIN_FILENO);
  close(saved);
  std::filesystem::remove(path);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->path, "<stdin>");
  EXPECT_EQ(file->configs[0].label, "a");
}

// The fixtures under tests/configs.

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigFixtures, EveryBadFileFailsWhereExpectedSaysAndEveryFileIsListed) {
  const std::filesystem::path dir = std::filesystem::path(MIGCTL_SOURCE_DIR) / "tests/configs/bad";
  std::ifstream expected(dir / "EXPECTED");
  ASSERT_TRUE(expected) << "cannot read " << (dir / "EXPECTED");
  std::set<std::string> listed;
  std::string line;
  while (std::getline(expected, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, where, what;
    fields >> name >> where;
    std::getline(fields >> std::ws, what);
    ASSERT_FALSE(what.empty()) << "malformed EXPECTED line: " << line;
    listed.insert(name);
    std::string path = (dir / name).string();
    auto file = ParseConfig(ReadFile(dir / name), path);
    ASSERT_FALSE(file.ok()) << name << " parsed";
    EXPECT_EQ(file.error().code, ErrorCode::kInvalidInput) << name;
    EXPECT_TRUE(file.error().message.starts_with(path + ":" + where + ": "))
        << name << ": " << file.error().message;
    EXPECT_NE(file.error().message.find(what), std::string::npos) << name << ": " << file.error().message;
  }
  EXPECT_GE(listed.size(), 20u);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") {
      EXPECT_TRUE(listed.contains(entry.path().filename().string())) << entry.path() << " is not in EXPECTED";
    }
  }
}

TEST(ConfigFixtures, EveryGoodFileParses) {
  const std::filesystem::path dir = std::filesystem::path(MIGCTL_SOURCE_DIR) / "tests/configs/good";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    auto file = LoadConfig(entry.path().string());
    ASSERT_TRUE(file.ok()) << file.error().message;
    EXPECT_FALSE(file->configs.empty()) << entry.path();
  }
  EXPECT_GE(files, 1);
}

}  // namespace
}  // namespace migctl::spec
