#include "slurm/sync.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/child_process.h"
#include "common/file_io.h"
#include "common/trusted_path.h"
#include "launch/command_line.h"

namespace migctl::slurm {
namespace {

using Clock = ProcessHost::Clock;
using std::chrono::milliseconds;

constexpr milliseconds kJobPoll{500};
constexpr milliseconds kRegisterPoll{200};

std::string Seconds(milliseconds d) { return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000); }

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

std::string JobList(const std::vector<std::string>& jobs) {
  return fmt::format("job{} {}", jobs.size() == 1 ? "" : "s", fmt::join(jobs, ", "));
}

Error JobsRunning(const std::string& node, const std::vector<std::string>& jobs) {
  return MakeError(
      ErrorCode::kBusy,
      fmt::format("{} runs {}: sync changes nothing while jobs run there; run it again with --wait to "
                  "drain {} and wait for them (no new job starts there meanwhile)",
                  node, JobList(jobs), node));
}

std::string GresConfPath(const std::string& slurm_conf) {
  return (std::filesystem::path(slurm_conf).parent_path() / "gres.conf").string();
}

Result<ConfFile> ReadConf(const std::string& path, bool required, std::string_view hint) {
  ConfFile file{path, std::nullopt, 0644};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && !required) return file;
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("cannot read {}: {}{}", path, std::strerror(errno), hint));
  }
  file.mode = st.st_mode & 07777;
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return MakeError(text.error().code, text.error().message + std::string(hint));
  file.text = std::move(text).value();
  return file;
}

Result<std::vector<std::string>> SplitRestart(const std::string& line, std::string_view flag) {
  Result<std::vector<std::string>> words = SplitCommandLine(line);
  if (!words.ok())
    return MakeError(ErrorCode::kInvalidInput, fmt::format("{}: {}", flag, words.error().message));
  if (words->empty()) {
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("{} is empty: give the command that restarts it, e.g. 'systemctl restart slurmd'", flag));
  }
  return words;
}

/// A restart command's program exists and, as root, only root can change it, what runs it, what it is given,
/// or a PATH directory searched before it (a program planted there would run instead).
Status CheckCommand(const std::vector<std::string>& argv, const std::string& what, bool only_root) {
  const std::string path = OwnPath();
  std::string program;
  if (only_root) {
    MIGCTL_ASSIGN_OR_RETURN(program, CheckRootCommand(argv[0], {argv.begin() + 1, argv.end()}, path, "", what));
  } else {
    program = FindProgram(argv[0], path).value_or("");
  }
  if (program.empty() || ::access(program.c_str(), X_OK) != 0) {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}: {} is not an executable program (PATH={})", what, argv[0], path));
  }
  return Ok();
}

Status CheckDeviceFiles(const std::string& node, const std::vector<GresDevice>& devices) {
  for (const GresDevice& d : devices) {
    for (const std::string& file : d.files) {
      struct stat st {};
      if (::stat(file.c_str(), &st) != 0) {
        return MakeError(
            ErrorCode::kNotFound,
            fmt::format("{}'s GPU {} ({} {}) needs {}, which cannot be read ({}): slurmd stops on a "
                        "missing File= (under the simulator, make stand-ins with `migctl sim devices "
                        "ROOT` and pass --root ROOT)",
                        node, d.index, d.type, d.uuid, file, std::strerror(errno)));
      }
      if (!S_ISCHR(st.st_mode)) {
        return MakeError(ErrorCode::kInvalidInput,
                         fmt::format("{} is not a character device: Slurm would give jobs on {}'s GPU {} no "
                                     "CUDA_VISIBLE_DEVICES",
                                     file, node, d.index));
      }
    }
  }
  return Ok();
}

