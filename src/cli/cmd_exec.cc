// `migctl exec`: the in-step launcher. Inside a Slurm job step it maps the GPU indexes Slurm allocated
// (SLURM_STEP_GPUS, or SLURM_JOB_GPUS in a batch step) to MIG UUIDs through the live layout (cli/slurm_node.h)
// and runs the command with CUDA_VISIBLE_DEVICES=MIG-…, holding each device's lease for the command's whole
// process tree (a keeper, as `migctl run` does), so no other migctl task shares the slice meanwhile.
// `--array DIR` runs one element of `migctl run --slurm` (cli/array_element.h).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include "cli/array_element.h"
#include "cli/commands.h"
#include "cli/slurm_node.h"
#include "common/child_process.h"
#include "common/task_cgroup.h"
#include "launch/lease.h"

namespace migctl {
namespace {

struct ExecArgs {
  NodeGresOptions node;
  std::string map;
  std::string array;
  double grace_s = 10;
  bool dry_run = false;
};

int signal_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  const int saved = errno;
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] ssize_t n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

/// SIGINT, SIGTERM and SIGHUP (what srun and scancel send) are handed to the task's keeper, which stops its
/// whole tree.
Status CatchStopSignals() {
  if (::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    return MakeError(ErrorCode::kIo, fmt::format("pipe: {}", std::strerror(errno)));
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, nullptr);
  return Ok();
}

std::string Join(const std::vector<slurm::GresDevice>& devices, std::string slurm::GresDevice::*field) {
  std::string out;
  for (const slurm::GresDevice& d : devices) out += (out.empty() ? "" : ",") + d.*field;
  return out;
}

Result<int> RunExec(Context& ctx, const ExecArgs& args, const std::vector<std::string>& command) {
  if (!args.array.empty()) {
    if (!command.empty()) {
      return MakeError(ErrorCode::kInvalidInput, "exec --array runs the task the spool names: give no command after --");
    }
    return RunArrayElement(ctx, args.array, args.node);
  }
  if (command.empty() && !args.dry_run) {
    return MakeError(ErrorCode::kInvalidInput,
                     "exec needs a command after --, e.g. srun --gres=gpu:3g.40gb:1 migctl exec -- python train.py");
  }
  MIGCTL_ASSIGN_OR_RETURN(std::vector<slurm::GresDevice> devices, AllocatedDevices(ctx, args.node, args.map));
  const std::string visible = Join(devices, &slurm::GresDevice::uuid);
  if (args.dry_run) {
    Json doc = {{"cuda_visible_devices", visible}, {"devices", Json::array()}};
    std::string text;
    for (const slurm::GresDevice& d : devices) {
      doc["devices"].push_back({{"index", d.index}, {"uuid", d.uuid}, {"type", d.type}, {"gpu", d.gpu}});
      text += fmt::format("Slurm GPU {} ({}) -> {} on GPU {}\n", d.index, d.type, d.uuid, d.gpu);
    }
    return ctx.Finish(doc, text + "CUDA_VISIBLE_DEVICES=" + visible + "\n");
  }

  // Every device's lease, held by the task's keeper until the last process of the tree has ended.
  LeaseTable leases(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
  std::vector<Lease> held;
  for (const slurm::GresDevice& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(std::optional<Lease> lease, leases.TryAcquire(d.uuid));
    if (!lease) {
      const std::optional<pid_t> holder = leases.Holder(d.uuid);
      return MakeError(ErrorCode::kBusy,
                       fmt::format("Slurm allocated GPU {} ({}), but a migctl task{} still holds it on this node: "
                                   "something outside Slurm runs there; nothing started",
                                   d.index, d.uuid, holder ? fmt::format(" (pid {})", *holder) : ""));
    }
    held.push_back(std::move(*lease));
  }

  ChildOptions child;
  child.argv = command;
  for (std::string& entry : OwnEnvironment()) {
    if (entry.starts_with("CUDA_VISIBLE_DEVICES=") || entry.starts_with("MIGCTL_DEVICE=") ||
        entry.starts_with("MIGCTL_PROFILE=") || entry.starts_with("MIGCTL_GPU=")) {
      continue;
    }
    child.env.push_back(std::move(entry));
  }
  child.env.push_back("CUDA_VISIBLE_DEVICES=" + visible);
  child.env.push_back("MIGCTL_DEVICE=" + visible);
  child.env.push_back("MIGCTL_PROFILE=" + Join(devices, &slurm::GresDevice::profile));
  child.env.push_back("MIGCTL_GPU=" + std::to_string(devices.front().gpu));
  child.stdin_fd = STDIN_FILENO;
  child.stdout_fd = STDOUT_FILENO;
  child.stderr_fd = STDERR_FILENO;
  child.keeper.enabled = true;
  for (const Lease& l : held) child.keeper.hold_fds.push_back(l.fd());
  child.keeper.record_fd = held.front().fd();
  child.keeper.grace = std::chrono::milliseconds(static_cast<long long>(args.grace_s * 1000));
  TaskCgroups cgroups = TaskCgroups::Create(1);
  child.keeper.cgroup = cgroups.Dir(0);

  MIGCTL_RETURN_IF_ERROR(CatchStopSignals());
  MIGCTL_ASSIGN_OR_RETURN(Child task, Child::Start(child));
  for (Lease& l : held) l.Release();  // the keeper holds them now

  int stopped_by = 0;
  while (true) {
    if (std::optional<ChildExit> exit = task.Poll()) {
      if (exit->start_error) {
        return MakeError(ErrorCode::kNotFound, fmt::format("cannot start {}: {}", command.front(), *exit->start_error));
      }
      if (stopped_by != 0) return 128 + stopped_by;
      const std::optional<int> status = task.FirstProcessExit();
      if (status && WIFSIGNALED(*status)) return 128 + WTERMSIG(*status);
      if (status && WIFEXITED(*status)) return WEXITSTATUS(*status);
      return exit->signal != 0 ? 128 + exit->signal : exit->exit_status;
    }
    pollfd fd{signal_pipe[0], POLLIN, 0};
    if (::poll(&fd, 1, 20) > 0) {
      unsigned char byte = 0;
      while (::read(signal_pipe[0], &byte, 1) == 1) {
        if (stopped_by == 0) stopped_by = byte;
        task.Signal(SIGTERM);  // the keeper stops the tree: SIGTERM, SIGKILL after the grace
      }
    }
  }
}

}  // namespace

void AddExecCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ExecArgs>();
  CLI::App* cmd = app.add_subcommand(
      "exec",
      "Inside a Slurm job step: run a command pinned to the MIG device(s) Slurm allocated.\n"
      "Usage: migctl exec [OPTIONS] -- COMMAND [ARGS...]");
  cmd->footer(
      R"(Slurm hands a job step GPU indexes (SLURM_STEP_GPUS; in a batch script SLURM_JOB_GPUS): positions
in the node's gres.conf, as `migctl slurm gres` writes it. exec maps them to the MIG UUIDs behind them
by observing the live layout (the order is a pure function of it, so no file is needed on the node),
sets CUDA_VISIBLE_DEVICES=MIG-… (and MIGCTL_DEVICE, MIGCTL_PROFILE, MIGCTL_GPU) and runs the command
with stdin, stdout and stderr untouched. It never trusts CUDA_VISIBLE_DEVICES, which Slurm renumbers
from 0 when it confines devices.

While the command runs, exec holds the device's lease for its whole process tree (a keeper process, as
`migctl run` does), so a local `migctl run`, `apply` or `destroy` on the node never takes the slice.

It refuses, running nothing, when the allocation and the node disagree: an index the node does not
have, a --map whose UUID is gone (both mean the layout changed: run `migctl slurm sync`), or a slice a
migctl task outside Slurm still holds.

Exit status: the command's (128+N when a signal N ended it); 1 or 2 when exec itself refused.

Examples:
  srun --gres=gpu:3g.40gb:1 migctl exec -- python train.py
  sbatch --gres=gpu:1g.10gb:1 --wrap 'migctl exec -- ./infer.sh'
  srun --gres=gpu:1g.10gb:1 migctl exec --dry-run         # which MIG device this step got)");
  cmd->add_option("-i,--gpus", args->node.gpus, "The GPUs given to Slurm, when `slurm gres` was run with -i");
  cmd->add_option("--map", args->map, "Map indexes through FILE (slurm gres --map) instead of the live layout");
  cmd->add_option("--root", args->node.root, "As `slurm gres --root` (simulated nodes)");
  cmd->add_option("--grace", args->grace_s, "Seconds between SIGTERM and SIGKILL when the step is stopped")
      ->check(Seconds(0, kMaxSeconds));
  cmd->add_flag("--dry-run", args->dry_run, "Print the devices Slurm allocated and their UUIDs; run nothing");
  cmd->add_option("--array", args->array, "Run an element of `migctl run --slurm` from its spool DIR")
      ->group("");  // internal: what run --slurm's job array calls
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunExec(ctx, *args, ctx.trailing); }; });
}

}  // namespace migctl
