// `migctl run`: workers pinned to MIG devices (or sharing whole GPUs, time-sliced or through MPS), fed tasks
// from the command line, a file or stdin; results streamed as they finish and journalled for --resume.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/apply_runner.h"
#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "cli/run_report.h"
#include "common/memory_size.h"
#include "common/task_cgroup.h"
#include "launch/command_line.h"
#include "launch/lease.h"
#include "launch/run.h"
#include "mps/daemon_dirs.h"
#include "slurm/array_run.h"
#include "slurm/slurm_client.h"

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
  bool reshape = false;
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
  // Slurm.
  bool slurm = false;
  unsigned nodes = 0;
  std::string partition;
  std::string time_limit;
  std::string spool;
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

/// The run the arguments describe (devices and the GPU changer come from `ctx`).
Result<RunRequest> BuildRequest(Context& ctx, const RunArgs& args) {
  RunRequest r;
  MIGCTL_ASSIGN_OR_RETURN(r.workers.share, ParseShare(args.share));
  if (!args.profile.empty()) r.workers.profile = args.profile;
  MIGCTL_ASSIGN_OR_RETURN(r.workers.memory_mib, OptionalMemory(args.memory, "--memory"));
  if (args.workers > 0) r.workers.workers = args.workers;
  MIGCTL_ASSIGN_OR_RETURN(r.mps_memory_mib, OptionalMemory(args.mps_memory, "--mps-memory"));
  r.mps_threads = args.mps_threads;
  r.create = args.create;
  r.ephemeral = args.ephemeral;
  r.reshape = args.reshape;
  r.tasks.command = args.command;
  r.tasks.repeat = args.repeat;
  r.tasks.params = args.params;
  r.tasks.tasks_file = args.tasks_file;
  r.tasks.shell = args.shell;
  MIGCTL_ASSIGN_OR_RETURN(r.tasks.needs.memory_mib, OptionalMemory(args.per_task_memory, "--per-task-memory"));
  r.task_input = &std::cin;
  r.resume = args.resume;
  r.results = args.results;
  r.dry_run = args.dry_run;
  r.supervisor.retries = args.retries;
  r.supervisor.timeout = Millis(args.timeout_s);
  r.supervisor.grace = Millis(args.grace_s);
  r.supervisor.fail_fast = args.fail_fast;
  r.supervisor.logs_dir = args.logs;
  r.lease_dir = DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir());
  // Private to this run: beside a simulated machine, else in the user's MPS directory.
  r.mps_root = ctx.options.sim.empty() ? mps::DefaultRoot() : ctx.RunDir() + "/mps";
  MIGCTL_ASSIGN_OR_RETURN(r.devices, ctx.SelectDevices(args.gpus));
  r.supervisor.env = OwnEnvironment();  // after NVML is open: a simulated machine's MIGSIM_STATE is set then
  if (args.create) {
    MIGCTL_ASSIGN_OR_RETURN(r.reset_supported, ResetSupport(ctx, r.devices));
  }
  const double lock_timeout_s = args.lock_timeout_s;
  r.change_gpus = [&ctx, lock_timeout_s](ChangeRequest change, ChangeCallbacks callbacks) {
    return ctx.ChangeGpus(std::move(change), std::move(callbacks), lock_timeout_s);
  };
  return r;
}

int PrintDryRun(Context& ctx, const RunRequest& request, const RunOutcome& out) {
  Json doc = {{"dry_run", true},
              {"share", ShareModeName(request.workers.share)},
              {"workers", Json::array()},
              {"tasks", Json::array()}};
  std::string text;
  for (const std::string& line : out.partitions) text += line + "\n";
  for (const Worker& w : out.workers) {
    doc["workers"].push_back(WorkerJson(w));
    text += fmt::format("worker {}: {} {} on GPU {} ({})\n", w.index, w.profile, w.device, w.gpu.value(),
                        FormatMib(w.memory_mib));
  }
  for (const Task& t : out.tasks) {
    doc["tasks"].push_back({{"task", t.id}, {"command", t.command}, {"argv", t.argv}, {"params", t.params}});
    text += fmt::format("task {}: {}\n", t.id, t.command);
  }
  text += fmt::format("{} task{} on {} worker{}; nothing started (--dry-run)\n", out.tasks.size(),
                      out.tasks.size() == 1 ? "" : "s", out.workers.size(), out.workers.size() == 1 ? "" : "s");
  return ctx.Finish(doc, text);
}

