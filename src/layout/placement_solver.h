// Chooses placements for new GPU instances next to existing ones.
#pragma once

#include <vector>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "layout/layout.h"

namespace migctl {

/// How much room a layout leaves: for each profile of the model, largest first (by placement size, then
/// compute slices), the remaining capacity. Compared lexicographically, larger is better: keeping a big
/// profile possible beats keeping several small ones.
using Room = std::vector<unsigned>;
Room ComputeRoom(const GpuModel& model, const Layout& layout);

/// Places `requests` (profile ids, any order, repeats allowed) next to `existing`, which stays where it is.
/// Returns one PlacedInstance per request, in request order, chosen among all feasible assignments to
/// maximize ComputeRoom of the result (ties: lowest starts). Exact search with symmetry breaking;
/// microseconds for any real GPU. Errors: kInvalidInput for a profile the model lacks; kInfeasible when no
/// assignment exists, with a message saying why (e.g. compute slices or slots exhausted, naming what is in
/// the way).
Result<Layout> SolvePlacements(const GpuModel& model, const Layout& existing,
                               const std::vector<ProfileId>& requests);

}  // namespace migctl
