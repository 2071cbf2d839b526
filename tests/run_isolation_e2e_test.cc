// End-to-end: a slice is never shared and a task never outlives its run, whatever the task does. Tasks that
// close their descriptors, double-fork into a new session, or start their work through Python's
// subprocess.Popen keep their slice until their last process ends while a second run waits; a SIGKILLed
// migctl leaves nothing running past the grace period; Ctrl-C leaves no process of any task; --ephemeral
// never removes a slice another run uses. Each over several rounds, the overlap count asserted to be zero.
#include <signal.h>

#include <chrono>
#include <thread>

#include "run_harness.h"

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr int kRounds = 3;

class RunIsolationE2e : public RunE2e {
 protected:
  /// Per round on a one-slice machine: a run whose task is `task` (its first process may end at once, its
  /// work goes on elsewhere), and, once that work has started, a second run of a plain probe on the same
  /// slice. The second must wait for the last process of the first task. Returns every interval logged.
  /// `lingers`: the task's first process returns at once, which the first run must say.
  std::vector<Interval> Compete(const std::function<Args(const fs::path& log)>& task, bool lingers) {
    const fs::path log = dir_ / "slice.log";
    for (int round = 0; round < kRounds; ++round) {
      const size_t before = ReadIntervals(log).size();
      Args first = {"run", "--"};
      for (const std::string& a : task(log)) first.push_back(a);
      Child a = StartMigctl(first);
      WaitForStarts(log, before + 1);
      Outcome b = Migctl({"run", "--", Probe(), "--log", log.string(), "--sleep-ms", "20"});
      Outcome ao = a.Wait();
      EXPECT_EQ(ao.exit_code, kExitOk) << ao;
      EXPECT_EQ(ao.err.find("its first process has ended, but processes it started still run") !=
                    std::string::npos,
                lingers)
          << ao;
      EXPECT_EQ(b.exit_code, kExitOk) << b;
      EXPECT_NE(b.err.find("waits for"), std::string::npos) << "the second run never waited:\n" << b;
      std::vector<Interval> all = ReadIntervals(log);
      EXPECT_EQ(all.size(), before + 2);
    }
    return ReadIntervals(log);
  }
};

TEST_F(RunIsolationE2e, ATaskThatClosesItsDescriptorsKeepsItsSlice) {
  MachineWith("h100-80gb:1", {"7g.80gb"});
  const std::vector<Interval> intervals = Compete([this](const fs::path& log) {
    return Args{Probe(), "--close-fds", "--log", log.string(), "--sleep-ms", "1200"};
  }, /*lingers=*/false);
  EXPECT_EQ(Overlaps(intervals), 0u);
  EXPECT_EQ(intervals.size(), 2u * kRounds);
}

TEST_F(RunIsolationE2e, ATaskThatDoubleForksIntoANewSessionKeepsItsSlice) {
  MachineWith("h100-80gb:1", {"7g.80gb"});
  const std::vector<Interval> intervals = Compete([this](const fs::path& log) {
    // 2 s: the run says a task lingers once its tree outlives the first process by 1 s, checked every 250 ms.
    return Args{Probe(), "--daemonize", "--log", log.string(), "--sleep-ms", "2000"};
  }, /*lingers=*/true);
  EXPECT_EQ(Overlaps(intervals), 0u);
  EXPECT_EQ(intervals.size(), 2u * kRounds);
}

TEST_F(RunIsolationE2e, APythonTaskThatStartsItsWorkThroughPopenKeepsItsSlice) {
  if (Start("/bin/sh", {"-c", "command -v python3"}).Wait().exit_code != 0) GTEST_SKIP() << "no python3";
  MachineWith("h100-80gb:1", {"7g.80gb"});
  const std::vector<Interval> intervals = Compete([this](const fs::path& log) {
    // The script returns at once; its child runs on in a new session with no descriptor of the parent's.
    return Args{"python3", "-c",
                "import subprocess, sys\n"
                "subprocess.Popen(sys.argv[1:], close_fds=True, start_new_session=True,\n"
                "                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)\n",
                Probe(),   "--log", log.string(), "--sleep-ms", "2500"};
  }, /*lingers=*/true);
  EXPECT_EQ(Overlaps(intervals), 0u);
  EXPECT_EQ(intervals.size(), 2u * kRounds);
}

