#include "mps/detached_daemon.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/fake_process_host.h"
#include "common/file_io.h"
#include "mps/control_client.h"
#include "mps/fake_control_program.h"
#include "mps/scripted_control.h"

namespace migctl::mps {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::EndsWithin;
using testing::Gone;
using testing::kFakeControl;

class DetachedDaemonTest : public testing::FakeMpsTest {
 protected:
  void TearDown() override {
    // Never leave a real daemon behind, whatever a test did (and never signal a pid the fake host made up).
    if (std::optional<pid_t> pid = ReadDaemonPidFile(DirsUnder(Root()))) {
      std::optional<std::string> cmdline = RealProcessHost().CommandLine(*pid);
      if (cmdline && cmdline->find("fake-mps-control") != std::string::npos) ::kill(*pid, SIGKILL);
    }
    FakeMpsTest::TearDown();
  }
  std::string Root() { return dir_ + "/mps"; }
  DetachedOptions Options() {
    DetachedOptions o;
    o.root = Root();
    o.gpus = {GpuUuid("GPU-11111111-2222-3333-4444-555555555555")};
    return o;
  }
  bool FakeRuns(pid_t pid) { return host_.CommandLine(pid).has_value(); }

  // Tests that need time to pass play the control program on a fake clock; the others run the fake program.
  FakeProcessHost host_;
  testing::ScriptedControl control_{host_, kFakeControl};
};

/// Field `n` (1-based, as in proc(5)) of /proc/PID/stat.
long StatField(pid_t pid, int n) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // field 3 on
  std::string field;
  for (int i = 3; i <= n; ++i) rest >> field;
  return std::stol(field);
}

// Real processes: the whole round trip with the fake program, its server included.
TEST_F(DetachedDaemonTest, StartStatusStopRoundTrip) {
  DetachedOptions options = Options();
  options.default_thread_percentage = 40;
  Result<DaemonRecord> started = StartDetached(options);
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_TRUE(started->pid.has_value());
  const pid_t pid = *started->pid;
  EXPECT_EQ(started->dirs, DirsUnder(Root()));
  EXPECT_EQ(started->program, kFakeControl);
  EXPECT_EQ(started->gpus, options.gpus);
  EXPECT_NE(getppid(), pid);
  EXPECT_EQ(*ReadDaemonRecord(RecordPath(Root())), *started);

  Result<DetachedStatus> status = QueryDetached(Root());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->answering);
  EXPECT_EQ(status->pid, pid);
  EXPECT_TRUE(status->servers.empty());
  EXPECT_EQ(status->default_thread_percentage, 40.0) << "the daemon itself reports what start set";
  ASSERT_TRUE(status->record.has_value());
  EXPECT_EQ(*status->record, *started);

  ASSERT_TRUE(ControlClient(kFakeControl, DirsUnder(Root())).Send("start_server -uid 0").ok());
  status = QueryDetached(Root());
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->servers.size(), 1u);

  Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(5));
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_EQ(*stopped, pid);
  EXPECT_TRUE(Gone(pid));
  EXPECT_TRUE(EndsWithin(static_cast<pid_t>(status->servers[0]), milliseconds(2000)));
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root()))) << "stop removes the record";

  status = QueryDetached(Root());
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->answering);
  EXPECT_FALSE(status->record.has_value());
}

// Real processes: the daemon is in a session of its own, no child of migctl's.
TEST_F(DetachedDaemonTest, DaemonOutlivesTheStarter) {
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  const pid_t pid = *started->pid;
  EXPECT_FALSE(Gone(pid));
  EXPECT_NE(StatField(pid, 4), ::getpid()) << "its parent";
  EXPECT_EQ(StatField(pid, 6), pid) << "its session";
  EXPECT_TRUE(QueryDetached(Root())->answering);
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5)).ok());
}

TEST_F(DetachedDaemonTest, SecondStartIsBusyAndLeavesTheFirstAlone) {
  Result<DaemonRecord> first = StartDetached(Options(), host_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(host_.StartsOf(kFakeControl)[0].argv, (std::vector<std::string>{kFakeControl, "-d"}));
  EXPECT_NE(host_.StartsOf(kFakeControl)[0].pid, *first->pid)
      << "the daemon is not the process migctl started";
  const std::size_t starts = host_.starts().size();
  Result<DaemonRecord> second = StartDetached(Options(), host_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
  EXPECT_NE(second.error().message.find(fmt::format("(pid {}) already runs in {}", *first->pid, Root())),
            std::string::npos)
      << second.error().message;
  EXPECT_EQ(*ReadDaemonRecord(RecordPath(Root())), *first);
  EXPECT_EQ(host_.starts().size(), starts + 1) << "only the client that asked whether one answers";
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5), host_).ok());
}

TEST_F(DetachedDaemonTest, StopWithoutDaemonIsNotFound) {
  for (int i = 0; i < 2; ++i) {  // once without DIR at all, once with an empty DIR
    Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(1));
    ASSERT_FALSE(stopped.ok());
    EXPECT_EQ(stopped.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(stopped.error().message, "no MPS control daemon runs in " + Root() + ": nothing to stop");
    std::filesystem::create_directories(Root());
  }
}

