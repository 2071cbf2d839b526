// `migctl run`: workers pinned to MIG devices (or sharing whole GPUs, time-sliced or through MPS), fed tasks
// from the command line, a file or stdin; results streamed as they finish and journalled for --resume.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/apply_runner.h"
#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/run_report.h"
#include "common/file_io.h"
#include "common/memory_size.h"
#include "launch/lease.h"
#include "launch/result_log.h"
#include "launch/supervisor.h"
#include "launch/task_source.h"
#include "launch/worker.h"
#include "mps/client_limits.h"
#include "mps/control_daemon.h"
#include "mps/daemon_dirs.h"
#include "mps/foreign_server.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"
#include "reconcile/run_partitions.h"

extern char** environ;

namespace migctl {
namespace {

struct RunArgs {
  // Workers.
  std::string gpus;
  std::string profile;
  std::string memory;
  unsigned workers = 0;
  bool create = false;
  bool ephemeral = false;
  std::string share;
  std::string mps_threads;
  std::string mps_memory;
  // Tasks.
  std::vector<std::string> command;
  unsigned repeat = 1;
  std::vector<std::string> params;
  std::string tasks_file;
  bool shell = false;
  std::string per_task_memory;
  // Results and control.
  std::string results;
  std::string resume;
  bool ordered = false;
  std::string logs;
  unsigned retries = 0;
  double timeout_s = 0;
  double grace_s = 10;
  bool fail_fast = false;
  bool dry_run = false;
  double lock_timeout_s = 300;
};

Result<std::optional<unsigned long long>> OptionalMemory(const std::string& text, const char* flag) {
  if (text.empty()) return std::optional<unsigned long long>();
  Result<unsigned long long> mib = ParseMemoryMib(text);
  if (!mib.ok()) return mib.error().WithContext(fmt::format("{}: ", flag));
  return std::optional<unsigned long long>(*mib);
}

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

/// What `--create` made, so that --ephemeral can take exactly that away again at the end.
struct Partitions {
  std::vector<CreatedPartition> created;
  std::string summary;
};

/// Creates the MIG devices --create needs, through the conductor. `partitions.created` gets every GI made,
/// even when a later GPU fails, so that --ephemeral can remove them.
Status CreatePartitions(Context& ctx, const RunArgs& args, const std::vector<nvml::Device>& devices,
                        const std::vector<bool>& reset, Partitions& partitions) {
  PartitionPlan plan;
  ChangeRequest request;
  request.devices = devices;
  request.reset_supported = reset;
  request.planner = RunPartitionsPlanner(args.profile, args.workers, reset, &plan);
  request.dry_run = args.dry_run;
  request.command = "run --create";
  ChangeCallbacks callbacks;
  callbacks.changed = [&partitions](std::size_t k, const GpuOutcome& outcome) {
    std::vector<CreatedPartition> made = CreatedBy(k, outcome);
    partitions.created.insert(partitions.created.end(), made.begin(), made.end());
  };
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report,
                          ctx.ChangeGpus(std::move(request), callbacks, args.lock_timeout_s));
  for (const PartitionAddition& a : plan.additions)
    partitions.summary +=
        args.dry_run ? fmt::format("GPU {}: would create {} x {}\n", devices[a.gpu].index().value(), a.count,
                                   args.profile)
                     : fmt::format("migctl: GPU {}: created {} x {}{}\n", devices[a.gpu].index().value(),
                                   a.count, args.profile, a.plan.ChangesMode() ? " (MIG mode enabled)" : "");
  return Ok();
}

/// Removes what --create made, through the conductor.
Result<unsigned> RemovePartitions(Context& ctx, const RunArgs& args, const std::vector<nvml::Device>& devices,
                                  const std::vector<CreatedPartition>& created) {
  ChangeRequest request;
  request.devices = devices;
  request.planner = RemovePartitionsPlanner(created);
  request.command = "run --ephemeral";
  MIGCTL_ASSIGN_OR_RETURN(ChangeReport report, ctx.ChangeGpus(std::move(request), {}, args.lock_timeout_s));
  unsigned removed = 0;
  for (const GpuOutcome& g : report.gpus)
    for (const PlannedOp& op : g.plan.steps.ops) removed += op.kind == PlannedOp::Kind::kDestroyGi;
  return removed;
}

Result<std::vector<nvml::GpuSnapshot>> Observe(const std::vector<nvml::Device>& devices) {
  std::vector<nvml::GpuSnapshot> out;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot s, nvml::ObserveGpu(d));
    out.push_back(std::move(s));
  }
  return out;
}

/// migctl's own environment, which every child starts from.
std::vector<std::string> OwnEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

