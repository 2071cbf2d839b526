#include "launch/run.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/memory_size.h"
#include "common/stop_signals.h"
#include "common/task_cgroup.h"
#include "launch/ephemeral_record.h"
#include "launch/lease.h"
#include "launch/lease_guard.h"
#include "launch/result_log.h"
#include "mps/client_limits.h"
#include "mps/control_daemon.h"
#include "mps/daemon_dirs.h"
#include "mps/foreign_server.h"
#include "nvml/snapshot.h"
#include "reconcile/reshape.h"
#include "reconcile/run_partitions.h"

namespace migctl {
namespace {

/// One workload per distinct need among `waiting`, with its count, in first-seen order.
std::vector<planner::Workload> DemandOf(const std::vector<TaskNeeds>& waiting) {
  std::vector<std::pair<TaskNeeds, unsigned>> counts;
  for (const TaskNeeds& n : waiting) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == n; });
    if (it == counts.end()) {
      counts.emplace_back(n, 1);
    } else {
      ++it->second;
    }
  }
  std::vector<planner::Workload> demand;
  for (const auto& [needs, count] : counts) {
    planner::Workload w;
    w.count = count;
    if (needs.profile) {
      w.name = *needs.profile;
      w.profile = needs.profile;
    } else {
      w.memory_mib = needs.memory_mib.value_or(1);  // a task that needs nothing: the smallest device
      w.name = needs.memory_mib ? FormatMib(*needs.memory_mib) : "any device";
    }
    demand.push_back(std::move(w));
  }
  return demand;
}

Status CheckRequest(const RunRequest& r) {
  auto bad = [](std::string message) { return MakeError(ErrorCode::kInvalidInput, std::move(message)); };
  const ShareMode share = r.workers.share;
  if (r.create && share != ShareMode::kMig) return bad("--create makes MIG devices; it does not go with --share");
  if (r.create && (!r.workers.profile || !r.workers.workers))
    return bad(
        "--create needs --profile and --workers: which MIG devices, and how many (e.g. --profile 3g.40gb "
        "--workers 2 --create)");
  if (r.ephemeral && !r.create) return bad("--ephemeral removes what --create made; add --create");
  if (share != ShareMode::kMps && (!r.mps_threads.empty() || r.mps_memory_mib))
    return bad("--mps-threads and --mps-memory need --share mps");
  if (r.reshape && (r.create || r.ephemeral || share != ShareMode::kMig || r.workers.profile ||
                    r.workers.memory_mib || r.workers.workers))
    return bad("--reshape runs on every MIG device of the selected GPUs and re-cuts them for the tasks' "
               "@profile= or @memory= needs: leave out --create, --ephemeral, --share, --profile, --memory and "
               "--workers");
  if (share != ShareMode::kMig && r.workers.profile)
    return bad("--profile selects MIG devices; --share uses whole GPUs (use --memory for a size)");
  if (!r.results.empty() && !r.resume.empty() && r.results != r.resume)
    return bad("--resume FILE also appends to FILE; leave out --results or give it the same file");
  if (r.create && !r.change_gpus) return MakeError(ErrorCode::kInternal, "create without a GPU changer");
  if (r.task_list && !r.resume.empty())
    return MakeError(ErrorCode::kInternal, "resume applies to a task source, not to a task list");
  return Ok();
}

Result<std::vector<nvml::GpuSnapshot>> Observe(const std::vector<nvml::Device>& devices) {
  std::vector<nvml::GpuSnapshot> out;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot s, nvml::ObserveGpu(d));
    out.push_back(std::move(s));
  }
  return out;
}

