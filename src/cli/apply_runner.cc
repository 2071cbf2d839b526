#include "cli/apply_runner.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include <fmt/format.h>

#include "cli/diagnostics.h"
#include "integrations/host_blockers.h"
#include "reconcile/hooks.h"

namespace migctl {
namespace {

const char* OpName(PlannedOp::Kind kind) {
  switch (kind) {
    case PlannedOp::Kind::kCreateGi:
      return "create_gi";
    case PlannedOp::Kind::kCreateCi:
      return "create_ci";
    case PlannedOp::Kind::kDestroyCi:
      return "destroy_ci";
    case PlannedOp::Kind::kDestroyGi:
      return "destroy_gi";
    case PlannedOp::Kind::kSetMigMode:
      return "set_mig_mode";
    case PlannedOp::Kind::kResetGpu:
      return "reset_gpu";
  }
  return "";
}

/// Probing this host makes sense for real GPUs, or for a simulated machine when a test gives a host root.
bool ProbeHost(const Context& ctx) {
  const char* root = std::getenv("MIGCTL_HOST_ROOT");
  return ctx.options.sim.empty() || (root != nullptr && *root != '\0');
}

}  // namespace

Result<std::vector<bool>> ResetSupport(const Context& ctx, const std::vector<nvml::Device>& devices) {
  std::vector<bool> supported(devices.size(), true);
  if (!ProbeHost(ctx)) return supported;
  const integrations::HostProbe probe = integrations::HostProbe::FromEnvironment();
  for (size_t i = 0; i < devices.size(); ++i) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::PciInfo pci, devices[i].Pci());
    MIGCTL_ASSIGN_OR_RETURN(std::optional<bool> reset, probe.PciResetAvailable(pci.bus_id));
    supported[i] = reset.value_or(true);
  }
  return supported;
}

namespace {

/// Refuses a mode change that a host client would block (unless forced); warns about other MIG managers.
Status CheckBlockers(const std::vector<integrations::Blocker>& blockers, const std::vector<GpuOutcome>& plans,
                     bool force) {
  bool mode_change = false;
  for (const GpuOutcome& g : plans) mode_change = mode_change || g.plan.ChangesMode();
  for (const integrations::Blocker& b : blockers) {
    if (b.kind == integrations::BlockerKind::kConflict)
      PrintWarning(fmt::format("{}: {} ({})", b.what, b.why, b.fix));
    if (b.kind == integrations::BlockerKind::kBlocksModeChange && mode_change && !force)
      return MakeError(
          ErrorCode::kBusy,
          fmt::format("a MIG mode change is needed but the {} holds the GPUs: {}; {} (or pass --force); "
                      "nothing was changed",
                      b.what, b.why, b.fix));
  }
  return Ok();
}

}  // namespace

Json StepJson(const PlannedOp& op) {
  Json j = {{"op", OpName(op.kind)}, {"text", DescribeOp(op)}};
  switch (op.kind) {
    case PlannedOp::Kind::kSetMigMode:
    case PlannedOp::Kind::kResetGpu:
      j["mig_enabled"] = op.enable;
      return j;
    default:
      break;
  }
  j["profile"] = op.profile_name;
  j["profile_id"] = op.profile.value();
  j["start"] = op.start;
  j["size"] = op.size;
  if (op.gi) j["gi"] = op.gi->value();
  if (op.ci) j["ci"] = op.ci->value();
  if (!op.cis.empty()) {
    Json cis = Json::array();
    for (std::size_t k = 0; k < op.cis.size(); ++k)
      cis.push_back({{"profile", k < op.ci_names.size() ? op.ci_names[k] : ""},
                     {"profile_id", op.cis[k].profile.value()},
                     {"start", op.cis[k].start},
                     {"size", op.cis[k].size}});
    j["compute_instances"] = cis;
  }
  return j;
}

