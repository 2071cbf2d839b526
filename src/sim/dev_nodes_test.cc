#include "sim/dev_nodes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "common/file_io.h"

namespace migctl::sim {
namespace {

TEST(DevNodes, MinorsFollowTheDriversTable) {
  // The MIG user guide's and Slurm sites' examples: GPU 0 GI 1 CI 0-2 -> caps 12, 13-15; gpu2/gi2 -> 291.
  EXPECT_EQ(GiAccessMinor(0, 0), 3u);
  EXPECT_EQ(CiAccessMinor(0, 0, 0), 4u);
  EXPECT_EQ(GiAccessMinor(0, 1), 12u);
  EXPECT_EQ(CiAccessMinor(0, 1, 2), 15u);
  EXPECT_EQ(GiAccessMinor(2, 2), 291u);
  EXPECT_EQ(CiAccessMinor(31, 14, 7), 4322u);
  const std::string table = MigMinorsTable();
  EXPECT_EQ(table.rfind("config 1\nmonitor 2\ngpu0/gi0/access 3\ngpu0/gi0/ci0/access 4\n", 0), 0u);
  EXPECT_NE(table.find("\ngpu31/gi14/ci7/access 4322\n"), std::string::npos);
}

TEST(DevNodes, StandInsAreMadeUnderTheRoot) {
  char tmpl[] = "/tmp/devnodes-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = std::string(tmpl) + "/root";
  bool plain = false;
  ASSERT_TRUE(MakeStandInDevices(root, {0, 1}, &plain).ok());
  EXPECT_TRUE(ReadFile(root + "/proc/driver/nvidia-caps/mig-minors").ok());
  struct stat st{};
  for (const char* f : {"/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia-caps/nvidia-cap12", "/dev/nvidia-caps/nvidia-cap150"}) {
    ASSERT_EQ(::lstat((root + f).c_str(), &st), 0) << f;
    EXPECT_EQ(S_ISCHR(st.st_mode), !plain) << f;
  }
  EXPECT_NE(::lstat((root + "/dev/nvidia2").c_str(), &st), 0);
  // Again: what exists is kept.
  EXPECT_TRUE(MakeStandInDevices(root, {0, 1}, &plain).ok());
  std::filesystem::remove_all(tmpl);
}

TEST(DevNodes, ARootOthersCanWriteIsRefusedAndNothingIsMade) {
  char tmpl[] = "/tmp/devnodes-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = std::string(tmpl) + "/shared";
  ASSERT_EQ(::mkdir(root.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(root.c_str(), 0777), 0);  // anyone could plant `dev` as a link to /dev
  Status made = MakeStandInDevices(root, {0}, nullptr);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(std::filesystem::is_empty(root));
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace migctl::sim
