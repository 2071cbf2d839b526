// End-to-end tests of `migctl run` on simulated machines: what each task sees, that no two live tasks ever
// hold one device (under churn, with migctl itself killed), resume, Ctrl-C, literal arguments, MPS, errors.
#include <signal.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "run_harness.h"

namespace {

using std::chrono::milliseconds;

std::string fmt_task(int i) { return "task-" + std::to_string(i) + ".log"; }

TEST_F(RunE2e, EachTaskFindsItsOwnMigDeviceThroughNvml) {
  MachineWith("h100-80gb:1", {"3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"});
  const std::set<std::string> uuids = MigUuids();
  ASSERT_EQ(uuids.size(), 4u);
  Outcome o = Migctl({"run", "--repeat", "12", "--", Probe()});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::vector<Json> lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 13u) << o;
  std::set<std::string> used;
  for (size_t i = 0; i < 12; ++i) {
    const Json& r = lines[i];
    EXPECT_EQ(r["status"], "ok") << r;
    const Json& seen = r["output"];
    EXPECT_EQ(seen["visible"], r["device"]) << r;
    EXPECT_EQ(seen["found"], true) << "NVML does not know " << seen["visible"];
    EXPECT_EQ(seen["is_mig"], true);
    EXPECT_EQ(seen["MIGCTL_DEVICE"], r["device"]);
    EXPECT_EQ(seen["MIGCTL_TASK_ID"], std::to_string(r["task"].get<int>()));
    EXPECT_EQ(seen["MIGCTL_WORKER"], std::to_string(r["worker"].get<int>()));
    EXPECT_EQ(seen["MIGCTL_PROFILE"], r["profile"]);
    EXPECT_TRUE(uuids.contains(r["device"]));
    used.insert(r["device"]);
  }
  EXPECT_EQ(lines[12]["summary"]["succeeded"], 12);
  EXPECT_GE(used.size(), 2u) << "tasks spread over the workers";
}

TEST_F(RunE2e, SharedWholeGpusAreGpuUuids) {
  InitMachine("h100-80gb:2");
  Outcome o = Migctl({"run", "--share", "none", "--workers", "4", "--repeat", "8", "--", Probe()});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::set<std::string> gpus;
  const Json status = Status();
  for (const Json& g : status["gpus"]) gpus.insert(g["uuid"].get<std::string>());
  for (const Json& r : JsonLines(o.out)) {
    if (r.contains("summary")) continue;
    EXPECT_TRUE(gpus.contains(r["device"])) << r;
    EXPECT_EQ(r["output"]["found"], true);
    EXPECT_EQ(r["output"]["is_mig"], false);
    EXPECT_EQ(r["profile"], "gpu");
  }
}

