#include "common/stop_signals.h"

#include <poll.h>

#include <gtest/gtest.h>

namespace migctl {
namespace {

void Marker(int) {}

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

TEST(StopSignals, RecordsTheFirstSignalWakesThePipeAndRestoresTheHandlersAfter) {
  struct sigaction mine {};
  mine.sa_handler = Marker;
  sigemptyset(&mine.sa_mask);
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGTERM, &mine, &before), 0);
  {
    StopSignals stop;
    ASSERT_TRUE(stop.Install().ok());
    EXPECT_EQ(stop.signal(), 0);
    EXPECT_FALSE(Readable(stop.read_fd()));
    ASSERT_EQ(::raise(SIGINT), 0);  // would end the test binary without the handler
    ASSERT_EQ(::raise(SIGTERM), 0);
    EXPECT_EQ(stop.signal(), SIGINT);
    EXPECT_TRUE(Readable(stop.read_fd()));
    stop.Drain();
    EXPECT_FALSE(Readable(stop.read_fd()));
  }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGTERM, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, &Marker);
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  ::sigaction(SIGTERM, &before, nullptr);
}

TEST(StopSignals, AnInnerScopeSeesWhatTheOuterRecordedAndHandsBackItsPipe) {
  StopSignals outer;
  ASSERT_TRUE(outer.Install().ok());
  ASSERT_EQ(::raise(SIGHUP), 0);  // before the inner loop began
  outer.Drain();
  {
    StopSignals inner;
    ASSERT_TRUE(inner.Install(/*sigchld=*/true).ok());
    EXPECT_EQ(inner.signal(), SIGHUP);
    EXPECT_TRUE(Readable(inner.read_fd())) << "the inner loop wakes for the outer's signal";
    inner.Drain();
    ASSERT_EQ(::raise(SIGCHLD), 0);  // wakes, records nothing
    EXPECT_TRUE(Readable(inner.read_fd()));
    EXPECT_FALSE(Readable(outer.read_fd()));
  }
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_TRUE(Readable(outer.read_fd()));
  EXPECT_EQ(outer.signal(), SIGHUP);  // the first one wins
}

TEST(StopSignals, AnOutermostScopeStartsClear) {
  {
    StopSignals first;
    ASSERT_TRUE(first.Install().ok());
    ASSERT_EQ(::raise(SIGHUP), 0);
    EXPECT_EQ(first.signal(), SIGHUP);
  }
  StopSignals again;
  ASSERT_TRUE(again.Install().ok());
  EXPECT_EQ(again.signal(), 0);
}

}  // namespace
}  // namespace migctl
