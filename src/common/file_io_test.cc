#include "common/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "migctl-file-io-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string At(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void Plant(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::set<std::string> Entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

/// Sets the umask for the scope.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST_F(FileIo, WritesExactModeWhateverTheUmask) {
  Umask open(0);
  ASSERT_TRUE(WriteFileAtomically(At("private"), "secret", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(At("public"), "config", 0644).ok());
  EXPECT_EQ(ModeOf(At("private")), 0600u);
  EXPECT_EQ(ModeOf(At("public")), 0644u);
  EXPECT_EQ(Slurp(At("private")), "secret");
  Umask strict(077);
  ASSERT_TRUE(WriteFileAtomically(At("public"), "again", 0644, /*durable=*/true).ok());
  EXPECT_EQ(ModeOf(At("public")), 0644u);
  EXPECT_EQ(Slurp(At("public")), "again");
}

TEST_F(FileIo, ReplacesWithoutLeavingTemporaryFiles) {
  ASSERT_TRUE(WriteFileAtomically(At("f"), "one", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(At("f"), "two", 0644).ok());
  EXPECT_EQ(Slurp(At("f")), "two");
  EXPECT_EQ(Entries(dir_), std::set<std::string>{"f"});
}

TEST_F(FileIo, PlantedPredictableTempSymlinkIsNotFollowed) {
  // The old writer opened NAME.tmp.<pid> following links: a link there overwrote its target.
  Plant(At("victim"), "precious", 0600);
  fs::create_symlink(At("victim"), At("out.tmp." + std::to_string(::getpid())));
  ASSERT_TRUE(WriteFileAtomically(At("out"), "new", 0644).ok());
  EXPECT_EQ(Slurp(At("victim")), "precious");
  EXPECT_EQ(ModeOf(At("victim")), 0600u);
  EXPECT_EQ(Slurp(At("out")), "new");
}

TEST_F(FileIo, SymlinkAtTheTargetIsRefusedAndItsTargetUntouched) {
  Plant(At("victim"), "precious", 0600);
  fs::create_symlink(At("victim"), At("out"));
  Status s = WriteFileAtomically(At("out"), "new", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(s.error().message.find(At("out") + " is a symbolic link"), std::string::npos)
      << s.error().message;
  EXPECT_EQ(Slurp(At("victim")), "precious");
  EXPECT_TRUE(fs::is_symlink(At("out")));
}

TEST_F(FileIo, DirectoryOrFifoTargetIsRefusedInOneLine) {
  fs::create_directory(At("d"));
  Status s = WriteFileAtomically(At("d"), "x", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(s.error().message, At("d") + " is a directory; name a file to write");
  ASSERT_EQ(::mkfifo(At("fifo").c_str(), 0600), 0);
  s = WriteFileAtomically(At("fifo"), "x", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("is not a regular file"), std::string::npos);
  EXPECT_EQ(Entries(dir_), (std::set<std::string>{"d", "fifo"}));
}

TEST_F(FileIo, MissingDirectoryIsNotFound) {
  Status s = WriteFileAtomically(At("no/such"), "x", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_NE(s.error().message.find(At("no")), std::string::npos);
}

TEST_F(FileIo, SigkillLeavesNoTempFiles) {
  // Writers killed at random points of large writes. The content is written unnamed (O_TMPFILE), so a kill
  // leaves the old or the new file; only a kill between link and rename (microseconds) can leave a hidden,
  // unpredictable name, which the next write removes once it is stale.
  const std::string target = At("big");
  for (int round = 0; round < 8; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string text(4 << 20, static_cast<char>('a' + round));
      for (;;) (void)WriteFileAtomically(target, text, 0600);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + 23 * round));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status));
    for (const std::string& name : Entries(dir_)) {
      if (name == "big") continue;
      EXPECT_TRUE(name.starts_with(".big.") && name.ends_with(".migctl-tmp") && name.size() == 32) << name;
      const struct timespec old[2] = {{::time(nullptr) - 120, 0}, {::time(nullptr) - 120, 0}};
      ASSERT_EQ(::utimensat(AT_FDCWD, At(name).c_str(), old, AT_SYMLINK_NOFOLLOW), 0);
    }
    ASSERT_TRUE(WriteFileAtomically(target, "after", 0600).ok());
    EXPECT_EQ(Entries(dir_), std::set<std::string>{"big"});
    EXPECT_EQ(Slurp(target), "after");
  }
}

