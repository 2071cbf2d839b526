#include "spec/targets.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl::spec {
namespace {

/// Resolves the only spec of a one-layout config whose `mig-devices` is `devices` (a YAML flow map) on
/// GPU 0 of `model`.
Result<SpecTarget> Target(std::string_view model, const std::string& devices) {
  auto file = ParseConfig(
      "version: v1\nmig-configs:\n  l:\n    - devices: all\n      mig-enabled: true\n"
      "      mig-devices: " +
          devices + "\n",
      "c.yaml");
  EXPECT_TRUE(file.ok()) << file.error().message;
  auto found = FindModel(model);
  EXPECT_TRUE(found.ok());
  return TargetInstances(*file, file->configs[0].specs[0], **found, GpuIndex(0));
}

void ExpectUnknown(std::string_view model, const std::string& name) {
  auto target = Target(model, "{\"" + name + "\": 1}");
  ASSERT_FALSE(target.ok()) << model << " accepted " << name;
  EXPECT_EQ(target.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(target.error().message.find("no profile '" + name + "' on the "), std::string::npos)
      << target.error().message;
}

// Regression: a name of another model's profile of about the same size was taken as this GPU's (all-3g.48gb,
// written for GH200, applied as 3g.47gb on an H100 NVL, and assert passed).
TEST(TargetInstances, AnotherModelsProfileOfAboutTheSameSizeIsUnknown) {
  ExpectUnknown("h100-94gb", "3g.48gb");
  ExpectUnknown("a100-40gb", "1g.6gb");
  ExpectUnknown("b200-180gb", "1g.24gb");
  ExpectUnknown("h200-141gb", "1g.36gb");
  ExpectUnknown("h200-141gb", "2g.36gb");
  ExpectUnknown("h200-141gb", "3g.72gb");
  ExpectUnknown("h200-141gb", "4g.72gb");
  ExpectUnknown("a30-24gb", "1g.5gb+me");
  ExpectUnknown("h100-80gb", "7g.79gb");  // An alias of the A100 80GB's 7g.80gb only.
  ExpectUnknown("h100-94gb", "1c.3g.48gb");
}

TEST(TargetInstances, UnknownProfileNamesTheModelAndListsItsProfiles) {
  auto target = Target("h100-94gb", "{\"3g.48gb\": 2}");
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.error().message,
            "c.yaml:6:21: GPU 0 (NVIDIA H100 NVL): no profile '3g.48gb' on the h100-94gb: it has 1g.12gb, "
            "2g.24gb, 3g.47gb, 4g.47gb, 7g.94gb, 1g.12gb+me, 1g.24gb");
}

TEST(TargetInstances, AnAliasOfThisModelMatchesWithAWarningNamingBoth) {
  auto target = Target("a100-80gb", "{\"7g.79gb\": 1}");
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_EQ(target->instances.size(), 1u);
  EXPECT_EQ(target->instances[0].profile, ProfileId(0));
  ASSERT_EQ(target->warnings.size(), 1u);
  EXPECT_TRUE(
      target->warnings[0].starts_with("c.yaml:6:21: '7g.79gb' is what another driver calls the "
                                      "a100-80gb's 7g.80gb (gpu-operator #351"))
      << target->warnings[0];
  EXPECT_TRUE(target->warnings[0].ends_with("; using 7g.80gb")) << target->warnings[0];
}

TEST(TargetInstances, AnAliasWorksForComputeInstanceProfilesToo) {
  auto target = Target("a100-80gb", "{\"1c.3g.39gb\": 3}");
  ASSERT_TRUE(target.ok()) << target.error().message;
  ASSERT_EQ(target->instances.size(), 1u);
  EXPECT_EQ(target->instances[0].profile, ProfileId(9));
  EXPECT_EQ(target->instances[0].cis.size(), 3u);
}

}  // namespace
}  // namespace migctl::spec
