#include "planner/ilp.h"

#include <glpk.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace migctl::planner {
namespace {

/// Turns GLPK's terminal output off for a scope and restores the previous setting.
class QuietGlpk {
 public:
  QuietGlpk() : previous_(glp_term_out(GLP_OFF)) {}
  ~QuietGlpk() { glp_term_out(previous_); }
  QuietGlpk(const QuietGlpk&) = delete;
  QuietGlpk& operator=(const QuietGlpk&) = delete;

 private:
  int previous_;
};

}  // namespace

MipProblem::MipProblem() : problem_(glp_create_prob()) {}

MipProblem::~MipProblem() { glp_delete_prob(problem_); }

int MipProblem::AddColumn(double upper) {
  int j = glp_add_cols(problem_, 1);
  glp_set_col_kind(problem_, j, GLP_IV);
  glp_set_col_bnds(problem_, j, upper > 0 ? GLP_DB : GLP_FX, 0, std::max(upper, 0.0));
  return j - 1;
}

void MipProblem::AddRow(const LinearTerms& terms, Sense sense, double bound) {
  int i = glp_add_rows(problem_, 1);
  switch (sense) {
    case Sense::kAtMost:
      glp_set_row_bnds(problem_, i, GLP_UP, 0, bound);
      break;
    case Sense::kAtLeast:
      glp_set_row_bnds(problem_, i, GLP_LO, bound, 0);
      break;
    case Sense::kEqual:
      glp_set_row_bnds(problem_, i, GLP_FX, bound, bound);
      break;
  }
  // GLPK's arrays are 1-based: element 0 is ignored.
  std::vector<int> index(terms.size() + 1);
  std::vector<double> value(terms.size() + 1);
  for (size_t k = 0; k < terms.size(); ++k) {
    index[k + 1] = terms[k].first + 1;
    value[k + 1] = terms[k].second;
  }
  glp_set_mat_row(problem_, i, static_cast<int>(terms.size()), index.data(), value.data());
}

MipSolution MipProblem::Solve(const LinearTerms& objective, Direction direction, double time_limit_s) {
  QuietGlpk quiet;
  int n = glp_get_num_cols(problem_);
  for (int j = 1; j <= n; ++j) glp_set_obj_coef(problem_, j, 0);
  for (const auto& [column, coefficient] : objective)
    glp_set_obj_coef(problem_, column + 1, glp_get_obj_coef(problem_, column + 1) + coefficient);
  glp_set_obj_dir(problem_, direction == Direction::kMaximize ? GLP_MAX : GLP_MIN);

  glp_iocp parm;
  glp_init_iocp(&parm);
  parm.msg_lev = GLP_MSG_OFF;
  parm.presolve = GLP_ON;
  parm.mip_gap = 0;
  parm.gmi_cuts = GLP_ON;  // Gomory cuts: on keep-current programs with many classes, 5 to 10 times faster
  parm.tm_lim = static_cast<int>(std::clamp(time_limit_s * 1000, 1.0, 2e9));
  int ret = glp_intopt(problem_, &parm);

  MipSolution out;
  int status = glp_mip_status(problem_);
  out.found = (ret == 0 || ret == GLP_ETMLIM) && (status == GLP_OPT || status == GLP_FEAS);
  out.optimal = ret == 0 && status == GLP_OPT;
  if (!out.found) return out;
  out.objective = std::llround(glp_mip_obj_val(problem_));
  out.values.resize(n);
  for (int j = 1; j <= n; ++j) out.values[j - 1] = std::llround(glp_mip_col_val(problem_, j));
  return out;
}

int MipProblem::columns() const { return glp_get_num_cols(problem_); }

std::string SolverName() { return fmt::format("GLPK {}.{}", GLP_MAJOR_VERSION, GLP_MINOR_VERSION); }

}  // namespace migctl::planner
