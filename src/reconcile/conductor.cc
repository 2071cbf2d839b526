#include "reconcile/conductor.h"

#include <fmt/format.h>

#include "common/private_dir.h"
#include "reconcile/host_lock.h"

namespace migctl {
namespace {

std::string IndexList(const std::vector<unsigned>& indexes) {
  std::string out;
  for (unsigned i : indexes) out += (out.empty() ? "" : ", ") + std::to_string(i);
  return out;
}

Result<std::vector<GpuOutcome>> ObserveAndPlan(const ChangeRequest& request, bool judge_busy) {
  std::vector<ObservedGpu> gpus;
  for (const nvml::Device& device : request.devices) {
    Result<ObservedGpu> gpu = ObserveForPlanning(device);
    if (!gpu.ok() && gpu.error().code == ErrorCode::kUnsupported) {
      // A GPU without MIG is observed as such; the planner decides whether that is an error.
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot snapshot, nvml::ObserveGpu(device));
      if (!snapshot.mig) gpu = ObservedGpu{std::move(snapshot), {}, {}};
    }
    if (!gpu.ok()) return gpu.error();
    gpus.push_back(std::move(*gpu));
  }
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuPlan> plans, request.planner(gpus, judge_busy));
  if (plans.size() != gpus.size())
    return MakeError(ErrorCode::kInternal, "the planner returned a plan count other than the GPU count");
  std::vector<GpuOutcome> out;
  for (std::size_t k = 0; k < gpus.size(); ++k) out.push_back({std::move(gpus[k]), std::move(plans[k]), {}});
  return out;
}

bool AnyStep(const std::vector<GpuOutcome>& gpus) {
  for (const GpuOutcome& g : gpus)
    if (!g.plan.empty()) return true;
  return false;
}

/// The journal entries of the selected GPUs: an unreadable one stops the command; the others are returned.
Result<std::vector<std::optional<JournalEntry>>> ReadEntries(const ChangeRequest& request,
                                                             const Journal& journal) {
  std::vector<std::optional<JournalEntry>> out;
  for (const nvml::Device& device : request.devices) {
    MIGCTL_ASSIGN_OR_RETURN(GpuUuid uuid, device.Uuid());
    MIGCTL_ASSIGN_OR_RETURN(std::optional<JournalEntry> entry, journal.Find(uuid, device.index()));
    out.push_back(std::move(entry));
  }
  return out;
}

/// Moves the entries of interrupted commands out of the way: this command starts from the GPUs as they are.
Status SetAsideInterrupted(const ChangeRequest& request, const ChangeCallbacks& callbacks, Journal& journal,
                           const std::vector<std::optional<JournalEntry>>& interrupted) {
  for (std::size_t k = 0; k < interrupted.size(); ++k) {
    if (!interrupted[k]) continue;
    MIGCTL_ASSIGN_OR_RETURN(std::string kept, journal.SetAside(*interrupted[k]));
    if (callbacks.notice)
      callbacks.notice(fmt::format(
          "GPU {} was left half-changed by an interrupted migctl (pid {}, '{}'); this command starts from "
          "its "
          "current state; the state before that one is kept in {} ('migctl restore' puts it back)",
          request.devices[k].index().value(), interrupted[k]->pid, interrupted[k]->command, kept));
  }
  return Ok();
}

Status RunChanges(const ChangeRequest& request, const ChangeCallbacks& callbacks, Journal& journal,
                  ChangeReport& report) {
  std::vector<unsigned> done;
  for (std::size_t k = 0; k < report.gpus.size(); ++k) {
    GpuOutcome& g = report.gpus[k];
    const unsigned index = request.devices[k].index().value();
    if (g.plan.empty()) continue;
    if (callbacks.progress)
      callbacks.progress(fmt::format("GPU {}: {} step{}", index, g.plan.steps.ops.size(),
                                     g.plan.steps.ops.size() == 1 ? "" : "s"));
    const bool reset = request.reset_supported.empty() || request.reset_supported[k];
    Result<GpuChange> change =
        ChangeGpuAtomically(request.devices[k], g.before, g.plan, journal, request.command, reset);
    if (!change.ok()) {
      std::vector<unsigned> untouched;
      for (std::size_t j = k + 1; j < report.gpus.size(); ++j)
        if (!report.gpus[j].plan.empty()) untouched.push_back(request.devices[j].index().value());
      std::string where;
      if (!done.empty())
        where += fmt::format("; GPU {} changed before stay{} changed", IndexList(done),
                             done.size() == 1 ? "s" : "");
      if (!untouched.empty()) where += fmt::format("; GPU {} not touched", IndexList(untouched));
      Error e = change.error();
      e.message += where;
      return e;
    }
    g.change = std::move(*change);
    done.push_back(index);
    if (callbacks.changed) callbacks.changed(k, g);
  }
  if (!request.goal_based) return Ok();
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> again, ObserveAndPlan(request, true));
  for (std::size_t k = 0; k < again.size(); ++k) {
    if (!report.gpus[k].change || again[k].plan.empty() || again[k].plan.unfinished) continue;
    const InstancePlan& left = again[k].plan.steps;
    return MakeError(ErrorCode::kInternal,
                     fmt::format("GPU {} does not match its goal after the change ({} step{} still to do, "
                                 "first: {}); please report this with 'migctl status --json'",
                                 request.devices[k].index().value(), left.ops.size(),
                                 left.ops.size() == 1 ? "" : "s", DescribeOp(left.ops[0])));
  }
  return Ok();
}

}  // namespace

