#include "slurm/sync.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "common/fake_process_host.h"
#include "common/file_io.h"

namespace migctl::slurm {
namespace {

using std::chrono::milliseconds;
using Clock = ProcessHost::Clock;

constexpr const char* kSlurmConf =
    "GresTypes=gpu\n"
    "NodeName=n1 CPUs=8 Gres=gpu:1g.10gb:2 State=UNKNOWN\n"
    "NodeName=n2 CPUs=8 Gres=gpu:1g.10gb:2 State=UNKNOWN\n";
constexpr const char* kGresConf =
    "# n1: 2 GPUs written by `migctl slurm gres` from the live layout; Slurm's GPU index is the line order\n"
    "NodeName=n1 Name=gpu Type=1g.10gb File=/dev/null\n"
    "NodeName=n1 Name=gpu Type=1g.10gb File=/dev/null\n"
    "NodeName=n2 Name=gpu Type=1g.10gb File=/dev/null\n";

GresDevice Device(unsigned index, const std::string& type, const std::string& file = "/dev/null") {
  return GresDevice{.index = index, .type = type, .uuid = "MIG-" + std::to_string(index), .files = {file}};
}

/// slurmctld as sync sees it: one node, its jobs, and the calls it got.
class FakeSlurm final : public SlurmClient {
 public:
  explicit FakeSlurm(FakeProcessHost& host) : host_(host) {}

  Result<NodeInfo> Node(const std::string&) override { return node; }
  Result<std::vector<NodeInfo>> Nodes() override { return std::vector<NodeInfo>{node}; }
  Result<std::vector<std::string>> ActiveJobs(const std::string&) override {
    if (host_.Now() >= jobs_end) jobs.clear();
    return jobs;
  }
  Status Drain(const std::string&, const std::string& reason) override {
    calls.push_back("drain");
    node.state += "+DRAIN";
    node.reason = reason;
    if (jobs_start_at_drain) jobs = {"41"};
    return Ok();
  }
  Status Resume(const std::string&) override {
    calls.push_back("resume");
    node.state = node.state.substr(0, node.state.find('+'));
    node.reason.clear();
    if (unresponsive_after_resume.count() > 0) {
      node.state += "+NOT_RESPONDING";
      host_.At(host_.Now() + unresponsive_after_resume, [this] { node.state = "IDLE"; });
    }
    return Ok();
  }
  Status Reconfigure() override {
    calls.push_back("reconfigure");
    return Ok();
  }

  NodeInfo node{.name = "n1", .state = "IDLE", .gres = "gpu:1g.10gb:2", .slurmd_start = 500};
  std::vector<std::string> jobs;
  Clock::time_point jobs_end = Clock::time_point::max();
  bool jobs_start_at_drain = false;  ///< A job slipped in just before the drain.
  /// As just after slurmctld restarted: a resumed node reads NOT_RESPONDING until its first ping.
  milliseconds unresponsive_after_resume{0};
  std::vector<std::string> calls;

 private:
  FakeProcessHost& host_;
};

class Notes final : public SyncNotes {
 public:
  void Note(const std::string& text) override { notes.push_back(text); }
  std::vector<std::string> notes;
};

class SyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "migctl-sync-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    request_.node = "n1";
    request_.slurm_conf = dir_ + "/slurm.conf";
    request_.restart_ctld = "restart-ctld now";
    request_.restart_slurmd = "restart-slurmd n1";
    request_.register_timeout = milliseconds(5000);
    ASSERT_TRUE(WriteFileAtomically(request_.slurm_conf, kSlurmConf, 0640).ok());
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/gres.conf", kGresConf, 0644).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<SyncPlan> Plan() {
    MIGCTL_ASSIGN_OR_RETURN(SyncFiles files, ReadSyncFiles(request_));
    MIGCTL_ASSIGN_OR_RETURN(FileEdits edits, PlanFileEdits(request_, files));
    return PlanSync(request_, std::move(edits), slurm_.node, slurm_.jobs);
  }
  Result<SyncReport> Execute(const SyncPlan& plan) {
    SyncEnv env{slurm_, host_, notes_, host_.Now(), [] { return std::time_t{1000}; }};
    return ExecuteSync(request_, plan, env);
  }
  static std::vector<std::string> Kinds(const SyncPlan& plan) {
    std::vector<std::string> kinds;
    for (const SyncStep& s : plan.steps) kinds.push_back(StepName(s.kind));
    return kinds;
  }
  std::string Read(const std::string& name) { return ReadFile(dir_ + "/" + name).value(); }
  /// The restarts as a real cluster answers them: slurmctld comes back with the new counts and the node
  /// unregistered; the new slurmd registers.
  void ScriptRestarts(const std::string& new_gres) {
    host_.Script("restart-ctld", [this, new_gres](pid_t, const ChildOptions&) {
      slurm_.calls.push_back("restart-ctld");
      slurm_.node.state = "UNKNOWN+DRAIN";
      slurm_.node.gres = new_gres;
      slurm_.node.slurmd_start.reset();
      return FakeProgram{.runs_for = milliseconds(300)};
    });
    host_.Script("restart-slurmd", [this](pid_t, const ChildOptions&) {
      slurm_.calls.push_back("restart-slurmd");
      host_.At(host_.Now() + milliseconds(700), [this] {
        slurm_.node.state = "IDLE+DRAIN";
        slurm_.node.slurmd_start = 1000;
      });
      return FakeProgram{.runs_for = milliseconds(100)};
    });
  }

