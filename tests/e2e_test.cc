// End-to-end tests: the real migctl binary against simulated machines (libmigsim.so over a state file), one
// temporary directory and state file per test. Outcomes are read from `--json` documents, the simulator's raw
// state (`sim show --json`) and exit codes; human text is asserted only where the message is the behaviour.
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

using Placement = std::pair<int, int>;  // start, size

Placement PlacementOf(const Json& j) { return {j["start"].get<int>(), j["size"].get<int>()}; }

/// Every instance sits at one of its profile's placements (per `profiles --model`), and no two overlap.
void ExpectValidLayout(const Json& instances, const Json& model_profiles) {
  std::map<std::string, std::set<Placement>> allowed;
  for (const Json& p : model_profiles["profiles"])
    for (const Json& at : p["placements"]) allowed[p["name"]].insert(PlacementOf(at));
  std::vector<bool> taken(8, false);
  for (const Json& gi : instances) {
    std::string profile = gi["profile"];
    Placement at = PlacementOf(gi);
    EXPECT_TRUE(allowed[profile].contains(at))
        << profile << " at " << at.first << ":" << at.second << " is not one of its placements";
    for (int slot = at.first; slot < at.first + at.second; ++slot) {
      ASSERT_TRUE(slot >= 0 && slot < 8) << profile << " reaches slot " << slot;
      EXPECT_FALSE(taken[slot]) << profile << " overlaps another instance at slot " << slot;
      taken[slot] = true;
    }
  }
}