/// Creates the MIG devices create needs, through the conductor. `created` gets every GI made, even when a
/// later GPU fails, so that ephemeral can remove them; `made` is called after each GPU that made some.
Status CreatePartitions(const RunRequest& r, RunOutcome& out, std::vector<CreatedPartition>& created,
                        const std::function<void()>& made) {
  PartitionPlan plan;
  ChangeRequest change;
  change.devices = r.devices;
  change.reset_supported = r.reset_supported;
  change.planner = RunPartitionsPlanner(*r.workers.profile, *r.workers.workers, r.reset_supported, &plan);
  change.dry_run = r.dry_run;
  change.command = "run --create";
  ChangeCallbacks callbacks;
  callbacks.changed = [&created, &made](std::size_t k, const GpuOutcome& outcome) {
    std::vector<CreatedPartition> now = CreatedBy(k, outcome);
    created.insert(created.end(), now.begin(), now.end());
    if (!now.empty() && made) made();
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, r.change_gpus(std::move(change), callbacks));
  for (const PartitionAddition& a : plan.additions)
    out.partitions.push_back(fmt::format("GPU {}: {} {} x {}{}", r.devices[a.gpu].index().value(),
                                         r.dry_run ? "would create" : "created", a.count, *r.workers.profile,
                                         a.plan.ChangesMode() ? " (MIG mode enabled)" : ""));
  return Ok();
}

/// Removes what create made, holding the lease of each of its MIG devices meanwhile: an instance whose
/// device another run's task holds, or that has processes, stays, and a note says so. Returns how many GPU
/// instances were removed.
Result<unsigned> RemoveCreated(const RunRequest& r, LeaseTable& leases, const std::vector<CreatedPartition>& created,
                               RunEvents& events) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GpuSnapshot> now, Observe(r.devices));
  std::vector<CreatedPartition> removable;
  std::vector<Lease> held;  // released once the conductor is done
  for (const CreatedPartition& c : created) {
    std::string busy;
    std::vector<Lease> mine;
    for (const nvml::InstanceSnapshot& i : now[c.gpu].instances) {
      if (i.gi != c.gi || !i.uuid || !busy.empty()) continue;
      if (!i.processes.empty()) {
        busy = fmt::format("{} has processes (pid {})", i.uuid->value(), i.processes.front().pid);
        continue;
      }
      MIGCTL_ASSIGN_OR_RETURN(std::optional<Lease> lease, leases.TryAcquire(i.uuid->value()));
      if (!lease) {
        const std::optional<pid_t> holder = leases.Holder(i.uuid->value());
        busy = fmt::format("another run's task uses {}{}", i.uuid->value(),
                           holder ? fmt::format(" (pid {})", *holder) : "");
        continue;
      }
      mine.push_back(std::move(*lease));
    }
    if (!busy.empty()) {
      events.OnNote(fmt::format("--ephemeral: left GPU {} instance {} in place: {}; remove it with `migctl "
                                "destroy -i {} --gi {}` once it is free",
                                now[c.gpu].index.value(), c.gi.value(), busy, now[c.gpu].index.value(),
                                c.gi.value()));
      continue;
    }
    removable.push_back(c);
    for (Lease& l : mine) held.push_back(std::move(l));
  }
  if (removable.empty()) return 0u;
  ChangeRequest change;
  change.devices = r.devices;
  change.planner = RemovePartitionsPlanner(removable);
  change.command = "run --ephemeral";
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, r.change_gpus(std::move(change), {}));
  unsigned removed = 0;
  for (const GpuOutcome& g : report.gpus)
    for (const PlannedOp& op : g.plan.steps.ops) removed += op.kind == PlannedOp::Kind::kDestroyGi;
  return removed;
}

/// Whether the GI `g` names is still on `gpu` as it was made (same id, profile and placement start).
bool StillThere(const nvml::GpuSnapshot& gpu, GiId gi, ProfileId profile, unsigned start) {
  return std::any_of(gpu.instances.begin(), gpu.instances.end(), [&](const nvml::InstanceSnapshot& i) {
    return i.gi == gi && i.profile == profile && i.placement.start == start;
  });
}

