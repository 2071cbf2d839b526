// `migctl slurm sync` against a real Slurm on loopback (Debian's slurmctld, slurmd and munge;
// tests/slurm/cluster.sh): three simulated nodes of one H100 each, all 1g.10gb x2 + 3g.40gb at the start. The
// cases change n1's layout and sync it; they run in the order written, on one cluster.
#include <signal.h>

#include "slurm_harness.h"

namespace {

class SlurmSync : public SlurmE2e {
 protected:
  static void SetUpTestSuite() {
    const std::vector<Args> setup = {{"mode", "enable", "-i", "0"},
                                     {"create", "-i", "0", "1g.10gb", "1g.10gb", "3g.40gb"}};
    StartCluster({{"n1", "h100-80gb:1", setup}, {"n2", "h100-80gb:1", setup}, {"n3", "h100-80gb:1", setup}});
  }
  static void TearDownTestSuite() { StopCluster(); }

  static std::string GresConf() { return (cluster_ / "etc" / "gres.conf").string(); }
  static std::string Files() { return ReadFile(SlurmConf()) + "\n--- gres.conf\n" + ReadFile(GresConf()); }
  static pid_t ControllerPid() { return std::stoi(ReadFile(cluster_ / "run" / "slurmctld.pid")); }

  /// n's only GPU holds exactly `profiles` now.
  void Relayout(const std::string& node, const Args& profiles) {
    Outcome o = OnNode(node, {"destroy", "-i", "0", "--all"});
    ASSERT_EQ(o.exit_code, 0) << o;
    Args create = {"create", "-i", "0"};
    create.insert(create.end(), profiles.begin(), profiles.end());
    o = OnNode(node, create);
    ASSERT_EQ(o.exit_code, 0) << o;
  }

  /// `slurm gres --json` of `node`: what Slurm should say.
  Json Gres(const std::string& node) {
    Outcome o = OnNode(node, {"slurm", "gres", "--node", node, "--root", RootOf(node)});
    EXPECT_EQ(o.exit_code, 0) << o;
    return o.OutJson();
  }

  static Args Restarts(const std::string& node) {
    const std::string script = "bash " + ClusterScript();
    return {"--restart-ctld", script + " restart-ctld " + cluster_.string(), "--restart-slurmd",
            script + " restart-slurmd " + cluster_.string() + " " + node};
  }