Status CheckArgs(const RunArgs& args, ShareMode share) {
  auto bad = [](std::string message) { return MakeError(ErrorCode::kInvalidInput, std::move(message)); };
  if (args.create && share != ShareMode::kMig)
    return bad("--create makes MIG devices; it does not go with --share");
  if (args.create && (args.profile.empty() || args.workers == 0))
    return bad(
        "--create needs --profile and --workers: which MIG devices, and how many (e.g. --profile 3g.40gb "
        "--workers 2 --create)");
  if (args.ephemeral && !args.create) return bad("--ephemeral removes what --create made; add --create");
  if (share != ShareMode::kMps && (!args.mps_threads.empty() || !args.mps_memory.empty()))
    return bad("--mps-threads and --mps-memory need --share mps");
  if (share != ShareMode::kMig && !args.profile.empty())
    return bad("--profile selects MIG devices; --share uses whole GPUs (use --memory for a size)");
  if (!args.results.empty() && !args.resume.empty() && args.results != args.resume)
    return bad("--resume FILE also appends to FILE; leave out --results or give it the same file");
  if (args.repeat == 0) return bad("--repeat must be at least 1");
  return Ok();
}

Result<ShareMode> ParseShare(const std::string& text) {
  if (text.empty()) return ShareMode::kMig;
  if (text == "none") return ShareMode::kNone;
  if (text == "mps") return ShareMode::kMps;
  return MakeError(
      ErrorCode::kInvalidInput,
      fmt::format("--share {}: use 'none' (time-slicing) or 'mps'; leave it out for MIG devices", text));
}

Json WorkerJson(const Worker& w) {
  return {{"worker", w.index},
          {"device", w.device},
          {"gpu", w.gpu.value()},
          {"profile", w.profile},
          {"memory_mib", w.memory_mib}};
}

