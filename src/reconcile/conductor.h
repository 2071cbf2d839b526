// The one conductor of every GPU change: create, destroy, mode, reset, apply, restore and `run --create` /
// `--ephemeral` all change GPUs through ChangeGpus, and nothing else in migctl calls an NVML function that
// changes a GPU. It takes the host lock, resolves the journal, plans every GPU from what it observes under
// the lock (all errors before any change), runs the caller's preflight and mig-parted's hooks, changes each
// GPU all or nothing, checks the result, and rolls a failed GPU back to what this command found: never
// further.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/gpu_plan.h"
#include "reconcile/transaction.h"
#include "spec/hooks_file.h"

namespace migctl {

struct GpuOutcome {
  ObservedGpu before;
  GpuPlan plan;
  std::optional<GpuChange> change;  ///< Set once the GPU was changed (not for a dry run or an empty plan).
};

/// Decides what every selected GPU must do, from the GPUs as observed under the lock (same order as the
/// request's devices). Returns one plan per GPU. `judge_busy` false is apply's validation pass before its
/// hooks (which may stop GPU clients): plan as if busy instances could go, so only a bad goal fails there.
/// Pure: must not call NVML.
using HostPlanner =
    std::function<Result<std::vector<GpuPlan>>(const std::vector<ObservedGpu>& gpus, bool judge_busy)>;

/// What the caller plugs into a change. Every member may be unset.
struct ChangeCallbacks {
  /// Runs mig-parted's hook point; returns the hook's failure. Hooks run for every change that is not a dry
  /// run, as mig-parted's apply-start and apply-exit do even when nothing changes.
  std::function<Status(spec::HookPoint point)> hook;
  /// Called once with the validated plans before any hook runs or anything changes; an error stops the
  /// change (e.g. a host blocker in the way of a mode change).
  std::function<Status(const std::vector<GpuOutcome>& plans)> preflight;
  /// One line as each GPU starts changing (for people watching).
  std::function<void(const std::string&)> progress;
  /// One line the user must see: an interrupted command's journal entry set aside.
  std::function<void(const std::string&)> notice;
  /// Called as each GPU's change succeeds, with its index in the request and the outcome: what a caller
  /// that must undo its work later (`run --ephemeral`) records, even when a later GPU fails.
  std::function<void(std::size_t k, const GpuOutcome& outcome)> changed;
  /// Called once, with the holder's pid (0 when unknown), when the host lock is busy.
  std::function<void(int holder_pid)> lock_wait;
};

struct ChangeRequest {
  std::vector<nvml::Device> devices;  ///< The GPUs this command may change, in index order.
  std::vector<bool> reset_supported;  ///< Per device; empty means every device can be reset.
  HostPlanner planner;
  /// The planner plans toward a fixed goal (apply, restore): once changed, planning again must find nothing
  /// left to do, or the change is reported as a bug.
  bool goal_based = false;
  bool dry_run = false;
  std::string command;  ///< For the journal and messages: `apply -f mig.yaml -c custom-config`.
  std::string run_dir;  ///< Lock and journal.
  std::chrono::milliseconds lock_timeout{300000};
};

struct ChangeReport {
  std::vector<GpuOutcome> gpus;  ///< One per requested device, in order.
  bool dry_run = false;
  bool changed() const;
};

/// Carries out `request`:
/// 1. Unless a dry run: makes the run directory (private), takes the host lock (kBusy naming the holder
///    after `lock_timeout`).
/// 2. Journal: an unreadable entry of a selected GPU refuses the whole command (kCorrupt, the message says
///    how to clear it); entries of other GPUs are not read. An interrupted command's entry for a selected
///    GPU is set aside once planning succeeded (reported through `notice`), never rolled back to.
/// 3. Observes the GPUs and plans; every planning error is returned here, before any change. A dry run
///    returns the plans.
/// 4. Runs `preflight`, then `apply-start`; `pre-apply-mode` if some GPU changes MIG mode; `pre-apply-config`
///    if some GPU changes its instances other than by turning MIG off (as mig-parted); once apply-start
///    succeeded, `apply-exit` runs at the end whatever happened (its failure is reported only when nothing
///    else failed). With hooks, the GPUs are observed and planned again after them.
/// 5. Changes each GPU with ChangeGpuAtomically, in order; the first failure stops: GPUs done stay done, the
///    failed one is put back as this command found it, later ones are untouched, and the error says which.
/// 6. For a goal-based request, plans every changed GPU again: kInternal if something is left to do.
/// Without hooks, nothing is done when the plans are all empty.
Result<ChangeReport> ChangeGpus(const ChangeRequest& request, const ChangeCallbacks& callbacks);

/// A HostPlanner that plans each GPU toward its own goal with PlanGpu (apply, restore).
HostPlanner GoalPlanner(std::vector<GpuGoal> goals, PlanOptions options, std::vector<bool> reset_supported);

}  // namespace migctl