TEST_F(RunIsolationE2e, AfterSigkillOfMigctlASecondRunNeverOverlapsAndNothingOutlivesTheGrace) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "slices.log", pids = dir_ / "pids";
  // Each task: its work in a daemonized probe, plus a process in its own session that ignores SIGTERM.
  const std::string task = Probe() + " --daemonize --log " + log.string() +
                           " --sleep-ms 30000; setsid sh -c 'trap \"\" TERM; echo $$ >> " + pids.string() +
                           "; exec sleep 60' </dev/null >/dev/null 2>&1 & wait";
  for (int round = 0; round < kRounds; ++round) {
    const size_t before = ReadIntervals(log).size();
    Child first = StartMigctl({"run", "--repeat", "2", "--grace", "0.5", "--shell", "--", task});
    WaitForStarts(log, before + 2);
    // And both tasks' SIGTERM-ignoring processes have started (they follow the probe in each task).
    const auto started = steady_clock::now();
    while (Lines(ReadFile(pids)).size() < 2u * (round + 1) && steady_clock::now() - started < std::chrono::seconds(10))
      std::this_thread::sleep_for(milliseconds(20));
    ::kill(first.pid(), SIGKILL);
    const auto killed_at = steady_clock::now();
    EXPECT_EQ(first.Wait().exit_code, 128 + SIGKILL);
    Outcome second = Migctl({"run", "--repeat", "2", "--", Probe(), "--log", log.string(), "--sleep-ms", "20"});
    EXPECT_EQ(second.exit_code, kExitOk) << second;
    // Everything the first run started is gone, the SIGTERM-ignoring ones by SIGKILL after the grace.
    for (const std::string& line : Lines(ReadFile(pids))) {
      const int pid = std::stoi(line);
      while (Alive(pid) && steady_clock::now() - killed_at < std::chrono::seconds(3))
        std::this_thread::sleep_for(milliseconds(20));
      EXPECT_FALSE(Alive(pid)) << "pid " << pid << " outlived the grace period by seconds";
    }
    for (const Interval& i : ReadIntervals(log)) EXPECT_FALSE(Alive(i.pid)) << "pid " << i.pid;
  }
  const std::vector<Interval> intervals = ReadIntervals(log);
  EXPECT_EQ(Overlaps(intervals), 0u);
  EXPECT_EQ(intervals.size(), 4u * kRounds);
  EXPECT_EQ(Lines(ReadFile(pids)).size(), 2u * kRounds);
}

TEST_F(RunIsolationE2e, CtrlCLeavesNoProcessOfAnyTask) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "slices.log", pids = dir_ / "pids";
  const std::string task = Probe() + " --daemonize --log " + log.string() +
                           " --sleep-ms 30000; setsid sh -c 'trap \"\" TERM; echo $$ >> " + pids.string() +
                           "; exec sleep 60' </dev/null >/dev/null 2>&1 & " + Probe() + " --close-fds --sleep-ms 30000";
  for (int round = 0; round < kRounds; ++round) {
    const size_t before = ReadIntervals(log).size();
    Child run = StartMigctl({"run", "--repeat", "6", "--grace", "0.3", "--shell", "--", task});
    WaitForStarts(log, before + 3);
    while (Lines(ReadFile(pids)).size() < 3u * (round + 1)) std::this_thread::sleep_for(milliseconds(20));
    ::kill(run.pid(), SIGINT);
    Outcome o = run.Wait();
    EXPECT_EQ(o.exit_code, 128 + SIGINT) << o;
    // migctl returns only once every task's tree has ended.
    for (const Interval& i : ReadIntervals(log)) EXPECT_FALSE(Alive(i.pid)) << "pid " << i.pid;
    for (const std::string& line : Lines(ReadFile(pids)))
      EXPECT_FALSE(Alive(std::stoi(line))) << "pid " << line << " survived Ctrl-C";
  }
  EXPECT_EQ(Lines(ReadFile(pids)).size(), 3u * kRounds);
}

TEST_F(RunIsolationE2e, CtrlCWhileEphemeralSlicesAreCreatedRemovesThemAndRunsNoTask) {
  InitMachine("h100-80gb:1");
  const fs::path log = dir_ / "slices.log";
  // Each GI takes 600 ms to create: the signal comes after the first exists and while the second is made.
  Child run = StartMigctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--ephemeral", "--repeat",
                           "2", "--", Probe(), "--log", log.string()},
                          {{"MIGSIM_LATENCY", "nvmlDeviceCreateGpuInstanceWithPlacement=600ms"}});
  std::this_thread::sleep_for(milliseconds(900));
  ::kill(run.pid(), SIGINT);
  Outcome o = run.Wait();
  EXPECT_EQ(o.exit_code, 128 + SIGINT) << o;
  EXPECT_NE(o.err.find("removed the 2 GPU instances this run created"), std::string::npos) << o;
  EXPECT_EQ(JsonLines(o.out).back()["summary"]["not_run"], 2) << o;
  EXPECT_TRUE(Instances(0).empty()) << o;
  EXPECT_TRUE(ReadIntervals(log).empty()) << "no task runs after Ctrl-C";
}

