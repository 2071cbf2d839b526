// `migctl slurm sync`: after a layout change, this node's gres.conf lines and Gres= made true again, and
// Slurm made to take them (slurm/sync.h decides and acts; this file parses and prints).
#include <unistd.h>

#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/slurm_node.h"
#include "cli/slurm_sync_run.h"
#include "common/private_dir.h"
#include "common/process_host.h"
#include "reconcile/host_lock.h"
#include "slurm/sync.h"

namespace migctl {
namespace {


class StderrNotes final : public slurm::SyncNotes {
 public:
  void Note(const std::string& text) override { PrintNote(text); }
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}


std::string Headline(const slurm::SyncPlan& plan) {
  const slurm::FileEdits& e = plan.edits;
  switch (plan.action) {
    case slurm::SlurmAction::kNone:
      return fmt::format("{} is in sync with Slurm (Gres={}){}", plan.node, e.gres_after,
                         plan.InSync() ? ": nothing to do" : "; only the map file changes");
    case slurm::SlurmAction::kReconfigure:
      if (e.change == slurm::GresChange::kInSync)
        return fmt::format(
            "{}: the files are in sync (Gres={}); finishing an earlier sync that left it drained", plan.node,
            e.gres_after);
      return fmt::format(
          "{}: same GPU counts (Gres={}), new gres.conf lines: scontrol reconfigure, no restart", plan.node,
          e.gres_after);
    case slurm::SlurmAction::kRestart:
      return fmt::format(
          "{}: Gres={} -> {} (slurmctld has {}): new GPU counts, so slurmctld restarts, then {}'s "
          "slurmd",
          plan.node, e.gres_before.empty() ? "(none)" : e.gres_before, e.gres_after,
          plan.gres_controller.empty() ? "none" : plan.gres_controller, plan.node);
  }
  return "";
}

}  // namespace

std::string SyncText(const slurm::SyncReport& report) {
  const slurm::SyncPlan& plan = report.plan;
  std::string out = Headline(plan) + "\n";
  if (plan.drained_by_others)
    out += fmt::format("{} was drained before sync ({}): it stays drained\n", plan.node,
                       plan.node_before.reason.empty() ? plan.node_before.state : plan.node_before.reason);
  if (report.dry_run) {
    if (!plan.InSync()) out += "Plan (dry run: nothing changed):\n";
    for (size_t i = 0; i < plan.steps.size(); ++i)
      out += fmt::format("  {}. {}\n", i + 1, plan.steps[i].what);
    return out;
  }
  for (const slurm::DoneStep& step : report.done)
    out += fmt::format("  {:6.2f} s  {}\n", step.seconds, step.what);
  if (!report.waited_for.empty())
    out += fmt::format("Waited for job{} {}.\n", report.waited_for.size() == 1 ? "" : "s",
                       fmt::join(report.waited_for, ", "));
  if (report.seconds_to_jobs) {
    out += fmt::format("{} takes jobs again, {:.1f} s after the call.\n", plan.node, *report.seconds_to_jobs);
  } else if (plan.drained_by_others && !plan.InSync()) {
    out += fmt::format(
        "{} is in step and stays drained: resume it with `scontrol update NodeName={} State=RESUME`\n",
        plan.node, plan.node);
  }
  return out;
}

Json SyncJson(const slurm::SyncReport& report, const std::string& slurm_conf) {
  const slurm::SyncPlan& plan = report.plan;
  Json doc = {{"node", plan.node},
              {"slurm_conf", slurm_conf},
              {"dry_run", report.dry_run},
              {"in_sync", plan.InSync()},
              {"change", slurm::GresChangeName(plan.edits.change)},
              {"action", slurm::SlurmActionName(plan.action)},
              {"gres",
               {{"before", plan.edits.gres_before},
                {"after", plan.edits.gres_after},
                {"slurmctld", plan.gres_controller}}},
              {"state_before", plan.node_before.state},
              {"drained_by_others", plan.drained_by_others},
              {"plan", Json::array()},
              {"done", Json::array()},
              {"waited_for", report.waited_for},
              {"resumed", report.resumed},
              {"seconds_to_jobs", report.seconds_to_jobs ? Json(*report.seconds_to_jobs) : Json(nullptr)},
              {"seconds", report.seconds}};
  for (const slurm::SyncStep& step : plan.steps) {
    Json j = {{"step", slurm::StepName(step.kind)}, {"what", step.what}};
    if (!step.argv.empty()) j["argv"] = step.argv;
    if (step.kind == slurm::StepKind::kWriteFile) j["path"] = plan.edits.writes[step.write].path;
    doc["plan"].push_back(j);
  }
  for (const slurm::DoneStep& step : report.done)
    doc["done"].push_back(
        {{"step", slurm::StepName(step.kind)}, {"what", step.what}, {"seconds", step.seconds}});
  return doc;
}

std::string SyncArgs::NodeName() const { return name.empty() ? ShortHostname() : name; }

std::string SyncArgs::SlurmConf() const {
  if (!slurm_conf.empty()) return slurm_conf;
  const char* conf = std::getenv("SLURM_CONF");
  return conf != nullptr && *conf != '\0' ? conf : "/etc/slurm/slurm.conf";
}

namespace {

Result<std::optional<HostLock>> TakeHostLock(Context& ctx, const SyncArgs& args) {
  if (args.dry_run) return std::optional<HostLock>();
  MIGCTL_ASSIGN_OR_RETURN(const std::string run_dir,
                          EnsurePrivateDir(ctx.RunDir(), "set MIGCTL_RUN_DIR to a directory of yours"));
  Result<HostLock> lock = HostLock::Acquire(run_dir, Millis(args.lock_timeout_s), [](int holder) {
    PrintNote(fmt::format("migctl: waiting for another migctl{} to finish",
                          holder > 0 ? fmt::format(" (pid {})", holder) : ""));
  });
  if (!lock.ok()) return lock.error();
  return std::optional<HostLock>(std::move(*lock));
}

}  // namespace

Result<slurm::SyncReport> SyncNode(Context& ctx, const SyncArgs& args) {
  ProcessHost& host = RealProcessHost();
  const ProcessHost::Clock::time_point started = host.Now();
  slurm::SyncRequest request;
  request.node = args.NodeName();
  request.slurm_conf = args.SlurmConf();
  request.map_file = args.map;
  request.wait = args.wait;
  request.wait_timeout = Millis(args.wait_timeout_s);
  request.register_timeout = Millis(args.register_timeout_s);
  request.restart_ctld = args.restart_ctld;
  request.restart_slurmd = args.restart_slurmd;
  request.only_root_files = ::geteuid() == 0;
  // One change at a time per host: the host lock every GPU change takes, so no `apply` changes the layout
  // while sync describes it to Slurm, and two syncs never interleave.
  Result<std::optional<HostLock>> lock = TakeHostLock(ctx, args);
  if (!lock.ok()) return lock.error();
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ObserveNodeGres(ctx, args.node));
  std::unique_ptr<slurm::SlurmClient> client = slurm::MakeCommandSlurmClient(host, request.slurm_conf);
  StderrNotes notes;
  slurm::SyncEnv env{*client, host, notes, started};
  return slurm::Sync(request, args.dry_run, env);
}

