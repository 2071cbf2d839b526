// The greedy planners `migctl plan` is measured against (docs/BENCHMARKS.md, issue 5), re-implemented on
// migctl's own MIG geometry so that every instance they place is one the hardware would accept. Pure.
//
// All three take a fleet and workloads the way PlanFleet does. Workloads become units, one per count, in the
// order given (for DraFirstFit that is the arrival order). A unit's profile on a model is
// SmallestProfileFor(model, workload); a model outside the workload's `models`, or without a profile that
// holds it, cannot take the unit. Every GPU starts empty: `current` and `gpu_indexes` are ignored. Priorities
// count only where the rule being copied uses them (nos).
#pragma once

#include <vector>

#include "common/result.h"
#include "layout/layout.h"
#include "planner/plan.h"

namespace migctl::planner {

/// One GPU of the fleet after a baseline ran.
struct BaselineGpu {
  size_t group = 0;               ///< Index into the fleet.
  unsigned gpu = 0;               ///< Index within its group.
  Layout layout;                  ///< The instances that serve a unit; always a valid layout.
  std::vector<size_t> served_by;  ///< Parallel to `layout`: the workload index each instance serves.
};

struct BaselinePlan {
  std::vector<BaselineGpu> gpus;  ///< Every GPU of the fleet, in group then index order.
  unsigned gpus_used = 0;         ///< GPUs with at least one instance.
  unsigned placed = 0;            ///< Units placed.
  unsigned unplaced = 0;  ///< Units left over: the fleet ran out, or no GPU of the fleet can hold them.
};

/// First-fit decreasing bin packing. Units in decreasing order of their profile (memory, then compute
/// slices; a unit's profile on the first model of the fleet that can take it); each goes to the first GPU
/// already in use that can add its profile, else to the first unused GPU (fleet order) that can. A GPU can
/// add a profile when its instances plus the new one have a valid placement (SolvePlacements; the instances
/// may be rearranged, since this is a plan made before anything is created). Errors: kInvalidInput for an
/// empty fleet or a group without a model.
Result<BaselinePlan> FirstFitDecreasing(const std::vector<FleetGroup>& fleet,
                                        const std::vector<Workload>& workloads);

/// The nos planner's rule (nebuly-ai/nos `core/planner.go`, `mig/gpu.go`; reference §1.4). Units sorted by
/// priority (highest first), then smaller profile first (memory, then slices). GPUs visited in fleet order
/// (nos sorts nodes by name; each GPU is taken as a node of its own). At each GPU: the lacking profiles are
/// the profiles of the pending units (on this GPU's model) less the free instances of GPUs of that model;
/// among the allowed geometries that keep the GPU's used instances, the one maximising
/// sum_p min(G[p] - used[p], lacking[p]) over lacking profiles the GPU does not already hold free is applied
/// (first in list order on ties, where nos takes Go map order); then every pending unit, in order, takes a
/// free instance of its profile on the GPU. A GPU where nothing was placed is reverted. Passes repeat while
/// one places a unit, as the nos controller replans while pods stay pending. The allowed geometries are the
/// maximal combinations of the model's plain profiles (EnumerateCombinations, maximal_only, IsPlannable),
/// standing in for nos's hand-written `knownMigGeometries`; a geometry whose instances cannot be placed
/// beside the used ones (which stay where they are) is skipped. Errors: as FirstFitDecreasing.
Result<BaselinePlan> NosRule(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads);

/// One GPU between nos plans: the instances pods use (they stay) and the free ones (nos may replace them).
struct NosGpuState {
  Layout used;
  Layout free;
};

/// One nos planning pass over GPUs of one `model` that already run work (the incremental form of NosRule, as
/// its controller replans while pods wait): `pending` are the waiting pods' profiles; they are taken smaller
/// profile first (stable), and GPUs are visited in order, each getting the allowed geometry that keeps its used
/// instances and provides most of what is lacking, then giving free instances to pending pods, passes
/// repeating while one places a pod. Returns, per pending pod, the GPU and instance it took, or nullopt; `gpus`
/// are updated (a taken instance moves from free to used).
std::vector<std::optional<std::pair<size_t, PlacedInstance>>> NosPass(const GpuModel& model,
                                                                     std::vector<NosGpuState>* gpus,
                                                                     const std::vector<ProfileId>& pending);

/// NVIDIA DRA driver's DynamicMIG with kube-scheduler allocation (reference §3.3). Each GPU publishes one
/// device per (profile, placement start), named `gpu-<i>-mig-<profile>-<profile id>-<start>` (i: the GPU's
/// position in the fleet), and lists them sorted as strings, as the driver's ResourceSlice does. Each unit,
/// in the order given, takes the first device of its profile, GPUs in fleet order, whose memory slices and
/// compute are free (CheckAddition: the driver's counters are one per memory slice plus the multiprocessors).
/// Taking GPUs in order too is the kindest reading for packing: kube-scheduler's default scoring spreads pods
/// across nodes. Errors: as FirstFitDecreasing.
Result<BaselinePlan> DraFirstFit(const std::vector<FleetGroup>& fleet,
                                 const std::vector<Workload>& workloads);

/// `gpu-0-mig-1g10gb-me-20-6` for 1g.10gb+me at start 6 on GPU 0: the driver's canonical device name (the
/// profile name without dots, lower-case, other characters outside [a-z0-9-] as `-`).
std::string DraDeviceName(unsigned gpu, const GiProfile& profile, unsigned start);

}  // namespace migctl::planner
