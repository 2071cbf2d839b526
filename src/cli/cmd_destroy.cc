// `migctl destroy`: remove GPU instances (with their compute instances), single compute instances, or MIG
// devices.
#include <algorithm>
#include <charconv>
#include <map>

#include <fmt/format.h>

#include "cli/commands.h"
#include "reconcile/instance_plan.h"

namespace migctl {
namespace {

struct DestroyArgs {
  std::string gpus;
  bool all = false;
  std::vector<unsigned> gis;
  std::vector<unsigned> cis;
  std::vector<std::string> mig_uuids;
  bool dry_run = false;
  double lock_timeout = 300;
};

/// Targets on one GPU from the flags, or from the MIG UUIDs that live on it. A MIG device whose GI has no
/// other CI takes its GI with it (a GI without CIs serves nobody).
std::vector<DestroyTarget> TargetsFor(const ObservedGpu& gpu, const DestroyArgs& args,
                                      std::vector<std::string>* found) {
  std::vector<DestroyTarget> targets;
  if (args.all) targets.push_back({});
  for (unsigned gi : args.gis) {
    if (args.cis.empty()) targets.push_back({GiId(gi), std::nullopt});
    for (unsigned ci : args.cis) targets.push_back({GiId(gi), CiId(ci)});
  }
  for (const std::string& uuid : args.mig_uuids) {
    for (const auto& i : gpu.snapshot.instances) {
      if (!i.uuid || i.uuid->value() != uuid) continue;
      found->push_back(uuid);
      size_t cis_in_gi = 0;
      for (const auto& j : gpu.snapshot.instances) cis_in_gi += j.gi == i.gi && j.ci.has_value();
      targets.push_back(cis_in_gi <= 1 ? DestroyTarget{i.gi, std::nullopt} : DestroyTarget{i.gi, i.ci});
    }
  }
  return targets;
}

/// Per GI: "GPU 0: destroyed GI 2 (3g.40gb at slots 4-7) with 1 compute instance"; CIs whose GI stays are
/// listed on their own. With `dry_run`, "would destroy".
std::string DescribeDestroyed(const InstancePlan& plan, bool dry_run) {
  std::string out;
  const char* verb = dry_run ? "would destroy" : "destroyed";
  for (const PlannedOp& op : plan.ops) {
    const unsigned gi = op.gi->value();
    auto gi_goes = [&](const PlannedOp& o) { return o.kind == PlannedOp::Kind::kDestroyGi && o.gi == op.gi; };
    bool whole = std::any_of(plan.ops.begin(), plan.ops.end(), gi_goes);
    if (op.kind == PlannedOp::Kind::kDestroyCi && !whole) {
      out += fmt::format("GPU {}: {} CI {} of GI {} ({})\n", plan.gpu.value(), verb, op.ci->value(), gi,
                         op.profile_name);
    } else if (op.kind == PlannedOp::Kind::kDestroyGi) {
      long cis = std::count_if(plan.ops.begin(), plan.ops.end(), [&](const PlannedOp& o) {
        return o.kind == PlannedOp::Kind::kDestroyCi && o.gi == op.gi;
      });
      out +=
          fmt::format("GPU {}: {} GI {} ({} at {}){}\n", plan.gpu.value(), verb, gi, op.profile_name,
                      DescribeSlots(op.start, op.size),
                      cis == 0 ? "" : fmt::format(" with {} compute instance{}", cis, cis == 1 ? "" : "s"));
    }
  }
  return out;
}

Result<int> RunDestroy(Context& ctx, const DestroyArgs& args) {
  int modes = (args.all ? 1 : 0) + (args.gis.empty() ? 0 : 1) + (args.mig_uuids.empty() ? 0 : 1);
  if (modes != 1)
    return MakeError(ErrorCode::kInvalidInput,
                     "say what to destroy: --all, --gi ID[,ID…] (optionally --ci ID…), or MIG UUIDs");
  if (!args.cis.empty() && args.gis.size() != 1)
    return MakeError(ErrorCode::kInvalidInput,
                     "--ci needs exactly one --gi (CI ids are unique per GPU instance only)");
  if (args.mig_uuids.empty() && args.gpus.empty())
    return MakeError(ErrorCode::kInvalidInput, "say which GPU with -i (GI ids are unique per GPU only)");
  ChangeRequest request;
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ctx.SelectDevices(args.gpus));
  request.dry_run = args.dry_run;
  request.command = "destroy";
  std::vector<bool> targeted;
  request.planner = [&args, &targeted](const std::vector<ObservedGpu>& gpus,
                                       bool) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans;
    std::vector<std::string> found;
    targeted.clear();
    for (const ObservedGpu& gpu : gpus) {
      std::vector<DestroyTarget> targets = TargetsFor(gpu, args, &found);
      targeted.push_back(!targets.empty());
      GpuPlan plan;
      plan.steps.gpu = gpu.snapshot.index;
      if (!targets.empty()) {
        MIGCTL_ASSIGN_OR_RETURN(plan.steps, PlanDestroy(gpu, targets));
      }
      plans.push_back(std::move(plan));
    }
    for (const std::string& uuid : args.mig_uuids)
      if (std::find(found.begin(), found.end(), uuid) == found.end())
        return MakeError(ErrorCode::kNotFound,
                         fmt::format("no MIG device {} (see 'migctl status'); nothing was destroyed", uuid));
    return plans;
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, ctx.ChangeGpus(std::move(request), {}, args.lock_timeout));
  Json gpus = Json::array();
  std::string text;
  for (std::size_t k = 0; k < report.gpus.size(); ++k) {
    if (!targeted[k]) continue;
    const InstancePlan& plan = report.gpus[k].plan.steps;
    const unsigned i = plan.gpu.value();
    Json ops = Json::array();
    for (const PlannedOp& op : plan.ops) {
      ops.push_back({{"op", op.kind == PlannedOp::Kind::kDestroyGi ? "destroy_gi" : "destroy_ci"},
                     {"gi", op.gi->value()},
                     {"ci", op.ci ? Json(op.ci->value()) : Json(nullptr)},
                     {"profile", op.profile_name},
                     {"start", op.start},
                     {"size", op.size}});
    }
    text += DescribeDestroyed(plan, args.dry_run);
    if (plan.ops.empty()) text += fmt::format("GPU {}: nothing to destroy\n", i);
    gpus.push_back({{"index", i}, {"destroyed", ops}});
  }
  return ctx.Finish({{"dry_run", args.dry_run}, {"gpus", gpus}}, text);
}

}  // namespace

void AddDestroyCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<DestroyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "destroy", "Destroy GPU instances, compute instances or MIG devices (never busy ones)");
  cmd->footer(
      "An instance with processes is refused, naming them, and nothing is destroyed.\n"
      "Examples:\n  migctl destroy -i 0 --all\n  migctl destroy -i 0 --gi 7,8\n  migctl destroy -i 0 --gi 2 "
      "--ci 1\n"
      "  migctl destroy MIG-c7384736-a75d-5afc-978f-d2f1294409fd");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs (with --all or --gi); MIG UUIDs are looked up on every GPU");
  cmd->add_flag("--all", args->all, "Every GPU instance of the selected GPUs");
  cmd->add_option("--gi", args->gis, "GPU instance ids (see 'migctl status')")
      ->delimiter(',')
      ->check(WholeNumber(0, 4294967295ULL));
  cmd->add_option("--ci", args->cis, "Only these compute instances of the one --gi")
      ->delimiter(',')
      ->check(WholeNumber(0, 4294967295ULL));
  cmd->add_option("mig_uuids", args->mig_uuids, "MIG device UUIDs (MIG-…)");
  cmd->add_flag("--dry-run", args->dry_run, "Print what would be destroyed and change nothing");
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another migctl changing GPUs on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunDestroy(ctx, *args); }; });
}

}  // namespace migctl
