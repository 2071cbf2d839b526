// `migctl checkpoint` and `migctl restore`: the exact MIG state (mode, placements, CI grouping) saved to a
// file and put back, through the same planner and transaction as apply.
#include <fmt/format.h>

#include "cli/apply_runner.h"
#include "cli/commands.h"
#include "common/file_io.h"
#include "reconcile/checkpoint.h"

namespace migctl {
namespace {

struct CheckpointArgs {
  std::string output;
};

struct RestoreArgs {
  std::string file;
  bool dry_run = false;
  bool force = false;
  bool mode_only = false;
  bool skip_reset = false;
  double lock_timeout = 300;
};

Result<int> RunCheckpoint(Context& ctx, const CheckpointArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(""));
  Checkpoint checkpoint;
  for (const nvml::Device& d : devices) {
    Result<ObservedGpu> gpu = ObserveForPlanning(d);
    if (!gpu.ok() && gpu.error().code == ErrorCode::kUnsupported) continue;  // no MIG: nothing to keep
    if (!gpu.ok()) return gpu.error();
    checkpoint.gpus.push_back(CheckpointOf(*gpu));
  }
  const std::string text = CheckpointToJson(checkpoint);
  if (args.output.empty() || args.output == "-") {
    ctx.Print(text);
    return kExitOk;
  }
  MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(args.output, text, 0644, true));
  unsigned instances = 0;
  for (const GpuCheckpoint& g : checkpoint.gpus) instances += static_cast<unsigned>(g.instances.size());
  return ctx.Finish({{"file", args.output}, {"gpus", checkpoint.gpus.size()}, {"gpu_instances", instances}},
                    fmt::format("Saved {} GPU{} ({} GPU instances) to {}\n", checkpoint.gpus.size(),
                                checkpoint.gpus.size() == 1 ? "" : "s", instances, args.output));
}

Result<int> RunRestore(Context& ctx, const RestoreArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadFile(args.file));
  MIGCTL_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpoint(text, args.file));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(""));
  std::vector<std::pair<nvml::Device, GpuGoal>> goals;
  for (const GpuCheckpoint& g : checkpoint.gpus) {
    const nvml::Device* found = nullptr;
    for (const nvml::Device& d : devices)
      if (Result<GpuUuid> uuid = d.Uuid(); uuid.ok() && *uuid == g.uuid) found = &d;
    if (found == nullptr)
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("{}: GPU {} ({}) is not on this host; nothing was changed", args.file,
                                   g.uuid.value(), g.name));
    goals.emplace_back(*found,
                       g.Goal(found->index(), fmt::format("{} (GPU {})", args.file, g.index.value())));
  }
  ApplyRunOptions options;
  options.dry_run = args.dry_run;
  options.plan = {.force = args.force, .skip_reset = args.skip_reset, .mode_only = args.mode_only};
  options.lock_timeout_s = args.lock_timeout;
  options.command = "restore " + args.file;
  options.what = "the checkpoint " + args.file;
  return RunApply(ctx, goals, options, {});
}

}  // namespace

void AddCheckpointCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<CheckpointArgs>();
  CLI::App* cmd =
      app.add_subcommand("checkpoint", "Save the exact MIG state (mode, placements, CI grouping) to a file");
  cmd->footer("Example:\n  migctl checkpoint -o state.json   # later: migctl restore state.json");
  cmd->add_option("-o,--output,-f,--checkpoint-file", args->output, "File to write (default: stdout)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunCheckpoint(ctx, *args); }; });
}

void AddRestoreCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RestoreArgs>();
  CLI::App* cmd =
      app.add_subcommand("restore", "Put back a state saved by 'migctl checkpoint' (GPUs found by UUID)");
  cmd->footer(
      "Every GI and CI goes back to its saved placement; instances already in place are kept. A journal "
      "entry\n"
      "left by an interrupted apply (under the run directory) is a checkpoint too.\n"
      "Examples:\n  migctl restore state.json --dry-run\n  migctl restore state.json");
  cmd->add_option("file", args->file, "Checkpoint file")->required();
  cmd->add_flag("--dry-run", args->dry_run, "Print the steps and change nothing");
  cmd->add_flag("--force", args->force, "Plan destroying busy instances anyway");
  cmd->add_flag("-m,--mode-only", args->mode_only, "Only MIG mode");
  cmd->add_flag("-s,--skip-reset", args->skip_reset, "Leave Ampere mode changes pending");
  cmd->add_option("--lock-timeout", args->lock_timeout, "Seconds to wait for another apply on this host")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunRestore(ctx, *args); }; });
}

}  // namespace migctl
