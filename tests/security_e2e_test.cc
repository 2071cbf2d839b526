// End-to-end attacks on migctl running as root: an unprivileged user (nobody, through setpriv) plants links
// and files where migctl writes or runs things, then migctl runs for real. Each test asserts that a
// root-owned 0600 victim file stays byte- and mode-identical and that migctl refused in one line naming the
// path (or wrote safely elsewhere). Without root the attacks cannot be staged: the tests skip.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <random>
#include <thread>

#include "e2e_harness.h"

namespace {

constexpr uid_t kNobody = 65534;

class SecurityE2e : public E2e {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the attacks need root to run migctl and nobody to plant files";
    if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "setpriv (util-linux) is needed to act as nobody";
    E2e::SetUp();
    fs::permissions(dir_, fs::perms(0755));  // nobody must reach the shared directory below
    victim_ = (dir_ / "victim").string();
    WriteFile(victim_, "root:$6$secret:19000:0:99999:7:::\n");
    fs::permissions(victim_, fs::perms(0600));
    shared_ = (dir_ / "shared").string();
    fs::create_directory(shared_);
    fs::permissions(shared_, fs::perms(01777));  // like /tmp
  }
  void TearDown() override {
    if (!victim_.empty()) {
      EXPECT_EQ(ReadFile(victim_), "root:$6$secret:19000:0:99999:7:::\n") << "the victim was written";
      struct stat st {};
      EXPECT_EQ(::stat(victim_.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 07777, 0600u) << "the victim's mode changed";
      EXPECT_EQ(st.st_uid, 0u);
    }
    E2e::TearDown();
  }
  /// Runs `args` as nobody (no groups); the command must succeed.
  void AsNobody(const Args& args) {
    Args full = {"--reuid=65534", "--regid=65534", "--clear-groups", "--"};
    full.insert(full.end(), args.begin(), args.end());
    Outcome o = Start("/usr/bin/setpriv", full).Wait();
    ASSERT_EQ(o.exit_code, kExitOk) << o;
  }
  void PlantLink(const std::string& link) { AsNobody({"/bin/ln", "-s", victim_, link}); }
  std::vector<std::string> MigUuids() {
    std::vector<std::string> out;
    for (const Json& inst : Instances(0))
      if (inst.contains("uuid") && inst["uuid"].is_string()) out.push_back(inst["uuid"]);
    return out;
  }

  std::string victim_;
  std::string shared_;
};

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(SecurityE2e, LeaseSymlinkToRootFileIsRefused) {
  // The old shared lease directory: anyone could plant MIG-<uuid>.lock -> /etc/shadow, which root then
  // made 0666 and overwrote with a pid.
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "1g.10gb"});
  const std::vector<std::string> uuids = MigUuids();
  ASSERT_EQ(uuids.size(), 1u);
  PlantLink(shared_ + "/" + uuids[0] + ".lock");
  Outcome o = Migctl({"run", "--", "true"}, {{"MIGCTL_LEASE_DIR", shared_}});
  ExpectOneLineError(o, kExitUsage, {shared_, "writable by others", "MIGCTL_LEASE_DIR"});

  // A lease directory that nobody made first (the old /tmp/migctl-leases squat).
  const std::string squat = shared_ + "/leases";
  AsNobody({"/bin/mkdir", "-m", "0777", squat});
  PlantLink(squat + "/" + uuids[0] + ".lock");
  o = Migctl({"run", "--", "true"}, {{"MIGCTL_LEASE_DIR", squat}});
  ExpectOneLineError(o, kExitUsage, {squat, "owned by uid 65534", "MIGCTL_LEASE_DIR"});
  EXPECT_TRUE(fs::is_symlink(squat + "/" + uuids[0] + ".lock"));

  // The default beside the machine is private to root and the run works.
  o = Migctl({"run", "--", "true"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_EQ(ModeOf(state_ + ".migctl/leases"), 0700u);
  EXPECT_EQ(ModeOf(state_ + ".migctl/leases/" + uuids[0] + ".lock"), 0600u);
}

TEST_F(SecurityE2e, CheckpointOutputThroughPlantedTempSymlinkIsSafe) {
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "1g.10gb"});
  // The old writer opened OUT.tmp.<pid>, following links: nobody plants one for every pid that comes next.
  const std::string out = shared_ + "/saved.json";
  const int last = std::atoi(ReadFile("/proc/sys/kernel/ns_last_pid").c_str());
  std::string script = "for p in $(seq " + std::to_string(last) + " " + std::to_string(last + 400) +
                       "); do ln -s " + victim_ + " " + out + ".tmp.$p; done";
  AsNobody({"/bin/sh", "-c", script});
  Outcome o = Migctl({"checkpoint", "-o", out});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out)));
  EXPECT_EQ(ModeOf(out), 0644u);
  EXPECT_NE(ReadFile(out).find("\"gpus\""), std::string::npos);

  // A link at the output itself is refused, not followed.
  const std::string linked = shared_ + "/linked.json";
  PlantLink(linked);
  o = Migctl({"checkpoint", "-o", linked});
  ExpectOneLineError(o, kExitUsage, {linked, "symbolic link"});
  EXPECT_TRUE(fs::is_symlink(linked));
}

