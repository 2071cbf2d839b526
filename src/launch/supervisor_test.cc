#include "launch/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/fake_process_host.h"

namespace migctl {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

class Recorder final : public RunObserver {
 public:
  void OnStart(const Task&, const Worker&, unsigned) override { ++starts; }
  void OnResult(const TaskResult& r) override { results.push_back(r); }
  void OnOutput(const Task& t, const Worker&, std::string_view line) override {
    output[t.id] += std::string(line) + "\n";
  }
  void OnWaiting(const Worker& w, std::optional<pid_t>) override { waited.push_back(w.index); }
  void OnStopping(const std::string& why) override { stopping = why; }

  std::vector<TaskResult> Finals() const {
    std::vector<TaskResult> out;
    for (const TaskResult& r : results)
      if (r.final) out.push_back(r);
    return out;
  }
  unsigned starts = 0;
  std::vector<TaskResult> results;
  std::map<unsigned, std::string> output;
  std::vector<unsigned> waited;
  std::string stopping;
};

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / fmt_name(::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.env = {"PATH=/usr/bin:/bin"};
    options_.grace = milliseconds(200);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string fmt_name(const std::string& test) {
    return "migctl-supervisor-" + test + "-" + std::to_string(::getpid());
  }

  static Worker MakeWorker(unsigned index, const std::string& uuid, unsigned long long memory_mib) {
    Worker w;
    w.index = index;
    w.lease_key = uuid;
    w.device = uuid;
    w.gpu = GpuIndex(0);
    w.gpu_uuid = "GPU-0";
    w.profile = "1g.10gb";
    w.memory_mib = memory_mib;
    return w;
  }
  static Task Shell(unsigned id, const std::string& script) {
    Task t;
    t.id = id;
    t.command = script;
    t.argv = {"/bin/sh", "-c", script};
    return t;
  }
  /// A task that runs `program` on the fake host.
  static Task Fake(unsigned id, const std::string& program) {
    Task t;
    t.id = id;
    t.command = program;
    t.argv = {program};
    return t;
  }
  Result<RunSummary> Run(const std::vector<Worker>& workers, const std::vector<Task>& tasks) {
    LeaseTable leases((dir_ / "leases").string());
    return RunTasks(workers, tasks, leases, options_, recorder_);
  }
  Result<RunSummary> RunFake(const std::vector<Worker>& workers, const std::vector<Task>& tasks) {
    LeaseTable leases((dir_ / "leases").string());
    return RunTasks(workers, tasks, leases, options_, recorder_, host_);
  }
  /// When (after the fake clock's epoch) each attempt of task `id` started, in order.
  std::vector<milliseconds> StartsOf(unsigned id) const {
    std::vector<milliseconds> out;
    for (const FakeStart& start : host_.starts())
      if (std::find(start.env.begin(), start.env.end(), fmt::format("MIGCTL_TASK_ID={}", id)) !=
          start.env.end())
        out.push_back(std::chrono::duration_cast<milliseconds>(start.at - host_.epoch()));
    return out;
  }
  std::map<unsigned, TaskResult> FinalsByTask() const {
    std::map<unsigned, TaskResult> out;
    for (const TaskResult& r : recorder_.Finals()) out[r.task] = r;
    return out;
  }

  fs::path dir_;
  SupervisorOptions options_;
  Recorder recorder_;
  FakeProcessHost host_;
};

/// The value of `name` in a child's environment, or "".
std::string EnvOf(const ChildOptions& child, const std::string& name) {
  for (const std::string& e : child.env)
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  return "";
}

TEST_F(SupervisorTest, EachTaskSeesItsWorkersDeviceAndId) {
  std::vector<Worker> workers = {MakeWorker(0, "MIG-a", 10000), MakeWorker(1, "MIG-b", 10000)};
  std::vector<Task> tasks;
  for (unsigned i = 1; i <= 6; ++i)
    tasks.push_back(Shell(i, "echo \"$CUDA_VISIBLE_DEVICES $MIGCTL_DEVICE $MIGCTL_WORKER $MIGCTL_TASK_ID\""));
  Result<RunSummary> summary = Run(workers, tasks);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->succeeded, 6u);
  ASSERT_EQ(recorder_.Finals().size(), 6u);
  for (const TaskResult& r : recorder_.Finals()) {
    EXPECT_EQ(r.status, TaskStatus::kOk);
    const std::string expected = fmt::format("{} {} {} {}\n", r.device, r.device, r.worker, r.task);
    EXPECT_EQ(recorder_.output[r.task], expected);
  }
}

