// From a solved program to what each GPU gets: which layout, which instance serves which workload, and what
// still fits beside it.
#pragma once

#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "layout/layout.h"
#include "planner/fleet_program.h"
#include "planner/plan.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {

/// One PlannedGpu per GPU of `fleet`, in fleet order. Each class's chosen layouts go to its first GPUs, in
/// fleet order, so the GPUs left whole are the last ones. Units are dealt to instances of their profile,
/// current instances first, then GPU by GPU; never to a busy one (GpuClass::busy). Each GPU keeps the instances of its current layout that its
/// layout holds, and gets only the other instances that serve a unit, placed beside the kept ones to leave
/// the most room (SolvePlacements). `values` is a solution of `program`, and `served` its units per workload
/// and model (FleetProgram::ServedByWorkload). kInternal if `served` needs more instances than the layouts
/// have, which a solution of the program never does.
Result<std::vector<PlannedGpu>> AssignGpus(const std::vector<FleetGroup>& fleet,
                                           const std::vector<GpuClass>& classes, const WorkloadMap& map,
                                           const FleetProgram& program, const std::vector<long long>& values,
                                           const std::vector<std::vector<long long>>& served);

/// The plannable profiles that still fit beside `layout`, largest first, each with how many more would fit
/// on their own (`3g.40gb x1`); empty when nothing fits.
std::vector<std::string> FreeFits(const GpuModel& model, const Layout& layout);

}  // namespace migctl::planner