Result<int> RunRun(Context& ctx, const RunArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(ShareMode share, ParseShare(args.share));
  MIGCTL_RETURN_IF_ERROR(CheckArgs(args, share));
  MIGCTL_ASSIGN_OR_RETURN(std::optional<unsigned long long> memory, OptionalMemory(args.memory, "--memory"));
  MIGCTL_ASSIGN_OR_RETURN(std::optional<unsigned long long> mps_memory,
                          OptionalMemory(args.mps_memory, "--mps-memory"));

  // Tasks first: a bad task list changes nothing.
  TaskSourceOptions source;
  source.command = args.command;
  source.repeat = args.repeat;
  source.params = args.params;
  source.tasks_file = args.tasks_file;
  source.shell = args.shell;
  MIGCTL_ASSIGN_OR_RETURN(source.needs.memory_mib, OptionalMemory(args.per_task_memory, "--per-task-memory"));
  Result<std::vector<Task>> loaded = LoadTasks(source, std::cin);
  if (!loaded.ok()) {
    // The issue tracker's own example put --param after the command; say where it belongs.
    for (const std::string& word : args.command)
      if (word.starts_with("--param") || word == "--repeat" || word == "--tasks") {
        Error error = loaded.error();
        error.message += fmt::format(
            " ({} came after --, so it is part of the command: migctl's options go "
            "before --)",
            word);
        return error;
      }
    return loaded.error();
  }
  std::vector<Task> all_tasks = std::move(*loaded);
  const std::string journal_path = !args.resume.empty() ? args.resume : args.results;
  std::vector<Task> tasks = all_tasks;
  unsigned already = 0;
  if (!args.resume.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(PriorResults prior, ReadResults(args.resume));
    MIGCTL_ASSIGN_OR_RETURN(tasks, PendingTasks(all_tasks, prior, args.resume));
    already = static_cast<unsigned>(all_tasks.size() - tasks.size());
    PrintNote(fmt::format("resuming {}: {} of {} tasks succeeded before; {} to run", args.resume, already,
                          all_tasks.size(), tasks.size()));
  }

  // Workers. The lease directory is checked before anything starts or changes.
  LeaseTable leases(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
  if (!args.dry_run) MIGCTL_RETURN_IF_ERROR(leases.Prepare());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  Partitions partitions;
  // Whatever happens from here, what --ephemeral owns goes away at the end.
  struct Cleanup {
    const RunArgs& args;
    Context& ctx;
    const std::vector<nvml::Device>& devices;
    Partitions& partitions;
    ~Cleanup() {
      if (!args.ephemeral || partitions.created.empty()) return;
      Result<unsigned> removed = RemovePartitions(ctx, args, devices, partitions.created);
      if (removed.ok())
        std::fprintf(stderr, "migctl: --ephemeral: removed the %u GPU instance%s this run created\n",
                     *removed, *removed == 1 ? "" : "s");
      else
        PrintNote("--ephemeral: could not remove what this run created: " + removed.error().message);
    }
  } cleanup{args, ctx, devices, partitions};
  if (args.create) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<bool> reset, ResetSupport(ctx, devices));
    MIGCTL_RETURN_IF_ERROR(CreatePartitions(ctx, args, devices, reset, partitions));
    std::fputs(partitions.summary.c_str(), stderr);
  }

  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GpuSnapshot> snapshots, Observe(devices));
  WorkerRequest request;
  request.share = share;
  if (!args.profile.empty()) request.profile = args.profile;
  request.memory_mib = memory;
  if (args.workers > 0) request.workers = args.workers;
  std::vector<std::string> skipped;
  std::vector<Worker> workers;
  if (share == ShareMode::kMig) {
    Result<std::vector<Worker>> chosen = SelectMigWorkers(snapshots, request, &skipped);
    if (!chosen.ok() && args.dry_run && args.create) chosen = std::vector<Worker>();
    if (!chosen.ok()) return chosen.error();
    workers = std::move(*chosen);
  } else {
    MIGCTL_ASSIGN_OR_RETURN(workers, SelectSharedWorkers(snapshots, request, mps_memory));
  }
  for (const std::string& s : skipped) PrintNote("skipping " + s);
  if (!workers.empty()) MIGCTL_RETURN_IF_ERROR(CheckTasksFit(tasks, workers));

  // MPS: a private daemon for this run, quit when it ends.
  std::optional<mps::ControlDaemon> daemon;
  if (share == ShareMode::kMps) {
    std::map<unsigned, unsigned> per_gpu;
    for (const Worker& w : workers) ++per_gpu[w.gpu.value()];
    unsigned most = 0;
    for (const auto& [gpu, n] : per_gpu) most = std::max(most, n);
    std::optional<unsigned> threads;
    if (!args.mps_threads.empty()) {
      MIGCTL_ASSIGN_OR_RETURN(unsigned t, mps::ParseThreadPercentage(args.mps_threads, most));
      threads = t;
    }
    for (const nvml::GpuSnapshot& s : snapshots) {
      std::vector<mps::GpuProcess> processes;
      for (const nvml::ProcessInfo& p : s.processes) processes.push_back({p.pid, p.name});
      MIGCTL_RETURN_IF_ERROR(mps::CheckNoForeignServer(s.index, processes, {}));
    }
    const mps::ClientLimits limits{threads, mps_memory};
    // Private to this run: beside a simulated machine, else in the user's MPS directory in /tmp.
    const std::string root = ctx.options.sim.empty() ? mps::DefaultRoot() : ctx.RunDir() + "/mps";
    const mps::DaemonDirs dirs = mps::DirsUnder(fmt::format("{}/run-{}", root, ::getpid()));
    if (!args.dry_run) {
      mps::DaemonOptions options;
      for (const nvml::GpuSnapshot& s : snapshots) options.gpus.push_back(s.uuid);
      options.dirs = dirs;
      MIGCTL_ASSIGN_OR_RETURN(mps::ControlDaemon started, mps::ControlDaemon::Start(options));
      daemon.emplace(std::move(started));
      PrintNote(fmt::format("MPS control daemon pid {}, pipe directory {}", daemon->pid(), dirs.pipe_dir));
    }
    for (Worker& w : workers) w.env = mps::ClientEnvironment(dirs, limits);
  }

  if (args.dry_run) {
    Json doc = {{"dry_run", true},
                {"share", ShareModeName(share)},
                {"workers", Json::array()},
                {"tasks", Json::array()}};
    std::string text = partitions.summary;
    for (const Worker& w : workers) {
      doc["workers"].push_back(WorkerJson(w));
      text += fmt::format("worker {}: {} {} on GPU {} ({})\n", w.index, w.profile, w.device, w.gpu.value(),
                          FormatMib(w.memory_mib));
    }
    for (const Task& t : tasks) {
      doc["tasks"].push_back(
          {{"task", t.id}, {"command", t.command}, {"argv", t.argv}, {"params", t.params}});
      text += fmt::format("task {}: {}\n", t.id, t.command);
    }
    text += fmt::format("{} task{} on {} worker{}; nothing started (--dry-run)\n", tasks.size(),
                        tasks.size() == 1 ? "" : "s", workers.size(), workers.size() == 1 ? "" : "s");
    return ctx.Finish(doc, text);
  }

  std::optional<ResultLog> result_log;
  if (!journal_path.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(ResultLog opened, ResultLog::Open(journal_path));
    result_log.emplace(std::move(opened));
  }
  if (!args.logs.empty()) MIGCTL_RETURN_IF_ERROR(MakeDirectories(args.logs));

  SupervisorOptions options;
  options.retries = args.retries;
  options.timeout = Millis(args.timeout_s);
  options.grace = Millis(args.grace_s);
  options.fail_fast = args.fail_fast;
  options.logs_dir = args.logs;
  options.env = OwnEnvironment();

  RunReportOptions report_options{ctx.options.json, args.ordered, !ctx.options.json && ::isatty(2) != 0,
                                  static_cast<unsigned>(tasks.size())};
  RunReport report(report_options, result_log ? &*result_log : nullptr);
  std::vector<unsigned> order;
  for (const Task& t : tasks) order.push_back(t.id);
  report.SetOrder(std::move(order));
  std::fprintf(
      stderr, "migctl: %zu task%s on %zu worker%s (%s)\n", tasks.size(), tasks.size() == 1 ? "" : "s",
      workers.size(), workers.size() == 1 ? "" : "s",
      share == ShareMode::kMig ? "MIG devices" : fmt::format("--share {}", ShareModeName(share)).c_str());
  const auto started = std::chrono::steady_clock::now();
  Result<RunSummary> summary = RunTasks(workers, tasks, leases, options, report);
  report.Flush();
  if (daemon) {
    // Its directories go with it; after a failed stop they stay, with its logs, for a look.
    Status stopped = daemon->Stop(std::chrono::seconds(30));
    if (stopped.ok()) {
      std::error_code ec;
      std::filesystem::remove_all(std::filesystem::path(daemon->dirs().pipe_dir).parent_path(), ec);
    } else {
      PrintNote(fmt::format("MPS daemon: {} (its logs: {})", stopped.error().message, daemon->dirs().log_dir));
    }
  }
  if (!summary.ok()) return summary.error();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const bool all_ok = summary->failed == 0 && summary->not_run == 0 && !report.journal_error();
  Json doc = {{"summary",
               {{"tasks", tasks.size()},
                {"succeeded", summary->succeeded},
                {"failed", summary->failed},
                {"not_run", summary->not_run},
                {"succeeded_before", already},
                {"workers", workers.size()},
                {"wall_s", wall},
                {"stopped", summary->stopped.empty() ? Json(nullptr) : Json(summary->stopped)},
                {"results", journal_path.empty() ? Json(nullptr) : Json(journal_path)}}}};
  if (ctx.options.json) {
    std::fprintf(stdout, "%s\n", doc.dump().c_str());
  } else {
    std::fprintf(stderr, "migctl: %u succeeded, %u failed, %u not run in %.1f s%s%s\n", summary->succeeded,
                 summary->failed, summary->not_run, wall,
                 summary->stopped.empty() ? "" : fmt::format(" (stopped: {})", summary->stopped).c_str(),
                 all_ok || journal_path.empty()
                     ? ""
                     : fmt::format("; rerun the rest with --resume {}", journal_path).c_str());
  }
  if (summary->signal != 0) return 128 + summary->signal;
  return all_ok ? kExitOk : kExitFailed;
}

}  // namespace

void AddRunCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run tasks on workers pinned to MIG devices (or sharing whole GPUs), with results streamed.\n"
      "Usage: migctl run [OPTIONS] [-- COMMAND [ARGS...]]");
  cmd->footer(
      R"(Workers are devices. By default every idle MIG device of the selected GPUs is one worker; --profile
and --memory filter them, --workers takes the first N. --create makes the missing MIG devices first
(--ephemeral removes them again at the end). --share none|mps instead runs --workers slots on whole GPUs
(MIG off), time-sliced or through a private MPS daemon that the run starts and quits.

Each worker runs one task at a time as a child process (no shell unless --shell) with
CUDA_VISIBLE_DEVICES=<its MIG or GPU UUID>, MIGCTL_WORKER, MIGCTL_DEVICE, MIGCTL_GPU, MIGCTL_PROFILE,
MIGCTL_TASK_ID and MIGCTL_ATTEMPT (and the MPS client settings). A device is leased for exactly the life
of the child that uses it, so two runs on one host never share a slice.

Tasks: the command after --, once, --repeat N times, or once per combination of --param values ({name}
in the command is replaced, as one literal argument). Or --tasks FILE (or - for stdin): one command a
line, shell-like quoting, # comments; a line may start with @memory=SIZE or @profile=NAME to route it.

Results: one line per task on stdout as it finishes (--json: JSON lines, then a summary line): worker,
device, exit status or signal, start, duration, log, and the task's last stdout line when it is JSON.
--results FILE journals them; --resume FILE reruns only what has not succeeded. Task output goes to
stderr as [task N] lines, or to DIR/task-N.log with --logs DIR.

Exit status: 0 when every task succeeded, 1 otherwise, 2 for bad input (nothing started), 128+N when
stopped by signal N (Ctrl-C stops every task: SIGTERM, then SIGKILL after --grace).

Examples:
  migctl run --profile 3g.40gb --workers 2 --create -- python train.py --lr {lr} --param lr=1e-3,3e-4
  migctl run --tasks sweep.txt --results out.jsonl --logs logs/
  migctl run --resume out.jsonl --tasks sweep.txt
  migctl run --share mps --workers 7 --mps-threads auto --mps-memory 10G -- ./infer.sh
  seq 100 | sed 's/^/python eval.py --shard /' | migctl run --tasks - --json)");
  auto* workers = "Workers";
  cmd->add_option("-i,--gpus", args->gpus, "GPUs to use (indexes, ranges, UUIDs, PCI ids; default all)")
      ->group(workers);
  cmd->add_option("--profile", args->profile, "Only MIG devices of this GPU instance profile (3g.40gb)")
      ->group(workers);
  cmd->add_option("--memory", args->memory, "Only devices with at least this much memory (20G, 40GiB)")
      ->group(workers);
  cmd->add_option("--workers", args->workers, "How many workers (default: every match; one per GPU shared)")
      ->check(WholeNumber(1, 10000))
      ->group(workers);
  cmd->add_flag("--create", args->create,
                "Create the missing MIG devices of --profile (enables MIG where it can)")
      ->group(workers);
  cmd->add_flag("--ephemeral", args->ephemeral, "With --create: remove the instances it created at the end")
      ->group(workers);
  cmd->add_option("--share", args->share,
                  "Share whole GPUs instead of MIG devices: none (time-slicing) or mps")
      ->group(workers);
  cmd->add_option("--mps-threads", args->mps_threads,
                  "MPS active-thread percentage per worker: auto or 1-100")
      ->group(workers);
  cmd->add_option("--mps-memory", args->mps_memory, "MPS pinned device-memory limit per worker (10G)")
      ->group(workers);
  auto* tasks = "Tasks";
  cmd->add_option("--repeat", args->repeat, "Run each task N times")
      ->check(WholeNumber(1, kMaxTasks))
      ->group(tasks);
  cmd->add_option("--param", args->params, "name=v1,v2,...: one task per combination (repeatable)")
      ->group(tasks);
  cmd->add_option("--tasks", args->tasks_file, "Read tasks from FILE, one command a line (- for stdin)")
      ->group(tasks);
  cmd->add_flag("--shell", args->shell, "Run each task through /bin/sh -c (parameter values stay quoted)")
      ->group(tasks);
  cmd->add_option("--per-task-memory", args->per_task_memory,
                  "Send tasks only to devices with this much memory")
      ->group(tasks);
  auto* results = "Results and control";
  cmd->add_option("--results", args->results, "Append a JSON line per task attempt to FILE")->group(results);
  cmd->add_option("--resume", args->resume, "Skip the tasks FILE records as succeeded; append to FILE")
      ->group(results);
  cmd->add_flag("--ordered", args->ordered, "Print results in submission order")->group(results);
  cmd->add_option("--logs", args->logs, "Write each task's stdout and stderr to DIR/task-N.log")
      ->group(results);
  cmd->add_option("--retries", args->retries, "Run a failed task again, up to N more times")
      ->check(WholeNumber(0, 1000))
      ->group(results);
  cmd->add_option("--timeout", args->timeout_s, "Stop a task after SECONDS (SIGTERM, then SIGKILL)")
      ->check(Seconds(kMinTimeoutSeconds, kMaxSeconds))
      ->group(results);
  cmd->add_option("--grace", args->grace_s, "Seconds between SIGTERM and SIGKILL (default 10)")
      ->check(Seconds(0, kMaxSeconds))
      ->group(results);
  cmd->add_flag("--fail-fast", args->fail_fast, "Stop everything after the first task that fails")
      ->group(results);
  cmd->add_flag("--dry-run", args->dry_run, "Print the workers and tasks; start nothing")->group(results);
  cmd->add_option("--lock-timeout", args->lock_timeout_s, "With --create: seconds to wait for another migctl")
      ->check(Seconds(0, kMaxSeconds))
      ->group(results);
  cmd->callback([&ctx, args] {
    ctx.action = [&ctx, args] {
      args->command = ctx.trailing;
      return RunRun(ctx, *args);
    };
  });
}

}  // namespace migctl