/// `created` as a record of this run names it.
Result<EphemeralRecord> RecordOf(const RunRequest& r, const ProcStamp& self,
                                 const std::vector<CreatedPartition>& created) {
  EphemeralRecord record{self, {}};
  for (const CreatedPartition& c : created) {
    MIGCTL_ASSIGN_OR_RETURN(GpuUuid uuid, r.devices[c.gpu].Uuid());
    record.gis.push_back({uuid.value(), c.gi.value(), c.profile.value(), c.start});
  }
  return record;
}

/// Removes what `run --ephemeral` runs of this user that were killed left on the selected GPUs: the GIs
/// still there unchanged and idle, as RemoveCreated does (a busy one stays, with a note). Each record then
/// keeps only what is still there (a busy GI, GPUs not selected here); an empty one is removed. Under
/// EphemeralLock, so a concurrent run reads the records only once they are rewritten.
Status SweepKilledRuns(const RunRequest& r, LeaseTable& leases, RunEvents& events) {
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, EphemeralLock(leases.dir()));
  std::vector<EphemeralRecord> orphans = OrphanedEphemeralRecords(leases.dir());
  if (orphans.empty()) return Ok();
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GpuSnapshot> gpus, Observe(r.devices));
  std::map<std::string, size_t> index_of;
  for (size_t k = 0; k < gpus.size(); ++k) index_of[gpus[k].uuid.value()] = k;
  std::vector<CreatedPartition> left;
  std::set<pid_t> owners;
  for (const EphemeralRecord& o : orphans)
    for (const EphemeralGi& g : o.gis)
      if (auto k = index_of.find(g.gpu_uuid);
          k != index_of.end() && StillThere(gpus[k->second], GiId(g.gi), ProfileId(g.profile), g.start)) {
        left.push_back({k->second, GiId(g.gi), ProfileId(g.profile), g.start});
        owners.insert(o.owner.pid);
      }
  if (!left.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(unsigned removed, RemoveCreated(r, leases, left, events));
    if (removed > 0)
      events.OnNote(fmt::format("--ephemeral: removed {} GPU instance{} left by a run that was killed (pid {})",
                                removed, removed == 1 ? "" : "s", fmt::join(owners, ", ")));
    MIGCTL_ASSIGN_OR_RETURN(gpus, Observe(r.devices));
  }
  for (EphemeralRecord& o : orphans) {
    std::erase_if(o.gis, [&](const EphemeralGi& g) {
      const auto k = index_of.find(g.gpu_uuid);
      return k != index_of.end() && !StillThere(gpus[k->second], GiId(g.gi), ProfileId(g.profile), g.start);
    });
    MIGCTL_RETURN_IF_ERROR(WriteEphemeralRecord(leases.dir(), o));
  }
  return Ok();
}

/// Workers of `request`, from the GPUs as they are now.
Result<std::vector<Worker>> ChooseWorkers(const RunRequest& r, const std::vector<nvml::GpuSnapshot>& gpus,
                                          RunEvents& events) {
  if (r.workers.share != ShareMode::kMig) return SelectSharedWorkers(gpus, r.workers, r.mps_memory_mib);
  std::vector<std::string> skipped;
  Result<std::vector<Worker>> chosen = SelectMigWorkers(gpus, r.workers, &skipped);
  if (!chosen.ok() && r.dry_run && r.create) chosen = std::vector<Worker>();  // they would be made
  for (const std::string& s : skipped) events.OnNote("skipping " + s);
  return chosen;
}

/// For MIG workers: the first process NVML lists on the worker's MIG device (work migctl did not start, or a
/// task's GPU context not yet torn down), which makes the slice busy however free its lease is.
std::function<std::optional<pid_t>(const Worker&)> DeviceUser(const RunRequest& r) {
  if (r.workers.share != ShareMode::kMig) return {};
  return [&devices = r.devices](const Worker& w) -> std::optional<pid_t> {
    for (const nvml::Device& d : devices) {
      if (d.index() != w.gpu) continue;
      Result<std::vector<nvml::MigDeviceInfo>> migs = d.MigDevices();
      if (!migs.ok()) return std::nullopt;  // NVML cannot say: the lease alone decides
      for (const nvml::MigDeviceInfo& m : *migs)
        if (m.uuid.value() == w.device && !m.processes.empty())
          return static_cast<pid_t>(m.processes.front().pid);
    }
    return std::nullopt;
  };
}