TEST_F(FileIo, AFreshTemporaryOfAnotherWriterIsLeftAlone) {
  const std::string live = At(".f.0123456789abcdef.migctl-tmp");
  Plant(live, "in flight", 0600);
  ASSERT_TRUE(WriteFileAtomically(At("f"), "one", 0644).ok());
  ASSERT_TRUE(WriteFileAtomically(At("f"), "two", 0644).ok());
  EXPECT_EQ(Slurp(live), "in flight");
}

TEST_F(FileIo, ReadingDevZeroIsOneLineError) {
  Result<std::string> text = ReadFile("/dev/zero");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(text.error().message, "/dev/zero is larger than 64 MiB: is it the right file?");
}

TEST_F(FileIo, ReadFileHonoursItsCap) {
  Plant(At("f"), std::string(100, 'a'), 0644);
  EXPECT_EQ(ReadFile(At("f"), 100).value(), std::string(100, 'a'));
  Result<std::string> text = ReadFile(At("f"), 99);
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().message, At("f") + " is larger than 99 bytes: is it the right file?");
}

TEST_F(FileIo, ReadingADirectoryOrAMissingFileIsAUserError) {
  Result<std::string> dir = ReadFile(dir_.string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(dir.error().message, dir_.string() + " is a directory, not a file");
  EXPECT_TRUE(IsUserError(dir.error()));
  Result<std::string> missing = ReadFile(At("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(IsUserError(missing.error()));
}

TEST_F(FileIo, OpenForAppendCreatesWithExactModeAndAppends) {
  Umask open(0);
  for (const char* line : {"a\n", "b\n"}) {
    Result<int> fd = OpenForAppend(At("log"), O_WRONLY, 0600);
    ASSERT_TRUE(fd.ok()) << fd.error().message;
    ASSERT_EQ(::write(*fd, line, 2), 2);
    ::close(*fd);
  }
  EXPECT_EQ(Slurp(At("log")), "a\nb\n");
  EXPECT_EQ(ModeOf(At("log")), 0600u);
}

TEST_F(FileIo, OpenForAppendRefusesSymlinksFifosAndHardLinks) {
  Plant(At("victim"), "precious", 0600);
  fs::create_symlink(At("victim"), At("link"));
  ASSERT_EQ(::mkfifo(At("fifo").c_str(), 0600), 0);
  fs::create_hard_link(At("victim"), At("hard"));
  for (const auto& [name, why] : std::vector<std::pair<std::string, std::string>>{
           {"link", "is a symbolic link"}, {"fifo", "is not a regular file"}, {"hard", "has 2 hard links"}}) {
    Result<int> fd = OpenForAppend(At(name), O_WRONLY, 0644);
    ASSERT_FALSE(fd.ok()) << name;
    EXPECT_EQ(fd.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(fd.error().message.find(At(name) + " " + why), std::string::npos) << fd.error().message;
  }
  EXPECT_EQ(Slurp(At("victim")), "precious");
  EXPECT_EQ(ModeOf(At("victim")), 0600u);
}

TEST_F(FileIo, OpenForAppendRefusesAnotherUsersFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  Plant(At("theirs"), "theirs", 0666);
  ASSERT_EQ(::chown(At("theirs").c_str(), 65534, 65534), 0);
  Result<int> fd = OpenForAppend(At("theirs"), O_RDWR, 0644);
  ASSERT_FALSE(fd.ok());
  EXPECT_NE(fd.error().message.find("belongs to uid 65534"), std::string::npos) << fd.error().message;
  EXPECT_EQ(Slurp(At("theirs")), "theirs");
}

TEST_F(FileIo, OpenForAppendInMissingDirectoryIsNotFound) {
  Result<int> fd = OpenForAppend(At("no/log"), O_WRONLY, 0644);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().code, ErrorCode::kNotFound);
}

TEST_F(FileIo, LockDoesNotFollowSymlinkNorChangeModes) {
  Plant(At("victim"), "precious", 0600);
  fs::create_symlink(At("victim"), At("lock"));
  Result<FileLock> lock = FileLock::Acquire(At("lock"), LOCK_EX);
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(lock.error().message.find(At("lock")), std::string::npos);
  Umask open(0);
  ASSERT_TRUE(FileLock::Acquire(At("fresh"), LOCK_EX).ok());
  EXPECT_EQ(ModeOf(At("fresh")), 0600u);
  EXPECT_EQ(Slurp(At("victim")), "precious");
}

TEST_F(FileIo, TryAcquireIsBusyWhileHeld) {
  Result<FileLock> held = FileLock::Acquire(At("lock"), LOCK_EX);
  ASSERT_TRUE(held.ok());
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Result<FileLock> other = FileLock::TryAcquire(At("lock"), LOCK_EX);
    ::_exit(!other.ok() && other.error().code == ErrorCode::kBusy ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace migctl
