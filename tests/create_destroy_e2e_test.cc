// End-to-end tests of `create`, `destroy`, `mode` and `reset` on simulated machines: what they change, what
// they refuse, several at once, rollback and dry runs. Outcomes are read from `--json` documents and the
// simulator's raw state (`sim show --json`); human text is asserted only where the message is the behaviour.
#include <algorithm>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Creating and destroying instances, and the MIG mode they need.

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

// ---------------------------------------------------------------------------------------------------------------
// Bad input: one error line naming the problem, a non-zero exit, and no change to the machine.

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

// ---------------------------------------------------------------------------------------------------------------
// Several processes changing one simulated machine at once.

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
// Rollback and dry runs.

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

}  // namespace