/// The summary (a JSON line under --json, else one line on stderr) and the exit status, for local and Slurm
/// runs alike. `extra` goes into the JSON summary.
int FinishRun(Context& ctx, const RunOutcome& out, const Json& extra) {
  for (const std::string& e : out.cleanup_errors) PrintNote(e);
  const RunSummary& summary = out.summary;
  Json doc = {{"summary",
               {{"tasks", out.tasks.size()},
                {"succeeded", summary.succeeded},
                {"failed", summary.failed},
                {"not_run", summary.not_run},
                {"succeeded_before", out.succeeded_before},
                {"workers", std::max<size_t>(summary.workers, out.workers.size())},
                {"wall_s", out.wall_s},
                {"stopped", summary.stopped.empty() ? Json(nullptr) : Json(summary.stopped)},
                {"results", out.journal.empty() ? Json(nullptr) : Json(out.journal)},
                {"cleanup_errors", out.cleanup_errors}}}};
  if (!out.reshapes.empty()) {
    Json reshapes = Json::array();
    for (const RunOutcome::Reshape& r : out.reshapes)
      reshapes.push_back({{"waiting", r.waiting},
                          {"served", r.served},
                          {"destroyed", r.destroyed},
                          {"created", r.created},
                          {"seconds", r.seconds},
                          {"changes", r.changes}});
    doc["summary"]["reshapes"] = reshapes;
  }
  for (const auto& [key, value] : extra.items()) doc["summary"][key] = value;
  if (ctx.options.json) {
    std::fprintf(stdout, "%s\n", doc.dump().c_str());
  } else {
    std::fprintf(stderr, "migctl: %u succeeded, %u failed, %u not run in %.1f s%s%s\n", summary.succeeded,
                 summary.failed, summary.not_run, out.wall_s,
                 summary.stopped.empty() ? "" : fmt::format(" (stopped: {})", summary.stopped).c_str(),
                 out.ok() || out.journal.empty()
                     ? ""
                     : fmt::format("; rerun the rest with --resume {}", out.journal).c_str());
  }
  if (summary.signal != 0) return 128 + summary.signal;
  return out.ok() ? kExitOk : kExitFailed;
}

Result<int> RunRun(Context& ctx, const RunArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(RunRequest request, BuildRequest(ctx, args));
  RunReport report({ctx.options.json, args.ordered, !ctx.options.json && ::isatty(2) != 0});
  Result<RunOutcome> outcome = Run(request, report);
  report.Flush();
  if (!outcome.ok()) return outcome.error();
  if (request.dry_run) return PrintDryRun(ctx, request, *outcome);
  return FinishRun(ctx, *outcome, Json::object());
}

// ---- run --slurm ----

/// Local device options make no sense with --slurm (Slurm allocates the devices), nor Slurm's without it.
Status CheckSlurmOptions(const RunArgs& a) {
  auto bad = [](std::string message) { return MakeError(ErrorCode::kInvalidInput, std::move(message)); };
  if (!a.slurm) {
    if (a.nodes > 0 || !a.partition.empty() || !a.time_limit.empty() || !a.spool.empty())
      return bad("--nodes, --partition, --time and --spool are for --slurm; add it, or leave them out");
    return Ok();
  }
  std::vector<std::string> local;
  if (!a.gpus.empty()) local.push_back("--gpus");
  if (a.workers > 0) local.push_back("--workers");
  if (a.create) local.push_back("--create");
  if (a.ephemeral) local.push_back("--ephemeral");
  if (a.reshape) local.push_back("--reshape");
  if (!a.share.empty()) local.push_back("--share");
  if (!a.mps_threads.empty()) local.push_back("--mps-threads");
  if (!a.mps_memory.empty()) local.push_back("--mps-memory");
  if (!local.empty())
    return bad(
        fmt::format("{} choose{} this host's devices; with --slurm, Slurm allocates one slice per task "
                    "(choose it with --profile or --memory, and where with --nodes and --partition)",
                    fmt::join(local, ", "), local.size() == 1 ? "s" : ""));
  return Ok();
}