// Also a regression: a free worker that could hold none of the queued tasks made the loop poll with a 0 ms
// timeout, spinning until another worker's task ended (here the fake host reports the spin as an error).
TEST_F(SupervisorTest, RoutesTasksOnlyToDevicesThatHoldThem) {
  host_.Script("train", FakeProgram{.runs_for = 50ms});
  std::vector<Worker> workers = {MakeWorker(0, "MIG-small", 10000), MakeWorker(1, "MIG-big", 40000)};
  std::vector<Task> tasks;
  for (unsigned i = 1; i <= 4; ++i) {
    tasks.push_back(Fake(i, "train"));
    tasks.back().needs.memory_mib = 20000;
  }
  tasks.push_back(Fake(5, "train"));
  Result<RunSummary> summary = RunFake(workers, tasks);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  std::map<unsigned, TaskResult> results = FinalsByTask();
  for (unsigned i = 1; i <= 4; ++i) {
    EXPECT_EQ(results[i].device, "MIG-big") << "task " << i;
    EXPECT_EQ(StartsOf(i), std::vector<milliseconds>{50ms * (i - 1)}) << "one after the other, task " << i;
  }
  EXPECT_EQ(results[5].device, "MIG-small");
  EXPECT_EQ(StartsOf(5), std::vector<milliseconds>{0ms});
  EXPECT_EQ(host_.Now(), host_.epoch() + 200ms);
}

// ---- run --reshape: the reshape hook ----

TEST_F(SupervisorTest, AReshapeIsAskedForOnlyWhenAWorkerIsIdleAndItsNewDevicesRunTheTask) {
  host_.Script("train", FakeProgram{.runs_for = 100ms});
  std::vector<std::vector<TaskNeeds>> asked;
  options_.reshape = [&](const std::vector<TaskNeeds>& waiting) -> Result<std::optional<std::vector<Worker>>> {
    asked.push_back(waiting);
    return std::optional<std::vector<Worker>>({MakeWorker(7, "MIG-a", 10000), MakeWorker(7, "MIG-big", 40000)});
  };
  std::vector<Task> tasks = {Fake(1, "train"), Fake(2, "train")};
  tasks[1].needs.memory_mib = 40000;  // fits no device until the reshape
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 10000)}, tasks);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->succeeded, 2u);
  ASSERT_EQ(asked.size(), 1u);  // not while task 1 held the only worker
  EXPECT_EQ(asked[0], std::vector<TaskNeeds>{tasks[1].needs});
  std::map<unsigned, TaskResult> results = FinalsByTask();
  EXPECT_EQ(results[2].device, "MIG-big");
  EXPECT_EQ(results[2].worker, 1u);  // a new device gets the next index
  EXPECT_EQ(StartsOf(2), std::vector<milliseconds>{100ms});
}

TEST_F(SupervisorTest, ARunningTaskKeepsItsSlotThroughAReshape) {
  host_.Script("long", FakeProgram{.runs_for = 300ms});
  host_.Script("big", FakeProgram{.runs_for = 50ms});
  options_.reshape = [&](const std::vector<TaskNeeds>&) -> Result<std::optional<std::vector<Worker>>> {
    // MIG-b (idle) is re-cut into MIG-c; MIG-a, which runs task 1, stays.
    return std::optional<std::vector<Worker>>({MakeWorker(0, "MIG-a", 10000), MakeWorker(0, "MIG-c", 40000)});
  };
  std::vector<Task> tasks = {Fake(1, "long"), Fake(2, "big")};
  tasks[1].needs.memory_mib = 40000;
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 10000), MakeWorker(1, "MIG-b", 10000)}, tasks);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->succeeded, 2u);
  std::map<unsigned, TaskResult> results = FinalsByTask();
  EXPECT_EQ(results[1].device, "MIG-a");
  EXPECT_EQ(results[1].worker, 0u);
  EXPECT_EQ(results[2].device, "MIG-c");
  EXPECT_EQ(results[2].worker, 2u);
  EXPECT_EQ(StartsOf(2), std::vector<milliseconds>{0ms});  // at once: MIG-b was idle
  EXPECT_EQ(StartsOf(1), std::vector<milliseconds>{0ms});
}