  static Args SyncArgs(const std::string& node, const Args& extra) {
    Args args = {"slurm", "sync", "--node", node, "--root", RootOf(node), "--slurm-conf", SlurmConf()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  /// `migctl --sim <node> --json slurm sync --node NODE ... EXTRA`.
  Outcome Sync(const std::string& node, const Args& extra) { return OnNode(node, SyncArgs(node, extra)); }

  /// A field of `scontrol show node -o NODE`: State, Gres, Reason's first word.
  static std::string NodeField(const std::string& node, const std::string& field) {
    const std::string line = Slurm("scontrol", {"show", "node", "-o", node}).out;
    const size_t at = line.find(" " + field + "=");
    if (at == std::string::npos) return "";
    const size_t begin = at + field.size() + 2;
    return line.substr(begin, line.find_first_of(" \n", begin) - begin);
  }

  /// The MIG UUIDs `srun -w NODE --gres=gpu:GRES migctl exec` pins its task to.
  static std::set<std::string> StepUuids(const std::string& node, const std::string& gres) {
    Outcome o = Slurm("srun", {"-w", node, "--gres=gpu:" + gres, MIGCTL_BINARY, "exec", "--", "sh", "-c",
                               "echo $CUDA_VISIBLE_DEVICES"});
    EXPECT_EQ(o.exit_code, 0) << o;
    std::set<std::string> uuids;
    std::istringstream list(Lines(o.out).empty() ? "" : Lines(o.out)[0]);
    for (std::string uuid; std::getline(list, uuid, ',');) uuids.insert(uuid);
    return uuids;
  }

  static std::set<std::string> Uuids(const Json& gres, const std::string& type = "") {
    std::set<std::string> uuids;
    for (const Json& d : gres["devices"])
      if (type.empty() || d["type"] == type) uuids.insert(d["uuid"].get<std::string>());
    return uuids;
  }

  static std::string Submit(const Args& args) {
    Args all = {"--parsable"};
    all.insert(all.end(), args.begin(), args.end());
    Outcome o = Slurm("sbatch", all);
    EXPECT_EQ(o.exit_code, 0) << o;
    return Lines(o.out).empty() ? "" : Lines(o.out)[0].substr(0, Lines(o.out)[0].find(';'));
  }
  static std::string JobState(const std::string& job) {
    const std::vector<std::string> lines = Lines(Slurm("squeue", {"-h", "-j", job, "-o", "%T"}).out);
    return lines.empty() ? "" : lines[0];
  }
};

TEST_F(SlurmSync, InSyncSaysSoAndChangesNothing) {
  const std::string before = Files();
  Outcome o = Sync("n1", Restarts("n1"));
  ASSERT_EQ(o.exit_code, 0) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["in_sync"], true) << o;
  EXPECT_TRUE(doc["done"].empty()) << o;
  Outcome human = Run(MIGCTL_BINARY, {"--sim", SimOf("n1"), "slurm", "sync", "--node", "n1", "--root",
                                      RootOf("n1"), "--slurm-conf", SlurmConf()});
  EXPECT_EQ(human.exit_code, 0) << human;
  EXPECT_NE(human.out.find("n1 is in sync with Slurm (Gres=gpu:1g.10gb:2,gpu:3g.40gb:1): nothing to do"),
            std::string::npos)
      << human;
  EXPECT_EQ(Files(), before);
}

TEST_F(SlurmSync, WaitsForTheHostLockOfGpuChanges) {
  // Another migctl changing this host's GPUs (here: flock(1) holding the same lock file) keeps sync from
  // describing a layout that is about to change.
  const std::string before = Files();
  const std::string lock = SimOf("n1") + ".migctl/apply.lock";
  fs::create_directories(fs::path(lock).parent_path());
  Child holder = Start("/usr/bin/flock", {lock, "sleep", "3"});
  ASSERT_TRUE(WaitFor([&] { return Run("/usr/bin/flock", {"-n", lock, "true"}).exit_code != 0; }, 5));
  Outcome o = Sync("n1", {"--lock-timeout", "0", "--restart-ctld", "true"});
  EXPECT_EQ(o.exit_code, kExitFailed) << o;
  EXPECT_NE(o.err.find("migctl: "), std::string::npos) << o;
  EXPECT_EQ(Files(), before);
  EXPECT_EQ(NodeField("n1", "State"), "IDLE");
  holder.Wait();
}

TEST_F(SlurmSync, DryRunPrintsThePlanAndChangesNothing) {
  Relayout("n1", {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "3g.40gb"});
  const std::string before = Files();
  const pid_t controller = ControllerPid();
  Outcome o = Sync("n1", {"--dry-run", "--restart-ctld", "true"});
  ASSERT_EQ(o.exit_code, 0) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["dry_run"], true);
  EXPECT_EQ(doc["change"], "counts_changed");
  EXPECT_EQ(doc["action"], "restart");
  EXPECT_EQ(doc["gres"]["after"], "gpu:1g.10gb:4,gpu:3g.40gb:1");
  std::vector<std::string> steps;
  for (const Json& s : doc["plan"]) steps.push_back(s["step"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"drain", "wait_for_jobs", "write_file", "write_file",
                                             "restart_slurmctld", "restart_slurmd", "wait_for_registration",
                                             "resume"}));
  EXPECT_TRUE(doc["done"].empty());
  Outcome human =
      Run(MIGCTL_BINARY, {"--sim", SimOf("n1"), "slurm", "sync", "--node", "n1", "--root", RootOf("n1"),
                          "--slurm-conf", SlurmConf(), "--dry-run", "--restart-ctld", "true"});
  EXPECT_NE(human.out.find("Plan (dry run: nothing changed):\n  1. drain n1"), std::string::npos) << human;
  EXPECT_EQ(Files(), before);
  EXPECT_EQ(NodeField("n1", "State"), "IDLE");
  EXPECT_EQ(ControllerPid(), controller);
}

