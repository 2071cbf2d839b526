#include "planner/ilp.h"

#include <gtest/gtest.h>

namespace migctl::planner {
namespace {

TEST(MipProblem, SolvesAnIntegerKnapsackExactly) {
  // max 5a + 4b + 3c  s.t.  2a + 3b + c <= 5, 4a + b + 2c <= 11, 3a + 4b + 2c <= 8: the optimum is 13 at
  // (2, 0, 1), while the LP relaxation is fractional.
  MipProblem mip;
  int a = mip.AddColumn(10), b = mip.AddColumn(10), c = mip.AddColumn(10);
  mip.AddRow({{a, 2}, {b, 3}, {c, 1}}, Sense::kAtMost, 5);
  mip.AddRow({{a, 4}, {b, 1}, {c, 2}}, Sense::kAtMost, 11);
  mip.AddRow({{a, 3}, {b, 4}, {c, 2}}, Sense::kAtMost, 8);
  MipSolution s = mip.Solve({{a, 5}, {b, 4}, {c, 3}}, Direction::kMaximize, 10);
  ASSERT_TRUE(s.found);
  EXPECT_TRUE(s.optimal);
  EXPECT_EQ(s.objective, 13);
  EXPECT_EQ(s.values, (std::vector<long long>{2, 0, 1}));
}

TEST(MipProblem, UpperBoundZeroFixesAColumn) {
  MipProblem mip;
  int a = mip.AddColumn(0), b = mip.AddColumn(3);
  MipSolution s = mip.Solve({{a, 1}, {b, 1}}, Direction::kMaximize, 10);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(s.values, (std::vector<long long>{0, 3}));
}

TEST(MipProblem, ReportsInfeasibility) {
  MipProblem mip;
  int a = mip.AddColumn(2);
  mip.AddRow({{a, 1}}, Sense::kAtLeast, 3);
  MipSolution s = mip.Solve({{a, 1}}, Direction::kMinimize, 10);
  EXPECT_FALSE(s.found);
  EXPECT_FALSE(s.optimal);
}

TEST(SolverName, NamesGlpkAndItsVersion) { EXPECT_EQ(SolverName().rfind("GLPK ", 0), 0u); }

}  // namespace
}  // namespace migctl::planner