bool ChangeReport::changed() const {
  for (const GpuOutcome& g : gpus)
    if (g.change && !g.change->done.empty()) return true;
  return false;
}

HostPlanner GoalPlanner(std::vector<GpuGoal> goals, PlanOptions options, std::vector<bool> reset_supported) {
  return [goals = std::move(goals), options, reset_supported = std::move(reset_supported)](
             const std::vector<ObservedGpu>& gpus, bool judge_busy) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans;
    for (std::size_t k = 0; k < gpus.size(); ++k) {
      PlanOptions o = options;
      o.force = o.force || !judge_busy;
      o.reset_supported = reset_supported.empty() || reset_supported[k];
      MIGCTL_ASSIGN_OR_RETURN(GpuPlan plan, PlanGpu(gpus[k], goals[k], o));
      plans.push_back(std::move(plan));
    }
    return plans;
  };
}

Result<ChangeReport> ChangeGpus(const ChangeRequest& request, const ChangeCallbacks& callbacks) {
  Journal journal(request.run_dir);
  if (request.dry_run) {
    MIGCTL_RETURN_IF_ERROR(ReadEntries(request, journal));
    MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> plans, ObserveAndPlan(request, true));
    return ChangeReport{std::move(plans), true};
  }
  MIGCTL_ASSIGN_OR_RETURN(const std::string run_dir,
                          EnsurePrivateDir(request.run_dir, "set MIGCTL_RUN_DIR to a directory of yours"));
  MIGCTL_ASSIGN_OR_RETURN(HostLock lock,
                          HostLock::Acquire(run_dir, request.lock_timeout, callbacks.lock_wait));
  journal = Journal(run_dir);
  MIGCTL_ASSIGN_OR_RETURN(std::vector<std::optional<JournalEntry>> interrupted,
                          ReadEntries(request, journal));
  // With hooks, busy instances are judged after them (they may stop GPU clients); bad goals fail before.
  const bool hooks = static_cast<bool>(callbacks.hook);
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> first, ObserveAndPlan(request, !hooks));
  ChangeReport report{first, false};
  if (AnyStep(first) && callbacks.preflight) MIGCTL_RETURN_IF_ERROR(callbacks.preflight(first));
  MIGCTL_RETURN_IF_ERROR(SetAsideInterrupted(request, callbacks, journal, interrupted));
  if (!hooks) {
    if (!AnyStep(first)) return report;
    MIGCTL_RETURN_IF_ERROR(RunChanges(request, callbacks, journal, report));
    return report;
  }
  // As mig-parted: apply-exit is armed only once apply-start succeeded.
  MIGCTL_RETURN_IF_ERROR(callbacks.hook(spec::HookPoint::kApplyStart));
  auto body = [&]() -> Status {
    bool mode = false, config = false;
    for (const GpuOutcome& g : first) {
      mode = mode || g.plan.ChangesMode();
      config = config || g.plan.ChangesConfig();
    }
    if (mode) MIGCTL_RETURN_IF_ERROR(callbacks.hook(spec::HookPoint::kPreApplyMode));
    if (config) MIGCTL_RETURN_IF_ERROR(callbacks.hook(spec::HookPoint::kPreApplyConfig));
    MIGCTL_ASSIGN_OR_RETURN(report.gpus, ObserveAndPlan(request, true));
    return RunChanges(request, callbacks, journal, report);
  };
  Status status = body();
  Status exit = callbacks.hook(spec::HookPoint::kApplyExit);
  MIGCTL_RETURN_IF_ERROR(status);
  MIGCTL_RETURN_IF_ERROR(exit);
  return report;
}

}  // namespace migctl
