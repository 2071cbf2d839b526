#include "reconcile/change_counters.h"

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace migctl {
namespace {

TEST(ChangeCounters, CommandWords) {
  EXPECT_EQ(CommandOf("apply -f mig.yaml -c x"), "apply");
  EXPECT_EQ(CommandOf("create"), "create");
  EXPECT_EQ(CommandOf("mode enable"), "mode");
  EXPECT_EQ(CommandOf("slurm reshape"), "slurm reshape");
  EXPECT_EQ(CommandOf("restore ckpt.json"), "restore");
}

TEST(ChangeCounters, CountsByCommandAndKeepsTheLastOutcome) {
  TempDir dir;
  EXPECT_TRUE(ReadChangeCounters(dir.path())->empty()) << "no file yet";
  ASSERT_TRUE(RecordChange(dir.path(), "apply", true, 1.5, 1000).ok());
  ASSERT_TRUE(RecordChange(dir.path(), "apply", false, 0.25, 2000).ok());
  ASSERT_TRUE(RecordChange(dir.path(), "reshape", true, 0.5, 3000).ok());
  auto c = ReadChangeCounters(dir.path());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->at("apply").succeeded, 1u);
  EXPECT_EQ(c->at("apply").failed, 1u);
  EXPECT_FALSE(c->at("apply").last_ok);
  EXPECT_EQ(c->at("apply").last_time, 2000);
  EXPECT_EQ(c->at("apply").last_seconds, 0.25);
  EXPECT_TRUE(c->at("reshape").last_ok);
}

TEST(ChangeCounters, ConcurrentRecordersLoseNoCount) {
  TempDir dir;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(RecordChange(dir.path(), "create", true, 0.1, 1).ok());
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ReadChangeCounters(dir.path())->at("create").succeeded, 100u);
}

TEST(ChangeCounters, ARunDirectoryOthersCanChangeGetsNothingWritten) {
  TempDir dir;
  const std::string open = dir.path() + "/open";
  std::filesystem::create_directory(open);
  std::filesystem::permissions(open, std::filesystem::perms::all);
  const Status s = RecordChange(open, "apply", true, 1, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidInput) << s.error().message;
  EXPECT_FALSE(std::filesystem::exists(open + "/changes.json"));
  EXPECT_FALSE(std::filesystem::exists(open + "/changes.lock"));
}

TEST(ChangeCounters, AFileThatDoesNotParseStartsAgain) {
  TempDir dir;
  std::ofstream(dir.path() + "/changes.json") << "not json";
  EXPECT_TRUE(ReadChangeCounters(dir.path())->empty());
  ASSERT_TRUE(RecordChange(dir.path(), "create", true, 0.1, 1).ok());
  EXPECT_EQ(ReadChangeCounters(dir.path())->at("create").succeeded, 1u);
}

}  // namespace
}  // namespace migctl