TEST_F(RunE2e, ShellMetacharactersInParametersAreLiteralArguments) {
  MachineWith("h100-80gb:1", {"1g.10gb"});
  const fs::path marker = dir_ / "pwned";
  const std::string evil = "$(touch " + marker.string() + ")";
  const std::string semi = "a; touch " + marker.string();
  Outcome o = Migctl({"run", "--param", "x=" + evil, "--param", "y=" + semi + ",*,'\"q\"'", "--", Probe(),
                      "--args", "{x}", "{y}", "{x}-{y}"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::vector<Json> lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 4u) << o;
  std::multiset<std::string> seen_y;
  for (size_t i = 0; i < 3; ++i) {
    const Json args = lines[i]["output"]["args"];
    ASSERT_EQ(args.size(), 4u) << lines[i];
    EXPECT_EQ(args[1], evil);
    EXPECT_EQ(args[3], evil + "-" + args[2].get<std::string>());
    seen_y.insert(args[2]);
  }
  EXPECT_EQ(seen_y, (std::multiset<std::string>{semi, "*", "'\"q\"'"}));
  // The same through a task file, and with --shell (values are quoted for the shell).
  WriteFile(dir_ / "tasks.txt", Probe() + " --args '" + semi + "' \"$HOME\" *\n");
  o = Migctl({"run", "--tasks", (dir_ / "tasks.txt").string()});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(JsonLines(o.out)[0]["output"]["args"], Json::array({"--args", semi, "$HOME", "*"}));
  o = Migctl({"run", "--shell", "--param", "y=" + semi, "--", Probe() + " --args {y} $MIGCTL_TASK_ID"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(JsonLines(o.out)[0]["output"]["args"], Json::array({"--args", semi, "1"}));
  EXPECT_FALSE(fs::exists(marker)) << "a parameter was run by a shell";
}

TEST_F(RunE2e, ChurnNeverSharesADeviceAndResumeRerunsOnlyWhatDidNotSucceed) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "leases.log";
  const fs::path results = dir_ / "results.jsonl";
  // 1,000 tasks: most work 5-40 ms; every 23rd crashes (SIGABRT), every 31st exits 3, every 97th outlives
  // the timeout.
  std::string tasks;
  std::set<int> must_fail;
  for (int i = 1; i <= 1000; ++i) {
    std::string line = Probe() + " --log " + log.string() + " --sleep-ms " + std::to_string(5 + (i * 7) % 36);
    if (i % 97 == 0) {
      line = Probe() + " --log " + log.string() + " --sleep-ms 5000";
      must_fail.insert(i);
    } else if (i % 23 == 0) {
      line += " --abort";
      must_fail.insert(i);
    } else if (i % 31 == 0) {
      line += " --exit 3";
      must_fail.insert(i);
    }
    tasks += line + "\n";
  }
  WriteFile(dir_ / "tasks.txt", tasks);
  const Args run = {"run",      "--tasks",        (dir_ / "tasks.txt").string(),
                    "--resume", results.string(), "--timeout",
                    "0.3",      "--grace",        "0.2"};
  // Kill migctl itself (SIGKILL) at random moments, resuming each time; a second, concurrent run over the
  // same devices competes for the leases in the first rounds.
  std::mt19937 random(42);
  for (int round = 0; round < 4; ++round) {
    Child main_run = StartMigctl(run);
    std::optional<Child> rival;
    if (round < 2)
      rival.emplace(
          StartMigctl({"run", "--repeat", "40", "--", Probe(), "--log", log.string(), "--sleep-ms", "20"}));
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(300, 900)(random)));
    ::kill(main_run.pid(), SIGKILL);
    Outcome killed = main_run.Wait();
    EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
    if (rival) {
      Outcome r = rival->Wait();
      EXPECT_EQ(r.exit_code, kExitOk) << r;
    }
  }
  Outcome last = Migctl(run);
  EXPECT_EQ(last.exit_code, kExitFailed) << "the failing tasks fail";
  std::this_thread::sleep_for(milliseconds(300));  // orphans of the killed runs got SIGTERM; let them log

  // The audit: every task interval on every device, across all runs, is disjoint from the others.
  const std::vector<Interval> intervals = ReadIntervals(log);
  EXPECT_GE(ExpectNoSharing(intervals), 1000u + 80u);

  // Results: each task has exactly one ok line, or (for the failing ones) only failures.
  std::map<int, int> ok_lines;
  std::set<int> seen;
  for (const std::string& line : Lines(ReadFile(results))) {
    Json r = Json::parse(line, nullptr, false);
    if (r.is_discarded()) continue;  // a torn line from a kill
    seen.insert(r["task"].get<int>());
    if (r["status"] == "ok") ++ok_lines[r["task"].get<int>()];
  }
  EXPECT_EQ(seen.size(), 1000u);
  for (int i = 1; i <= 1000; ++i) {
    if (must_fail.contains(i)) {
      EXPECT_EQ(ok_lines[i], 0) << "task " << i;
    } else {
      EXPECT_EQ(ok_lines[i], 1) << "task " << i << " succeeded " << ok_lines[i] << " times";
    }
  }
  Json summary = JsonLines(last.out).back()["summary"];
  EXPECT_EQ(summary["failed"], static_cast<int>(must_fail.size()));
  EXPECT_EQ(summary["succeeded"].get<int>() + summary["succeeded_before"].get<int>(),
            1000 - static_cast<int>(must_fail.size()));
  // Nothing is left running.
  for (const Interval& i : intervals)
    EXPECT_FALSE(Alive(i.pid)) << "pid " << i.pid << " (task " << i.task << ")";
}

