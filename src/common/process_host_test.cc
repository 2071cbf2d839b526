#include "common/process_host.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "common/fake_process_host.h"

namespace migctl {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

ChildOptions Program(std::vector<std::string> argv) {
  ChildOptions o;
  o.argv = std::move(argv);
  o.env = {"PATH=/usr/bin:/bin"};
  return o;
}

ChildOptions Shell(const std::string& script) { return Program({"/bin/sh", "-c", script}); }

/// A pipe whose ends close with the test.
struct Pipe {
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    read_fd = fds[0];
    write_fd = fds[1];
  }
  ~Pipe() {
    for (int fd : {read_fd, write_fd})
      if (fd >= 0) ::close(fd);
  }
  void CloseWrite() {
    ::close(write_fd);
    write_fd = -1;
  }
  /// What can be read now, without blocking; `eof` tells whether the writers have all gone.
  std::string ReadNow(bool* eof = nullptr) const {
    std::string text;
    char buf[256];
    ::fcntl(read_fd, F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = ::read(read_fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    if (eof != nullptr) *eof = n == 0;
    return text;
  }
  int read_fd = -1;
  int write_fd = -1;
};

// The real side.

TEST(RealProcessHost, RunProcessReportsTheExitStatus) {
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Shell("exit 3"), 0ms, 0ms);
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->exit_status, 3);
  EXPECT_FALSE(exit->timed_out);
}

TEST(RealProcessHost, RunProcessStopsAChildPastItsTimeWithSigterm) {
  const auto start = std::chrono::steady_clock::now();
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Program({"sleep", "30"}), 100ms, 5000ms);
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_TRUE(exit->timed_out);
  EXPECT_EQ(exit->signal, SIGTERM);
  EXPECT_EQ(exit->Describe(), "timed out, stopped by SIGTERM");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(RealProcessHost, RunProcessKillsAChildThatIgnoresSigterm) {
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Shell("trap '' TERM; sleep 30"), 100ms, 100ms);
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->Describe(), "timed out, stopped by SIGKILL");
}

TEST(RealProcessHost, RunProcessOfAMissingProgramIsNotFound) {
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Program({"no-such-program-migctl"}), 0ms, 0ms);
  ASSERT_FALSE(exit.ok());
  EXPECT_EQ(exit.error().code, ErrorCode::kNotFound);
}

TEST(RealProcessHost, WaitReturnsAtTheDeadline) {
  ProcessHost& host = RealProcessHost();
  Pipe pipe;
  std::vector<pollfd> fds = {{pipe.read_fd, POLLIN, 0}};
  const auto deadline = host.Now() + 50ms;
  Result<int> ready = host.Wait(fds, deadline);
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  EXPECT_EQ(*ready, 0);
  EXPECT_GE(host.Now(), deadline);
}

TEST(RealProcessHost, WaitReturnsAtOnceForAReadyDescriptor) {
  ProcessHost& host = RealProcessHost();
  Pipe pipe;
  ASSERT_EQ(::write(pipe.write_fd, "x", 1), 1);
  std::vector<pollfd> fds = {{pipe.read_fd, POLLIN, 0}};
  const auto start = host.Now();
  Result<int> ready = host.Wait(fds, start + 10s);
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(*ready, 1);
  EXPECT_TRUE(fds[0].revents & POLLIN);
  EXPECT_LT(host.Now() - start, 5s);
}

TEST(RealProcessHost, CommandLineOfALivingProcessOnly) {
  ProcessHost& host = RealProcessHost();
  Result<std::unique_ptr<Process>> child = host.Start(Program({"sleep", "30"}));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t pid = (*child)->pid();
  // Start returns once the exec has begun; until the kernel has laid out the new program's arguments its
  // command line reads empty (a living process all the same).
  std::optional<std::string> line = host.CommandLine(pid);
  for (int i = 0; i < 400 && line && line->empty(); ++i) {
    host.SleepUntil(host.Now() + 5ms);
    line = host.CommandLine(pid);
  }
  EXPECT_EQ(line, std::string("sleep\0"
                              "30\0",
                              9));
  EXPECT_FALSE(host.Kill(pid, SIGKILL, [](const std::string& line) { return line.starts_with("true"); }))
      << "not the process meant: not signalled";
  EXPECT_TRUE(host.CommandLine(pid).has_value());
  EXPECT_TRUE(host.Kill(pid, SIGKILL, [](const std::string& line) { return line.starts_with("sleep"); }));
  while (!(*child)->Poll()) host.SleepUntil(host.Now() + 5ms);
  EXPECT_EQ(host.CommandLine(pid), std::nullopt);
  EXPECT_FALSE(host.Kill(pid, SIGKILL, [](const std::string&) { return true; })) << "ended: nothing to signal";
}

