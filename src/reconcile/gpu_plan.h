// What one GPU must become (a goal) and the steps that get it there (a plan), as printable values. Pure:
// planning reads an observation and calls no NVML.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "layout/diff.h"
#include "reconcile/instance_plan.h"
#include "reconcile/observed_gpu.h"

namespace migctl {

/// The state one GPU should have: MIG on or off, and when on, exactly these instances.
struct GpuGoal {
  GpuIndex gpu;
  bool mig_enabled = false;
  std::vector<GiTarget> instances;
  std::string origin;  ///< Where the goal comes from, for messages: `mig.yaml:12:5 (custom-config)`.
};

struct PlanOptions {
  bool force = false;       ///< Plan destroying busy instances and changing the mode of busy GPUs anyway.
  bool skip_reset = false;  ///< Leave an Ampere mode change pending instead of resetting the GPU.
  bool mode_only =
      false;  ///< Change MIG mode only; leave instances alone (except those a disable needs gone).
  bool reset_supported = true;  ///< The host can reset this GPU (false in VMs without reset: reboot needed).
};

struct GpuPlan {
  InstancePlan steps;      ///< In execution order; empty when the GPU already matches.
  unsigned destroyed = 0;  ///< Instances (GIs and CIs) the steps destroy.
  unsigned created = 0;    ///< Instances the steps create.
  /// Set when the goal cannot be reached by this apply: the reason and what to do (reset skipped, reboot).
  std::optional<std::string> unfinished;
  bool empty() const { return steps.ops.empty(); }
  /// Whether a step changes or activates MIG mode (mode, reset).
  bool ChangesMode() const;
  /// Whether a step creates or destroys instances.
  bool ChangesInstances() const;
  /// Whether a step changes instances other than by turning MIG off (mig-parted's "config" part, which its
  /// `pre-apply-config` hook announces; clearing a GPU to disable MIG belongs to the mode part).
  bool ChangesConfig() const;
  /// MIG devices (compute instances) the steps destroy and create: what users count.
  unsigned MigDevicesDestroyed() const;
  unsigned MigDevicesCreated() const;
};

/// Plans the steps from `gpu` to `goal` with the fewest instances destroyed and created (DiffLayouts), MIG
/// mode changed only when it must, and a reset only for this GPU and only on architectures that need one.
/// Steps: CIs and GIs to destroy, MIG mode, reset, then creations with explicit placements.
/// Errors, all before anything is changed: kUnsupported for a GPU without MIG when the goal enables it;
/// kInfeasible when the instances cannot fit (with the solver's reason); kInvalidInput for profiles the GPU
/// lacks; kBusy when the plan would destroy an instance with processes, or change the mode of a GPU with
/// processes, and not `force` (naming pids, process names and the fix).
Result<GpuPlan> PlanGpu(const ObservedGpu& gpu, const GpuGoal& goal, const PlanOptions& options);

/// `migctl mode`: MIG on or off, nothing else (no reset: on Ampere the change stays pending until
/// PlanActivation). Empty when the GPU is already (and will stay) so. Errors: kUnsupported for a GPU without
/// MIG; kBusy when turning MIG off while instances exist (destroy them first) or when processes run on the
/// GPU (naming them).
Result<GpuPlan> PlanModeChange(const ObservedGpu& gpu, bool enable);

/// `migctl reset`: activates a pending MIG mode with a reset of this GPU only. Empty when nothing is pending.
/// Errors: kBusy when processes run on the GPU (naming them).
Result<GpuPlan> PlanActivation(const ObservedGpu& gpu);

}  // namespace migctl
