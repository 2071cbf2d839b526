#include "common/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kElsewhere = "set MIGCTL_TEST_DIR to a directory of yours";

class PrivateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "migctl-private-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = fs::canonical(pattern);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string At(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

unsigned ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

void ExpectRefused(const Result<std::string>& r, const std::string& text) {
  ASSERT_FALSE(r.ok()) << "accepted " << *r;
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find(text), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(kElsewhere), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos);
}

TEST_F(PrivateDir, CreatesMissingDirectoriesOwnedAndPrivate) {
  ::umask(0);
  Result<std::string> made = EnsurePrivateDir(At("a/b/leases"), kElsewhere);
  ::umask(022);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, At("a/b/leases"));
  for (const char* p : {"a", "a/b", "a/b/leases"}) EXPECT_EQ(ModeOf(At(p)), 0700u) << p;
  EXPECT_TRUE(EnsurePrivateDir(At("a/b/leases/"), kElsewhere).ok()) << "a second time is fine";
}

TEST_F(PrivateDir, ReturnsThePathWithLinksAboveItResolved) {
  fs::create_directory(At("real"));
  fs::create_directory_symlink(At("real"), At("link"));
  Result<std::string> made = EnsurePrivateDir(At("link/leases"), kElsewhere);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, At("real/leases"));
}

TEST_F(PrivateDir, SymlinkFileOrOpenDirectoryIsRefused) {
  fs::create_directory(At("real"));
  fs::create_directory_symlink(At("real"), At("link"));
  ExpectRefused(EnsurePrivateDir(At("link"), kElsewhere), At("link") + " is a symbolic link; remove it");
  std::ofstream(At("file")) << "x";
  ExpectRefused(EnsurePrivateDir(At("file"), kElsewhere), At("file") + " is not a directory");
  fs::create_directory(At("open"));
  ASSERT_EQ(::chmod(At("open").c_str(), 0777), 0);
  ExpectRefused(EnsurePrivateDir(At("open"), kElsewhere), At("open") + " is writable by others (mode 0777)");
  EXPECT_EQ(ModeOf(At("open")), 0777u) << "never chmod'ed";
}

TEST_F(PrivateDir, WritableAncestorIsRefusedUnlessSticky) {
  fs::create_directory(At("shared"));
  ASSERT_EQ(::chmod(At("shared").c_str(), 0777), 0);
  ExpectRefused(EnsurePrivateDir(At("shared/mine"), kElsewhere),
                At("shared") + " is writable by others (mode 0777, not sticky)");
  EXPECT_FALSE(fs::exists(At("shared/mine"))) << "nothing is created below a refused directory";
  ASSERT_EQ(::chmod(At("shared").c_str(), 01777), 0);
  EXPECT_TRUE(EnsurePrivateDir(At("shared/mine"), kElsewhere).ok());
}

TEST_F(PrivateDir, DirectoryOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand a directory to another user";
  fs::create_directory(At("theirs"));
  ASSERT_EQ(::chown(At("theirs").c_str(), 65534, 65534), 0);
  ExpectRefused(EnsurePrivateDir(At("theirs"), kElsewhere),
                At("theirs") + " is owned by uid 65534; remove it");
  ExpectRefused(EnsurePrivateDir(At("theirs/leases"), kElsewhere),
                At("theirs") + " is owned by uid 65534, who could swap what lies below it");
  EXPECT_FALSE(fs::exists(At("theirs/leases")));
}

TEST(DefaultPrivateDir, RootUsesRunAndOthersTheirRuntimeDirectory) {
  if (::geteuid() == 0) {
    EXPECT_EQ(DefaultPrivateDir("leases"), "/run/migctl/leases");
    return;
  }
  ::setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
  EXPECT_EQ(DefaultPrivateDir("leases"), "/run/user/4242/migctl/leases");
  ::unsetenv("XDG_RUNTIME_DIR");
  EXPECT_EQ(DefaultPrivateDir("leases"), "/tmp/migctl-" + std::to_string(::geteuid()) + "/leases");
}

}  // namespace
}  // namespace migctl