TEST_F(SlurmSync, BadInputIsRefusedInOneLineAndChangesNothing) {
  Relayout("n1", {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "3g.40gb"});
  const std::string before = Files();
  {
    SCOPED_TRACE("new counts without --restart-ctld");
    ExpectOneLineError(Sync("n1", {}), kExitUsage,
                       {"gpu:1g.10gb:4,gpu:3g.40gb:1", "only when slurmctld restarts", "--restart-ctld"});
  }
  {
    SCOPED_TRACE("a node slurm.conf does not name");
    Outcome o =
        OnNode("n1", {"slurm", "sync", "--node", "n9", "--root", RootOf("n1"), "--slurm-conf", SlurmConf()});
    ExpectOneLineError(o, kExitUsage, {"no NodeName=n9 line", "is it in an Include file?"});
  }
  {
    SCOPED_TRACE("a node defined in a range");
    fs::create_directories(dir_ / "etc");
    std::string conf = ReadFile(SlurmConf());
    const size_t n2 = conf.find("NodeName=n2 ");
    const size_t n3_end = conf.find('\n', conf.find("NodeName=n3 "));
    std::string shared = conf.substr(n2, conf.find('\n', n2) - n2);
    shared.replace(0, std::string("NodeName=n2").size(), "NodeName=n[2-3]");
    shared = shared.substr(0, shared.find(" Port="));
    conf.replace(n2, n3_end - n2, shared);
    const fs::path copy = dir_ / "etc" / "slurm.conf";
    WriteFile(copy, conf);
    WriteFile(dir_ / "etc" / "gres.conf", ReadFile(GresConf()));
    Outcome o = OnNode("n2", {"slurm", "sync", "--node", "n2", "--root", RootOf("n2"), "--slurm-conf",
                              copy.string(), "--restart-ctld", "true"});
    ExpectOneLineError(o, kExitUsage,
                       {copy.string(), "NodeName=n[2-3]", "give n2 a NodeName line of its own"});
    EXPECT_EQ(ReadFile(copy), conf);
  }
  {
    SCOPED_TRACE("a node without MIG");
    const std::string plain = (dir_ / "plain.json").string();
    ASSERT_EQ(Run(MIGCTL_BINARY, {"sim", "init", plain, "h100-80gb:1"}).exit_code, 0);
    Outcome o = Run(MIGCTL_BINARY, {"--sim", plain, "--json", "slurm", "sync", "--node", "n1", "--root",
                                    RootOf("n1"), "--slurm-conf", SlurmConf(), "--restart-ctld", "true"});
    ExpectOneLineError(o, kExitUsage, {"no MIG device"});
    SCOPED_TRACE("slurm reshape on a node without MIG");
    o = Run(MIGCTL_BINARY, {"--sim", plain, "--json", "slurm", "reshape", "--node", "n1", "--root", RootOf("n1"),
                            "--slurm-conf", SlurmConf()});
    ExpectOneLineError(o, kExitUsage, {"MIG"});
  }
  {
    SCOPED_TRACE("slurm reshape for a node slurmctld does not know");
    Outcome o = OnNode("n1", {"slurm", "reshape", "--node", "n9", "--root", RootOf("n1"), "--slurm-conf",
                              SlurmConf()});
    ExpectOneLineError(o, kExitUsage, {"slurmctld does not know node n9", "--node"});
  }
  {
    SCOPED_TRACE("slurm reshape on a GPU that does not exist");
    Outcome o = OnNode("n1", {"slurm", "reshape", "--node", "n1", "-i", "5", "--root", RootOf("n1"),
                              "--slurm-conf", SlurmConf()});
    ExpectOneLineError(o, kExitUsage, {"5"});
  }
  EXPECT_EQ(Files(), before);
  EXPECT_EQ(NodeField("n1", "State"), "IDLE");
}