TEST_F(RunE2e, ResumeAfterSigkillSkipsEveryTaskThatSucceeded) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "starts.log";
  const fs::path results = dir_ / "results.jsonl";
  const Args run = {"run",   "--repeat",   "20",         "--resume", results.string(), "--", Probe(),
                    "--log", log.string(), "--sleep-ms", "150"};
  Child first = StartMigctl(run);
  std::this_thread::sleep_for(milliseconds(900));
  ::kill(first.pid(), SIGKILL);
  first.Wait();
  std::set<std::string> succeeded;
  for (const std::string& line : Lines(ReadFile(results))) {
    Json r = Json::parse(line, nullptr, false);
    if (!r.is_discarded() && r["status"] == "ok") succeeded.insert(std::to_string(r["task"].get<int>()));
  }
  ASSERT_GE(succeeded.size(), 2u);
  ASSERT_LT(succeeded.size(), 20u);
  const size_t before = ReadIntervals(log).size();
  Outcome second = Migctl(run);
  ASSERT_EQ(second.exit_code, kExitOk) << second;
  std::vector<Interval> all = ReadIntervals(log);
  std::set<std::string> rerun;
  for (size_t k = before; k < all.size(); ++k) rerun.insert(all[k].task);
  for (const std::string& t : succeeded) EXPECT_FALSE(rerun.contains(t)) << "task " << t << " ran again";
  EXPECT_EQ(rerun.size() + succeeded.size(), 20u);
  EXPECT_NE(second.err.find("resuming"), std::string::npos);
}

TEST_F(RunE2e, CtrlCStopsEveryTaskAndLeavesNoProcess) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "tasks.log";
  Child run = StartMigctl({"run", "--repeat", "6", "--grace", "0.5", "--shell", "--",
                           "sleep 30.75 & " + Probe() + " --log " + log.string() + " --sleep-ms 30000"});
  std::this_thread::sleep_for(milliseconds(700));
  ::kill(run.pid(), SIGINT);
  const auto stopped_at = std::chrono::steady_clock::now();
  Outcome o = run.Wait();
  EXPECT_EQ(o.exit_code, 128 + SIGINT) << o;
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(5));
  EXPECT_NE(o.err.find("interrupted by SIGINT"), std::string::npos) << o;
  std::vector<Interval> intervals = ReadIntervals(log);
  EXPECT_EQ(intervals.size(), 3u);
  for (const Interval& i : intervals) EXPECT_FALSE(Alive(i.pid)) << "pid " << i.pid;
  // The background `sleep 30.75` of each task was in the task's process group: gone too. (A duration of its
  // own: `sleep 30` of tests running beside this one, slurm_run_e2e_test's Ctrl-C case, once failed it.)
  Outcome ps = Start("/bin/sh", {"-c", "pgrep -f '^sleep 30[.]75$' || true"}).Wait();
  EXPECT_EQ(ps.out, "") << "left behind: " << ps.out;
  for (const Json& r : JsonLines(o.out))
    if (!r.contains("summary")) {
      EXPECT_EQ(r["status"], "killed");
    }
}

TEST_F(RunE2e, CreateMakesTheMissingDevicesAndEphemeralRemovesThem) {
  InitMachine("h100-80gb:1");
  Outcome o = Migctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--ephemeral", "--param",
                      "lr=1e-3,3e-4", "--", Probe(), "--args", "--lr", "{lr}"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::vector<Json> lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["profile"], "3g.40gb");
  EXPECT_EQ(lines[1]["profile"], "3g.40gb");
  EXPECT_NE(o.err.find("created 2 x 3g.40gb"), std::string::npos) << o;
  EXPECT_NE(o.err.find("removed the 2 GPU instances"), std::string::npos) << o;
  EXPECT_EQ(Instances(0).size(), 0u) << "--ephemeral leaves nothing it made";

  // Without --ephemeral they stay, and a second run uses them without creating more.
  ASSERT_EQ(Migctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--", "true"}).exit_code,
            kExitOk);
  ASSERT_EQ(Instances(0).size(), 2u);
  o = Migctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--", "true"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(o.err.find("created"), std::string::npos) << o;
  EXPECT_EQ(Instances(0).size(), 2u);
}