Result<slurm::ArrayRunRequest> BuildArrayRequest(const RunArgs& args) {
  slurm::ArrayRunRequest r;
  r.tasks.command = args.command;
  r.tasks.repeat = args.repeat;
  r.tasks.params = args.params;
  r.tasks.tasks_file = args.tasks_file;
  r.tasks.shell = args.shell;
  MIGCTL_ASSIGN_OR_RETURN(r.tasks.needs.memory_mib,
                          OptionalMemory(args.per_task_memory, "--per-task-memory"));
  r.task_input = &std::cin;
  r.resume = args.resume;
  r.results = args.results;
  if (!args.profile.empty()) r.profile = args.profile;
  MIGCTL_ASSIGN_OR_RETURN(r.memory_mib, OptionalMemory(args.memory, "--memory"));
  if (args.nodes > 0) r.nodes = args.nodes;
  r.partition = args.partition;
  r.time_limit = args.time_limit;
  r.spool = args.spool;
  std::error_code ec;
  r.migctl = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return MakeError(ErrorCode::kIo, "cannot find migctl's own path (/proc/self/exe): " + ec.message());
  r.workdir = std::filesystem::current_path(ec).string();
  if (ec) return MakeError(ErrorCode::kIo, "cannot read the working directory: " + ec.message());
  r.retries = args.retries;
  r.timeout = Millis(args.timeout_s);
  r.grace = Millis(args.grace_s);
  r.logs_dir = args.logs;
  r.fail_fast = args.fail_fast;
  r.env = OwnEnvironment();
  r.slurm = [](const std::vector<std::string>& argv, const std::vector<std::string>& env,
               std::chrono::milliseconds timeout) {
    return slurm::RunSlurmCommand(RealProcessHost(), argv, env, timeout);
  };
  return r;
}

/// A Slurm run as a local one prints it (result lines, notes: RunReport), with its own progress line on a
/// terminal: pending, running and done elements of the array.
class SlurmReport final : public slurm::ArrayRunEvents {
 public:
  explicit SlurmReport(const RunReportOptions& options)
      : report_({options.json, options.ordered, false}), progress_(options.progress) {}

  void OnSubmitted(const std::string& job_id, const slurm::ArrayPlan& plan) override {
    job_id_ = job_id;
    Clear();
    report_.OnNote(fmt::format(
        "submitted job {}: {} task{} as array {}, gpu:{}:1 each, on {}{}; spool {}", job_id,
        plan.tasks.size(), plan.tasks.size() == 1 ? "" : "s", slurm::FormatIndexRanges(plan.job.ids),
        plan.gres_type,
        plan.nodes.exclude.empty() ? "any node with it" : fmt::format("{}", fmt::join(plan.nodes.use, ",")),
        plan.job.partition.empty() ? "" : " of " + plan.job.partition, plan.spool));
    Draw();
  }
  void OnProgress(const slurm::ArrayProgress& progress) override {
    progress_now_ = progress;
    Draw();
  }
  void OnStart(const Task& t, const Worker& w, unsigned attempt) override { report_.OnStart(t, w, attempt); }
  void OnResult(const TaskResult& result) override {
    Clear();
    report_.OnResult(result);
    Draw();
  }
  void OnOutput(const Task& t, const Worker& w, std::string_view line) override {
    Clear();
    report_.OnOutput(t, w, line);
    Draw();
  }
  void OnWaiting(const Worker& w, std::optional<pid_t> holder) override {
    Clear();
    report_.OnWaiting(w, holder);
    Draw();
  }
  void OnStopping(const std::string& why) override {
    Clear();
    report_.OnNote(
        fmt::format("stopping: {}; cancelling the array (scancel {}): running tasks get SIGTERM, then "
                    "SIGKILL after the grace period",
                    why, job_id_));
    Draw();
  }
  void OnNote(const std::string& line) override {
    Clear();
    report_.OnNote(line);
    Draw();
  }
  void OnBegin(const std::vector<Worker>& workers, const std::vector<Task>& tasks) override {
    Clear();
    report_.OnBegin(workers, tasks);
    Draw();
  }
  void Flush() {
    Clear();
    report_.Flush();
  }
  const std::string& job_id() const { return job_id_; }

