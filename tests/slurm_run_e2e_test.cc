// `migctl run --slurm` against a real Slurm on loopback (tests/slurm/cluster.sh): three simulated H100 nodes
// with different layouts, the run's tasks as one job array, each element through `migctl exec --array`.
#include <signal.h>

#include "run_harness.h"
#include "slurm_harness.h"

namespace {

class SlurmRun : public SlurmE2e {
 protected:
  static void SetUpTestSuite() {
    // 1g.10gb: 7 + 2 + 3 slices; 2g.20gb on n2 and n3; 3g.40gb on n2 only.
    StartCluster({
        {"n1",
         "h100-80gb:1",
         {{"mode", "enable", "-i", "0"},
          {"create", "-i", "0", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb",
           "1g.10gb"}}},
        {"n2",
         "h100-80gb:1",
         {{"mode", "enable", "-i", "0"}, {"create", "-i", "0", "3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"}}},
        {"n3",
         "h100-80gb:1",
         {{"mode", "enable", "-i", "0"},
          {"create", "-i", "0", "2g.20gb", "2g.20gb", "1g.10gb", "1g.10gb", "1g.10gb"}}},
    });
  }
  static void TearDownTestSuite() { StopCluster(); }

  /// `migctl --json run --slurm --spool DIR/NAME ARGS`, run to completion.
  Outcome RunSlurm(const Args& args, const std::string& spool = "spool") {
    Args full{"--json", "run", "--slurm", "--spool", (dir_ / spool).string()};
    full.insert(full.end(), args.begin(), args.end());
    return Run(MIGCTL_BINARY, full);
  }

  /// `slurm gres --json` of `node`, once per test.
  const Json& Gres(const std::string& node) {
    if (!gres_.contains(node)) {
      Outcome o = OnNode(node, {"slurm", "gres", "--node", node, "--root", RootOf(node)});
      EXPECT_EQ(o.exit_code, 0) << o;
      gres_[node] = o.OutJson();
    }
    return gres_[node];
  }

  /// The result lines of `run --json` output (the summary line left out), and the summary.
  static std::vector<Json> Results(const Outcome& o) {
    std::vector<Json> results;
    for (const std::string& line : Lines(o.out)) {
      Json doc = Json::parse(line, nullptr, false);
      EXPECT_FALSE(doc.is_discarded()) << line;
      if (!doc.contains("summary")) results.push_back(doc);
    }
    return results;
  }
  static Json Summary(const Outcome& o) {
    const std::vector<std::string> lines = Lines(o.out);
    if (lines.empty()) return Json();
    return Json::parse(lines.back(), nullptr, false)["summary"];
  }
  static std::vector<Json> Journal(const fs::path& file) {
    std::vector<Json> lines;
    for (const std::string& line : Lines(ReadFile(file))) lines.push_back(Json::parse(line));
    return lines;
  }

  static std::string Probe() { return TASK_PROBE; }

  std::map<std::string, Json> gres_;
};

TEST_F(SlurmRun, EveryElementRunsOnTheSliceSlurmAllocatedItAndNoTwoShareOne) {
  // Each task reports what Slurm and migctl gave it, and logs its time on its device (the lease audit).
  const fs::path log = dir_ / "intervals.log";
  const fs::path task = dir_ / "task.sh";
  WriteFile(task, "p=$(" + Probe() + " --log " + log.string() + " --sleep-ms 1000 | tail -n 1)\n" +
                      R"(printf '{"probe":%s,"node":"%s","job_gpus":"%s","visible":"%s"}\n' )" +
                      R"("$p" "$SLURMD_NODENAME" "$SLURM_JOB_GPUS" "$CUDA_VISIBLE_DEVICES")" + "\n");
  const fs::path results = dir_ / "results.jsonl";
  Outcome o = RunSlurm(
      {"--profile", "1g.10gb", "--repeat", "18", "--results", results.string(), "--", "sh", task.string()});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  const std::vector<Json> lines = Results(o);
  ASSERT_EQ(lines.size(), 18u) << o;
  std::set<unsigned> ids;
  std::set<std::string> nodes;
  for (const Json& r : lines) {
    SCOPED_TRACE(r.dump());
    ids.insert(r["task"].get<unsigned>());
    ASSERT_EQ(r["status"], "ok");
    const Json& seen = r["output"];
    const std::string node = seen["node"];
    nodes.insert(node);
    EXPECT_EQ(r["node"], node);
    // The index Slurm allocated, through the node's own GRES order, is the device the task got.
    const Json& device = Gres(node)["devices"][std::stoi(seen["job_gpus"].get<std::string>())];
    EXPECT_EQ(device["type"], "1g.10gb");
    EXPECT_EQ(seen["visible"], device["uuid"]);
    EXPECT_EQ(r["device"], device["uuid"]);
    EXPECT_EQ(r["profile"], "1g.10gb");
    EXPECT_EQ(seen["probe"]["found"], true) << "the node's NVML does not know the device";
    EXPECT_EQ(seen["probe"]["MIGCTL_TASK_ID"], std::to_string(r["task"].get<unsigned>()));
  }
  EXPECT_EQ(ids.size(), 18u);
  EXPECT_GE(nodes.size(), 2u) << "elements spread over the nodes";
  EXPECT_EQ(ExpectNoSharing(ReadIntervals(log)), 18u);
  // The journal holds the same lines; the task logs and Slurm's output are in the spool.
  EXPECT_EQ(Journal(results).size(), 18u);
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "logs" / "task-18.log"));
  EXPECT_TRUE(fs::exists(dir_ / "spool" / "slurm" / "18.out"));
  EXPECT_EQ(Summary(o)["succeeded"], 18);
  EXPECT_TRUE(QueuedJobs().empty());
}