TEST_F(SecurityE2e, ResultsAndLogsDoNotFollowPlantedSymlinks) {
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "1g.10gb"});
  const std::string results = shared_ + "/results.jsonl";
  PlantLink(results);
  Outcome o = Migctl({"run", "--results", results, "--", "true"});
  ExpectOneLineError(o, kExitUsage, {results, "symbolic link"});

  // A hard link would do too where protected_hardlinks is off; a file of nobody's is refused either way.
  const std::string theirs = shared_ + "/theirs.jsonl";
  AsNobody({"/bin/sh", "-c", "echo > " + theirs});
  o = Migctl({"run", "--results", theirs, "--", "true"});
  ExpectOneLineError(o, kExitUsage, {theirs, "belongs to uid 65534"});

  const std::string logs = shared_ + "/logs";
  AsNobody({"/bin/mkdir", "-m", "0777", logs});
  PlantLink(logs + "/task-1.log");
  o = Migctl({"run", "--logs", logs, "--", "sh", "-c", "echo written >&2"});
  EXPECT_NE(o.exit_code, kExitOk) << o;
  EXPECT_NE((o.out + o.err).find(logs + "/task-1.log is a symbolic link"), std::string::npos) << o;
  EXPECT_TRUE(fs::is_symlink(logs + "/task-1.log"));
}

TEST_F(SecurityE2e, ServiceInstallUnderUmask000WritesPrivateModes) {
  const std::string root = (dir_ / "root").string();
  fs::create_directories(root);
  const std::string config = std::string(MIGCTL_SOURCE_DIR) + "/examples/a100-80gb-x4.yaml";
  const std::string hooks = (dir_ / "hooks.yaml").string();
  WriteFile(hooks, "version: v1\nhooks:\n  apply-exit:\n  - command: /bin/true\n");
  const mode_t old = ::umask(0);
  Outcome o =
      RunRaw({"service", "install", "-f", config, "-c", "custom-config", "--hooks", hooks, "--root", root});
  ::umask(old);
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  for (const char* p : {"/etc/systemd/system/migctl-apply.service", "/etc/migctl/mig.yaml",
                        "/etc/migctl/hooks.yaml", "/etc/migctl/service.json"}) {
    if (!fs::exists(root + p)) continue;
    EXPECT_EQ(ModeOf(root + p) & 022, 0u) << p << " is writable by others";
    EXPECT_EQ(ModeOf(root + p), 0644u) << p;
  }
  EXPECT_EQ(ModeOf(root + "/etc/systemd/system/migctl-apply.service"), 0644u);
  EXPECT_EQ(ModeOf(root + "/etc/migctl/mig.yaml"), 0644u);
  EXPECT_EQ(ModeOf(root + "/etc/migctl/hooks.yaml"), 0644u);
  for (const char* d : {"/etc/migctl", "/etc/systemd/system"}) EXPECT_EQ(ModeOf(root + d) & 022, 0u) << d;
}