namespace {

Result<int> RunSync(Context& ctx, const SyncArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(slurm::SyncReport report, SyncNode(ctx, args));
  return ctx.Finish(SyncJson(report, args.SlurmConf()), SyncText(report));
}

}  // namespace

void AddSyncOptions(CLI::App* cmd, SyncArgs* args) {
  cmd->add_option("--node", args->name, "Slurm's NodeName for this host (default: the short hostname)")
      ->option_text("NAME");
  cmd->add_option("-i,--gpus", args->node.gpus, "GPUs Slurm is given (default all)")->option_text("GPUS");
  cmd->add_option("--root", args->node.root,
                  "Read mig-minors and name device files under DIR (default /; for simulated nodes)")
      ->option_text("DIR");
  cmd->add_option(
         "--slurm-conf", args->slurm_conf,
         "slurm.conf to edit; gres.conf is beside it (default $SLURM_CONF, else /etc/slurm/slurm.conf)")
      ->option_text("PATH");
  cmd->add_option("--map", args->map, "Also write the index -> UUID map to FILE (for exec --map)")
      ->option_text("FILE");
  cmd->add_option("--restart-ctld", args->restart_ctld,
                  "Command that restarts slurmctld; needed when GPU counts change (no default)")
      ->option_text("CMD");
  cmd->add_option("--restart-slurmd", args->restart_slurmd,
                  "Command that restarts this node's slurmd (default: systemctl restart slurmd)")
      ->option_text("CMD");
  cmd->add_option("--register-timeout", args->register_timeout_s,
                  "Seconds to wait for Slurm to report the node with its new GRES (default 60)")
      ->check(Seconds(kMinTimeoutSeconds, kMaxSeconds));
  cmd->add_option("--lock-timeout", args->lock_timeout_s,
                  "Seconds to wait for another migctl changing this host (default 300; 0: do not wait)")
      ->check(Seconds(0, kMaxSeconds));
}

