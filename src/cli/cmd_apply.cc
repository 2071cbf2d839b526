// `migctl apply` and `migctl assert`: a mig-parted-compatible layout, applied with minimal disruption or
// checked.
#include <fmt/format.h>

#include "cli/apply_runner.h"
#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "reconcile/config_goals.h"
#include "reconcile/hooks.h"
#include "spec/config.h"

namespace migctl {
namespace {

struct ApplyArgs {
  std::string file;
  std::string label;
  std::string hooks;
  bool dry_run = false;
  bool force = false;
  bool mode_only = false;
  bool skip_reset = false;
  bool valid_config = false;  // assert -a: only check the file
  bool strict = false;        // refuse missing indexes and a layout that selects no GPU
  double lock_timeout = 300;
};

struct LoadedConfig {
  spec::ConfigFile file;
  const spec::NamedConfig* config = nullptr;
};

Result<LoadedConfig> Load(const ApplyArgs& args) {
  LoadedConfig out;
  MIGCTL_ASSIGN_OR_RETURN(out.file, spec::LoadConfig(args.file));
  MIGCTL_ASSIGN_OR_RETURN(out.config, spec::SelectConfig(out.file, args.label));
  return out;
}

Result<ConfigGoals> MakeGoals(Context& ctx, const LoadedConfig& loaded, bool strict) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(""));
  return GoalsFromConfig(devices, loaded.file, *loaded.config, {.strict = strict});
}

Result<int> RunApplyCommand(Context& ctx, const ApplyArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(LoadedConfig loaded, Load(args));
  ApplyRunOptions options;
  if (!args.hooks.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(options.hooks, spec::LoadHooksFile(args.hooks));
  }
  MIGCTL_ASSIGN_OR_RETURN(ConfigGoals goals, MakeGoals(ctx, loaded, args.strict));
  options.dry_run = args.dry_run;
  options.plan = {.force = args.force, .skip_reset = args.skip_reset, .mode_only = args.mode_only};
  options.hook_variables =
      ApplyHookVariables({args.file, loaded.config->label, args.hooks, args.skip_reset, args.mode_only});
  options.lock_timeout_s = args.lock_timeout;
  options.command = fmt::format("apply -f {} -c {}", args.file, loaded.config->label);
  options.what = fmt::format("'{}'", loaded.config->label);
  std::vector<std::pair<nvml::Device, GpuGoal>> list;
  for (ConfigGoal& g : goals.gpus) list.emplace_back(g.device, std::move(g.goal));
  return RunApply(ctx, list, options, goals.warnings);
}

Result<int> RunAssertCommand(Context& ctx, const ApplyArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(LoadedConfig loaded, Load(args));
  if (args.valid_config)
    return ctx.Finish({{"valid", true}, {"config", loaded.config->label}},
                      fmt::format("{}: '{}' is a valid layout\n", loaded.file.path, loaded.config->label));
  MIGCTL_ASSIGN_OR_RETURN(const ConfigGoals goals, MakeGoals(ctx, loaded, args.strict));
  for (const std::string& w : goals.warnings) PrintWarning(w);
  Json gpus = Json::array();
  std::string text;
  // As mig-parted's assert (which the GPU Operator's mig-manager relies on): every MIG-capable GPU must be
  // selected by some spec of the layout.
  bool applied = goals.unselected.empty();
  for (const ConfigGoal& g : goals.gpus) {
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(g.device));
    MIGCTL_ASSIGN_OR_RETURN(GpuPlan plan, PlanGpu(gpu, g.goal, {.force = true, .mode_only = args.mode_only}));
    std::vector<PlannedOp> differences;
    for (const PlannedOp& op : plan.steps.ops)
      if (!args.mode_only || op.kind == PlannedOp::Kind::kSetMigMode || op.kind == PlannedOp::Kind::kResetGpu)
        differences.push_back(op);
    const unsigned i = g.goal.gpu.value();
    Json steps = Json::array();
    for (const PlannedOp& op : differences) steps.push_back(StepJson(op));
    gpus.push_back(
        {{"index", i}, {"origin", g.goal.origin}, {"applied", differences.empty()}, {"steps", steps}});
    if (differences.empty()) {
      text += fmt::format("GPU {}: as asked ({})\n", i, g.goal.origin);
      continue;
    }
    applied = false;
    text += fmt::format("GPU {}: differs from {}; apply would:\n", i, g.goal.origin);
    for (const PlannedOp& op : differences) text += "  " + DescribeOp(op) + "\n";
  }
  for (GpuIndex i : goals.unselected) {
    gpus.push_back({{"index", i.value()}, {"origin", nullptr}, {"applied", false}, {"steps", Json::array()}});
    text += fmt::format("GPU {}: selected by no spec of '{}'\n", i.value(), loaded.config->label);
  }
  text += applied ? fmt::format("'{}' is applied.\n", loaded.config->label)
                  : fmt::format("'{}' is not applied: run 'migctl apply -f {} -c {}'.\n",
                                loaded.config->label, args.file, loaded.config->label);
  ctx.Finish({{"applied", applied}, {"config", loaded.config->label}, {"gpus", gpus}}, text);
  return applied ? kExitOk : kExitDifferent;
}

