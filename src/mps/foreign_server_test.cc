#include "mps/foreign_server.h"

#include <gtest/gtest.h>

namespace migctl::mps {
namespace {

TEST(IsMpsServer, MatchesTheNameWithOrWithoutAPathOrTruncated) {
  EXPECT_TRUE(IsMpsServer("nvidia-cuda-mps-server"));
  EXPECT_TRUE(IsMpsServer("/usr/bin/nvidia-cuda-mps-server"));
  EXPECT_TRUE(IsMpsServer("nvidia-cuda-mps"));
  EXPECT_FALSE(IsMpsServer("nvidia-cuda-mps-control"));
  EXPECT_FALSE(IsMpsServer("python"));
  EXPECT_FALSE(IsMpsServer("/opt/nvidia-cuda-mps-server/train.py"));
  EXPECT_FALSE(IsMpsServer(""));
}

TEST(CheckNoForeignServer, OrdinaryProcessesAreNoObstacle) {
  EXPECT_TRUE(CheckNoForeignServer(GpuIndex(0), {{100, "python"}, {101, ""}}, {}).ok());
  EXPECT_TRUE(CheckNoForeignServer(GpuIndex(0), {}, {}).ok());
}

TEST(CheckNoForeignServer, AnotherServerIsBusyAndNamedWithItsPid) {
  Status s =
      CheckNoForeignServer(GpuIndex(3), {{100, "python"}, {4242, "/usr/bin/nvidia-cuda-mps-server"}}, {77});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kBusy);
  EXPECT_EQ(s.error().message,
            "GPU 3 is already served by another MPS server (pid 4242); stop that daemon first (echo quit | "
            "nvidia-cuda-mps-control, with its CUDA_MPS_PIPE_DIRECTORY) or use --share none");
}

TEST(CheckNoForeignServer, OurOwnServerIsNotForeign) {
  EXPECT_TRUE(CheckNoForeignServer(GpuIndex(0), {{77, "nvidia-cuda-mps-server"}, {78, "python"}}, {77}).ok());
  Status s = CheckNoForeignServer(GpuIndex(0),
                                  {{77, "nvidia-cuda-mps-server"}, {90, "nvidia-cuda-mps-server"}}, {77});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("(pid 90)"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace migctl::mps
