// How each workload maps onto each GPU model of a fleet: its need (memory and compute slices) and the one
// profile per model that its units take there.
#pragma once

#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "planner/plan.h"

namespace migctl::planner {

/// What one unit of a workload needs of a GPU instance.
struct Need {
  unsigned long long memory_mib = 0;
  unsigned compute_slices = 0;
};

/// The profiles the planner places: plain ones (MediaKind::kDefault). Media variants change which engines an
/// instance has, not its size, so they are for a user to choose by hand.
bool IsPlannable(const GiProfile& profile);

/// The smallest plannable profile of `model` that holds `need`, or nullptr: least memory, then fewest compute
/// slices, then lowest profile id.
const GiProfile* SmallestProfileForNeed(const GpuModel& model, const Need& need);

/// For every workload, its need and the profile its units take on each model of the fleet.
struct WorkloadMap {
  std::vector<const GpuModel*> models;  ///< The fleet's distinct models, in order of first appearance.
  std::vector<Need> needs;              ///< Per workload.
  /// [workload][model]: the profile one unit takes on that model; nullptr where the workload does not allow
  /// the model or no plannable profile of it holds the need.
  std::vector<std::vector<const GiProfile*>> profile;
  /// [workload][model]: the workload allows the model (its `models` list is empty or names it).
  std::vector<std::vector<bool>> allowed;
};

/// Maps `workloads` onto `models` (distinct, non-null). A `profile` need is that profile exactly on every
/// model that has it, and elsewhere the least memory and slices any fleet model gives that name (work that
/// fits in a `3g.40gb` fits in the smallest of them). Errors, kInvalidInput, naming the workload: no need;
/// `profile` given with memory or compute; a profile name no fleet model has (listing the names they have);
/// a media variant (`1g.10gb+me`); an unknown model key in `models` (one neither in the fleet nor built in).
Result<WorkloadMap> MapWorkloads(const std::vector<const GpuModel*>& models,
                                 const std::vector<Workload>& workloads);

/// Workloads the program cannot tell apart: one priority, and the same profile on every model. A trace gives
/// thousands of one-unit workloads but only a few dozen classes, and the program is built over classes.
struct DemandClass {
  unsigned priority = 0;
  std::vector<const GiProfile*> profile;  ///< [model], as in WorkloadMap::profile.
  std::vector<size_t> workloads;          ///< Ascending.
  unsigned long long count = 0;           ///< Units of all its workloads.
};

/// The classes of the workloads that have units and that some model holds, in order of their first workload.
std::vector<DemandClass> GroupDemand(const WorkloadMap& map, const std::vector<Workload>& workloads);

/// `workload 2 (30GiB)` or `workload 2` when it has no name: how errors and reasons name a workload.
std::string WorkloadLabel(const std::vector<Workload>& workloads, size_t index);

}  // namespace migctl::planner