TEST_F(SecurityE2e, HooksWritableByOthersAreRefusedAsRoot) {
  InitMachine("a100-80gb:1");
  const std::string marker = (dir_ / "hook-ran").string();
  const std::string layout = (dir_ / "m.yaml").string();
  WriteFile(layout,
            "version: v1\nmig-configs:\n  x:\n    - devices: all\n      mig-enabled: true\n"
            "      mig-devices: {\"7g.80gb\": 1}\n");
  const std::string before = ReadFile(state_);

  // A hooks file anyone can edit.
  const std::string hooks = shared_ + "/hooks.yaml";
  WriteFile(hooks, "version: v1\nhooks:\n  apply-start:\n  - command: /bin/sh\n    args: [-c, 'touch " +
                       marker + "']\n");
  fs::permissions(hooks, fs::perms(0666));
  Outcome o = Migctl({"apply", "-f", layout, "-c", "x", "--hooks", hooks});
  ExpectOneLineError(o, kExitUsage, {"hooks file " + hooks, "everyone (mode 0666)", "chmod go-w"});

  // A root-owned hooks file whose script lives in a directory of nobody's.
  const std::string theirs = shared_ + "/theirs";
  AsNobody({"/bin/mkdir", "-m", "0755", theirs});
  AsNobody({"/bin/sh", "-c",
            "printf '#!/bin/sh\\ntouch " + marker + "\\n' > " + theirs + "/hook.sh && chmod 755 " + theirs +
                "/hook.sh"});
  const std::string safe_hooks = (dir_ / "hooks.yaml").string();
  WriteFile(safe_hooks, "version: v1\nhooks:\n  apply-start:\n  - command: " + theirs + "/hook.sh\n");
  o = Migctl({"apply", "-f", layout, "-c", "x", "--hooks", safe_hooks});
  ExpectOneLineError(o, kExitUsage, {theirs, "uid 65534 (its owner)", "chown root"});

  EXPECT_FALSE(fs::exists(marker)) << "a hook ran";
  EXPECT_EQ(ReadFile(state_), before) << "the apply changed the machine";
}

TEST_F(SecurityE2e, RunShareMpsRefusesForeignParentDir) {
  InitMachine("h100-80gb:1");
  // `run --share mps` keeps its daemon under STATE.migctl/mps; nobody got there first.
  const std::string run_dir = state_ + ".migctl";
  fs::create_directories(run_dir);
  fs::permissions(run_dir, fs::perms(0755));
  ASSERT_EQ(::mkdir((run_dir + "/mps").c_str(), 0755), 0);
  ASSERT_EQ(::chown((run_dir + "/mps").c_str(), kNobody, kNobody), 0);
  const Env env = {{"MIGCTL_MPS_CONTROL", MIGCTL_SOURCE_DIR "/tests/fixtures/fake-mps-control"}};
  Outcome o = Migctl({"run", "--share", "mps", "--", "true"}, env);
  ExpectOneLineError(o, kExitUsage, {run_dir + "/mps", "owned by uid 65534"});
  EXPECT_TRUE(fs::is_empty(run_dir + "/mps")) << "nothing may be created in another user's directory";

  // `mps start` refuses the same directory in the same words.
  o = Migctl({"mps", "start"},
             {{"MIGCTL_MPS_CONTROL", env.at("MIGCTL_MPS_CONTROL")}, {"MIGCTL_MPS_DIR", run_dir + "/mps"}});
  ExpectOneLineError(o, kExitUsage, {run_dir + "/mps", "owned by uid 65534"});
}

TEST_F(SecurityE2e, SigkillLeavesNoTempFiles) {
  InitMigMachine("h100-80gb:1");
  MustJson({"create", "-i", "0", "1g.10gb"});
  const std::string out = shared_ + "/saved.json";
  std::mt19937 random(7);
  for (int i = 0; i < 20; ++i) {
    Child c = StartMigctl({"checkpoint", "-o", out});
    std::this_thread::sleep_for(std::chrono::microseconds(random() % 40000));
    ::kill(c.pid(), SIGKILL);
    c.Wait();
  }
  for (const auto& entry : fs::directory_iterator(shared_))
    EXPECT_EQ(entry.path().filename(), "saved.json") << "left behind: " << entry.path();
}

TEST_F(SecurityE2e, ReadingDevZeroIsOneLineError) {
  InitMachine("h100-80gb:1");
  Outcome o = Migctl({"restore", "/dev/zero"});
  ExpectOneLineError(o, kExitUsage, {"/dev/zero is larger than 64 MiB"});
  o = Migctl({"restore", shared_});
  ExpectOneLineError(o, kExitUsage, {shared_ + " is a directory, not a file"});
  o = Migctl({"restore", shared_ + "/missing"});
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
}

}  // namespace
