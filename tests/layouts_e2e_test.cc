// End-to-end tests of the commands that answer from the GPU models alone, with no machine: `layouts`, `check`
// and `profiles --model`.
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

TEST_F(E2e, MaximalLayoutsAreValidAndComplete) {
  Outcome o = RunRaw({"--json", "layouts", "--model", "a100-40gb", "--maximal"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["model"], "a100-40gb");
  ASSERT_TRUE(doc["layouts"].is_array());
  ASSERT_FALSE(doc["layouts"].empty());
  Json model = MustJson({"profiles", "--model", "a100-40gb"});
  for (const Json& layout : doc["layouts"]) {
    SCOPED_TRACE(layout.dump());
    ASSERT_TRUE(layout["profiles"].is_array());
    ASSERT_EQ(layout["placements"].size(), layout["profiles"].size());
    for (const Json& p : layout["placements"]) {
      EXPECT_TRUE(p["profile"].is_string());
      EXPECT_TRUE(p["start"].is_number_integer());
      EXPECT_TRUE(p["size"].is_number_integer());
    }
    EXPECT_EQ(ProfileNames(layout["placements"]),
              std::multiset<std::string>(layout["profiles"].begin(), layout["profiles"].end()));
    ExpectValidLayout(layout["placements"], model);
  }
}

TEST_F(E2e, MaximalLayoutsOfFiveA100ProfilesAreTheTwelveKnownCombinations) {
  Outcome o = RunRaw({"--json", "layouts", "--model", "a100-40gb", "--profiles",
                      "1g.5gb,2g.10gb,3g.20gb,4g.20gb,7g.40gb", "--maximal"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::set<std::multiset<std::string>> combinations;
  Json doc = o.OutJson();
  for (const Json& layout : doc["layouts"])
    combinations.insert(std::multiset<std::string>(layout["profiles"].begin(), layout["profiles"].end()));
  EXPECT_EQ(doc["layouts"].size(), 12u);
  EXPECT_EQ(combinations.size(), 12u);
  EXPECT_TRUE(combinations.contains({"7g.40gb"}));
  EXPECT_TRUE(combinations.contains({"4g.20gb", "3g.20gb"}));
  EXPECT_TRUE(combinations.contains({"3g.20gb", "3g.20gb"}));
  EXPECT_TRUE(combinations.contains({"1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb", "1g.5gb"}));
}

TEST_F(E2e, CheckSaysALayoutDoesNotFitAndWhy) {
  Outcome o = RunRaw({"--json", "check", "--model", "a100-80gb", "4g.40gb", "3g.40gb", "1g.10gb"});
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["fits"], false);
  ASSERT_EQ(doc["results"].size(), 1u);
  EXPECT_EQ(doc["results"][0]["fits"], false);
  EXPECT_NE(doc["results"][0]["reason"].get<std::string>().find("1g.10gb"), std::string::npos) << doc;

  Outcome fits = RunRaw({"--json", "check", "--model", "a100-80gb", "4g.40gb", "3g.40gb"});
  EXPECT_EQ(fits.exit_code, kExitOk) << fits;
  EXPECT_EQ(fits.OutJson()["fits"], true);
}

TEST_F(E2e, UnknownModelIsRefused) {
  for (Args args : {Args{"check", "--model", "z100-80gb", "1g.10gb"}, Args{"layouts", "--model", "z100-80gb"},
                    Args{"profiles", "--model", "z100-80gb"}}) {
    args.insert(args.begin(), "--json");
    SCOPED_TRACE(args[1]);
    ExpectOneLineError(RunRaw(args), kExitUsage, {"z100-80gb", "a100-80gb"});
  }
}

}  // namespace