/// What a restart command gets: what Slurm's commands get, and what ssh needs to reach the controller.
std::vector<std::string> RestartEnvironment(const std::string& slurm_conf) {
  std::vector<std::string> env = SlurmCommandEnvironment(slurm_conf);
  for (const char* name : {"USER", "LOGNAME", "SSH_AUTH_SOCK"})
    if (const char* value = std::getenv(name); value != nullptr)
      env.push_back(fmt::format("{}={}", name, value));
  return env;
}

/// Carries out one plan; the state it keeps is what a failure must undo.
class Executor {
 public:
  Executor(const SyncRequest& request, const SyncPlan& plan, SyncEnv& env)
      : request_(request), plan_(plan), env_(env) {
    report_.plan = plan;
  }

  Result<SyncReport> Run() {
    for (const SyncStep& step : plan_.steps) {
      const Clock::time_point begin = env_.host.Now();
      MIGCTL_RETURN_IF_ERROR(Do(step));
      report_.done.push_back({step.kind, step.what, SecondsBetween(begin, env_.host.Now())});
    }
    report_.seconds = SecondsBetween(env_.started, env_.host.Now());
    return std::move(report_);
  }

 private:
  Status Do(const SyncStep& step) {
    switch (step.kind) {
      case StepKind::kDrain:
        MIGCTL_RETURN_IF_ERROR(env_.slurm.Drain(plan_.node, kDrainReason));
        drained_here_ = true;
        return Ok();
      case StepKind::kWaitForJobs:
        return WaitForJobs();
      case StepKind::kWriteFile:
        return Write(plan_.edits.writes[step.write]);
      case StepKind::kReconfigure:
        acted_ = true;
        return Stuck(env_.slurm.Reconfigure());
      case StepKind::kRestartSlurmctld:
        acted_ = true;
        MIGCTL_RETURN_IF_ERROR(Stuck(Restart(step, "--restart-ctld")));
        return Stuck(WaitForController());
      case StepKind::kRestartSlurmd:
        acted_ = true;
        slurmd_restarted_at_ = env_.wall_clock();
        return Stuck(Restart(step, "--restart-slurmd"));
      case StepKind::kWaitForRegistration:
        return Stuck(WaitForRegistration());
      case StepKind::kResume:
        MIGCTL_RETURN_IF_ERROR(Stuck(env_.slurm.Resume(plan_.node)));
        report_.resumed = true;
        MIGCTL_RETURN_IF_ERROR(WaitUntilItTakesJobs());
        report_.seconds_to_jobs = SecondsBetween(env_.started, env_.host.Now());
        return Ok();
    }
    return Ok();
  }

  Status WaitForJobs() {
    const Clock::time_point begin = env_.host.Now();
    std::vector<std::string> last;
    for (;;) {
      Result<std::vector<std::string>> jobs = env_.slurm.ActiveJobs(plan_.node);
      if (!jobs.ok()) return Undo(std::move(jobs).error());
      if (jobs->empty()) return Ok();
      if (!request_.wait) return Undo(JobsRunning(plan_.node, *jobs));
      if (*jobs != last) {
        env_.notes.Note(fmt::format("waiting for {} on {} to end (drained: no new job starts there)",
                                    JobList(*jobs), plan_.node));
        for (const std::string& job : *jobs)
          if (std::find(report_.waited_for.begin(), report_.waited_for.end(), job) ==
              report_.waited_for.end())
            report_.waited_for.push_back(job);
        last = *jobs;
      }
      const Clock::time_point now = env_.host.Now();
      if (request_.wait_timeout.count() > 0 && now - begin >= request_.wait_timeout) {
        return Undo(
            MakeError(ErrorCode::kBusy,
                      fmt::format("{} still runs {} after --wait-timeout {}; run sync again when they "
                                  "have ended, or give them longer",
                                  plan_.node, JobList(*jobs), Seconds(request_.wait_timeout))));
      }
      Clock::time_point next = now + kJobPoll;
      if (request_.wait_timeout.count() > 0) next = std::min(next, begin + request_.wait_timeout);
      env_.host.SleepUntil(next);
    }
  }

