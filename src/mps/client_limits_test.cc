#include "mps/client_limits.h"

#include <gtest/gtest.h>

namespace migctl::mps {
namespace {

using Env = std::vector<std::string>;

TEST(ClientEnvironment, WithoutLimitsNamesOnlyTheDaemonsDirectories) {
  EXPECT_EQ(ClientEnvironment({"/run/m/pipe", "/run/m/log"}, {}),
            (Env{"CUDA_MPS_PIPE_DIRECTORY=/run/m/pipe", "CUDA_MPS_LOG_DIRECTORY=/run/m/log"}));
}

TEST(ClientEnvironment, LimitsBecomeTheVariablesCudaReads) {
  EXPECT_EQ(ClientEnvironment({"/p", "/l"}, {14, 10240}),
            (Env{"CUDA_MPS_PIPE_DIRECTORY=/p", "CUDA_MPS_LOG_DIRECTORY=/l",
                 "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=14", "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=10240M"}));
}

TEST(ClientEnvironment, MemoryLimitAloneNamesDeviceZero) {
  Env env = ClientEnvironment({"/p", "/l"}, {std::nullopt, 512});
  ASSERT_EQ(env.size(), 3u);
  EXPECT_EQ(env[2], "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=512M");
}

TEST(ParseThreadPercentage, AutoIsAnEqualShare) {
  EXPECT_EQ(*ParseThreadPercentage("auto", 7), 14u);
  EXPECT_EQ(*ParseThreadPercentage("auto", 1), 100u);
  EXPECT_EQ(*ParseThreadPercentage("auto", 3), 33u);
}

TEST(ParseThreadPercentage, AutoIsAtLeastOneAndSurvivesZeroClients) {
  EXPECT_EQ(*ParseThreadPercentage("auto", 200), 1u);
  EXPECT_EQ(*ParseThreadPercentage("auto", 0), 100u);
}

TEST(ParseThreadPercentage, AcceptsWholeNumbersFromOneToHundred) {
  EXPECT_EQ(*ParseThreadPercentage("1", 4), 1u);
  EXPECT_EQ(*ParseThreadPercentage("50", 4), 50u);
  EXPECT_EQ(*ParseThreadPercentage("100", 4), 100u);
}

TEST(ParseThreadPercentage, RejectsEverythingElseAsBadInput) {
  for (const char* bad :
       {"", "0", "101", "-5", "+5", "50%", "12.5", "Auto", " 5", "5 ", "99999999999999999999"}) {
    Result<unsigned> r = ParseThreadPercentage(bad, 2);
    ASSERT_FALSE(r.ok()) << "'" << bad << "' was accepted as " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(r.error().message.find("'auto' or a whole number from 1 to 100"), std::string::npos);
  }
}

}  // namespace
}  // namespace migctl::mps