TEST(ProgramOf, IsArgv0WithoutItsDirectory) {
  EXPECT_EQ(ProgramOf(std::string("/usr/bin/nvidia-device-plugin\0--config\0", 39)), "nvidia-device-plugin");
  EXPECT_EQ(ProgramOf(std::string("sleep\0" "30\0", 9)), "sleep");
  EXPECT_EQ(ProgramOf("/opt/x/"), "");
  EXPECT_EQ(ProgramOf(""), "");
}

// The fake side.

class FakeHostTest : public ::testing::Test {
 protected:
  FakeProcessHost host_;
  const ProcessHost::Clock::time_point t0_ = host_.epoch();
};

TEST_F(FakeHostTest, TheClockMovesOnlyInWait) {
  host_.Script("train", FakeProgram{.runs_for = 5s});
  EXPECT_EQ(host_.Now(), t0_);
  Result<std::unique_ptr<Process>> p = host_.Start(Program({"train"}));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ((*p)->Poll(), std::nullopt);
  EXPECT_EQ(host_.Now(), t0_);
  host_.SleepUntil(t0_ + 2s);
  EXPECT_EQ(host_.Now(), t0_ + 2s);
  EXPECT_EQ((*p)->Poll(), std::nullopt);
  host_.SleepUntil(t0_ + 60s);
  EXPECT_EQ(host_.Now(), t0_ + 5s) << "a wait ends at the next scripted event";
  ASSERT_TRUE((*p)->Poll().has_value());
}

TEST_F(FakeHostTest, ScriptedExitTimeAndStatusAreExact) {
  host_.Script("train", FakeProgram{.runs_for = 5s, .exit_status = 4});
  Result<ChildExit> exit = RunProcess(host_, Program({"train", "--epochs=3"}), 0ms, 0ms);
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->exit_status, 4);
  EXPECT_EQ(host_.Now(), t0_ + 5s);
  ASSERT_EQ(host_.starts().size(), 1u);
  EXPECT_EQ(host_.starts()[0].argv, (std::vector<std::string>{"train", "--epochs=3"}));
  EXPECT_EQ(host_.starts()[0].env, (std::vector<std::string>{"PATH=/usr/bin:/bin"}));
  EXPECT_EQ(host_.starts()[0].at, t0_);
}

TEST_F(FakeHostTest, TimeoutSendsSigtermWhichEndsTheProgram) {
  host_.Script("train", FakeProgram{.runs_for = FakeProgram::kForever});
  Result<ChildExit> exit = RunProcess(host_, Program({"train"}), 2s, 3s);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->Describe(), "timed out, stopped by SIGTERM");
  EXPECT_EQ(host_.Now(), t0_ + 2s);
  ASSERT_EQ(host_.signals().size(), 1u);
  EXPECT_EQ(host_.signals()[0].signal, SIGTERM);
  EXPECT_EQ(host_.signals()[0].at, t0_ + 2s);
}

TEST_F(FakeHostTest, ProgramThatIgnoresSigtermGetsSigkillAfterTheGrace) {
  host_.Script("stubborn", FakeProgram{.runs_for = FakeProgram::kForever, .ignores_sigterm = true});
  Result<ChildExit> exit = RunProcess(host_, Program({"stubborn"}), 2s, 3s);
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(exit->Describe(), "timed out, stopped by SIGKILL");
  ASSERT_EQ(host_.signals().size(), 2u);
  EXPECT_EQ(host_.signals()[0].signal, SIGTERM);
  EXPECT_EQ(host_.signals()[0].at, t0_ + 2s);
  EXPECT_EQ(host_.signals()[1].signal, SIGKILL);
  EXPECT_EQ(host_.signals()[1].at, t0_ + 5s);
}

