// Fleet planning: which MIG layout each GPU of a fleet should have so that a set of workloads is served,
// chosen optimally (not greedily), with a report of what went where, what is left and what could not be
// served. Pure: models come from catalog/, geometry from layout/; nothing here touches a GPU.
//
// Method: an integer program over per-model layouts (GLPK's branch and bound with Gomory cuts, run to a zero
// gap; fleet_program.h writes it out). Variables count how many GPUs of each model take each maximal layout
// and how many units of each demand class (workloads with one priority and one profile per model) each model
// serves. Because GPUs of one model are interchangeable, the program has no per-GPU symmetry, so a 1,024-GPU
// fleet is as small a program as an 8-GPU one. keep-current, where GPUs differ by what they run now, adds
// choices per distinct current layout. The objectives are lexicographic and solved in stages, each held at
// its optimum while the next is solved (staged_solve.h): units served per priority, highest first; then, for
// keep-current, current instances kept; then GPUs used. Exhaustive search on small fleets checks the optimum
// (plan_test.cc). GLPK rather than a hand-written search because the program is a textbook integer program
// and GLPK proves optimality of it in milliseconds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "layout/layout.h"

namespace migctl::planner {

/// One kind of work and how many of it. Exactly one of `memory_mib`, `compute_slices` or `profile` (a
/// profile's name fixes both its memory and its slices) describes the need; memory and compute may be given
/// together.
struct Workload {
  std::string name;  ///< For the report: `30GiB`, `3g.40gb`, or a user's name.
  unsigned count = 1;
  std::optional<unsigned long long> memory_mib;  ///< At least this much memory.
  std::optional<unsigned> compute_slices;        ///< At least this many compute slices.
  /// A plain GI profile name (`3g.40gb`): that profile on the models that have it; elsewhere the least memory
  /// and slices that the fleet's models give the name. Media variants (`+me`) are refused.
  std::optional<std::string> profile;
  unsigned priority = 0;            ///< A higher priority is served first, always, whatever the objective.
  std::vector<std::string> models;  ///< Allowed GPU model keys (case-insensitive); empty: any.
};

/// GPUs of one model. `current`, when set, is what each GPU runs now (keep-current), one layout per GPU.
struct FleetGroup {
  const GpuModel* model = nullptr;
  unsigned count = 0;
  std::vector<unsigned> gpu_indexes;  ///< Host GPU indexes when the fleet is a host; empty: 0..count-1.
  std::vector<Layout> current;        ///< Empty, or one per GPU; read by keep-current only.
  /// Empty, or one per GPU (keep-current only): the instances of `current` that run work now. Every plan keeps
  /// each where it is, and none serves a workload (reshape: busy instances are never destroyed or moved).
  std::vector<Layout> busy;
};

/// Every objective serves as many units as the fleet can, by priority first (so when everything fits, all of
/// it); they differ in what comes next. Whatever is not served is reported with its reason, including how
/// many more GPUs of which model would serve it.
enum class Objective {
  /// Serve every workload on as few GPUs as possible (unservable ones are reported, not counted).
  kFewestGpus,
  /// Serve as many as possible, by priority first, then count; fewest GPUs among those. Today the same plan
  /// as kFewestGpus, since serving comes first in both.
  kMostServed,
  /// Serve as many as possible, then keep the most current instances in place, then fewest GPUs.
  kKeepCurrent,
};

/// The smallest plain profile of `model` that holds `workload` (memory and slices), or nullopt. Smallest:
/// least memory, then fewest slices, then lowest id; media variants (`+me`) are never chosen. A `profile`
/// need is that profile when `model` has it as a plain profile, else nullopt: PlanFleet resolves a name
/// against the whole fleet first. nullopt too for a workload without a need.
std::optional<ProfileId> SmallestProfileFor(const GpuModel& model, const Workload& workload);

/// What one planned GPU gets.
struct PlannedGpu {
  size_t group = 0;  ///< Index into the fleet.
  unsigned gpu = 0;  ///< Host GPU index (FleetGroup::gpu_indexes), or the index within its group.
  /// The instances to have, placed, in start order: those that serve a workload, and in keep-current the
  /// current ones kept in place (which may serve nothing). New instances sit where they leave the most room.
  Layout layout;
  std::vector<int> served_by;  ///< Parallel to `layout`: the workload index each instance serves, -1 if none.
  /// Plain profiles that still fit beside `layout`, largest first, each with how many would fit on their own:
  /// {`3g.40gb x1`, `1g.10gb x4`}.
  std::vector<std::string> free_fits;
};

struct Unserved {
  size_t workload = 0;
  unsigned count = 0;
  /// One of: `too big for any profile of a100-80gb, h100-80gb: it needs 90 GiB, and the largest, 7g.80gb, has
  /// 78.75 GiB and 7 compute slices`; `none of the GPU models it may run on is in the fleet`; `fleet too
  /// small: 2 more a100-80gb and 1 more h100-80gb would serve it` (the fewest fresh GPUs, over the fleet's
  /// models, that serve everything left out); or, past the time limit, a line that says so.
  std::string reason;
};

struct FleetPlan {
  /// Every GPU of the fleet, in group then index order (empty layout: unused). Within a group of identical
  /// GPUs the used ones come first.
  std::vector<PlannedGpu> gpus;
  std::vector<Unserved> unserved;  ///< At most one entry per workload, in workload order.
  unsigned gpus_used = 0;          ///< GPUs with at least one instance.
  unsigned whole_gpus_free = 0;    ///< GPUs left with nothing: free for jobs that need a full card.
  unsigned kept = 0;               ///< keep-current: current instances kept in place; 0 otherwise.
  bool optimal = false;            ///< The solver proved every stage of the objective optimal.
  /// `GLPK 5.0 branch and bound, zero gap: 2 models, 56 layouts, 68 integer variables, 2 solves, 2.9 ms`.
  std::string method;
};

struct PlanOptions {
  Objective objective = Objective::kFewestGpus;
  double time_limit_s = 10;  ///< Past it the best plan found is returned with optimal=false. At most a day.
};

/// Plans `workloads` onto `fleet`. Deterministic. Not thread-safe (GLPK's terminal switch is process-wide).
/// Errors: kInvalidInput for an empty fleet, a group without a model or whose gpu_indexes or current do not
/// match its count, a workload without a need or with both a profile and a memory or compute need, an
/// unknown profile or model name, a media-variant profile; for keep-current, the error of CheckLayout (with
/// `GPU n: current layout: ` before it) for a current layout that is not valid, and a busy list that is not
/// one per GPU or names an instance its GPU's current layout lacks. The rest (unservable work) is in the
/// plan, not an error.
Result<FleetPlan> PlanFleet(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads,
                            const PlanOptions& options);

}  // namespace migctl::planner