/// run --reshape's hook for the supervisor: re-cuts the idle slices of the selected GPUs for the waiting
/// tasks (leasing them meanwhile; a slice with a live task is busy), and returns every MIG device after.
std::function<Result<std::optional<std::vector<Worker>>>(const std::vector<TaskNeeds>&)> Reshaper(
    const RunRequest& r, LeaseTable& leases, RunOutcome& out, RunEvents& events) {
  auto said = std::make_shared<std::set<std::string>>();  // each reason for leaving tasks waiting, once
  return [&r, &leases, &out, &events, said](const std::vector<TaskNeeds>& waiting)
             -> Result<std::optional<std::vector<Worker>>> {
    const auto started = std::chrono::steady_clock::now();
    ReshapeRequest request;
    request.demand = DemandOf(waiting);
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Lease> held, LeaseIdleMigDevices(r.devices, leases, &request.leased));
    ReshapeReport report;
    ChangeRequest change;
    change.devices = r.devices;
    change.planner = ReshapePlanner(std::move(request), &report);
    change.command = "run --reshape";
    MIGCTL_ASSIGN_OR_RETURN(ChangeReport done, r.change_gpus(std::move(change), {}));
    held.clear();
    RunOutcome::Reshape record;
    record.waiting = static_cast<unsigned>(waiting.size());
    for (unsigned s : report.served) record.served += s;
    for (const ReshapeGpu& g : report.gpus) {
      record.destroyed += static_cast<unsigned>(g.destroyed.size());
      record.created += static_cast<unsigned>(g.created.size());
      if (g.destroyed.empty() && g.created.empty()) continue;
      auto names = [](const std::vector<ReshapeInstance>& v) {
        std::map<std::string, unsigned> n;
        for (const ReshapeInstance& i : v) ++n[i.profile];
        std::vector<std::string> parts;
        for (const auto& [profile, count] : n) parts.push_back(fmt::format("{} x {}", count, profile));
        return parts.empty() ? std::string("nothing") : fmt::format("{}", fmt::join(parts, ", "));
      };
      record.changes.push_back(
          fmt::format("GPU {}: {} -> {}", g.gpu.value(), names(g.destroyed), names(g.created)));
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    for (const planner::Unserved& u : report.unserved) {
      const bool never = u.reason.starts_with("too big") || u.reason.starts_with("none of");
      const std::string line =
          fmt::format("--reshape: {} task{} needing {} wait{}: {}", u.count, u.count == 1 ? "" : "s",
                      report.demand[u.workload].name, u.count == 1 ? "s" : "",
                      never ? u.reason : "no room beside the slices in use; again when a task ends");
      if (said->insert(line).second) events.OnNote(line);
    }
    if (record.destroyed + record.created == 0) return std::optional<std::vector<Worker>>();
    events.OnNote(fmt::format("reshaped for {} waiting task{} ({} served) in {:.2f} s: {}", record.waiting,
                              record.waiting == 1 ? "" : "s", record.served, record.seconds,
                              fmt::join(record.changes, "; ")));
    out.reshapes.push_back(std::move(record));
    // The GPUs as the conductor left them (its check after each change; what it found where none was made):
    // no third look.
    std::vector<nvml::GpuSnapshot> gpus;
    for (const GpuOutcome& g : done.gpus) gpus.push_back(g.change ? g.change->after : g.before.snapshot);
    std::vector<std::string> skipped;
    Result<std::vector<Worker>> workers = SelectMigWorkers(gpus, WorkerRequest{}, &skipped);
    return std::optional<std::vector<Worker>>(workers.ok() ? std::move(*workers) : std::vector<Worker>());
  };
}

