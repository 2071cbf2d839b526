#include "launch/ephemeral_record.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"

namespace migctl {
namespace {

namespace fs = std::filesystem;

class EphemeralRecordTest : public ::testing::Test {
 protected:
  TempDir tmp_{"ephemeral_record_test"};
  const std::string& dir_ = tmp_.path();
};

TEST_F(EphemeralRecordTest, OnlyRecordsOfRunsThatNoLongerRunAreOrphans) {
  const ProcStamp self{::getpid(), ProcessStartTime(::getpid())};
  const ProcStamp gone{::getpid(), self.start + 7};  // the same pid, another start: another process
  const std::vector<EphemeralGi> gis = {{"GPU-a", 1, 9, 4}, {"GPU-b", 2, 19, 0}};
  ASSERT_TRUE(WriteEphemeralRecord(dir_, {self, gis}).ok());
  ASSERT_TRUE(WriteEphemeralRecord(dir_, {gone, gis}).ok());
  const std::vector<EphemeralRecord> orphans = OrphanedEphemeralRecords(dir_);
  ASSERT_EQ(orphans.size(), 1u);
  EXPECT_EQ(orphans[0].owner, gone);
  EXPECT_EQ(orphans[0].gis, gis);
  struct stat st {};
  ASSERT_EQ(
      ::stat((dir_ + "/ephemeral-" + std::to_string(gone.pid) + "-" + std::to_string(gone.start) + ".json")
                 .c_str(),
             &st),
      0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Rewritten with nothing left: the file goes.
  ASSERT_TRUE(WriteEphemeralRecord(dir_, {gone, {}}).ok());
  EXPECT_TRUE(OrphanedEphemeralRecords(dir_).empty());
  EXPECT_TRUE(WriteEphemeralRecord(dir_, {gone, {}}).ok()) << "removing what is not there is fine";
}

TEST_F(EphemeralRecordTest, MalformedMisnamedAndLinkedFilesAreSkipped) {
  std::ofstream(dir_ + "/ephemeral-1-2.json") << "{not json";
  std::ofstream(dir_ + "/ephemeral-3-4.json")
      << R"({"version": 1, "pid": 5, "start_time": 6, "gpu_instances": []})";  // names another run
  std::ofstream(dir_ + "/elsewhere.json")
      << R"({"version": 1, "pid": 7, "start_time": 8, "gpu_instances": []})";
  fs::create_symlink(dir_ + "/elsewhere.json", dir_ + "/ephemeral-7-8.json");
  EXPECT_TRUE(OrphanedEphemeralRecords(dir_).empty());
  EXPECT_TRUE(OrphanedEphemeralRecords(dir_ + "/missing").empty());
  EXPECT_TRUE(EphemeralLock(dir_).ok());
}

}  // namespace
}  // namespace migctl