void AddSlurmSyncCommand(CLI::App& slurm, Context& ctx) {
  auto args = std::make_shared<SyncArgs>();
  CLI::App* sync = slurm.add_subcommand(
      "sync",
      "After a layout change: rewrite this node's GRES in gres.conf and slurm.conf and have Slurm take it");
  sync->footer(
      R"(Run it on the node after `migctl apply` (or create/destroy) changed its MIG layout. It describes the
live layout as `migctl slurm gres` does and, when Slurm's view differs:
  1. drains the node (no new job starts there) and checks that no job runs there: with one running it
     puts the node back and refuses, unless --wait, which waits until the jobs have ended;
  2. replaces the node's GPU lines in gres.conf (the one beside slurm.conf) and the Gres= on its
     NodeName= line in slurm.conf, keeping every other byte and each file's mode;
  3. has Slurm take them, and resumes the node once slurmctld reports it with its new GRES.
A node someone else drained stays drained. When nothing differs it says so and changes nothing. It
holds the host lock of GPU changes throughout, so no `apply` changes the layout meanwhile.

What Slurm 22.05 needs for step 3:
  same GPU counts per type (other MIG devices, other device files)  scontrol reconfigure, no restart
  new counts or types (3x 1g.10gb -> 7x 1g.10gb)                    slurmctld restarted, then slurmd
`scontrol reconfigure` does not change counts: slurmctld keeps the old ones until it restarts. So for
new counts give the command that restarts slurmctld (--restart-ctld; it often runs on another host) and,
if `systemctl restart slurmd` is not right here, the one for this node's slurmd. Restarting slurmctld
does not stop running jobs elsewhere; the other nodes take new jobs again once it has contacted them.

Everything that could stop it half-way is refused before the node is drained (one line, exit 2): a node
without a NodeName= line of its own, a gres.conf line without NodeName= or with AutoDetect=, missing
device files, new counts without --restart-ctld. Commands run without a shell; as root the files
written and the programs run must be changeable by root alone.

Examples:
  migctl slurm sync --dry-run
  migctl slurm sync --wait --restart-ctld 'ssh slurm-ctl systemctl restart slurmctld'
  migctl slurm sync --node gpu07 --slurm-conf /etc/slurm/slurm.conf --map /run/migctl/slurm-map --json
  # a simulated node of tests/slurm/cluster.sh's cluster in DIR:
  migctl --sim DIR/nodes/n1/sim.json slurm sync --node n1 --root DIR/nodes/n1/root \
      --slurm-conf DIR/etc/slurm.conf --restart-ctld 'bash cluster.sh restart-ctld DIR' \
      --restart-slurmd 'bash cluster.sh restart-slurmd DIR n1')");
  AddSyncOptions(sync, args.get());
  CLI::Option* wait =
      sync->add_flag("--wait", args->wait, "Wait for the node's jobs to end instead of refusing");
  sync->add_option("--wait-timeout", args->wait_timeout_s,
                   "With --wait: give up after SECONDS, resuming the node (default 0: no limit)")
      ->check(Seconds(0, kMaxSeconds))
      ->needs(wait);
  sync->add_flag("--dry-run", args->dry_run, "Print the plan and change nothing");
  sync->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunSync(ctx, *args); }; });
}

}  // namespace migctl
