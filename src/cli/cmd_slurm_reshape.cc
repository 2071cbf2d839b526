// `migctl slurm reshape`: re-cut this node's MIG GPUs for what pending Slurm jobs wait for, when this node comes
// first for it among the nodes (slurm/reshape_share), then have Slurm take the new layout (slurm sync). The node
// is drained with its claim and empty while its layout changes.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
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
#include "slurm/reshape_share.h"
#include "slurm/slurm_client.h"

namespace migctl {
namespace {

struct SlurmReshapeArgs {
  SyncArgs sync;
  double time_limit_s = 10;
  double watch_s = 0;  ///< --watch: again every this many seconds; 0: once.
  long long takeover_after_s = 600;  ///< Jobs waiting this long are served by the next node too.
};

constexpr std::chrono::seconds kSlurmCommandTimeout{30};

/// This node's share of the pending demand (one workload per type), named by type, for the profile of the
/// first of these GPUs' models that has one.
std::vector<planner::Workload> DemandOf(const std::vector<GpuModel>& models,
                                        const std::vector<slurm::TypeShare>& shares) {
  std::vector<planner::Workload> demand;
  for (const slurm::TypeShare& share : shares) {
    if (share.mine == 0) continue;
    for (const GpuModel& model : models) {
      const GiProfile* match = slurm::ProfileOfType(model, share.type);
      if (match == nullptr) continue;
      planner::Workload w;
      w.name = share.type;
      w.profile = match->name;
      w.count = share.mine;
      demand.push_back(std::move(w));
      break;
    }
  }
  return demand;
}

/// Why this node makes nothing for the types pending jobs ask, one clause a type.
std::string WhyNothing(const std::vector<slurm::TypeShare>& shares) {
  std::vector<std::string> why;
  for (const slurm::TypeShare& s : shares) {
    std::string text = fmt::format("{} x{} pending", s.type, s.pending);
    if (s.free_elsewhere + s.claimed >= s.pending)
      text += fmt::format(": {} free on other nodes, {} being made there", s.free_elsewhere, s.claimed);
    else if (s.first.empty())
      text += ": no usable node can make it";
    else
      text += fmt::format(": {} comes first for it{}", s.first,
                          s.takeover > 0 ? "" : " (the next nodes take over jobs that wait too long)");
    why.push_back(std::move(text));
  }
  return fmt::format("{}", fmt::join(why, "; "));
}

/// What the layout in `report` serves of its demand, by type (instances kept or made): the claim this node
/// drains itself with.
std::map<std::string, unsigned> Served(const ReshapeReport& report) {
  std::map<std::string, unsigned> served;
  for (size_t i = 0; i < report.demand.size() && i < report.served.size(); ++i)
    if (report.served[i] > 0) served[report.demand[i].name] += report.served[i];
  return served;
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
    lines.push_back(fmt::format("GPU {}: {} -> {}", g.gpu.value(),
                                gone.empty() ? "nothing" : fmt::format("{}", fmt::join(gone, " ")),
                                fmt::format("{}", fmt::join(made, " "))));
  }
  return fmt::format("{}", fmt::join(lines, "; "));
}

/// Drains `node` with `reason` and waits until no job runs there. Right after the drain and every 5 s while
/// it waits, `still_needed` says whether the re-cut is still wanted; when not, the node is resumed and this
/// answers false.
Result<bool> DrainAndWait(slurm::SlurmClient& slurm, const std::string& node, const std::string& reason,
                          double timeout_s, const std::function<Result<bool>()>& still_needed) {
  MIGCTL_RETURN_IF_ERROR(slurm.Drain(node, reason));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(timeout_s);
  auto next_check = start;
  bool said = false;
  for (;;) {
    if (std::chrono::steady_clock::now() >= next_check) {
      Result<bool> needed = still_needed();
      if (!needed.ok() || !*needed) {
        (void)slurm.Resume(node);
        if (!needed.ok()) return needed.error();
        return false;
      }
      next_check = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    Result<std::vector<std::string>> jobs = slurm.ActiveJobs(node);
    if (!jobs.ok()) {
      (void)slurm.Resume(node);
      return jobs.error();
    }
    if (jobs->empty()) return true;
    if (timeout_s > 0 && std::chrono::steady_clock::now() >= deadline) {
      (void)slurm.Resume(node);
      return MakeError(
          ErrorCode::kBusy,
          fmt::format("jobs {} still run on {} after {} s; it was resumed unchanged; try again later "
                      "or give a longer --wait-timeout",
                      fmt::join(*jobs, ", "), node, timeout_s));
    }
    if (!said)
      PrintNote(fmt::format("{} drained; waiting for job{} {} to end", node, jobs->size() == 1 ? "" : "s",
                            fmt::join(*jobs, ", ")));
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

/// What slurmctld says now: the pending jobs and every node.
struct ClusterState {
  std::vector<slurm::PendingJob> jobs;
  std::vector<slurm::NodeInfo> nodes;
};

Result<ClusterState> ReadCluster(ProcessHost& host, const std::string& conf, slurm::SlurmClient& slurm) {
  ClusterState state;
  MIGCTL_ASSIGN_OR_RETURN(const std::string squeue,
                          slurm::RunSlurmCommand(host, slurm::PendingJobsArgv(),
                                                 slurm::SlurmCommandEnvironment(conf), kSlurmCommandTimeout));
  state.jobs = slurm::ParsePendingJobs(squeue);
  MIGCTL_ASSIGN_OR_RETURN(state.nodes, slurm.Nodes());
  return state;
}

Result<int> ReshapeOnce(Context& ctx, SlurmReshapeArgs& args) {
  const std::string node = args.sync.NodeName();
  const std::string conf = args.sync.SlurmConf();
  ProcessHost& host = RealProcessHost();
  std::unique_ptr<slurm::SlurmClient> slurm = slurm::MakeCommandSlurmClient(host, conf);
  MIGCTL_ASSIGN_OR_RETURN(ClusterState cluster, ReadCluster(host, conf, *slurm));
  // This node's MIG GPUs, observed once: their models say what they can make, their MIG devices what exists.
  MIGCTL_ASSIGN_OR_RETURN(auto on,
                          ctx.SelectMigDevices(args.sync.node.gpus, "slurm reshape re-cuts MIG GPUs"));
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
  if (std::none_of(cluster.nodes.begin(), cluster.nodes.end(),
                   [&](const slurm::NodeInfo& n) { return n.name == node; }))
    return MakeError(
        ErrorCode::kNotFound,
        fmt::format("slurmctld does not know node {}: check --node, or add the node to slurm.conf and "
                    "restart slurmctld",
                    node));
  // This node's share of the pending demand, as every node running slurm reshape works it out.
  auto share_of = [&](const ClusterState& state, bool recheck) {
    slurm::ShareRequest request{.self = node, .nodes = state.nodes, .jobs = state.jobs, .recheck = recheck};
    request.can_make = [&](const slurm::NodeInfo& n, const std::string& type) {
      if (n.name != node) return slurm::MakesType(n.gpu_types, type);
      return std::any_of(models.begin(), models.end(),
                         [&](const GpuModel& m) { return slurm::ProfileOfType(m, type) != nullptr; })
                 ? slurm::Capability::kCan
                 : slurm::Capability::kCannot;
    };
    request.now = static_cast<long long>(std::time(nullptr));
    request.takeover_after_s = args.takeover_after_s;
    return slurm::ShareOf(request);
  };
  const std::vector<slurm::TypeShare> shares = share_of(cluster, false);
  const std::vector<planner::Workload> demand = DemandOf(models, shares);
  Json pending_json = Json::object(), share_json = Json::array();
  for (const slurm::TypeShare& s : shares) {
    pending_json[s.type] = s.pending;
    share_json.push_back({{"type", s.type},
                          {"pending", s.pending},
                          {"free_elsewhere", s.free_elsewhere},
                          {"claimed_elsewhere", s.claimed},
                          {"first", s.first.empty() ? Json(nullptr) : Json(s.first)},
                          {"here", s.mine},
                          {"takeover", s.takeover}});
  }
  // `outcome`: nothing_pending, not_here, in_place, would_recut, no_longer_needed or recut.
  auto finish = [&](const char* outcome, const std::string& text, const ReshapeReport* report,
                    const slurm::SyncReport* sync) {
    if (args.watch_s > 0 && !ctx.options.json && sync == nullptr && !args.sync.dry_run)
      return static_cast<int>(kExitOk);  // --watch says only what it changed
    Json doc = {{"node", node},
                {"outcome", outcome},
                {"pending", pending_json},
                {"share", share_json},
                {"dry_run", args.sync.dry_run}};
    doc["reshape"] =
        report != nullptr
            ? Json{{"changes", Changes(*report)}, {"created", Created(*report)}, {"method", report->method}}
            : Json(nullptr);
    doc["sync"] = sync != nullptr ? SyncJson(*sync, conf) : Json(nullptr);
    return ctx.Finish(doc, text);
  };
  if (shares.empty())
    return finish(
        "nothing_pending",
        fmt::format("{}: no pending job that may run here waits for a MIG type; nothing to do\n", node),
        nullptr, nullptr);
  if (demand.empty())
    return finish("not_here", fmt::format("{}: nothing to re-cut here ({})\n", node, WhyNothing(shares)),
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
  const std::map<std::string, unsigned> claim = Served(plan);
  if (Created(plan) == 0)
    return finish(
        "in_place",
        fmt::format("{}: its layout already has what the pending jobs ask for; nothing to re-cut\n", node),
        &plan, nullptr);
  if (args.sync.dry_run)
    return finish(
        "would_recut",
        fmt::format("{}: would drain (Reason=\"{}\"), wait for its jobs, re-cut ({}), sync Slurm and "
                    "resume\n",
                    node, slurm::ClaimReason(claim), Changes(plan)),
        &plan, nullptr);

  MIGCTL_ASSIGN_OR_RETURN(slurm::NodeInfo before, slurm->Node(node));
  if (before.Drained() && !before.reason.starts_with(slurm::kDrainReason))
    return MakeError(ErrorCode::kBusy,
                     fmt::format("{} is drained by someone else ({}): slurm reshape leaves it be", node,
                                 before.reason.empty() ? before.state : before.reason));
  // Drained with the claim, it checks again: another node may have claimed the same at once (the first by
  // name keeps it), and while it waits for its jobs the demand may be served elsewhere or go away.
  std::string gone;
  auto still_needed = [&]() -> Result<bool> {
    MIGCTL_ASSIGN_OR_RETURN(ClusterState now, ReadCluster(host, conf, *slurm));
    for (const slurm::TypeShare& s : share_of(now, true))
      if (claim.contains(s.type) && s.mine > 0) return true;
    gone = WhyNothing(share_of(now, false));
    return false;
  };
  MIGCTL_ASSIGN_OR_RETURN(const bool needed, DrainAndWait(*slurm, node, slurm::ClaimReason(claim),
                                                          args.sync.wait_timeout_s, still_needed));
  if (!needed)
    return finish("no_longer_needed",
                  fmt::format("{}: no longer needed here, resumed unchanged ({})\n", node,
                              gone.empty() ? "nothing pending" : gone),
                  nullptr, nullptr);

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
  return finish("recut",
                fmt::format("{}: re-cut for pending {} ({})\n{}", node, fmt::join(asked, ", "), Changes(done),
                            SyncText(synced)),
                &done, &synced);
}

/// --watch: a pass every watch_s seconds (the pending jobs of that window batched into one re-cut) until
/// SIGINT, SIGTERM or SIGHUP, which end it between passes, never inside one. A pass that fails is reported
/// and the next one tries again; bad input ends it.
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
      "reshape", "Re-cut this node's MIG GPUs for what pending jobs wait for, when it comes first for it, then sync");
  cmd->footer(
      R"(Run it on every MIG node (a timer, or --watch): the nodes share the work without a coordinator.
A pass reads the pending jobs' GPU requests (squeue: --gres=gpu:TYPE:N, array elements one by one; only jobs
waiting for Resources, Priority or None, in a partition of this node) and every node (scontrol -d show node).
It leaves out the jobs that GPUs free on other nodes can take and those another node's re-cut under way will
serve (it says so in its drain reason), and gives the rest to one node: idle before busy, then nodes sure to
make the type before those whose Gres types fit several GPU models, then by name. Every node reads the same state
and agrees. A job still waiting --takeover-after seconds after it was submitted is served by the next node
too, after twice that by the one after, so a first node that cannot make the type after all, or fails,
holds nobody up for long.

On the node that comes first, it plans the re-cut `migctl reshape` would make. When that creates something, it
drains the node with its claim (no new job starts there) and waits until no job runs there (--wait-timeout,
then it resumes the node unchanged). It checks every 5 s that the claim is still needed, and resumes the node
unchanged when not. Then it re-cuts through the conductor and runs `slurm sync`, which has Slurm take the new
layout (restarting slurmctld and slurmd when the counts change) and resumes the node. Jobs on other nodes go on
undisturbed. A node drained by someone else is left be.

--watch SECONDS makes a pass every SECONDS: the jobs that came pending meanwhile are served by one re-cut
(nos's batching window), and SIGINT or SIGTERM end it between passes, never inside one. --json gives each
type's share and the outcome (nothing_pending, not_here, in_place, would_recut, no_longer_needed, recut).

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
  cmd->add_option("--takeover-after", args->takeover_after_s,
                  "A job waiting this long (from its submit time) is served by the next node too, twice this "
                  "by the one after (default 600; 0: only the first node)")
      ->check(CLI::Range(0LL, 7LL * 86400))
      ->option_text("SECONDS");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunSlurmReshape(ctx, *args); }; });
}

}  // namespace migctl