TEST_F(SlurmSync, NewCountsRestartSlurmAndJobsLandOnTheNewLayout) {
  Relayout("n1", {"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "3g.40gb"});
  const std::string conf_before = ReadFile(SlurmConf());
  const std::string others_before = NodeField("n2", "Gres") + " " + NodeField("n3", "Gres");
  const pid_t controller = ControllerPid();
  Outcome o = Sync("n1", Restarts("n1"));
  ASSERT_EQ(o.exit_code, 0) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["action"], "restart");
  EXPECT_EQ(doc["resumed"], true);
  ASSERT_TRUE(doc["seconds_to_jobs"].is_number()) << o;
  std::cout << "n1 took jobs again " << doc["seconds_to_jobs"].get<double>() << " s after the call\n";
  RecordProperty("seconds_to_jobs", std::to_string(doc["seconds_to_jobs"].get<double>()));

  Json gres = Gres("n1");
  EXPECT_EQ(NodeField("n1", "Gres"), "gpu:1g.10gb:4,gpu:3g.40gb:1");
  EXPECT_EQ(NodeField("n1", "State"), "IDLE");
  EXPECT_NE(ControllerPid(), controller) << "slurmctld restarted";
  std::string want = conf_before;
  const size_t n1 = want.find("NodeName=n1 ");
  want.replace(want.find("Gres=", n1), std::string("Gres=gpu:1g.10gb:2,gpu:3g.40gb:1").size(),
               "Gres=gpu:1g.10gb:4,gpu:3g.40gb:1");
  EXPECT_EQ(ReadFile(SlurmConf()), want) << "only n1's Gres= changed";
  EXPECT_NE(ReadFile(GresConf()).find(gres["gres_conf"].get<std::string>()), std::string::npos);

  // A step that needs all four 1g.10gb devices: only the new counts allow it, and it gets exactly them.
  EXPECT_EQ(StepUuids("n1", "1g.10gb:4"), Uuids(gres, "1g.10gb"));
  // The other nodes keep their GRES and come back to idle once slurmctld has contacted them again.
  EXPECT_EQ(NodeField("n2", "Gres") + " " + NodeField("n3", "Gres"), others_before);
  EXPECT_TRUE(
      WaitFor([] { return NodeField("n2", "State") == "IDLE" && NodeField("n3", "State") == "IDLE"; }, 20))
      << NodeField("n2", "State") << " " << NodeField("n3", "State");
}

TEST_F(SlurmSync, WaitsForARunningJobAndAJobQueuedMeanwhileLandsOnTheNewLayout) {
  const fs::path out1 = dir_ / "job1.out", out2 = dir_ / "job2.out";
  const std::string job1 =
      Submit({"-w", "n1", "--gres=gpu:1g.10gb:1", "-o", out1.string(), "--wrap", "sleep 4; echo finished"});
  ASSERT_TRUE(WaitFor([&] { return JobState(job1) == "RUNNING"; }, 15)) << JobState(job1);
  Relayout("n1", {"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"});
  Json gres = Gres("n1");

  // Without --wait: refused in one line before anything changes.
  const std::string before = Files();
  const std::string state = NodeField("n1", "State");
  ExpectOneLineError(Sync("n1", Restarts("n1")), kExitFailed, {"n1 runs job " + job1, "--wait"});
  EXPECT_EQ(Files(), before);
  EXPECT_EQ(NodeField("n1", "State"), state);
  EXPECT_EQ(JobState(job1), "RUNNING");

  // With --wait: drained, waits for the job, then changes.
  Args args = {"--sim", SimOf("n1"), "--json"};
  for (const std::string& a : SyncArgs("n1", Restarts("n1"))) args.push_back(a);
  args.push_back("--wait");
  Child sync = Start(MIGCTL_BINARY, args, ClusterEnv());
  ASSERT_TRUE(WaitFor([] { return NodeField("n1", "State").find("DRAIN") != std::string::npos; }, 10));
  const std::string job2 =
      Submit({"-w", "n1", "--gres=gpu:1", "-o", out2.string(), "--wrap",
              std::string(MIGCTL_BINARY) + " exec -- sh -c 'echo $CUDA_VISIBLE_DEVICES'"});
  EXPECT_EQ(JobState(job2), "PENDING") << "no new job starts on a drained node";
  Outcome o = sync.Wait();
  ASSERT_EQ(o.exit_code, 0) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["waited_for"], Json::array({job1})) << o;
  EXPECT_EQ(doc["resumed"], true);
  EXPECT_EQ(JobState(job1), "") << "sync went on only once the job had ended";
  EXPECT_EQ(ReadFile(out1), "finished\n") << "the job ran to its end";

  EXPECT_EQ(NodeField("n1", "Gres"), gres["gres"].get<std::string>());
  ASSERT_TRUE(WaitFor([&] { return JobState(job2).empty(); }, 30)) << JobState(job2);
  const std::string uuid = Lines(ReadFile(out2)).empty() ? "" : Lines(ReadFile(out2))[0];
  EXPECT_TRUE(Uuids(gres).contains(uuid)) << "job 2 got '" << uuid << "'";
  EXPECT_EQ(StepUuids("n1", "2g.20gb:1"), Uuids(gres, "2g.20gb"));
}