void AddConfigOptions(CLI::App* cmd, ApplyArgs& args) {
  cmd->add_option("-f,--config-file", args.file, "mig-parted config file (YAML or JSON; '-' for stdin)")
      ->required()
      ->envname("MIG_PARTED_CONFIG_FILE");
  cmd->add_option("-c,--selected-config", args.label, "Layout to use (optional when the file has only one)")
      ->envname("MIG_PARTED_SELECTED_CONFIG");
  cmd->add_flag("-m,--mode-only", args.mode_only, "Only MIG mode; leave instances alone");
  cmd->add_flag("--strict", args.strict,
                "Refuse 'devices' indexes this host lacks and a layout that selects no GPU (mig-parted "
                "skips them)");
}

}  // namespace

void AddApplyCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* cmd =
      app.add_subcommand("apply", "Apply a layout from a mig-parted config, changing only what must");
  cmd->footer(
      "Plans every selected GPU first (bad profiles, layouts that cannot fit, busy instances: refused before "
      "any\n"
      "change), keeps instances that the layout can keep where they are, destroys only the rest and creates "
      "the\n"
      "missing ones at explicit placements. Each GPU changes all or nothing: a failed step, or a GPU that "
      "is\n"
      "not what the plan said afterwards, is put back as this apply found it (never further back).\n"
      "MIG mode changes touch only the GPUs that need one (Ampere: reset of that GPU; Hopper+: when idle).\n"
      "Examples:\n"
      "  migctl apply -f examples/a100-80gb-x4.yaml -c custom-config --dry-run\n"
      "  migctl apply -f mig.yaml -c all-1g.10gb --hooks hooks.yaml\n"
      "  migctl --json apply -f mig.yaml -c all-disabled");
  AddConfigOptions(cmd, *args);
  cmd->add_option("-k,--hooks,--hooks-file", args->hooks,
                  "mig-parted hooks file (apply-start, pre-apply-mode, ...)")
      ->envname("MIG_PARTED_HOOKS_FILE");
  cmd->add_flag("--dry-run", args->dry_run, "Print the steps and change nothing");
  cmd->add_flag(
      "--force", args->force,
      "Plan destroying busy instances and mode changes on busy GPUs anyway (the driver still refuses to "
      "destroy an instance with live processes; the GPU is then put back)");
  cmd->add_flag("-s,--skip-reset", args->skip_reset,
                "Leave Ampere mode changes pending instead of resetting the GPU")
      ->envname("MIG_PARTED_SKIP_RESET");
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another apply on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunApplyCommand(ctx, *args); }; });
}

void AddAssertCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ApplyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "assert", "Check that a layout is applied (exit 0), or show the differences (exit 3)");
  cmd->footer(
      "Placement matters only where the config fixes it (mig-instances with start); a plain mig-parted "
      "layout is\n"
      "applied when every GPU has the asked instances, wherever they are. As in mig-parted, every\n"
      "MIG-capable GPU must be selected by some spec.\n"
      "Exit: 0 applied; 3 not applied (a GPU differs, or no spec selects it); 2 the layout cannot apply "
      "here\n"
      "(a profile the GPU lacks, a GPU selected twice, ...; mig-parted says 'not currently applied', exit "
      "1).\n"
      "Examples:\n  migctl assert -f mig.yaml -c custom-config\n  migctl assert -f mig.yaml -c custom-config "
      "-a");
  AddConfigOptions(cmd, *args);
  cmd->add_flag("-a,--valid-config", args->valid_config,
                "Only check that the file parses and has the layout");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunAssertCommand(ctx, *args); }; });
}

}  // namespace migctl
