#include "catalog/model_yaml.h"

#include <gtest/gtest.h>

#include <string>

namespace migctl {
namespace {

// Line numbers matter: the error tests below point into this text.
constexpr std::string_view kValid = R"(key: test-gpu
product_name: Test GPU
pci_device_ids: [0x20B7, 0x20B8]
architecture: ampere
memory_slots: 4
compute_slices: 4
multiprocessors: 56
memory_mib: 24576
notes: made up for tests
gi_profiles:
  - name: 2g.12gb+me
    id: 6
    nvml_index: 8
    compute_slices: 2
    memory_mib: 11968
    multiprocessors: 28
    engines: {ce: 2, dec: 2, enc: 0, jpeg: 1, ofa: 1}
    instance_limit: 1
    placement_size: 2
    starts: [0, 2]
    ci_sizes: [1, 2]
    uncertain: "coexistence unconfirmed"
  - name: 4g.24gb
    id: 0
    nvml_index: 3
    compute_slices: 4
    memory_mib: 24064
    multiprocessors: 56
    engines: {ce: 4, dec: 4, enc: 0, jpeg: 1, ofa: 1}
    instance_limit: 1
    placement_size: 4
    starts: [0]
    ci_sizes: [1, 2, 4]
  - name: 1g.12gb
    id: 15
    nvml_index: 9
    compute_slices: 1
    memory_mib: 11968
    multiprocessors: 14
    engines: {ce: 1, dec: 1, enc: 0, jpeg: 0, ofa: 0}
    instance_limit: 2
    placement_size: 2
    starts: [0, 2]
    ci_sizes: [1]
    default_ci: 7
)";

/// kValid with the first occurrence of `from` replaced by `to`.
std::string Edit(std::string_view from, std::string_view to) {
  std::string text(kValid);
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

std::string ErrorOf(std::string_view text) {
  auto model = ParseModelYaml(text, "test.yaml");
  if (model.ok()) return "(parsed)";
  EXPECT_EQ(model.error().code, ErrorCode::kInvalidInput);
  return model.error().message;
}

TEST(ParseModelYaml, ReadsEveryModelField) {
  auto model = ParseModelYaml(kValid, "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ(model->key, "test-gpu");
  EXPECT_EQ(model->product_name, "Test GPU");
  EXPECT_EQ(model->pci_device_ids, (std::vector<unsigned>{0x20B7, 0x20B8}));
  EXPECT_EQ(model->architecture, Architecture::kAmpere);
  EXPECT_EQ(model->memory_slots, 4u);
  EXPECT_EQ(model->compute_slices, 4u);
  EXPECT_EQ(model->multiprocessors, 56u);
  EXPECT_EQ(model->memory_mib, 24576u);
  EXPECT_EQ(model->notes, "made up for tests");
}

TEST(ParseModelYaml, OrdersGiProfilesByNvmlIndexAndReadsTheirFields) {
  auto model = ParseModelYaml(kValid, "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_EQ(model->gi_profiles.size(), 3u);
  EXPECT_EQ(model->gi_profiles[0].name, "4g.24gb");
  EXPECT_EQ(model->gi_profiles[1].name, "2g.12gb+me");
  EXPECT_EQ(model->gi_profiles[2].name, "1g.12gb");
  const GiProfile& me = model->gi_profiles[1];
  EXPECT_EQ(me.id, ProfileId(6));
  EXPECT_EQ(me.nvml_index, 8u);
  EXPECT_EQ(me.compute_slices, 2u);
  EXPECT_EQ(me.memory_mib, 11968u);
  EXPECT_EQ(me.multiprocessors, 28u);
  EXPECT_EQ(me.engines, (Engines{.copy = 2, .decoder = 2, .encoder = 0, .jpeg = 1, .ofa = 1}));
  EXPECT_EQ(me.instance_limit, 1u);
  EXPECT_EQ(me.placement_size, 2u);
  EXPECT_EQ(me.starts, (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(me.media, MediaKind::kMe);
  EXPECT_EQ(me.uncertain, "coexistence unconfirmed");
  EXPECT_EQ(model->gi_profiles[0].media, MediaKind::kDefault);
  EXPECT_EQ(model->gi_profiles[0].uncertain, "");
}

TEST(ParseModelYaml, SetsMediaKindFromTheNameSuffix) {
  auto all = ParseModelYaml(Edit("name: 4g.24gb", "name: 4g.24gb+me.all"), "test.yaml");
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(all->gi_profiles[0].media, MediaKind::kAllMe);
  auto none = ParseModelYaml(Edit("name: 4g.24gb", "name: 4g.24gb-me"), "test.yaml");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(none->gi_profiles[0].media, MediaKind::kNoMe);
}

TEST(ParseModelYaml, DerivesCiProfilesByTheRule) {
  auto model = ParseModelYaml(kValid, "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  const auto& cis = model->gi_profiles[0].ci_profiles;  // 4g.24gb: sizes 1, 2, 4
  ASSERT_EQ(cis.size(), 3u);
  EXPECT_EQ(cis[0].id, CiProfileId(0));
  EXPECT_EQ(cis[0].name, "1c.4g.24gb");
  EXPECT_EQ(cis[0].compute_slices, 1u);
  EXPECT_EQ(cis[0].multiprocessors, 14u);
  EXPECT_EQ(cis[0].instance_limit, 4u);
  EXPECT_EQ(cis[0].starts, (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_FALSE(cis[0].is_default);
  EXPECT_EQ(cis[1].id, CiProfileId(1));
  EXPECT_EQ(cis[1].name, "2c.4g.24gb");
  EXPECT_EQ(cis[1].starts, (std::vector<unsigned>{0, 2}));
  EXPECT_EQ(cis[1].instance_limit, 2u);
  EXPECT_EQ(cis[2].id, CiProfileId(3));
  EXPECT_EQ(cis[2].name, "4g.24gb");
  EXPECT_EQ(cis[2].multiprocessors, 56u);
  EXPECT_EQ(cis[2].instance_limit, 1u);
  EXPECT_EQ(cis[2].starts, (std::vector<unsigned>{0}));
  EXPECT_TRUE(cis[2].is_default);
}

TEST(ParseModelYaml, DefaultCiReplacesTheFullWidthCiId) {
  auto model = ParseModelYaml(kValid, "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  const GiProfile& double_memory = model->gi_profiles[2];
  ASSERT_EQ(double_memory.ci_profiles.size(), 1u);
  EXPECT_EQ(double_memory.ci_profiles[0].id, CiProfileId(7));
  EXPECT_EQ(double_memory.ci_profiles[0].name, "1g.12gb");
  EXPECT_TRUE(double_memory.ci_profiles[0].is_default);
}

TEST(ParseModelYaml, RoundsCiMultiprocessorsDown) {
  auto model = ParseModelYaml(
      Edit("multiprocessors: 56\n    engines: {ce: 4", "multiprocessors: 55\n    engines: {ce: 4"),
      "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  EXPECT_EQ(model->gi_profiles[0].ci_profiles[1].multiprocessors, 27u);  // 55 * 2 / 4 = 27.5
}

TEST(ParseModelYaml, ReportsYamlSyntaxErrorsWithPosition) {
  EXPECT_EQ(ErrorOf(Edit("[0x20B7, 0x20B8]", "[0x20B7, 0x20B8")).rfind("test.yaml:", 0), 0u);
  EXPECT_NE(ErrorOf(Edit("[0x20B7, 0x20B8]", "[0x20B7, 0x20B8")).find(": not valid YAML: "),
            std::string::npos);
}

TEST(ParseModelYaml, RejectsTextThatIsNotAMapping) {
  EXPECT_EQ(ErrorOf("- just\n- a list\n"), "test.yaml:1:1: the model must be a mapping of key: value");
}

TEST(ParseModelYaml, RejectsUnknownKeys) {
  EXPECT_EQ(ErrorOf(Edit("notes:", "colour: red\nnotes:")),
            "test.yaml:9:1: unknown key 'colour' in the model");
  EXPECT_EQ(ErrorOf(Edit("    id: 0\n", "    id: 0\n    colour: red\n")),
            "test.yaml:25:5: unknown key 'colour' in GI profile");
  EXPECT_EQ(ErrorOf(Edit("ofa: 1}", "ofa: 1, nvlink: 2}")),
            "test.yaml:17:55: unknown key 'nvlink' in engines");
}

TEST(ParseModelYaml, RejectsRepeatedKeys) {
  EXPECT_EQ(ErrorOf(Edit("memory_slots: 4\n", "memory_slots: 4\nmemory_slots: 8\n")),
            "test.yaml:6:1: key 'memory_slots' appears twice in the model");
}

TEST(ParseModelYaml, RejectsMissingFields) {
  EXPECT_EQ(ErrorOf(Edit("notes: made up for tests\n", "")),
            "test.yaml:1:1: the model lacks required key 'notes'");
  EXPECT_EQ(ErrorOf(Edit("    memory_mib: 24064\n", "")),
            "test.yaml:23:5: GI profile lacks required key 'memory_mib'");
  EXPECT_EQ(ErrorOf(Edit("jpeg: 1, ofa: 1}", "jpeg: 1}")),
            "test.yaml:17:14: engines lacks required key 'ofa'");
}

TEST(ParseModelYaml, RejectsValuesOfTheWrongTypeOrRange) {
  EXPECT_EQ(ErrorOf(Edit("memory_mib: 24064", "memory_mib: lots")),
            "test.yaml:27:17: memory_mib must be an integer from 1 to 24576, not 'lots'");
  EXPECT_EQ(ErrorOf(Edit("memory_mib: 24064", "memory_mib: 30000")),
            "test.yaml:27:17: memory_mib must be an integer from 1 to 24576, not '30000'");
  EXPECT_EQ(ErrorOf(Edit("    id: 0\n", "    id: -1\n")),
            "test.yaml:24:9: id must be an integer from 0 to 4294967295, not '-1'");
  EXPECT_EQ(ErrorOf(Edit("architecture: ampere", "architecture: volta")),
            "test.yaml:4:15: architecture must be ampere, hopper or blackwell, not 'volta'");
  EXPECT_EQ(ErrorOf(Edit("key: test-gpu", "key: Test_GPU")),
            "test.yaml:1:6: key must use only a-z, 0-9 and '-', not 'Test_GPU'");
  EXPECT_EQ(ErrorOf(Edit("starts: [0]", "starts: 0")),
            "test.yaml:32:13: starts must be a non-empty list of integers");
  EXPECT_EQ(ErrorOf(std::string(kValid.substr(0, kValid.find("gi_profiles:"))) + "gi_profiles: []\n"),
            "test.yaml:10:14: gi_profiles must be a non-empty list of GI profiles");
}

TEST(ParseModelYaml, RejectsPlacementsPastTheSlotAxis) {
  EXPECT_EQ(ErrorOf(Edit("starts: [0, 2]", "starts: [0, 3]")),
            "test.yaml:20:17: placement 3:2 of 2g.12gb+me runs past the 4 memory slots");
  EXPECT_EQ(ErrorOf(Edit("starts: [0, 2]", "starts: [0, 4]")),
            "test.yaml:20:17: starts must be an integer from 0 to 3, not '4'");
}

TEST(ParseModelYaml, RejectsStartsThatAreNotAscending) {
  EXPECT_EQ(ErrorOf(Edit("starts: [0, 2]", "starts: [2, 0]")),
            "test.yaml:20:17: starts must be ascending without repeats, but 0 follows 2");
  EXPECT_EQ(ErrorOf(Edit("starts: [0, 2]", "starts: [2, 2]")),
            "test.yaml:20:17: starts must be ascending without repeats, but 2 follows 2");
}

TEST(ParseModelYaml, RejectsAnInstanceLimitAboveThePlacements) {
  EXPECT_EQ(ErrorOf(Edit("instance_limit: 2", "instance_limit: 3")),
            "test.yaml:41:21: instance_limit 3 of 1g.12gb exceeds its 2 placements");
}

TEST(ParseModelYaml, RejectsDuplicateIdsIndexesAndNames) {
  EXPECT_EQ(ErrorOf(Edit("id: 15", "id: 6")),
            "test.yaml:34:5: GI profiles 2g.12gb+me and 1g.12gb share a profile id");
  EXPECT_EQ(ErrorOf(Edit("nvml_index: 9", "nvml_index: 3")),
            "test.yaml:34:5: GI profiles 4g.24gb and 1g.12gb share an nvml_index");
  std::string twin = std::string(kValid) + R"(  - name: 1g.12GB
    id: 16
    nvml_index: 10
    compute_slices: 1
    memory_mib: 11968
    multiprocessors: 14
    engines: {ce: 1, dec: 1, enc: 0, jpeg: 0, ofa: 0}
    instance_limit: 2
    placement_size: 2
    starts: [0, 2]
    ci_sizes: [1]
)";
  EXPECT_EQ(
      ErrorOf(twin),
      "test.yaml:46:5: GI profiles 1g.12gb and 1g.12GB share a name (names compare case-insensitively)");
}

TEST(ParseModelYaml, RejectsANameThatDisagreesWithTheSlices) {
  EXPECT_EQ(ErrorOf(Edit("name: 4g.24gb", "name: 3g.24gb")),
            "test.yaml:23:11: name '3g.24gb' must start with '4g.' to match compute_slices");
}

TEST(ParseModelYaml, RejectsCiSizesWithoutTheFullWidthCi) {
  EXPECT_EQ(
      ErrorOf(Edit("ci_sizes: [1, 2, 4]", "ci_sizes: [1, 2]")),
      "test.yaml:33:15: ci_sizes of 4g.24gb must end with the GI's 4 slices (the full-width, default CI)");
  EXPECT_EQ(ErrorOf(Edit("ci_sizes: [1, 2, 4]", "ci_sizes: [1, 5]")),
            "test.yaml:33:19: ci_sizes must be an integer from 1 to 4, not '5'");
}

TEST(ParseModelYaml, RejectsADefaultCiThatCollidesWithAnotherCi) {
  EXPECT_EQ(ErrorOf(Edit("    ci_sizes: [1, 2]\n", "    ci_sizes: [1, 2]\n    default_ci: 0\n")),
            "test.yaml:22:17: default_ci 0 of 2g.12gb+me is already the id of a smaller CI profile");
}

TEST(ParseModelYaml, ReadsAliasesWithTheirSource) {
  auto model = ParseModelYaml(Edit("    ci_sizes: [1, 2, 4]\n",
                                   "    ci_sizes: [1, 2, 4]\n    aliases:\n      - name: 4g.23gb\n"
                                   "        source: seen on driver 1.2\n"),
                              "test.yaml");
  ASSERT_TRUE(model.ok()) << model.error().message;
  const GiProfile* gi = model->FindProfile("4g.24gb");
  ASSERT_EQ(gi->aliases.size(), 1u);
  EXPECT_EQ(gi->aliases[0].name, "4g.23gb");
  EXPECT_EQ(gi->aliases[0].source, "seen on driver 1.2");
  EXPECT_EQ(model->FindAlias("4G.23GB").first, gi);
  EXPECT_EQ(model->FindProfile("4g.23gb"), nullptr);
}

TEST(ParseModelYaml, RejectsAnAliasOfAnotherShapeOrOneThatIsTaken) {
  auto with_alias = [](std::string_view alias) {
    return Edit("    ci_sizes: [1, 2, 4]\n", "    ci_sizes: [1, 2, 4]\n    aliases:\n      - name: " +
                                                 std::string(alias) + "\n        source: somewhere\n");
  };
  EXPECT_EQ(ErrorOf(with_alias("3g.23gb")),
            "test.yaml:35:15: alias '3g.23gb' of 4g.24gb must be another '4g.<GB>gb' name (same slices and "
            "attributes)");
  EXPECT_EQ(
      ErrorOf(with_alias("4g.23gb+me")),
      "test.yaml:35:15: alias '4g.23gb+me' of 4g.24gb must be another '4g.<GB>gb' name (same slices and "
      "attributes)");
  EXPECT_EQ(ErrorOf(with_alias("4g.gb")),
            "test.yaml:35:15: alias '4g.gb' of 4g.24gb must be another '4g.<GB>gb' name (same slices and "
            "attributes)");
  EXPECT_EQ(ErrorOf(Edit("    ci_sizes: [1]\n",
                         "    ci_sizes: [1]\n    aliases:\n      - name: 1g.11gb\n"
                         "        source: here\n      - name: 1g.11gb\n"
                         "        source: there\n")),
            "test.yaml:34:5: alias '1g.11gb' of 1g.12gb is already a name or alias of 1g.12gb");
  EXPECT_EQ(ErrorOf(Edit("    ci_sizes: [1, 2, 4]\n",
                         "    ci_sizes: [1, 2, 4]\n    aliases:\n      - name: 4g.23gb\n")),
            "test.yaml:35:9: alias lacks required key 'source'");
}

}  // namespace
}  // namespace migctl
