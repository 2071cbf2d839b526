#include "mps/daemon_dirs.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mps/fake_control_program.h"

namespace migctl::mps {
namespace {

using DaemonDirsTest = testing::FakeMpsTest;

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(DaemonDirs, UnderARootArePipeAndLog) {
  EXPECT_EQ(DirsUnder("/tmp/x"), (DaemonDirs{"/tmp/x/pipe", "/tmp/x/log"}));
  EXPECT_EQ(ControlPipePath({"/p", "/l"}), "/p/control");
  EXPECT_EQ(ControlLogPath({"/p", "/l"}), "/l/control.log");
}

TEST_F(DaemonDirsTest, PrivateDirectoryIsCreatedWithParentsAndMode0700) {
  const std::string path = dir_ + "/a/b/pipe";
  ASSERT_TRUE(MakePrivateDirectory(path).ok());
  EXPECT_EQ(Mode(path), 0700u);
  ASSERT_TRUE(MakePrivateDirectory(path).ok()) << "a second time is fine";
}

TEST_F(DaemonDirsTest, ExistingReadableDirectoryIsMadePrivate) {
  const std::string path = dir_ + "/readable";
  ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
  ::chmod(path.c_str(), 0755);
  ASSERT_TRUE(MakePrivateDirectory(path).ok());
  EXPECT_EQ(Mode(path), 0700u);
}

TEST_F(DaemonDirsTest, ExistingWritableByOthersDirectoryIsRefusedNotRepaired) {
  // Anyone may already have planted a fake `control` pipe in it: making it 0700 now would not help.
  const std::string path = dir_ + "/open";
  ASSERT_EQ(::mkdir(path.c_str(), 0777), 0);
  ::chmod(path.c_str(), 0777);
  Status s = MakePrivateDirectory(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(s.error().message.find(path + " is writable by others"), std::string::npos) << s.error().message;
  EXPECT_EQ(Mode(path), 0777u);
}

TEST_F(DaemonDirsTest, FileOrSymlinkIsRefused) {
  std::ofstream(dir_ + "/file") << "x";
  Status file = MakePrivateDirectory(dir_ + "/file");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(file.error().message.find("is not a directory"), std::string::npos) << file.error().message;
  std::filesystem::create_directory(dir_ + "/real");
  std::filesystem::create_directory_symlink(dir_ + "/real", dir_ + "/link");
  EXPECT_FALSE(MakePrivateDirectory(dir_ + "/link").ok());
}

TEST_F(DaemonDirsTest, DirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand a directory to another user";
  const std::string path = dir_ + "/theirs";
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
  Status s = MakePrivateDirectory(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(path + " is owned by uid 65534; remove it or set MIGCTL_MPS_DIR"),
            std::string::npos)
      << s.error().message;
}

TEST_F(DaemonDirsTest, DaemonDirsUnderAForeignParentAreRefused) {
  // `run --share mps` makes ROOT/run-PID/{pipe,log}: ROOT of another user must be refused as `mps start`
  // does.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand a directory to another user";
  const std::string root = dir_ + "/migctl-mps-0";
  ASSERT_EQ(::mkdir(root.c_str(), 0700), 0);
  ASSERT_EQ(::chown(root.c_str(), 65534, 65534), 0);
  Status s = MakeDaemonDirs(DirsUnder(root + "/run-1"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(root + " is owned by uid 65534"), std::string::npos) << s.error().message;
  EXPECT_FALSE(std::filesystem::exists(root + "/run-1"));
}

TEST_F(DaemonDirsTest, LogHintQuotesOnlyWhatWasAddedSinceTheMark) {
  DaemonDirs dirs = DirsUnder(dir_);
  ASSERT_TRUE(MakeDaemonDirs(dirs).ok());
  EXPECT_EQ(DaemonLogHint(dirs), "nothing new in " + ControlLogPath(dirs));
  std::ofstream(ControlLogPath(dirs)) << "old start\nold failure\n";
  LogMark mark = MarkLogs(dirs);
  std::ofstream(ControlLogPath(dirs), std::ios::app) << "line 1\n\nline 2\nline 3\nline 4\n";
  std::ofstream(OutputLogPath(dirs)) << "usage: oops\n";
  EXPECT_EQ(DaemonLogHint(dirs, mark), ControlLogPath(dirs) + " says: line 2 | line 3 | line 4; " +
                                           OutputLogPath(dirs) + " says: usage: oops");
}

TEST_F(DaemonDirsTest, PidFileIsReadWhenItHoldsAPid) {
  DaemonDirs dirs = DirsUnder(dir_);
  ASSERT_TRUE(MakeDaemonDirs(dirs).ok());
  EXPECT_EQ(ReadDaemonPidFile(dirs), std::nullopt);
  std::ofstream(dirs.pipe_dir + "/nvidia-cuda-mps-control.pid") << "4242\n";
  EXPECT_EQ(ReadDaemonPidFile(dirs), 4242);
  std::ofstream(dirs.pipe_dir + "/nvidia-cuda-mps-control.pid") << "garbage\n";
  EXPECT_EQ(ReadDaemonPidFile(dirs), std::nullopt);
}

}  // namespace
}  // namespace migctl::mps