TEST_F(RunIsolationE2e, ASliceLeftByAKilledEphemeralRunIsRemovedByTheNextEphemeralRun) {
  InitMachine("h100-80gb:1");
  const fs::path log = dir_ / "slices.log";
  Child killed = StartMigctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--ephemeral", "--",
                              Probe(), "--log", log.string(), "--sleep-ms", "1500"});
  WaitForStarts(log, 1);
  ::kill(killed.pid(), SIGKILL);  // nothing of its own runs after this: its slices stay
  killed.Wait();
  ASSERT_EQ(Instances(0).size(), 2u);
  // Its task ends by itself (or with its keeper); until then its slice stays leased.
  const int task = ReadIntervals(log).front().pid;
  const auto idle = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < idle && ::kill(task, 0) == 0) std::this_thread::sleep_for(milliseconds(50));
  // status names them, and what removes them.
  Outcome shown = RunRaw({"--sim", state_, "status"});
  EXPECT_NE(shown.out.find("left by a killed 'run --ephemeral' (pid " + std::to_string(killed.pid()) +
                           "): the next 'run --ephemeral' removes them"),
            std::string::npos)
      << shown;
  EXPECT_EQ(Status()["gpus"][0]["instances"][0]["left_by_killed_run"], killed.pid());
  // A run without --ephemeral takes them as they are (it removes nothing it did not make).
  Outcome plain = Migctl({"run", "--profile", "3g.40gb", "--workers", "2", "--repeat", "2", "--", "true"});
  EXPECT_EQ(plain.exit_code, kExitOk) << plain;
  EXPECT_EQ(Instances(0).size(), 2u);
  // The next --ephemeral run removes them (idle now), then makes and removes its own.
  Outcome next = Migctl({"run", "--profile", "1g.10gb", "--workers", "1", "--create", "--ephemeral", "--", "true"});
  EXPECT_EQ(next.exit_code, kExitOk) << next;
  EXPECT_NE(next.err.find("removed 2 GPU instances left by a run that was killed (pid " +
                          std::to_string(killed.pid()) + ")"),
            std::string::npos)
      << next;
  EXPECT_TRUE(Instances(0).empty()) << next;
  EXPECT_EQ(RunRaw({"--sim", state_, "status"}).out.find("left by a killed"), std::string::npos);
  Outcome again = Migctl({"run", "--profile", "1g.10gb", "--workers", "1", "--create", "--ephemeral", "--", "true"});
  EXPECT_EQ(again.err.find("left by a run that was killed"), std::string::npos) << "the record is gone: " << again;
}

TEST_F(RunIsolationE2e, EphemeralNeverRemovesASliceAnotherRunUses) {
  const fs::path log = dir_ / "slices.log";
  for (int round = 0; round < kRounds; ++round) {
    fs::remove(state_);  // a fresh machine each round (sim init does not overwrite)
    InitMachine("h100-80gb:1");
    // The first run makes two 3g.40gb and uses one of them for a short task.
    Child first = StartMigctl({"run", "--profile", "3g.40gb", "--workers", "2", "--create", "--ephemeral", "--",
                               Probe(), "--log", log.string(), "--sleep-ms", "600"});
    const size_t before = ReadIntervals(log).size();
    WaitForStarts(log, before + 1);
    // The second run's long task takes the other one while the first still runs.
    Child second = StartMigctl({"run", "--profile", "3g.40gb", "--workers", "2", "--", Probe(), "--log",
                                log.string(), "--sleep-ms", "2500"});
    WaitForStarts(log, before + 2);
    Outcome a = first.Wait();
    EXPECT_EQ(a.exit_code, kExitOk) << a;
    EXPECT_NE(a.err.find("removed the 1 GPU instance"), std::string::npos) << a;
    EXPECT_NE(a.err.find("in place: another run's task uses"), std::string::npos) << a;
    EXPECT_EQ(Instances(0).size(), 1u) << "the slice in use stays";
    Outcome b = second.Wait();
    EXPECT_EQ(b.exit_code, kExitOk) << b;
    const Json result = JsonLines(b.out).front();
    EXPECT_EQ(result["status"], "ok") << b;
    EXPECT_EQ(result["output"]["found"], true) << "the device was there all along: " << b;
  }
  EXPECT_EQ(Overlaps(ReadIntervals(log)), 0u);
}

}  // namespace

namespace {

TEST_F(RunIsolationE2e, DestroyRefusesASliceARunsTaskHoldsAndChangesNothing) {
  MachineWith("h100-80gb:1", {"1g.10gb", "1g.10gb"});
  const fs::path log = dir_ / "slices.log";
  const Json before = Machine();
  Child run = StartMigctl({"run", "--workers", "1", "--", Probe(), "--log", log.string(), "--sleep-ms", "1500"});
  WaitForStarts(log, 1);
  Outcome o = Migctl({"destroy", "-i", "0", "--all"});
  EXPECT_NE(o.exit_code, kExitOk) << o;
  EXPECT_NE(o.err.find("in use by a migctl run's task"), std::string::npos) << o;
  EXPECT_EQ(Machine(), before) << "nothing was destroyed, not even the idle one";
  EXPECT_EQ(run.Wait().exit_code, kExitOk);
  EXPECT_EQ(Migctl({"destroy", "-i", "0", "--all"}).exit_code, kExitOk) << "once the task ended";
}

}  // namespace