std::multiset<std::string> ProfileNames(const Json& instances) {
  std::multiset<std::string> names;
  for (const Json& gi : instances) names.insert(gi["profile"].get<std::string>());
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// 1. The README tour.

TEST_F(E2e, SimInitMakesEightA100sWithMigOff) {
  InitMachine("a100-80gb:8");
  Json status = Status();
  ASSERT_EQ(status["gpus"].size(), 8u);
  for (int i = 0; i < 8; ++i) {
    const Json& gpu = status["gpus"][i];
    EXPECT_EQ(gpu["index"], i);
    EXPECT_EQ(gpu["model"], "a100-80gb");
    EXPECT_EQ(gpu["mig"]["current"], false);
    EXPECT_EQ(gpu["mig"]["pending"], false);
    EXPECT_TRUE(gpu["instances"].empty());
  }
}

TEST_F(E2e, AmpereMigEnableIsPendingUntilResetAndTouchesOnlyTheSelectedGpus) {
  InitMachine("a100-80gb:8");
  Json before = Machine();

  Json enabled = MustJson({"mode", "enable", "-i", "0,1"});
  ASSERT_EQ(enabled["gpus"].size(), 2u);
  for (const Json& gpu : enabled["gpus"]) EXPECT_EQ(gpu["result"], "pending_reset") << gpu;
  Json status = Status();
  for (int i : {0, 1}) {
    EXPECT_EQ(status["gpus"][i]["mig"]["current"], false) << "GPU " << i;
    EXPECT_EQ(status["gpus"][i]["mig"]["pending"], true) << "GPU " << i;
  }

  MustJson({"reset", "-i", "0,1"});
  status = Status();
  for (int i : {0, 1}) {
    EXPECT_EQ(status["gpus"][i]["mig"]["current"], true) << "GPU " << i;
    EXPECT_EQ(status["gpus"][i]["mig"]["pending"], true) << "GPU " << i;
  }
  Json after = Machine();
  for (int i = 2; i < 8; ++i) EXPECT_EQ(after["gpus"][i], before["gpus"][i]) << "GPU " << i << " was touched";
}

TEST_F(E2e, CreateGivesEachInstanceADistinctMigUuidAndDestroyAllRemovesThem) {
  InitMachine("a100-80gb:8");
  EnableMig("0,1");
  Json before = Machine();

  Json created = MustJson({"create", "-i", "0", "1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"});
  EXPECT_EQ(created["gpus"][0]["created"].size(), 4u) << created;
  Json instances = Instances(0);
  ASSERT_EQ(instances.size(), 4u);
  EXPECT_EQ(ProfileNames(instances),
            (std::multiset<std::string>{"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"}));
  ExpectValidLayout(instances, MustJson({"profiles", "--model", "a100-80gb"}));
  const std::regex mig_uuid("MIG-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  std::set<std::string> uuids;
  for (const Json& gi : instances) {
    std::string uuid = gi["uuid"];
    EXPECT_TRUE(std::regex_match(uuid, mig_uuid)) << uuid;
    uuids.insert(uuid);
  }
  EXPECT_EQ(uuids.size(), 4u) << "MIG UUIDs are not distinct";
  Json after = Machine();
  for (int i = 1; i < 8; ++i) EXPECT_EQ(after["gpus"][i], before["gpus"][i]) << "GPU " << i << " was touched";

  std::string first = *uuids.begin();
  MustJson({"destroy", first});
  instances = Instances(0);
  EXPECT_EQ(instances.size(), 3u);
  for (const Json& gi : instances) EXPECT_NE(gi["uuid"], first) << "destroyed by MIG UUID, still listed";

  MustJson({"destroy", "-i", "0", "--all"});
  EXPECT_TRUE(Instances(0).empty());
  EXPECT_TRUE(Machine()["gpus"][0]["gpu_instances"].empty());
}

TEST_F(E2e, HopperMigEnableIsActiveAtOnceWithoutReset) {
  InitMachine("h100-80gb:2");
  Json enabled = MustJson({"mode", "enable", "-i", "0"});
  EXPECT_EQ(enabled["gpus"][0]["result"], "active");
  Json status = Status();
  EXPECT_EQ(status["gpus"][0]["mig"]["current"], true);
  EXPECT_EQ(status["gpus"][1]["mig"]["current"], false);
  MustJson({"create", "-i", "0", "3g.40gb"});
  EXPECT_EQ(Instances(0).size(), 1u);
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Creation in any order.

TEST_F(E2e, CreateSucceedsForEveryOrderOfAMixedA100Layout) {
  InitMigMachine("a100-40gb:1");
  Json model = MustJson({"profiles", "--model", "a100-40gb"});
  const std::multiset<std::string> want{"1g.5gb", "1g.5gb", "2g.10gb", "3g.20gb"};
  for (Args order : {Args{"1g.5gb", "1g.5gb", "2g.10gb", "3g.20gb"}, Args{"19", "19", "14", "9"}}) {
    std::sort(order.begin(), order.end());
    int orders = 0;
    do {
      ++orders;
      std::string text;
      for (const auto& p : order) text += p + " ";
      SCOPED_TRACE("create -i 0 " + text);
      Args create{"create", "-i", "0"};
      create.insert(create.end(), order.begin(), order.end());
      Outcome o = Migctl(create);
      ASSERT_EQ(o.exit_code, kExitOk) << o;
      Json instances = Instances(0);
      EXPECT_EQ(ProfileNames(instances), want);
      ExpectValidLayout(instances, model);
      MustJson({"destroy", "-i", "0", "--all"});
      ASSERT_TRUE(Instances(0).empty());
    } while (std::next_permutation(order.begin(), order.end()));
    EXPECT_EQ(orders, 12);
  }
}

/// What one nvmlDeviceCreateGpuInstance call returned, as auto_placement_probe prints it.
struct ProbeCall {
  unsigned profile;
  int rc;
  Placement at;
};

TEST_F(E2e, SimulatorAutomaticPlacementDependsOnCreationOrderLikeTheDriver) {
  auto probe = [this](const Args& profile_ids) {
    InitMachine("a100-40gb:1");
    EnableMig("0");
    Outcome o = Start(AUTO_PLACEMENT_PROBE, profile_ids, {{"MIGSIM_STATE", state_}}).Wait();
    EXPECT_EQ(o.exit_code, 0) << o;
    std::vector<ProbeCall> calls;
    for (const std::string& line : Lines(o.out)) {
      ProbeCall c{};
      std::istringstream in(line);
      in >> c.profile >> c.rc >> c.at.first >> c.at.second;
      calls.push_back(c);
    }
    fs::remove(state_);
    return calls;
  };

  // Small first: the driver puts the 1g and 2g instances where the 3g.20gb would have to go.
  std::vector<ProbeCall> small_first = probe({"19", "19", "14", "9"});
  ASSERT_EQ(small_first.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(small_first[i].rc, 0) << "call " << i;
  EXPECT_EQ(small_first[3].rc, kInsufficientResources);

  // Large first: the same set fits.
  std::vector<ProbeCall> large_first = probe({"9", "19", "14", "19"});
  ASSERT_EQ(large_first.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(large_first[i].rc, 0) << "call " << i;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Bad input: one error line naming the problem, a non-zero exit, and no change to the machine.

class E2eBadInput : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    InitMachine("a100-80gb:8");
    EnableMig("0");
  }
  /// Runs `args` and expects it refused as ExpectOneLineError says, with the machine byte-for-byte unchanged.
  void ExpectRefused(const Args& args, int exit_code, const std::vector<std::string>& names) {
    std::string text;
    for (const auto& a : args) text += a + " ";
    SCOPED_TRACE(text);
    std::string before = ReadFile(state_);
    ExpectOneLineError(Migctl(args), exit_code, names);
    EXPECT_EQ(ReadFile(state_), before) << "the state file changed";
  }
};

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

TEST_F(E2eBadInput, UnknownProfileIsRefused) {
  ExpectRefused({"create", "-i", "0", "5g.50gb"}, kExitUsage, {"5g.50gb"});
  ExpectRefused({"create", "-i", "0", "1g.10gb", "5g.50gb"}, kExitUsage, {"5g.50gb"});
}

TEST_F(E2eBadInput, LayoutThatCannotFitCreatesNothingEvenWhenItsFirstProfilesFit) {
  ExpectRefused({"create", "-i", "0", "4g.40gb", "3g.40gb", "1g.10gb"}, kExitUsage, {"does not fit"});
  EXPECT_TRUE(Instances(0).empty());
}

TEST_F(E2eBadInput, LayoutThatCannotFitOnOneOfSeveralGpusCreatesNothingOnAny) {
  EnableMig("1");
  MustJson({"create", "-i", "1", "4g.40gb"});
  ExpectRefused({"create", "-i", "0,1", "4g.40gb", "3g.40gb"}, kExitUsage, {"GPU 1", "does not fit"});
  EXPECT_TRUE(Instances(0).empty());
}

TEST_F(E2eBadInput, CreateWhileMigIsOffIsRefusedAndSaysHowToEnableIt) {
  ExpectRefused({"create", "-i", "2", "1g.10gb"}, kExitFailed, {"MIG mode is off", "mode enable -i 2"});
}

TEST_F(E2eBadInput, CheckSaysALayoutDoesNotFitAndWhy) {
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

TEST_F(E2eBadInput, UnknownModelIsRefused) {
  for (Args args : {Args{"check", "--model", "z100-80gb", "1g.10gb"}, Args{"layouts", "--model", "z100-80gb"},
                    Args{"profiles", "--model", "z100-80gb"}}) {
    args.insert(args.begin(), "--json");
    SCOPED_TRACE(args[1]);
    ExpectOneLineError(RunRaw(args), kExitUsage, {"z100-80gb", "a100-80gb"});
  }
}

TEST_F(E2eBadInput, DestroyRefusesABusyInstanceNamingItsProcessAndDestroysNothing) {
  MustJson({"create", "-i", "0", "1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"});
  int gi = -1, ci = -1;
  for (const Json& inst : Instances(0))
    if (inst["profile"] == "3g.40gb") {
      gi = inst["gi"];
      ci = inst["ci"];
    }
  ASSERT_GE(gi, 0);
  Json attached = MustJson({"sim", "attach", "-i", "0", "--gi", std::to_string(gi), "--ci",
                            std::to_string(ci), "--name", "train.py"});
  std::string pid = std::to_string(attached["pid"].get<int>());

  ExpectRefused({"destroy", "-i", "0", "--all"}, kExitFailed, {"pid " + pid, "train.py"});
  ExpectRefused({"destroy", "-i", "0", "--gi", std::to_string(gi)}, kExitFailed, {"pid " + pid, "train.py"});
  EXPECT_EQ(Instances(0).size(), 4u);

  MustJson({"sim", "detach", pid});
  MustJson({"destroy", "-i", "0", "--all"});
  EXPECT_TRUE(Instances(0).empty());
}

TEST_F(E2eBadInput, MigDisableIsRefusedWhileInstancesExist) {
  MustJson({"create", "-i", "0", "3g.40gb"});
  ExpectRefused({"mode", "disable", "-i", "0"}, kExitFailed, {"GPU 0", "destroy"});
  EXPECT_EQ(Status()["gpus"][0]["mig"]["current"], true);
}

TEST_F(E2eBadInput, DestroyOfUnknownMigUuidIsRefused) {
  MustJson({"create", "-i", "0", "3g.40gb"});
  ExpectRefused({"destroy", "MIG-00000000-0000-0000-0000-000000000000"}, kExitUsage,
                {"MIG-00000000-0000-0000-0000-000000000000"});
  EXPECT_EQ(Instances(0).size(), 1u);
}

TEST_F(E2e, MissingStateFileSaysHowToCreateOne) {
  fs::path missing = dir_ / "nowhere.json";
  Outcome o = RunRaw({"--sim", missing.string(), "--json", "status"});
  ExpectOneLineError(o, kExitUsage, {missing.string(), "migctl sim init"});
  EXPECT_FALSE(fs::exists(missing)) << "a command that reads the machine created its state file";
}

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

void E2e::ExpectBadStateRefused(const std::string& needle, const char* not_wanted) {
  const std::string before = ReadFile(state_);
  for (const Args& args :
       {Args{"--sim", state_, "--json", "status"}, Args{"--json", "sim", "show", state_}}) {
    SCOPED_TRACE(args[0] == "--sim" ? "status" : "sim show");
    Outcome o = RunRaw(args);
    EXPECT_NE(o.exit_code, kExitOk) << o;
    std::vector<std::string> lines = Lines(o.err);
    ASSERT_EQ(lines.size(), 1u) << o;
    EXPECT_NE(lines[0].find(needle), std::string::npos) << "the error does not say '" << needle << "'\n" << o;
    if (not_wanted != nullptr) {
      EXPECT_EQ(lines[0].find(not_wanted), std::string::npos) << "the error blames '" << not_wanted << "'\n"
                                                              << o;
    }
  }
  EXPECT_EQ(ReadFile(state_), before);
}

TEST_F(E2e, CorruptStateFileIsReportedAsCorruptNotAsAMissingDriver) {
  WriteFile(state_, "{\"gpus\": [");
  ExpectBadStateRefused(state_, "driver");
}

TEST_F(E2e, StateFileOfUnknownVersionIsRefusedNamingTheVersion) {
  InitMachine("a100-80gb:1");
  Json state = Json::parse(ReadFile(state_));
  ASSERT_EQ(state["version"], 1);
  state["version"] = 99;
  WriteFile(state_, state.dump());
  ExpectBadStateRefused("version 99", nullptr);
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Several processes changing one simulated machine at once.

TEST_F(E2e, ConcurrentCreateAndDestroyLoopsOnSeparateGpusAllSucceed) {
  constexpr int kGpus = 6, kRounds = 4;
  InitMachine("h100-80gb:6");
  MustJson({"mode", "enable", "-i", "all"});
  const std::vector<Args> layouts{
      {"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"},
      {"4g.40gb", "3g.40gb"},
      {"7g.80gb"},
      {"2g.20gb", "2g.20gb", "2g.20gb"},
      {"3g.40gb", "1g.20gb", "1g.10gb"},
      {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"}};

  // A little driver time per change keeps several processes inside their read-modify-write at once.
  const Env interleave{
      {"MIGSIM_LATENCY", "nvmlDeviceCreateGpuInstanceWithPlacement=5ms,nvmlGpuInstanceDestroy=5ms"}};
  std::vector<std::vector<Outcome>> outcomes(kGpus);
  std::vector<std::thread> loops;
  for (int g = 0; g < kGpus; ++g) {
    loops.emplace_back([&, g] {
      std::string gpu = std::to_string(g);
      for (int round = 0; round < kRounds; ++round) {
        Args create{"create", "-i", gpu};
        const Args& layout = layouts[(g + round) % layouts.size()];
        create.insert(create.end(), layout.begin(), layout.end());
        outcomes[g].push_back(Migctl(create, interleave));
        if (round + 1 < kRounds) outcomes[g].push_back(Migctl({"destroy", "-i", gpu, "--all"}, interleave));
      }
    });
  }
  for (auto& t : loops) t.join();

  for (int g = 0; g < kGpus; ++g)
    for (const Outcome& o : outcomes[g]) EXPECT_EQ(o.exit_code, kExitOk) << "GPU " << g << ": " << o;
  Json parsed = Json::parse(ReadFile(state_), nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << "the state file does not parse";
  Json status = Status();
  Json model = MustJson({"profiles", "--model", "h100-80gb"});
  for (int g = 0; g < kGpus; ++g) {
    SCOPED_TRACE("GPU " + std::to_string(g));
    const Args& last = layouts[(g + kRounds - 1) % layouts.size()];
    const Json& instances = status["gpus"][g]["instances"];
    EXPECT_EQ(ProfileNames(instances), std::multiset<std::string>(last.begin(), last.end()));
    ExpectValidLayout(instances, model);
    EXPECT_EQ(parsed["gpus"][g]["gpu_instances"].size(), last.size());
  }
}

TEST_F(E2e, TwoConcurrentCreatesForTheLastRoomOnAGpuOneWinsOneFailsCleanly) {
  InitMachine("h100-80gb:1");
  MustJson({"mode", "enable", "-i", "0"});
  Json model = MustJson({"profiles", "--model", "h100-80gb"});
  // The delay before each instance is created lets both processes plan against the same free room.
  const Env slow{{"MIGSIM_LATENCY", "nvmlDeviceCreateGpuInstanceWithPlacement=150ms"}};
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    MustJson({"create", "-i", "0", "4g.40gb"});
    Child a = StartMigctl({"create", "-i", "0", "3g.40gb"}, slow);
    Child b = StartMigctl({"create", "-i", "0", "3g.40gb"}, slow);
    std::vector<Outcome> results{a.Wait(), b.Wait()};
    int winners = 0;
    for (const Outcome& o : results) {
      if (o.exit_code == kExitOk) {
        ++winners;
      } else {
        // Lost at the driver (both planned before either created): a retryable conflict, exit 1, "run again".
        // Lost at planning (the room was already gone): the request does not fit, exit 2.
        if (o.exit_code == kExitFailed) {
          ExpectOneLineError(o, kExitFailed, {"GPU 0", "run the command again"});
        } else {
          ExpectOneLineError(o, kExitUsage, {"GPU 0", "does not fit"});
        }
      }
    }
    EXPECT_EQ(winners, 1) << results[0] << results[1];
    Json instances = Instances(0);
    EXPECT_EQ(ProfileNames(instances), (std::multiset<std::string>{"4g.40gb", "3g.40gb"}));
    ExpectValidLayout(instances, model);
    MustJson({"destroy", "-i", "0", "--all"});
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Rollback and dry runs.

TEST_F(E2e, CreateThatFailsHalfWayRemovesWhatItCreated) {
  InitMigMachine("a100-80gb:1");
  Json before = Machine();
  Outcome o = Migctl({"create", "-i", "0", "1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"},
                     {{"MIGSIM_FAULTS", "nvmlDeviceCreateGpuInstanceWithPlacement@3=UNKNOWN"}});
  ExpectOneLineError(o, kExitFailed, {"put back as this command found it"});
  EXPECT_EQ(o.OutJson()["error"]["nvml_return"], 999);
  Json after = Machine();
  // `creations` counts every instance ever made (it feeds MIG UUIDs), so it rightly moved; nothing else may.
  after["gpus"][0].erase("creations");
  before["gpus"][0].erase("creations");
  EXPECT_EQ(after, before);
  EXPECT_TRUE(Instances(0).empty());
}

TEST_F(E2e, DryRunPrintsThePlanAndChangesNothing) {
  InitMigMachine("a100-80gb:2");
  std::string before = ReadFile(state_);
  Json plan = MustJson({"create", "-i", "0,1", "1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb", "--dry-run"});
  EXPECT_EQ(plan["dry_run"], true);
  ASSERT_EQ(plan["gpus"].size(), 2u);
  Json model = MustJson({"profiles", "--model", "a100-80gb"});
  for (const Json& gpu : plan["gpus"]) {
    EXPECT_EQ(ProfileNames(gpu["created"]),
              (std::multiset<std::string>{"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"}));
    ExpectValidLayout(gpu["created"], model);
  }
  EXPECT_EQ(ReadFile(state_), before);

  MustJson({"create", "-i", "0", "3g.40gb"});
  before = ReadFile(state_);
  Json destroy_plan = MustJson({"destroy", "-i", "0", "--all", "--dry-run"});
  EXPECT_EQ(destroy_plan["dry_run"], true);
  EXPECT_EQ(ReadFile(state_), before);
}

// ---------------------------------------------------------------------------------------------------------------
// 6. Layouts, profiles and help.

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

TEST_F(E2e, SimulatedH100ProfilesMatchTheRecordedHardware) {
  // From tests/fixtures/hardware/h100-80gb-hbm3.nvml-profiles.txt (NVIDIA H100 80GB HBM3, NVML).
  struct Recorded {
    std::string name;
    unsigned memory_mib;
    std::vector<Placement> placements;
  };
  const std::map<int, Recorded> recorded{
      {19, {"1g.10gb", 9984, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}}},
      {20, {"1g.10gb+me", 9984, {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}}}},
      {15, {"1g.20gb", 20096, {{0, 2}, {2, 2}, {4, 2}, {6, 2}}}},
      {14, {"2g.20gb", 20096, {{0, 2}, {2, 2}, {4, 2}}}},
      {9, {"3g.40gb", 40448, {{0, 4}, {4, 4}}}},
      {5, {"4g.40gb", 40448, {{0, 4}}}},
      {0, {"7g.80gb", 81152, {{0, 8}}}},
  };
  InitMachine("h100-80gb:1");
  Json doc = MustJson({"profiles", "-i", "0"});
  ASSERT_EQ(doc["gpus"].size(), 1u);
  std::map<int, Recorded> simulated;
  for (const Json& p : doc["gpus"][0]["profiles"]) {
    Recorded r{p["name"], p["memory_mib"], {}};
    for (const Json& at : p["placements"]) r.placements.push_back(PlacementOf(at));
    simulated[p["id"]] = r;
  }
  ASSERT_EQ(simulated.size(), recorded.size());
  for (const auto& [id, want] : recorded) {
    SCOPED_TRACE("profile " + std::to_string(id));
    ASSERT_TRUE(simulated.contains(id));
    const Recorded& got = simulated.at(id);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.memory_mib, want.memory_mib);
    EXPECT_EQ(got.placements, want.placements);
  }
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
// 7. The forms of -i.

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

}  // namespace
