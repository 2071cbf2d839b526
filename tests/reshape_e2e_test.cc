// End-to-end tests of `migctl reshape` on the simulator: a demand is served around a running task, which
// keeps its MIG device (same UUID) and is never signalled; dry runs, faults and bad input change nothing
// else.
#include <fstream>
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
  void SetUp() override {
    RunE2e::SetUp();
    log_ = dir_ / "tasks.log";  // dir_ exists from E2e::SetUp on
  }
  fs::path log_;
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

TEST_F(ReshapeE2e, AnInstanceWithProcessesIsBusyToo) {
  MachineWith("h100-80gb:1", {"4g.40gb", "3g.40gb"});
  Json four;
  for (const Json& inst : Instances(0))
    if (inst["profile"] == "4g.40gb") four = inst;
  MustJson({"sim", "attach", "-i", "0", "--gi", std::to_string(four["gi"].get<int>()), "--ci", "0", "--name",
            "python"});
  // Seven 1g.10gb would need the 4g.40gb's slots too: only the 3g.40gb's half is re-cut.
  Outcome o = Migctl({"reshape", "--demand", "1g.10gb:7"});
  EXPECT_EQ(o.exit_code, kExitFailed) << o;
  const Json doc = o.OutJson();
  EXPECT_EQ(doc["served"], 3) << o;
  bool kept = false;
  for (const Json& k : doc["gpus"][0]["kept"])
    kept |= k["uuids"][0] == four["uuid"] && k["busy"].get<std::string>().starts_with("processes");
  EXPECT_TRUE(kept) << o;
  bool still = false;
  for (const Json& inst : Instances(0)) still |= inst["uuid"] == four["uuid"];
  EXPECT_TRUE(still);
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

// ---- run --reshape ----

TEST_F(ReshapeE2e, RunReshapeDrainsAMixedQueueWhileALongTaskKeepsItsSlice) {
  MachineWith("h100-80gb:1", Args(7, "1g.10gb"));
  const fs::path tasks = dir_ / "mixed.txt";
  const std::string probe = Probe() + " --log " + log_.string();
  // The long task starts at once on a 1g.10gb; the 3g.40gb and 4g.40gb tasks fit no device until the idle
  // 1g.10gb around it are re-cut, and the 1g.10gb tasks need what is left.
  std::ofstream(tasks) << "@profile=1g.10gb " << probe << " --sleep-ms 2500\n"
                       << "@profile=3g.40gb " << probe << " --sleep-ms 200\n"
                       << "@profile=3g.40gb " << probe << " --sleep-ms 200\n"
                       << "@memory=9G " << probe << " --sleep-ms 200\n"
                       << "@memory=9G " << probe << " --sleep-ms 200\n";
  Outcome o = Migctl({"run", "-i", "0", "--reshape", "--tasks", tasks.string()});
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  const std::vector<Json> lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 6u) << o;
  std::map<int, Json> result;
  for (size_t k = 0; k + 1 < lines.size(); ++k) result[lines[k]["task"]] = lines[k];
  for (const auto& [task, r] : result) {
    EXPECT_EQ(r["status"], "ok") << r;
    EXPECT_EQ(r["output"]["found"], true) << r;  // each task found its device through NVML
  }
  EXPECT_EQ(result[2]["profile"], "3g.40gb");
  EXPECT_EQ(result[3]["profile"], "3g.40gb");
  const Json summary = lines.back()["summary"];
  ASSERT_TRUE(summary.contains("reshapes")) << o;
  EXPECT_GE(summary["reshapes"].size(), 1u);
  EXPECT_EQ(summary["reshapes"][0]["waiting"], 2);  // the two 3g.40gb tasks (9 GiB fits a 1g.10gb)
  // Workers in all: the seven 1g.10gb it started with, and each device a re-cut made.
  unsigned created = 0;
  for (const Json& r : summary["reshapes"]) created += r["created"].get<unsigned>();
  EXPECT_EQ(summary["workers"], 7 + created) << summary;
  // The long task's slice was never touched: it is still there, with the same UUID, and the long task ran
  // to its end on it (its interval is whole, it was not signalled).
  const std::string long_device = result[1]["device"];
  bool still_there = false;
  for (const Json& inst : Instances(0)) still_there |= inst["uuid"] == long_device;
  EXPECT_TRUE(still_there) << long_device;
  EXPECT_EQ(Overlaps(ReadIntervals(log_)), 0u);
}

TEST_F(ReshapeE2e, RunReshapeLeavesATaskNoProfileCanHoldNotRunAndSaysWhy) {
  MachineWith("h100-80gb:1", {"3g.40gb"});
  const fs::path tasks = dir_ / "tasks.txt";
  std::ofstream(tasks) << "@memory=100G " << Probe() << "\n@profile=1g.10gb " << Probe() << "\n";
  Outcome o = Migctl({"run", "-i", "0", "--reshape", "--tasks", tasks.string()});
  EXPECT_EQ(o.exit_code, kExitFailed) << o;
  EXPECT_NE(o.err.find("too big for any profile"), std::string::npos) << o;
  const Json summary = JsonLines(o.out).back()["summary"];
  EXPECT_EQ(summary["succeeded"], 1) << o;
  EXPECT_EQ(summary["not_run"], 1) << o;
}

TEST_F(ReshapeE2e, RunReshapeRefusesOptionsThatChooseDevices) {
  MachineWith("h100-80gb:1", {"3g.40gb"});
  const Json before = Instances(0);
  for (const Args& extra :
       std::vector<Args>{{"--profile", "3g.40gb"}, {"--workers", "1"}, {"--share", "none"}}) {
    Args args = {"run", "-i", "0", "--reshape"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"--", "true"});
    Outcome o = Migctl(args);
    EXPECT_EQ(o.exit_code, kExitUsage) << o;
    EXPECT_NE(o.err.find("--reshape"), std::string::npos) << o;
  }
  EXPECT_EQ(Instances(0), before);
}

}  // namespace
