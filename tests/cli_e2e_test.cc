// End-to-end tests of the command line every command shares: usage errors, help, and selecting GPUs with -i.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Usage errors and help.

TEST_F(E2e, UnknownSubcommandIsAUsageErrorNamingIt) {
  InitMachine("a100-80gb:1");
  Outcome o = RunRaw({"--sim", state_, "frobnicate"});
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
  std::vector<std::string> lines = Lines(o.err);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(lines[0].starts_with("migctl: ")) << o;
  EXPECT_NE(lines[0].find("frobnicate"), std::string::npos) << "the error does not name the unknown command\n"
                                                            << o;
}

TEST_F(E2e, MissingRequiredArgumentsAreUsageErrorsNamingWhatIsMissing) {
  InitMachine("a100-80gb:1");
  std::string before = ReadFile(state_);
  for (const auto& [args, missing] : std::vector<std::pair<Args, std::string>>{
           {{"create", "1g.10gb"}, "--gpu"},
           {{"create", "-i", "0"}, "profiles"},
           {{"mode", "-i", "0"}, "action"},
           {{"mode", "enable"}, "--gpu"},
           {{"check", "--model", "a100-80gb"}, "profiles"},
           {{"layouts"}, "--model"},
       }) {
    Args full{"--sim", state_};
    full.insert(full.end(), args.begin(), args.end());
    SCOPED_TRACE(args[0] + " missing " + missing);
    Outcome o = RunRaw(full);
    EXPECT_EQ(o.exit_code, kExitUsage) << o;
    std::vector<std::string> lines = Lines(o.err);
    ASSERT_FALSE(lines.empty());
    EXPECT_TRUE(lines[0].starts_with("migctl: ")) << o;
    EXPECT_NE(lines[0].find(missing), std::string::npos) << o;
  }
  EXPECT_EQ(ReadFile(state_), before);
}

TEST_F(E2e, UsageErrorUnderJsonStillPrintsAnErrorDocument) {
  InitMachine("a100-80gb:1");
  Outcome o = Migctl({"create", "1g.10gb"});
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
  Json doc = Json::parse(o.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << "a script reading --json output gets no document\n" << o;
  EXPECT_TRUE(doc["error"]["code"].is_string()) << o;
  EXPECT_NE(doc["error"]["message"].get<std::string>().find("--gpu"), std::string::npos) << o;
}

TEST_F(E2e, EveryCommandsHelpExitsZeroAndShowsAnExample) {
  for (const Args& command :
       {Args{}, Args{"status"}, Args{"profiles"}, Args{"layouts"}, Args{"check"}, Args{"mode"}, Args{"reset"},
        Args{"create"}, Args{"destroy"}, Args{"sim"}, Args{"sim", "init"}, Args{"sim", "show"},
        Args{"sim", "attach"}, Args{"sim", "detach"}}) {
    Args args = command;
    args.push_back("--help");
    std::string text = "migctl";
    for (const auto& a : args) text += " " + a;
    SCOPED_TRACE(text);
    Outcome o = RunRaw(args);
    EXPECT_EQ(o.exit_code, kExitOk) << o;
    EXPECT_TRUE(o.err.empty()) << o;
    EXPECT_NE(o.out.find("Usage:"), std::string::npos) << o;
    bool has_example =
        o.out.find("Example") != std::string::npos || o.out.find("Try it") != std::string::npos;
    EXPECT_TRUE(has_example) << "no example in\n" << o.out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The forms of -i.

TEST_F(E2e, EveryFormOfGpuSelectionPicksTheRightGpus) {
  InitMachine("a100-80gb:8");
  Json status = Status();
  const Json& gpu3 = status["gpus"][3];
  std::string uuid = gpu3["uuid"];
  std::string pci = gpu3["pci_bus_id"];  // 00000000:4E:00.0
  std::string short_pci = pci.substr(9);
  std::transform(short_pci.begin(), short_pci.end(), short_pci.begin(), ::tolower);

  auto selected = [this](const std::string& selection) {
    Outcome o = Migctl({"status", "-i", selection});
    EXPECT_EQ(o.exit_code, kExitOk) << o;
    std::vector<int> indexes;
    Json doc = o.OutJson();
    for (const Json& gpu : doc["gpus"]) indexes.push_back(gpu["index"].get<int>());
    return indexes;
  };
  EXPECT_EQ(selected(uuid), std::vector<int>{3});
  EXPECT_EQ(selected(uuid.substr(0, 4 + 8)), std::vector<int>{3}) << uuid.substr(0, 12);
  EXPECT_EQ(selected(pci), std::vector<int>{3});
  EXPECT_EQ(selected(short_pci), std::vector<int>{3}) << short_pci;
  EXPECT_EQ(selected("all"), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(selected("2-4"), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(selected("5,1-2," + uuid), (std::vector<int>{1, 2, 3, 5}));

  // The same forms drive commands that change the machine: only the selected GPUs change.
  Json before = Machine();
  MustJson({"mode", "enable", "-i", uuid.substr(0, 12) + ",6-7"});
  Json after = Machine();
  for (int i = 0; i < 8; ++i) {
    bool chosen = i == 3 || i == 6 || i == 7;
    EXPECT_EQ(after["gpus"][i]["mig_mode"]["pending"], chosen ? 1 : 0) << "GPU " << i;
    if (!chosen) {
      EXPECT_EQ(after["gpus"][i], before["gpus"][i]) << "GPU " << i;
    }
  }
}

TEST_F(E2eBadInput, MalformedGpuSelectionIsRefused) {
  ExpectRefused({"status", "-i", "x"}, kExitUsage, {"'x'"});
  ExpectRefused({"create", "-i", "x", "1g.10gb"}, kExitUsage, {"'x'"});
  ExpectRefused({"create", "-i", "3-1", "1g.10gb"}, kExitUsage, {"3-1"});
  ExpectRefused({"destroy", "-i", "3-1", "--all"}, kExitUsage, {"3-1"});
}

TEST_F(E2eBadInput, GpuIndexThatDoesNotExistIsRefused) {
  ExpectRefused({"status", "-i", "9"}, kExitUsage, {"GPU 9", "8 GPUs"});
  ExpectRefused({"create", "-i", "9", "1g.10gb"}, kExitUsage, {"GPU 9"});
  ExpectRefused({"create", "-i", "0,9", "1g.10gb"}, kExitUsage, {"GPU 9"});
  ExpectRefused({"destroy", "-i", "9", "--all"}, kExitUsage, {"GPU 9"});
}

TEST_F(E2eBadInput, ModeOnGpuThatDoesNotExistIsRefused) {
  ExpectRefused({"mode", "enable", "-i", "9"}, kExitUsage, {"GPU 9"});
  ExpectRefused({"mode", "disable", "-i", "1,9"}, kExitUsage, {"GPU 9"});
}

}  // namespace
