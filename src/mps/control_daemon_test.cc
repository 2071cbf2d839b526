#include "mps/control_daemon.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include <gtest/gtest.h>

#include "common/fake_process_host.h"
#include "common/file_io.h"
#include "mps/fake_control_program.h"
#include "mps/scripted_control.h"

namespace migctl::mps {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::EndsWithin;
using testing::Gone;
using testing::kFakeControl;

class ControlDaemonTest : public testing::FakeMpsTest {
 protected:
  DaemonOptions Options() {
    DaemonOptions o;
    o.gpus = {GpuUuid("GPU-11111111-2222-3333-4444-555555555555"),
              GpuUuid("GPU-66666666-2222-3333-4444-555555555555")};
    o.dirs = DirsUnder(dir_ + "/run");
    return o;
  }
  /// What the foreground daemon logged: to its stdout, which migctl sends to control-output.log.
  std::string ControlLog() { return ReadFile(OutputLogPath(DirsUnder(dir_ + "/run"))).value(); }
  /// The `-f` starts on the fake host.
  std::size_t DaemonStarts() const {
    std::size_t n = 0;
    for (const FakeStart& start : host_.StartsOf(kFakeControl))
      n += start.argv.size() > 1 && start.argv[1] == "-f";
    return n;
  }

  // Tests that need time to pass play the control program on a fake clock; the others run the fake program.
  FakeProcessHost host_;
  testing::ScriptedControl control_{host_, kFakeControl};
};

std::string Find(const std::vector<std::string>& env, const std::string& name) {
  for (const std::string& e : env)
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  return "<unset>";
}

TEST_F(ControlDaemonTest, ProgramComesFromTheEnvironmentVariable) {
  EXPECT_EQ(*FindControlProgram(), kFakeControl);
  UseProgram(dir_ + "/nothing-here");
  Result<std::string> missing = FindControlProgram();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(missing.error().message.find("MIGCTL_MPS_CONTROL names " + dir_ + "/nothing-here"),
            std::string::npos);
}

TEST_F(ControlDaemonTest, ProgramMissingFromPathIsUnsupported) {
  ::unsetenv("MIGCTL_MPS_CONTROL");
  std::string saved = getenv("PATH");
  ::setenv("PATH", dir_.c_str(), 1);
  Result<std::string> program = FindControlProgram();
  ::setenv("PATH", saved.c_str(), 1);
  ASSERT_FALSE(program.ok());
  EXPECT_EQ(program.error().code, ErrorCode::kUnsupported);
  EXPECT_EQ(
      program.error().message,
      "MPS is not available: nvidia-cuda-mps-control not found in PATH (install the CUDA toolkit or the "
      "driver's MPS package, or use --share none)");
}

TEST_F(ControlDaemonTest, EnvironmentIsBuiltNotInherited) {
  ::setenv("MIGCTL_SECRET_TEST_VAR", "x", 1);
  std::vector<std::string> env = ControlEnvironment({"/p", "/l"}, {GpuUuid("GPU-a"), GpuUuid("GPU-b")});
  ::unsetenv("MIGCTL_SECRET_TEST_VAR");
  EXPECT_EQ(Find(env, "CUDA_MPS_PIPE_DIRECTORY"), "/p");
  EXPECT_EQ(Find(env, "CUDA_MPS_LOG_DIRECTORY"), "/l");
  EXPECT_EQ(Find(env, "CUDA_VISIBLE_DEVICES"), "GPU-a,GPU-b");
  EXPECT_EQ(Find(env, "PATH"), getenv("PATH"));
  EXPECT_EQ(Find(env, "MIGCTL_SECRET_TEST_VAR"), "<unset>");
  EXPECT_EQ(Find(ControlEnvironment({"/p", "/l"}), "CUDA_VISIBLE_DEVICES"), "<unset>");
}

TEST_F(ControlDaemonTest, ClientWithoutDaemonSaysSo) {
  ControlClient client(kFakeControl, DirsUnder(dir_));
  EXPECT_FALSE(client.Answering());
  ASSERT_TRUE(MakeDaemonDirs(DirsUnder(dir_)).ok());
  std::ofstream(ControlPipePath(DirsUnder(dir_))) << "";  // a leftover pipe of a dead daemon
  EXPECT_FALSE(client.Answering());
  Result<std::string> reply = client.Send("get_server_list");
  ASSERT_FALSE(reply.ok());
  EXPECT_EQ(reply.error().code, ErrorCode::kNotFound);
  EXPECT_NE(reply.error().message.find("Cannot find MPS control daemon process"), std::string::npos)
      << reply.error().message;
}

// Real processes: the whole life of a daemon with the fake program, its server included.
TEST_F(ControlDaemonTest, StartsAnswersAndQuits) {
  Result<ControlDaemon> started = ControlDaemon::Start(Options());
  ASSERT_TRUE(started.ok()) << started.error().message;
  ControlDaemon& daemon = *started;
  const pid_t pid = daemon.pid();
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(ReadDaemonPidFile(daemon.dirs()), pid) << "the foreground daemon is migctl's child itself";
  EXPECT_NE(ControlLog().find("CUDA_VISIBLE_DEVICES=GPU-11111111-2222-3333-4444-555555555555,GPU-66666666"),
            std::string::npos)
      << ControlLog();
  struct stat st {};
  ASSERT_EQ(::stat(daemon.dirs().pipe_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  ASSERT_TRUE(daemon.ServerList().ok());
  EXPECT_TRUE(daemon.ServerList()->empty());
  ControlClient client(kFakeControl, daemon.dirs());
  ASSERT_TRUE(client.Send("start_server -uid 0").ok());
  Result<std::vector<unsigned>> servers = daemon.ServerList();
  ASSERT_TRUE(servers.ok()) << servers.error().message;
  ASSERT_EQ(servers->size(), 1u);

  Status stopped = daemon.Stop(std::chrono::seconds(5));
  EXPECT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_FALSE(daemon.running());
  EXPECT_TRUE(Gone(pid));
  EXPECT_TRUE(EndsWithin(static_cast<pid_t>((*servers)[0]), milliseconds(2000))) << "quit stops its servers";
  EXPECT_FALSE(client.Answering());
  EXPECT_TRUE(daemon.Stop(std::chrono::seconds(5)).ok()) << "Stop is idempotent";
}

TEST_F(ControlDaemonTest, DefaultThreadPercentageIsSentToTheDaemon) {
  DaemonOptions options = Options();
  options.default_thread_percentage = 25;
  Result<ControlDaemon> daemon = ControlDaemon::Start(options, host_);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;
  Result<std::string> reply =
      ControlClient(kFakeControl, options.dirs, host_).Send("get_default_active_thread_percentage");
  ASSERT_TRUE(reply.ok()) << reply.error().message;
  EXPECT_EQ(*reply, "25.0\n");
}

TEST_F(ControlDaemonTest, SecondDaemonOnTheSamePipeIsBusy) {
  Result<ControlDaemon> first = ControlDaemon::Start(Options(), host_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  Result<ControlDaemon> second = ControlDaemon::Start(Options(), host_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
  EXPECT_NE(second.error().message.find("already answers in " + Options().dirs.pipe_dir), std::string::npos);
  EXPECT_TRUE(first->running());
  EXPECT_EQ(DaemonStarts(), 1u) << "the second is refused before it starts anything";
}

TEST_F(ControlDaemonTest, DaemonThatExitsAtOnceIsAnIoErrorQuotingItsLog) {
  control_.fail_start = "cannot open /dev/nvidiactl";
  Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
  ASSERT_FALSE(daemon.ok());
  EXPECT_EQ(daemon.error().code, ErrorCode::kIo);
  EXPECT_NE(daemon.error().message.find("exited at once (exit status 1)"), std::string::npos)
      << daemon.error().message;
  EXPECT_NE(daemon.error().message.find("cannot open /dev/nvidiactl"), std::string::npos)
      << daemon.error().message;
}

TEST_F(ControlDaemonTest, DaemonThatNeverAnswersIsStoppedAfterTheTimeout) {
  const std::string mute = dir_ + "/mute";
  std::ofstream(mute) << "#!/bin/sh\nexec sleep 100\n";
  ::chmod(mute.c_str(), 0755);
  UseProgram(mute);
  for (bool ignores_sigterm : {false, true}) {
    host_.Script(mute, FakeProgram{.runs_for = FakeProgram::kForever, .ignores_sigterm = ignores_sigterm});
    DaemonOptions options = Options();
    options.start_timeout = milliseconds(300);
    const auto t0 = host_.Now();
    const std::size_t signals = host_.signals().size();
    Result<ControlDaemon> daemon = ControlDaemon::Start(options, host_);
    ASSERT_FALSE(daemon.ok());
    EXPECT_EQ(daemon.error().code, ErrorCode::kIo);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(daemon.error().message, m,
                                  std::regex(R"(pid (\d+)\) did not answer within 300 ms)")))
        << daemon.error().message;
    const pid_t pid = std::stoi(m[1]);
    EXPECT_EQ(host_.CommandLine(pid), std::nullopt);
    // SIGTERM at the timeout; SIGKILL 2 s later for one that ignores it.
    ASSERT_EQ(host_.signals().size(), signals + (ignores_sigterm ? 2 : 1));
    EXPECT_EQ(host_.signals()[signals].pid, pid);
    EXPECT_EQ(host_.signals()[signals].signal, SIGTERM);
    EXPECT_EQ(host_.signals()[signals].at, t0 + 300ms);
    if (ignores_sigterm) {
      EXPECT_EQ(host_.signals()[signals + 1].signal, SIGKILL);
      EXPECT_EQ(host_.signals()[signals + 1].at, t0 + 2300ms);
    }
  }
}

TEST_F(ControlDaemonTest, MissingProgramIsUnsupported) {
  UseProgram(dir_ + "/no-such-program");
  Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
  ASSERT_FALSE(daemon.ok());
  EXPECT_EQ(daemon.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(host_.starts().empty());
}

TEST_F(ControlDaemonTest, StopEscalatesWhenQuitIsIgnored) {
  control_.ignore_quit = true;
  Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;
  const pid_t pid = daemon->pid();
  const auto stop = host_.Now();
  Status stopped = daemon->Stop(milliseconds(300));
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kIo);
  EXPECT_NE(stopped.error().message.find("did not quit within 300 ms, so it was stopped with SIGTERM"),
            std::string::npos)
      << stopped.error().message;
  EXPECT_EQ(host_.CommandLine(pid), std::nullopt);
  ASSERT_EQ(host_.signals().size(), 1u);
  EXPECT_EQ(host_.signals()[0].at, stop + 300ms);
  EXPECT_NE(ControlLog().find("ignoring quit"), std::string::npos) << "quit was sent first";
  EXPECT_TRUE(daemon->Stop(milliseconds(300)).ok()) << "and the second Stop has nothing left to do";
}

// The real daemon quits only after its clients have finished, and its client blocks until then.
TEST_F(ControlDaemonTest, SlowQuitWithinTheTimeoutIsAnOrdinaryStop) {
  control_.quit_delay = 500ms;
  Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;
  const auto stop = host_.Now();
  Status stopped = daemon->Stop(std::chrono::seconds(5));
  EXPECT_TRUE(stopped.ok()) << stopped.error().message;
  EXPECT_FALSE(daemon->running());
  EXPECT_EQ(host_.Now(), stop + 500ms);
  EXPECT_TRUE(host_.signals().empty());
}

TEST_F(ControlDaemonTest, QuitSlowerThanTheTimeoutIsStoppedWithSigtermAtTheTimeout) {
  control_.quit_delay = 8s;
  Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
  ASSERT_TRUE(daemon.ok()) << daemon.error().message;
  const pid_t pid = daemon->pid();
  const auto stop = host_.Now();
  Status stopped = daemon->Stop(milliseconds(300));
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.error().message.find("did not quit within 300 ms (" + kFakeControl + " did not answer"),
            std::string::npos)
      << stopped.error().message;
  EXPECT_NE(stopped.error().message.find("so it was stopped with SIGTERM"), std::string::npos)
      << stopped.error().message;
  // The client that sent quit is stopped at the timeout too, and then the daemon.
  ASSERT_EQ(host_.signals().size(), 2u);
  EXPECT_EQ(host_.signals()[0].at, stop + 300ms);
  EXPECT_EQ(host_.signals()[1].pid, pid);
  EXPECT_EQ(host_.signals()[1].at, stop + 300ms);
}

TEST_F(ControlDaemonTest, DestructorStopsTheDaemon) {
  pid_t pid = 0;
  {
    Result<ControlDaemon> daemon = ControlDaemon::Start(Options(), host_);
    ASSERT_TRUE(daemon.ok()) << daemon.error().message;
    pid = daemon->pid();
  }
  EXPECT_EQ(host_.CommandLine(pid), std::nullopt);
  EXPECT_NE(ControlLog().find("Cmd:quit"), std::string::npos) << "it was told to quit, not killed";
  EXPECT_TRUE(host_.signals().empty());
}

TEST_F(ControlDaemonTest, MovedDaemonIsStoppedOnceByItsNewOwner) {
  Result<ControlDaemon> started = ControlDaemon::Start(Options(), host_);
  ASSERT_TRUE(started.ok()) << started.error().message;
  std::optional<ControlDaemon> owner;
  owner.emplace(std::move(started).value());
  EXPECT_TRUE(owner->running());
  EXPECT_FALSE(started->running()) << "the moved-from one owns nothing";
  const pid_t pid = owner->pid();
  EXPECT_TRUE(owner->Stop(std::chrono::seconds(5)).ok());
  EXPECT_EQ(host_.CommandLine(pid), std::nullopt);
}

// Real processes: the parent-death signal.
TEST_F(ControlDaemonTest, DaemonDiesWithMigctl) {
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t migctl = ::fork();
  ASSERT_GE(migctl, 0);
  if (migctl == 0) {  // stands in for a migctl that is killed while its run owns a daemon
    ::close(report[0]);
    Result<ControlDaemon> daemon = ControlDaemon::Start(Options());
    pid_t pid = daemon.ok() ? daemon->pid() : -1;
    [[maybe_unused]] ssize_t n = ::write(report[1], &pid, sizeof pid);
    ::pause();
    ::_exit(0);
  }
  ::close(report[1]);
  pid_t daemon_pid = -1;
  ASSERT_EQ(::read(report[0], &daemon_pid, sizeof daemon_pid), static_cast<ssize_t>(sizeof daemon_pid));
  ::close(report[0]);
  ASSERT_GT(daemon_pid, 0) << "the daemon did not start in the child";
  EXPECT_FALSE(Gone(daemon_pid));
  ::kill(migctl, SIGKILL);
  ::waitpid(migctl, nullptr, 0);
  EXPECT_TRUE(EndsWithin(daemon_pid, milliseconds(5000)))
      << "daemon " << daemon_pid << " outlived its migctl";
}

}  // namespace
}  // namespace migctl::mps
