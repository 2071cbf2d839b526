// `apply` end to end for a set of GPUs: observe → plan every GPU (all errors before any change) → hooks →
// change each GPU atomically → verify. Also serves `restore` (goals from a checkpoint).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/gpu_plan.h"
#include "reconcile/journal.h"
#include "reconcile/transaction.h"
#include "spec/hooks_file.h"

namespace migctl {

/// One GPU to bring to a goal.
struct GpuRequest {
  nvml::Device device;
  GpuGoal goal;
  PlanOptions options;
};

/// What the caller plugs into an apply. Every member may be unset.
struct ApplyCallbacks {
  /// Runs mig-parted's hook point; returns the hook's failure.
  std::function<Status(spec::HookPoint point)> hook;
  /// Called once with the validated plans before any hook runs or anything changes; an error stops the apply
  /// (e.g. a host blocker in the way of a mode change).
  std::function<Status(const std::vector<struct GpuOutcome>& plans)> preflight;
  /// One line per GPU as it starts changing.
  std::function<void(const std::string&)> progress;
};

struct GpuOutcome {
  ObservedGpu before;
  GpuPlan plan;
  GpuChange change;  ///< Empty for a dry run or a GPU that already matched.
};

struct ApplyReport {
  std::vector<GpuOutcome> gpus;
  bool dry_run = false;
  bool changed() const;
  std::vector<std::string> unfinished() const;  ///< The plans' `unfinished` notes.
};

/// Brings every requested GPU to its goal.
/// 1. Observes and plans every GPU; a goal that is invalid or cannot fit fails here, before any change.
///    With `dry_run` the plans (busy instances refused as in a real run) are the result.
/// 2. Runs `preflight`, then `apply-start`; then `pre-apply-mode` if some GPU changes mode and
/// `pre-apply-config` if some GPU
///    changes instances; once apply-start succeeded, `apply-exit` runs at the end whatever happened (its
///    failure is reported only when nothing else failed), as mig-parted does.
/// 3. Observes and plans again (hooks may have stopped GPU clients), refusing busy instances unless forced.
/// 4. Changes each GPU with ChangeGpuAtomically, in index order; the first failure stops the run: GPUs done
///    stay done, the failed one is put back, later ones are untouched, and the error says which is which.
/// 5. Verifies that every changed GPU now plans empty (unless its plan was `unfinished`): kInternal if not.
/// Precondition: the caller holds the host lock (not needed for a dry run).
Result<ApplyReport> Apply(const std::vector<GpuRequest>& requests, bool dry_run, Journal& journal,
                          const ApplyCallbacks& callbacks, const std::string& command);

}  // namespace migctl
