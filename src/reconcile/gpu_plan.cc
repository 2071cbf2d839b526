#include "reconcile/gpu_plan.h"

#include <algorithm>

#include <fmt/format.h>

namespace migctl {
namespace {

/// Processes anywhere on the GPU: on the whole GPU and on every MIG device.
std::vector<nvml::ProcessInfo> AllProcesses(const nvml::GpuSnapshot& s) {
  std::vector<nvml::ProcessInfo> out = s.processes;
  for (const nvml::InstanceSnapshot& i : s.instances)
    out.insert(out.end(), i.processes.begin(), i.processes.end());
  return out;
}

std::string BusyInstances(const nvml::GpuSnapshot& s) {
  std::string out;
  for (const nvml::InstanceSnapshot& i : s.instances)
    if (!i.processes.empty())
      out +=
          fmt::format("{}GI {} CI {} ({}@{}): {}", out.empty() ? "" : "; ", i.gi.value(),
                      i.ci ? i.ci->value() : 0, i.profile_name, i.placement.start, ProcessList(i.processes));
  return out;
}

/// Steps that turn the diff into NVML calls: CIs and GIs first (destroys never fail for room), then
/// creations.
void AddDiffSteps(const ObservedGpu& gpu, const std::vector<CurrentGi>& current,
                  const std::vector<GiTarget>& target, const LayoutDiff& diff, GpuPlan* plan) {
  auto& ops = plan->steps.ops;
  auto gi_op = [&](PlannedOp::Kind kind, const CurrentGi& g) {
    const GiProfile* p = gpu.geometry.FindProfile(g.profile);
    return PlannedOp{.kind = kind,
                     .profile = g.profile,
                     .profile_name = p ? p->name : fmt::format("profile {}", g.profile.value()),
                     .start = g.start,
                     .size = p ? p->placement_size : 0,
                     .gi = g.id};
  };
  for (const KeptGi& k : diff.kept)
    for (CiId ci : k.destroy_cis) {
      PlannedOp op = gi_op(PlannedOp::Kind::kDestroyCi, current[k.current]);
      op.ci = ci;
      ops.push_back(op);
    }
  for (std::size_t i : diff.destroyed) {
    for (const CurrentCi& ci : current[i].cis) {
      PlannedOp op = gi_op(PlannedOp::Kind::kDestroyCi, current[i]);
      op.ci = ci.id;
      ops.push_back(op);
    }
    ops.push_back(gi_op(PlannedOp::Kind::kDestroyGi, current[i]));
  }
  for (const NewGi& g : diff.created)
    ops.push_back(CreateGiOp(*gpu.geometry.FindProfile(target[g.target].profile), g.start, g.cis));
  for (const KeptGi& k : diff.kept)
    for (const PlacedCi& ci : k.create_cis) {
      PlannedOp op = gi_op(PlannedOp::Kind::kCreateCi, current[k.current]);
      op.cis = {ci};
      for (const CiProfile& p : gpu.geometry.FindProfile(current[k.current].profile)->ci_profiles)
        if (p.id == ci.profile) op.ci_names = {p.name};
      ops.push_back(op);
    }
  plan->destroyed += diff.DestroyCount(current);
  plan->created += diff.CreateCount();
}

}  // namespace

bool GpuPlan::ChangesMode() const {
  return std::any_of(steps.ops.begin(), steps.ops.end(), [](const PlannedOp& op) {
    return op.kind == PlannedOp::Kind::kSetMigMode || op.kind == PlannedOp::Kind::kResetGpu;
  });
}

bool GpuPlan::ChangesInstances() const {
  return std::any_of(steps.ops.begin(), steps.ops.end(), [](const PlannedOp& op) {
    return op.kind != PlannedOp::Kind::kSetMigMode && op.kind != PlannedOp::Kind::kResetGpu;
  });
}

bool GpuPlan::ChangesConfig() const {
  const bool disables = std::any_of(steps.ops.begin(), steps.ops.end(), [](const PlannedOp& op) {
    return (op.kind == PlannedOp::Kind::kSetMigMode || op.kind == PlannedOp::Kind::kResetGpu) && !op.enable;
  });
  return ChangesInstances() && !disables;
}

unsigned GpuPlan::MigDevicesDestroyed() const {
  return static_cast<unsigned>(std::count_if(steps.ops.begin(), steps.ops.end(), [](const PlannedOp& op) {
    return op.kind == PlannedOp::Kind::kDestroyCi;
  }));
}

unsigned GpuPlan::MigDevicesCreated() const {
  unsigned n = 0;
  for (const PlannedOp& op : steps.ops)
    if (op.kind == PlannedOp::Kind::kCreateGi || op.kind == PlannedOp::Kind::kCreateCi)
      n += static_cast<unsigned>(op.cis.size());
  return n;
}

Result<GpuPlan> PlanGpu(const ObservedGpu& gpu, const GpuGoal& goal, const PlanOptions& options) {
  const nvml::GpuSnapshot& s = gpu.snapshot;
  const unsigned index = s.index.value();
  const std::string where = fmt::format("GPU {} ({})", index, s.name);
  GpuPlan plan;
  plan.steps.gpu = s.index;
  if (!s.mig) {
    if (!goal.mig_enabled) return plan;
    return MakeError(ErrorCode::kUnsupported,
                     fmt::format("{} does not support MIG ({})", where, goal.origin));
  }
  const bool on = s.mig->current;
  const bool pending_on = s.mig->pending;
  const std::vector<CurrentGi> current = CurrentInstances(s);
  const std::vector<nvml::ProcessInfo> processes = AllProcesses(s);
  auto busy_error = [&](const std::string& what) {
    return MakeError(ErrorCode::kBusy,
                     fmt::format("{}: {} but it runs processes ({}): stop them, or pass --force; nothing was "
                                 "changed",
                                 where, what, ProcessList(processes)));
  };
  auto& ops = plan.steps.ops;

  if (!goal.mig_enabled) {
    if (on) {
      if (!current.empty()) {
        if (!processes.empty() && !options.force)
          return busy_error("turning MIG off destroys every instance");
        LayoutDiff all_go;
        for (std::size_t i = 0; i < current.size(); ++i) all_go.destroyed.push_back(i);
        AddDiffSteps(gpu, current, {}, all_go, &plan);
      }
    }
    if (pending_on) {
      if (!processes.empty() && !options.force) return busy_error("MIG mode must change");
      ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = false});
    }
    if (on && gpu.geometry.ModeChangeNeedsReset()) {
      if (options.skip_reset)
        plan.unfinished = fmt::format("{}: MIG off is pending until a reset (--skip-reset)", where);
      else if (!options.reset_supported)
        plan.unfinished =
            fmt::format("{}: MIG off is pending; this host cannot reset the GPU: reboot", where);
      else
        ops.push_back({.kind = PlannedOp::Kind::kResetGpu, .enable = false});
    }
    return plan;
  }

  // MIG on. Validate the instances against the GPU (as it will be) before anything else.
  const std::vector<CurrentGi> base = on ? current : std::vector<CurrentGi>{};
  Result<LayoutDiff> diff = DiffLayouts(gpu.geometry, base, goal.instances, options.force);
  if (!diff.ok()) {
    if (diff.error().code == ErrorCode::kBusy)
      return MakeError(
          ErrorCode::kBusy,
          fmt::format("{}: {} ({}); in use: {}. Stop those processes, or pass --force; nothing was "
                      "changed",
                      where, diff.error().message, goal.origin, BusyInstances(s)));
    Error e = diff.error().WithContext(where + ": ");
    e.message += fmt::format(" ({})", goal.origin);
    return e;
  }
  if (on) {
    if (!pending_on)
      ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = true});  // cancel a disable
    if (!options.mode_only) AddDiffSteps(gpu, base, goal.instances, *diff, &plan);
    return plan;
  }
  if (!processes.empty() && !options.force) return busy_error("MIG mode must be turned on");
  if (!pending_on) ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = true});
  if (gpu.geometry.ModeChangeNeedsReset()) {
    if (options.skip_reset) {
      plan.unfinished =
          fmt::format("{}: MIG on is pending until a reset (--skip-reset); run apply again after it", where);
      return plan;
    }
    if (!options.reset_supported) {
      plan.unfinished = fmt::format(
          "{}: MIG on is pending and this host cannot reset the GPU (a VM without reset support?): reboot, "
          "then "
          "run apply again",
          where);
      return plan;
    }
    ops.push_back({.kind = PlannedOp::Kind::kResetGpu, .enable = true});
  }
  if (!options.mode_only) AddDiffSteps(gpu, base, goal.instances, *diff, &plan);
  return plan;
}

