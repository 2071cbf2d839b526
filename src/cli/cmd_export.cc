// `migctl export`: the current MIG state as a config that apply takes back.
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "reconcile/checkpoint.h"
#include "spec/export.h"

namespace migctl {
namespace {

struct ExportArgs {
  std::string format = "yaml";
  std::string label = "current";
  bool counts = false;
};

Result<int> RunExport(Context& ctx, const ExportArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(""));
  std::vector<spec::ExportGpu> gpus;
  for (const nvml::Device& d : devices) {
    Result<ObservedGpu> gpu = ObserveForPlanning(d);
    if (!gpu.ok() && gpu.error().code == ErrorCode::kUnsupported) continue;
    if (!gpu.ok()) return gpu.error();
    const GpuCheckpoint c = CheckpointOf(*gpu);
    spec::ExportGpu out{c.index, c.mig_enabled, {}};
    for (const CheckpointGi& gi : c.instances) {
      spec::ExportGi e{gi.name, gi.start, {}, false};
      const GiProfile* profile = gpu->geometry.FindProfile(gi.profile);
      const CiProfile* default_ci = profile ? profile->DefaultCiProfile() : nullptr;
      for (const CheckpointCi& ci : gi.cis) e.cis.push_back({ci.name, ci.start});
      e.default_ci_only =
          gi.cis.size() == 1 && default_ci && gi.cis[0].profile == default_ci->id && gi.cis[0].start == 0;
      out.instances.push_back(std::move(e));
    }
    gpus.push_back(std::move(out));
  }
  spec::ExportResult result = spec::ExportConfig(
      gpus, args.label,
      args.format == "json" || ctx.options.json ? spec::ExportFormat::kJson : spec::ExportFormat::kYaml,
      args.counts ? spec::ExportStyle::kCounts : spec::ExportStyle::kPlacements);
  for (const std::string& w : result.warnings) PrintWarning(w);
  ctx.Print(result.text);
  return kExitOk;
}

}  // namespace

void AddExportCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export", "Print the current MIG state as a config (placements kept)");
  cmd->footer(
      "By default placements and CI grouping are kept (the mig-instances extension), so 'migctl apply' of "
      "the\n"
      "output recreates this state exactly; --counts writes plain mig-parted counts (mig-devices) instead.\n"
      "Examples:\n  migctl export > mig.yaml\n  migctl export --counts -l backup -o json");
  cmd->add_option("-o,--output-format,--format", args->format, "yaml or json (--json implies json)")
      ->check(CLI::IsMember({"yaml", "json"}))
      ->envname("MIG_PARTED_OUTPUT_FORMAT");
  cmd->add_option("-l,--config-label", args->label, "Name of the layout in the output (default 'current')")
      ->envname("MIG_PARTED_CONFIG_LABEL");
  cmd->add_flag("--counts", args->counts, "mig-parted counts (mig-devices), without placements");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunExport(ctx, *args); }; });
}

}  // namespace migctl