TEST_F(SlurmSync, SameCountsNeedNoRestart) {
  Json before = Gres("n1");
  ASSERT_EQ(before["gres"], "gpu:1g.10gb:2,gpu:2g.20gb:1,gpu:3g.40gb:1") << "after the case before";
  // The same profiles elsewhere: created one by one, the 1g.10gb take slots 0-1 and the 2g.20gb 2-3 (before:
  // the 2g.20gb at 0-1), so the same counts with other GPU instances and device files.
  ASSERT_EQ(OnNode("n1", {"destroy", "-i", "0", "--all"}).exit_code, 0);
  for (const std::string profile : {"3g.40gb", "1g.10gb", "1g.10gb", "2g.20gb"})
    ASSERT_EQ(OnNode("n1", {"create", "-i", "0", profile}).exit_code, 0);
  Json gres = Gres("n1");
  ASSERT_EQ(gres["gres"], before["gres"]);
  ASSERT_NE(gres["gres_conf"], before["gres_conf"]);
  const pid_t controller = ControllerPid();

  Outcome o = Sync("n1", {});
  ASSERT_EQ(o.exit_code, 0) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["change"], "same_counts");
  EXPECT_EQ(doc["action"], "reconfigure");
  EXPECT_EQ(doc["resumed"], true);
  EXPECT_EQ(ControllerPid(), controller);
  EXPECT_EQ(::kill(controller, 0), 0) << "slurmctld was not restarted";
  EXPECT_NE(ReadFile(GresConf()).find(gres["gres_conf"].get<std::string>()), std::string::npos);
  EXPECT_EQ(NodeField("n1", "State"), "IDLE");
  EXPECT_EQ(StepUuids("n1", "1g.10gb:2"), Uuids(gres, "1g.10gb"));

  // And now it is in sync.
  const std::string files = Files();
  o = Sync("n1", {});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["in_sync"], true);
  EXPECT_EQ(Files(), files);
}

