#include "planner/staged_solve.h"

namespace migctl::planner {

StagedSolution SolveStages(MipProblem& mip, const std::vector<Stage>& stages,
                           std::chrono::steady_clock::time_point deadline) {
  StagedSolution out;
  out.optimal = true;
  out.values.assign(mip.columns(), 0);
  for (const Stage& stage : stages) {
    if (stage.objective.empty()) continue;
    std::chrono::duration<double> left = deadline - std::chrono::steady_clock::now();
    if (left.count() <= 0) {
      out.optimal = false;
      break;
    }
    MipSolution solution = mip.Solve(stage.objective, stage.direction, left.count());
    ++out.solves;
    if (!solution.found) {
      out.optimal = false;
      break;
    }
    out.found = true;
    out.optimal = out.optimal && solution.optimal;
    out.values = std::move(solution.values);
    mip.AddRow(stage.objective, stage.direction == Direction::kMaximize ? Sense::kAtLeast : Sense::kAtMost,
               static_cast<double>(solution.objective));
  }
  return out;
}

}  // namespace migctl::planner
