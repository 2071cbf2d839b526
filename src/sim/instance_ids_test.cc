#include "sim/instance_ids.h"

#include <gtest/gtest.h>

#include "sim/test_support.h"
#include "sim/uuid.h"

namespace migctl::sim {
namespace {

/// A GPU UUID whose hash has the given parity, so the test pins down both swizzles.
std::string UuidWithParity(bool odd) {
  for (int i = 0;; ++i) {
    std::string uuid = "GPU-" + std::to_string(i);
    if (((Hash64(uuid, 0) & 1) != 0) == odd) return uuid;
  }
}

TEST(GpuInstanceIds, FollowTheBuddyTableOrItsMirror) {
  const GpuModel& model = testing::Model("h100-80gb");
  std::string plain = UuidWithParity(false), mirrored = UuidWithParity(true);
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 0, 8, {}), 0u);
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 0, 4, {}), 1u);
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 4, 4, {}), 2u);
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 2, 2, {}), 4u);
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 6, 1, {}), 13u);
  // Mirrored halves: 4g@0 gets 2 and 1g@4..6 get 7..9, as seen on one of two H100s of a node.
  EXPECT_EQ(AssignGpuInstanceId(model, mirrored, 0, 4, {}), 2u);
  EXPECT_EQ(AssignGpuInstanceId(model, mirrored, 4, 1, {}), 7u);
  EXPECT_EQ(AssignGpuInstanceId(model, mirrored, 0, 1, {}), 11u);
}

TEST(GpuInstanceIds, FallBackToSmallestFreeIdWhenTaken) {
  const GpuModel& model = testing::Model("h100-80gb");
  std::string plain = UuidWithParity(false);
  std::vector<SimGpuInstance> existing = {{1, 5, 0, 4, {}}, {0, 0, 0, 0, {}}};
  EXPECT_EQ(AssignGpuInstanceId(model, plain, 0, 4, existing), 2u);
}

TEST(ComputeInstanceIds, SmallestFree) {
  SimGpuInstance gi{1, 9, 0, 4, {{0, 0, 0, 1, ""}, {2, 0, 2, 1, ""}}};
  EXPECT_EQ(AssignComputeInstanceId(gi), 1u);
}

}  // namespace
}  // namespace migctl::sim