TEST_F(SlurmSync, ApplyNeverTakesTheSliceOfARunningJobAndSyncWaitsForIt) {
  // A job on n3's 3g.40gb, through migctl exec, which holds the slice's lease for the job's whole tree.
  const fs::path started = dir_ / "started", out = dir_ / "job.out";
  const std::string job = Submit({"-w", "n3", "--gres=gpu:3g.40gb:1", "-o", out.string(), "--wrap",
                                  std::string(MIGCTL_BINARY) + " exec -- sh -c 'touch " + started.string() +
                                      "; sleep 4; echo finished'"});
  ASSERT_TRUE(WaitFor([&] { return fs::exists(started); }, 15)) << JobState(job);
  const Json before = Gres("n3");
  const std::string slice = *Uuids(before, "3g.40gb").begin();
  WriteFile(dir_ / "mig.yaml", R"(version: v1
mig-configs:
  all-1g.10gb:
    - devices: all
      mig-enabled: true
      mig-devices: {"1g.10gb": 7}
  more-1g.10gb:
    - devices: all
      mig-enabled: true
      mig-devices: {"1g.10gb": 4, "3g.40gb": 1}
)");
  // A layout without the job's slice is refused, naming it; nothing changes.
  Outcome o = OnNode("n3", {"apply", "-f", (dir_ / "mig.yaml").string(), "-c", "all-1g.10gb"});
  EXPECT_NE(o.exit_code, 0) << o;
  EXPECT_NE(o.err.find(slice), std::string::npos) << o;
  EXPECT_EQ(Gres("n3")["devices"], before["devices"]);
  // One that keeps it is applied around it.
  o = OnNode("n3", {"apply", "-f", (dir_ / "mig.yaml").string(), "-c", "more-1g.10gb"});
  ASSERT_EQ(o.exit_code, 0) << o;
  const Json after = Gres("n3");
  EXPECT_EQ(after["gres"], "gpu:1g.10gb:4,gpu:3g.40gb:1");
  EXPECT_TRUE(Uuids(after, "3g.40gb").contains(slice)) << "the running job's slice stayed";
  // sync waits for the job, which runs to its end on its slice.
  o = Sync("n3", [] {
    Args a = Restarts("n3");
    a.push_back("--wait");
    return a;
  }());
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["waited_for"], Json::array({job})) << o;
  EXPECT_EQ(ReadFile(out), "finished\n");
  EXPECT_NE(Slurm("scontrol", {"show", "job", job}).out.find("ExitCode=0:0"), std::string::npos);
  EXPECT_EQ(NodeField("n3", "Gres"), "gpu:1g.10gb:4,gpu:3g.40gb:1");
  EXPECT_EQ(StepUuids("n3", "1g.10gb:4"), Uuids(after, "1g.10gb"));
}

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \n");
  return begin == std::string::npos ? "" : text.substr(begin, text.find_last_not_of(" \n") - begin + 1);
}

TEST_F(SlurmSync, SlurmReshapeRecutsANodeForAPendingTypeWhileJobsElsewhereGoOn) {
  // n1 has only 1g.10gb; the 3g.40gb of n2 and n3 are taken by long jobs: a job that wants a 3g.40gb waits.
  Relayout("n1", Args(7, "1g.10gb"));
  ASSERT_EQ(Sync("n1", Restarts("n1")).exit_code, 0);
  auto state = [](const std::string& job) {
    return Trim(Slurm("squeue", {"-h", "-j", job, "-o", "%T"}).out);
  };
  std::vector<std::string> long_jobs;
  for (const char* node : {"n2", "n3"}) {
    Outcome o = Slurm("sbatch", {"--parsable", "-w", node, "--gres=gpu:3g.40gb:1", "-o", "/dev/null", "--wrap",
                                 "sleep 60"});
    ASSERT_EQ(o.exit_code, 0) << o;
    long_jobs.push_back(Trim(o.out));
  }
  for (const std::string& job : long_jobs)
    ASSERT_TRUE(WaitFor([&] { return state(job) == "RUNNING"; }, 20)) << state(job);
  const fs::path out = dir_ / "wants-3g.out";
  Outcome submitted =
      Slurm("sbatch", {"--parsable", "--gres=gpu:3g.40gb:1", "-o", out.string(), "--wrap",
                       std::string(MIGCTL_BINARY) + " exec -- sh -c 'echo $SLURMD_NODENAME $CUDA_VISIBLE_DEVICES'"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted;
  const std::string waiting = Trim(submitted.out);
  ASSERT_TRUE(WaitFor([&] { return state(waiting) == "PENDING"; }, 10)) << state(waiting);

  // Every node may run slurm reshape: n2 and n3 (busy) leave the pending type to n1 (idle: it comes first).
  for (const char* node : {"n2", "n3"}) {
    Args elsewhere = {"slurm", "reshape", "--node", node, "--root", RootOf(node), "--slurm-conf", SlurmConf()};
    for (const std::string& a : Restarts(node)) elsewhere.push_back(a);
    Outcome o = OnNode(node, elsewhere);
    ASSERT_EQ(o.exit_code, 0) << o;
    EXPECT_EQ(o.OutJson()["share"][0]["first"], "n1") << o;
    EXPECT_EQ(o.OutJson()["share"][0]["here"], 0) << o;
    EXPECT_EQ(o.OutJson()["outcome"], "not_here") << o;
    EXPECT_EQ(NodeField(node, "State"), "MIXED") << node << " was never drained";
  }

  Args reshape = {"slurm", "reshape", "--node", "n1", "--root", RootOf("n1"), "--slurm-conf", SlurmConf()};
  Args dry = reshape;
  dry.push_back("--dry-run");
  Outcome o = OnNode("n1", dry);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["pending"]["3g.40gb"], 1) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["here"], 1) << o;
  EXPECT_EQ(o.OutJson()["reshape"]["created"], 1) << o;
  EXPECT_EQ(NodeField("n1", "Gres"), "gpu:1g.10gb:7") << "a dry run changes nothing";

  for (const std::string& a : Restarts("n1")) reshape.push_back(a);
  reshape.insert(reshape.end(), {"--wait-timeout", "60"});
  o = OnNode("n1", reshape);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(NodeField("n1", "Gres"), "gpu:1g.10gb:4,gpu:3g.40gb:1") << o;  // 3 of the 1g.10gb made room
  // The waiting job runs on n1's new 3g.40gb; the long jobs on n2 and n3 were never touched.
  ASSERT_TRUE(WaitFor([&] { return state(waiting).empty(); }, 60)) << state(waiting);
  const std::string line = ReadFile(out);
  EXPECT_EQ(line.substr(0, 3), "n1 ") << line;
  EXPECT_TRUE(Uuids(Gres("n1"), "3g.40gb").contains(Trim(line.substr(3)))) << line;
  for (const std::string& job : long_jobs) {
    EXPECT_EQ(state(job), "RUNNING") << job;
    Slurm("scancel", {job});
  }
}