TEST_F(SlurmRun, AnElementWaitsForTheSliceALocalTaskHolds) {
  // A local run on n2 holds its only 3g.40gb; the element Slurm puts there must wait for it, never share it.
  const fs::path log = dir_ / "intervals.log";
  Child local = Start(MIGCTL_BINARY, {"--sim", SimOf("n2"), "run", "--profile", "3g.40gb", "--", Probe(),
                                      "--log", log.string(), "--sleep-ms", "2500"});
  ASSERT_TRUE(WaitFor([&] { return ReadFile(log).find("start") != std::string::npos; }, 10));
  Outcome o = RunSlurm({"--profile", "3g.40gb", "--", Probe(), "--log", log.string(), "--sleep-ms", "100"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(local.Wait().exit_code, kExitOk);
  EXPECT_EQ(ExpectNoSharing(ReadIntervals(log)), 2u);
  const std::string uuid = Results(o).at(0)["device"];
  EXPECT_NE(ReadFile(dir_ / "spool" / "slurm" / "1.out").find("waits for " + uuid), std::string::npos)
      << ReadFile(dir_ / "spool" / "slurm" / "1.out");
}

TEST_F(SlurmRun, JournalMatchesALocalRunAndResumeResubmitsOnlyWhatFailed) {
  const Args tasks = {"--param", "x=1,2,3,4", "--param", "y=a,b", "--", "sh", "-c", "test {x} != 3 || exit 3",
                      "{y}"};
  // A local run of the same task list on a machine of its own.
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "1g.10gb", "1g.10gb"});
  const fs::path local = dir_ / "local.jsonl";
  Args local_args = {"run", "--results", local.string()};
  local_args.insert(local_args.end(), tasks.begin(), tasks.end());
  EXPECT_EQ(Migctl(local_args).exit_code, kExitFailed);

  const fs::path remote = dir_ / "slurm.jsonl";
  Args slurm_args = {"--profile", "1g.10gb", "--results", remote.string()};
  slurm_args.insert(slurm_args.end(), tasks.begin(), tasks.end());
  Outcome o = RunSlurm(slurm_args);
  ASSERT_EQ(o.exit_code, kExitFailed) << o;
  EXPECT_EQ(Summary(o)["failed"], 2);
  auto by_task = [](const std::vector<Json>& journal) {
    std::map<unsigned, Json> out;
    for (const Json& r : journal) out[r["task"].get<unsigned>()] = r;
    return out;
  };
  const std::map<unsigned, Json> want = by_task(Journal(local)), got = by_task(Journal(remote));
  ASSERT_EQ(want.size(), 8u);
  ASSERT_EQ(got.size(), 8u);
  for (const auto& [id, r] : want) {
    SCOPED_TRACE(id);
    for (const char* key : {"command", "params", "status", "exit_status", "final", "attempt"})
      EXPECT_EQ(got.at(id)[key], r[key]) << key;
    EXPECT_TRUE(r["node"].is_null());
    EXPECT_TRUE(got.at(id)["node"].is_string());
  }

  // Resume submits only the failed ones (x=3: tasks 5 and 6), from the Slurm journal and from the local one.
  Outcome dry =
      RunSlurm({"--dry-run", "--profile", "1g.10gb", "--resume", local.string(), "--param", "x=1,2,3,4",
                "--param", "y=a,b", "--", "sh", "-c", "test {x} != 3 || exit 3", "{y}"});
  ASSERT_EQ(dry.exit_code, kExitOk) << dry;
  const Json sbatch = dry.OutJson()["slurm"]["sbatch"];
  EXPECT_NE(std::find(sbatch.begin(), sbatch.end(), "--array=5-6"), sbatch.end()) << sbatch;
  EXPECT_FALSE(fs::exists(dir_ / "spool2"));

  Args resume_args = {"--profile", "1g.10gb", "--resume", remote.string()};
  resume_args.insert(resume_args.end(), tasks.begin(), tasks.end());
  o = RunSlurm(resume_args, "spool2");
  ASSERT_EQ(o.exit_code, kExitFailed) << o;
  const Json summary = Summary(o);
  EXPECT_EQ(summary["tasks"], 2);
  EXPECT_EQ(summary["succeeded_before"], 6);
  std::set<unsigned> rerun;
  for (const Json& r : Results(o)) rerun.insert(r["task"].get<unsigned>());
  EXPECT_EQ(rerun, (std::set<unsigned>{5, 6}));
  EXPECT_EQ(Journal(remote).size(), 10u);
}

