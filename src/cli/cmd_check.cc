// `migctl check`: does a set of GPU instances fit a GPU model (or a live GPU next to what it runs)? Where? If
// not, why?
#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/slot_map.h"
#include "layout/feasibility.h"
#include "layout/placement_solver.h"
#include "nvml/device.h"
#include "reconcile/observed_gpu.h"

namespace migctl {
namespace {

struct CheckArgs {
  std::string model;
  std::string gpus;
  std::vector<std::string> profiles;
};

std::vector<SlotSpan> Spans(const GpuModel& model, const Layout& layout, const std::string& suffix) {
  std::vector<SlotSpan> spans;
  for (const PlacedInstance& i : layout) {
    const GiProfile* p = model.FindProfile(i.profile);
    spans.push_back({i.start, p->placement_size, p->name + suffix});
  }
  return spans;
}

/// Checks one target (a model, or a GPU with its existing instances); returns the JSON entry and prints a
/// summary.
Json CheckOne(Context& ctx, const std::string& title, const GpuModel& model, const Layout& existing,
              const std::vector<ProfileId>& requests, bool* all_fit) {
  Result<Layout> placed = SolvePlacements(model, existing, requests);
  Json entry = {{"target", title}, {"model", model.key}, {"fits", placed.ok()}};
  if (!placed.ok()) {
    *all_fit = false;
    entry["reason"] = placed.error().message;
    if (!ctx.options.json) ctx.Print(fmt::format("{}: {}\n", title, placed.error().message));
    return entry;
  }
  Json placements = Json::array();
  for (const PlacedInstance& i : *placed) {
    const GiProfile* p = model.FindProfile(i.profile);
    placements.push_back({{"profile", p->name}, {"start", i.start}, {"size", p->placement_size}});
  }
  entry["placements"] = placements;
  if (!ctx.options.json) {
    ctx.Print(fmt::format("{}: fits: {}\n", title, DescribeLayout(model, *placed)));
    std::vector<SlotSpan> spans = Spans(model, existing, " (now)");
    for (SlotSpan& s : Spans(model, *placed, "")) spans.push_back(std::move(s));
    ctx.Print(DrawSlotMap(model.memory_slots, spans, "  "));
  }
  return entry;
}

Result<int> RunCheck(Context& ctx, const CheckArgs& args) {
  if (args.model.empty() == args.gpus.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     "give either --model MODEL (a GPU model) or -i GPU (a GPU of this host)");
  Json results = Json::array();
  bool all_fit = true;
  if (!args.model.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(const GpuModel* model, FindModel(args.model));
    MIGCTL_ASSIGN_OR_RETURN(auto requests, ParseProfiles(*model, args.profiles));
    results.push_back(CheckOne(ctx, model->key, *model, {}, requests, &all_fit));
  } else {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
    for (const nvml::Device& device : devices) {
      MIGCTL_ASSIGN_OR_RETURN(ObservedGpu gpu, ObserveForPlanning(device));
      MIGCTL_ASSIGN_OR_RETURN(auto requests, ParseProfiles(gpu.geometry, args.profiles));
      results.push_back(CheckOne(ctx, fmt::format("GPU {}", device.index().value()), gpu.geometry, gpu.layout,
                                 requests, &all_fit));
    }
  }
  if (ctx.options.json) ctx.PrintJson({{"fits", all_fit}, {"results", results}});
  return all_fit ? kExitOk : kExitUsage;
}

}  // namespace

void AddCheckCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd =
      app.add_subcommand("check", "Say whether GPU instances fit, where they would go, and if not, why");
  cmd->footer(
      "Any order of a set that fits is placed; exit status 0 when it fits, 2 when it does not.\n"
      "Examples:\n  migctl check --model a100-80gb 4g.40gb 3g.40gb 1g.10gb\n"
      "  migctl --sim ./dgx.json check -i 0 3g.40gb 2g.20gb   # next to what GPU 0 already runs");
  cmd->add_option("--model", args->model, "GPU model to check against (see 'migctl layouts --help')");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs of this host to check against, keeping their instances");
  cmd->add_option("profiles", args->profiles, "GPU instance profiles (names like 3g.40gb, or profile IDs)")
      ->required();
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunCheck(ctx, *args); }; });
}

}  // namespace migctl
