#include "reconcile/transaction.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/file_io.h"
#include "reconcile/test_gpus.h"
#include "reconcile/test_sim_gpu.h"

namespace migctl {
namespace {

using testing_gpus::Gpu;

GpuPlan PlanTo(const ObservedGpu& gpu, bool enabled, std::vector<unsigned> profiles) {
  GpuGoal goal{GpuIndex(0), enabled, {}, "test"};
  for (unsigned p : profiles)
    goal.instances.push_back(
        {ProfileId(p), std::nullopt, {{gpu.geometry.FindProfile(ProfileId(p))->DefaultCiProfile()->id, {}}}});
  Result<GpuPlan> plan = PlanGpu(gpu, goal, {});
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return *plan;
}

TEST(DescribeMismatch, AgreesWhenTheGpuIsWhatThePlanSaid) {
  ObservedGpu before = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}});
  GpuPlan plan = PlanTo(before, true, {9, 9});
  // What a driver leaves: the kept GI and a new one at the plan's placement, ids of its own choosing.
  ObservedGpu after = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}, {ProfileId(9), 4}});
  EXPECT_EQ(DescribeMismatch(before, plan, after.snapshot), "");
}

TEST(DescribeMismatch, NamesWhatSomethingElseChanged) {
  // The regression: a `destroy --all` during an apply left the GPU in neither layout, unnoticed.
  ObservedGpu before = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 0}});
  GpuPlan plan = PlanTo(before, true, {9, 9});
  ObservedGpu emptied = Gpu("h100-80gb", {true, true}, {{ProfileId(9), 4}});
  const std::string why = DescribeMismatch(before, plan, emptied.snapshot);
  EXPECT_NE(why.find("expected 3g.40gb@0 + 3g.40gb@4"), std::string::npos) << why;
  EXPECT_NE(why.find("found 3g.40gb@4"), std::string::npos) << why;
}

TEST(DescribeMismatch, ChecksTheModeTheStepsSet) {
  ObservedGpu off = Gpu("a100-80gb", {false, false});
  GpuPlan enable;
  enable.steps.ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = true});
  EXPECT_EQ(DescribeMismatch(off, enable, Gpu("a100-80gb", {false, true}).snapshot), "");
  EXPECT_NE(DescribeMismatch(off, enable, Gpu("a100-80gb", {false, false}).snapshot), "");
  GpuPlan reset;
  reset.steps.ops.push_back({.kind = PlannedOp::Kind::kResetGpu, .enable = true});
  EXPECT_EQ(DescribeMismatch(Gpu("a100-80gb", {false, true}), reset, Gpu("a100-80gb", {true, true}).snapshot),
            "");
  EXPECT_NE(
      DescribeMismatch(Gpu("a100-80gb", {false, true}), reset, Gpu("a100-80gb", {false, true}).snapshot), "");
}

// ---------------------------------------------------------------------------------------------------------------
// ChangeGpuAtomically on a simulated GPU; the GPU and the journal's directory are read back after each step.

using Strings = std::vector<std::string>;

class GpuTransaction : public testing_sim::SimulatedGpu {
 protected:
  void SetUp() override { std::filesystem::create_directory(run_dir_); }

