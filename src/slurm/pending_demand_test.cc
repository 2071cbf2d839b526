#include "slurm/pending_demand.h"

#include <gtest/gtest.h>

namespace migctl::slurm {
namespace {

TEST(PendingGpuTypes, CountsEveryPendingJobsTypedGpus) {
  // As Slurm 22.05 prints it (squeue -h -r -t PENDING -o "%i|%b"): array elements one per line.
  const std::string out =
      "14_1|gres:gpu:3g.40gb:1\n14_2|gres:gpu:3g.40gb:1\n15|gres:gpu:1g.10gb:3\n16|gres/gpu:3g.40gb:2\n"
      "17|gres:gpu:2\n18|N/A\n19|gres:gpu:1g.10gb:1,gres:license:1\n20|gpu:7g.80gb\n";
  const std::map<std::string, unsigned> want = {{"1g.10gb", 4}, {"3g.40gb", 4}, {"7g.80gb", 1}};
  EXPECT_EQ(PendingGpuTypes(out), want);
}

TEST(PendingGpuTypes, IgnoresWhatItCannotRead) {
  EXPECT_TRUE(PendingGpuTypes("").empty());
  EXPECT_TRUE(PendingGpuTypes("no bar here\n21|gres:gpu:3g.40gb:x\n22|gres:gpu::1\n").empty());
}

}  // namespace
}  // namespace migctl::slurm
