// Lexicographic optimisation by stages: optimise the first objective, hold it at its optimum, optimise the
// next. Cleaner than one weighted objective, whose weights would have to grow with the fleet to keep the
// levels apart, and each stage is a small program.
#pragma once

#include <chrono>
#include <vector>

#include "planner/ilp.h"

namespace migctl::planner {

struct Stage {
  LinearTerms objective;
  Direction direction = Direction::kMaximize;
};

struct StagedSolution {
  bool found = false;    ///< At least one stage found a solution; else `values` are all zero.
  bool optimal = false;  ///< Every stage was solved to proven optimality.
  int solves = 0;
  std::vector<long long> values;  ///< The last stage's solution that was found.
};

/// Solves `stages` in order on `mip`, adding after each a row that holds its objective at the value found.
/// Stops early, with optimal=false, when a stage finds nothing before `deadline`: the last solution found
/// is still feasible, since every later row only narrows it.
StagedSolution SolveStages(MipProblem& mip, const std::vector<Stage>& stages,
                           std::chrono::steady_clock::time_point deadline);

}  // namespace migctl::planner
