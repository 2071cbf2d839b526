// `migctl reset`: activate a pending MIG mode by resetting only the GPUs that need it, and only when idle.
#include <fmt/format.h>

#include "cli/commands.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"
#include "reconcile/gpu_reset.h"

namespace migctl {
namespace {

struct ResetArgs {
  std::string gpus;
};

Result<int> RunReset(Context& ctx, const ResetArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  std::vector<nvml::Device> todo;
  Json results = Json::array();
  std::string text;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot g, nvml::ObserveGpu(device));
    const unsigned i = g.index.value();
    if (!g.mig || g.mig->current == g.mig->pending) {
      results.push_back({{"index", i}, {"reset", false}});
      text += fmt::format("GPU {}: no reset needed\n", i);
      continue;
    }
    bool busy = !g.processes.empty();
    for (const auto& inst : g.instances) busy = busy || !inst.processes.empty();
    if (busy)
      return MakeError(ErrorCode::kBusy,
                       fmt::format("GPU {} runs processes: stop them before a reset ('migctl "
                                   "status -i {}' lists them); nothing was reset",
                                   i, i));
    todo.push_back(device);
  }
  for (const nvml::Device& device : todo) {
    const unsigned i = device.index().value();
    MIGCTL_RETURN_IF_ERROR(ResetGpu(device));
    MIGCTL_ASSIGN_OR_RETURN(nvml::MigMode mode, device.GetMigMode());
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
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunReset(ctx, *args); }; });
}

}  // namespace migctl
