// `migctl slurm gres`, `migctl exec` and `migctl slurm task-prolog` against a real Slurm on loopback (Debian's
// slurmctld, slurmd and munge; tests/slurm/cluster.sh): three simulated nodes with different layouts.
#include "slurm_harness.h"

namespace {

class SlurmExec : public SlurmE2e {
 protected:
  static void SetUpTestSuite() {
    StartCluster({
        {"n1", "h100-80gb:1", {{"mode", "enable", "-i", "0"}, {"create", "-i", "0", "1g.10gb", "1g.10gb", "3g.40gb"}}},
        {"n2", "h100-80gb:2",
         {{"mode", "enable", "-i", "0,1"},
          {"create", "-i", "1", "2g.20gb", "1g.10gb"},
          {"create", "-i", "0", "3g.40gb", "1g.10gb", "1g.20gb"}}},
        {"n3", "a100-80gb:1", {{"mode", "enable", "-i", "0"}, {"reset", "-i", "0"}, {"create", "-i", "0", "7g.80gb"}}},
    });
  }
  static void TearDownTestSuite() { StopCluster(); }

  /// `slurm gres --json` of `node`.
  Json Gres(const std::string& node) {
    Outcome o = OnNode(node, {"slurm", "gres", "--node", node, "--root", RootOf(node)});
    EXPECT_EQ(o.exit_code, 0) << o;
    return o.OutJson();
  }

  /// n3's one type: an A100-80GB 7g.80gb has 80 640 MiB, which Slurm's rounding names 7g.79gb.
  std::string Whole7g() { return Gres("n3")["devices"][0]["type"]; }

