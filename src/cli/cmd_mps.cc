// `migctl mps start|status|stop`: an MPS control daemon the user manages, so that CUDA processes started
// outside migctl share whole GPUs. (`migctl run --share mps` starts and stops its own daemon instead.)
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cli/commands.h"
#include "mps/client_limits.h"
#include "mps/detached_daemon.h"
#include "mps/foreign_server.h"
#include "nvml/snapshot.h"

namespace migctl {
namespace {

struct MpsArgs {
  std::string gpus;
  std::string dir;
  std::optional<unsigned> threads;
  double timeout_s = 10;
};

/// --dir, else $MIGCTL_MPS_DIR, else a directory of this user's in /tmp.
std::string DaemonRoot(const MpsArgs& args) { return args.dir.empty() ? mps::DefaultRoot() : args.dir; }

/// `text` as one shell word: as it is when that is safe, else in single quotes.
std::string ShellWord(const std::string& text) {
  if (!text.empty() &&
      text.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:,=+-") ==
          std::string::npos)
    return text;
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// The client environment as {"NAME": "value"} and as `export` lines a user pastes into a shell.
Json EnvJson(const std::vector<std::string>& env) {
  Json doc = Json::object();
  for (const std::string& entry : env) {
    const std::size_t eq = entry.find('=');
    doc[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return doc;
}
std::string ExportLines(const std::vector<std::string>& env) {
  std::string text;
  for (const std::string& entry : env) {
    const std::size_t eq = entry.find('=');
    text += fmt::format("  export {}={}\n", entry.substr(0, eq), ShellWord(entry.substr(eq + 1)));
  }
  return text;
}

Json OptionalJson(const auto& value) { return value ? Json(*value) : Json(nullptr); }

/// The --dir a follow-up command needs: the one given, if any (else it finds the daemon as this one did).
std::string DirOption(const MpsArgs& args) { return args.dir.empty() ? "" : " --dir " + ShellWord(args.dir); }

/// Every process NVML reports on a GPU: on the whole GPU and on each of its MIG devices.
Result<std::vector<mps::GpuProcess>> ProcessesOn(const nvml::Device& device) {
  MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot gpu, nvml::ObserveGpu(device));
  std::vector<mps::GpuProcess> out;
  for (const nvml::ProcessInfo& p : gpu.processes) out.push_back({p.pid, p.name});
  for (const nvml::InstanceSnapshot& instance : gpu.instances)
    for (const nvml::ProcessInfo& p : instance.processes) out.push_back({p.pid, p.name});
  return out;
}

Result<int> RunStart(Context& ctx, const MpsArgs& args) {
  const std::string root = DaemonRoot(args);
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  if (devices.empty()) return MakeError(ErrorCode::kNotFound, "no GPU to serve: this host has none");
  mps::DetachedOptions options{root, {}, args.threads};
  Json gpus = Json::array();
  std::string gpu_text;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(GpuUuid uuid, device.Uuid());
    MIGCTL_ASSIGN_OR_RETURN(std::vector<mps::GpuProcess> processes, ProcessesOn(device));
    MIGCTL_RETURN_IF_ERROR(mps::CheckNoForeignServer(device.index(), processes, {}));
    options.gpus.push_back(uuid);
    gpus.push_back({{"index", device.index().value()}, {"uuid", uuid.value()}});
    gpu_text += fmt::format("{}{}", gpu_text.empty() ? "" : ", ", device.index().value());
  }
  MIGCTL_ASSIGN_OR_RETURN(mps::DaemonRecord record, mps::StartDetached(options));
  const std::vector<std::string> env = mps::ClientEnvironment(record.dirs, {});
  Json doc = {{"dir", root},
              {"pid", OptionalJson(record.pid)},
              {"gpus", gpus},
              {"pipe_dir", record.dirs.pipe_dir},
              {"log_dir", record.dirs.log_dir},
              {"default_thread_percentage", OptionalJson(record.default_thread_percentage)},
              {"program", record.program},
              {"started_at", record.started_at},
              {"env", EnvJson(env)}};
  std::string text = fmt::format("Started the MPS control daemon{} for GPU {} in {}\n",
                                 record.pid ? fmt::format(" (pid {})", *record.pid) : "", gpu_text, root);
  if (record.default_thread_percentage)
    text += fmt::format(
        "Each client may use {}% of a GPU's SMs unless it sets CUDA_MPS_ACTIVE_THREAD_PERCENTAGE\n",
        *record.default_thread_percentage);
  text +=
      "CUDA programs that run as you with this environment share the GPUs through it:\n" + ExportLines(env);
  text += fmt::format("Stop it when they are done: migctl mps stop{}\n", DirOption(args));
  return ctx.Finish(doc, text);
}

Result<int> RunStatus(Context& ctx, const MpsArgs& args) {
  const std::string root = DaemonRoot(args);
  MIGCTL_ASSIGN_OR_RETURN(mps::DetachedStatus s, mps::QueryDetached(root));
  const std::vector<std::string> env = mps::ClientEnvironment(s.dirs, {});
  Json gpus = Json::array();
  if (s.record)
    for (const GpuUuid& uuid : s.record->gpus) gpus.push_back(uuid.value());
  Json doc = {{"dir", root},
              {"running", s.answering},
              {"quitting", s.quitting},
              {"pid", OptionalJson(s.pid)},
              {"servers", s.servers},
              {"default_thread_percentage", OptionalJson(s.default_thread_percentage)},
              {"pipe_dir", s.dirs.pipe_dir},
              {"log_dir", s.dirs.log_dir},
              {"recorded", s.record.has_value()},
              {"gpus", s.record ? gpus : Json(nullptr)},
              {"started_at", s.record ? Json(s.record->started_at) : Json(nullptr)},
              {"env", s.answering ? EnvJson(env) : Json(nullptr)}};
  std::string text;
  if (s.quitting) {
    text = fmt::format(
        "MPS control daemon in {}: quitting (pid {}); it waits for its clients to finish, and 'migctl mps "
        "stop{}' waits for it\n",
        root, *s.pid, DirOption(args));
    return ctx.Finish(doc, text);
  }
  if (!s.answering) {
    text = fmt::format("No MPS control daemon runs in {}; start one with 'migctl mps start{}'\n", root,
                       DirOption(args));
    if (s.record)
      text += fmt::format("(the one migctl started there at {} has gone; see {}/control.log)\n",
                          s.record->started_at, s.dirs.log_dir);
    return ctx.Finish(doc, text);
  }
  text = fmt::format("MPS control daemon in {}: running{}\n", root,
                     s.pid ? fmt::format(" (pid {})", *s.pid) : "");
  if (s.record) {
    std::string uuids;
    for (const GpuUuid& uuid : s.record->gpus) uuids += (uuids.empty() ? "" : ", ") + uuid.value();
    text += fmt::format("  GPUs     {}\n  started  {} by migctl\n", uuids.empty() ? "all" : uuids,
                        s.record->started_at);
  } else {
    text += "  not started by migctl mps start\n";
  }
  std::string servers;
  for (unsigned pid : s.servers) servers += fmt::format("{}{}", servers.empty() ? "" : ", ", pid);
  text +=
      fmt::format("  servers  {}\n", servers.empty() ? "none yet (one starts when the first client connects)"
                                                     : "pid " + servers);
  if (s.default_thread_percentage)
    text += fmt::format("  threads  {:g}% of the SMs per client by default\n", *s.default_thread_percentage);
  text += "Clients need:\n" + ExportLines(env);
  return ctx.Finish(doc, text);
}

Result<int> RunStop(Context& ctx, const MpsArgs& args) {
  const std::string root = DaemonRoot(args);
  MIGCTL_ASSIGN_OR_RETURN(
      std::optional<pid_t> pid,
      mps::StopDetached(root, std::chrono::milliseconds(static_cast<long long>(args.timeout_s * 1000))));
  return ctx.Finish({{"dir", root}, {"stopped", true}, {"pid", OptionalJson(pid)}},
                    fmt::format("Stopped the MPS control daemon{} in {}\n",
                                pid ? fmt::format(" (pid {})", *pid) : "", root));
}

void AddDirOption(CLI::App* cmd, MpsArgs& args) {
  cmd->add_option("--dir", args.dir,
                  "Daemon directory: DIR/pipe, DIR/log (default $MIGCTL_MPS_DIR, else /tmp/migctl-mps-UID)")
      ->option_text("DIR");
}

}  // namespace

void AddMpsCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<MpsArgs>();
  CLI::App* mps = app.add_subcommand("mps", "Share whole GPUs among CUDA processes through an MPS daemon");
  mps->require_subcommand(1);
  mps->footer(
      "MPS (CUDA Multi-Process Service) runs the kernels of many processes on one GPU at once. A client is "
      "any\n"
      "CUDA program that runs as you with CUDA_MPS_PIPE_DIRECTORY and CUDA_MPS_LOG_DIRECTORY pointing at "
      "the\n"
      "daemon; it may also set CUDA_MPS_ACTIVE_THREAD_PERCENTAGE (its share of the SMs) and\n"
      "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT (e.g. 0=10G). 'migctl run --share mps' manages a daemon of its own;\n"
      "these commands are for processes you start yourself. Needs nvidia-cuda-mps-control in PATH (or\n"
      "$MIGCTL_MPS_CONTROL). Example:\n"
      "  migctl mps start -i 0        # prints the environment clients need, e.g.\n"
      "  export CUDA_MPS_PIPE_DIRECTORY=/tmp/migctl-mps-1000/pipe "
      "CUDA_MPS_LOG_DIRECTORY=/tmp/migctl-mps-1000/log\n"
      "  ./infer.sh & ./infer.sh & wait\n"
      "  migctl mps stop");

