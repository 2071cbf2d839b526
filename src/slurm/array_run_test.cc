#include "slurm/array_run.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>

#include "common/fake_process_host.h"
#include "common/temp_dir.h"
#include "slurm/array_spool.h"

namespace migctl::slurm {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Argv = std::vector<std::string>;

#define EXPECT_CONTAINS(text, part) EXPECT_NE((text).find(part), std::string::npos) << (text)

PartitionNode Node(std::string name, std::map<std::string, unsigned> gres,
                   std::map<std::string, unsigned> used = {}, std::string state = "idle") {
  return PartitionNode{std::move(name), std::move(state), std::move(gres), std::move(used)};
}

const std::vector<PartitionNode> kMixed = {
    Node("n1", {{"1g.10gb", 7}}, {{"1g.10gb", 5}}),
    Node("n2", {{"1g.10gb", 3}, {"3g.40gb", 1}}, {}, "mix"),
    Node("n3", {{"2g.20gb", 2}, {"3g.40gb", 1}}),
    Node("n4", {{"7g.80gb", 1}}, {}, "drain"),
};

TEST(FormatIndexRanges, CollapsesRunsOfConsecutiveIds) {
  EXPECT_EQ(FormatIndexRanges({}), "");
  EXPECT_EQ(FormatIndexRanges({5}), "5");
  EXPECT_EQ(FormatIndexRanges({1, 2, 3, 4, 5, 8, 10, 11, 12}), "1-5,8,10-12");
  EXPECT_EQ(FormatIndexRanges({12, 3, 11, 3, 1, 2}), "1-3,11-12");
  EXPECT_EQ(FormatIndexRanges({7, 9}), "7,9");
}

TEST(ParseNodes, ReadsTheDefaultPartitionsNodesOnceEach) {
  const std::string text =
      "n1|debug*|gpu:1g.10gb:7(S:0)|gpu:1g.10gb:2(IDX:0-1)|mix\n"
      "n9|other|gpu:7g.80gb:1|gpu:7g.80gb:0(IDX:N/A)|idle\n"
      "n2|debug*|gpu:1g.10gb:3,gpu:3g.40gb:1|gpu:1g.10gb:0(IDX:N/A),gpu:3g.40gb:0(IDX:N/A)|idle\n"
      "n1|other|gpu:1g.10gb:7(S:0)|gpu:1g.10gb:2(IDX:0-1)|mix\n";
  Result<std::vector<PartitionNode>> nodes = ParseNodes(text);
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "n1");
  EXPECT_EQ((*nodes)[0].gres.at("1g.10gb"), 7u);
  EXPECT_EQ((*nodes)[0].used.at("1g.10gb"), 2u);
  EXPECT_EQ((*nodes)[1].gres.at("3g.40gb"), 1u);
  EXPECT_EQ((*nodes)[1].state, "idle");
  EXPECT_CONTAINS(ParseNodes("n1|gpu:1g.10gb:7\n").error().message, "line 1");
  // With -p (no default marked), every node listed.
  EXPECT_EQ(ParseNodes("n9|other|gpu:7g.80gb:1||idle\nn8|other|(null)|(null)|idle\n")->size(), 2u);
}

TEST(PartitionNode, UsableUnlessDownDrainedOrNotResponding) {
  for (const char* state : {"idle", "mix", "alloc", "comp"})
    EXPECT_TRUE(Node("n", {}, {}, state).Usable()) << state;
  for (const char* state : {"drain", "drng", "down", "down*", "idle*", "fail", "idle~", "inval"})
    EXPECT_FALSE(Node("n", {}, {}, state).Usable()) << state;
}

TEST(TypeMemoryGib, ReadsMigTypesAlsoAtTheEndOfAutodetectedNames) {
  EXPECT_EQ(TypeMemoryGib("3g.40gb"), 40u);
  EXPECT_EQ(TypeMemoryGib("1g.16gb"), 16u);
  EXPECT_EQ(TypeMemoryGib("nvidia_h100_80gb_hbm3_3g.40gb"), 40u);
  EXPECT_EQ(TypeMemoryGib("nvidia_h100_80gb_hbm3"), std::nullopt);
  EXPECT_EQ(TypeMemoryGib("g.40gb"), std::nullopt);
  EXPECT_EQ(TypeMemoryGib("a100"), std::nullopt);
}

