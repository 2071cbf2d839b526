// `migctl k8s labels` and `migctl k8s device-plugin-config`: the files the NVIDIA Kubernetes stack reads
// about this node's MIG devices (integrations/k8s_labels.h), printed or written atomically.
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "integrations/k8s_labels.h"
#include "integrations/k8s_refresh.h"

namespace migctl {
namespace {

struct K8sArgs {
  std::string strategy = "auto";
  std::string output;  ///< A file; empty: stdout.
};

Result<std::vector<KubeGpu>> ReadGpus(Context& ctx) {
  MIGCTL_ASSIGN_OR_RETURN(nvml::Nvml * nvml, ctx.OpenNvml());
  return ReadKubeGpus(*nvml);
}

Result<MigStrategy> ChooseStrategy(const std::string& asked, const std::vector<KubeGpu>& gpus, bool none_ok) {
  if (asked == "auto") return StrategyFor(gpus);
  if (asked == "single") return MigStrategy::kSingle;
  if (asked == "mixed") return MigStrategy::kMixed;
  if (asked == "none" && none_ok) return MigStrategy::kNone;
  return MakeError(ErrorCode::kInvalidInput,
                   fmt::format("--strategy {}: use auto, {}single or mixed", asked, none_ok ? "none, " : ""));
}

/// Prints `text`, or writes it to `path` (WriteNodeFile).
Status Output(const std::string& path, const std::string& text, const char* what) {
  if (path.empty()) {
    std::fputs(text.c_str(), stdout);
    return Ok();
  }
  return WriteNodeFile(path, text, what);
}

Result<int> RunLabels(Context& ctx, const K8sArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<KubeGpu> gpus, ReadGpus(ctx));
  MIGCTL_ASSIGN_OR_RETURN(MigStrategy strategy, ChooseStrategy(args.strategy, gpus, false));
  if (strategy == MigStrategy::kNone)
    return MakeError(
        ErrorCode::kInvalidInput,
        "no GPU has MIG on, so there are no MIG labels to write: enable MIG and create instances "
        "first (migctl apply, or migctl create)");
  MIGCTL_ASSIGN_OR_RETURN(std::vector<std::string> labels, GfdLabels(gpus, strategy));
  std::string text = "# GPU Feature Discovery's MIG labels for this node, written by migctl k8s labels\n";
  for (const std::string& l : labels) text += l + "\n";
  if (ctx.options.json) {
    Json doc = {{"strategy", MigStrategyName(strategy)}, {"labels", Json::object()}};
    for (const std::string& l : labels) doc["labels"][l.substr(0, l.find('='))] = l.substr(l.find('=') + 1);
    if (!args.output.empty()) MIGCTL_RETURN_IF_ERROR(Output(args.output, text, "-o"));
    ctx.PrintJson(doc);
    return kExitOk;
  }
  MIGCTL_RETURN_IF_ERROR(Output(args.output, text, "-o"));
  if (!args.output.empty()) PrintNote(fmt::format("wrote {} labels to {}", labels.size(), args.output));
  return kExitOk;
}

Result<int> RunDevicePluginConfig(Context& ctx, const K8sArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<KubeGpu> gpus, ReadGpus(ctx));
  MIGCTL_ASSIGN_OR_RETURN(MigStrategy strategy, ChooseStrategy(args.strategy, gpus, true));
  if (strategy == MigStrategy::kSingle) {
    if (Result<std::vector<std::string>> ok = GfdLabels(gpus, strategy); !ok.ok()) return ok.error();
  }
  const std::string text = DevicePluginConfig(strategy);
  if (ctx.options.json) {
    if (!args.output.empty()) MIGCTL_RETURN_IF_ERROR(Output(args.output, text, "-o"));
    ctx.PrintJson({{"strategy", MigStrategyName(strategy)}, {"config", text}});
    return kExitOk;
  }
  MIGCTL_RETURN_IF_ERROR(Output(args.output, text, "-o"));
  return kExitOk;
}

}  // namespace

void AddK8sCommand(CLI::App& app, Context& ctx) {
  CLI::App* k8s =
      app.add_subcommand("k8s", "Files the NVIDIA Kubernetes stack reads: node labels, device plugin config");
  k8s->require_subcommand(1);
  {
    auto args = std::make_shared<K8sArgs>();
    CLI::App* cmd = k8s->add_subcommand("labels", "GPU Feature Discovery's MIG labels for this node");
    cmd->footer(
        R"(Prints (or writes with -o, atomically) the labels GFD would give this node's MIG devices: with
--strategy mixed, per type nvidia.com/mig-<type>.{count,memory,multiprocessors,slices.gi,slices.ci,engines.*,
product}; with single, the nvidia.com/gpu.* overrides (only when every GPU has MIG on and one type). Types are
named with the device plugin's formula, so they match the resources pods request (nvidia.com/mig-3g.40gb).
Point -o at Node Feature Discovery's local directory; do not use features.d/gfd, which GFD owns.

Examples:
  migctl k8s labels
  migctl k8s labels -o /etc/kubernetes/node-feature-discovery/features.d/migctl)");
    cmd->add_option("--strategy", args->strategy, "auto (single when the layout allows it), single or mixed");
    cmd->add_option("-o,--output", args->output, "Write the labels to FILE (atomically) instead of stdout");
    cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunLabels(ctx, *args); }; });
  }
  {
    auto args = std::make_shared<K8sArgs>();
    CLI::App* cmd =
        k8s->add_subcommand("device-plugin-config", "The NVIDIA device plugin's config for this layout");
    cmd->footer(
        R"(Prints (or writes with -o, atomically) the device plugin's configuration file (version v1) with
the MIG strategy this node's layout allows: none with MIG off everywhere, single when every GPU has MIG on with
one type of MIG device, mixed otherwise (--strategy to choose; single is refused when the layout does not allow
it). Wrap it in the plugin's ConfigMap, e.g. kubectl create configmap nvidia-plugin-configs
--from-file=default=FILE.

Examples:
  migctl k8s device-plugin-config
  migctl k8s device-plugin-config --strategy mixed -o /etc/nvidia-device-plugin/config.yaml)");
    cmd->add_option("--strategy", args->strategy, "auto (default), none, single or mixed");
    cmd->add_option("-o,--output", args->output, "Write the config to FILE (atomically) instead of stdout");
    cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunDevicePluginConfig(ctx, *args); }; });
  }
}

}  // namespace migctl