  CLI::App* start = mps->add_subcommand("start", "Start an MPS control daemon for some GPUs");
  start->footer(
      "The daemon runs in the background until 'migctl mps stop'; its directories are private to you "
      "(0700),\n"
      "so clients must run as you. Refused (exit 1) when a daemon already runs in DIR, or when another MPS\n"
      "server already serves a chosen GPU. Prints the environment clients need. Examples:\n"
      "  migctl mps start                      # every GPU\n"
      "  migctl mps start -i 0,1 --threads 25  # clients get 25% of the SMs unless they ask otherwise\n"
      "  migctl mps start --dir /scratch/mps -i GPU-8932f937");
  start
      ->add_option("-i,--gpu", args->gpus,
                   "GPUs it serves: indexes, ranges, UUIDs, PCI ids or all (default: all)")
      ->option_text("GPUS");
  start->add_option("--threads", args->threads, "Default share of a GPU's SMs per client, percent (1-100)")
      ->check(CLI::Range(1u, 100u))
      ->option_text("N");
  AddDirOption(start, *args);
  start->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStart(ctx, *args); }; });

  CLI::App* status =
      mps->add_subcommand("status", "Show whether the daemon runs, its servers and the client env");
  status->footer(
      "Asks the daemon itself; not running is a state, not an error (exit 0, \"running\": false). A daemon\n"
      "told to quit while clients run answers no one until they finish (\"quitting\": true).\n"
      "Examples:\n  migctl mps status\n  migctl mps status --dir /scratch/mps --json");
  AddDirOption(status, *args);
  status->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStatus(ctx, *args); }; });

  CLI::App* stop = mps->add_subcommand("stop", "Tell the daemon to quit and wait until it has");
  stop->footer(
      "The daemon waits for its clients to finish before it quits: when that takes longer than --timeout,\n"
      "stop fails (exit 1), the daemon quits once they have finished, and another stop waits for that.\n"
      "With no daemon in DIR it fails with exit 2.\n"
      "Examples:\n  migctl mps stop\n  migctl mps stop --dir /scratch/mps --timeout 60");
  stop->add_option("--timeout", args->timeout_s, "Seconds to wait for it to quit (default 10)")
      ->check(Seconds(kMinTimeoutSeconds, kMaxSeconds))
      ->option_text("S");
  AddDirOption(stop, *args);
  stop->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStop(ctx, *args); }; });
}

}  // namespace migctl
