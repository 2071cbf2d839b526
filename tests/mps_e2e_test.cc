// End-to-end tests of `migctl mps start|status|stop`: the real migctl binary against a simulated machine,
// with tests/fixtures/fake-mps-control standing in for nvidia-cuda-mps-control (through MIGCTL_MPS_CONTROL).
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

/// True when `pid` has ended: no such process, or a zombie nobody has reaped.
bool Gone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::size_t close = stat.rfind(')');
  return stat.empty() || (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z');
}

bool ProgramInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (access((dir + "/" + name).c_str(), X_OK) == 0) return true;
  return false;
}

class MpsE2e : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    mps_dir_ = (dir_ / "mps").string();
    env_ = {{"MIGCTL_MPS_CONTROL", FAKE_MPS_CONTROL}};
  }
  void TearDown() override {
    // Whatever a test did, no daemon outlives it.
    std::string pid = ReadFile(fs::path(mps_dir_) / "pipe" / "nvidia-cuda-mps-control.pid");
    if (!pid.empty() && !Gone(std::stoi(pid))) kill(std::stoi(pid), SIGKILL);
    E2e::TearDown();
  }

  /// `migctl --sim STATE --json mps ARGS… --dir DIR` with the fake control program.
  Outcome Mps(Args args, const Env& extra = {}) {
    args.insert(args.begin(), "mps");
    args.insert(args.end(), {"--dir", mps_dir_});
    Env env = env_;
    for (const auto& [name, value] : extra) env[name] = value;
    return Migctl(args, env);
  }
  Json MpsJson(const Args& args) {
    Outcome o = Mps(args);
    EXPECT_EQ(o.exit_code, kExitOk) << o;
    return o.OutJson();
  }
  std::string GpuUuid(int index) { return Status()["gpus"][index]["uuid"]; }

  std::string mps_dir_;
  Env env_;
};