Result<int> RunApply(Context& ctx, const std::vector<std::pair<nvml::Device, GpuGoal>>& goals,
                     const ApplyRunOptions& options, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) PrintWarning(w);
  ChangeRequest request;
  std::vector<GpuGoal> targets;
  for (const auto& [device, goal] : goals) {
    request.devices.push_back(device);
    targets.push_back(goal);
  }
  MIGCTL_ASSIGN_OR_RETURN(request.reset_supported, ResetSupport(ctx, request.devices));
  request.planner = GoalPlanner(targets, options.plan, request.reset_supported);
  request.goal_based = true;
  request.dry_run = options.dry_run;
  request.command = options.command;
  std::vector<integrations::Blocker> blockers;
  if (ProbeHost(ctx)) {
    MIGCTL_ASSIGN_OR_RETURN(blockers, integrations::HostProbe::FromEnvironment().Probe());
  }
  std::optional<HookRunner> runner;
  if (options.hooks) runner.emplace(*options.hooks, options.hook_variables);
  ChangeCallbacks callbacks;
  if (runner) callbacks.hook = [&](spec::HookPoint point) { return runner->Run(point); };
  callbacks.preflight = [&](const std::vector<GpuOutcome>& plans) {
    return CheckBlockers(blockers, plans, options.plan.force);
  };
  const auto started = std::chrono::steady_clock::now();
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report,
                          ctx.ChangeGpus(std::move(request), std::move(callbacks), options.lock_timeout_s));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Json gpus = Json::array();
  std::string text;
  unsigned changed = 0, unchanged = 0;
  for (std::size_t k = 0; k < report.gpus.size(); ++k) {
    const GpuOutcome& g = report.gpus[k];
    const GpuGoal& goal = targets[k];
    const unsigned i = goal.gpu.value();
    Json steps = Json::array();
    for (const PlannedOp& op : g.plan.steps.ops) steps.push_back(StepJson(op));
    const char* result = g.plan.empty() ? "unchanged" : options.dry_run ? "planned" : "changed";
    gpus.push_back({{"index", i},
                    {"name", g.before.snapshot.name},
                    {"origin", goal.origin},
                    {"mig_enabled", goal.mig_enabled},
                    {"result", result},
                    {"destroyed", g.plan.MigDevicesDestroyed()},
                    {"created", g.plan.MigDevicesCreated()},
                    {"instances", {{"destroyed", g.plan.destroyed}, {"created", g.plan.created}}},
                    {"steps", steps},
                    {"unfinished", g.plan.unfinished ? Json(*g.plan.unfinished) : Json(nullptr)}});
    if (g.plan.empty()) {
      ++unchanged;
      text += fmt::format("GPU {}: already as asked ({})\n", i, goal.origin);
    } else {
      ++changed;
      const unsigned destroyed = g.plan.MigDevicesDestroyed(), created = g.plan.MigDevicesCreated();
      text +=
          fmt::format("GPU {} ({}): {} {} MIG device{}, {} {} ({})\n", i, g.before.snapshot.name,
                      options.dry_run ? "would destroy" : "destroyed", destroyed, destroyed == 1 ? "" : "s",
                      options.dry_run ? "create" : "created", created, goal.origin);
      for (const PlannedOp& op : g.plan.steps.ops) text += "  " + DescribeOp(op) + "\n";
    }
    if (g.plan.unfinished) text += "  NOT FINISHED: " + *g.plan.unfinished + "\n";
  }
  if (options.dry_run)
    text += fmt::format("Dry run: {} GPU{} would change, {} already as asked; nothing was changed.\n",
                        changed, changed == 1 ? "" : "s", unchanged);
  else if (changed == 0)
    text += fmt::format("Nothing to do: {} is already applied.\n", options.what);
  else
    text += fmt::format("Applied {}: {} GPU{} changed, {} already as asked ({:.2f} s).\n", options.what,
                        changed, changed == 1 ? "" : "s", unchanged, seconds);
  Json doc = {{"dry_run", options.dry_run},
              {"changed", report.changed()},
              {"seconds", seconds},
              {"gpus", gpus},
              {"warnings", warnings}};
  ctx.Finish(doc, text);
  for (const GpuOutcome& g : report.gpus)
    if (g.plan.unfinished && !options.plan.skip_reset) return kExitFailed;
  return kExitOk;
}

}  // namespace migctl
