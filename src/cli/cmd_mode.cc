// `migctl mode enable|disable`: turn MIG mode on or off per GPU, saying when it takes effect.
#include <fmt/format.h>

#include "cli/commands.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"
#include "reconcile/instance_plan.h"

namespace migctl {
namespace {

struct ModeArgs {
  std::string action;
  std::string gpus;
};

/// Every process on the GPU, whole-GPU and per MIG device: `pid 12 (python), pid 13`.
std::string Busy(const nvml::GpuSnapshot& g) {
  std::vector<nvml::ProcessInfo> all = g.processes;
  for (const auto& i : g.instances) all.insert(all.end(), i.processes.begin(), i.processes.end());
  return ProcessList(all);
}

Result<int> RunMode(Context& ctx, const ModeArgs& args) {
  const bool enable = args.action == "enable";
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  // Check every GPU before changing any.
  std::vector<std::pair<nvml::Device, nvml::GpuSnapshot>> todo;
  Json results = Json::array();
  std::string text;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot g, nvml::ObserveGpu(device));
    const unsigned i = g.index.value();
    if (!g.mig)
      return MakeError(ErrorCode::kUnsupported,
                       fmt::format("GPU {} ({}) does not support MIG; nothing was changed", i, g.name));
    if (g.mig->current == enable && g.mig->pending == enable) {
      results.push_back(
          {{"index", i}, {"result", "unchanged"}, {"mig", {{"current", enable}, {"pending", enable}}}});
      text += fmt::format("GPU {}: MIG already {}\n", i, enable ? "on" : "off");
      continue;
    }
    if (!enable && !g.instances.empty())
      return MakeError(ErrorCode::kBusy,
                       fmt::format("GPU {} still has {} MIG instance(s): destroy them first "
                                   "('migctl destroy -i {} --all'); nothing was changed",
                                   i, g.instances.size(), i));
    if (std::string pids = Busy(g); !pids.empty())
      return MakeError(ErrorCode::kBusy,
                       fmt::format("GPU {} runs processes ({}): stop them first; nothing was "
                                   "changed",
                                   i, pids));
    todo.emplace_back(device, std::move(g));
  }
  for (auto& [device, g] : todo) {
    const unsigned i = g.index.value();
    MIGCTL_ASSIGN_OR_RETURN(nvml::MigModeActivation activation, device.SetMigMode(enable));
    const char* word = enable ? "enable" : "disable";
    std::string result;
    switch (activation) {
      case nvml::MigModeActivation::kActive:
        result = "active";
        text += fmt::format("GPU {}: MIG {}\n", i, enable ? "on" : "off");
        break;
      case nvml::MigModeActivation::kPendingReset:
        result = "pending_reset";
        text += fmt::format(
            "GPU {}: MIG {} pending: this GPU needs a reset: run 'migctl reset -i {}' (in a VM "
            "without reset support, reboot)\n",
            i, word, i);
        break;
      case nvml::MigModeActivation::kPendingInUse:
        result = "pending_in_use";
        text += fmt::format(
            "GPU {}: MIG {} pending: the GPU is in use; stop its clients, then run "
            "'migctl reset -i {}'\n",
            i, word, i);
        break;
    }
    MIGCTL_ASSIGN_OR_RETURN(nvml::MigMode mode, device.GetMigMode());
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
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunMode(ctx, *args); }; });
}

}  // namespace migctl
