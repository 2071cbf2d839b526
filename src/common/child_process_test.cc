#include "common/child_process.h"
#include "common/process_host.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace migctl {
namespace {

using std::chrono::milliseconds;

ChildOptions Shell(const std::string& script) {
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", script};
  o.env = {"PATH=/usr/bin:/bin"};
  return o;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "." + std::to_string(::getpid()))).string();
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ChildProcess, ReportsExitStatus) {
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Shell("exit 3"), milliseconds(0), milliseconds(0));
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_EQ(exit->exit_status, 3);
  EXPECT_FALSE(exit->success());
  EXPECT_EQ(exit->Describe(), "exit status 3");
}

TEST(ChildProcess, MissingProgramIsNotFound) {
  ChildOptions o;
  o.argv = {"no-such-program-migctl"};
  o.env = {"PATH=/usr/bin:/bin"};
  Result<ChildExit> exit = RunProcess(RealProcessHost(), o, milliseconds(0), milliseconds(0));
  ASSERT_FALSE(exit.ok());
  EXPECT_EQ(exit.error().code, ErrorCode::kNotFound);
  o.argv = {"/nonexistent/prog"};
  Result<Child> child = Child::Start(o);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, ErrorCode::kNotFound);
}

TEST(ChildProcess, EnvironmentIsExactlyTheOneGiven) {
  const std::string out = TempPath("env");
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ChildOptions o;
  o.argv = {"env"};
  o.env = {"PATH=/usr/bin:/bin", "CUDA_VISIBLE_DEVICES=MIG-x"};
  o.stdout_fd = fd;
  ASSERT_TRUE(RunProcess(RealProcessHost(), o, milliseconds(0), milliseconds(0))->success());
  ::close(fd);
  EXPECT_EQ(Slurp(out), "PATH=/usr/bin:/bin\nCUDA_VISIBLE_DEVICES=MIG-x\n");
  std::filesystem::remove(out);
}

TEST(ChildProcess, TimeoutSendsTermThenKill) {
  auto start = std::chrono::steady_clock::now();
  Result<ChildExit> exit = RunProcess(RealProcessHost(), Shell("sleep 5"), milliseconds(100), milliseconds(100));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->timed_out);
  EXPECT_EQ(exit->signal, SIGTERM);
  // A child that ignores SIGTERM is killed after the grace period.
  exit = RunProcess(RealProcessHost(), Shell("trap '' TERM; sleep 5 & wait; sleep 5"), milliseconds(100), milliseconds(200));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->timed_out);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST(ChildProcess, InheritsOnlyTheDescriptorsNamed) {
  const std::string lock = TempPath("lock");
  int kept = ::open(lock.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  int other = ::open(lock.c_str(), O_RDONLY);  // no O_CLOEXEC: must still be closed in the child
  ASSERT_GE(kept, 0);
  ASSERT_GE(other, 0);
  ChildOptions o = Shell("test -e /proc/self/fd/" + std::to_string(kept) + " && ! test -e /proc/self/fd/" +
                         std::to_string(other));
  o.inherit_fds = {kept};
  Result<ChildExit> exit = RunProcess(RealProcessHost(), o, milliseconds(0), milliseconds(0));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->success()) << exit->Describe();
  ::close(kept);
  ::close(other);
  std::filesystem::remove(lock);
}

TEST(ChildProcess, AnInheritedFlockLivesExactlyAsLongAsTheChild) {
  const std::string lock = TempPath("lease");
  int fd = ::open(lock.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  ChildOptions o = Shell("sleep 0.3");
  o.inherit_fds = {fd};
  Result<Child> child = Child::Start(o);
  ASSERT_TRUE(child.ok());
  ::close(fd);  // the child alone holds the lock now
  int probe = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_NE(::flock(probe, LOCK_EX | LOCK_NB), 0);
  child->Wait();
  EXPECT_EQ(::flock(probe, LOCK_EX | LOCK_NB), 0);
  ::close(probe);
  std::filesystem::remove(lock);
}

TEST(ChildProcess, StopReachesTheWholeProcessGroup) {
  const std::string marker = TempPath("grandchild");
  // The grandchild would create the marker after 0.5 s unless the group signal stops it.
  Result<Child> child = Child::Start(Shell("(sleep 0.5; touch " + marker + ") & wait"));
  ASSERT_TRUE(child.ok());
  std::this_thread::sleep_for(milliseconds(100));
  child->Signal(SIGTERM);
  ChildExit exit = child->Wait();
  EXPECT_EQ(exit.signal, SIGTERM);
  std::this_thread::sleep_for(milliseconds(700));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(ChildProcess, DiesWithItsParent) {
  const std::string marker = TempPath("orphan");
  std::filesystem::remove(marker);
  // A middle process starts a child that would touch the marker after 0.5 s, then exits at once; the child
  // must get SIGTERM when its parent dies.
  pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {
    Result<Child> c = Child::Start(Shell("sleep 0.5; touch " + marker));
    ::_exit(c.ok() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(middle, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::this_thread::sleep_for(milliseconds(900));
  EXPECT_FALSE(std::filesystem::exists(marker));
}

bool Running(pid_t pid) {
  const std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const std::size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

TEST(ChildProcess, EndGroupLeavesNothingOfAStoppedTaskRunning) {
  // The regression behind a flaky Ctrl-C test: migctl reaped a stopped task's shell and ended while the
  // task's background process, signalled too, had not died yet.
  const std::string pidfile = TempPath("endgroup-pid");
  Result<Child> child = Child::Start(Shell("sleep 30 & echo $! > " + pidfile + "; exit 0"));
  ASSERT_TRUE(child.ok()) << child.error().message;
  child->Wait();
  const pid_t background = std::stoi(Slurp(pidfile));
  std::filesystem::remove(pidfile);
  ASSERT_TRUE(Running(background)) << "the group's leftover runs until EndGroup";
  child->EndGroup(milliseconds(5000));
  EXPECT_FALSE(Running(background));
}

}  // namespace
}  // namespace migctl
