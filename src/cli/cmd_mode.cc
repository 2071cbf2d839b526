// `migctl mode enable|disable`: turn MIG mode on or off per GPU, saying when it takes effect.
#include <fmt/format.h>

#include "cli/commands.h"
#include "reconcile/gpu_plan.h"

namespace migctl {
namespace {

struct ModeArgs {
  std::string action;
  std::string gpus;
  double lock_timeout = 300;
};

Result<int> RunMode(Context& ctx, const ModeArgs& args) {
  const bool enable = args.action == "enable";
  ChangeRequest request;
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ctx.SelectDevices(args.gpus));
  request.command = "mode " + args.action;
  request.planner = [enable](const std::vector<ObservedGpu>& gpus, bool) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans;
    for (const ObservedGpu& gpu : gpus) {
      MIGCTL_ASSIGN_OR_RETURN(GpuPlan plan, PlanModeChange(gpu, enable));
      plans.push_back(std::move(plan));
    }
    return plans;
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, ctx.ChangeGpus(std::move(request), {}, args.lock_timeout));
  Json results = Json::array();
  std::string text;
  const char* word = enable ? "enable" : "disable";
  for (const GpuOutcome& g : report.gpus) {
    const unsigned i = g.before.snapshot.index.value();
    const nvml::MigMode mode = g.change ? *g.change->after.mig : *g.before.snapshot.mig;
    std::string result;
    if (!g.change) {
      result = "unchanged";
      text += fmt::format("GPU {}: MIG already {}\n", i, enable ? "on" : "off");
    } else if (mode.current == enable) {
      result = "active";
      text += fmt::format("GPU {}: MIG {}\n", i, enable ? "on" : "off");
    } else {
      result = "pending_reset";
      text += fmt::format(
          "GPU {}: MIG {} pending: this GPU needs a reset: run 'migctl reset -i {}' (in a VM without reset "
          "support, reboot)\n",
          i, word, i);
    }
    results.push_back(
        {{"index", i}, {"result", result}, {"mig", {{"current", mode.current}, {"pending", mode.pending}}}});
  }
  return ctx.Finish({{"gpus", results}}, text);
}

}  // namespace

void AddModeCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ModeArgs>();
  CLI::App* cmd =
      app.add_subcommand("mode", "Turn MIG mode on or off (Ampere needs a reset; Hopper+ switch when idle)");
  cmd->footer(
      "Every selected GPU is checked first (MIG support, no processes, no instances when disabling); nothing "
      "changes\n"
      "unless all pass. Examples:\n  migctl mode enable -i 0,1\n  migctl mode disable -i all");
  cmd->add_option("action", args->action, "enable or disable")
      ->required()
      ->check(CLI::IsMember({"enable", "disable"}));
  cmd->add_option("-i,--gpu", args->gpus, "GPUs (indexes, ranges, UUIDs, PCI bus ids or 'all')")->required();
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another migctl changing GPUs on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunMode(ctx, *args); }; });
}

}  // namespace migctl
