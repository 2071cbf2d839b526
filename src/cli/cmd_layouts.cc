// `migctl layouts`: every combination of profiles that fits a GPU model (or only the maximal ones).
#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "layout/enumerate.h"

namespace migctl {
namespace {

struct LayoutsArgs {
  std::string model;
  bool maximal = false;
  std::vector<std::string> profiles;
};

Json PlacementsJson(const GpuModel& model, const Layout& layout) {
  Json out = Json::array();
  for (const PlacedInstance& i : layout) {
    const GiProfile* p = model.FindProfile(i.profile);
    out.push_back({{"profile", p->name}, {"start", i.start}, {"size", p->placement_size}});
  }
  return out;
}

Result<int> RunLayouts(Context& ctx, const LayoutsArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(const GpuModel* model, FindModel(args.model));
  EnumerateOptions options{.maximal_only = args.maximal};
  MIGCTL_ASSIGN_OR_RETURN(options.profiles, ParseProfiles(*model, args.profiles));
  std::vector<Combination> combos = EnumerateCombinations(*model, options);
  if (ctx.options.json) {
    Json layouts = Json::array();
    for (const Combination& c : combos) {
      Json names = Json::array();
      for (ProfileId id : c.profiles) names.push_back(model->FindProfile(id)->name);
      layouts.push_back({{"profiles", names}, {"placements", PlacementsJson(*model, c.placements)}});
    }
    ctx.PrintJson({{"model", model->key}, {"maximal", args.maximal}, {"layouts", layouts}});
    return kExitOk;
  }
  Table table({"#", "PROFILES", "PLACEMENTS (profile@slot)"});
  int n = 0;
  for (const Combination& c : combos) {
    std::string names;
    for (ProfileId id : c.profiles) names += (names.empty() ? "" : " + ") + model->FindProfile(id)->name;
    table.AddRow({std::to_string(++n), names, DescribeLayout(*model, c.placements)});
  }
  ctx.Print(fmt::format("{} ({}): {} {}layout{} (one per distinct combination of profiles)\n", model->key,
                        model->product_name, combos.size(), args.maximal ? "maximal " : "",
                        combos.size() == 1 ? "" : "s"));
  ctx.Print(table.Render());
  return kExitOk;
}

}  // namespace

void AddLayoutsCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<LayoutsArgs>();
  CLI::App* cmd =
      app.add_subcommand("layouts", "List every combination of GPU instances that fits a GPU model");
  cmd->footer(
      "Each combination is shown once, with the placement that leaves the most room.\n"
      "Examples:\n  migctl layouts --model h100-80gb --maximal\n  migctl layouts --model a100-80gb --json\n"
      "  migctl layouts --model a100-40gb --profiles 1g.5gb,2g.10gb,3g.20gb");
  cmd->add_option("--model", args->model,
                  "GPU model (a100-40gb, a100-80gb, a30-24gb, h100-80gb, h100-94gb, "
                  "h200-141gb, gh200-96gb, b200-180gb)")
      ->required();
  cmd->add_flag("--maximal", args->maximal, "Only layouts to which no further instance can be added");
  cmd->add_option("--profiles", args->profiles, "Only use these profiles (comma-separated)")->delimiter(',');
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunLayouts(ctx, *args); }; });
}

}  // namespace migctl