  std::string dir_;
  SyncRequest request_;
  FakeProcessHost host_;
  FakeSlurm slurm_{host_};
  Notes notes_;
};

TEST_F(SyncTest, InSyncPlansNothing) {
  request_.devices = {Device(0, "1g.10gb"), Device(1, "1g.10gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->InSync());
  EXPECT_EQ(plan->edits.change, GresChange::kInSync);
  EXPECT_TRUE(plan->edits.writes.empty());
}

TEST_F(SyncTest, SameCountsReconfigureWithoutRestart) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->edits.change, GresChange::kSameCounts);
  EXPECT_EQ(plan->action, SlurmAction::kReconfigure);
  EXPECT_EQ(Kinds(*plan), (std::vector<std::string>{"drain", "wait_for_jobs", "write_file", "reconfigure",
                                                    "wait_for_registration", "resume"}));
  ASSERT_EQ(plan->edits.writes.size(), 1u) << "slurm.conf keeps its Gres=";
  auto report = Execute(*plan);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(slurm_.calls, (std::vector<std::string>{"drain", "reconfigure", "resume"}));
  EXPECT_NE(Read("gres.conf").find("File=/dev/zero"), std::string::npos);
  EXPECT_EQ(Read("slurm.conf"), kSlurmConf);
  EXPECT_TRUE(report->resumed);
  EXPECT_EQ(slurm_.node.state, "IDLE");
}

TEST_F(SyncTest, NewCountsNeedARestartCommandForSlurmctld) {
  request_.devices = {Device(0, "1g.10gb"), Device(1, "1g.10gb"), Device(2, "1g.10gb")};
  request_.restart_ctld.clear();
  auto plan = Plan();
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(plan.error().message.find("--restart-ctld 'ssh ctl systemctl restart slurmctld'"),
            std::string::npos)
      << plan.error().message;
  EXPECT_TRUE(slurm_.calls.empty());
}

TEST_F(SyncTest, NewCountsRestartSlurmctldThenSlurmdThenResume) {
  request_.devices = {Device(0, "1g.10gb"), Device(1, "1g.10gb"), Device(2, "3g.40gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->action, SlurmAction::kRestart);
  EXPECT_EQ(Kinds(*plan), (std::vector<std::string>{"drain", "wait_for_jobs", "write_file", "write_file",
                                                    "restart_slurmctld", "restart_slurmd",
                                                    "wait_for_registration", "resume"}));
  ScriptRestarts("gpu:1g.10gb:2,gpu:3g.40gb:1");
  slurm_.unresponsive_after_resume = milliseconds(1000);
  auto report = Execute(*plan);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(slurm_.calls, (std::vector<std::string>{"drain", "restart-ctld", "restart-slurmd", "resume"}));
  EXPECT_EQ(slurm_.node.state, "IDLE");
  EXPECT_NE(Read("slurm.conf").find("NodeName=n1 CPUs=8 Gres=gpu:1g.10gb:2,gpu:3g.40gb:1 State=UNKNOWN\n"),
            std::string::npos);
  EXPECT_EQ(std::filesystem::status(request_.slurm_conf).permissions(), std::filesystem::perms(0640))
      << "the file keeps its mode";
  ASSERT_TRUE(report->seconds_to_jobs.has_value());
  EXPECT_NEAR(*report->seconds_to_jobs, 2.1, 0.25)
      << "restarts 0.4 s, registration 0.7 s later, then 1 s until slurmctld pings it";
  EXPECT_EQ(host_.StartsOf("restart-ctld").at(0).argv, (std::vector<std::string>{"restart-ctld", "now"}));
}

TEST_F(SyncTest, WaitsForRegistrationByTheRestartedSlurmd) {
  request_.devices = {Device(0, "1g.10gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ScriptRestarts("gpu:1g.10gb:1");
  // The old slurmd registers with slurmctld before it is restarted: counts fine, but not yet the new slurmd.
  host_.Script("restart-slurmd", FakeProgram{});
  host_.At(host_.Now() + milliseconds(400),
           [this] { slurm_.node.state = "IDLE+DRAIN", slurm_.node.slurmd_start = 500; });
  auto report = Execute(*plan);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("did not register with Gres=gpu:1g.10gb:1 within 5 s"),
            std::string::npos)
      << report.error().message;
  EXPECT_NE(report.error().message.find("n1 stays drained"), std::string::npos) << report.error().message;
  EXPECT_EQ(slurm_.calls, (std::vector<std::string>{"drain", "restart-ctld"}));
  EXPECT_NE(Read("slurm.conf"), kSlurmConf) << "the new files stay: running sync again finishes";
}

TEST_F(SyncTest, JobsRefusedBeforeDrainingWithoutWait) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  slurm_.jobs = {"7", "8"};
  auto plan = Plan();
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kBusy);
  EXPECT_EQ(plan.error().message,
            "n1 runs jobs 7, 8: sync changes nothing while jobs run there; run it again with --wait to drain "
            "n1 and "
            "wait for them (no new job starts there meanwhile)");
}

TEST_F(SyncTest, AJobThatSlipsInBeforeTheDrainIsRefusedAndTheNodeResumed) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  slurm_.jobs_start_at_drain = true;
  auto report = Execute(*plan);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, ErrorCode::kBusy);
  EXPECT_NE(report.error().message.find("(n1 resumed, files unchanged)"), std::string::npos)
      << report.error().message;
  EXPECT_EQ(slurm_.calls, (std::vector<std::string>{"drain", "resume"}));
  EXPECT_EQ(Read("gres.conf"), kGresConf);
}