TEST_F(FakeHostTest, StdoutReachesEndOfFileExactlyAtExit) {
  host_.Script("train", FakeProgram{.runs_for = 3s, .stdout_text = "epoch 1\n"});
  Pipe pipe;
  ChildOptions options = Program({"train"});
  options.stdout_fd = pipe.write_fd;
  Result<std::unique_ptr<Process>> p = host_.Start(options);
  ASSERT_TRUE(p.ok());
  pipe.CloseWrite();  // as a caller does once the child has its copy
  bool eof = true;
  EXPECT_EQ(pipe.ReadNow(&eof), "epoch 1\n");
  EXPECT_FALSE(eof) << "the running program holds its stdout";
  std::vector<pollfd> fds = {{pipe.read_fd, POLLIN, 0}};
  Result<int> ready = host_.Wait(fds, ProcessHost::Clock::time_point::max());
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  EXPECT_EQ(*ready, 1);
  EXPECT_EQ(host_.Now(), t0_ + 3s);
  EXPECT_EQ(pipe.ReadNow(&eof), "");
  EXPECT_TRUE(eof);
  ASSERT_TRUE((*p)->Poll().has_value());
}

TEST_F(FakeHostTest, AnInheritedFlockIsHeldExactlyForTheProgramsLife) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("fake-host-lock." + std::to_string(::getpid()))).string();
  const int lock = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);
  host_.Script("train", FakeProgram{.runs_for = 1s});
  ChildOptions options = Program({"train"});
  options.inherit_fds = {lock};
  ASSERT_TRUE(host_.Start(options).ok());
  ::close(lock);
  const int other = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  EXPECT_NE(::flock(other, LOCK_EX | LOCK_NB), 0) << "the program holds the lease";
  host_.SleepUntil(t0_ + 1s);
  EXPECT_EQ(::flock(other, LOCK_EX | LOCK_NB), 0) << "and lets go of it when it ends";
  ::close(other);
  std::filesystem::remove(path);
}

TEST_F(FakeHostTest, UnknownProgramIsNotFoundAndRecorded) {
  Result<std::unique_ptr<Process>> p = host_.Start(Program({"no-such-program"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(p.error().message, "program no-such-program not found");
  ASSERT_EQ(host_.starts().size(), 1u);
  EXPECT_EQ(host_.starts()[0].pid, 0);
}

TEST_F(FakeHostTest, BehaviourEventsAndExit) {
  std::vector<std::string> seen;
  host_.Script("daemon", [&](pid_t pid, const ChildOptions& options) {
    seen = options.argv;
    host_.At(host_.Now() + 7s, [this, pid] { host_.Exit(pid, 9); });
    return FakeProgram{.runs_for = FakeProgram::kForever};
  });
  Result<std::unique_ptr<Process>> p = host_.Start(Program({"daemon", "-f"}));
  ASSERT_TRUE(p.ok());
  const pid_t pid = (*p)->pid();
  EXPECT_GE(pid, 100000);
  EXPECT_EQ(seen, (std::vector<std::string>{"daemon", "-f"}));
  EXPECT_EQ(host_.CommandLine(pid), std::string("daemon\0-f\0", 10));
  EXPECT_EQ(host_.CommandLine(::getpid()), std::nullopt) << "only fake processes exist here";
  host_.SleepUntil(t0_ + 1h);
  EXPECT_EQ(host_.Now(), t0_ + 7s);
  std::optional<ChildExit> exit = (*p)->Poll();
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_status, 9);
  EXPECT_EQ(host_.CommandLine(pid), std::nullopt);
}

TEST_F(FakeHostTest, OnExitRunsOnceHoweverItEnds) {
  int ended = 0;
  int signal = -1;
  host_.Script("train", [&](pid_t, const ChildOptions&) {
    return FakeProgram{.runs_for = FakeProgram::kForever, .on_exit = [&](const ChildExit& exit) {
                         ++ended;
                         signal = exit.signal;
                       }};
  });
  Result<std::unique_ptr<Process>> p = host_.Start(Program({"train"}));
  ASSERT_TRUE(p.ok());
  (*p)->Signal(SIGINT);
  (*p)->Signal(SIGKILL);
  EXPECT_EQ(ended, 1);
  EXPECT_EQ(signal, SIGINT);
  EXPECT_EQ(host_.signals().size(), 1u) << "a signal to an ended process does not count";
}

TEST_F(FakeHostTest, ACallerThatSpinsGetsAnErrorInsteadOfHanging) {
  std::vector<pollfd> none;
  Result<int> ready = 0;
  int waits = 0;
  while (ready.ok() && waits < 5000) {
    ready = host_.Wait(none, host_.Now());
    ++waits;
  }
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.error().code, ErrorCode::kInternal);
  EXPECT_EQ(waits, 1000);
}

TEST_F(FakeHostTest, AWaitThatNothingCanEndIsAnError) {
  std::vector<pollfd> none;
  Result<int> ready = host_.Wait(none, ProcessHost::Clock::time_point::max());
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.error().code, ErrorCode::kInternal);
}

}  // namespace
}  // namespace migctl