Result<GpuPlan> PlanModeChange(const ObservedGpu& gpu, bool enable) {
  const nvml::GpuSnapshot& s = gpu.snapshot;
  const unsigned i = s.index.value();
  GpuPlan plan;
  plan.steps.gpu = s.index;
  if (!s.mig)
    return MakeError(ErrorCode::kUnsupported,
                     fmt::format("GPU {} ({}) does not support MIG; nothing was changed", i, s.name));
  if (s.mig->current == enable && s.mig->pending == enable) return plan;
  if (!enable && !s.instances.empty())
    return MakeError(ErrorCode::kBusy, fmt::format("GPU {} still has {} MIG instance(s): destroy them first "
                                                   "('migctl destroy -i {} --all'); nothing was changed",
                                                   i, s.instances.size(), i));
  if (std::vector<nvml::ProcessInfo> p = AllProcesses(s); !p.empty())
    return MakeError(ErrorCode::kBusy, fmt::format("GPU {} runs processes ({}): stop them first; nothing was "
                                                   "changed",
                                                   i, ProcessList(p)));
  plan.steps.ops.push_back({.kind = PlannedOp::Kind::kSetMigMode, .enable = enable});
  return plan;
}

Result<GpuPlan> PlanActivation(const ObservedGpu& gpu) {
  const nvml::GpuSnapshot& s = gpu.snapshot;
  const unsigned i = s.index.value();
  GpuPlan plan;
  plan.steps.gpu = s.index;
  if (!s.mig || s.mig->current == s.mig->pending) return plan;
  if (std::vector<nvml::ProcessInfo> p = AllProcesses(s); !p.empty())
    return MakeError(ErrorCode::kBusy, fmt::format("GPU {} runs processes ({}): stop them before a reset; "
                                                   "nothing was reset",
                                                   i, ProcessList(p)));
  plan.steps.ops.push_back({.kind = PlannedOp::Kind::kResetGpu, .enable = s.mig->pending});
  return plan;
}

}  // namespace migctl
