// Carries out a plan's steps on one GPU through NVML, in order, stopping at the first failure. Undoing a
// failed plan is the transaction's job (reconcile/transaction.h), which knows the state before.
#pragma once

#include <optional>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/instance_plan.h"

namespace migctl {

/// What one step did: for a creation, the ids NVML assigned.
struct ExecutedOp {
  PlannedOp op;
  std::optional<GiId> gi;
  std::vector<CiId> cis;
};

/// Runs the steps in order. Every create uses an explicit placement (never the driver's order-dependent
/// choice). Returns the steps done, or the first error (steps before it stay done). A create refused for lack
/// of room means the GPU changed after it was observed (another process): reported as kBusy, to be retried,
/// not as an infeasible request. A mode change the GPU leaves pending because it is in use is kBusy; a reset
/// that does not activate the requested mode is kNvml. Precondition: `device` is the plan's GPU.
Result<std::vector<ExecutedOp>> ExecutePlan(const nvml::Device& device, const InstancePlan& plan);

}  // namespace migctl
