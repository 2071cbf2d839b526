// The integer program behind a fleet plan: how many GPUs of each class take each layout, and how many units
// of each workload each model serves.
//
//   x[c][L] >= 0  GPUs of class c that take layout L            sum_L x[c][L] <= |c|
//   y[d][m] >= 0  units of demand class d served on model m     sum_m y[d][m] <= count_d
//   for each model m and profile p that some demand takes there:
//     sum_{d takes p on m} y[d][m] <= sum_{c of model m} sum_L x[c][L] * (instances of p in L)
//
// A unit takes exactly one profile per model (WorkloadMap), so the rows above are all that ties work to
// layouts. GPUs of a class are interchangeable, and so are the units of a demand class, so the program's
// size depends on the models and the distinct needs, not on how many GPUs or workloads there are.
#pragma once

#include <utility>
#include <vector>

#include "planner/ilp.h"
#include "planner/layout_catalog.h"
#include "planner/plan.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {

/// GPUs the program treats as interchangeable: one model and one current layout.
struct GpuClass {
  size_t model = 0;  ///< Index into WorkloadMap::models.
  Layout current;    ///< Canonical order; empty for GPUs where nothing must stay.
  Layout busy;       ///< Of `current`, canonical order: instances kept in place that serve nothing.
  std::vector<std::pair<size_t, unsigned>> members;  ///< (group, position in the group), in fleet order.
  std::vector<CandidateLayout> layouts;
};

/// Splits `fleet` into classes, in fleet order of their first GPU. With `keep_current`, GPUs that run
/// something are classed by (model, current layout, busy instances) and take LayoutsKeeping; every other GPU
/// joins the fresh class of its model, which takes FreshLayouts. Precondition: `models` holds every group's model.
std::vector<GpuClass> ClassifyGpus(const std::vector<FleetGroup>& fleet,
                                   const std::vector<const GpuModel*>& models, bool keep_current);

/// Owns the program for one plan. With `extra_gpus` it asks the shortfall question instead: every unit that
/// some allowed model can hold must be served, and each model may add any number of fresh GPUs (columns
/// `ExtraGpus`) beside the fleet.
class FleetProgram {
 public:
  FleetProgram(const std::vector<GpuClass>& classes, const std::vector<const GpuModel*>& models,
               std::vector<DemandClass> demand, bool extra_gpus);

  MipProblem& mip() { return mip_; }

  /// Units served of the workloads with `priority`.
  LinearTerms Served(unsigned priority) const;
  /// GPUs that take a layout (every layout has an instance).
  LinearTerms GpusUsed() const;
  /// Current instances kept in place.
  LinearTerms Kept() const;
  /// Fresh GPUs added beside the fleet (with `extra_gpus`).
  LinearTerms ExtraGpus() const;
  /// Fresh GPUs added of model `m` in `values`.
  long long ExtraGpusOf(size_t m, const std::vector<long long>& values) const;

  /// Column of x[c][L].
  int x(size_t c, size_t layout) const { return x_[c][layout]; }
  /// Units of each workload served on each model ([workload][model]) in `values`: each demand class's units
  /// go to its workloads in their order. `workloads` is what the demand was grouped from.
  std::vector<std::vector<long long>> ServedByWorkload(const std::vector<Workload>& workloads,
                                                       const std::vector<long long>& values) const;
  /// Candidate layouts in all classes (and of the extra GPUs).
  size_t layouts() const { return layouts_; }

 private:
  MipProblem mip_;
  size_t models_ = 0;
  std::vector<DemandClass> demand_;
  std::vector<std::vector<int>> x_;
  std::vector<std::vector<int>> y_;  // [demand class][model], -1 where the class has no profile
  std::vector<std::vector<std::pair<int, unsigned>>> kept_;  // per class: (column, kept) with kept > 0
  std::vector<std::vector<int>> extra_;                      // per model: columns of extra GPUs by layout
  size_t layouts_ = 0;
};

}  // namespace migctl::planner
