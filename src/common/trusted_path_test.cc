#include "common/trusted_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace migctl {
namespace {

namespace fs = std::filesystem;

class TrustedPath : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "only root-owned paths pass; needs root (CI runs as root)";
    std::string pattern = (fs::temp_directory_path() / "migctl-trusted-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = fs::canonical(pattern);
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  std::string At(const std::string& name) const { return (dir_ / name).string(); }
  void Make(const std::string& name, mode_t mode) {
    std::ofstream(At(name)) << "x";
    ASSERT_EQ(::chmod(At(name).c_str(), mode), 0);
  }
  fs::path dir_;
};

void ExpectRefused(const Status& s, const std::string& part) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(s.error().message.find(part), std::string::npos) << s.error().message;
}

TEST_F(TrustedPath, RootOwnedFilesInRootOwnedDirectoriesPass) {
  Make("f", 0755);
  EXPECT_TRUE(CheckOnlyRootCanChange(At("f"), "program").ok());
  EXPECT_TRUE(CheckOnlyRootCanChange("/bin/sh", "program").ok());
}

TEST_F(TrustedPath, NamesWhoCanWriteAndTheFix) {
  Make("f", 0666);
  ASSERT_EQ(::chown(At("f").c_str(), 65534, 0), 0);
  Status s = CheckOnlyRootCanChange(At("f"), "hooks file");
  ExpectRefused(s, "hooks file " + At("f") + ": " + At("f") +
                       " is writable by uid 65534 (its owner), group 0 and everyone (mode 0666)");
  ExpectRefused(s, "fix: chown root " + At("f") + " && chmod go-w " + At("f"));
}

TEST_F(TrustedPath, StickyDirectoryPassesOnlyForExistingRootEntries) {
  fs::create_directory(At("tmp"));
  ASSERT_EQ(::chmod(At("tmp").c_str(), 01777), 0);
  Make("tmp/f", 0644);
  EXPECT_TRUE(CheckOnlyRootCanChange(At("tmp/f"), "program").ok());
  ExpectRefused(CheckOnlyRootCanChange(At("tmp/missing"), "program"),
                At("tmp") + " is writable by group 0 and everyone");
  ASSERT_EQ(::chmod(At("tmp").c_str(), 0777), 0);
  ExpectRefused(CheckOnlyRootCanChange(At("tmp/f"), "program"),
                At("tmp") + " is writable by group 0 and everyone");
}

TEST_F(TrustedPath, LinksAreJudgedAndFollowed) {
  fs::create_directory(At("open"));
  ASSERT_EQ(::chmod(At("open").c_str(), 0777), 0);
  Make("open/f", 0755);
  fs::create_symlink(At("open/f"), At("link"));
  ExpectRefused(CheckOnlyRootCanChange(At("link"), "program"),
                At("open") + " is writable by group 0 and everyone");
  Make("safe", 0755);
  fs::create_symlink(At("safe"), At("their-link"));
  ASSERT_EQ(::lchown(At("their-link").c_str(), 65534, 65534), 0);
  ExpectRefused(CheckOnlyRootCanChange(At("their-link"), "program"), "writable by uid 65534 (its owner)");
}

}  // namespace
}  // namespace migctl