TEST_F(SyncTest, WaitsForJobsThenGoesOn) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  request_.wait = true;
  slurm_.jobs = {"7"};
  slurm_.jobs_end = host_.Now() + milliseconds(3200);
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto report = Execute(*plan);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->waited_for, std::vector<std::string>{"7"});
  EXPECT_GE(host_.Now() - host_.epoch(), milliseconds(3200));
  EXPECT_LT(host_.Now() - host_.epoch(), milliseconds(4000));
  ASSERT_FALSE(notes_.notes.empty());
  EXPECT_NE(notes_.notes[0].find("waiting for job 7 on n1"), std::string::npos) << notes_.notes[0];
}

TEST_F(SyncTest, WaitTimeoutPutsTheNodeBack) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  request_.wait = true;
  request_.wait_timeout = milliseconds(2000);
  slurm_.jobs = {"7"};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto report = Execute(*plan);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().message.find("after --wait-timeout 2 s"), std::string::npos)
      << report.error().message;
  EXPECT_EQ(host_.Now() - host_.epoch(), milliseconds(2000));
  EXPECT_EQ(slurm_.calls, (std::vector<std::string>{"drain", "resume"}));
}

TEST_F(SyncTest, ANodeDrainedByOthersStaysDrained) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  slurm_.node.state = "IDLE+DRAIN";
  slurm_.node.reason = "bad fan";
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->drained_by_others);
  EXPECT_EQ(Kinds(*plan), (std::vector<std::string>{"wait_for_jobs", "write_file", "reconfigure",
                                                    "wait_for_registration"}));
  auto report = Execute(*plan);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_FALSE(report->resumed);
  EXPECT_EQ(slurm_.node.reason, "bad fan");
}

TEST_F(SyncTest, FinishesASyncThatStoppedHalfway) {
  request_.devices = {Device(0, "1g.10gb"), Device(1, "1g.10gb")};  // the files are already in step
  slurm_.node.state = "IDLE+DRAIN";
  slurm_.node.reason = kDrainReason;
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->finishes_earlier);
  EXPECT_EQ(Kinds(*plan),
            (std::vector<std::string>{"wait_for_jobs", "reconfigure", "wait_for_registration", "resume"}));
}

TEST_F(SyncTest, RefusesAMissingDeviceFileBeforeAnything) {
  request_.devices = {Device(0, "1g.10gb", dir_ + "/nvidia-cap9"), Device(1, "1g.10gb")};
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  Status checked = CheckBeforeChanging(request_, *plan);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().code, ErrorCode::kNotFound);
  EXPECT_NE(checked.error().message.find("slurmd stops on a missing File="), std::string::npos);
  request_.devices[0] = Device(0, "1g.10gb", request_.slurm_conf);
  checked = CheckBeforeChanging(request_, *Plan());
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("is not a character device"), std::string::npos);
}

TEST_F(SyncTest, RefusesToWriteThroughALink) {
  request_.devices = {Device(0, "1g.10gb", "/dev/zero"), Device(1, "1g.10gb")};
  std::filesystem::rename(dir_ + "/gres.conf", dir_ + "/real-gres.conf");
  std::filesystem::create_symlink(dir_ + "/real-gres.conf", dir_ + "/gres.conf");
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  Status checked = CheckBeforeChanging(request_, *plan);
  ASSERT_FALSE(checked.ok());
  EXPECT_NE(checked.error().message.find("is a symbolic link"), std::string::npos) << checked.error().message;
}

TEST_F(SyncTest, MapAloneNeedsNoDrain) {
  request_.devices = {Device(0, "1g.10gb"), Device(1, "1g.10gb")};
  request_.map_file = dir_ + "/map";
  auto plan = Plan();
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(Kinds(*plan), std::vector<std::string>{"write_file"});
  ASSERT_TRUE(Execute(*plan).ok());
  EXPECT_TRUE(slurm_.calls.empty());
  EXPECT_EQ(Read("map"), GresMapText(request_.devices));
}

}  // namespace
}  // namespace migctl::slurm