  Status Write(const FileWrite& write) {
    Status status = WriteFileAtomically(write.path, write.text, write.mode);
    if (!status.ok()) return Undo(std::move(status).error());
    written_.push_back(&write);
    return Ok();
  }

  Status Restart(const SyncStep& step, std::string_view flag) {
    env_.notes.Note(step.what);
    ChildOptions options;
    options.argv = step.argv;
    options.env = RestartEnvironment(request_.slurm_conf);
    options.stdout_fd = STDERR_FILENO;  // stdout is for migctl's own report
    Result<ChildExit> exit = RunProcess(env_.host, options, request_.command_timeout, milliseconds(5000));
    const std::string line = JoinCommandLine(step.argv);
    if (!exit.ok())
      return MakeError(ErrorCode::kIo, fmt::format("{} `{}`: {}", flag, line, exit.error().message));
    if (!exit->success())
      return MakeError(ErrorCode::kIo, fmt::format("{} `{}` failed: {}", flag, line, exit->Describe()));
    return Ok();
  }

  /// Until the restarted slurmctld answers, so that the node's slurmd registers with it at once.
  Status WaitForController() {
    const Clock::time_point deadline = env_.host.Now() + request_.register_timeout;
    for (;;) {
      Result<NodeInfo> node = env_.slurm.Node(plan_.node);
      if (node.ok()) return Ok();
      if (env_.host.Now() >= deadline) {
        return MakeError(ErrorCode::kIo,
                         fmt::format("slurmctld did not answer within {} of its restart: {}",
                                     Seconds(request_.register_timeout), node.error().message));
      }
      env_.host.SleepUntil(std::min(deadline, env_.host.Now() + kRegisterPoll));
    }
  }

  /// Until slurmctld reports the node registered with the new GPU counts (by a slurmd started since its
  /// restart, when it was restarted).
  Status WaitForRegistration() {
    const std::string& want = plan_.edits.gres_after;
    env_.notes.Note(fmt::format("waiting for {} to register with Gres={}", plan_.node, want));
    const Clock::time_point deadline = env_.host.Now() + request_.register_timeout;
    for (;;) {
      Result<NodeInfo> node = env_.slurm.Node(plan_.node);
      if (node.ok() && GpuCounts(node->gres) == GpuCounts(want) && node->Registered() &&
          (!slurmd_restarted_at_ || (node->slurmd_start && *node->slurmd_start >= *slurmd_restarted_at_)))
        return Ok();
      if (env_.host.Now() >= deadline) {
        const std::string seen =
            node.ok() ? fmt::format("State={} Gres={}", node->state, node->gres) : node.error().message;
        return MakeError(ErrorCode::kIo,
                         fmt::format("{} did not register with Gres={} within {} (slurmctld reports {}): see "
                                     "slurmd's log on {}, or give it longer with --register-timeout",
                                     plan_.node, want, Seconds(request_.register_timeout), seen, plan_.node));
      }
      env_.host.SleepUntil(std::min(deadline, env_.host.Now() + kRegisterPoll));
    }
  }

  /// Until slurmctld would start a job there. Just after its restart it flags a resumed node NOT_RESPONDING
  /// until its first round of pings (about 4 s after it started), even when the node has registered.
  Status WaitUntilItTakesJobs() {
    const Clock::time_point deadline = env_.host.Now() + request_.register_timeout;
    for (;;) {
      Result<NodeInfo> node = env_.slurm.Node(plan_.node);
      if (node.ok() && node->Registered() && !node->Drained()) return Ok();
      if (env_.host.Now() >= deadline) {
        return MakeError(
            ErrorCode::kIo,
            fmt::format("{} is resumed, but after {} slurmctld still reports {}: see slurmd's log on {}",
                        plan_.node, Seconds(request_.register_timeout),
                        node.ok() ? "State=" + node->state : node.error().message, plan_.node));
      }
      env_.host.SleepUntil(std::min(deadline, env_.host.Now() + kRegisterPoll));
    }
  }