TEST_F(SupervisorTest, AReshapeThatLosesARunningDeviceIsAnError) {
  host_.Script("long", FakeProgram{.runs_for = 300ms});
  options_.reshape = [&](const std::vector<TaskNeeds>&) -> Result<std::optional<std::vector<Worker>>> {
    return std::optional<std::vector<Worker>>({MakeWorker(0, "MIG-c", 40000)});
  };
  std::vector<Task> tasks = {Fake(1, "long"), Fake(2, "long")};
  tasks[1].needs.memory_mib = 40000;
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 10000), MakeWorker(1, "MIG-b", 10000)}, tasks);
  ASSERT_FALSE(summary.ok());
  EXPECT_EQ(summary.error().code, ErrorCode::kInternal);
  EXPECT_NE(summary.error().message.find("MIG-a"), std::string::npos) << summary.error().message;
}

TEST_F(SupervisorTest, WhenNoReshapeCanHelpAndNothingRunsTheWaitingTasksAreNotRun) {
  host_.Script("train", FakeProgram{.runs_for = 20ms});
  int asked = 0;
  options_.reshape = [&](const std::vector<TaskNeeds>&) -> Result<std::optional<std::vector<Worker>>> {
    ++asked;
    return std::optional<std::vector<Worker>>();
  };
  std::vector<Task> tasks = {Fake(1, "train"), Fake(2, "train")};
  tasks[1].needs.memory_mib = 100000;
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 10000)}, tasks);
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->succeeded, 1u);
  EXPECT_EQ(summary->not_run, 1u);
  EXPECT_NE(summary->stopped.find("1 task fit no device"), std::string::npos) << summary->stopped;
  EXPECT_EQ(asked, 1);  // once after task 1 ended: nothing has changed since
}

TEST_F(SupervisorTest, RetriesAFailedTaskAtOnce) {
  options_.retries = 2;
  // Fails the first time, succeeds the second.
  host_.Script("flaky", [](pid_t, const ChildOptions& child) {
    const std::string attempt = EnvOf(child, "MIGCTL_ATTEMPT");
    return FakeProgram{
        .runs_for = 1s, .exit_status = attempt == "1" ? 7 : 0, .stdout_text = "attempt " + attempt + "\n"};
  });
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 1)}, {Fake(1, "flaky")});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(recorder_.results.size(), 2u);
  EXPECT_FALSE(recorder_.results[0].final);
  EXPECT_EQ(recorder_.results[0].exit_status, 7);
  EXPECT_EQ(recorder_.results[0].status, TaskStatus::kFailed);
  EXPECT_EQ(recorder_.results[0].duration_s, 1.0);
  EXPECT_TRUE(recorder_.results[1].final);
  EXPECT_EQ(recorder_.results[1].attempt, 2u);
  EXPECT_EQ(recorder_.results[1].status, TaskStatus::kOk);
  EXPECT_EQ(summary->succeeded, 1u);
  EXPECT_EQ(StartsOf(1), (std::vector<milliseconds>{0ms, 1000ms}));
  EXPECT_EQ(recorder_.output[1], "attempt 1\nattempt 2\n");
}

TEST_F(SupervisorTest, TimeoutSendsSigtermAtTheDeadline) {
  options_.timeout = 2s;
  host_.Script("hang", FakeProgram{.runs_for = FakeProgram::kForever, .stdout_text = "{\"step\": 1}\n"});
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 1)}, {Fake(1, "hang")});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(recorder_.results.size(), 1u);
  const TaskResult& r = recorder_.results[0];
  EXPECT_EQ(r.status, TaskStatus::kTimedOut);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_EQ(r.duration_s, 2.0);
  EXPECT_EQ(r.error, "no result within the 2 s timeout: timed out, stopped by SIGTERM");
  EXPECT_EQ(r.output, Json::parse(R"({"step": 1})")) << "what it printed before it was stopped";
  ASSERT_EQ(host_.signals().size(), 1u);
  EXPECT_EQ(host_.signals()[0].at, host_.epoch() + 2s);
  EXPECT_EQ(summary->failed, 1u);
}

