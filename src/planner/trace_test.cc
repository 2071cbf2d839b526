#include "planner/trace.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>

#include <unistd.h>

#include <gtest/gtest.h>

namespace migctl::planner {
namespace {

std::string WriteTemp(const std::string& text) {
  std::string path = ::testing::TempDir() + "pods_XXXXXX";
  const int fd = mkstemp(path.data());
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

const char kHeader[] =
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,"
    "scheduled_time\n";

TEST(LoadSharingPods, KeepsOnlyOneGpuFractions) {
  const std::string path = WriteTemp(std::string(kHeader) +
                                     "p0,12000,16384,1,1000,,LS,Running,0,1,0\n"  // a whole GPU
                                     "p1,6000,12288,1,460,,LS,Running,0,1,0\n"
                                     "p2,6000,12288,0,0,,BE,Running,0,1,0\n"  // CPU only
                                     "p3,6000,12288,2,1000,,LS,Running,0,1,0\n"
                                     "p4,6000,12288,1,50,,BE,Running,0,1,0\n");
  auto pods = LoadSharingPods(path);
  ASSERT_TRUE(pods.ok()) << pods.error().message;
  ASSERT_EQ(pods->size(), 2u);
  EXPECT_EQ((*pods)[0].name, "p1");
  EXPECT_EQ((*pods)[0].gpu_milli, 460u);
  EXPECT_EQ((*pods)[1].name, "p4");
}

TEST(LoadSharingPods, ReadsCreationAndDeletionTimes) {
  const std::string path = WriteTemp(std::string(kHeader) +
                                     "p1,6000,12288,1,460,,LS,Running,427061,12902960,427061\n"
                                     "p2,6000,12288,1,300,,LS,Running,15,,15\n");
  auto pods = LoadSharingPods(path);
  ASSERT_TRUE(pods.ok()) << pods.error().message;
  ASSERT_EQ(pods->size(), 2u);
  EXPECT_EQ((*pods)[0].created, 427061u);
  EXPECT_EQ((*pods)[0].deleted, 12902960u);
  EXPECT_EQ((*pods)[1].created, 15u);
  EXPECT_FALSE((*pods)[1].deleted.has_value());  // never deleted in the trace
}

TEST(LoadSharingPods, NamesTheBadLine) {
  const std::string path =
      WriteTemp(std::string(kHeader) + "p0,1,1,1,460,,LS,Running,0,1,0\np1,1,1,1,x,,LS\n");
  auto pods = LoadSharingPods(path);
  ASSERT_FALSE(pods.ok());
  EXPECT_EQ(pods.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(pods.error().message.find(":3:"), std::string::npos) << pods.error().message;
}

TEST(LoadSharingPods, RejectsAFileThatIsNotAPodList) {
  auto pods = LoadSharingPods(WriteTemp("sn,cpu_milli,memory_mib,gpu,model\n"));
  ASSERT_FALSE(pods.ok());
  EXPECT_EQ(pods.error().code, ErrorCode::kCorrupt);
  EXPECT_EQ(LoadSharingPods("/nonexistent/pods.csv").error().code, ErrorCode::kNotFound);
}

// The counts of the default list, computed independently of this code: 3,078 fractional
// pods; by ceil(7 * milli / 1000) slices 1: 32, 2: 280, 3: 389, 4: 971, 5: 328, 6: 1,078.
TEST(LoadSharingPods, DefaultTraceMatchesTheReferenceCounts) {
  auto pods = LoadSharingPods(std::string(MIGCTL_SOURCE_DIR) +
                              "/bench/data/alibaba-openb/openb_pod_list_default.csv");
  ASSERT_TRUE(pods.ok()) << pods.error().message;
  EXPECT_EQ(pods->size(), 3078u);
  std::map<unsigned, unsigned> by_slices;
  for (const Workload& w : AggregateNeeds(*pods, NeedMapping::kCompute))
    by_slices[*w.compute_slices] = w.count;
  EXPECT_EQ(by_slices,
            (std::map<unsigned, unsigned>{{1, 32}, {2, 280}, {3, 389}, {4, 971}, {5, 328}, {6, 1078}}));
}

TEST(NeedOf, ComputeRoundsUpToSevenths) {
  auto slices = [](unsigned milli) { return *NeedOf({"p", milli}, NeedMapping::kCompute).compute_slices; };
  EXPECT_EQ(slices(1), 1u);
  EXPECT_EQ(slices(142), 1u);  // 0.994 of a slice
  EXPECT_EQ(slices(143), 2u);  // 1.001 slices
  EXPECT_EQ(slices(470), 4u);
  EXPECT_EQ(slices(810), 6u);
  EXPECT_EQ(slices(999), 7u);
  EXPECT_EQ(NeedOf({"p", 470}, NeedMapping::kCompute).name, "4 slices");
  EXPECT_FALSE(NeedOf({"p", 470}, NeedMapping::kCompute).memory_mib);
}

TEST(NeedOf, MemoryIsTheFractionOfAn80GiBCard) {
  const Workload w = NeedOf({"p", 500}, NeedMapping::kMemory);
  EXPECT_EQ(*w.memory_mib, 40960u);
  EXPECT_FALSE(w.compute_slices);
  EXPECT_EQ(w.name, "40960 MiB");
  EXPECT_EQ(*NeedOf({"p", 1}, NeedMapping::kMemory).memory_mib, 82u);  // 81.92 rounded up
}

TEST(AggregateNeeds, MergesEqualNeedsSmallestFirst) {
  std::vector<SharingPod> pods = {{"a", 470}, {"b", 810}, {"c", 460}, {"d", 50}};
  std::vector<Workload> w = AggregateNeeds(pods, NeedMapping::kCompute);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(*w[0].compute_slices, 1u);
  EXPECT_EQ(w[0].count, 1u);
  EXPECT_EQ(*w[1].compute_slices, 4u);  // 470 and 460 both need 4 slices
  EXPECT_EQ(w[1].count, 2u);
  EXPECT_EQ(*w[2].compute_slices, 6u);
  EXPECT_EQ(PodWorkloads(pods, NeedMapping::kCompute).size(), 4u);
}

std::vector<SharingPod> Pods(unsigned n) {
  std::vector<SharingPod> pods;
  for (unsigned i = 0; i < n; ++i) pods.push_back({"p" + std::to_string(i), 100 + i});
  return pods;
}

unsigned long long Milli(const std::vector<SharingPod>& pods) {
  return std::accumulate(pods.begin(), pods.end(), 0ull,
                         [](unsigned long long sum, const SharingPod& p) { return sum + p.gpu_milli; });
}

TEST(SamplePods, StopsAtThePodThatReachesTheTarget) {
  const std::vector<SharingPod> pods = Pods(100);
  const std::vector<SharingPod> sample = SamplePods(pods, 42, 1300);
  ASSERT_FALSE(sample.empty());
  EXPECT_GE(Milli(sample), 1300u);
  EXPECT_LT(Milli(sample) - sample.back().gpu_milli, 1300u);
}

TEST(SamplePods, SameSeedSameOrderOtherSeedOtherOrder) {
  const std::vector<SharingPod> pods = Pods(100);
  auto names = [](const std::vector<SharingPod>& s) {
    std::string out;
    for (const SharingPod& p : s) out += p.name + ",";
    return out;
  };
  EXPECT_EQ(names(SamplePods(pods, 42, 5000)), names(SamplePods(pods, 42, 5000)));
  EXPECT_NE(names(SamplePods(pods, 42, 5000)), names(SamplePods(pods, 43, 5000)));
}

TEST(SamplePods, ReturnsEveryPodWhenTheTargetIsOutOfReach) {
  const std::vector<SharingPod> pods = Pods(10);
  const std::vector<SharingPod> sample = SamplePods(pods, 7, 1'000'000);
  EXPECT_EQ(sample.size(), 10u);
  EXPECT_EQ(Milli(sample), Milli(pods));
}

}  // namespace
}  // namespace migctl::planner