 private:
  void Clear() {
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }
  void Draw() {
    if (!progress_ || progress_now_.total == 0) return;
    std::fprintf(stderr, "\r\033[Kpending %u, running %u, done %u/%u", progress_now_.pending,
                 progress_now_.running, progress_now_.done, progress_now_.total);
    std::fflush(stderr);
    shown_ = true;
  }

  RunReport report_;
  bool progress_;
  bool shown_ = false;
  slurm::ArrayProgress progress_now_;
  std::string job_id_;
};

int PrintSlurmDryRun(Context& ctx, const slurm::ArrayPlan& plan) {
  const std::vector<std::string> sbatch = slurm::SbatchArgv(plan.job);
  Json doc = {{"dry_run", true},
              {"slurm",
               {{"sbatch", plan.tasks.empty() ? Json(nullptr) : Json(sbatch)},
                {"gres_type", plan.gres_type},
                {"nodes", plan.nodes.use},
                {"exclude", plan.nodes.exclude},
                {"spool", plan.spool}}},
              {"tasks", Json::array()}};
  std::string text;
  if (!plan.tasks.empty()) {
    text += JoinCommandLine(sbatch) + "\n";
    text += fmt::format("gpu:{}:1 per element; nodes with it: {}{}; spool {}\n", plan.gres_type,
                        fmt::join(plan.nodes.use, ","),
                        plan.nodes.exclude.empty()
                            ? ""
                            : fmt::format(" (others excluded: {})", fmt::join(plan.nodes.exclude, ",")),
                        plan.spool);
  }
  for (const Task& t : plan.tasks) {
    doc["tasks"].push_back({{"task", t.id}, {"command", t.command}, {"argv", t.argv}, {"params", t.params}});
    text += fmt::format("task {}: {}\n", t.id, t.command);
  }
  text += fmt::format("{} task{} as one job array; nothing submitted (--dry-run)\n", plan.tasks.size(),
                      plan.tasks.size() == 1 ? "" : "s");
  return ctx.Finish(doc, text);
}