  /// Runs `script` through `srun -w NODE --gres=gpu:TYPE:N migctl exec -- sh -c SCRIPT`.
  Outcome Step(const std::string& node, const std::string& gres, const std::string& script) {
    return Slurm("srun", {"-w", node, "--gres=gpu:" + gres, MIGCTL_BINARY, "exec", "--", "sh", "-c", script});
  }
};

TEST_F(SlurmExec, GresConfIsWhatSlurmdReadsInTheSameOrder) {
  for (const std::string node : {"n1", "n2", "n3"}) {
    SCOPED_TRACE(node);
    Json gres = Gres(node);
    // slurmd -G parses gres.conf as the daemon does and prints each GPU in its index order with its files.
    Outcome g = Run("/usr/sbin/slurmd", {"-G", "-f", SlurmConf(), "-N", node});
    ASSERT_EQ(g.exit_code, 0) << g;
    std::vector<std::string> files;
    for (const std::string& line : Lines(g.out + g.err)) {
      const size_t at = line.find(" File=");
      if (line.find("Gres Name=gpu") == std::string::npos || at == std::string::npos) continue;
      files.push_back(line.substr(at + 6, line.find(' ', at + 6) - at - 6));
    }
    ASSERT_EQ(files.size(), gres["devices"].size()) << g;
    for (size_t i = 0; i < files.size(); ++i) {
      std::string joined;
      for (const Json& f : gres["devices"][i]["files"]) joined += (joined.empty() ? "" : ",") + f.get<std::string>();
      EXPECT_EQ(files[i], joined) << "index " << i;
    }
    // And slurmctld took the node's Gres= as written.
    Outcome info = Slurm("sinfo", {"-h", "-N", "-n", node, "-o", "%G"});
    EXPECT_EQ(Lines(info.out).at(0), gres["gres"].get<std::string>());
  }
}

TEST_F(SlurmExec, EveryStepSeesTheMigDeviceBehindItsSlurmIndex) {
  struct Case {
    std::string node, gres;
  };
  for (const Case& c : {Case{"n1", "3g.40gb:1"}, Case{"n1", "1g.10gb:2"}, Case{"n2", "2g.20gb:1"},
                        Case{"n2", "1g.20gb:1"}, Case{"n2", "1g.10gb:2"}, Case{"n3", Whole7g() + ":1"}}) {
    SCOPED_TRACE(c.node + " " + c.gres);
    Json gres = Gres(c.node);
    Outcome o = Step(c.node, c.gres, "echo \"$SLURM_STEP_GPUS $CUDA_VISIBLE_DEVICES $MIGCTL_PROFILE\"");
    ASSERT_EQ(o.exit_code, 0) << o;
    std::istringstream words(Lines(o.out).at(0));
    std::string indexes, visible, profile;
    words >> indexes >> visible >> profile;
    std::string want;
    std::istringstream list(indexes);
    for (std::string i; std::getline(list, i, ',');) {
      const Json& d = gres["devices"][std::stoi(i)];
      EXPECT_EQ(d["type"], c.gres.substr(0, c.gres.find(':')));
      want += (want.empty() ? "" : ",") + d["uuid"].get<std::string>();
    }
    EXPECT_EQ(visible, want);
    EXPECT_TRUE(visible.starts_with("MIG-")) << visible;
  }
}

TEST_F(SlurmExec, BatchStepUsesTheJobsGpusAndKeepsTheExitStatus) {
  const fs::path out = dir_ / "batch.out";
  Outcome o = Slurm("sbatch", {"--parsable", "-w", "n2", "--gres=gpu:3g.40gb:1", "-o", out.string(), "--wrap",
                               std::string(MIGCTL_BINARY) +
                                   " exec -- sh -c 'echo \"$SLURM_JOB_GPUS $CUDA_VISIBLE_DEVICES\"; exit 3'"});
  ASSERT_EQ(o.exit_code, 0) << o;
  const std::string job = Lines(o.out).at(0);
  ASSERT_TRUE(WaitFor([&] { return Slurm("squeue", {"-h", "-j", job}).out.empty(); }, 30));
  Json gres = Gres("n2");
  std::istringstream words(ReadFile(out));
  std::string index, visible;
  words >> index >> visible;
  EXPECT_EQ(visible, gres["devices"][std::stoi(index)]["uuid"]);
  EXPECT_NE(Slurm("scontrol", {"show", "job", job}).out.find("ExitCode=3:0"), std::string::npos);
}

TEST_F(SlurmExec, TaskPrologExportsTheSameUuids) {
  Json gres = Gres("n1");
  Outcome o = Slurm("srun", {"-w", "n1", "--gres=gpu:3g.40gb:1", MIGCTL_BINARY, "slurm", "task-prolog"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("export CUDA_VISIBLE_DEVICES=" + gres["devices"][2]["uuid"].get<std::string>() + "\n"),
            std::string::npos)
      << o;
  // Outside a job: nothing.
  Outcome outside = OnNode("n1", {"slurm", "task-prolog"});
  EXPECT_EQ(outside.exit_code, 0);
  EXPECT_EQ(outside.out, "");
}

TEST_F(SlurmExec, DisagreementsAreRefusedInOneLineAndRunNothing) {
  const fs::path marker = dir_ / "ran";
  const std::string touch = "touch " + marker.string();
  // A map whose UUID is not on the node.
  const fs::path map = dir_ / "map";
  WriteFile(map, "0 MIG-00000000-0000-5000-8000-000000000000 1g.10gb\n1 MIG-x 1g.10gb\n2 MIG-y 3g.40gb\n");
  Outcome o = Slurm("srun", {"-w", "n1", "--gres=gpu:1g.10gb:1", MIGCTL_BINARY, "exec", "--map", map.string(), "--",
                             "sh", "-c", touch});
  EXPECT_NE(o.exit_code, 0) << o;
  EXPECT_NE(o.err.find("migctl: " + map.string() + " says Slurm's GPU 0 is MIG-00000000"), std::string::npos) << o;
  EXPECT_NE(o.err.find("slurm sync"), std::string::npos) << o;
  // An index the node does not have (Slurm's configuration older than the layout).
  o = OnNode("n3", {"exec", "--", "sh", "-c", touch}, {{"SLURM_JOB_ID", "1"}, {"SLURM_STEP_GPUS", "4"}});
  ExpectOneLineError(o, kExitUsage, {"SLURM_STEP_GPUS=4", "this node has 1 (gpu:" + Whole7g() + ":1)", "slurm sync"});
  // Not in a job; a malformed variable.
  ExpectOneLineError(OnNode("n3", {"exec", "--", "true"}), kExitUsage, {"not inside a Slurm job"});
  ExpectOneLineError(OnNode("n3", {"exec", "--", "true"}, {{"SLURM_JOB_ID", "1"}, {"SLURM_STEP_GPUS", "0;1"}}),
                     kExitUsage, {"SLURM_STEP_GPUS=0;1"});
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(SlurmExec, ASliceHeldByALocalTaskIsNotRunOnTwice) {
  // A local `migctl run` holds n3's only slice; a step Slurm puts there must refuse, not share it.
  Child local = Start(MIGCTL_BINARY, {"--sim", SimOf("n3"), "run", "--", "sleep", "3.0417"});
  const Json gres = Gres("n3");
  ASSERT_TRUE(WaitFor([&] { return Run("/usr/bin/pgrep", {"-f", "^sleep 3.0417"}).exit_code == 0; }, 10));
  Outcome o = Slurm("srun", {"-w", "n3", "--gres=gpu:" + Whole7g() + ":1", MIGCTL_BINARY, "exec", "--", "true"});
  EXPECT_NE(o.exit_code, 0) << o;
  EXPECT_NE(o.err.find(gres["devices"][0]["uuid"].get<std::string>()), std::string::npos) << o;
  EXPECT_NE(o.err.find("still holds it"), std::string::npos) << o;
  EXPECT_EQ(local.Wait().exit_code, 0);
}

TEST_F(SlurmExec, SlurmGresRefusesANodeWithoutMig) {
  const std::string state = (dir_ / "nomig.json").string();
  ASSERT_EQ(RunRaw({"sim", "init", state, "h100-80gb:1"}).exit_code, 0);
  ExpectOneLineError(RunRaw({"--sim", state, "--json", "slurm", "gres", "--root", RootOf("n1")}), kExitUsage,
                     {"no MIG device", "migctl apply"});
  ExpectOneLineError(RunRaw({"--sim", state, "--json", "slurm", "gres", "--root", (dir_ / "none").string()}),
                     kExitUsage, {"mig-minors", "migctl sim devices"});
}

}  // namespace