  /// A failure before Slurm was asked to act: the files back as they were, the node resumed if this call
  /// drained it.
  Error Undo(Error error) {
    std::string undone;
    for (auto it = written_.rbegin(); it != written_.rend(); ++it) {
      const FileWrite& w = **it;
      Status back = w.old_text
                        ? WriteFileAtomically(w.path, *w.old_text, w.mode)
                        : (::unlink(w.path.c_str()) == 0
                               ? Ok()
                               : Status(MakeError(ErrorCode::kIo, fmt::format("cannot remove {}: {}", w.path,
                                                                              std::strerror(errno)))));
      if (!back.ok()) undone += "; and " + back.error().message;
    }
    if (drained_here_) {
      Status resumed = env_.slurm.Resume(plan_.node);
      undone += resumed.ok()
                    ? fmt::format(" ({} resumed, files unchanged)", plan_.node)
                    : fmt::format("; and resuming {} failed: {}", plan_.node, resumed.error().message);
    }
    error.message += undone;
    return error;
  }

  /// A failure once Slurm was asked to act: the node stays drained with the new files.
  Status Stuck(Status status) {
    if (status.ok() || !acted_) return status;
    Error error = std::move(status).error();
    error.message += fmt::format(
        " ({} stays drained, with the new files; once that is fixed, run `migctl slurm "
        "sync` again to finish and resume it)",
        plan_.node);
    return error;
  }

  const SyncRequest& request_;
  const SyncPlan& plan_;
  SyncEnv& env_;
  SyncReport report_;
  bool drained_here_ = false;
  bool acted_ = false;
  std::vector<const FileWrite*> written_;
  std::optional<std::time_t> slurmd_restarted_at_;
};

}  // namespace

const char* SlurmActionName(SlurmAction action) {
  switch (action) {
    case SlurmAction::kNone:
      return "none";
    case SlurmAction::kReconfigure:
      return "reconfigure";
    case SlurmAction::kRestart:
      return "restart";
  }
  return "none";
}

const char* StepName(StepKind kind) {
  switch (kind) {
    case StepKind::kDrain:
      return "drain";
    case StepKind::kWaitForJobs:
      return "wait_for_jobs";
    case StepKind::kWriteFile:
      return "write_file";
    case StepKind::kReconfigure:
      return "reconfigure";
    case StepKind::kRestartSlurmctld:
      return "restart_slurmctld";
    case StepKind::kRestartSlurmd:
      return "restart_slurmd";
    case StepKind::kWaitForRegistration:
      return "wait_for_registration";
    case StepKind::kResume:
      return "resume";
  }
  return "";
}

Result<SyncFiles> ReadSyncFiles(const SyncRequest& request) {
  SyncFiles files;
  MIGCTL_ASSIGN_OR_RETURN(files.slurm_conf,
                          ReadConf(request.slurm_conf, true, " (pass --slurm-conf PATH, or set SLURM_CONF)"));
  MIGCTL_ASSIGN_OR_RETURN(files.gres_conf, ReadConf(GresConfPath(request.slurm_conf), false, ""));
  if (!request.map_file.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(files.map, ReadConf(request.map_file, false, ""));
  }
  return files;
}

