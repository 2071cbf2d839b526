// End-to-end tests of `migctl reshape` on the simulator: a demand is served around a running task, which keeps
// its MIG device (same UUID) and is never signalled; dry runs, faults and bad input change nothing else.
#include <thread>

#include "run_harness.h"

namespace {

class ReshapeE2e : public RunE2e {
 protected:
  /// A run of one probe task on a MIG device of GPU 0 that works `ms`; `*uuid` gets the device it took.
  Child StartBusyTask(int ms, std::string* uuid) {
    Child run = StartMigctl({"run", "-i", "0", "--workers", "1", "--", Probe(), "--log", log_.string(),
                             "--sleep-ms", std::to_string(ms)});
    WaitForStarts(log_, 1);
    const std::vector<Interval> started = ReadIntervals(log_);
    *uuid = started.empty() ? "" : started.front().device;
    return run;
  }
  Json InstanceWithUuid(const std::string& uuid) {
    for (const Json& inst : Instances(0))
      if (inst["uuid"] == uuid) return inst;
    return Json();
  }
  fs::path log_ = dir_ / "tasks.log";
};

TEST_F(ReshapeE2e, ServesTheDemandAroundARunningTaskWithoutTouchingIt) {
  MachineWith("h100-80gb:1", Args(7, "1g.10gb"));
  std::string busy;
  Child run = StartBusyTask(3000, &busy);
  const Json before = InstanceWithUuid(busy);
  ASSERT_TRUE(before.is_object()) << busy;
  Outcome o = Migctl({"reshape", "--demand", "3g.40gb:1"});
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  const Json doc = o.OutJson();
  EXPECT_EQ(doc["served"], 1);
  ASSERT_EQ(doc["gpus"][0]["created"].size(), 1u) << o;
  EXPECT_EQ(doc["gpus"][0]["created"][0]["profile"], "3g.40gb");
  // A 3g.40gb takes slots 0-3 or 4-7 on an H100: the half without the busy slot.
  const unsigned slot = before["start"];
  EXPECT_EQ(doc["gpus"][0]["created"][0]["start"], slot < 4 ? 4 : 0) << o;
  bool kept_busy = false;
  for (const Json& k : doc["gpus"][0]["kept"]) kept_busy |= k["uuids"][0] == busy && k["busy"].is_string();
  EXPECT_TRUE(kept_busy) << o;
  EXPECT_EQ(InstanceWithUuid(busy), before);  // the same MIG device, in place

  Outcome task = run.Wait();
  EXPECT_EQ(task.exit_code, kExitOk) << task;
  const Json result = JsonLines(task.out).front();
  EXPECT_EQ(result["status"], "ok") << task;  // not signalled: a SIGTERMed probe exits 143
  EXPECT_EQ(result["output"]["found"], true) << task;
}

TEST_F(ReshapeE2e, ADryRunChangesNothingAndSaysWhatWouldChange) {
  MachineWith("h100-80gb:1", {"3g.40gb", "3g.40gb"});
  const Json before = Instances(0);
  Outcome o = Migctl({"reshape", "--need", "8GiB x4", "--dry-run"});
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(o.OutJson()["dry_run"], true);
  EXPECT_EQ(o.OutJson()["created"], 4) << o;  // four 1g.10gb in one of the 3g.40gb's place
  EXPECT_EQ(o.OutJson()["destroyed"], 1) << o;
  EXPECT_EQ(Instances(0), before);
}

TEST_F(ReshapeE2e, IdleInstancesThatServeTheDemandStay) {
  MachineWith("h100-80gb:1", {"3g.40gb", "1g.10gb", "1g.10gb"});
  const Json before = Instances(0);
  Outcome o = Migctl({"reshape", "--demand", "1g.10gb:2, 3g.40gb:1"});
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(o.OutJson()["destroyed"], 0);
  EXPECT_EQ(o.OutJson()["created"], 0);
  EXPECT_EQ(Instances(0), before);
}

TEST_F(ReshapeE2e, WhatCannotBeServedBesideABusyInstanceIsListedAndExitsOne) {
  MachineWith("h100-80gb:1", {"7g.80gb"});
  std::string busy;
  Child run = StartBusyTask(2500, &busy);
  const Json before = Instances(0);
  Outcome o = Migctl({"reshape", "--demand", "3g.40gb:2"});
  EXPECT_EQ(o.exit_code, kExitFailed) << o;
  EXPECT_EQ(o.OutJson()["served"], 0);
  EXPECT_EQ(o.OutJson()["unserved"][0]["count"], 2) << o;
  EXPECT_EQ(Instances(0), before);
  EXPECT_EQ(run.Wait().exit_code, kExitOk);
}

TEST_F(ReshapeE2e, AFaultMidwayPutsTheGpuBackAndLeavesTheBusyTaskAlone) {
  MachineWith("h100-80gb:1", Args(7, "1g.10gb"));
  std::string busy;
  Child run = StartBusyTask(3000, &busy);
  const Json before = Instances(0);
  const Json busy_before = InstanceWithUuid(busy);
  // The GI create after the four destroys fails: the GPU goes back to what reshape found.
  Outcome o = Migctl({"reshape", "--demand", "4g.40gb:1"},
                     {{"MIGSIM_FAULTS", "nvmlDeviceCreateGpuInstanceWithPlacement@1=UNKNOWN"}});
  EXPECT_NE(o.exit_code, kExitOk) << o;
  EXPECT_EQ(Instances(0).size(), before.size()) << o;
  EXPECT_EQ(InstanceWithUuid(busy), busy_before);
  Outcome task = run.Wait();
  EXPECT_EQ(JsonLines(task.out).front()["status"], "ok") << task;
}

TEST_F(ReshapeE2e, BadInputIsOneLineExitTwoAndNothingChanges) {
  InitMachine("h100-80gb:2");
  EnableMig("0");  // GPU 1 stays without MIG
  MustJson({"create", "-i", "0", "3g.40gb"});
  const Json before = Status();
  for (const Args& args : std::vector<Args>{{"reshape", "--demand", "9g.99gb:1"},
                                            {"reshape"},
                                            {"reshape", "-i", "1", "--need", "8GiB"},
                                            {"reshape", "-i", "5", "--need", "8GiB"},
                                            {"reshape", "--need", "lots"}}) {
    Outcome o = Migctl(args);
    EXPECT_EQ(o.exit_code, kExitUsage) << o;
    EXPECT_FALSE(o.err.empty()) << o;
  }
  Outcome off = Migctl({"reshape", "-i", "1", "--need", "8GiB"});
  EXPECT_NE(off.err.find("GPU 1 has MIG off"), std::string::npos) << off;
  EXPECT_EQ(Status(), before);
}

}  // namespace