TEST_F(RunE2e, WorkersThatCannotExistAreRefusedBeforeAnythingStarts) {
  InitMachine("h100-80gb:1");
  const Json before = Machine();
  const fs::path marker = dir_ / "ran";
  Outcome o =
      Migctl({"run", "--profile", "3g.40gb", "--workers", "3", "--create", "--", "touch", marker.string()});
  ExpectOneLineError(o, kExitUsage, {"3 MIG devices of 3g.40gb cannot exist", "room for 2", "2g.20gb x3"});
  EXPECT_EQ(Machine(), before);
  EXPECT_FALSE(fs::exists(marker));

  struct Case {
    Args args;
    std::vector<std::string> says;
  };
  MustJson({"mode", "enable", "-i", "0"});
  MustJson({"create", "-i", "0", "1g.10gb"});
  const Json after = Machine();
  for (const Case& c : std::vector<Case>{
           {{"run", "--profile", "3g.40gb", "--", "true"},
            {"no idle MIG device matches (--profile 3g.40gb)"}},
           {{"run", "--workers", "3", "--", "true"}, {"--workers 3 but only 1"}},
           {{"run", "--share", "none", "--", "true"}, {"GPU 0 has MIG on"}},
           {{"run", "--share", "both", "--", "true"}, {"--share both"}},
           {{"run", "--", "echo", "{lr}"}, {"{lr}"}},
           {{"run", "--param", "lr=1", "--", "echo"}, {"lr"}},
           {{"run"}, {"--tasks"}},
           {{"run", "--per-task-memory", "20G", "--", "true"}, {"task 1 needs 20 GiB"}},
           {{"run", "--memory", "12 parsecs", "--", "true"}, {"--memory"}},
           {{"run", "--ephemeral", "--", "true"}, {"--create"}},
           {{"run", "-i", "5", "--", "true"}, {"5"}},
           {{"run", "--tasks", "/nonexistent/tasks.txt"}, {"/nonexistent/tasks.txt"}},
       }) {
    Outcome bad = Migctl(c.args);
    ExpectOneLineError(bad, kExitUsage, c.says);
  }
  EXPECT_EQ(Machine(), after);
}

TEST_F(RunE2e, OrderedLogsRetriesAndTimeout) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb", "1g.10gb"});
  const fs::path logs = dir_ / "logs";
  // Later tasks finish first; --ordered prints them in submission order anyway.
  Outcome o = Migctl({"run", "--ordered", "--logs", logs.string(), "--param", "ms=300,150,0", "--", Probe(),
                      "--sleep-ms", "{ms}"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::vector<Json> lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i]["task"], i + 1);
    EXPECT_EQ(lines[i]["log"], (logs / fmt_task(i + 1)).string());
    EXPECT_NE(ReadFile(logs / fmt_task(i + 1)).find("working"), std::string::npos);
  }
  o = Migctl(
      {"run", "--retries", "2", "--timeout", "0.2", "--grace", "0.1", "--", Probe(), "--sleep-ms", "3000"});
  EXPECT_EQ(o.exit_code, kExitFailed);
  lines = JsonLines(o.out);
  ASSERT_EQ(lines.size(), 2u) << o;
  EXPECT_EQ(lines[0]["status"], "timeout");
  EXPECT_EQ(lines[0]["attempt"], 3);
  EXPECT_NE(o.err.find("retrying"), std::string::npos);
}

TEST_F(RunE2e, MpsWorkersGetAPrivateDaemonThatIsGoneAfterTheRun) {
  InitMachine("h100-80gb:1");
  const Env env = {{"MIGCTL_MPS_CONTROL", MIGCTL_SOURCE_DIR "/tests/fixtures/fake-mps-control"}};
  Outcome o = Migctl({"run", "--share", "mps", "--workers", "4", "--mps-threads", "auto", "--mps-memory",
                      "10G", "--repeat", "4", "--", Probe()},
                     env);
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::string pipe_dir;
  for (const Json& r : JsonLines(o.out)) {
    if (r.contains("summary")) continue;
    EXPECT_EQ(r["output"]["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"], "25") << r;
    EXPECT_EQ(r["output"]["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"], "0=10240M") << r;
    pipe_dir = r["output"]["CUDA_MPS_PIPE_DIRECTORY"];
  }
  ASSERT_FALSE(pipe_dir.empty());
  const std::string pid_text = ReadFile(fs::path(pipe_dir) / "nvidia-cuda-mps-control.pid");
  if (!pid_text.empty()) {
    EXPECT_FALSE(Alive(std::stoi(pid_text))) << "the MPS daemon outlived the run";
  }
  // Without the MPS program: one clear line, nothing started.
  o = Migctl({"run", "--share", "mps", "--", "true"}, {{"MIGCTL_MPS_CONTROL", "/nonexistent/mps-control"}});
  EXPECT_NE(o.exit_code, kExitOk);
  EXPECT_NE(o.err.find("MPS"), std::string::npos) << o;
}

}  // namespace
