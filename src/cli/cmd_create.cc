// `migctl create`: create GPU instances (each with its default compute instance) in any order, placed by the
// solver.
#include <fmt/format.h>

#include "cli/commands.h"
#include "nvml/device.h"
#include "reconcile/executor.h"
#include "reconcile/host_lock.h"
#include "reconcile/instance_plan.h"
#include "reconcile/transaction.h"

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
  // Lock first, so the plan (and a rollback to the state it saw) is not overtaken by another migctl.
  std::optional<HostLock> lock;
  if (!args.dry_run) {
    Result<HostLock> held = ctx.LockHost();
    if (!held.ok()) return held.error();
    lock.emplace(std::move(*held));
  }
  // Plan every GPU before touching any: bad input changes nothing.
  struct Planned {
    nvml::Device device;
    ObservedGpu before;
    InstancePlan plan;
  };
  std::vector<Planned> plans;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(device));
    MIGCTL_ASSIGN_OR_RETURN(std::vector<ProfileId> requests, ParseProfiles(gpu.geometry, args.profiles));
    MIGCTL_ASSIGN_OR_RETURN(InstancePlan plan, PlanCreate(gpu, requests, !args.no_ci));
    plans.push_back({device, std::move(gpu), std::move(plan)});
  }
  Journal journal(ctx.RunDir());
  Json gpus = Json::array();
  std::string text;
  for (auto& [device, before, plan] : plans) {
    const unsigned i = plan.gpu.value();
    Json created = Json::array();
    if (args.dry_run) {
      for (const PlannedOp& op : plan.ops) {
        text += fmt::format("GPU {}: would {}\n", i, DescribeOp(op));
        created.push_back({{"profile", op.profile_name}, {"start", op.start}, {"size", op.size}});
      }
    } else {
      MIGCTL_ASSIGN_OR_RETURN(GpuChange change,
                              ChangeGpuAtomically(device, before, GpuPlan{plan}, journal, "create", true));
      const std::vector<ExecutedOp>& done = change.done;
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot after, nvml::ObserveGpu(device));
      for (const ExecutedOp& e : done) {
        std::optional<MigUuid> uuid;
        for (const auto& inst : after.instances)
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
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunCreate(ctx, *args); }; });
}

}  // namespace migctl