TEST(ChooseGresType, MemoryPicksTheSmallestTypeThatHoldsIt) {
  EXPECT_EQ(*ChooseGresType(kMixed, std::nullopt, 10240, ""), "1g.10gb");
  EXPECT_EQ(*ChooseGresType(kMixed, std::nullopt, 12 * 1024, ""), "2g.20gb");
  EXPECT_EQ(*ChooseGresType(kMixed, std::nullopt, 20 * 1024 + 1, ""), "3g.40gb");
  // The 7g.80gb is on a drained node: nothing holds 50 GiB.
  Result<std::string> none = ChooseGresType(kMixed, std::nullopt, 50 * 1024, "debug");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kInvalidInput);
  EXPECT_CONTAINS(none.error().message, "--memory 50 GiB");
  EXPECT_CONTAINS(none.error().message, "the largest is 3g.40gb, 40 GiB");
}

TEST(ChooseGresType, ProfileMustBeATypeOfAUsableNode) {
  EXPECT_EQ(*ChooseGresType(kMixed, "3g.40gb", std::nullopt, ""), "3g.40gb");
  const std::vector<PartitionNode> autodetected = {Node("a", {{"nvidia_h100_80gb_hbm3_3g.40gb", 2}})};
  EXPECT_EQ(*ChooseGresType(autodetected, "3g.40gb", std::nullopt, ""), "nvidia_h100_80gb_hbm3_3g.40gb");
  Result<std::string> unknown = ChooseGresType(kMixed, "7g.80gb", std::nullopt, "debug");
  ASSERT_FALSE(unknown.ok());
  EXPECT_CONTAINS(unknown.error().message, "--profile 7g.80gb: no usable node of partition debug");
  EXPECT_CONTAINS(unknown.error().message, "1g.10gb, 2g.20gb, 3g.40gb");
  EXPECT_CONTAINS(ChooseGresType(kMixed, "1g.10gb", 20480, "").error().message, "less than --memory 20 GiB");
  EXPECT_CONTAINS(ChooseGresType(kMixed, std::nullopt, std::nullopt, "").error().message,
                  "needs --profile TYPE or --memory SIZE");
  EXPECT_CONTAINS(ChooseGresType({Node("x", {})}, "1g.10gb", std::nullopt, "").error().message,
                  "no usable node with GPUs");
}

TEST(ChooseNodes, MostFreeSlicesFirstAndTheRestExcluded) {
  Result<NodeChoice> all = ChooseNodes(kMixed, "1g.10gb", std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->use, (std::vector<std::string>{"n2", "n1"}));  // 3 free, then 2 free
  EXPECT_TRUE(all->exclude.empty());
  EXPECT_EQ(all->slices, 10u);
  Result<NodeChoice> one = ChooseNodes(kMixed, "1g.10gb", 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->use, (std::vector<std::string>{"n2"}));
  EXPECT_EQ(one->exclude, (std::vector<std::string>{"n1", "n3", "n4"}));
  EXPECT_EQ(one->slices, 3u);
  Result<NodeChoice> too_many = ChooseNodes(kMixed, "3g.40gb", 3);
  ASSERT_FALSE(too_many.ok());
  EXPECT_CONTAINS(too_many.error().message, "--nodes 3: 2 usable nodes have gpu:3g.40gb (n2, n3)");
}

TEST(ParseMaxArraySize, ReadsScontrolShowConfig) {
  EXPECT_EQ(*ParseMaxArraySize("MailProg = /bin/true\nMaxArraySize            = 4001\nMaxJobCount = 10\n"),
            4001u);
  EXPECT_FALSE(ParseMaxArraySize("MaxJobCount = 10\n").ok());
}

