#include "reconcile/journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/file_io.h"
#include "sim/test_support.h"

namespace migctl {
namespace {

constexpr const char* kGpuA = "GPU-aaaaaaaa-0000-0000-0000-000000000001";
constexpr const char* kGpuB = "GPU-bbbbbbbb-0000-0000-0000-000000000002";

/// GPU `index` with MIG on and one 3g.40gb at slots 4-7 holding its full-width CI.
GpuCheckpoint Before(const std::string& uuid, unsigned index) {
  GpuCheckpoint gpu{GpuIndex(index), GpuUuid(uuid), "NVIDIA H100 80GB HBM3", true, {}};
  gpu.instances.push_back({ProfileId(9), "3g.40gb", 4, 4, {{CiProfileId(2), "3g.40gb", 0, 3}}});
  return gpu;
}

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directory(journal_.dir()); }
  std::string Entry(const std::string& uuid) const { return journal_.dir() + "/gpu-" + uuid + ".json"; }
  /// The names of the files in the journal's directory, sorted.
  std::vector<std::string> Files() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(journal_.dir()))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  sim::testing::TempDir dir_;
  Journal journal_{dir_.File("run")};
};

TEST_F(JournalTest, AnEntryReadsBackAsWritten) {
  Result<JournalEntry> written = journal_.Begin(Before(kGpuA, 3), "apply -c custom-config");
  ASSERT_TRUE(written.ok()) << written.error().message;
  EXPECT_EQ(written->path, Entry(kGpuA));

  Result<std::optional<JournalEntry>> found = journal_.Find(GpuUuid(kGpuA), GpuIndex(3));
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  const JournalEntry& entry = **found;
  EXPECT_EQ(entry.path, Entry(kGpuA));
  EXPECT_EQ(entry.pid, ::getpid());
  EXPECT_EQ(entry.command, "apply -c custom-config");
  EXPECT_EQ(entry.before.uuid, GpuUuid(kGpuA));
  EXPECT_EQ(entry.before.index, GpuIndex(3));
  EXPECT_TRUE(entry.before.mig_enabled);
  ASSERT_EQ(entry.before.instances.size(), 1u);
  EXPECT_EQ(entry.before.instances[0].profile, ProfileId(9));
  EXPECT_EQ(entry.before.instances[0].start, 4u);
  ASSERT_EQ(entry.before.instances[0].cis.size(), 1u);
  EXPECT_EQ(entry.before.instances[0].cis[0].profile, CiProfileId(2));
}

