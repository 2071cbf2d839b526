// Task trees: records, /proc stamps, and the keeper (ChildOptions::keeper) holding a task's whole tree.
#include "common/task_tree.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/child_process.h"
#include "common/task_cgroup.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string TempDir() {
  char pattern[] = "/tmp/task_tree_test.XXXXXX";
  return ::mkdtemp(pattern);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Waits up to `limit` for `done`; whether it came true.
template <typename Fn>
bool WaitFor(Fn done, milliseconds limit = milliseconds(5000)) {
  const auto deadline = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

/// The pid a task wrote to `path`, once it has.
pid_t PidIn(const std::string& path) {
  pid_t pid = 0;
  WaitFor([&] {
    pid = static_cast<pid_t>(std::atoi(Slurp(path).c_str()));
    return pid > 0;
  });
  return pid;
}

bool Locked(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  const bool busy = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return busy;
}

TEST(TreeRecord, RoundTripsAndRefusesWhatIsNotOne) {
  TreeRecord r{ProcStamp{12, 345}, {{13, 346}, {20, 400}}, "/sys/fs/cgroup/x/worker-0"};
  EXPECT_EQ(ParseTreeRecord(FormatTreeRecord(r)), r);
  EXPECT_FALSE(ParseTreeRecord(""));
  EXPECT_FALSE(ParseTreeRecord("1234      \n"));  // the old pid-only hint
  EXPECT_FALSE(ParseTreeRecord("migctl-tree 1\nkeeper 12"));  // torn
  EXPECT_FALSE(ParseTreeRecord("migctl-tree 1\ncgroup relative/path\n"));
}

TEST(TreeRecord, ALiveProcessMakesItLiveAndAReusedPidDoesNot) {
  const ProcStamp self{::getpid(), ProcessStartTime(::getpid())};
  ASSERT_NE(self.start, 0u);
  EXPECT_TRUE(StillRuns(self));
  EXPECT_FALSE(StillRuns({self.pid, self.start + 1}));  // same pid, another process
  EXPECT_EQ(LiveProcessOf(TreeRecord{std::nullopt, {self}, ""}), self.pid);
  EXPECT_EQ(LiveProcessOf(TreeRecord{ProcStamp{self.pid, self.start + 1}, {}, ""}), std::nullopt);
}

TEST(TreeRecord, DescendantsIncludeGrandchildrenNotZombies) {
  const std::string dir = TempDir();
  ChildOptions o;
  o.argv = {"/bin/sh", "-c", "sleep 30 & echo $! > " + dir + "/gc; wait"};
  o.env = {"PATH=/usr/bin:/bin"};
  Result<Child> child = Child::Start(o);
  ASSERT_TRUE(child.ok());
  const pid_t grandchild = PidIn(dir + "/gc");
  pid_t found[64];
  const size_t n = Descendants(::getpid(), found, 64);
  EXPECT_NE(std::find(found, found + std::min<size_t>(n, 64), grandchild), found + std::min<size_t>(n, 64));
  child->Signal(SIGKILL);
  child->Wait();
  child->EndGroup(milliseconds(2000));
  std::filesystem::remove_all(dir);
}

class Keeper : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    lock_path_ = dir_ + "/lease.lock";
    lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_EQ(::flock(lock_fd_, LOCK_EX | LOCK_NB), 0);
  }
  void TearDown() override {
    if (lock_fd_ >= 0) ::close(lock_fd_);
    std::filesystem::remove_all(dir_);
  }
  /// A shell task under a keeper that holds the lock; migctl's copy of the lock is closed after Start.
  Result<Child> Start(const std::string& script, milliseconds grace = milliseconds(2000),
                      const std::string& cgroup = "") {
    ChildOptions o;
    o.argv = {"/bin/sh", "-c", script};
    o.env = {"PATH=/usr/bin:/bin", "DIR=" + dir_};
    o.keeper.enabled = true;
    o.keeper.hold_fds = {lock_fd_};
    o.keeper.record_fd = lock_fd_;
    o.keeper.grace = grace;
    o.keeper.cgroup = cgroup;
    Result<Child> child = Child::Start(o);
    ::close(lock_fd_);
    lock_fd_ = -1;
    return child;
  }
  std::string dir_, lock_path_;
  int lock_fd_ = -1;
};

TEST_F(Keeper, HoldsTheLeaseUntilASetsidGrandchildThatClosedEverythingEnds) {
  // The task closes its descriptors, starts a grandchild in a new session and exits at once.
  Result<Child> child =
      Start("exec 3>&- 4>&- 5>&-; setsid sh -c 'echo $$ > $DIR/gc; sleep 1' </dev/null >/dev/null 2>&1 & exit 3");
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t grandchild = PidIn(dir_ + "/gc");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(Locked(lock_path_));
  // The record names the keeper and, once the task's first process ended, the grandchild.
  EXPECT_TRUE(WaitFor([&] {
    std::optional<TreeRecord> r = ParseTreeRecord(Slurp(lock_path_));
    return r && r->keeper && std::any_of(r->processes.begin(), r->processes.end(),
                                         [&](const ProcStamp& p) { return p.pid == grandchild; });
  }));
  EXPECT_FALSE(child->Poll());  // the tree still lives
  const ChildExit exit = child->Wait();
  EXPECT_EQ(exit.exit_status, 3);  // the task's first process's status, not the keeper's
  EXPECT_EQ(ProcessStartTime(grandchild), 0u);
  EXPECT_FALSE(Locked(lock_path_));
}