Result<FileEdits> PlanFileEdits(const SyncRequest& request, const SyncFiles& files) {
  const std::string& slurm_text = files.slurm_conf.text.value();
  const std::string& node = request.node;
  MIGCTL_ASSIGN_OR_RETURN(NodeLine line, FindNodeLine(slurm_text, node, files.slurm_conf.path));
  FileEdits edits;
  edits.gres_before = line.gres;
  edits.gres_after = NodeGresValue(request.devices);
  MIGCTL_ASSIGN_OR_RETURN(GresConfEdit gres,
                          ReplaceNodeGresLines(files.gres_conf.text.value_or(""), node,
                                               GresConfLines(node, request.devices), files.gres_conf.path));
  edits.change = ClassifyChange(line.gres, edits.gres_after, gres.old_lines, gres.new_lines);
  if (edits.change != GresChange::kInSync && gres.text != files.gres_conf.text) {
    edits.writes.push_back(
        {files.gres_conf.path, gres.text, files.gres_conf.text, files.gres_conf.mode,
         fmt::format("{}: {}'s {} GPU line{} -> {}", files.gres_conf.path, node, gres.old_lines.size(),
                     gres.old_lines.size() == 1 ? "" : "s", gres.new_lines.size())});
  }
  if (GpuCounts(line.gres) != GpuCounts(edits.gres_after)) {
    MIGCTL_ASSIGN_OR_RETURN(std::string text,
                            SetNodeGres(slurm_text, node, edits.gres_after, files.slurm_conf.path));
    edits.writes.push_back({files.slurm_conf.path, text, slurm_text, files.slurm_conf.mode,
                            fmt::format("{}: {}'s Gres={} -> {}", files.slurm_conf.path, node,
                                        line.gres.empty() ? "(none)" : line.gres, edits.gres_after)});
  }
  if (!request.map_file.empty()) {
    const std::string map = GresMapText(request.devices);
    if (map != files.map.text) {
      edits.writes.push_back(
          {request.map_file, map, files.map.text, files.map.mode,
           fmt::format("{}: the index -> UUID map of {} GPUs", request.map_file, request.devices.size())});
    }
  }
  return edits;
}

Result<SyncPlan> PlanSync(const SyncRequest& request, FileEdits edits, const NodeInfo& node,
                          const std::vector<std::string>& jobs) {
  SyncPlan plan;
  plan.node = request.node;
  plan.node_before = node;
  plan.gres_controller = node.gres;
  plan.jobs = jobs;
  plan.finishes_earlier = node.Drained() && node.reason.starts_with(kDrainReason);
  plan.drained_by_others = node.Drained() && !plan.finishes_earlier;
  if (edits.change == GresChange::kCountsChanged || GpuCounts(node.gres) != GpuCounts(edits.gres_after)) {
    plan.action = SlurmAction::kRestart;
  } else if (edits.change == GresChange::kSameCounts || plan.finishes_earlier) {
    plan.action = SlurmAction::kReconfigure;  // an earlier sync may have stopped before its reconfigure
  }
  std::vector<std::string> restart_ctld, restart_slurmd;
  if (plan.action == SlurmAction::kRestart) {
    if (request.restart_ctld.empty()) {
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format(
              "{}'s GPUs change from {} (slurmctld has {}) to {}, and Slurm 22.05 takes new GPU counts or "
              "types only when slurmctld restarts: say how with --restart-ctld, e.g. --restart-ctld 'ssh "
              "ctl systemctl restart slurmctld'",
              request.node, edits.gres_before.empty() ? "(none)" : edits.gres_before,
              node.gres.empty() ? "none" : node.gres, edits.gres_after));
    }
    MIGCTL_ASSIGN_OR_RETURN(restart_ctld, SplitRestart(request.restart_ctld, "--restart-ctld"));
    MIGCTL_ASSIGN_OR_RETURN(restart_slurmd, SplitRestart(request.restart_slurmd, "--restart-slurmd"));
  }
  const bool acts = plan.action != SlurmAction::kNone;
  if (acts && !jobs.empty() && !request.wait) return JobsRunning(request.node, jobs);

  auto step = [&plan](StepKind kind, std::string what, std::vector<std::string> argv = {}, size_t write = 0) {
    plan.steps.push_back({kind, std::move(what), std::move(argv), write});
  };
  const std::string& name = request.node;
  if (acts) {
    if (!node.Drained())
      step(StepKind::kDrain,
           fmt::format("drain {} (Reason=\"{}\"): no new job starts there", name, kDrainReason));
    step(StepKind::kWaitForJobs,
         request.wait ? fmt::format("wait until no job runs on {}{}", name,
                                    jobs.empty() ? "" : fmt::format(" (now: {})", JobList(jobs)))
                      : fmt::format("check that no job runs on {}", name));
  }
  for (size_t i = 0; i < edits.writes.size(); ++i)
    step(StepKind::kWriteFile, "write " + edits.writes[i].what, {}, i);
  if (plan.action == SlurmAction::kReconfigure) {
    step(StepKind::kReconfigure,
         "scontrol reconfigure: slurmd reads gres.conf again (same GPU counts per type: no "
         "restart)");
  } else if (plan.action == SlurmAction::kRestart) {
    step(StepKind::kRestartSlurmctld,
         fmt::format("restart slurmctld: {} (Slurm 22.05 takes new GPU counts only when it restarts)",
                     JoinCommandLine(restart_ctld)),
         restart_ctld);
    step(StepKind::kRestartSlurmd,
         fmt::format("restart {}'s slurmd: {}", name, JoinCommandLine(restart_slurmd)), restart_slurmd);
  }
  if (acts) {
    step(StepKind::kWaitForRegistration,
         fmt::format("wait until slurmctld reports {} registered with Gres={} (at most {})", name,
                     edits.gres_after, Seconds(request.register_timeout)));
    if (!plan.drained_by_others)
      step(StepKind::kResume, fmt::format("resume {}, until slurmctld would start jobs there", name));
  }
  plan.edits = std::move(edits);
  return plan;
}

