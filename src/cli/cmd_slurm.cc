// `migctl slurm gres`: this node's live layout as Slurm needs it (gres.conf lines, the node's Gres= value, the
// index -> UUID map); `slurm task-prolog`: the same mapping as `exec`, for a cluster-wide TaskProlog.
// `slurm sync` is in cmd_slurm_sync.cc.
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/slurm_node.h"
#include "cli/table.h"
#include "common/file_io.h"

namespace migctl {
namespace {

struct GresArgs {
  NodeGresOptions node;
  std::string name;
  std::string print;
  std::string map;
};

Json DeviceJson(const slurm::GresDevice& d) {
  auto opt = [](const std::optional<unsigned>& v) { return v ? Json(*v) : Json(nullptr); };
  return {{"index", d.index},         {"type", d.type},         {"uuid", d.uuid},
          {"gpu", d.gpu},             {"gpu_uuid", d.gpu_uuid}, {"profile", d.profile},
          {"gi", opt(d.gi)},          {"ci", opt(d.ci)},        {"memory_mib", d.memory_mib},
          {"files", d.files}};
}

Result<int> RunGres(Context& ctx, const GresArgs& args) {
  const std::string node = args.name.empty() ? ShortHostname() : args.name;
  MIGCTL_ASSIGN_OR_RETURN(std::vector<slurm::GresDevice> devices, ObserveNodeGres(ctx, args.node));
  const std::string conf = slurm::GresConfLines(node, devices);
  const std::string gres = slurm::NodeGresValue(devices);
  const std::string map = slurm::GresMapText(devices);
  if (!args.map.empty()) MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(args.map, map, 0644));
  if (args.print == "conf") return ctx.Finish({{"gres_conf", conf}}, conf);
  if (args.print == "gres") return ctx.Finish({{"gres", gres}}, gres + "\n");
  if (args.print == "map") return ctx.Finish({{"map", map}}, map);
  Json doc = {{"node", node}, {"gres", gres}, {"gres_conf", conf}, {"devices", Json::array()}};
  Table table({"INDEX", "TYPE", "CUDA_VISIBLE_DEVICES", "GPU", "GI", "CI", "PROFILE"});
  for (const slurm::GresDevice& d : devices) {
    doc["devices"].push_back(DeviceJson(d));
    table.AddRow({std::to_string(d.index), d.type, d.uuid, std::to_string(d.gpu), d.gi ? std::to_string(*d.gi) : "-",
                  d.ci ? std::to_string(*d.ci) : "-", d.profile.empty() ? "whole GPU" : d.profile});
  }
  std::string text = "# gres.conf\n" + conf + fmt::format("\n# slurm.conf, on the NodeName={} line\nGres={}\n", node, gres) +
                     "\n# Slurm's GPU index -> what `migctl exec` pins the task to\n" + table.Render();
  return ctx.Finish(doc, text);
}

/// A TaskProlog's output: `export NAME=value` lines become the task's environment, `print TEXT` lines go to
/// its stdout. A disagreement hides every GPU (an empty CUDA_VISIBLE_DEVICES) rather than leave Slurm's
/// index, which CUDA would read as some other device.
Result<int> RunTaskProlog(Context& ctx, const GresArgs& args) {
  if (std::getenv("SLURM_STEP_GPUS") == nullptr && std::getenv("SLURM_JOB_GPUS") == nullptr) return kExitOk;
  Result<std::vector<slurm::GresDevice>> devices = AllocatedDevices(ctx, args.node, args.map);
  if (!devices.ok()) {
    std::printf("print migctl: %s\nexport CUDA_VISIBLE_DEVICES=\n", devices.error().message.c_str());
    return kExitOk;
  }
  std::string uuids;
  for (const slurm::GresDevice& d : *devices) uuids += (uuids.empty() ? "" : ",") + d.uuid;
  std::printf("export CUDA_VISIBLE_DEVICES=%s\nexport MIGCTL_DEVICE=%s\n", uuids.c_str(), uuids.c_str());
  return kExitOk;
}

}  // namespace

void AddSlurmCommand(CLI::App& app, Context& ctx) {
  CLI::App* slurm = app.add_subcommand("slurm", "Describe this node's MIG devices to Slurm and keep Slurm in step");
  slurm->require_subcommand(1);
  auto args = std::make_shared<GresArgs>();
  CLI::App* gres = slurm->add_subcommand(
      "gres", "This node's live layout as Slurm GRES: gres.conf lines, the node's Gres=, the index map");
  gres->footer(
      R"(Every MIG device becomes one GPU of Slurm's: a gres.conf line with its type and its device files (the
parent /dev/nvidiaN and its GI and CI capability files, from /proc/driver/nvidia-caps/mig-minors), so
Slurm can confine a job to it. A GPU with MIG off is listed whole. Types read like the end of the name
Slurm's own AutoDetect=nvml gives (3g.40gb; a whole GPU: nvidia_h100_80gb_hbm3), so --gres=gpu:3g.40gb:1
requests work either way.

Slurm's GPU index (SLURM_STEP_GPUS, SLURM_JOB_GPUS) is the line order. The order is a pure function of
the live layout: `migctl exec` in a job step derives it again and pins the task to the MIG UUID behind
the index Slurm allocated, with no file on the node (--map FILE writes one to pin it instead).

After a layout change, `migctl slurm sync` rewrites these and restarts what Slurm needs.

Examples:
  migctl slurm gres                               # all three, for people
  migctl slurm gres --print conf >> /etc/slurm/gres.conf
  migctl slurm gres --node gpu07 --json
  migctl --sim ./n1.json slurm gres --root ./n1-root   # a simulated node (migctl sim devices ./n1-root))");
  gres->add_option("-i,--gpus", args->node.gpus, "GPUs to give Slurm (default all)");
  gres->add_option("--node", args->name, "Slurm's NodeName for this host (default: the short hostname)");
  gres->add_option("--root", args->node.root,
                   "Read mig-minors and name device files under DIR (default /; for simulated nodes)");
  gres->add_option("--print", args->print, "Print only one part: conf (gres.conf lines), gres (Gres=), map")
      ->check(CLI::IsMember({"conf", "gres", "map"}));
  gres->add_option("--map", args->map, "Also write the index -> UUID map to FILE (for exec --map)");
  gres->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunGres(ctx, *args); }; });

  CLI::App* prolog = slurm->add_subcommand(
      "task-prolog", "For slurm.conf's TaskProlog: set every task's CUDA_VISIBLE_DEVICES to its MIG UUIDs");
  prolog->footer(
      R"(What `migctl exec` does for one command, done cluster-wide by Slurm: slurmd runs the TaskProlog
before every task (the batch step too) and takes the `export` lines it prints into the task's
environment. With `TaskProlog=/usr/local/sbin/migctl-task-prolog` and that file being

  #!/bin/sh
  exec migctl slurm task-prolog

every task sees CUDA_VISIBLE_DEVICES=MIG-… for the indexes Slurm allocated. When the allocation and
the node disagree (the layout changed: run `migctl slurm sync`), the task gets a line saying so and
no GPU at all, never a wrong one. Outside a job with GPUs it prints nothing.)");
  prolog->add_option("-i,--gpus", args->node.gpus, "The GPUs given to Slurm, when `slurm gres` was run with -i");
  prolog->add_option("--map", args->map, "Map indexes through FILE (slurm gres --map) instead of the live layout");
  prolog->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunTaskProlog(ctx, *args); }; });

  AddSlurmSyncCommand(*slurm, ctx);
  AddSlurmReshapeCommand(*slurm, ctx);
}

}  // namespace migctl