TEST_F(SlurmSync, SlurmReshapeLeavesWhatAnotherNodeMakesAndGivesUpWhenTheJobGoesAway) {
  // n3 holds two 3g.40gb (so that Slurm takes a job that wants two); every 3g.40gb is taken by a long job,
  // and one more job wants two.
  Relayout("n3", Args(2, "3g.40gb"));
  ASSERT_EQ(Sync("n3", Restarts("n3")).exit_code, 0);
  for (const char* node : {"n1", "n2", "n3"})  // slurmctld restarted: every node answers its ping again
    ASSERT_TRUE(WaitFor([&] { return NodeField(node, "State") == "IDLE"; }, 60)) << NodeField(node, "State");
  auto state = [](const std::string& job) { return Trim(Slurm("squeue", {"-h", "-j", job, "-o", "%T"}).out); };
  std::vector<std::string> long_jobs;
  for (const char* node : {"n1", "n2", "n3"}) {
    const std::string gres = std::string("--gres=gpu:3g.40gb:") + (node == std::string("n3") ? "2" : "1");
    Outcome o = Slurm("sbatch", {"--parsable", "-w", node, gres, "-o", "/dev/null", "--wrap", "sleep 120"});
    ASSERT_EQ(o.exit_code, 0) << o;
    long_jobs.push_back(Trim(o.out));
  }
  for (const std::string& job : long_jobs) ASSERT_TRUE(WaitFor([&] { return state(job) == "RUNNING"; }, 20));
  Outcome submitted =
      Slurm("sbatch", {"--parsable", "--gres=gpu:3g.40gb:2", "-o", "/dev/null", "--wrap", "true"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted;
  const std::string waiting = Trim(submitted.out);
  ASSERT_TRUE(WaitFor([&] { return state(waiting) == "PENDING"; }, 10)) << state(waiting);
  Args reshape = {"slurm", "reshape", "--node", "n1", "--root", RootOf("n1"), "--slurm-conf", SlurmConf()};
  for (const std::string& a : Restarts("n1")) reshape.push_back(a);
  const std::string gres_before = NodeField("n1", "Gres");

  // n2 is under way for it (as a reshape there says in its drain reason): n1 leaves it.
  ASSERT_EQ(Slurm("scontrol", {"update", "NodeName=n2", "State=DRAIN",
                               "Reason=migctl slurm sync: reshape for 3g.40gb x2"}).exit_code, 0);
  Outcome o = OnNode("n1", reshape);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["claimed_elsewhere"], 2) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["here"], 0) << o;
  EXPECT_EQ(o.OutJson()["outcome"], "not_here") << o;
  EXPECT_EQ(NodeField("n1", "State").find("DRAIN"), std::string::npos) << o;
  ASSERT_EQ(Slurm("scontrol", {"update", "NodeName=n2", "State=RESUME"}).exit_code, 0);

  auto responding = [&] {  // a node that misses a ping is not usable until it answers again
    for (const char* n : {"n1", "n2", "n3"})
      if (!WaitFor([&] { return NodeField(n, "State").find("NOT_RESPONDING") == std::string::npos; }, 30))
        return false;
    return true;
  };
  // Bad input changes nothing: a node slurmctld does not know; a node someone else drained is left be (and
  // the work goes to the next node).
  Args unknown = reshape;
  unknown[3] = "n9";
  o = OnNode("n1", unknown);
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
  EXPECT_NE(o.err.find("slurmctld does not know node n9"), std::string::npos) << o;
  ASSERT_EQ(Slurm("scontrol", {"update", "NodeName=n1", "State=DRAIN", "Reason=disk failing"}).exit_code, 0);
  Args dry = reshape;
  dry.push_back("--dry-run");
  ASSERT_TRUE(responding());
  o = OnNode("n1", dry);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["outcome"], "not_here") << o;
  EXPECT_EQ(o.OutJson()["share"][0]["here"], 0) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["first"], "n2") << o;
  EXPECT_EQ(NodeField("n1", "Reason"), "disk") << "still the admin's drain";
  ASSERT_EQ(Slurm("scontrol", {"update", "NodeName=n1", "State=RESUME"}).exit_code, 0);
  EXPECT_EQ(NodeField("n1", "Gres"), gres_before);

  // n1 comes first, but a job that has waited longer than --takeover-after (from squeue's submit time) is
  // served by the next node too: n2 would re-cut for it.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  ASSERT_TRUE(responding());
  Args takeover = {"slurm", "reshape", "--node", "n2", "--root", RootOf("n2"), "--slurm-conf", SlurmConf(),
                   "--dry-run", "--takeover-after", "1"};
  o = OnNode("n2", takeover);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["first"], "n1") << o;
  EXPECT_EQ(o.OutJson()["share"][0]["here"], 2) << o;
  EXPECT_EQ(o.OutJson()["share"][0]["takeover"], 2) << o;
  EXPECT_EQ(o.OutJson()["outcome"], "would_recut") << o;
  takeover.back() = "3600";
  EXPECT_EQ(OnNode("n2", takeover).OutJson()["outcome"], "not_here");

  // Now n1 comes first (all busy, then by name): it would turn its four 1g.10gb into a second 3g.40gb, so it
  // drains with its claim (both 3g.40gb) and waits for its long job. The pending job is cancelled meanwhile:
  // n1 gives up, resumed unchanged, its long job untouched.
  Args full = {"--sim", SimOf("n1"), "--json"};
  full.insert(full.end(), reshape.begin(), reshape.end());
  Child pass = Start(MIGCTL_BINARY, full);
  if (!WaitFor([&] { return NodeField("n1", "Reason") == "migctl"; }, 20)) FAIL() << pass.Wait();
  EXPECT_NE(Slurm("scontrol", {"show", "node", "-o", "n1"}).out.find("Reason=migctl slurm sync: reshape for "
                                                                        "3g.40gb x2"),
            std::string::npos);
  ASSERT_EQ(Slurm("scancel", {waiting}).exit_code, 0);
  o = pass.Wait();
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(o.OutJson()["outcome"], "no_longer_needed") << o;
  EXPECT_TRUE(o.OutJson()["reshape"].is_null()) << o;
  EXPECT_EQ(NodeField("n1", "State").find("DRAIN"), std::string::npos) << "resumed";
  EXPECT_EQ(NodeField("n1", "Gres"), gres_before);
  for (const std::string& job : long_jobs) {
    EXPECT_EQ(state(job), "RUNNING") << job;
    Slurm("scancel", {job});
  }
}

}  // namespace