/// Stamps the node on every attempt's result and journals it, then passes every event on.
class Journaling final : public RunEvents {
 public:
  Journaling(RunEvents& next, ResultLog* log, std::string node)
      : next_(next), log_(log), node_(std::move(node)) {}
  void OnStart(const Task& t, const Worker& w, unsigned attempt) override { next_.OnStart(t, w, attempt); }
  void OnResult(const TaskResult& attempt) override {
    TaskResult result = attempt;
    result.node = node_;
    if (log_ != nullptr && !error_) {
      Status written = log_->Append(result);
      if (!written.ok()) {
        error_ = written.error();
        next_.OnNote(fmt::format("cannot write the results journal, the run goes on: {}", error_->message));
      }
    }
    next_.OnResult(result);
  }
  void OnOutput(const Task& t, const Worker& w, std::string_view line) override { next_.OnOutput(t, w, line); }
  void OnWaiting(const Worker& w, std::optional<pid_t> holder) override { next_.OnWaiting(w, holder); }
  void OnStopping(const std::string& why) override { next_.OnStopping(why); }
  void OnLingering(const Task& t, const Worker& w, std::optional<pid_t> holder) override {
    next_.OnLingering(t, w, holder);
  }
  void OnNote(const std::string& line) override { next_.OnNote(line); }
  void OnBegin(const std::vector<Worker>& w, const std::vector<Task>& t) override { next_.OnBegin(w, t); }
  const std::optional<Error>& error() const { return error_; }

 private:
  RunEvents& next_;
  ResultLog* log_;
  std::string node_;
  std::optional<Error> error_;
};

/// The run's private MPS daemon: started for --share mps, quit at the end.
Result<std::optional<mps::ControlDaemon>> StartMps(const RunRequest& r, const std::vector<nvml::GpuSnapshot>& gpus,
                                                   std::vector<Worker>& workers, RunEvents& events) {
  std::map<unsigned, unsigned> per_gpu;
  for (const Worker& w : workers) ++per_gpu[w.gpu.value()];
  unsigned most = 0;
  for (const auto& [gpu, n] : per_gpu) most = std::max(most, n);
  std::optional<unsigned> threads;
  if (!r.mps_threads.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(unsigned t, mps::ParseThreadPercentage(r.mps_threads, most));
    threads = t;
  }
  for (const nvml::GpuSnapshot& s : gpus) {
    std::vector<mps::GpuProcess> processes;
    for (const nvml::ProcessInfo& p : s.processes) processes.push_back({p.pid, p.name});
    MIGCTL_RETURN_IF_ERROR(mps::CheckNoForeignServer(s.index, processes, {}));
  }
  const mps::DaemonDirs dirs = mps::DirsUnder(fmt::format("{}/run-{}", r.mps_root, ::getpid()));
  for (Worker& w : workers) w.env = mps::ClientEnvironment(dirs, mps::ClientLimits{threads, r.mps_memory_mib});
  if (r.dry_run) return std::optional<mps::ControlDaemon>();
  mps::DaemonOptions options;
  for (const nvml::GpuSnapshot& s : gpus) options.gpus.push_back(s.uuid);
  options.dirs = dirs;
  MIGCTL_ASSIGN_OR_RETURN(mps::ControlDaemon daemon, mps::ControlDaemon::Start(options));
  events.OnNote(fmt::format("MPS control daemon pid {}, pipe directory {}", daemon.pid(), dirs.pipe_dir));
  return std::optional<mps::ControlDaemon>(std::move(daemon));
}

/// Stops the MPS daemon; its directories go with it, or stay with its logs after a failed stop.
void StopMps(mps::ControlDaemon& daemon, RunOutcome& out) {
  Status stopped = daemon.Stop(std::chrono::seconds(30));
  if (!stopped.ok()) {
    out.cleanup_errors.push_back(
        fmt::format("MPS daemon: {} (its logs: {})", stopped.error().message, daemon.dirs().log_dir));
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(daemon.dirs().pipe_dir).parent_path(), ec);
}

}  // namespace

