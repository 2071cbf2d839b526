// `migctl profiles`: GI profiles of a GPU (as the device answers) or of a model (from the catalog): id,
// memory, SMs, engines, free/total and placements.
#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "nvml/device.h"

namespace migctl {
namespace {

struct ProfilesArgs {
  std::string gpus;
  std::string model;
};

/// One profile row, whichever source it comes from.
struct ProfileRow {
  unsigned nvml_index = 0;
  unsigned id = 0;
  std::string name;
  unsigned slices = 0;
  unsigned long long memory_mib = 0;
  unsigned multiprocessors = 0;
  Engines engines;
  unsigned total = 0;
  std::optional<unsigned> free;  ///< nullopt: unknown (MIG off, or a model rather than a GPU)
  std::vector<std::pair<unsigned, unsigned>> placements;
};

std::string PlacementsText(const ProfileRow& r) {
  std::string starts;
  for (auto [start, size] : r.placements) starts += (starts.empty() ? "" : ",") + std::to_string(start);
  return r.placements.empty() ? "-" : fmt::format("{{{}}}:{}", starts, r.placements.front().second);
}

Json RowsJson(const std::vector<ProfileRow>& rows) {
  Json out = Json::array();
  for (const ProfileRow& r : rows) {
    Json placements = Json::array();
    for (auto [start, size] : r.placements) placements.push_back({{"start", start}, {"size", size}});
    out.push_back({{"name", r.name},
                   {"id", r.id},
                   {"nvml_index", r.nvml_index},
                   {"slices", r.slices},
                   {"memory_mib", r.memory_mib},
                   {"multiprocessors", r.multiprocessors},
                   {"engines",
                    {{"copy", r.engines.copy},
                     {"decoder", r.engines.decoder},
                     {"encoder", r.engines.encoder},
                     {"jpeg", r.engines.jpeg},
                     {"ofa", r.engines.ofa}}},
                   {"instances", {{"free", r.free ? Json(*r.free) : Json(nullptr)}, {"total", r.total}}},
                   {"placements", placements}});
  }
  return out;
}

std::string RowsText(const std::vector<ProfileRow>& rows) {
  Table table(
      {"PROFILE", "ID", "FREE/TOTAL", "MEMORY", "SM", "CE", "DEC", "ENC", "JPG", "OFA", "PLACEMENTS"});
  for (const ProfileRow& r : rows)
    table.AddRow(
        {r.name, std::to_string(r.id), fmt::format("{}/{}", r.free ? std::to_string(*r.free) : "-", r.total),
         fmt::format("{:.2f} GiB", r.memory_mib / 1024.0), std::to_string(r.multiprocessors),
         std::to_string(r.engines.copy), std::to_string(r.engines.decoder), std::to_string(r.engines.encoder),
         std::to_string(r.engines.jpeg), std::to_string(r.engines.ofa), PlacementsText(r)});
  return table.Render("  ");
}

Result<std::vector<ProfileRow>> DeviceRows(const nvml::Device& device) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GiProfileInfo> profiles, device.GiProfiles());
  std::vector<ProfileRow> rows;
  for (const nvml::GiProfileInfo& p : profiles) {
    ProfileRow r{p.nvml_index,      p.id.value(), p.name,           p.slices,     p.memory_mib,
                 p.multiprocessors, p.engines,    p.instance_limit, std::nullopt, {}};
    MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Placement> placements, device.GiPlacements(p.id));
    for (const auto& pl : placements) r.placements.emplace_back(pl.start, pl.size);
    MIGCTL_ASSIGN_OR_RETURN(r.free, device.GiRemainingCapacity(p.id));
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<ProfileRow> ModelRows(const GpuModel& model) {
  std::vector<ProfileRow> rows;
  for (const GiProfile& p : model.gi_profiles) {
    ProfileRow r{p.nvml_index,      p.id.value(), p.name,           p.compute_slices, p.memory_mib,
                 p.multiprocessors, p.engines,    p.instance_limit, std::nullopt,     {}};
    for (unsigned s : p.starts) r.placements.emplace_back(s, p.placement_size);
    rows.push_back(std::move(r));
  }
  return rows;
}

Result<int> RunProfiles(Context& ctx, const ProfilesArgs& args) {
  if (!args.model.empty()) {
    if (!args.gpus.empty()) return MakeError(ErrorCode::kInvalidInput, "give either --model or -i, not both");
    MIGCTL_ASSIGN_OR_RETURN(const GpuModel* model, FindModel(args.model));
    std::vector<ProfileRow> rows = ModelRows(*model);
    if (ctx.options.json) {
      ctx.PrintJson({{"model", model->key}, {"name", model->product_name}, {"profiles", RowsJson(rows)}});
    } else {
      ctx.Print(fmt::format("{} ({}), {} memory slots, {} compute slices\n", model->key, model->product_name,
                            model->memory_slots, model->compute_slices) +
                RowsText(rows));
    }
    return kExitOk;
  }
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  Json gpus = Json::array();
  std::string text;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(std::string name, device.Name());
    MIGCTL_ASSIGN_OR_RETURN(std::vector<ProfileRow> rows, DeviceRows(device));
    gpus.push_back({{"index", device.index().value()}, {"name", name}, {"profiles", RowsJson(rows)}});
    text += fmt::format("{}GPU {}: {}\n", text.empty() ? "" : "\n", device.index().value(), name);
    text += rows.empty() ? "  no MIG profiles (this GPU does not support MIG)\n" : RowsText(rows);
  }
  return ctx.Finish({{"gpus", gpus}}, text);
}

}  // namespace

void AddProfilesCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ProfilesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "profiles", "List GPU instance profiles: id, memory, SMs, engines, free/total, placements");
  cmd->footer(
      "FREE is '-' when the driver does not answer remaining capacity (some do not while MIG mode is off).\n"
      "Examples:\n  migctl profiles -i 0\n  migctl profiles --model h200-141gb --json");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs of this host (default all)");
  cmd->add_option("--model", args->model, "A GPU model from the catalog instead of a GPU (no NVML needed)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunProfiles(ctx, *args); }; });
}

}  // namespace migctl