TEST_F(DetachedDaemonTest, StaleRecordIsReportedAndRemovedByStop) {
  Result<DaemonRecord> started = StartDetached(Options(), host_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  // Its pid file and pipe stay behind.
  ASSERT_TRUE(host_.Kill(*started->pid, SIGKILL, [](const std::string&) { return true; }));

  Result<DetachedStatus> status = QueryDetached(Root(), host_);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_FALSE(status->answering);
  EXPECT_FALSE(status->quitting);
  EXPECT_TRUE(status->record.has_value()) << "status reports the record of the daemon that has gone";

  Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(1), host_);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kNotFound);
  EXPECT_NE(stopped.error().message.find("removed the record"), std::string::npos) << stopped.error().message;
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root())));

  Result<DaemonRecord> again = StartDetached(Options(), host_);
  EXPECT_TRUE(again.ok()) << "a dead daemon's leftovers do not block a new start: " << again.error().message;
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5), host_).ok());
}

TEST_F(DetachedDaemonTest, StopThatTimesOutIsBusyAndKeepsTheRecord) {
  control_.ignore_quit = true;
  Result<DaemonRecord> started = StartDetached(Options(), host_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  const auto stop = host_.Now();
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), milliseconds(300), host_);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kBusy);
  EXPECT_NE(stopped.error().message.find("still runs 300 ms after it was told to quit"), std::string::npos)
      << stopped.error().message;
  EXPECT_EQ(host_.Now(), stop + 300ms);
  EXPECT_TRUE(std::filesystem::exists(RecordPath(Root())));
  EXPECT_TRUE(FakeRuns(*started->pid));
  EXPECT_TRUE(host_.signals().empty()) << "a detached daemon is told, never signalled";
}

// Seen on an H200: `echo quit | nvidia-cuda-mps-control` does not return while MPS clients still run; the
// daemon quits after they have finished.
TEST_F(DetachedDaemonTest, QuitThatWaitsForClientsIsWaitedFor) {
  control_.quit_delay = 500ms;
  Result<DaemonRecord> started = StartDetached(Options(), host_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  const auto stop = host_.Now();
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(5), host_);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_FALSE(FakeRuns(*started->pid));
  EXPECT_EQ(host_.Now(), stop + 500ms);
}

TEST_F(DetachedDaemonTest, QuitThatOutlastsTheTimeoutIsBusyThenQuittingAndASecondStopWaits) {
  control_.quit_delay = 8s;
  Result<DaemonRecord> started = StartDetached(Options(), host_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  const auto quit = host_.Now();
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), milliseconds(300), host_);
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kBusy);
  EXPECT_NE(stopped.error().message.find("it quits once its clients have finished"), std::string::npos)
      << stopped.error().message;
  EXPECT_EQ(host_.Now(), quit + 300ms);

  // A quitting daemon answers no one: asking takes the client's whole 2 s.
  Result<DetachedStatus> status = QueryDetached(Root(), host_);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_FALSE(status->answering);
  EXPECT_TRUE(status->quitting);
  EXPECT_EQ(status->pid, started->pid);
  EXPECT_EQ(host_.Now(), quit + 2300ms);

  Result<std::optional<pid_t>> again = StopDetached(Root(), std::chrono::seconds(15), host_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, started->pid);
  EXPECT_FALSE(FakeRuns(*started->pid));
  EXPECT_EQ(host_.Now(), quit + 8s) << "the second stop returns as the daemon quits";
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root())));
}

TEST_F(DetachedDaemonTest, FailedStartQuotesTheLogAndRecordsNothing) {
  control_.fail_start = "no CUDA-capable device is detected";
  Result<DaemonRecord> started = StartDetached(Options(), host_);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, ErrorCode::kIo);
  EXPECT_NE(started.error().message.find("-d failed (exit status 1)"), std::string::npos)
      << started.error().message;
  EXPECT_NE(started.error().message.find("no CUDA-capable device is detected"), std::string::npos)
      << started.error().message;
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root())));
}

TEST_F(DetachedDaemonTest, RecordOfUnknownVersionIsRefusedByStatusAndStop) {
  std::filesystem::create_directories(Root());
  WriteFileAtomically(RecordPath(Root()), R"({"format": "migctl-mps", "version": 9})", 0600).ok();
  Result<DetachedStatus> status = QueryDetached(Root());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(status.error().message.find("version 9 is not known"), std::string::npos)
      << status.error().message;
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), milliseconds(300));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kCorrupt);
}

TEST_F(DetachedDaemonTest, MissingProgramIsUnsupportedEverywhere) {
  UseProgram(dir_ + "/none");
  EXPECT_EQ(StartDetached(Options()).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(QueryDetached(Root()).error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(StopDetached(Root(), milliseconds(100)).error().code, ErrorCode::kUnsupported);
}

}  // namespace
}  // namespace migctl::mps
