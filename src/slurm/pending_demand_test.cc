#include "slurm/pending_demand.h"

#include <gtest/gtest.h>

#include <ctime>

namespace migctl::slurm {
namespace {

TEST(PendingJobs, ReadsEachJobsPartitionsReasonAndTypedGpus) {
  // As Slurm 22.05 prints it (squeue -h -r -t PENDING -o "%i|%P|%r|%b"): array elements one per line.
  const std::string out =
      "14_1|debug|Resources|gres:gpu:3g.40gb:1\n14_2|debug|Priority|gres:gpu:3g.40gb:1\n"
      "15|a,b|Resources|gres:gpu:1g.10gb:3\n16|debug|None|gres/gpu:3g.40gb:2\n17|debug|Resources|gres:gpu:2\n"
      "18|debug|JobHeldUser|N/A\n19|debug|Resources|gres:gpu:1g.10gb:1,gres:license:1\n"
      "20|debug|Dependency|gpu:7g.80gb\n";
  const std::vector<PendingJob> jobs = ParsePendingJobs(out);
  ASSERT_EQ(jobs.size(), 8u);
  EXPECT_EQ(jobs[0].id, "14_1");
  EXPECT_EQ(jobs[0].gpu_types, (std::map<std::string, unsigned>{{"3g.40gb", 1}}));
  EXPECT_EQ(jobs[2].partitions, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(jobs[2].gpu_types, (std::map<std::string, unsigned>{{"1g.10gb", 3}}));
  EXPECT_EQ(jobs[3].gpu_types, (std::map<std::string, unsigned>{{"3g.40gb", 2}}));
  EXPECT_TRUE(jobs[4].gpu_types.empty()) << "gpu:2 has no type";
  EXPECT_TRUE(jobs[5].gpu_types.empty());
  EXPECT_EQ(jobs[6].gpu_types, (std::map<std::string, unsigned>{{"1g.10gb", 1}}));
  EXPECT_EQ(jobs[7].gpu_types, (std::map<std::string, unsigned>{{"7g.80gb", 1}}));
}

TEST(PendingJobs, ReadsTheSubmitTimeInLocalTime) {
  const std::vector<PendingJob> jobs =
      ParsePendingJobs("1|p|Resources|gres:gpu:1g.10gb:1|2026-12-05T07:00:00\n2|p|Resources|gpu:1g.10gb|N/A\n");
  ASSERT_EQ(jobs.size(), 2u);
  std::tm tm{};
  tm.tm_year = 2026 - 1900;
  tm.tm_mon = 11;
  tm.tm_mday = 5;
  tm.tm_hour = 7;
  tm.tm_isdst = -1;
  EXPECT_EQ(jobs[0].submitted, static_cast<long long>(std::mktime(&tm)));
  EXPECT_EQ(jobs[1].submitted, 0) << "unknown";
  EXPECT_EQ(jobs[1].gpu_types, (std::map<std::string, unsigned>{{"1g.10gb", 1}}));
}

TEST(PendingJobs, OnlyResourcesPriorityAndNoneWaitForGpus) {
  const std::vector<PendingJob> jobs = ParsePendingJobs(
      "1|p|Resources|gpu:1g.10gb\n2|p|Priority|gpu:1g.10gb\n3|p|None|gpu:1g.10gb\n4|p|JobHeldUser|gpu:1g."
      "10gb\n"
      "5|p|Dependency|gpu:1g.10gb\n6|p|ReqNodeNotAvail, UnavailableNodes:n1|gpu:1g.10gb\n");
  ASSERT_EQ(jobs.size(), 6u);
  std::vector<bool> waits;
  for (const PendingJob& j : jobs) waits.push_back(j.WaitsForResources());
  EXPECT_EQ(waits, (std::vector<bool>{true, true, true, false, false, false}));
}

TEST(PendingJobs, MayRunInAPartitionItWasSubmittedTo) {
  const PendingJob job = ParsePendingJobs("1|gpu,debug|Resources|gpu:1g.10gb\n").at(0);
  EXPECT_TRUE(job.MayRunIn({"debug"}));
  EXPECT_TRUE(job.MayRunIn({"other", "gpu"}));
  EXPECT_FALSE(job.MayRunIn({"other"}));
  EXPECT_FALSE(job.MayRunIn({}));
}

TEST(PendingJobs, IgnoresWhatItCannotRead) {
  EXPECT_TRUE(ParsePendingJobs("").empty());
  EXPECT_TRUE(ParsePendingJobs("no bar here\n|p|Resources|gpu:1g.10gb\n").empty());
  const std::vector<PendingJob> jobs =
      ParsePendingJobs("21|p|Resources|gres:gpu:3g.40gb:x\n22|p|R|gres:gpu::1\n");
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_TRUE(jobs[0].gpu_types.empty());
  EXPECT_TRUE(jobs[1].gpu_types.empty());
}

}  // namespace
}  // namespace migctl::slurm
