#include "planner/staged_solve.h"

#include <gtest/gtest.h>

namespace migctl::planner {
namespace {

TEST(SolveStages, LaterStagesKeepEarlierOptima) {
  // Stage 1: max a + b with a + b <= 4. Stage 2: min a. Without stage 1 held, stage 2 would pick a = b = 0.
  MipProblem mip;
  int a = mip.AddColumn(3), b = mip.AddColumn(3);
  mip.AddRow({{a, 1}, {b, 1}}, Sense::kAtMost, 4);
  StagedSolution s =
      SolveStages(mip, {{{{a, 1}, {b, 1}}, Direction::kMaximize}, {{{a, 1}}, Direction::kMinimize}},
                  std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_TRUE(s.found);
  EXPECT_TRUE(s.optimal);
  EXPECT_EQ(s.solves, 2);
  EXPECT_EQ(s.values, (std::vector<long long>{1, 3}));
}

TEST(SolveStages, PastTheDeadlineNothingIsSolved) {
  MipProblem mip;
  int a = mip.AddColumn(3);
  StagedSolution s = SolveStages(mip, {{{{a, 1}}, Direction::kMaximize}}, std::chrono::steady_clock::now());
  EXPECT_FALSE(s.found);
  EXPECT_FALSE(s.optimal);
  EXPECT_EQ(s.values, (std::vector<long long>{0}));
}

TEST(SolveStages, EmptyObjectivesAreSkipped) {
  MipProblem mip;
  int a = mip.AddColumn(2);
  StagedSolution s = SolveStages(mip, {{{}, Direction::kMaximize}, {{{a, 1}}, Direction::kMaximize}},
                                 std::chrono::steady_clock::now() + std::chrono::seconds(10));
  EXPECT_EQ(s.solves, 1);
  EXPECT_EQ(s.values, (std::vector<long long>{2}));
}

}  // namespace
}  // namespace migctl::planner