TEST(ParseQueue, OneElementALineAndPhases) {
  const std::map<unsigned, std::string> queue =
      ParseQueue("1 RUNNING\n2 PENDING\nN/A PENDING\n 12 COMPLETING \n\n");
  EXPECT_EQ(queue, (std::map<unsigned, std::string>{{1, "RUNNING"}, {2, "PENDING"}, {12, "COMPLETING"}}));
  EXPECT_EQ(PhaseOf("PENDING"), ElementPhase::kPending);
  EXPECT_EQ(PhaseOf("REQUEUED"), ElementPhase::kPending);
  EXPECT_EQ(PhaseOf("RUNNING"), ElementPhase::kRunning);
  EXPECT_EQ(PhaseOf("COMPLETING"), ElementPhase::kRunning);
  EXPECT_EQ(PhaseOf("COMPLETED"), ElementPhase::kEnded);
  EXPECT_EQ(PhaseOf("NODE_FAIL"), ElementPhase::kEnded);
  EXPECT_TRUE(
      JobHasLeftQueue(MakeError(ErrorCode::kIo, "squeue: slurm_load_jobs error: Invalid job id specified")));
  EXPECT_FALSE(JobHasLeftQueue(MakeError(ErrorCode::kIo, "squeue timed out: is slurmctld up?")));
}

TEST(SbatchArgv, OneElementPerTaskPinnedToOneSliceAndQuotedForTheShell) {
  ArrayJob job;
  job.ids = {1, 2, 3, 7};
  job.gres_type = "3g.40gb";
  job.spool = "/shared/my runs/s1";
  job.migctl = "/opt/mig ctl/migctl";
  job.workdir = "/shared/my runs";
  job.partition = "gpu";
  job.time_limit = "1:00:00";
  job.exclude = {"n3", "n4"};
  EXPECT_EQ(SbatchArgv(job),
            (Argv{"sbatch", "--parsable", "--array=1-3,7", "--gres=gpu:3g.40gb:1", "--job-name=migctl-run",
                  "--output=/shared/my runs/s1/slurm/%a.out", "--open-mode=append", "--chdir=/shared/my runs",
                  "--partition=gpu", "--time=1:00:00", "--exclude=n3,n4", "--wrap",
                  "exec '/opt/mig ctl/migctl' exec --array '/shared/my runs/s1'"}));
  EXPECT_EQ(*ParseJobId("123\n"), "123");
  EXPECT_EQ(*ParseJobId("123;cluster\n"), "123");
  EXPECT_FALSE(ParseJobId("").ok());
}

// ---- The follower, against a scripted cluster on a virtual clock ----

/// Records what the follower reports.
class Recorder final : public ArrayRunEvents {
 public:
  void OnSubmitted(const std::string& job_id, const ArrayPlan&) override { job = job_id; }
  void OnProgress(const ArrayProgress& p) override { progress.push_back(p); }
  void OnStart(const Task&, const Worker&, unsigned) override {}
  void OnResult(const TaskResult& r) override { results.push_back(r); }
  void OnOutput(const Task&, const Worker&, std::string_view) override {}
  void OnWaiting(const Worker&, std::optional<pid_t>) override {}
  void OnStopping(const std::string& why) override { stopping.push_back(why); }
  void OnNote(const std::string& line) override { notes.push_back(line); }
  void OnBegin(const std::vector<Worker>& w, const std::vector<Task>& t) override {
    workers = w.size();
    tasks = t.size();
  }
  std::string job;
  std::vector<ArrayProgress> progress;
  std::vector<TaskResult> results;
  std::vector<std::string> stopping, notes;
  std::size_t workers = 0, tasks = 0;
};

/// A cluster that answers the follower's commands; `on_squeue` plays the elements (it may write into the
/// spool) and returns the queue.
struct FakeCluster {
  std::vector<Argv> calls;
  std::function<std::string(int poll)> on_squeue;
  int polls = 0;
  SlurmCommand Command() {
    return [this](const Argv& argv, const std::vector<std::string>&,
                  std::chrono::milliseconds) -> Result<std::string> {
      calls.push_back(argv);
      if (argv[0] == "sbatch") return std::string("4242\n");
      if (argv[0] == "scancel") return std::string();
      if (argv[0] == "squeue") {
        std::string queue = on_squeue(polls++);
        if (queue == "gone")
          return MakeError(ErrorCode::kIo, "slurm_load_jobs error: Invalid job id specified");
        return queue;
      }
      return MakeError(ErrorCode::kIo, "unexpected " + argv[0]);
    };
  }
  bool Called(const std::string& program) const {
    return std::any_of(calls.begin(), calls.end(), [&](const Argv& a) { return a[0] == program; });
  }
};

