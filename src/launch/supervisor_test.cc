#include "launch/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;
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
  Result<RunSummary> Run(const std::vector<Worker>& workers, const std::vector<Task>& tasks) {
    LeaseTable leases((dir_ / "leases").string());
    return RunTasks(workers, tasks, leases, options_, recorder_);
  }

  fs::path dir_;
  SupervisorOptions options_;
  Recorder recorder_;
};

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

TEST_F(SupervisorTest, RoutesTasksOnlyToDevicesThatHoldThem) {
  std::vector<Worker> workers = {MakeWorker(0, "MIG-small", 10000), MakeWorker(1, "MIG-big", 40000)};
  std::vector<Task> tasks;
  for (unsigned i = 1; i <= 4; ++i) {
    tasks.push_back(Shell(i, "sleep 0.05"));
    tasks.back().needs.memory_mib = 20000;
  }
  tasks.push_back(Shell(5, "true"));
  ASSERT_TRUE(Run(workers, tasks).ok());
  for (const TaskResult& r : recorder_.Finals())
    if (r.task <= 4) {
      EXPECT_EQ(r.device, "MIG-big") << "task " << r.task;
    }
}

TEST_F(SupervisorTest, RetriesAFailedTask) {
  options_.retries = 2;
  const std::string marker = (dir_ / "marker").string();
  // Fails the first time (no marker yet), succeeds the second.
  std::vector<Task> tasks = {Shell(1, "test -e " + marker + " || { touch " + marker + "; exit 7; }")};
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1)}, tasks);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(recorder_.results.size(), 2u);
  EXPECT_FALSE(recorder_.results[0].final);
  EXPECT_EQ(recorder_.results[0].exit_status, 7);
  EXPECT_EQ(recorder_.results[0].status, TaskStatus::kFailed);
  EXPECT_TRUE(recorder_.results[1].final);
  EXPECT_EQ(recorder_.results[1].attempt, 2u);
  EXPECT_EQ(recorder_.results[1].status, TaskStatus::kOk);
  EXPECT_EQ(summary->succeeded, 1u);
}

TEST_F(SupervisorTest, TimeoutStopsTheTaskAndItsChildren) {
  options_.timeout = milliseconds(200);
  const std::string marker = (dir_ / "late").string();
  std::vector<Task> tasks = {Shell(1, "(sleep 1; touch " + marker + ") & wait")};
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1)}, tasks);
  ASSERT_TRUE(summary.ok());
  ASSERT_EQ(recorder_.results.size(), 1u);
  EXPECT_EQ(recorder_.results[0].status, TaskStatus::kTimedOut);
  EXPECT_EQ(recorder_.results[0].signal, SIGTERM);
  EXPECT_EQ(summary->failed, 1u);
  std::this_thread::sleep_for(milliseconds(1200));
  EXPECT_FALSE(fs::exists(marker)) << "the task's background child outlived the timeout";
}

TEST_F(SupervisorTest, FailFastStopsTheRest) {
  options_.fail_fast = true;
  std::vector<Task> tasks = {Shell(1, "exit 3"), Shell(2, "sleep 5"), Shell(3, "true"), Shell(4, "true")};
  const auto start = std::chrono::steady_clock::now();
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1), MakeWorker(1, "MIG-b", 1)}, tasks);
  ASSERT_TRUE(summary.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(summary->stopped.find("--fail-fast: task 1"), std::string::npos) << summary->stopped;
  EXPECT_EQ(summary->succeeded, 0u);
  EXPECT_EQ(summary->failed, 2u);   // task 1, and task 2 stopped
  EXPECT_EQ(summary->not_run, 2u);  // 3 and 4 never started
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
  LeaseTable outsider((dir_ / "leases").string());
  Result<std::optional<Lease>> held = outsider.TryAcquire("MIG-a");
  ASSERT_TRUE(held.ok() && held->has_value());
  std::thread release([&] {
    std::this_thread::sleep_for(milliseconds(1500));
    (*held)->Release();
  });
  const auto start = std::chrono::steady_clock::now();
  Result<RunSummary> summary = Run({MakeWorker(0, "MIG-a", 1)}, {Shell(1, "true")});
  release.join();
  ASSERT_TRUE(summary.ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(1400));
  EXPECT_EQ(recorder_.waited, std::vector<unsigned>{0});
  EXPECT_EQ(summary->succeeded, 1u);
}

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
