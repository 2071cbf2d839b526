// A thin owner of one GLPK mixed-integer program: non-negative integer columns, linear rows, and solves with
// a chosen objective. GLPK stays behind this file; nothing else in migctl names it.
#pragma once

#include <string>
#include <utility>
#include <vector>

struct glp_prob;

namespace migctl::planner {

/// A sparse linear expression: (column, coefficient) pairs.
using LinearTerms = std::vector<std::pair<int, double>>;

enum class Sense { kAtMost, kAtLeast, kEqual };
enum class Direction { kMinimize, kMaximize };

/// What one solve found. `values` are the columns' values rounded to integers (every column is integer).
struct MipSolution {
  bool found = false;    ///< An integer-feasible solution exists in `values`.
  bool optimal = false;  ///< GLPK proved it optimal (zero gap).
  long long objective = 0;
  std::vector<long long> values;
};

/// Owns a glp_prob. Not copyable; not thread-safe (GLPK's terminal switch is process-wide, see Solve).
class MipProblem {
 public:
  MipProblem();
  ~MipProblem();
  MipProblem(const MipProblem&) = delete;
  MipProblem& operator=(const MipProblem&) = delete;

  /// Adds an integer column bounded to [0, upper]; returns its index (0-based, dense).
  int AddColumn(double upper);
  /// Adds the row `terms sense bound`.
  void AddRow(const LinearTerms& terms, Sense sense, double bound);

  /// Solves the program with `objective` (columns not named have coefficient 0) by GLPK's branch and bound
  /// with its MIP presolver, Gomory cuts and a zero gap, giving up after `time_limit_s` (then `optimal` is
  /// false and `found` says whether an integer solution was reached). GLPK's terminal output is off while it
  /// runs. Objectives must have integer coefficients; the optimum is then an integer.
  MipSolution Solve(const LinearTerms& objective, Direction direction, double time_limit_s);

  int columns() const;

 private:
  glp_prob* problem_;
};

/// `GLPK 5.0`.
std::string SolverName();

}  // namespace migctl::planner
