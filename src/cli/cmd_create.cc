// `migctl create`: create GPU instances (each with its default compute instance) in any order, placed by the
// solver.
#include <fmt/format.h>

#include "cli/commands.h"
#include "reconcile/instance_plan.h"

namespace migctl {
namespace {

struct CreateArgs {
  std::string gpus;
  std::vector<std::string> profiles;
  bool no_ci = false;
  bool dry_run = false;
  double lock_timeout = 300;
};

Result<int> RunCreate(Context& ctx, const CreateArgs& args) {
  ChangeRequest request;
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ctx.SelectDevices(args.gpus));
  request.dry_run = args.dry_run;
  request.command = "create";
  request.planner = [&args](const std::vector<ObservedGpu>& gpus, bool) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans;
    for (const ObservedGpu& gpu : gpus) {
      MIGCTL_ASSIGN_OR_RETURN(std::vector<ProfileId> requests, ParseProfiles(gpu.geometry, args.profiles));
      MIGCTL_ASSIGN_OR_RETURN(InstancePlan plan, PlanCreate(gpu, requests, !args.no_ci));
      plans.push_back(GpuPlan{std::move(plan)});
    }
    return plans;
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, ctx.ChangeGpus(std::move(request), {}, args.lock_timeout));
  Json gpus = Json::array();
  std::string text;
  for (const GpuOutcome& g : report.gpus) {
    const unsigned i = g.before.snapshot.index.value();
    Json created = Json::array();
    if (!g.change) {
      for (const PlannedOp& op : g.plan.steps.ops) {
        text += fmt::format("GPU {}: would {}\n", i, DescribeOp(op));
        created.push_back({{"profile", op.profile_name}, {"start", op.start}, {"size", op.size}});
      }
    } else {
      for (const ExecutedOp& e : g.change->done) {
        std::optional<MigUuid> uuid;
        for (const auto& inst : g.change->after.instances)
          if (inst.gi == *e.gi && !e.cis.empty() && inst.ci == e.cis[0]) uuid = inst.uuid;
        text += fmt::format("GPU {}: created {}@{} as GI {}{}{}\n", i, e.op.profile_name, e.op.start,
                            e.gi->value(), e.cis.empty() ? "" : fmt::format(" CI {}", e.cis[0].value()),
                            uuid ? "  " + uuid->value() : "");
        created.push_back({{"profile", e.op.profile_name},
                           {"start", e.op.start},
                           {"size", e.op.size},
                           {"gi", e.gi->value()},
                           {"ci", e.cis.empty() ? Json(nullptr) : Json(e.cis[0].value())},
                           {"uuid", uuid ? Json(uuid->value()) : Json(nullptr)}});
      }
    }
    gpus.push_back({{"index", i}, {"created", created}});
  }
  return ctx.Finish({{"dry_run", args.dry_run}, {"gpus", gpus}}, text);
}

}  // namespace

void AddCreateCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<CreateArgs>();
  CLI::App* cmd =
      app.add_subcommand("create", "Create GPU instances (any order works) with their compute instances");
  cmd->footer(
      "Existing instances stay where they are; new ones get the placements that leave the most room, and "
      "are\n"
      "created with explicit placements, so a set that fits never meets 'Insufficient Resources' (unless "
      "another\n"
      "process changes the GPU at the same moment: then exit 1, run it again). A set that does not fit is "
      "refused\n"
      "before anything changes (exit 2); if NVML fails half-way, what was created is removed.\n"
      "Examples:\n  migctl create -i 0 1g.10gb 1g.10gb 2g.20gb 3g.40gb\n  migctl create -i 0-3 3g.40gb "
      "3g.40gb --dry-run");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs to create on (the same instances on each)")->required();
  cmd->add_option("profiles", args->profiles, "GPU instance profiles (3g.40gb, MIG 3g.40gb, or a profile ID)")
      ->required();
  cmd->add_flag("--no-ci", args->no_ci,
                "Create only the GPU instances, no compute instances (no MIG devices)");
  cmd->add_flag("--dry-run", args->dry_run, "Print the placements and change nothing");
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another migctl changing GPUs on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunCreate(ctx, *args); }; });
}

}  // namespace migctl