Result<TaskPlan> PlanTasks(const RunRequest& r, RunEvents& events) {
  TaskPlan plan;
  if (r.task_list) {
    if (r.task_list->empty()) return MakeError(ErrorCode::kInvalidInput, "no tasks to run");
    plan.tasks = *r.task_list;
    plan.total_tasks = static_cast<unsigned>(plan.tasks.size());
    return plan;
  }
  std::istringstream none;
  Result<std::vector<Task>> loaded = LoadTasks(r.tasks, r.task_input != nullptr ? *r.task_input : none);
  if (!loaded.ok()) {
    // The issue tracker's own example put --param after the command; say where it belongs.
    for (const std::string& word : r.tasks.command)
      if (word.starts_with("--param") || word == "--repeat" || word == "--tasks") {
        Error error = loaded.error();
        error.message += fmt::format(
            " ({} came after --, so it is part of the command: migctl's options go before --)", word);
        return error;
      }
    return loaded.error();
  }
  plan.total_tasks = static_cast<unsigned>(loaded->size());
  if (r.resume.empty()) {
    plan.tasks = std::move(*loaded);
    return plan;
  }
  MIGCTL_ASSIGN_OR_RETURN(PriorResults prior, ReadResults(r.resume));
  MIGCTL_ASSIGN_OR_RETURN(plan.tasks, PendingTasks(*loaded, prior, r.resume));
  plan.succeeded_before = static_cast<unsigned>(loaded->size() - plan.tasks.size());
  events.OnNote(fmt::format("resuming {}: {} of {} tasks succeeded before; {} to run", r.resume,
                            plan.succeeded_before, loaded->size(), plan.tasks.size()));
  return plan;
}