TEST_F(SupervisorTest, TimedOutTaskThatIgnoresSigtermIsKilledAfterTheGrace) {
  options_.timeout = 2s;
  options_.grace = 10s;
  options_.retries = 1;
  host_.Script("stubborn", FakeProgram{.runs_for = FakeProgram::kForever, .ignores_sigterm = true});
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 1)}, {Fake(1, "stubborn")});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(recorder_.results.size(), 2u) << "a timed-out attempt is retried";
  for (const TaskResult& r : recorder_.results) {
    EXPECT_EQ(r.status, TaskStatus::kTimedOut);
    EXPECT_EQ(r.signal, SIGKILL);
    EXPECT_EQ(r.duration_s, 12.0);
  }
  EXPECT_EQ(StartsOf(1), (std::vector<milliseconds>{0ms, 12000ms}));
  ASSERT_EQ(host_.signals().size(), 4u);
  const std::vector<std::pair<int, milliseconds>> expected = {
      {SIGTERM, 2s}, {SIGKILL, 12s}, {SIGTERM, 14s}, {SIGKILL, 24s}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(host_.signals()[i].signal, expected[i].first) << i;
    EXPECT_EQ(host_.signals()[i].at, host_.epoch() + expected[i].second) << i;
  }
}

// Real processes: a stop reaches what the task left running in its process group.
TEST_F(SupervisorTest, TimeoutStopsTheTaskAndItsChildren) {
  options_.timeout = milliseconds(200);
  // The background child ignores SIGTERM, so only the group's SIGKILL after the task ended can stop it.
  std::vector<Task> tasks = {Shell(1, "sh -c 'trap \"\" TERM; exec sleep 30' & echo $!; wait")};
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1)}, tasks);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(recorder_.results.size(), 1u);
  EXPECT_EQ(recorder_.results[0].status, TaskStatus::kTimedOut);
  EXPECT_EQ(recorder_.results[0].signal, SIGTERM);
  EXPECT_EQ(summary->failed, 1u);
  const pid_t background = std::stoi(recorder_.output[1]);
  EXPECT_EQ(RealProcessHost().CommandLine(background), std::nullopt)
      << "the task's background child outlived the timeout";
}

TEST_F(SupervisorTest, FailFastStopsTheRest) {
  options_.fail_fast = true;
  host_.Script("fail", FakeProgram{.runs_for = 1s, .exit_status = 3});
  host_.Script("stubborn", FakeProgram{.runs_for = 5s, .ignores_sigterm = true});
  host_.Script("ok", FakeProgram{});
  std::vector<Task> tasks = {Fake(1, "fail"), Fake(2, "stubborn"), Fake(3, "ok"), Fake(4, "ok")};
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 1), MakeWorker(1, "MIG-b", 1)}, tasks);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->stopped, "--fail-fast: task 1 failed");
  EXPECT_EQ(summary->succeeded, 0u);
  EXPECT_EQ(summary->failed, 2u);   // task 1, and task 2 stopped
  EXPECT_EQ(summary->not_run, 2u);  // 3 and 4 never started
  std::map<unsigned, TaskResult> results = FinalsByTask();
  EXPECT_EQ(results[2].error, "stopped: --fail-fast: task 1 failed");
  EXPECT_EQ(results[2].signal, SIGKILL);
  // SIGTERM when task 1 failed; SIGKILL the grace (200 ms) later, since it ignores SIGTERM.
  ASSERT_EQ(host_.signals().size(), 2u);
  EXPECT_EQ(host_.signals()[0].at, host_.epoch() + 1s);
  EXPECT_EQ(host_.signals()[1].signal, SIGKILL);
  EXPECT_EQ(host_.signals()[1].at, host_.epoch() + 1200ms);
  EXPECT_EQ(host_.Now(), host_.epoch() + 1200ms);
}

