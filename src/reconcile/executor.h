// Carries out an InstancePlan on a GPU through NVML, all or nothing for creations.
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/instance_plan.h"

namespace migctl {

/// What one op did: for a creation, the ids NVML assigned.
struct ExecutedOp {
  PlannedOp op;
  std::optional<GiId> gi;
  std::optional<CiId> ci;
};

/// Runs the ops in order. Every create uses an explicit placement (never the driver's order-dependent
/// choice). If an op fails, the GIs and CIs this call created are destroyed again (newest first) and the
/// original error is returned, with a note when that clean-up itself failed; destroys already done are not
/// undone (plans put them where nothing can fail for lack of room). A create refused for lack of room means
/// the GPU changed after it was observed (another process): that is reported as kBusy, to be retried, not as
/// an infeasible request. Precondition: `device` is the plan's GPU.
Result<std::vector<ExecutedOp>> ExecutePlan(const nvml::Device& device, const InstancePlan& plan);

}  // namespace migctl