TEST_F(Keeper, SigtermEndsEveryProcessOfTheTreeAndSigkillsThoseThatIgnoreIt) {
  Result<Child> child = Start(
      "setsid sh -c 'trap \"\" TERM; echo $$ > $DIR/gc; while :; do sleep 0.05; done' </dev/null & "
      "sleep 30",
      milliseconds(300));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t grandchild = PidIn(dir_ + "/gc");
  ASSERT_GT(grandchild, 0);
  const auto t0 = steady_clock::now();
  child->Signal(SIGTERM);
  const ChildExit exit = child->Wait();
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_GE(steady_clock::now() - t0, milliseconds(250));  // the grandchild needed the SIGKILL
  EXPECT_EQ(ProcessStartTime(grandchild), 0u);
  EXPECT_FALSE(Locked(lock_path_));
}

TEST_F(Keeper, WhenMigctlDiesTheTreeEndsWithinTheGrace) {
  // A stand-in for migctl: a fork that starts the keeper, then is SIGKILLed.
  const pid_t stand_in = ::fork();
  ASSERT_GE(stand_in, 0);
  if (stand_in == 0) {
    // The grandchild ignores SIGTERM: only the keeper's SIGKILL after the grace ends it, after the task's
    // first process has ended and the keeper's report to its dead parent has failed.
    Result<Child> child = Start(
        "setsid sh -c 'trap \"\" TERM; echo $$ > $DIR/gc; exec sleep 60' </dev/null & wait", milliseconds(200));
    if (!child.ok()) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  ::close(lock_fd_);  // the stand-in's keeper holds the lock now, not this process
  lock_fd_ = -1;
  const pid_t grandchild = PidIn(dir_ + "/gc");
  ASSERT_GT(grandchild, 0);
  ::kill(stand_in, SIGKILL);
  ::waitpid(stand_in, nullptr, 0);
  EXPECT_TRUE(WaitFor([&] { return ProcessStartTime(grandchild) == 0; }, milliseconds(3000)));
  EXPECT_TRUE(WaitFor([&] { return !Locked(lock_path_); }, milliseconds(3000)));
}

TEST_F(Keeper, AProgramThatDoesNotExistIsNotFound) {
  ChildOptions o;
  o.argv = {dir_ + "/missing"};
  o.keeper.enabled = true;
  Result<Child> child = Child::Start(o);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().code, ErrorCode::kNotFound);
}

TEST_F(Keeper, AnExecThatFailsLaterIsAStartErrorOfTheExit) {
  // Executable, but not a program exec can run: only the keeper's exec finds out.
  const std::string junk = dir_ + "/junk";
  std::ofstream(junk) << "\x7f" << "ELF garbage";
  std::filesystem::permissions(junk, std::filesystem::perms::owner_all);
  ChildOptions o;
  o.argv = {junk};
  o.keeper.enabled = true;
  Result<Child> child = Child::Start(o);
  ASSERT_TRUE(child.ok()) << child.error().message;
  const ChildExit exit = child->Wait();
  ASSERT_TRUE(exit.start_error.has_value());
  EXPECT_NE(exit.start_error->find("is not an executable file"), std::string::npos) << *exit.start_error;
  EXPECT_FALSE(exit.success());
}

TEST_F(Keeper, PutsTheTreeInItsCgroupWhereThereIsOne) {
  TaskCgroups cgroups = TaskCgroups::Create(1);
  if (cgroups.kind() == TreeTracking::kSubreaper) GTEST_SKIP() << cgroups.Describe();
  Result<Child> child = Start("echo $$ > $DIR/task; sleep 30", milliseconds(200), cgroups.Dir(0));
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t task = PidIn(dir_ + "/task");
  pid_t members[16];
  const size_t n = CgroupMembers(cgroups.Dir(0).c_str(), members, 16);
  EXPECT_NE(std::find(members, members + std::min<size_t>(n, 16), task), members + std::min<size_t>(n, 16));
  std::optional<TreeRecord> record = ParseTreeRecord(Slurp(lock_path_));
  ASSERT_TRUE(record);
  EXPECT_EQ(record->cgroup, cgroups.Dir(0));
  child->Signal(SIGTERM);
  child->Wait();
  EXPECT_EQ(CgroupMembers(cgroups.Dir(0).c_str(), members, 16), 0u);
}

TEST_F(Keeper, JoinsAV1CgroupByMigrationWhenItCannotBeBornInIt) {
  // clone3(CLONE_INTO_CGROUP) takes only cgroup v2 directories; a v1 one is joined through cgroup.procs.
  const std::string dir = "/sys/fs/cgroup/pids/migctl-keeper-test-" + std::to_string(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "no writable cgroup v1 pids hierarchy here";
  Result<Child> child = Start("echo $$ > $DIR/task; sleep 30", milliseconds(200), dir);
  ASSERT_TRUE(child.ok()) << child.error().message;
  const pid_t task = PidIn(dir_ + "/task");
  pid_t members[16];
  const size_t n = CgroupMembers(dir.c_str(), members, 16);
  EXPECT_NE(std::find(members, members + std::min<size_t>(n, 16), task), members + std::min<size_t>(n, 16));
  child->Signal(SIGTERM);
  child->Wait();
  EXPECT_EQ(CgroupMembers(dir.c_str(), members, 16), 0u);
  ::rmdir(dir.c_str());
}

}  // namespace
}  // namespace migctl
