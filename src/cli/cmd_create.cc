// `migctl create`: create GPU instances (each with its default compute instance) in any order, placed by the
// solver.
#include <fmt/format.h>

#include "cli/commands.h"
#include "nvml/device.h"
#include "reconcile/executor.h"
#include "reconcile/instance_plan.h"

namespace migctl {
namespace {

struct CreateArgs {
  std::string gpus;
  std::vector<std::string> profiles;
  bool no_ci = false;
  bool dry_run = false;
};

Result<int> RunCreate(Context& ctx, const CreateArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  // Plan every GPU before touching any: bad input changes nothing.
  std::vector<std::pair<nvml::Device, InstancePlan>> plans;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(device));
    MIGCTL_ASSIGN_OR_RETURN(std::vector<ProfileId> requests, ParseProfiles(gpu.geometry, args.profiles));
    MIGCTL_ASSIGN_OR_RETURN(InstancePlan plan, PlanCreate(gpu, requests, !args.no_ci));
    plans.emplace_back(device, std::move(plan));
  }
  Json gpus = Json::array();
  std::string text;
  for (auto& [device, plan] : plans) {
    const unsigned i = plan.gpu.value();
    Json created = Json::array();
    if (args.dry_run) {
      for (const PlannedOp& op : plan.ops) {
        text += fmt::format("GPU {}: would {}\n", i, DescribeOp(op));
        created.push_back({{"profile", op.profile_name}, {"start", op.start}, {"size", op.size}});
      }
    } else {
      MIGCTL_ASSIGN_OR_RETURN(std::vector<ExecutedOp> done, ExecutePlan(device, plan));
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot after, nvml::ObserveGpu(device));
      for (const ExecutedOp& e : done) {
        std::optional<MigUuid> uuid;
        for (const auto& inst : after.instances)
          if (inst.gi == *e.gi && e.ci && inst.ci == *e.ci) uuid = inst.uuid;
        text += fmt::format("GPU {}: created {}@{} as GI {}{}{}\n", i, e.op.profile_name, e.op.start,
                            e.gi->value(), e.ci ? fmt::format(" CI {}", e.ci->value()) : "",
                            uuid ? "  " + uuid->value() : "");
        created.push_back({{"profile", e.op.profile_name},
                           {"start", e.op.start},
                           {"size", e.op.size},
                           {"gi", e.gi->value()},
                           {"ci", e.ci ? Json(e.ci->value()) : Json(nullptr)},
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
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunCreate(ctx, *args); }; });
}

}  // namespace migctl