Result<RunOutcome> Run(const RunRequest& request, RunEvents& events) {
  MIGCTL_RETURN_IF_ERROR(CheckRequest(request));
  RunOutcome out;
  // Tasks first: a bad task list changes nothing.
  MIGCTL_ASSIGN_OR_RETURN(TaskPlan tasks, PlanTasks(request, events));
  out.tasks = std::move(tasks.tasks);
  out.total_tasks = tasks.total_tasks;
  out.succeeded_before = tasks.succeeded_before;
  out.journal = !request.resume.empty() ? request.resume : request.results;

  // The lease directory is checked before anything starts or changes.
  LeaseTable leases(request.lease_dir);
  if (!request.dry_run) MIGCTL_RETURN_IF_ERROR(leases.Prepare());
  // From the first change on, Ctrl-C stops the run in order: what it created is removed even when the signal
  // comes while partitions are being created (the supervisor then runs no task), or while they are removed.
  StopSignals early_stop;
  MIGCTL_RETURN_IF_ERROR(early_stop.Install());
  // --ephemeral: what killed runs left goes first; what this run makes is recorded as it is made, so that
  // if this run is killed too, the next one removes it.
  const bool owns = request.ephemeral && !request.dry_run;
  if (owns)
    if (Status swept = SweepKilledRuns(request, leases, events); !swept.ok())
      events.OnNote("--ephemeral: could not remove what killed runs left: " + swept.error().message);
  const ProcStamp self{::getpid(), ProcessStartTime(::getpid())};
  std::vector<CreatedPartition> created;
  auto record = [&](const std::vector<CreatedPartition>& gis) {
    Result<EphemeralRecord> rec = RecordOf(request, self, gis);
    Status written = rec.ok() ? WriteEphemeralRecord(leases.dir(), *rec) : Status(rec.error());
    if (!written.ok())
      events.OnNote("--ephemeral: cannot record what this run made (were it killed, it would stay): " +
                    written.error().message);
  };
  Result<RunOutcome> result = [&]() -> Result<RunOutcome> {
    if (request.create)
      MIGCTL_RETURN_IF_ERROR(CreatePartitions(request, out, created, [&] {
        if (owns) record(created);
      }));
    for (const std::string& line : out.partitions) events.OnNote(line);
    MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GpuSnapshot> gpus, Observe(request.devices));
    if (request.reshape) {  // whatever MIG devices there are, none included: the first reshape makes some
      std::vector<std::string> skipped;
      Result<std::vector<Worker>> all = SelectMigWorkers(gpus, request.workers, &skipped);
      if (all.ok()) out.workers = std::move(*all);
      for (const std::string& s : skipped) events.OnNote("skipping " + s);
    } else {
      MIGCTL_ASSIGN_OR_RETURN(out.workers, ChooseWorkers(request, gpus, events));
    }
    if (!out.workers.empty() && !request.reshape) MIGCTL_RETURN_IF_ERROR(CheckTasksFit(out.tasks, out.workers));
    Result<std::optional<mps::ControlDaemon>> mps = request.workers.share == ShareMode::kMps
                                                        ? StartMps(request, gpus, out.workers, events)
                                                        : std::optional<mps::ControlDaemon>();
    if (!mps.ok()) return mps.error();
    std::optional<mps::ControlDaemon>& daemon = *mps;
    if (request.dry_run) return std::move(out);

    std::optional<ResultLog> log;
    if (!out.journal.empty()) {
      Result<ResultLog> opened = ResultLog::Open(out.journal);
      if (!opened.ok()) {
        if (daemon) StopMps(*daemon, out);
        return opened.error();
      }
      log.emplace(std::move(*opened));
    }
    if (!request.supervisor.logs_dir.empty()) {
      Status made = MakeDirectories(request.supervisor.logs_dir);
      if (!made.ok()) {
        if (daemon) StopMps(*daemon, out);
        return made.error();
      }
    }
    // Each worker's task tree in a cgroup of its own where the host allows, else by the keeper alone.
    // With --reshape, room for the workers that reshapes add (at most 8 MIG devices a GPU at a time).
    const size_t most = request.reshape ? std::max(out.workers.size() * 2, request.devices.size() * 16)
                                        : out.workers.size();
    TaskCgroups cgroups = TaskCgroups::Create(static_cast<unsigned>(most));
    out.tracking = cgroups.Describe();
    SupervisorOptions options = request.supervisor;
    options.keepers = true;
    for (unsigned i = 0; i < most; ++i) options.cgroups.push_back(cgroups.Dir(i));
    options.device_user = DeviceUser(request);
    if (request.reshape) options.reshape = Reshaper(request, leases, out, events);

    Journaling journaling(events, log ? &*log : nullptr, request.node);
    events.OnBegin(out.workers, out.tasks);
    const auto started = std::chrono::steady_clock::now();
    Result<RunSummary> summary = RunTasks(out.workers, out.tasks, leases, options, journaling);
    out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out.journal_error = journaling.error();
    if (daemon) StopMps(*daemon, out);
    if (!summary.ok()) return summary.error();
    out.summary = *summary;
    return std::move(out);
  }();
  // Whatever happened, what --ephemeral owns goes away (unless another run uses it).
  if (request.ephemeral && !created.empty()) {
    Result<unsigned> removed = RemoveCreated(request, leases, created, events);
    // What stays (another run's task uses it) stays recorded: a later run --ephemeral removes it once idle.
    if (Result<std::vector<nvml::GpuSnapshot>> now = Observe(request.devices); now.ok() && owns) {
      std::vector<CreatedPartition> left;
      for (const CreatedPartition& c : created)
        if (StillThere((*now)[c.gpu], c.gi, c.profile, c.start)) left.push_back(c);
      record(left);
    }
    std::string line = removed.ok() ? fmt::format("--ephemeral: removed the {} GPU instance{} this run created",
                                                  *removed, *removed == 1 ? "" : "s")
                                    : "--ephemeral: could not remove what this run created: " +
                                          removed.error().message;
    if (!result.ok()) {
      if (removed.ok()) {
        events.OnNote(line);
        return result;
      }
      Error error = result.error();
      error.message += "; " + line;
      return error;
    }
    if (removed.ok())
      events.OnNote(line);
    else
      result->cleanup_errors.push_back(line);
  }
  return result;
}

}  // namespace migctl
