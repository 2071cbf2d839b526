#include "launch/early_stop.h"

#include <signal.h>

#include <gtest/gtest.h>

namespace migctl {
namespace {

void Marker(int) {}

TEST(EarlyStop, RecordsTheFirstSignalInsteadOfDyingAndRestoresTheHandlersAfter) {
  struct sigaction mine {};
  mine.sa_handler = Marker;
  sigemptyset(&mine.sa_mask);
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &before), 0);
  {
    EarlyStop early;
    EXPECT_EQ(early.signal(), 0);
    ASSERT_EQ(::raise(SIGINT), 0);  // would end the test binary without the handler
    ASSERT_EQ(::raise(SIGTERM), 0);
    ASSERT_EQ(::raise(SIGHUP), 0);
    EXPECT_EQ(early.signal(), SIGINT);
  }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGTERM, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, &Marker);
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  ::sigaction(SIGTERM, &before, nullptr);
}

TEST(EarlyStop, StartsClearEachTime) {
  {
    EarlyStop early;
    ASSERT_EQ(::raise(SIGHUP), 0);
    EXPECT_EQ(early.signal(), SIGHUP);
  }
  EarlyStop again;
  EXPECT_EQ(again.signal(), 0);
}

}  // namespace
}  // namespace migctl