Task MakeTask(unsigned id) {
  Task t;
  t.id = id;
  t.argv = {"train", std::to_string(id)};
  t.command = "train " + std::to_string(id);
  t.params = {{"k", std::to_string(id)}};
  return t;
}

class ArrayRunFollow : public ::testing::Test {
 protected:
  void SetUp() override {
    spool_ = tmp_.File("spool");
    plan_.tasks = {MakeTask(1), MakeTask(2), MakeTask(3)};
    plan_.total_tasks = 3;
    plan_.journal = tmp_.File("results.jsonl");
    plan_.gres_type = "1g.10gb";
    plan_.nodes.use = {"n1"};
    plan_.nodes.slices = 2;
    plan_.spool = spool_;
    plan_.job.ids = {1, 2, 3};
    plan_.job.gres_type = "1g.10gb";
    plan_.job.spool = spool_;
    plan_.job.migctl = "/usr/bin/migctl";
    plan_.job.workdir = tmp_.File("");
    request_.workdir = tmp_.File("");
    request_.slurm = cluster_.Command();
  }
  /// Element `id` writes an attempt's result into its journal in the spool.
  void Finish(unsigned id, TaskStatus status, bool final = true, unsigned attempt = 1) {
    TaskResult r;
    r.task = id;
    r.attempt = attempt;
    r.final = final;
    r.command = "train " + std::to_string(id);
    r.params = {{"k", std::to_string(id)}};
    r.status = status;
    r.exit_status = status == TaskStatus::kOk ? 0 : 3;
    r.node = "n1";
    std::ofstream(ResultsPath(spool_, id), std::ios::app) << ResultToJson(r).dump() << "\n";
  }
  std::vector<Json> Journal() {
    std::vector<Json> lines;
    std::ifstream in(plan_.journal);
    for (std::string line; std::getline(in, line);) lines.push_back(Json::parse(line));
    return lines;
  }

  TempDir tmp_;
  std::string spool_;
  ArrayPlan plan_;
  ArrayRunRequest request_;
  FakeCluster cluster_;
  FakeProcessHost host_;
  Recorder events_;
};

TEST_F(ArrayRunFollow, ResultsStreamIntoTheJournalAndALostElementIsRecordedWithItsReason) {
  cluster_.on_squeue = [&](int poll) -> std::string {
    switch (poll) {
      case 0:
        return "1 RUNNING\n2 RUNNING\n3 PENDING\n";
      case 1:
        Finish(2, TaskStatus::kFailed, /*final=*/false);
        Finish(1, TaskStatus::kOk);
        return "2 RUNNING\n3 RUNNING\n";
      case 2:
        Finish(2, TaskStatus::kFailed, /*final=*/true, /*attempt=*/2);
        std::ofstream(SlurmOutputPath(spool_, 3)) << "migctl: Slurm allocated GPU 9, but this node has 7\n";
        return "3 FAILED\n";
      default:
        return "gone";
    }
  };
  Result<RunOutcome> out = RunArray(request_, plan_, events_, host_);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(events_.job, "4242");
  EXPECT_EQ(events_.workers, 2u);
  EXPECT_EQ(out->summary.succeeded, 1u);
  EXPECT_EQ(out->summary.failed, 2u);
  EXPECT_EQ(out->summary.not_run, 0u);
  EXPECT_EQ(out->summary.signal, 0);
  EXPECT_FALSE(out->ok());

  // Every attempt journalled in arrival order, then the lost element's own line.
  const std::vector<Json> journal = Journal();
  ASSERT_EQ(journal.size(), 4u);
  EXPECT_EQ(journal[0]["task"], 1);
  EXPECT_EQ(journal[1]["task"], 2);
  EXPECT_EQ(journal[1]["final"], false);
  EXPECT_EQ(journal[2]["task"], 2);
  EXPECT_EQ(journal[2]["attempt"], 2);
  EXPECT_EQ(journal[3]["task"], 3);
  EXPECT_EQ(journal[3]["status"], "not-started");
  EXPECT_EQ(journal[3]["command"], "train 3");
  EXPECT_EQ(journal[3]["params"], (Json{{"k", "3"}}));
  const std::string error = journal[3]["error"];
  EXPECT_CONTAINS(error, "4242_3 left the queue (last seen FAILED) without a result");
  EXPECT_CONTAINS(error, "Slurm allocated GPU 9, but this node has 7");
  ASSERT_EQ(events_.results.size(), 4u);
  // The lost element waited its 3 s out of the queue before it was declared lost.
  EXPECT_GE(cluster_.polls, 3 + 6);
  EXPECT_FALSE(cluster_.Called("scancel"));

  // Progress: pending and running from the queue, done from the results.
  ASSERT_FALSE(events_.progress.empty());
  EXPECT_EQ(events_.progress[0].pending, 1u);
  EXPECT_EQ(events_.progress[0].running, 2u);
  EXPECT_EQ(events_.progress[0].done, 0u);
  EXPECT_EQ(events_.progress.back().done, 3u);
  EXPECT_EQ(events_.progress.back().total, 3u);

  // The spool holds the spec the elements read.
  Result<ArraySpec> spec = ReadSpec(spool_);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->tasks, plan_.tasks);
  EXPECT_EQ(spec->logs_dir, LogsDir(spool_));
}

