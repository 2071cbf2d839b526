// What apply and restore share: taking the host lock, checking host blockers, running the hooks, the apply
// itself, and printing plans and outcomes (text or --json).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "reconcile/conductor.h"
#include "spec/hooks_file.h"

namespace migctl {

struct ApplyRunOptions {
  bool dry_run = false;
  PlanOptions plan;                      ///< force, skip_reset, mode_only (reset_supported is probed).
  std::optional<spec::HooksFile> hooks;  ///< --hooks, parsed.
  std::map<std::string, std::string> hook_variables;
  double lock_timeout_s = 300;
  std::string command;  ///< For the journal: `apply -f mig.yaml -c custom-config`.
  std::string what;     ///< For messages: `'custom-config'`, `the checkpoint state.json`.
};

/// Applies `goals` (device + goal each) and prints the result. `warnings` go to stderr (and into --json).
/// Exit: 0 done (or dry run), 1 when a GPU is left unfinished for a reason other than --skip-reset.
Result<int> RunApply(Context& ctx, const std::vector<std::pair<nvml::Device, GpuGoal>>& goals,
                     const ApplyRunOptions& options, const std::vector<std::string>& warnings);

/// Whether this host can reset each of `devices` (a VM may not), which decides whether an Ampere mode change
/// can finish now. Probed on real hosts (and on a simulated one given MIGCTL_HOST_ROOT); else all true.
Result<std::vector<bool>> ResetSupport(const Context& ctx, const std::vector<nvml::Device>& devices);

/// One plan step as JSON: `{"op": "create_gi", "profile": "3g.40gb", "start": 4, ...}`.
Json StepJson(const PlannedOp& op);

}  // namespace migctl
