// End-to-end tests of `migctl plan`: every emitted config applies on the simulator and the GPUs then hold
// exactly what the report says; keep-current keeps instances in place; bad input is one line.
#include <map>

#include "e2e_harness.h"

namespace {

using Counts = std::map<std::string, int>;  // profile -> instances

class PlanE2e : public E2e {
 protected:
  /// Per GPU, the profile counts the plan's report gives.
  static std::map<int, Counts> Reported(const Json& plan) {
    std::map<int, Counts> out;
    for (const Json& g : plan["gpus"]) {
      Counts& c = out[g["gpu"].get<int>()];
      for (const Json& inst : g["instances"]) ++c[inst["profile"].get<std::string>()];
    }
    return out;
  }
  /// Per GPU, the profile counts the machine has.
  std::map<int, Counts> Actual() {
    std::map<int, Counts> out;
    const Json status = Status();
    for (const Json& g : status["gpus"]) {
      Counts& c = out[g["index"].get<int>()];
      for (const Json& inst : g["instances"]) ++c[inst["profile"].get<std::string>()];
    }
    return out;
  }
  /// Plans, applies the config on the machine and checks the machine against the report.
  Json PlanAndApply(const Args& plan_args) {
    const std::string config = (dir_ / "planned.yaml").string();
    Args args = {"plan"};
    args.insert(args.end(), plan_args.begin(), plan_args.end());
    args.insert(args.end(), {"-o", config});
    Json plan = MustJson(args);
    MustJson({"apply", "-f", config, "-c", "planned"});
    Outcome assert_ok = Migctl({"assert", "-f", config, "-c", "planned"});
    EXPECT_EQ(assert_ok.exit_code, kExitOk) << assert_ok;
    EXPECT_EQ(Actual(), Reported(plan)) << plan.dump(2);
    return plan;
  }
};

TEST_F(PlanE2e, MemoryNeedsOnFourA100sApplyAsReported) {
  InitMachine("a100-80gb:4");
  Json plan = PlanAndApply({"--fleet", "a100-80gb:4", "--need", "30GiB x3, 18GiB x4, 8GiB x10"});
  EXPECT_EQ(plan["served"], 17);
  EXPECT_EQ(plan["wanted"], 17);
  EXPECT_EQ(plan["optimal"], true);
  EXPECT_TRUE(plan["unserved"].empty());
  // Each 30 GiB need got a slice with at least 30 GiB.
  for (const Json& g : plan["gpus"])
    for (const Json& inst : g["instances"])
      if (inst["workload"] == "30GiB") {
        const std::string p = inst["profile"];
        EXPECT_TRUE(p == "3g.40gb" || p == "4g.40gb" || p == "7g.80gb") << p;
      }
}

TEST_F(PlanE2e, ProfileDemandOnAMixedFleetAppliesAsReported) {
  InitMachine("h100-80gb:2,a100-40gb:2");
  Json plan =
      PlanAndApply({"--fleet", "h100-80gb:2,a100-40gb:2", "--demand", "3g.40gb:2, 2g.20gb:3, 1g.10gb:6"});
  EXPECT_EQ(plan["served"], plan["wanted"]) << plan.dump(2);
}

TEST_F(PlanE2e, UnusedGpusStayWholeAndTheShortfallIsNamed) {
  InitMachine("a100-80gb:2");
  Json plan = PlanAndApply({"--fleet", "a100-80gb:2", "--need", "8GiB x2"});
  EXPECT_EQ(plan["gpus_used"], 1);
  EXPECT_EQ(plan["whole_gpus_free"], 1);
  Outcome o = Migctl({"plan", "--fleet", "a100-80gb:1", "--need", "70GiB x2, 100GiB"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  Json small = o.OutJson();
  std::string reasons;
  for (const Json& u : small["unserved"]) reasons += u["reason"].get<std::string>() + "\n";
  EXPECT_NE(reasons.find("too big"), std::string::npos) << reasons;
  EXPECT_NE(reasons.find("1 more a100-80gb"), std::string::npos) << reasons;
}

TEST_F(PlanE2e, KeepCurrentKeepsRunningInstancesInPlace) {
  InitMigMachine("a100-80gb:2");
  MustJson({"create", "-i", "0", "3g.40gb", "2g.20gb"});
  const Json before = Instances(0);
  WriteFile(dir_ / "w.yaml",
            "workloads:\n  - {name: big, memory: 30GiB, count: 1}\n"
            "  - {name: mid, memory: 18GiB, count: 2}\n  - {name: small, memory: 8GiB, count: 3}\n");
  Json plan = PlanAndApply(
      {"--fleet", "current", "--need-file", (dir_ / "w.yaml").string(), "--objective", "keep-current"});
  EXPECT_EQ(plan["kept"], 2) << plan.dump(2);
  const Json after = Instances(0);
  for (const Json& old : before) {
    bool still = false;
    for (const Json& now : after) still = still || now["uuid"] == old["uuid"];
    EXPECT_TRUE(still) << "instance " << old["uuid"] << " was not kept";
  }
}

TEST_F(PlanE2e, RandomDemandsOnMixedFleetsApplyAsReported) {
  // Many plans, each applied to a fresh simulated fleet: the machine must hold exactly what the report says.
  const std::vector<std::string> fleets = {"a100-80gb:3", "h100-80gb:2,a100-40gb:2", "a30-24gb:2,h200-141gb:1",
                                           "a100-40gb:1,a100-80gb:1,h100-80gb:1"};
  const std::vector<std::string> sizes = {"4GiB", "8GiB", "12GiB", "18GiB", "30GiB", "40GiB", "70GiB"};
  unsigned seed = 7;
  auto next = [&seed](unsigned n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
  };
  for (int round = 0; round < 12; ++round) {
    const std::string fleet = fleets[round % fleets.size()];
    std::string need;
    for (const std::string& size : sizes)
      if (unsigned count = next(4); count > 0)
        need += (need.empty() ? "" : ", ") + size + " x" + std::to_string(count);
    if (need.empty()) need = "8GiB x1";
    SCOPED_TRACE(fleet + "  " + need);
    std::error_code ec;
    fs::remove(state_, ec);
    fs::remove_all(state_ + ".migctl", ec);
    InitMachine(fleet);
    Json plan = PlanAndApply(
        {"--fleet", fleet, "--need", need, "--objective", round % 2 == 0 ? "fewest-gpus" : "most-served"});
    unsigned unserved = 0;
    for (const Json& u : plan["unserved"]) unserved += u["count"].get<unsigned>();
    EXPECT_EQ(plan["served"].get<unsigned>() + unserved, plan["wanted"].get<unsigned>());
  }
}

TEST_F(PlanE2e, ExplainDrawsTheSlotMap) {
  Outcome o = RunRaw({"plan", "--fleet", "h100-80gb:1", "--demand", "3g.40gb, 1g.10gb:2", "--explain"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_NE(o.out.find("slot  0"), std::string::npos) << o;
  EXPECT_NE(o.out.find("mig-configs:"), std::string::npos) << "the config follows the report without -o";
}

TEST_F(PlanE2e, BadInputIsOneLine) {
  struct Case {
    Args args;
    std::vector<std::string> says;
  };
  for (const Case& c : std::vector<Case>{
           {{"plan", "--need", "8GiB"}, {"--fleet"}},
           {{"plan", "--fleet", "z100:2", "--need", "8GiB"}, {"z100"}},
           {{"plan", "--fleet", "a100-80gb:2"}, {"no demand given"}},
           {{"plan", "--fleet", "a100-80gb:2", "--need", "8 parsecs"}, {"--need"}},
           {{"plan", "--fleet", "a100-80gb:2", "--demand", "9g.90gb:1"}, {"9g.90gb"}},
           {{"plan", "--fleet", "a100-80gb:2", "--need", "8G", "--objective", "cheapest"}, {"cheapest"}},
           {{"plan", "--fleet", "a100-80gb:2", "--need", "8G", "--objective", "keep-current"},
            {"--fleet current"}},
           {{"plan", "--fleet", "a100-80gb:2", "--need-file", "/nonexistent.yaml"}, {"/nonexistent.yaml"}},
       }) {
    Outcome o = RunRaw(c.args);
    ExpectOneLineError(o, kExitUsage, c.says, /*json_on_stdout=*/false);
  }
}

}  // namespace
