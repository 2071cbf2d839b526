#include "layout/feasibility.h"

#include <gtest/gtest.h>

#include "layout/test_models.h"

namespace migctl {
namespace {

using testing::A100_40gb;

TEST(CheckAddition, OneGCannotStartAtSlotSeven) {
  EXPECT_EQ(CheckAddition(A100_40gb(), {}, {ProfileId(19), 7}), Conflict::kBadStart);
}

TEST(CheckAddition, OverlapComputeAndLimitAreSeparateReasons) {
  GpuModel m = A100_40gb();
  EXPECT_EQ(CheckAddition(m, {{ProfileId(9), 4}}, {ProfileId(19), 5}), Conflict::kOverlap);
  EXPECT_EQ(CheckAddition(m, {{ProfileId(9), 0}, {ProfileId(9), 4}}, {ProfileId(19), 0}), Conflict::kOverlap);
  EXPECT_EQ(CheckAddition(m, {{ProfileId(5), 0}}, {ProfileId(5), 0}), Conflict::kInstanceLimit);
  // Three 2g and a double-memory 1g fill all 8 slots with 7 compute slices.
  Layout three_twos = {{ProfileId(14), 0}, {ProfileId(14), 2}, {ProfileId(14), 4}};
  EXPECT_EQ(CheckAddition(m, three_twos, {ProfileId(15), 6}), Conflict::kNone);
  // 2g,2g,2g,1g@6 use 7 compute slices; slot 7 is free but nothing may start there and compute is exhausted.
  three_twos.push_back({ProfileId(19), 6});
  EXPECT_EQ(CheckAddition(m, three_twos, {ProfileId(19), 7}), Conflict::kBadStart);
  Layout six_ones;
  for (unsigned s = 0; s < 6; ++s) six_ones.push_back({ProfileId(19), s});
  EXPECT_EQ(CheckAddition(m, six_ones, {ProfileId(19), 6}), Conflict::kNone);
  EXPECT_EQ(CheckAddition(m, six_ones, {ProfileId(14), 4}), Conflict::kComputeExceeded);
}

TEST(CheckAddition, OnlyOneMediaExtensionPerGpu) {
  GpuModel m = testing::A30();
  EXPECT_EQ(CheckAddition(m, {{ProfileId(21), 0}}, {ProfileId(6), 2}), Conflict::kMediaExclusive);
  EXPECT_EQ(CheckAddition(m, {{ProfileId(21), 0}}, {ProfileId(14), 1}), Conflict::kNone);
}

// Regression: `migctl check --model a100-80gb` with eight 1g.10gb said "at most 7 1g.10gb per GPU, and 7
// already exist" about an empty GPU.
TEST(CheckLayout, OneInstanceTooManySaysHowManyFitAndHowManyWereAsked) {
  Layout eight;
  for (unsigned s = 0; s < 7; ++s) eight.push_back({ProfileId(19), s});
  eight.push_back({ProfileId(19), 0});
  Status status = CheckLayout(A100_40gb(), eight);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "at most 7 1g.5gb fit on an a100-40gb; 8 were asked");
}

TEST(ExplainInstanceLimit, NamesTheInstancesThatAlreadyExist) {
  GpuModel m = A100_40gb();
  EXPECT_EQ(ExplainInstanceLimit(m, *m.FindProfile(ProfileId(20)), 0, 2),
            "at most 1 1g.5gb+me fits on an a100-40gb; 2 were asked");
  EXPECT_EQ(ExplainInstanceLimit(m, *m.FindProfile(ProfileId(19)), 3, 5),
            "at most 7 1g.5gb fit on an a100-40gb; 3 exist and 5 more were asked");
}

TEST(CheckLayout, ExplainsWhatIsInTheWay) {
  auto status = CheckLayout(A100_40gb(), {{ProfileId(9), 4}, {ProfileId(14), 4}});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kInfeasible);
  EXPECT_EQ(status.error().message, "slots 4-5 of 2g.10gb@4 are taken by 3g.20gb@4");
}

TEST(CheckLayout, UnknownProfileAndBadStartAreInvalidInput) {
  EXPECT_EQ(CheckLayout(A100_40gb(), {{ProfileId(99), 0}}).error().code, ErrorCode::kInvalidInput);
  auto bad = CheckLayout(A100_40gb(), {{ProfileId(14), 6}});
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidInput);
  EXPECT_EQ(bad.error().message, "2g.10gb cannot start at slot 6: its placements start at {0,2,4}");
}

// facts §6.2: after a 3g at 4:4, remaining 1g = 4, 2g = 2, 3g = 1, 4g = 1, 7g = 0.
TEST(RemainingCapacity, MatchesTheDriverAfterAThreeGAtFour) {
  GpuModel m = A100_40gb();
  Layout l = {{ProfileId(9), 4}};
  EXPECT_EQ(RemainingCapacity(m, l, ProfileId(19)), 4u);
  EXPECT_EQ(RemainingCapacity(m, l, ProfileId(14)), 2u);
  EXPECT_EQ(RemainingCapacity(m, l, ProfileId(9)), 1u);
  EXPECT_EQ(RemainingCapacity(m, l, ProfileId(5)), 1u);
  EXPECT_EQ(RemainingCapacity(m, l, ProfileId(0)), 0u);
  EXPECT_EQ(RemainingCapacity(m, {}, ProfileId(19)), 7u);
  EXPECT_EQ(RemainingCapacity(m, {}, ProfileId(15)), 4u);
}

}  // namespace
}  // namespace migctl