TEST_F(SupervisorTest, LastJsonLineIsTheTasksOutput) {
  std::vector<Task> tasks = {Shell(1, "echo hello; echo '{\"loss\": 0.5}'"), Shell(2, "echo not json")};
  ASSERT_TRUE(Run({MakeWorker(0, "MIG-a", 1)}, tasks).ok());
  std::map<unsigned, TaskResult> by_task;
  for (const TaskResult& r : recorder_.Finals()) by_task[r.task] = r;
  EXPECT_EQ(by_task[1].output, Json::parse(R"({"loss": 0.5})"));
  EXPECT_TRUE(by_task[2].output.is_null());
}

TEST_F(SupervisorTest, AProgramThatDoesNotExistIsNotStarted) {
  Task t;
  t.id = 1;
  t.command = "no-such-program-xyz";
  t.argv = {"no-such-program-xyz"};
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1)}, {t});
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(recorder_.results.size(), 1u);
  EXPECT_EQ(recorder_.results[0].status, TaskStatus::kNotStarted);
  EXPECT_NE(recorder_.results[0].error.find("not found"), std::string::npos);
  EXPECT_EQ(summary->failed, 1u);
  EXPECT_EQ(recorder_.starts, 1u) << "every result follows an OnStart (the progress line counts on it)";
}

TEST_F(SupervisorTest, LogsGoToOneFilePerTask) {
  options_.logs_dir = dir_.string();
  std::vector<Task> tasks = {Shell(1, "echo out; echo err >&2")};
  ASSERT_TRUE(Run({MakeWorker(0, "MIG-a", 1)}, tasks).ok());
  std::ifstream in(dir_ / "task-1.log");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("out\n"), std::string::npos);
  EXPECT_NE(text.str().find("err\n"), std::string::npos);
  EXPECT_EQ(recorder_.results[0].log, (dir_ / "task-1.log").string());
  EXPECT_TRUE(recorder_.output.empty());
}

TEST_F(SupervisorTest, AWorkerWaitsWhileSomeoneElseHoldsItsDevice) {
  // Someone else's task holds MIG-a's lease for 1.5 s.
  LeaseTable outsider((dir_ / "leases").string());
  Result<std::optional<Lease>> held = outsider.TryAcquire("MIG-a");
  ASSERT_TRUE(held.ok() && held->has_value());
  host_.Script("theirs", FakeProgram{.runs_for = 1500ms});
  ChildOptions theirs;
  theirs.argv = {"theirs"};
  theirs.inherit_fds = {(*held)->fd()};
  ASSERT_TRUE(host_.Start(theirs).ok());
  (*held)->Release();

  host_.Script("ours", FakeProgram{});
  Result<RunSummary> summary = RunFake({MakeWorker(0, "MIG-a", 1)}, {Fake(1, "ours")});
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(recorder_.waited, std::vector<unsigned>{0});
  EXPECT_EQ(StartsOf(1), std::vector<milliseconds>{1500ms}) << "as soon as the lease is free";
  EXPECT_EQ(summary->succeeded, 1u);
}

// Real processes: the child holds the lease, and only as long as it lives.
TEST_F(SupervisorTest, TheLeaseIsHeldWhileTheTaskRunsAndFreedAfter) {
  const std::string probe = (dir_ / "probe").string();
  // The task checks from inside that its device's lease cannot be taken while it runs.
  LeaseTable leases((dir_ / "leases").string());
  std::vector<Task> tasks = {Shell(1, "sleep 0.3")};
  std::thread checker([&] {
    std::this_thread::sleep_for(milliseconds(150));
    LeaseTable other((dir_ / "leases").string());
    Result<std::optional<Lease>> lease = other.TryAcquire("MIG-a");
    std::ofstream(probe) << (lease.ok() && !lease->has_value() ? "held" : "free");
  });
  ASSERT_TRUE(RunTasks({MakeWorker(0, "MIG-a", 1)}, tasks, leases, options_, recorder_).ok());
  checker.join();
  std::ifstream in(probe);
  std::string seen;
  in >> seen;
  EXPECT_EQ(seen, "held");
  Result<std::optional<Lease>> after = leases.TryAcquire("MIG-a");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->has_value());
}

}  // namespace
}  // namespace migctl