  /// Makes a GI of `profile` at `start` (with its full-width CI unless `with_ci` is false), outside any plan.
  void Make(const std::string& profile, unsigned start, bool with_ci = true) {
    const GiProfile& p = Profile(profile);
    Result<nvml::GpuInstance> gi = device().CreateGpuInstance(p.id, nvml::Placement{start, p.placement_size});
    ASSERT_TRUE(gi.ok()) << gi.error().message;
    if (with_ci) {
      ASSERT_TRUE(gi->CreateDefaultComputeInstance().ok());
    }
  }
  Result<GpuChange> Change(const ObservedGpu& before, const GpuPlan& plan) {
    return ChangeGpuAtomically(device(), before, plan, journal_, "apply -c test", true);
  }
  /// The names of the files in the journal's directory, sorted.
  Strings RunDirFiles() const {
    Strings names;
    for (const auto& entry : std::filesystem::directory_iterator(run_dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  }

  const std::string run_dir_ = dir_.File("run");
  Journal journal_{run_dir_};
};

TEST_F(GpuTransaction, ReachesThePlansLayoutAndRemovesItsJournalEntry) {
  Start("h100-80gb:1");
  Make("3g.40gb", 0);
  const ObservedGpu before = Observe();
  Result<GpuChange> change = Change(before, PlanTo(before, true, {9, 9}));
  ASSERT_TRUE(change.ok()) << change.error().message;
  EXPECT_EQ(Instances(), (Strings{"3g.40gb@0 ci 3g.40gb@0", "3g.40gb@4 ci 3g.40gb@0"}));
  EXPECT_EQ(change->done.size(), 1u) << "the kept GI is not recreated";
  EXPECT_EQ(change->after.instances.size(), 2u);
  EXPECT_EQ(RunDirFiles(), Strings{});
}

TEST_F(GpuTransaction, AFailedStepPutsTheGpuBackAsThisCommandFoundIt) {
  Start("h100-80gb:1");
  Make("4g.40gb", 0);
  Make("3g.40gb", 4);
  const Strings found = Instances();
  // Seven 1g.10gb need both GIs gone; the third creation fails.
  Open("nvmlDeviceCreateGpuInstanceWithPlacement@3=UNKNOWN");
  const ObservedGpu before = Observe();
  Result<GpuChange> change = Change(before, PlanTo(before, true, {19, 19, 19, 19, 19, 19, 19}));
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(change.error().code, ErrorCode::kNvml);
  EXPECT_EQ(change.error().nvml_return, NVML_ERROR_UNKNOWN);
  EXPECT_TRUE(Contains(change.error().message, "GPU 0 was put back as this command found it"))
      << change.error().message;
  EXPECT_EQ(Instances(), found);
  EXPECT_EQ(RunDirFiles(), Strings{});
}

TEST_F(GpuTransaction, AGpuThatIsNotWhatThePlanSaidIsPutBack) {
  Start("h100-80gb:1");
  Make("3g.40gb", 0, /*with_ci=*/false);
  // The driver answers the destroy with success but leaves the GI: the steps all succeed, the result differs.
  Open("nvmlGpuInstanceDestroy@1=SUCCESS");
  const ObservedGpu before = Observe();
  const GiProfile& p = Profile("3g.40gb");
  GpuGoal goal{GpuIndex(0), true, {{p.id, 4, {{p.DefaultCiProfile()->id, 0}}}}, "test"};
  Result<GpuPlan> plan = PlanGpu(before, goal, {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  Result<GpuChange> change = Change(before, *plan);
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(change.error().code, ErrorCode::kBusy);
  EXPECT_TRUE(Contains(change.error().message,
                       "changed while migctl worked on it (expected 3g.40gb@4, found 3g.40gb@0 + 3g.40gb@4)"))
      << change.error().message;
  EXPECT_TRUE(Contains(change.error().message, "was put back as this command found it"))
      << change.error().message;
  EXPECT_EQ(Instances(), Strings{"3g.40gb@0"});
  EXPECT_EQ(RunDirFiles(), Strings{});
}

TEST_F(GpuTransaction, ARollbackThatFailsTooKeepsTheEntryAndSaysHowToRestore) {
  Start("h100-80gb:1");
  Make("3g.40gb", 4);
  Open(
      "nvmlDeviceCreateGpuInstanceWithPlacement@1=UNKNOWN,"
      "nvmlDeviceCreateGpuInstanceWithPlacement@2=UNKNOWN");
  const ObservedGpu before = Observe();
  Result<GpuChange> change = Change(before, PlanTo(before, true, {0}));
  ASSERT_FALSE(change.ok());
  EXPECT_EQ(Instances(), Strings{}) << "the 3g.40gb was destroyed and could not be made again";
  const std::string entry = run_dir_ + "/gpu-" + before.snapshot.uuid.value() + ".json";
  EXPECT_EQ(RunDirFiles(), Strings{std::filesystem::path(entry).filename().string()});
  EXPECT_TRUE(Contains(change.error().message, "run 'migctl restore " + entry + "'"))
      << change.error().message;
  Result<std::optional<JournalEntry>> kept = journal_.Find(before.snapshot.uuid, GpuIndex(0));
  ASSERT_TRUE(kept.ok() && kept->has_value());
  ASSERT_EQ((*kept)->before.instances.size(), 1u);
  EXPECT_EQ((*kept)->before.instances[0].profile, Profile("3g.40gb").id);
  EXPECT_EQ((*kept)->before.instances[0].start, 4u);
}

TEST_F(GpuTransaction, AKilledCommandsEntryIsSetAsideAndTheNextRollbackStopsAtItsOwnBefore) {
  Start("h100-80gb:1");
  // A migctl killed half-way through its plan: the GPU holds one of its two 3g.40gb.
  const pid_t killed = ::fork();
  ASSERT_GE(killed, 0);
  if (killed == 0) {
    Open("nvmlDeviceCreateGpuInstanceWithPlacement@2=CRASH");
    const ObservedGpu before = Observe();
    (void)ChangeGpuAtomically(device(), before, PlanTo(before, true, {9, 9}), journal_, "apply -c killed",
                              true);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(killed, &status, 0), killed);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  const Strings half = Instances();
  ASSERT_EQ(half.size(), 1u);

  Open("");
  const GpuUuid uuid = Observe().snapshot.uuid;
  Result<std::optional<JournalEntry>> entry = journal_.Find(uuid, GpuIndex(0));
  ASSERT_TRUE(entry.ok() && entry->has_value());
  EXPECT_EQ((*entry)->pid, killed);
  EXPECT_EQ((*entry)->command, "apply -c killed");
  EXPECT_TRUE((*entry)->before.instances.empty()) << "the killed command found the GPU empty";
  Result<std::string> aside = journal_.SetAside(**entry);
  ASSERT_TRUE(aside.ok()) << aside.error().message;
  const std::string aside_name = fmt::format("interrupted-{}-gpu-{}.json", killed, uuid.value());
  EXPECT_EQ(*aside, run_dir_ + "/" + aside_name);
  const Result<std::string> aside_text = ReadFile(*aside);
  ASSERT_TRUE(aside_text.ok());

  // The next command fails and rolls back: to the GPU as it found it, not to the killed command's "before".
  Open("nvmlDeviceCreateGpuInstanceWithPlacement@3=UNKNOWN");
  const ObservedGpu before = Observe();
  Result<GpuChange> change = Change(before, PlanTo(before, true, {19, 19, 19, 19, 19, 19, 19}));
  ASSERT_FALSE(change.ok());
  EXPECT_TRUE(Contains(change.error().message, "was put back as this command found it"))
      << change.error().message;
  EXPECT_EQ(Instances(), half);
  EXPECT_EQ(RunDirFiles(), Strings{aside_name});
  EXPECT_EQ(ReadFile(*aside).value(), *aside_text);
}

}  // namespace
}  // namespace migctl
