// `migctl reshape`: re-cut the idle part of MIG GPUs for a demand, never touching an instance that runs work.
#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/plan_request.h"
#include "cli/slot_map.h"
#include "launch/lease_guard.h"
#include "reconcile/reshape.h"

namespace migctl {
namespace {

struct ReshapeArgs {
  std::string gpus;
  std::string need;
  std::string demand;
  std::string need_file;
  bool dry_run = false;
  bool explain = false;
  double time_limit_s = 10;
  double lock_timeout = 300;
};

/// The GPUs to reshape: those selected (a MIG-off one among them is the planner's error), or without -i every
/// GPU with MIG on.
Result<std::vector<nvml::Device>> ReshapeDevices(Context& ctx, const std::string& selection) {
  if (!selection.empty()) return ctx.SelectDevices(selection);
  MIGCTL_ASSIGN_OR_RETURN(auto on, ctx.SelectMigDevices("", "reshape re-cuts MIG GPUs"));
  std::vector<nvml::Device> devices;
  for (auto& [device, snapshot] : on) devices.push_back(device);
  return devices;
}

std::string Describe(const ReshapeInstance& i, const std::vector<planner::Workload>& demand) {
  std::string out = fmt::format("{} at slot {}", i.profile, i.start);
  if (!i.busy.empty()) out += fmt::format(" (busy: {})", i.busy);
  if (i.serves >= 0) out += fmt::format(" for {}", demand[static_cast<size_t>(i.serves)].name);
  return out;
}

Json InstanceJson(const ReshapeInstance& i, const std::vector<planner::Workload>& demand) {
  return {{"gi", i.gi.value() == 0 && i.uuids.empty() ? Json(nullptr) : Json(i.gi.value())},
          {"profile", i.profile},
          {"start", i.start},
          {"uuids", i.uuids},
          {"busy", i.busy.empty() ? Json(nullptr) : Json(i.busy)},
          {"serves", i.serves >= 0 ? Json(demand[static_cast<size_t>(i.serves)].name) : Json(nullptr)}};
}

std::vector<SlotSpan> Spans(const GpuModel& model, const std::vector<const ReshapeInstance*>& instances) {
  std::vector<SlotSpan> spans;
  for (const ReshapeInstance* i : instances) {
    const GiProfile* p = model.FindProfile(i->profile);
    spans.push_back(
        {i->start, p != nullptr ? p->placement_size : 1, i->busy.empty() ? i->profile : "*" + i->profile});
  }
  return spans;
}

Result<int> RunReshape(Context& ctx, const ReshapeArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<planner::Workload> demand,
                          ParseWorkloads(args.need, args.demand, args.need_file));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ReshapeDevices(ctx, args.gpus));
  LeaseTable leases(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
  ReshapeRequest request{demand, {}, args.time_limit_s};
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Lease> held, LeaseIdleMigDevices(devices, leases, &request.leased));