TEST_F(ArrayRunFollow, ASignalCancelsTheArrayAndWhatNeverRanIsNotRun) {
  cluster_.on_squeue = [&](int poll) -> std::string {
    if (poll == 0) {
      Finish(1, TaskStatus::kOk);
      std::raise(SIGINT);  // Ctrl-C while the array runs
      return "2 RUNNING\n3 PENDING\n";
    }
    if (poll == 1) return "2 RUNNING\n";  // element 2 stops
    if (poll == 2) {
      Finish(2, TaskStatus::kKilled);
      return "2 CANCELLED\n";
    }
    return "gone";
  };
  Result<RunOutcome> out = RunArray(request_, plan_, events_, host_);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(cluster_.Called("scancel"));
  EXPECT_EQ(out->summary.signal, SIGINT);
  EXPECT_EQ(out->summary.succeeded, 1u);
  EXPECT_EQ(out->summary.failed, 1u);
  EXPECT_EQ(out->summary.not_run, 1u);
  ASSERT_EQ(events_.stopping.size(), 1u);
  EXPECT_CONTAINS(events_.stopping[0], "interrupted by SIGINT");
  EXPECT_EQ(Journal().size(), 2u) << "a cancelled element that never ran is not journalled";
}

TEST_F(ArrayRunFollow, FailFastCancelsAfterTheFirstFailure) {
  request_.fail_fast = true;
  cluster_.on_squeue = [&](int poll) -> std::string {
    if (poll == 0) {
      Finish(1, TaskStatus::kFailed);
      return "1 COMPLETED\n2 PENDING\n3 PENDING\n";
    }
    return "gone";
  };
  Result<RunOutcome> out = RunArray(request_, plan_, events_, host_);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_TRUE(cluster_.Called("scancel"));
  EXPECT_EQ(out->summary.failed, 1u);
  EXPECT_EQ(out->summary.not_run, 2u);
  EXPECT_CONTAINS(out->summary.stopped, "--fail-fast: task 1 failed");
}

TEST_F(ArrayRunFollow, AnEarlierRunsSpoolIsRefusedBeforeAnythingIsSubmitted) {
  ASSERT_TRUE(CreateSpool(spool_).ok());
  ASSERT_TRUE(WriteSpec(spool_, ArraySpec{}).ok());
  cluster_.on_squeue = [](int) { return std::string("gone"); };
  Result<RunOutcome> out = RunArray(request_, plan_, events_, host_);
  ASSERT_FALSE(out.ok());
  EXPECT_CONTAINS(out.error().message, "holds an earlier run");
  EXPECT_FALSE(cluster_.Called("sbatch"));
}

}  // namespace
}  // namespace migctl::slurm