Status CheckBeforeChanging(const SyncRequest& request, const SyncPlan& plan) {
  for (const FileWrite& write : plan.edits.writes) {
    struct stat st {};
    if (::lstat(write.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("{} is a symbolic link: migctl replaces files whole and never writes through a "
                      "link; name the file itself (--slurm-conf, --map)",
                      write.path));
    }
    if (request.only_root_files)
      MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(write.path, "a file sync writes"));
  }
  if (plan.action == SlurmAction::kNone) return Ok();
  MIGCTL_RETURN_IF_ERROR(CheckDeviceFiles(plan.node, request.devices));
  for (const SyncStep& step : plan.steps) {
    if (step.kind == StepKind::kRestartSlurmctld)
      MIGCTL_RETURN_IF_ERROR(CheckCommand(step.argv, "--restart-ctld", request.only_root_files));
    if (step.kind == StepKind::kRestartSlurmd)
      MIGCTL_RETURN_IF_ERROR(CheckCommand(step.argv, "--restart-slurmd", request.only_root_files));
  }
  return Ok();
}

Result<SyncReport> ExecuteSync(const SyncRequest& request, const SyncPlan& plan, SyncEnv& env) {
  return Executor(request, plan, env).Run();
}

Result<SyncReport> Sync(const SyncRequest& request, bool dry_run, SyncEnv& env) {
  MIGCTL_ASSIGN_OR_RETURN(SyncFiles files, ReadSyncFiles(request));
  MIGCTL_ASSIGN_OR_RETURN(FileEdits edits, PlanFileEdits(request, files));
  MIGCTL_ASSIGN_OR_RETURN(NodeInfo node, env.slurm.Node(request.node));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<std::string> jobs, env.slurm.ActiveJobs(request.node));
  MIGCTL_ASSIGN_OR_RETURN(SyncPlan plan, PlanSync(request, std::move(edits), node, jobs));
  MIGCTL_RETURN_IF_ERROR(CheckBeforeChanging(request, plan));
  if (dry_run) {
    SyncReport report;
    report.plan = std::move(plan);
    report.dry_run = true;
    report.seconds = SecondsBetween(env.started, env.host.Now());
    return report;
  }
  return ExecuteSync(request, plan, env);
}

}  // namespace migctl::slurm