  ReshapeReport report;
  ChangeRequest change;
  change.devices = devices;
  change.planner = ReshapePlanner(std::move(request), &report);
  change.dry_run = args.dry_run;
  change.command = "reshape";
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport done, ctx.ChangeGpus(std::move(change), {}, args.lock_timeout));
  held.clear();  // the changes are made: the slices are free for runs again

  const char* keep = args.dry_run ? "would keep" : "kept";
  const char* destroy = args.dry_run ? "would destroy" : "destroyed";
  const char* create = args.dry_run ? "would create" : "created";
  std::string text;
  Json gpus = Json::array();
  unsigned destroyed = 0, created = 0;
  for (size_t k = 0; k < report.gpus.size(); ++k) {
    const ReshapeGpu& g = report.gpus[k];
    const GpuModel& model = done.gpus[k].before.geometry;
    auto list = [&](const std::vector<ReshapeInstance>& v) {
      std::vector<std::string> parts;
      for (const ReshapeInstance& i : v) parts.push_back(Describe(i, demand));
      return fmt::format("{}", fmt::join(parts, ", "));
    };
    destroyed += g.destroyed.size();
    created += g.created.size();
    if (g.destroyed.empty() && g.created.empty()) text += fmt::format("GPU {}: unchanged\n", g.gpu.value());
    if (!g.destroyed.empty())
      text += fmt::format("GPU {}: {} {}\n", g.gpu.value(), destroy, list(g.destroyed));
    if (!g.created.empty()) text += fmt::format("GPU {}: {} {}\n", g.gpu.value(), create, list(g.created));
    if (!g.kept.empty() && (args.explain || !g.destroyed.empty() || !g.created.empty()))
      text += fmt::format("GPU {}: {} {}\n", g.gpu.value(), keep, list(g.kept));
    if (args.explain) {
      std::vector<const ReshapeInstance*> before, after;
      for (const ReshapeInstance& i : g.kept) before.push_back(&i), after.push_back(&i);
      for (const ReshapeInstance& i : g.destroyed) before.push_back(&i);
      for (const ReshapeInstance& i : g.created) after.push_back(&i);
      text += "  before (* busy):\n" + DrawSlotMap(model.memory_slots, Spans(model, before), "  ");
      text += "  after:\n" + DrawSlotMap(model.memory_slots, Spans(model, after), "  ");
      if (!g.free_fits.empty()) text += fmt::format("  still fits: {}\n", fmt::join(g.free_fits, ", "));
    }
    Json kept = Json::array(), gone = Json::array(), made = Json::array();
    for (const ReshapeInstance& i : g.kept) kept.push_back(InstanceJson(i, demand));
    for (const ReshapeInstance& i : g.destroyed) gone.push_back(InstanceJson(i, demand));
    for (const ReshapeInstance& i : g.created) made.push_back(InstanceJson(i, demand));
    gpus.push_back({{"index", g.gpu.value()},
                    {"kept", kept},
                    {"destroyed", gone},
                    {"created", made},
                    {"free_fits", g.free_fits}});
  }
  unsigned wanted = 0, served = 0;
  Json demand_json = Json::array();
  for (size_t w = 0; w < demand.size(); ++w) {
    wanted += demand[w].count;
    served += report.served[w];
    demand_json.push_back(
        {{"workload", demand[w].name}, {"count", demand[w].count}, {"served", report.served[w]}});
  }
  Json unserved = Json::array();
  for (const planner::Unserved& u : report.unserved) {
    const std::string reason =
        u.reason.starts_with("fleet too small")
            ? "no room left for it on the selected GPUs (instances in use stay where they are)"
            : u.reason;
    text += fmt::format("NOT SERVED: {} x{}: {}\n", demand[u.workload].name, u.count, reason);
    unserved.push_back({{"workload", demand[u.workload].name}, {"count", u.count}, {"reason", reason}});
  }
  text += fmt::format(
      "{} of {} served; {} {} and {} {} GPU instance{}{}\n", served, wanted,
      args.dry_run ? "would destroy" : "destroyed", destroyed, args.dry_run ? "create" : "created", created,
      created == 1 ? "" : "s",
      args.explain ? fmt::format(". {} ({})", report.optimal ? "Optimal" : "Best found", report.method) : "");
  const int rc = ctx.Finish({{"dry_run", args.dry_run},
                             {"served", served},
                             {"wanted", wanted},
                             {"demand", demand_json},
                             {"destroyed", destroyed},
                             {"created", created},
                             {"gpus", gpus},
                             {"unserved", unserved},
                             {"optimal", report.optimal},
                             {"method", report.method}},
                            text);
  return report.unserved.empty() ? rc : kExitFailed;
}

}  // namespace

void AddReshapeCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ReshapeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "reshape", "Re-cut MIG GPUs for a demand around the instances in use (never touching them)");
  cmd->footer(
      R"(The demand is what waits for slices now: memory needs (--need), profiles (--demand) or a workloads file
(--need-file), as for `migctl plan`. An instance is busy when it has processes or a migctl task holds its
lease (run, exec, a Python pool): busy instances are never destroyed or moved, and the others are leased
by reshape while it works, so no run starts on one that may go. Idle instances serve the demand where they
fit it.

Each selected GPU (default: every GPU with MIG on) gets the layout that serves the most demand, higher
priorities first; among those, the one that keeps the most instances (destroys and creates the fewest);
then the one that uses the fewest GPUs (the others stay empty: whole cards for jobs that need one). The choice is an integer program over the
placed layouts that hold every busy instance where it is (so every plan can be created), solved to a proven
optimum. The change goes through the one conductor: host lock, journal, and each GPU all or nothing, rolled
back to what reshape found if a step fails.

Exit status: 0 when the whole demand is served; 1 when some is not (what can be served is, and the rest is
listed with the reason), when a change failed (that GPU is put back as found) or the host lock stayed busy;
2 for bad input or a GPU with MIG off, and then nothing changes.

Examples:
  migctl reshape --need "30GiB x2, 8GiB x5" --dry-run --explain
  migctl reshape -i 0,1 --demand "3g.40gb:1, 1g.10gb:3"
  migctl --json reshape --need-file waiting.yaml)");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs to reshape (default: every GPU with MIG on)");
  AddWorkloadOptions(cmd, &args->need, &args->demand, &args->need_file);
  cmd->add_flag("--dry-run", args->dry_run, "Print what would change and change nothing");
  cmd->add_flag("--explain", args->explain,
                "Show each GPU's slots before and after, and the solver's figures");
  cmd->add_option("--time-limit", args->time_limit_s, "Seconds the solver may take (default 10)")
      ->check(Seconds(0, 86400));
  cmd->add_option("--lock-timeout", args->lock_timeout,
                  "Seconds to wait for another migctl changing GPUs on this host (default 300)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunReshape(ctx, *args); }; });
}

}  // namespace migctl
