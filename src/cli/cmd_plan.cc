// `migctl plan`: optimal MIG layouts for a set of workloads across a fleet, as a config `apply` takes, with a
// report of what goes where, what is left, and what cannot be served and why.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/plan_request.h"
#include "cli/slot_map.h"
#include "common/file_io.h"
#include "nvml/device.h"
#include "planner/plan.h"
#include "reconcile/observed_gpu.h"
#include "spec/export.h"

namespace migctl {
namespace {

struct PlanArgs {
  std::string fleet;
  std::string need;
  std::string demand;
  std::string need_file;
  std::string objective = "fewest-gpus";
  std::string output;
  std::string label = "planned";
  bool explain = false;
  bool placements = false;
  double time_limit_s = 10;
};

Result<planner::Objective> ParseObjective(const std::string& text) {
  if (text == "fewest-gpus") return planner::Objective::kFewestGpus;
  if (text == "most-served") return planner::Objective::kMostServed;
  if (text == "keep-current") return planner::Objective::kKeepCurrent;
  return MakeError(ErrorCode::kInvalidInput,
                   fmt::format("--objective {}: use fewest-gpus, most-served or keep-current", text));
}

/// The host's GPUs as a fleet: one group per model, each GPU with what it runs now. `models` keeps the
/// geometry of GPUs the catalog does not know alive for the groups that point at it.
Result<std::vector<planner::FleetGroup>> HostFleet(Context& ctx, std::vector<GpuModel>* models) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(""));
  std::vector<ObservedGpu> observed;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(d));
    observed.push_back(std::move(gpu));
  }
  models->reserve(observed.size());  // the groups point into it
  std::map<std::string, size_t> group_of;
  std::vector<planner::FleetGroup> fleet;
  for (ObservedGpu& gpu : observed) {
    auto [it, added] = group_of.emplace(gpu.geometry.key, fleet.size());
    if (added) {
      models->push_back(gpu.geometry);
      planner::FleetGroup group;
      group.model = &models->back();
      fleet.push_back(std::move(group));
    }
    planner::FleetGroup& group = fleet[it->second];
    ++group.count;
    group.gpu_indexes.push_back(gpu.snapshot.index.value());
    group.current.push_back(gpu.layout);
  }
  return fleet;
}

std::string ProfileName(const GpuModel& model, ProfileId id) {
  const GiProfile* p = model.FindProfile(id);
  return p != nullptr ? p->name : fmt::format("profile {}", id.value());
}

/// The config `apply` takes: every GPU of the fleet, MIG on with the planned instances, or off when it got
/// nothing (a whole card for jobs that need one).
spec::ExportResult ConfigOf(const std::vector<planner::FleetGroup>& fleet, const planner::FleetPlan& plan,
                            const PlanArgs& args) {
  std::vector<spec::ExportGpu> gpus;
  for (const planner::PlannedGpu& g : plan.gpus) {
    const GpuModel& model = *fleet[g.group].model;
    spec::ExportGpu out{GpuIndex(g.gpu), !g.layout.empty(), {}};
    Layout sorted = g.layout;
    std::sort(sorted.begin(), sorted.end(),
              [](const PlacedInstance& a, const PlacedInstance& b) { return a.start < b.start; });
    for (const PlacedInstance& inst : sorted) {
      spec::ExportGi gi;
      gi.name = ProfileName(model, inst.profile);
      gi.start = inst.start;
      const GiProfile* profile = model.FindProfile(inst.profile);
      const CiProfile* ci = profile != nullptr ? profile->DefaultCiProfile() : nullptr;
      gi.cis.push_back({ci != nullptr ? ci->name : gi.name, 0});
      gi.default_ci_only = true;
      out.instances.push_back(std::move(gi));
    }
    gpus.push_back(std::move(out));
  }
  std::sort(gpus.begin(), gpus.end(),
            [](const spec::ExportGpu& a, const spec::ExportGpu& b) { return a.index < b.index; });
  return spec::ExportConfig(gpus, args.label, spec::ExportFormat::kYaml,
                            args.placements ? spec::ExportStyle::kPlacements : spec::ExportStyle::kCounts);
}

