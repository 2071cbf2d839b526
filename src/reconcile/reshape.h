// `migctl reshape`: each selected GPU re-cut for a demand around the instances that run work, which are never
// destroyed or moved. The decision is the fleet planner's (planner/plan.h, keep-current with the busy
// instances fixed in place): serve the most demand by priority, then keep the most instances (so destroy and
// create the fewest), then use the fewest GPUs (the others stay whole). This is a planner for the conductor
// (reconcile/conductor.h), which alone changes GPUs; it decides from the GPUs as observed under the host
// lock.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "planner/plan.h"
#include "reconcile/conductor.h"

namespace migctl {

struct ReshapeRequest {
  std::vector<planner::Workload> demand;
  /// The MIG devices (UUIDs) whose leases this command holds: an instance may be destroyed only when it has
  /// no processes and every one of its MIG devices is here (or it has none). Every other instance is busy.
  std::set<std::string> leased;
  double time_limit_s = 10;
};

/// One GPU instance in the report.
struct ReshapeInstance {
  GiId gi;  ///< Current GI id; for a created instance, 0 (NVML assigns it).
  std::string profile;
  unsigned start = 0;
  std::vector<std::string> uuids;  ///< Its MIG devices (none for a created one, until it exists).
  std::string busy;                ///< Why it is busy (`processes: pid 42`, `a task's lease`); empty: idle.
  int serves = -1;                 ///< The workload it is for; -1: none.
};

struct ReshapeGpu {
  GpuIndex gpu;
  std::vector<ReshapeInstance> kept;       ///< Busy ones and idle ones that stay, in slot order.
  std::vector<ReshapeInstance> destroyed;  ///< Idle ones that go.
  std::vector<ReshapeInstance> created;    ///< New ones, placed.
  std::vector<std::string> free_fits;      ///< What still fits beside the new layout (`1g.10gb x2`).
};

struct ReshapeReport {
  std::vector<planner::Workload> demand;
  std::vector<ReshapeGpu> gpus;             ///< One per selected GPU, in order.
  std::vector<planner::Unserved> unserved;  ///< Demand left out, with the planner's reason.
  std::vector<unsigned> served;             ///< Units served per workload (parallel to `demand`).
  bool optimal = false;
  std::string method;  ///< The planner's.
};

/// A planner that reshapes every GPU it is given and fills `*report` (which must outlive it) each time it
/// plans. Errors: kInvalidInput for a GPU with MIG off (enable it first) and the planner's input errors
/// (unknown profile, and so on).
HostPlanner ReshapePlanner(ReshapeRequest request, ReshapeReport* report);

}  // namespace migctl
