// End to end: every command that changes GPUs goes through the one conductor (reconcile/conductor.h): the
// host lock, journals that only undo their own command, an unreadable journal entry that blocks its GPU only,
// mig-parted's hook order, and counts of MIG devices as users count them.
#include <sys/file.h>

#include <chrono>
#include <thread>

#include "e2e_harness.h"

namespace {

class Conductor : public E2e {
 protected:
  std::string RunDir() const { return state_ + ".migctl"; }
  std::string Uuid(int gpu) { return Status()["gpus"][gpu]["uuid"]; }
  std::string EntryPath(int gpu) { return RunDir() + "/gpu-" + Uuid(gpu) + ".json"; }
  Json Checkpoint() { return MustJson({"checkpoint"}); }
  std::string Config(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    WriteFile(path, text);
    return path;
  }
  /// Holds the host lock as another migctl would, until destroyed.
  struct HeldLock {
    explicit HeldLock(const std::string& run_dir) {
      fs::create_directories(run_dir);
      fd = ::open((run_dir + "/apply.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      EXPECT_GE(fd, 0);
      EXPECT_EQ(::flock(fd, LOCK_EX), 0);
    }
    ~HeldLock() { ::close(fd); }
    int fd = -1;
  };
};

bool Running(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == 0;
}

TEST_F(Conductor, DestroyModeResetAndCreateWaitForTheHostLock) {
  // The regression: `destroy --all` during a slow apply took no lock, and the apply ended in neither layout.
  InitMachine("a100-80gb:2");
  MustJson({"mode", "enable", "-i", "0"});
  MustJson({"reset", "-i", "0"});
  MustJson({"create", "-i", "0", "3g.40gb"});
  const std::vector<Args> commands = {{"destroy", "-i", "0", "--all"},
                                      {"mode", "enable", "-i", "1"},
                                      {"reset", "-i", "0"},
                                      {"create", "-i", "0", "1g.10gb"}};
  for (const Args& command : commands) {
    const std::string before = ReadFile(state_);
    std::optional<HeldLock> held;
    held.emplace(RunDir());
    Child child = StartMigctl(command);
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    EXPECT_TRUE(Running(child.pid())) << command[0] << " did not wait for the lock";
    EXPECT_EQ(ReadFile(state_), before)
        << command[0] << " changed the GPU while another migctl held the lock";
    held.reset();
    Outcome o = child.Wait();
    EXPECT_EQ(o.exit_code, kExitOk) << command[0] << "\n" << o;
  }
  EXPECT_EQ(Instances(0).size(), 1u) << "destroyed the 3g.40gb, then created one 1g.10gb";
}

TEST_F(Conductor, EveryChangingCommandGivesUpAfterItsLockTimeoutChangingNothing) {
  InitMigMachine("a100-80gb:1");
  MustJson({"create", "-i", "0", "3g.40gb"});
  const std::string before = ReadFile(state_);
  HeldLock held(RunDir());
  for (const Args& command : std::vector<Args>{{"destroy", "-i", "0", "--all"},
                                               {"mode", "disable", "-i", "0"},
                                               {"reset", "-i", "0"},
                                               {"create", "-i", "0", "1g.10gb"}}) {
    Args impatient = command;
    impatient.insert(impatient.end(), {"--lock-timeout", "0.2"});
    ExpectOneLineError(Migctl(impatient), kExitFailed, {"another migctl", "lock"});
    EXPECT_EQ(ReadFile(state_), before) << command[0];
  }
}

TEST_F(Conductor, DestroyDuringASlowApplyWaitsAndBothEndInAKnownLayout) {
  InitMachine("a100-80gb:1");
  MustJson({"mode", "enable", "-i", "0"});
  MustJson({"reset", "-i", "0"});
  const std::string file = Config("m.yaml",
                                  "version: v1\nmig-configs:\n  seven:\n    - devices: all\n"
                                  "      mig-enabled: true\n      mig-devices: {\"1g.10gb\": 7}\n");
  Child apply = StartMigctl({"apply", "-f", file, "-c", "seven"},
                            {{"MIGSIM_LATENCY", "nvmlDeviceCreateGpuInstanceWithPlacement=100ms"}});
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  Outcome destroyed = Migctl({"destroy", "-i", "0", "--all"});
  Outcome applied = apply.Wait();
  EXPECT_EQ(applied.exit_code, kExitOk) << applied;
  EXPECT_EQ(destroyed.exit_code, kExitOk) << destroyed;
  EXPECT_EQ(destroyed.OutJson()["gpus"][0]["destroyed"].size(), 14u)
      << "destroy ran after the apply, on all 7";
  EXPECT_TRUE(Instances(0).empty());
}

TEST_F(Conductor, AKilledCreatesJournalIsSetAsideAndNeverRolledBackTo) {
  // The regression: a journal left by a killed `create` survived a later `destroy`; a later failing create
  // "put GPU 0 back as it was" by re-creating the instance the user had destroyed.
  InitMachine("a100-80gb:1");
  MustJson({"mode", "enable", "-i", "0"});
  MustJson({"reset", "-i", "0"});
  MustJson({"create", "-i", "0", "3g.40gb"});
  Outcome killed = Migctl({"create", "-i", "0", "1g.10gb"},
                          {{"MIGSIM_FAULTS", "nvmlGpuInstanceCreateComputeInstanceWithPlacement@1=CRASH"}});
  ASSERT_NE(killed.exit_code, kExitOk);
  ASSERT_TRUE(fs::exists(EntryPath(0))) << "a killed create leaves its journal entry";
  const Json left = Json::parse(ReadFile(EntryPath(0)));
  ASSERT_EQ(left["gpus"][0]["gpu_instances"].size(), 1u) << "the entry holds the state before: the 3g.40gb";

  Outcome destroyed = Migctl({"destroy", "-i", "0", "--all"});
  ASSERT_EQ(destroyed.exit_code, kExitOk) << destroyed;
  EXPECT_NE(destroyed.err.find("interrupted"), std::string::npos) << destroyed;
  EXPECT_FALSE(fs::exists(EntryPath(0)));
  const std::string kept = RunDir() + "/interrupted-" + std::to_string(left["journal"]["pid"].get<int>()) +
                           "-gpu-" + Uuid(0) + ".json";
  EXPECT_TRUE(fs::exists(kept)) << "the interrupted state stays restorable";
  EXPECT_NE(destroyed.err.find(kept), std::string::npos) << destroyed;
  ASSERT_TRUE(Instances(0).empty());

  const Json before = Checkpoint();
  Outcome failed = Migctl({"create", "-i", "0", "2g.20gb"},
                          {{"MIGSIM_FAULTS", "nvmlGpuInstanceCreateComputeInstanceWithPlacement@1=UNKNOWN"}});
  EXPECT_EQ(failed.exit_code, kExitFailed) << failed;
  EXPECT_NE(failed.err.find("put back as this command found it"), std::string::npos) << failed;
  EXPECT_EQ(Checkpoint(), before) << "the failing create went back to its own before, not the killed one's";
  EXPECT_TRUE(Instances(0).empty());
  // And the kept state is a checkpoint: restore puts back what the killed create started from.
  Outcome restored = Migctl({"restore", kept});
  ASSERT_EQ(restored.exit_code, kExitOk) << restored;
  ASSERT_EQ(Instances(0).size(), 1u);
  EXPECT_EQ(Instances(0)[0]["profile"], "3g.40gb");
}

TEST_F(Conductor, AnUnreadableJournalEntryBlocksOnlyItsGpuAndSaysHowToClearIt) {
  InitMigMachine("a100-80gb:2");
  fs::create_directories(RunDir());
  const std::string bad = EntryPath(0);
  WriteFile(bad, "{ this is not json");
  WriteFile(RunDir() + "/notes.txt", "a stray file is no entry");
  WriteFile(RunDir() + "/gpu-GPU-00000000-0000-0000-0000-000000000000.json", "garbage for a GPU not here");
  const std::string before = ReadFile(state_);
  Outcome blocked = Migctl({"create", "-i", "0", "1g.10gb"});
  ExpectOneLineError(blocked, kExitFailed, {"GPU 0", bad, "delete"});
  EXPECT_EQ(ReadFile(state_), before);
  Outcome other = Migctl({"create", "-i", "1", "1g.10gb"});
  EXPECT_EQ(other.exit_code, kExitOk) << other;
  const std::string file = Config("m.yaml",
                                  "version: v1\nmig-configs:\n  one:\n    - devices: [1]\n"
                                  "      mig-enabled: true\n      mig-devices: {\"2g.20gb\": 1}\n");
  Outcome applied = Migctl({"apply", "-f", file, "-c", "one"});
  EXPECT_EQ(applied.exit_code, kExitOk) << "an apply that selects GPU 1 only is not blocked\n" << applied;
  fs::remove(bad);
  EXPECT_EQ(Migctl({"create", "-i", "0", "1g.10gb"}).exit_code, kExitOk) << "cleared as the message said";
}

TEST_F(Conductor, PreApplyConfigDoesNotRunWhenOnlyTheModeChanges) {
  InitMigMachine("a100-80gb:1");
  MustJson({"create", "-i", "0", "3g.40gb"});
  const std::string log = (dir_ / "hooks.log").string();
  std::string hooks = "version: v1\nhooks:\n";
  for (const char* point : {"apply-start", "pre-apply-mode", "pre-apply-config", "apply-exit"})
    hooks += std::string("  ") + point + ":\n    - command: sh\n      args: [\"-c\", \"echo " + point +
             " >> " + log + "\"]\n";
  const std::string hooks_file = Config("hooks.yaml", hooks);
  const std::string file = Config("off.yaml",
                                  "version: v1\nmig-configs:\n  all-disabled:\n    - devices: all\n"
                                  "      mig-enabled: false\n");
  Outcome o = Migctl({"apply", "-f", file, "-c", "all-disabled", "--hooks", hooks_file});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(ReadFile(log), "apply-start\npre-apply-mode\napply-exit\n")
      << "as mig-parted: no pre-apply-config";
}

TEST_F(Conductor, ApplyCountsMigDevicesNotGpuAndComputeInstances) {
  // The regression: "created 14" for 7 MIG devices.
  InitMigMachine("a100-80gb:1");
  const std::string file = Config("m.yaml",
                                  "version: v1\nmig-configs:\n  seven:\n    - devices: all\n"
                                  "      mig-enabled: true\n      mig-devices: {\"1g.10gb\": 7}\n");
  Outcome text = RunRaw({"--sim", state_, "apply", "-f", file, "-c", "seven", "--dry-run"});
  ASSERT_EQ(text.exit_code, kExitOk) << text;
  EXPECT_NE(text.out.find("create 7 ("), std::string::npos) << text;
  Json applied = MustJson({"apply", "-f", file, "-c", "seven"});
  EXPECT_EQ(applied["gpus"][0]["created"], 7);
  EXPECT_EQ(applied["gpus"][0]["instances"]["created"], 14)
      << "GPU and compute instances, for those who count them";
}

}  // namespace