Result<int> RunPlan(Context& ctx, const PlanArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(planner::Objective objective, ParseObjective(args.objective));
  if (args.fleet.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     "--fleet is required: MODEL:COUNT,... (e.g. a100-80gb:4) or 'current' for this host");
  MIGCTL_ASSIGN_OR_RETURN(std::vector<planner::Workload> workloads,
                          ParseWorkloads(args.need, args.demand, args.need_file));
  std::vector<GpuModel> host_models;
  std::vector<planner::FleetGroup> fleet;
  if (args.fleet == "current") {
    MIGCTL_ASSIGN_OR_RETURN(fleet, HostFleet(ctx, &host_models));
  } else {
    if (objective == planner::Objective::kKeepCurrent)
      return MakeError(ErrorCode::kInvalidInput,
                       "--objective keep-current keeps what a host runs: use it with --fleet current");
    MIGCTL_ASSIGN_OR_RETURN(fleet, ParseFleetSpec(args.fleet));
  }
  planner::PlanOptions options;
  options.objective = objective;
  options.time_limit_s = args.time_limit_s;
  MIGCTL_ASSIGN_OR_RETURN(planner::FleetPlan plan, planner::PlanFleet(fleet, workloads, options));
  const spec::ExportResult config = ConfigOf(fleet, plan, args);
  if (!args.output.empty()) MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(args.output, config.text, 0644));

  // The report.
  Json gpus = Json::array();
  std::string text;
  unsigned served = 0, wanted = 0;
  for (const planner::Workload& w : workloads) wanted += w.count;
  for (const planner::PlannedGpu& g : plan.gpus) {
    const GpuModel& model = *fleet[g.group].model;
    Json instances = Json::array();
    std::vector<std::string> parts;
    std::vector<SlotSpan> spans;
    for (size_t i = 0; i < g.layout.size(); ++i) {
      const std::string name = ProfileName(model, g.layout[i].profile);
      const GiProfile* p = model.FindProfile(g.layout[i].profile);
      const int w = g.served_by[i];
      if (w >= 0) ++served;
      const std::string who = w >= 0 ? workloads[static_cast<size_t>(w)].name : "(kept, idle)";
      parts.push_back(fmt::format("{}@{} <- {}", name, g.layout[i].start, who));
      spans.push_back({g.layout[i].start, p != nullptr ? p->placement_size : 1, name});
      instances.push_back(
          {{"profile", name},
           {"start", g.layout[i].start},
           {"workload", w >= 0 ? Json(workloads[static_cast<size_t>(w)].name) : Json(nullptr)}});
    }
    text += fmt::format(
        "GPU {} ({}): {}\n", g.gpu, model.key,
        parts.empty() ? "unused: whole GPU free (MIG off)" : fmt::format("{}", fmt::join(parts, ", ")));
    if (!parts.empty() && !g.free_fits.empty())
      text += fmt::format("  still fits: {}\n", fmt::join(g.free_fits, ", "));
    if (args.explain) text += DrawSlotMap(model.memory_slots, spans, "  ");
    gpus.push_back(
        {{"gpu", g.gpu}, {"model", model.key}, {"instances", instances}, {"free_fits", g.free_fits}});
  }
  Json unserved = Json::array();
  for (const planner::Unserved& u : plan.unserved) {
    text += fmt::format("NOT SERVED: {} x{}: {}\n", workloads[u.workload].name, u.count, u.reason);
    unserved.push_back({{"workload", workloads[u.workload].name}, {"count", u.count}, {"reason", u.reason}});
  }
  text += fmt::format("{} of {} served on {} of {} GPUs; {} whole GPU{} free{}. {} ({})\n", served, wanted,
                      plan.gpus_used, plan.gpus.size(), plan.whole_gpus_free,
                      plan.whole_gpus_free == 1 ? "" : "s",
                      objective == planner::Objective::kKeepCurrent
                          ? fmt::format("; {} current instance{} kept", plan.kept, plan.kept == 1 ? "" : "s")
                          : "",
                      plan.optimal ? "Optimal" : "Best found (not proven optimal)", plan.method);
  for (const std::string& w : config.warnings) text += "warning: " + w + "\n";
  if (args.output.empty())
    text +=
        fmt::format("\n# the config (write it with -o FILE; apply with -c {}):\n{}", args.label, config.text);
  else
    text += fmt::format("Wrote {} (label '{}'): migctl apply -f {} -c {}\n", args.output, args.label,
                        args.output, args.label);
  Json doc = {{"objective", args.objective},
              {"optimal", plan.optimal},
              {"method", plan.method},
              {"served", served},
              {"wanted", wanted},
              {"gpus_used", plan.gpus_used},
              {"whole_gpus_free", plan.whole_gpus_free},
              {"kept", plan.kept},
              {"gpus", gpus},
              {"unserved", unserved},
              {"config", config.text},
              {"output", args.output.empty() ? Json(nullptr) : Json(args.output)}};
  return ctx.Finish(doc, text);
}

}  // namespace

void AddPlanCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<PlanArgs>();
  CLI::App* cmd =
      app.add_subcommand("plan", "Choose optimal MIG layouts for a set of workloads across a fleet");
  cmd->footer(
      R"(The fleet is GPU models and counts, or 'current': the GPUs of this host (or --sim machine) with what
they run now. The demand is memory needs (--need), profiles (--demand), or a YAML file of named workloads
with counts, priorities and model constraints (--need-file). A memory need maps, per model, to the
smallest profile that holds it, so mixed fleets are planned per model.

The plan is optimal, not greedy: an integer program over each model's maximal layouts (GLPK), solved in
stages to a proven optimum: the most work served, higher priorities first, then (keep-current) the most
current instances kept in place, then the fewest GPUs. fewest-gpus and most-served are that program without
the keep stage; the report says how many more GPUs of which model would serve what does not fit.

The output is a mig-parted config (one spec per GPU or group of identical GPUs; unused GPUs get MIG off,
whole cards for jobs that need one) that 'migctl apply' takes unchanged, and a report: which workload
goes to which GPU and slice, what still fits, and what was not served and why.

Workloads file:
  workloads:
    - {name: llama-30b, memory: 30GiB, count: 3, priority: 10, models: [a100-80gb]}
    - {name: bert, profile: 2g.20gb, count: 4}
Examples:
  migctl plan --fleet a100-80gb:4 --need "30GiB x3, 18GiB x4, 8GiB x10"
  migctl plan --fleet h100-80gb:2,a100-40gb:2 --demand "3g.40gb:2, 2g.20gb:3, 1g.10gb:6"
  migctl plan --fleet current --need-file workloads.yaml -o mig.yaml -c planned --explain
  migctl apply -f mig.yaml -c planned)");
  cmd->add_option("--fleet", args->fleet, "MODEL:COUNT,... (catalog keys) or 'current' for this host");
  AddWorkloadOptions(cmd, &args->need, &args->demand, &args->need_file);
  cmd->add_option("--objective", args->objective, "fewest-gpus (default), most-served or keep-current");
  cmd->add_option("-o,--output", args->output,
                  "Write the config to FILE (else it is printed after the report)");
  cmd->add_option("-c,--config-label", args->label, "The layout's name in the config (default 'planned')");
  cmd->add_flag("--placements", args->placements,
                "Write placements (mig-instances) instead of mig-parted's plain counts");
  cmd->add_flag("--explain", args->explain, "Show each GPU's slot map");
  cmd->add_option("--time-limit", args->time_limit_s, "Seconds the solver may take (default 10)")
      ->check(Seconds(kMinTimeoutSeconds, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunPlan(ctx, *args); }; });
}

}  // namespace migctl
