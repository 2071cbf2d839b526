#include "mps/detached_daemon.h"

#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/file_io.h"
#include "mps/control_client.h"
#include "mps/fake_control_program.h"

namespace migctl::mps {
namespace {

using std::chrono::milliseconds;
using testing::EndsWithin;
using testing::Gone;
using testing::kFakeControl;

class DetachedDaemonTest : public testing::FakeMpsTest {
 protected:
  void TearDown() override {
    // Never leave a daemon behind, whatever a test did.
    if (std::optional<pid_t> pid = ReadDaemonPidFile(DirsUnder(Root())); pid && !Gone(*pid))
      ::kill(*pid, SIGKILL);
    FakeMpsTest::TearDown();
  }
  std::string Root() { return dir_ + "/mps"; }
  DetachedOptions Options() {
    DetachedOptions o;
    o.root = Root();
    o.gpus = {GpuUuid("GPU-11111111-2222-3333-4444-555555555555")};
    return o;
  }
};

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

TEST_F(DetachedDaemonTest, DaemonOutlivesTheStarter) {
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_FALSE(Gone(*started->pid));
  EXPECT_TRUE(QueryDetached(Root())->answering);
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5)).ok());
}

TEST_F(DetachedDaemonTest, SecondStartIsBusyAndLeavesTheFirstAlone) {
  Result<DaemonRecord> first = StartDetached(Options());
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<DaemonRecord> second = StartDetached(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
  EXPECT_NE(second.error().message.find(fmt::format("(pid {}) already runs in {}", *first->pid, Root())),
            std::string::npos)
      << second.error().message;
  EXPECT_EQ(*ReadDaemonRecord(RecordPath(Root())), *first);
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5)).ok());
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
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  ::kill(*started->pid, SIGKILL);
  ASSERT_TRUE(EndsWithin(*started->pid, milliseconds(2000)));

  Result<DetachedStatus> status = QueryDetached(Root());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_FALSE(status->answering);
  EXPECT_TRUE(status->record.has_value()) << "status reports the record of the daemon that has gone";

  Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(1));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kNotFound);
  EXPECT_NE(stopped.error().message.find("removed the record"), std::string::npos) << stopped.error().message;
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root())));

  Result<DaemonRecord> again = StartDetached(Options());
  EXPECT_TRUE(again.ok()) << "a dead daemon's leftovers do not block a new start: " << again.error().message;
  ASSERT_TRUE(StopDetached(Root(), std::chrono::seconds(5)).ok());
}

TEST_F(DetachedDaemonTest, StopThatTimesOutIsBusyAndKeepsTheRecord) {
  UseProgram(FakeWith("FAKE_MPS_IGNORE_QUIT=1"));
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), milliseconds(300));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kBusy);
  EXPECT_NE(stopped.error().message.find("still runs 300 ms after it was told to quit"), std::string::npos)
      << stopped.error().message;
  EXPECT_TRUE(std::filesystem::exists(RecordPath(Root())));
  EXPECT_FALSE(Gone(*started->pid));
}

// Seen on an H200: `echo quit | nvidia-cuda-mps-control` does not return while MPS clients still run; the
// daemon quits after they have finished.
TEST_F(DetachedDaemonTest, QuitThatWaitsForClientsIsWaitedFor) {
  UseProgram(FakeWith("FAKE_MPS_QUIT_DELAY=0.5"));
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), std::chrono::seconds(5));
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_TRUE(Gone(*started->pid));
}

TEST_F(DetachedDaemonTest, QuitThatOutlastsTheTimeoutIsBusyThenQuittingAndASecondStopWaits) {
  UseProgram(FakeWith("FAKE_MPS_QUIT_DELAY=8"));
  Result<DaemonRecord> started = StartDetached(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  Result<std::optional<pid_t>> stopped = StopDetached(Root(), milliseconds(300));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kBusy);
  EXPECT_NE(stopped.error().message.find("it quits once its clients have finished"), std::string::npos)
      << stopped.error().message;

  Result<DetachedStatus> status = QueryDetached(Root());
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_FALSE(status->answering);
  EXPECT_TRUE(status->quitting);
  EXPECT_EQ(status->pid, started->pid);

  Result<std::optional<pid_t>> again = StopDetached(Root(), std::chrono::seconds(15));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, started->pid);
  EXPECT_TRUE(Gone(*started->pid));
  EXPECT_FALSE(std::filesystem::exists(RecordPath(Root())));
}

TEST_F(DetachedDaemonTest, FailedStartQuotesTheLogAndRecordsNothing) {
  UseProgram(FakeWith("FAKE_MPS_FAIL_START='no CUDA-capable device is detected'"));
  Result<DaemonRecord> started = StartDetached(Options());
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