Result<int> RunSlurm(Context& ctx, const RunArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(slurm::ArrayRunRequest request, BuildArrayRequest(args));
  SlurmReport report({ctx.options.json, args.ordered, !ctx.options.json && ::isatty(2) != 0});
  Result<slurm::ArrayPlan> plan = slurm::PlanArrayRun(request, report);
  if (!plan.ok()) return plan.error();
  if (args.dry_run) return PrintSlurmDryRun(ctx, *plan);
  Result<RunOutcome> outcome = slurm::RunArray(request, *plan, report);
  report.Flush();
  if (!outcome.ok()) return outcome.error();
  return FinishRun(
      ctx, *outcome,
      {{"job", report.job_id().empty() ? Json(nullptr) : Json(report.job_id())}, {"spool", plan->spool}});
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
MIGCTL_TASK_ID and MIGCTL_ATTEMPT (and the MPS client settings). A task is its whole process tree: a
keeper process (a subreaper, in a cgroup of the task's own where the host allows) holds the device's
lease until the last process the task started has ended, even one that closed its descriptors, called
setsid or double-forked; so two runs on one host never share a slice, and stopping a task (timeout,
Ctrl-C, --fail-fast, migctl's own death) ends every process of it. Not seen: a process the task has
someone else start (a daemon asked over a socket, systemd-run).

Tasks: the command after --, once, --repeat N times, or once per combination of --param values ({name}
in the command is replaced, as one literal argument). Or --tasks FILE (or - for stdin): one command a
line, shell-like quoting, # comments; a line may start with @memory=SIZE or @profile=NAME to route it.

Results: one line per task on stdout as it finishes (--json: JSON lines, then a summary line): worker,
device, exit status or signal, start, duration, log, and the task's last stdout line when it is JSON.
--results FILE journals them; --resume FILE reruns only what has not succeeded. Task output goes to
stderr as [task N] lines, or to DIR/task-N.log with --logs DIR.

Reshaping: with --reshape, the workers are every MIG device of the selected GPUs, and when queued tasks
fit none of them (by their @profile= or @memory=, or --per-task-memory), the idle devices are re-cut for
them as `migctl reshape` does: a device with a live task is never destroyed or moved, each change goes
through the conductor, and the summary lists every reshape (what changed, how long, for how many tasks).
Tasks that no re-cut can serve while nothing runs are left not run, and the run says why.

Exit status: 0 when every task succeeded, 1 otherwise, 2 for bad input (nothing started), 128+N when
stopped by signal N (Ctrl-C stops every task: SIGTERM, then SIGKILL after --grace).

Slurm: --slurm submits the tasks as one job array instead, element N = task N, each asking for one
slice (--gres=gpu:<--profile>:1, or the smallest type that holds --memory) and running the task
through `migctl exec` on the slice Slurm allocated, under the same lease, keeper, timeout and retries.
An element runs on one node; tasks spread over the partition's nodes (--nodes N: only the N with the
most free slices of the type). Results arrive in the same lines and --results journal as a local
run's, as tasks finish; --resume submits only what did not succeed (a local run's journal too).
The spool (--spool; specs, results, logs/task-N.log, slurm/N.out) must be on a file system the
nodes share. Ctrl-C cancels the array (scancel) and collects what ran.

Examples:
  migctl run --profile 3g.40gb --workers 2 --create -- python train.py --lr {lr} --param lr=1e-3,3e-4
  migctl run --tasks sweep.txt --results out.jsonl --logs logs/
  migctl run --resume out.jsonl --tasks sweep.txt
  migctl run -i 0 --reshape --tasks mixed.txt     # lines start with @profile=3g.40gb or @memory=8G
  migctl run --share mps --workers 7 --mps-threads auto --mps-memory 10G -- ./infer.sh
  seq 100 | sed 's/^/python eval.py --shard /' | migctl run --tasks - --json
  migctl run --slurm --nodes 2 --profile 3g.40gb --param lr=1e-3,3e-4 -- python train.py {lr})");
  // Which mechanism tracks task trees is a fact of this host: said when help is shown, not probed otherwise.
  const std::string footer = cmd->get_footer();
  cmd->footer(std::string());  // CLI11 prints a footer callback's text before the footer string
  cmd->footer([footer] {
    std::string detail;
    const TreeTracking kind = ProbeTreeTracking(&detail);
    return footer + "\n\nTask trees on this host: " + DescribeTreeTracking(kind, detail) + ".";
  });
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
  cmd->add_flag("--reshape", args->reshape,
                "Re-cut idle MIG devices for tasks (@profile=/@memory=) that fit none; never a busy one")
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
  auto* slurm = "Slurm";
  cmd->add_flag("--slurm", args->slurm, "Submit the tasks as one Slurm job array (one slice per task)")
      ->group(slurm);
  cmd->add_option("--nodes", args->nodes, "Only on the N nodes with the most free slices of the type")
      ->check(WholeNumber(1, 100000))
      ->group(slurm);
  cmd->add_option("--partition", args->partition, "Slurm partition (default: the cluster's default)")
      ->group(slurm);
  cmd->add_option("--time", args->time_limit, "Time limit of each element, as sbatch --time (1:00:00)")
      ->group(slurm);
  cmd->add_option("--spool", args->spool,
                  "Directory on a file system the nodes share (default ./migctl-slurm-DATE-TIME-PID)")
      ->group(slurm);
  cmd->callback([&ctx, args] {
    ctx.action = [&ctx, args]() -> Result<int> {
      args->command = ctx.trailing;
      MIGCTL_RETURN_IF_ERROR(CheckSlurmOptions(*args));
      return args->slurm ? RunSlurm(ctx, *args) : RunRun(ctx, *args);
    };
  });
}

}  // namespace migctl
