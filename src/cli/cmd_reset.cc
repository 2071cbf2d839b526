// `migctl reset`: activate a pending MIG mode by resetting only the GPUs that need it, and only when idle.
#include <fmt/format.h>

#include "cli/commands.h"
#include "reconcile/gpu_plan.h"

namespace migctl {
namespace {

struct ResetArgs {
  std::string gpus;
  double lock_timeout = 300;
};

Result<int> RunReset(Context& ctx, const ResetArgs& args) {
  ChangeRequest request;
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ctx.SelectDevices(args.gpus));
  request.command = "reset";
  request.planner = [](const std::vector<ObservedGpu>& gpus, bool) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans;
    for (const ObservedGpu& gpu : gpus) {
      MIGCTL_ASSIGN_OR_RETURN(GpuPlan plan, PlanActivation(gpu));
      plans.push_back(std::move(plan));
    }
    return plans;
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, ctx.ChangeGpus(std::move(request), {}, args.lock_timeout));
  Json results = Json::array();
  std::string text;
  for (const GpuOutcome& g : report.gpus) {
    const unsigned i = g.before.snapshot.index.value();
    if (!g.change) {
      results.push_back({{"index", i}, {"reset", false}});
      text += fmt::format("GPU {}: no reset needed\n", i);
      continue;
    }
    const nvml::MigMode mode = *g.change->after.mig;
    results.push_back(
        {{"index", i}, {"reset", true}, {"mig", {{"current", mode.current}, {"pending", mode.pending}}}});
    text += fmt::format("GPU {}: reset; MIG {}\n", i, mode.current ? "on" : "off");
  }
  return ctx.Finish({{"gpus", results}}, text);
}

}  // namespace

void AddResetCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ResetArgs>();
  CLI::App* cmd = app.add_subcommand(
      "reset", "Reset the GPUs whose MIG mode change is pending (only those, only when idle)");
  cmd->footer(
      "On real GPUs this runs 'nvidia-smi -r -i N'; on the simulator it resets the simulated GPU.\n"
      "Example:\n  migctl reset -i 0,1");
  cmd->add_option("-i,--gpu", args->gpus,
                  "GPUs to consider (default all); those without a pending change are left alone");
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another migctl changing GPUs on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunReset(ctx, *args); }; });
}

}  // namespace migctl
