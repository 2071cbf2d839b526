// `migctl slurm reshape`: re-cut this node's MIG GPUs for the GPU types pending Slurm jobs wait for, then have
// Slurm take the new layout (slurm sync). The node is drained and empty while its layout changes.
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/slurm_sync_run.h"
#include "common/process_host.h"
#include "common/stop_signals.h"
#include "launch/lease.h"
#include "launch/lease_guard.h"
#include "reconcile/reshape.h"
#include "slurm/gres.h"
#include "slurm/pending_demand.h"
#include "slurm/slurm_client.h"

namespace migctl {
namespace {

struct SlurmReshapeArgs {
  SyncArgs sync;
  double time_limit_s = 10;
  double watch_s = 0;  ///< --watch: again every this many seconds; 0: once.
};

constexpr std::chrono::seconds kSlurmCommandTimeout{30};

/// The pending GPU types these GPUs (their models) have a plain profile for, as demand (one workload per type).
std::vector<planner::Workload> PendingDemand(const std::vector<GpuModel>& models,
                                             const std::map<std::string, unsigned>& pending) {
  std::vector<planner::Workload> demand;
  for (const auto& [type, count] : pending) {
    for (const GpuModel& model : models) {
      const GiProfile* match = slurm::ProfileOfType(model, type);
      if (match == nullptr) continue;
      planner::Workload w;
      w.name = type;
      w.profile = match->name;
      w.count = count;
      demand.push_back(std::move(w));
      break;
    }
  }
  return demand;
}

unsigned Created(const ReshapeReport& report) {
  unsigned n = 0;
  for (const ReshapeGpu& g : report.gpus) n += static_cast<unsigned>(g.created.size());
  return n;
}

std::string Changes(const ReshapeReport& report) {
  std::vector<std::string> lines;
  for (const ReshapeGpu& g : report.gpus) {
    if (g.created.empty() && g.destroyed.empty()) continue;
    std::vector<std::string> made, gone;
    for (const ReshapeInstance& i : g.destroyed) gone.push_back(fmt::format("{}@{}", i.profile, i.start));
    for (const ReshapeInstance& i : g.created) made.push_back(fmt::format("{}@{}", i.profile, i.start));
    lines.push_back(fmt::format("GPU {}: {} -> {}", g.gpu.value(), gone.empty() ? "nothing" : fmt::format("{}", fmt::join(gone, " ")),
                                fmt::format("{}", fmt::join(made, " "))));
  }
  return fmt::format("{}", fmt::join(lines, "; "));
}

/// Drains `node` (as sync would, so that the sync that follows resumes it) and waits until no job runs there.
Status DrainAndWait(slurm::SlurmClient& slurm, const std::string& node, double timeout_s) {
  MIGCTL_RETURN_IF_ERROR(slurm.Drain(node, slurm::kDrainReason));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  bool said = false;
  for (;;) {
    Result<std::vector<std::string>> jobs = slurm.ActiveJobs(node);
    if (!jobs.ok()) {
      (void)slurm.Resume(node);
      return jobs.error();
    }
    if (jobs->empty()) return Ok();
    if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) {
      (void)slurm.Resume(node);
      return MakeError(ErrorCode::kBusy,
                       fmt::format("jobs {} still run on {} after {} s; it was resumed unchanged; try again later "
                                   "or give a longer --wait-timeout",
                                   fmt::join(*jobs, ", "), node, timeout_s));
    }
    if (!said) PrintNote(fmt::format("{} drained; waiting for job{} {} to end", node, jobs->size() == 1 ? "" : "s",
                                     fmt::join(*jobs, ", ")));
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

Result<int> ReshapeOnce(Context& ctx, SlurmReshapeArgs& args) {
  const std::string node = args.sync.NodeName();
  const std::string conf = args.sync.SlurmConf();
  ProcessHost& host = RealProcessHost();
  MIGCTL_ASSIGN_OR_RETURN(const std::string squeue,
                          slurm::RunSlurmCommand(host, slurm::PendingGresArgv(),
                                                 slurm::SlurmCommandEnvironment(conf), kSlurmCommandTimeout));
  const std::map<std::string, unsigned> pending = slurm::PendingGpuTypes(squeue);
  // This node's MIG GPUs, observed once: their models say what they can make, their MIG devices what exists.
  MIGCTL_ASSIGN_OR_RETURN(auto on, ctx.SelectMigDevices(args.sync.node.gpus, "slurm reshape re-cuts MIG GPUs"));
  std::vector<nvml::Device> devices;
  std::vector<GpuModel> models;
  std::set<std::string> every_device;
  for (const auto& [device, snapshot] : on) {
    devices.push_back(device);
    MIGCTL_ASSIGN_OR_RETURN(GpuModel model, GeometryOf(device, snapshot));
    models.push_back(std::move(model));
    for (const nvml::InstanceSnapshot& i : snapshot.instances)
      if (i.uuid) every_device.insert(i.uuid->value());
  }
  const std::vector<planner::Workload> demand = PendingDemand(models, pending);
  Json pending_json = Json::object();
  for (const auto& [type, count] : pending) pending_json[type] = count;
  auto finish = [&](const std::string& text, const ReshapeReport* report, const slurm::SyncReport* sync) {
    if (args.watch_s > 0 && !ctx.options.json && sync == nullptr && !args.sync.dry_run)
      return static_cast<int>(kExitOk);  // --watch says only what it changed
    Json doc = {{"node", node}, {"pending", pending_json}, {"dry_run", args.sync.dry_run}};
    doc["reshape"] = report != nullptr ? Json{{"changes", Changes(*report)}, {"created", Created(*report)},
                                              {"method", report->method}}
                                       : Json(nullptr);
    doc["sync"] = sync != nullptr ? SyncJson(*sync, conf) : Json(nullptr);
    return ctx.Finish(doc, text);
  };
  if (demand.empty())
    return finish(fmt::format("{}: no pending job asks for a MIG type this node can make; nothing to do\n", node),
                  nullptr, nullptr);

  // What a re-cut would make, were the node empty (it will be: drained, its jobs ended).
  ReshapeReport plan;
  {
    ReshapeRequest request{demand, every_device, args.time_limit_s};
    ChangeRequest change;
    change.devices = devices;
    change.planner = ReshapePlanner(std::move(request), &plan);
    change.dry_run = true;
    change.command = "slurm reshape";
    Result<ChangeReport> dry = ctx.ChangeGpus(std::move(change), {}, args.sync.lock_timeout_s);
    if (!dry.ok()) return dry.error();
  }
  if (Created(plan) == 0)
    return finish(fmt::format("{}: its layout already has what the pending jobs ask for; nothing to re-cut\n", node),
                  &plan, nullptr);
  if (args.sync.dry_run)
    return finish(fmt::format("{}: would drain, wait for its jobs, re-cut ({}), sync Slurm and resume\n", node,
                              Changes(plan)),
                  &plan, nullptr);

  std::unique_ptr<slurm::SlurmClient> slurm = slurm::MakeCommandSlurmClient(host, conf);
  MIGCTL_ASSIGN_OR_RETURN(slurm::NodeInfo before, slurm->Node(node));
  if (before.state.find("DRAIN") != std::string::npos && before.reason != slurm::kDrainReason)
    return MakeError(ErrorCode::kBusy, fmt::format("{} is drained by someone else ({}): slurm reshape leaves it be",
                                                   node, before.reason.empty() ? before.state : before.reason));
  MIGCTL_RETURN_IF_ERROR(DrainAndWait(*slurm, node, args.sync.wait_timeout_s));

  // The node is empty: re-cut it (a slice some process outside Slurm still uses stays, as always).
  ReshapeReport done;
  const Status changed = [&]() -> Status {
    LeaseTable leases(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
    ReshapeRequest request{demand, {}, args.time_limit_s};
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Lease> held, LeaseIdleMigDevices(devices, leases, &request.leased));
    ChangeRequest change;
    change.devices = devices;
    change.planner = ReshapePlanner(std::move(request), &done);
    change.command = "slurm reshape";
    Result<ChangeReport> report = ctx.ChangeGpus(std::move(change), {}, args.sync.lock_timeout_s);
    if (!report.ok()) return report.error();
    return Ok();
  }();
  if (!changed.ok()) {
    (void)slurm->Resume(node);
    return changed.error().WithContext(fmt::format("{} was resumed with its old layout: ", node));
  }
  // Slurm takes the new layout; the node is drained by "migctl slurm sync", so this sync resumes it.
  SyncArgs sync = args.sync;
  sync.wait = true;
  MIGCTL_ASSIGN_OR_RETURN(slurm::SyncReport synced, SyncNode(ctx, sync));
  std::vector<std::string> asked;
  for (const planner::Workload& w : demand) asked.push_back(fmt::format("{} x{}", w.name, w.count));
  return finish(fmt::format("{}: re-cut for pending {} ({})\n{}", node, fmt::join(asked, ", "), Changes(done),
                            SyncText(synced)),
                &done, &synced);
}

/// --watch: a pass every watch_s seconds (the pending jobs of that window batched into one re-cut) until
/// SIGINT, SIGTERM or SIGHUP, which end it between passes, never inside one. A pass that fails is reported and
/// the next one tries again; bad input ends it.
Result<int> RunSlurmReshape(Context& ctx, SlurmReshapeArgs& args) {
  if (args.watch_s <= 0) return ReshapeOnce(ctx, args);
  StopSignals stop;
  MIGCTL_RETURN_IF_ERROR(stop.Install());
  while (stop.signal() == 0) {
    Result<int> pass = ReshapeOnce(ctx, args);
    if (!pass.ok()) {
      if (IsUserError(pass.error())) return pass.error();
      PrintNote(fmt::format("slurm reshape: {}; trying again in {} s", pass.error().message, args.watch_s));
    }
    std::fflush(stdout);
    const auto next = std::chrono::steady_clock::now() + std::chrono::duration<double>(args.watch_s);
    while (stop.signal() == 0 && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return 128 + stop.signal();
}

}  // namespace

void AddSlurmReshapeCommand(CLI::App& slurm, Context& ctx) {
  auto args = std::make_shared<SlurmReshapeArgs>();
  CLI::App* cmd = slurm.add_subcommand(
      "reshape", "Re-cut this node's MIG GPUs for the GPU types pending jobs wait for, then sync Slurm");
  cmd->footer(
      R"(Reads the pending jobs' GPU requests (squeue: --gres=gpu:TYPE:N, array elements counted one by one),
keeps the types this node's GPUs have a profile for, and plans the re-cut `migctl reshape` would make for
them. When that creates something, it drains the node (no new job starts there), waits until no job runs
there (--wait-timeout, then it resumes the node unchanged), re-cuts through the conductor, and runs `slurm
sync`, which has Slurm take the new layout (restarting slurmctld and slurmd when the counts change) and
resumes the node. Jobs on other nodes go on undisturbed. A node drained by someone else is left be.

Run it once (a cron job, a systemd timer) or with --watch SECONDS, which makes a pass every SECONDS: the
jobs that came pending meanwhile are served by one re-cut (nos's batching window), and SIGINT or SIGTERM
end it between passes, never inside one.

Examples:
  migctl slurm reshape --dry-run
  migctl slurm reshape --restart-ctld 'ssh slurm-ctl systemctl restart slurmctld' --wait-timeout 600)");
  AddSyncOptions(cmd, &args->sync);
  cmd->add_option("--wait-timeout", args->sync.wait_timeout_s,
                  "Give up waiting for the node's jobs after SECONDS, resuming it (default 0: no limit)")
      ->check(Seconds(0, kMaxSeconds));
  cmd->add_option("--time-limit", args->time_limit_s, "Seconds the solver may take (default 10)")
      ->check(Seconds(0, 86400));
  cmd->add_flag("--dry-run", args->sync.dry_run, "Print what would change and change nothing");
  cmd->add_option("--watch", args->watch_s, "Make a pass every SECONDS until stopped (default: once)")
      ->check(Seconds(1, 86400));
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunSlurmReshape(ctx, *args); }; });
}

}  // namespace migctl