TEST_F(MpsE2e, StartStatusStopRoundTrip) {
  InitMachine("a100-80gb:2");
  Json started = MpsJson({"start", "-i", "1", "--threads", "30"});
  ASSERT_TRUE(started["pid"].is_number()) << started;
  const pid_t pid = started["pid"];
  EXPECT_FALSE(Gone(pid));
  EXPECT_EQ(started["dir"], mps_dir_);
  ASSERT_EQ(started["gpus"].size(), 1u);
  EXPECT_EQ(started["gpus"][0]["index"], 1);
  EXPECT_EQ(started["gpus"][0]["uuid"], GpuUuid(1));
  EXPECT_EQ(started["default_thread_percentage"], 30);
  EXPECT_EQ(started["env"]["CUDA_MPS_PIPE_DIRECTORY"], mps_dir_ + "/pipe");
  EXPECT_EQ(started["env"]["CUDA_MPS_LOG_DIRECTORY"], mps_dir_ + "/log");
  const std::string log = ReadFile(fs::path(mps_dir_) / "log" / "control.log");
  EXPECT_NE(log.find("CUDA_VISIBLE_DEVICES=" + GpuUuid(1) + "\n"), std::string::npos)
      << "the daemon sees exactly the chosen GPU:\n"
      << log;
  struct stat st {};
  ASSERT_EQ(stat(mps_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  Json status = MpsJson({"status"});
  EXPECT_EQ(status["running"], true) << status;
  EXPECT_EQ(status["pid"], pid);
  EXPECT_EQ(status["servers"], Json::array());
  EXPECT_EQ(status["default_thread_percentage"], 30.0) << "the daemon reports what start set";
  EXPECT_EQ(status["gpus"], Json::array({GpuUuid(1)}));
  EXPECT_EQ(status["env"], started["env"]);

  Json stopped = MpsJson({"stop"});
  EXPECT_EQ(stopped["stopped"], true);
  EXPECT_EQ(stopped["pid"], pid);
  EXPECT_TRUE(Gone(pid)) << "daemon " << pid << " still runs after stop";

  status = MpsJson({"status"});
  EXPECT_EQ(status["running"], false) << status;
  EXPECT_EQ(status["recorded"], false);
  EXPECT_TRUE(status["env"].is_null());
}

TEST_F(MpsE2e, HumanOutputTeachesTheClientEnvironment) {
  InitMachine("a100-80gb:1");
  Outcome started = RunRaw({"--sim", state_, "mps", "start", "--dir", mps_dir_}, env_);
  ASSERT_EQ(started.exit_code, kExitOk) << started;
  EXPECT_NE(started.out.find("Started the MPS control daemon (pid "), std::string::npos) << started;
  EXPECT_NE(started.out.find("  export CUDA_MPS_PIPE_DIRECTORY=" + mps_dir_ + "/pipe\n"), std::string::npos)
      << started;
  EXPECT_NE(started.out.find("  export CUDA_MPS_LOG_DIRECTORY=" + mps_dir_ + "/log\n"), std::string::npos)
      << started;
  EXPECT_NE(started.out.find("migctl mps stop --dir " + mps_dir_), std::string::npos) << started;

  Outcome status = RunRaw({"mps", "status", "--dir", mps_dir_}, env_);
  ASSERT_EQ(status.exit_code, kExitOk) << status;
  EXPECT_NE(status.out.find(": running (pid "), std::string::npos) << status;
  EXPECT_NE(status.out.find("none yet"), std::string::npos) << status;

  Outcome stopped = RunRaw({"mps", "stop", "--dir", mps_dir_}, env_);
  ASSERT_EQ(stopped.exit_code, kExitOk) << stopped;
  EXPECT_NE(stopped.out.find("Stopped the MPS control daemon (pid "), std::string::npos) << stopped;
}

TEST_F(MpsE2e, DirectoryComesFromMigctlMpsDir) {
  InitMachine("a100-80gb:1");
  Outcome started =
      Migctl({"mps", "start"}, {{"MIGCTL_MPS_CONTROL", FAKE_MPS_CONTROL}, {"MIGCTL_MPS_DIR", mps_dir_}});
  ASSERT_EQ(started.exit_code, kExitOk) << started;
  EXPECT_EQ(started.OutJson()["dir"], mps_dir_);
  EXPECT_TRUE(fs::exists(fs::path(mps_dir_) / "migctl-mps.json"));
  Outcome stopped =
      Migctl({"mps", "stop"}, {{"MIGCTL_MPS_CONTROL", FAKE_MPS_CONTROL}, {"MIGCTL_MPS_DIR", mps_dir_}});
  EXPECT_EQ(stopped.exit_code, kExitOk) << stopped;
}

TEST_F(MpsE2e, StartTwiceIsRefusedAndTheFirstDaemonStays) {
  InitMachine("a100-80gb:1");
  Json first = MpsJson({"start"});
  Outcome second = Mps({"start"});
  ExpectOneLineError(
      second, kExitFailed,
      {"already runs in " + mps_dir_, "pid " + std::to_string(first["pid"].get<int>()), "migctl mps stop"});
  EXPECT_EQ(second.OutJson()["error"]["code"], "busy");
  EXPECT_EQ(MpsJson({"status"})["pid"], first["pid"]);
  MpsJson({"stop"});
}

TEST_F(MpsE2e, StopWithoutDaemonIsAClearError) {
  InitMachine("a100-80gb:1");
  ExpectOneLineError(Mps({"stop"}), kExitUsage,
                     {"no MPS control daemon runs in " + mps_dir_, "nothing to stop"});
}

TEST_F(MpsE2e, MissingControlProgramSaysMpsIsNotAvailable) {
  InitMachine("a100-80gb:1");
  Outcome named = Mps({"start"}, {{"MIGCTL_MPS_CONTROL", (dir_ / "no-such-program").string()}});
  ExpectOneLineError(named, kExitFailed, {"MPS is not available", "no-such-program"});
  EXPECT_EQ(named.OutJson()["error"]["code"], "unsupported");
  EXPECT_FALSE(fs::exists(fs::path(mps_dir_) / "migctl-mps.json"));

  if (ProgramInPath("nvidia-cuda-mps-control")) GTEST_SKIP() << "this host has the real control program";
  Outcome unnamed = Migctl({"mps", "start", "--dir", mps_dir_});
  ExpectOneLineError(
      unnamed, kExitFailed,
      {"MPS is not available: nvidia-cuda-mps-control not found in PATH (install the CUDA toolkit"});
}

TEST_F(MpsE2e, ForeignMpsServerOnTheGpuMakesStartFailNamingItsPid) {
  InitMachine("a100-80gb:2");
  MustJson({"sim", "attach", "-i", "0", "--pid", "4321", "--name", "nvidia-cuda-mps-server"});
  Outcome refused = Mps({"start", "-i", "0"});
  ExpectOneLineError(refused, kExitFailed,
                     {"GPU 0 is already served by another MPS server (pid 4321)", "stop that daemon first"});
  EXPECT_EQ(refused.OutJson()["error"]["code"], "busy");
  EXPECT_EQ(MpsJson({"status"})["running"], false) << "nothing was started";

  Outcome all = Mps({"start"});
  ExpectOneLineError(all, kExitFailed, {"GPU 0 is already served", "pid 4321"});

  Json other = MpsJson({"start", "-i", "1"});
  EXPECT_EQ(other["gpus"][0]["index"], 1) << "the other GPU is free to serve";
  MpsJson({"stop"});
}

TEST_F(MpsE2e, ForeignMpsServerOnAMigDeviceCountsToo) {
  InitMachine("a100-80gb:1");
  EnableMig("0");
  MustJson({"create", "-i", "0", "3g.40gb"});
  Json instance = Instances(0)[0];
  MustJson({"sim", "attach", "-i", "0", "--gi", std::to_string(instance["gi"].get<int>()), "--ci",
            std::to_string(instance["ci"].get<int>()), "--pid", "5151", "--name",
            "/usr/bin/nvidia-cuda-mps-server"});
  ExpectOneLineError(Mps({"start", "-i", "0"}), kExitFailed, {"GPU 0 is already served", "pid 5151"});
}

TEST_F(MpsE2e, OrdinaryProcessesDoNotBlockStart) {
  InitMachine("a100-80gb:1");
  MustJson({"sim", "attach", "-i", "0", "--pid", "999", "--name", "python"});
  Json started = MpsJson({"start", "-i", "0"});
  EXPECT_TRUE(started["pid"].is_number());
  MpsJson({"stop"});
}

TEST_F(MpsE2e, BadFlagValuesAreUsageErrors) {
  InitMachine("a100-80gb:1");
  for (const char* threads : {"0", "101", "auto"})
    EXPECT_EQ(Mps({"start", "--threads", threads}).exit_code, kExitUsage) << threads;
  ExpectOneLineError(Mps({"start", "-i", "7"}), kExitUsage, {"7"});
  EXPECT_FALSE(fs::exists(fs::path(mps_dir_) / "migctl-mps.json"));
}

TEST_F(MpsE2e, RecordOfAnUnknownVersionIsRefused) {
  InitMachine("a100-80gb:1");
  fs::create_directories(mps_dir_);
  WriteFile(fs::path(mps_dir_) / "migctl-mps.json", R"({"format": "migctl-mps", "version": 7})");
  Outcome status = Mps({"status"});
  ExpectOneLineError(status, kExitFailed, {"migctl-mps.json", "version 7 is not known", "reads version 1"});
  EXPECT_EQ(status.OutJson()["error"]["code"], "corrupt");
}

TEST_F(MpsE2e, DaemonThatGoneAwayIsReportedAndStopCleansUp) {
  InitMachine("a100-80gb:1");
  Json started = MpsJson({"start"});
  kill(started["pid"].get<int>(), SIGKILL);
  for (int i = 0; i < 100 && !Gone(started["pid"]); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Json status = MpsJson({"status"});
  EXPECT_EQ(status["running"], false);
  EXPECT_EQ(status["recorded"], true);
  ExpectOneLineError(Mps({"stop"}), kExitUsage, {"nothing to stop", "removed the record"});
  EXPECT_EQ(MpsJson({"status"})["recorded"], false);
}

// Seen on an H200: a daemon told to quit while MPS clients run answers no one until they have finished.
TEST_F(MpsE2e, StopThatOutlastsItsTimeoutLeavesItQuittingAndASecondStopWaits) {
  InitMachine("a100-80gb:1");
  const std::string slow = (dir_ / "slow-quit").string();
  WriteFile(slow,
            std::string("#!/bin/sh\nexport FAKE_MPS_QUIT_DELAY=8\nexec ") + FAKE_MPS_CONTROL + " \"$@\"\n");
  fs::permissions(slow, fs::perms::owner_all);
  env_["MIGCTL_MPS_CONTROL"] = slow;
  Json started = MpsJson({"start"});
  Outcome busy = Mps({"stop", "--timeout", "0.3"});
  ExpectOneLineError(busy, kExitFailed, {"still runs 300 ms after it was told to quit", "once its clients"});
  Json status = MpsJson({"status"});
  EXPECT_EQ(status["running"], false);
  EXPECT_EQ(status["quitting"], true);
  EXPECT_EQ(status["pid"], started["pid"]);
  Json stopped = MpsJson({"stop"});
  EXPECT_EQ(stopped["pid"], started["pid"]);
  EXPECT_TRUE(Gone(started["pid"].get<int>()));
}

TEST_F(MpsE2e, HelpTeachesWhatAClientNeeds) {
  Outcome help = RunRaw({"mps", "--help"});
  ASSERT_EQ(help.exit_code, kExitOk) << help;
  for (const char* needle : {"CUDA_MPS_PIPE_DIRECTORY", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE",
                             "migctl mps start -i 0", "migctl mps stop", "start", "status"})
    EXPECT_NE(help.out.find(needle), std::string::npos) << needle << "\n" << help;
  Outcome start_help = RunRaw({"mps", "start", "--help"});
  EXPECT_NE(start_help.out.find("--threads"), std::string::npos) << start_help;
  EXPECT_NE(start_help.out.find("exit 1"), std::string::npos) << start_help;
}

}  // namespace