TEST_F(JournalTest, AnEntryIsAPrivateFileOfTheUserWhoWroteIt) {
  ::umask(0);
  Result<JournalEntry> written = journal_.Begin(Before(kGpuA, 0), "create -i 0 3g.40gb");
  ::umask(022);
  ASSERT_TRUE(written.ok()) << written.error().message;
  struct stat st {};
  ASSERT_EQ(::lstat(Entry(kGpuA).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(Files(), std::vector<std::string>{"gpu-" + std::string(kGpuA) + ".json"}) << "no temporary left";
}

TEST_F(JournalTest, NoEntryIsNotAnError) {
  Result<std::optional<JournalEntry>> found = journal_.Find(GpuUuid(kGpuA), GpuIndex(0));
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_FALSE(found->has_value());
}

TEST_F(JournalTest, EachGpuHasItsOwnEntryAndEndRemovesOnlyThatOne) {
  ASSERT_TRUE(journal_.Begin(Before(kGpuA, 0), "apply").ok());
  ASSERT_TRUE(journal_.Begin(Before(kGpuB, 1), "apply").ok());
  ASSERT_TRUE(journal_.End(GpuUuid(kGpuA)).ok());
  EXPECT_FALSE(journal_.Find(GpuUuid(kGpuA), GpuIndex(0))->has_value());
  EXPECT_TRUE(journal_.Find(GpuUuid(kGpuB), GpuIndex(1))->has_value());
  EXPECT_TRUE(journal_.End(GpuUuid(kGpuA)).ok()) << "ending twice is fine";
}

TEST_F(JournalTest, BeginReplacesAnEarlierEntryForTheSameGpu) {
  ASSERT_TRUE(journal_.Begin(Before(kGpuA, 0), "apply -c first").ok());
  GpuCheckpoint empty = Before(kGpuA, 0);
  empty.instances.clear();
  ASSERT_TRUE(journal_.Begin(empty, "apply -c second").ok());
  Result<std::optional<JournalEntry>> found = journal_.Find(GpuUuid(kGpuA), GpuIndex(0));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->command, "apply -c second");
  EXPECT_TRUE((*found)->before.instances.empty());
}

TEST_F(JournalTest, SetAsideKeepsTheEntryAsACheckpointAndClearsTheWayForTheNextCommand) {
  ASSERT_TRUE(journal_.Begin(Before(kGpuA, 2), "apply -c killed").ok());
  Result<std::optional<JournalEntry>> found = journal_.Find(GpuUuid(kGpuA), GpuIndex(2));
  ASSERT_TRUE(found.ok() && found->has_value());

  Result<std::string> aside = journal_.SetAside(**found);
  ASSERT_TRUE(aside.ok()) << aside.error().message;
  const std::string name = fmt::format("interrupted-{}-gpu-{}.json", ::getpid(), kGpuA);
  EXPECT_EQ(*aside, journal_.dir() + "/" + name);
  EXPECT_EQ(Files(), std::vector<std::string>{name});
  EXPECT_FALSE(journal_.Find(GpuUuid(kGpuA), GpuIndex(2))->has_value())
      << "a set-aside entry is not an entry";

  // What `migctl restore` reads: the GPU as it was before the interrupted command.
  Result<std::string> text = ReadFile(*aside);
  ASSERT_TRUE(text.ok());
  Result<Checkpoint> restorable = ParseCheckpoint(*text, *aside);
  ASSERT_TRUE(restorable.ok()) << restorable.error().message;
  ASSERT_EQ(restorable->gpus.size(), 1u);
  EXPECT_EQ(restorable->gpus[0].uuid, GpuUuid(kGpuA));
  ASSERT_EQ(restorable->gpus[0].instances.size(), 1u);
  EXPECT_EQ(restorable->gpus[0].instances[0].start, 4u);
}

TEST_F(JournalTest, SetAsideOfAnEntryThatIsGoneIsAnIoError) {
  Result<JournalEntry> written = journal_.Begin(Before(kGpuA, 0), "apply");
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE(journal_.End(GpuUuid(kGpuA)).ok());
  Result<std::string> aside = journal_.SetAside(*written);
  ASSERT_FALSE(aside.ok());
  EXPECT_EQ(aside.error().code, ErrorCode::kIo);
  EXPECT_NE(aside.error().message.find(Entry(kGpuA)), std::string::npos) << aside.error().message;
}

TEST_F(JournalTest, AnUnreadableEntryBlocksOnlyItsOwnGpuAndSaysHowToClearIt) {
  ASSERT_TRUE(journal_.Begin(Before(kGpuB, 1), "apply").ok());
  std::ofstream(Entry(kGpuA)) << "{\"version\": 1, \"gpus\": [";

  Result<std::optional<JournalEntry>> broken = journal_.Find(GpuUuid(kGpuA), GpuIndex(0));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kCorrupt);
  const std::string& why = broken.error().message;
  EXPECT_NE(why.find(Entry(kGpuA)), std::string::npos) << why;
  EXPECT_NE(why.find("migctl status -i 0"), std::string::npos) << why;
  EXPECT_NE(why.find("delete that file"), std::string::npos) << why;

  Result<std::optional<JournalEntry>> other = journal_.Find(GpuUuid(kGpuB), GpuIndex(1));
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(other->has_value());
}

TEST_F(JournalTest, AnEntryHoldingTwoGpusIsRefused) {
  std::ofstream(Entry(kGpuA)) << CheckpointToJson({{Before(kGpuA, 0), Before(kGpuB, 1)}});
  Result<std::optional<JournalEntry>> found = journal_.Find(GpuUuid(kGpuA), GpuIndex(0));
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(found.error().message.find("exactly one GPU"), std::string::npos) << found.error().message;
}

TEST_F(JournalTest, BeginInADirectoryThatIsGoneFails) {
  Journal gone(dir_.File("missing"));
  Result<JournalEntry> written = gone.Begin(Before(kGpuA, 0), "apply");
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.error().message.find(dir_.File("missing")), std::string::npos) << written.error().message;
}

}  // namespace
}  // namespace migctl
