#include "reconcile/apply.h"

#include <fmt/format.h>

namespace migctl {
namespace {

Result<std::vector<GpuOutcome>> PlanAll(const std::vector<GpuRequest>& requests, bool force_for_validation) {
  std::vector<GpuOutcome> out;
  for (const GpuRequest& r : requests) {
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(r.device));
    PlanOptions options = r.options;
    options.force = options.force || force_for_validation;
    MIGCTL_ASSIGN_OR_RETURN(GpuPlan plan, PlanGpu(gpu, r.goal, options));
    out.push_back({std::move(gpu), std::move(plan), {}});
  }
  return out;
}

std::string IndexList(const std::vector<unsigned>& indexes) {
  std::string out;
  for (unsigned i : indexes) out += (out.empty() ? "" : ", ") + std::to_string(i);
  return out;
}

Result<ApplyReport> ChangeAll(const std::vector<GpuRequest>& requests, Journal& journal,
                              const ApplyCallbacks& callbacks, const std::string& command,
                              const std::vector<GpuOutcome>& first_pass) {
  auto hook = [&](spec::HookPoint point) { return callbacks.hook ? callbacks.hook(point) : Ok(); };
  const auto& progress = callbacks.progress;
  bool mode = false, config = false;
  for (const GpuOutcome& g : first_pass) {
    mode = mode || g.plan.ChangesMode();
    config = config || g.plan.ChangesInstances();
  }
  if (mode) MIGCTL_RETURN_IF_ERROR(hook(spec::HookPoint::kPreApplyMode));
  if (config) MIGCTL_RETURN_IF_ERROR(hook(spec::HookPoint::kPreApplyConfig));

  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> planned, PlanAll(requests, false));
  ApplyReport report{std::move(planned), false};
  std::vector<unsigned> done;
  for (std::size_t k = 0; k < requests.size(); ++k) {
    GpuOutcome& g = report.gpus[k];
    const unsigned index = requests[k].device.index().value();
    if (g.plan.empty()) {
      // A journal entry of an interrupted run whose GPU already reached this goal is resolved too.
      MIGCTL_RETURN_IF_ERROR(journal.End(g.before.snapshot.uuid));
      continue;
    }
    if (progress)
      progress(fmt::format("GPU {}: {} step{}", index, g.plan.steps.ops.size(),
                           g.plan.steps.ops.size() == 1 ? "" : "s"));
    Result<GpuChange> change = ChangeGpuAtomically(requests[k].device, g.before, g.plan, journal, command,
                                                   requests[k].options.reset_supported);
    if (!change.ok()) {
      std::vector<unsigned> untouched;
      for (std::size_t j = k + 1; j < requests.size(); ++j)
        if (!report.gpus[j].plan.empty()) untouched.push_back(requests[j].device.index().value());
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
  }
  // Verify: every changed GPU now matches its goal.
  for (std::size_t k = 0; k < requests.size(); ++k) {
    const GpuOutcome& g = report.gpus[k];
    if (g.plan.empty() || g.plan.unfinished) continue;
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu after, ObserveForPlanning(requests[k].device));
    MIGCTL_ASSIGN_OR_RETURN(GpuPlan again, PlanGpu(after, requests[k].goal, requests[k].options));
    if (!again.empty())
      return MakeError(
          ErrorCode::kInternal,
          fmt::format("GPU {} does not match its goal after apply ({} step{} still to do, first: {}); "
                      "please report this with 'migctl status --json'",
                      requests[k].device.index().value(), again.steps.ops.size(),
                      again.steps.ops.size() == 1 ? "" : "s", DescribeOp(again.steps.ops[0])));
  }
  return report;
}

}  // namespace

bool ApplyReport::changed() const {
  for (const GpuOutcome& g : gpus)
    if (!g.change.done.empty()) return true;
  return false;
}

std::vector<std::string> ApplyReport::unfinished() const {
  std::vector<std::string> out;
  for (const GpuOutcome& g : gpus)
    if (g.plan.unfinished) out.push_back(*g.plan.unfinished);
  return out;
}

Result<ApplyReport> Apply(const std::vector<GpuRequest>& requests, bool dry_run, Journal& journal,
                          const ApplyCallbacks& callbacks, const std::string& command) {
  if (dry_run) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> plans, PlanAll(requests, false));
    return ApplyReport{std::move(plans), true};
  }
  // Validation pass: bad goals fail before any hook runs or anything changes. Busy instances are judged after
  // the hooks, which may stop GPU clients.
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuOutcome> first_pass, PlanAll(requests, true));
  if (callbacks.preflight) MIGCTL_RETURN_IF_ERROR(callbacks.preflight(first_pass));
  // As mig-parted: apply-exit is armed only once apply-start succeeded.
  if (callbacks.hook) MIGCTL_RETURN_IF_ERROR(callbacks.hook(spec::HookPoint::kApplyStart));
  Result<ApplyReport> report = ChangeAll(requests, journal, callbacks, command, first_pass);
  Status exit = callbacks.hook ? callbacks.hook(spec::HookPoint::kApplyExit) : Ok();
  if (!report.ok()) return report;
  MIGCTL_RETURN_IF_ERROR(exit);
  return report;
}

}  // namespace migctl