TEST_F(SlurmRun, MemoryAsksForTheSmallestTypeThatHoldsIt) {
  Outcome dry = RunSlurm({"--dry-run", "--memory", "15G", "--repeat", "2", "--", "true"});
  ASSERT_EQ(dry.exit_code, kExitOk) << dry;
  EXPECT_EQ(dry.OutJson()["slurm"]["gres_type"], "2g.20gb");
  Outcome o = RunSlurm({"--memory", "15G", "--repeat", "2", "--", "true"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  for (const Json& r : Results(o)) {
    EXPECT_EQ(r["profile"], "2g.20gb") << r;
    const Json& devices = Gres(r["node"])["devices"];
    EXPECT_TRUE(std::any_of(devices.begin(), devices.end(), [&](const Json& d) {
      return d["uuid"] == r["device"] && d["type"] == "2g.20gb";
    })) << r;
  }
  // --nodes 1: the one node with the most free 2g.20gb slices (n3 has two), the others excluded.
  dry = RunSlurm({"--dry-run", "--memory", "15G", "--nodes", "1", "--", "true"});
  ASSERT_EQ(dry.exit_code, kExitOk) << dry;
  EXPECT_EQ(dry.OutJson()["slurm"]["nodes"], Json::array({"n3"}));
  EXPECT_EQ(dry.OutJson()["slurm"]["exclude"], Json::array({"n1", "n2"}));
}

TEST_F(SlurmRun, CtrlCCancelsTheArray) {
  // n2 has the only 3g.40gb: one element runs, five wait.
  Child run = Start(MIGCTL_BINARY,
                    {"--json", "run", "--slurm", "--spool", (dir_ / "spool").string(), "--profile", "3g.40gb",
                     "--repeat", "6", "--grace", "1", "--", "sleep", "31.25"},
                    ClusterEnv());
  ASSERT_TRUE(WaitFor(
      [&] {
        return !Slurm("squeue", {"-h", "-t", "RUNNING", "-n", "migctl-run", "-o", "%i"}).out.empty() &&
               fs::exists(dir_ / "spool" / "logs") && !fs::is_empty(dir_ / "spool" / "logs");
      },
      30));
  ::kill(run.pid(), SIGINT);
  Outcome o = run.Wait();
  EXPECT_EQ(o.exit_code, 130) << o;
  EXPECT_TRUE(QueuedJobs().empty()) << "the array is still queued";
  const Json summary = Summary(o);
  EXPECT_EQ(summary["succeeded"], 0);
  EXPECT_EQ(summary["failed"], 1) << o;
  EXPECT_EQ(summary["not_run"], 5) << o;
  const std::vector<Json> results = Results(o);
  ASSERT_EQ(results.size(), 1u) << o;
  EXPECT_EQ(results[0]["status"], "killed");
  EXPECT_TRUE(WaitFor(
      [&] {
        // A duration of its own: tests running beside this one must not be mistaken for its tasks.
        return Run("/usr/bin/pgrep", {"-f", "^sleep 31[.]25$"}).exit_code != 0;
      },
      10))
      << "the task outlived the cancel";
}

TEST_F(SlurmRun, BadInputIsRefusedInOneLineAndNothingIsSubmitted) {
  struct Case {
    Args args;
    std::vector<std::string> names;
  };
  for (const Case& c : {
           Case{{"--profile", "7g.80gb", "--", "true"}, {"--profile 7g.80gb", "1g.10gb, 2g.20gb, 3g.40gb"}},
           Case{{"--memory", "41G", "--", "true"}, {"--memory 41 GiB", "the largest is 3g.40gb"}},
           Case{{"--profile", "1g.10gb", "--repeat", "4001", "--", "true"},
                {"task 4001", "MaxArraySize is 4001"}},
           Case{{"--", "true"}, {"--profile TYPE or --memory SIZE"}},
           Case{{"--profile", "1g.10gb", "--nodes", "4", "--", "true"}, {"--nodes 4", "n1, n3, n2"}},
           Case{{"--profile", "1g.10gb", "-i", "0", "--", "true"}, {"--gpus", "--slurm"}},
       }) {
    std::string text;
    for (const std::string& a : c.args) text += a + " ";
    SCOPED_TRACE(text);
    ExpectOneLineError(RunSlurm(c.args), kExitUsage, c.names);
    EXPECT_FALSE(fs::exists(dir_ / "spool"));
  }
  ExpectOneLineError(Run(MIGCTL_BINARY, {"--json", "run", "--nodes", "2", "--", "true"}), kExitUsage,
                     {"--slurm"});
  EXPECT_TRUE(QueuedJobs().empty());
}

}  // namespace
