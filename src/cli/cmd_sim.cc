// `migctl sim init|show|attach|detach|devices`: create and inspect simulated machines, fake processes on them,
// and stand-ins for their device files.
#include <cstdint>
#include <limits>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "sim/dev_nodes.h"
#include "sim/instance_ids.h"
#include "sim/machine.h"
#include "sim/state_check.h"

namespace migctl {
namespace {

struct SimArgs {
  std::string state;
  std::string spec;
  bool force = false;
  std::optional<std::uint64_t> seed;
  unsigned gpu = 0;
  std::optional<unsigned> gi, ci;
  unsigned pid = 0;
  std::string name = "fake-process";
  unsigned long long memory_mib = 1024;
  std::string root;
};

/// The state file: the positional argument, else --sim / MIGCTL_SIM.
Result<std::string> StatePath(const Context& ctx, const SimArgs& args) {
  if (!args.state.empty()) return args.state;
  if (!ctx.options.sim.empty()) return ctx.options.sim;
  return MakeError(ErrorCode::kInvalidInput, "which simulated machine? give its state file, or --sim STATE");
}

std::string MachineText(const std::string& path, const sim::MachineState& m) {
  std::string out =
      fmt::format("{}: {} simulated GPU{}\n", path, m.gpus.size(), m.gpus.size() == 1 ? "" : "s");
  Table table({"GPU", "MODEL", "UUID", "PCI", "MIG", "INSTANCES", "PROCESSES"});
  for (size_t i = 0; i < m.gpus.size(); ++i) {
    const sim::SimGpu& g = m.gpus[i];
    std::string mig = g.mig_current ? "on" : "off";
    if (g.mig_current != g.mig_pending) mig += g.mig_pending ? " (enable pending)" : " (disable pending)";
    std::string gis;
    for (const auto& gi : g.gpu_instances)
      gis += (gis.empty() ? "" : " ") + fmt::format("GI{}@{}", gi.id, gi.start);
    std::string procs;
    for (const auto& p : g.processes)
      procs += (procs.empty() ? "" : " ") + fmt::format("{}:{}", p.pid, p.name);
    table.AddRow({std::to_string(i), g.model, g.uuid, g.pci_bus_id, mig, gis.empty() ? "-" : gis,
                  procs.empty() ? "-" : procs});
  }
  return out + table.Render("  ");
}

Result<int> RunInit(Context& ctx, const SimArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(sim::MachineState m,
                          sim::InitMachine(args.state, args.spec, args.force, args.seed));
  return ctx.Finish(Json::parse(sim::MachineStateToJson(m).dump()),
                    MachineText(args.state, m) + fmt::format("Use it: migctl --sim {} status\n", args.state));
}

Result<int> RunShow(Context& ctx, const SimArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::string path, StatePath(ctx, args));
  MIGCTL_ASSIGN_OR_RETURN(sim::MachineState m, sim::LoadMachine(path));
  return ctx.Finish(Json::parse(sim::MachineStateToJson(m).dump()), MachineText(path, m));
}

Result<int> RunAttach(Context& ctx, const SimArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::string path, StatePath(ctx, args));
  if (args.ci && !args.gi)
    return MakeError(ErrorCode::kInvalidInput, "--ci needs --gi (CI ids are unique per GI only)");
  sim::ProcessPlace place{GpuIndex(args.gpu), std::nullopt, std::nullopt};
  if (args.gi) place.gi = GiId(*args.gi);
  if (args.ci) place.ci = CiId(*args.ci);
  MIGCTL_ASSIGN_OR_RETURN(unsigned pid,
                          sim::AttachProcess(path, place, args.pid, args.name, args.memory_mib));
  return ctx.Finish({{"pid", pid}},
                    fmt::format("attached pid {} ({}, {} MiB) to GPU {}{}{}\n", pid, args.name,
                                args.memory_mib, args.gpu, args.gi ? fmt::format(" GI {}", *args.gi) : "",
                                args.ci ? fmt::format(" CI {}", *args.ci) : ""));
}

Result<int> RunDetach(Context& ctx, const SimArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::string path, StatePath(ctx, args));
  MIGCTL_RETURN_IF_ERROR(sim::DetachProcess(path, args.pid));
  return ctx.Finish({{"detached", args.pid}}, fmt::format("detached pid {}\n", args.pid));
}

Result<int> RunDevices(Context& ctx, const SimArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::string path, StatePath(ctx, args));
  MIGCTL_ASSIGN_OR_RETURN(sim::MachineState m, sim::LoadMachine(path));
  std::vector<unsigned> minors;
  for (const sim::SimGpu& g : m.gpus) minors.push_back(g.minor);
  bool plain = false;
  MIGCTL_RETURN_IF_ERROR(sim::MakeStandInDevices(args.root, minors, &plain));
  std::string text = fmt::format("{}: mig-minors under {}/proc/driver/nvidia-caps, {} GPU{} under {}/dev\n", path,
                                 args.root, minors.size(), minors.size() == 1 ? "" : "s", args.root);
  if (plain) text += "note: not root, so the device files are plain files (Slurm sets no CUDA_VISIBLE_DEVICES for those)\n";
  return ctx.Finish({{"root", args.root}, {"gpu_minors", minors}, {"character_devices", !plain}}, text);
}

std::string ModelKeys() {
  std::string out;
  for (const GpuModel& m : BuiltinModels()) out += (out.empty() ? "" : ", ") + m.key;
  return out;
}

}  // namespace

void AddSimCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = app.add_subcommand("sim", "Create and inspect simulated MIG machines (no GPU needed)");
  sim->require_subcommand(1);
  sim->footer(
      "The simulator is libmigsim.so, a drop-in libnvidia-ml.so.1: migctl --sim STATE runs any command on "
      "it,\n"
      "and other NVML clients can load it with MIGSIM_STATE=STATE.\n"
      "Example:\n  migctl sim init ./dgx.json a100-80gb:8 && migctl --sim ./dgx.json status");

  CLI::App* init =
      sim->add_subcommand("init", "Create a simulated machine: STATE MODEL[:COUNT][,MODEL[:COUNT]…]");
  init->footer("Models: " + ModelKeys() + "\nExample:\n  migctl sim init ./dgx.json a100-80gb:8");
  init->add_option("state", args->state, "State file to create")->required();
  init->add_option("spec", args->spec, "GPUs, e.g. a100-80gb:8 or h100-80gb:2,a30-24gb")->required();
  init->add_flag("--force", args->force, "Replace an existing state file");
  init->add_option("--seed", args->seed, "Seed for UUIDs (reproducible machines)")
      ->check(WholeNumber(0, std::numeric_limits<std::uint64_t>::max()));
  init->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunInit(ctx, *args); }; });

  CLI::App* show = sim->add_subcommand("show", "Show a simulated machine's raw state");
  show->footer("Example:\n  migctl sim show ./dgx.json --json");
  show->add_option("state", args->state, "State file (default: --sim)");
  show->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunShow(ctx, *args); }; });

  CLI::App* attach =
      sim->add_subcommand("attach", "Attach a fake process to a GPU, GPU instance or compute instance");
  attach->footer(
      "The instance then counts as busy, as a CUDA process would make it.\n"
      "Example:\n  migctl --sim ./dgx.json sim attach -i 0 --gi 2 --ci 0 --name train.py --memory 20000");
  attach->add_option("state", args->state, "State file (default: --sim)");
  attach->add_option("-i,--gpu", args->gpu, "GPU index")
      ->required()
      ->check(WholeNumber(0, sim::kMaxGpus - 1));
  attach->add_option("--gi", args->gi, "GPU instance id")->check(WholeNumber(0, sim::kMaxGpuInstanceId));
  attach->add_option("--ci", args->ci, "Compute instance id (with --gi)")
      ->check(WholeNumber(0, sim::kMaxComputeInstanceId));
  attach->add_option("--pid", args->pid, "Process id (default: an unused one)")
      ->check(WholeNumber(1, sim::kMaxPid));
  attach->add_option("--name", args->name, "Process name");
  attach->add_option("--memory", args->memory_mib, "Memory it uses, MiB")->check(WholeNumber(0, 1ull << 40));
  attach->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunAttach(ctx, *args); }; });

  CLI::App* detach = sim->add_subcommand("detach", "Detach a fake process by pid");
  detach->footer("Example:\n  migctl --sim ./dgx.json sim detach 4242");
  detach->add_option("pid", args->pid, "Process id")->required()->check(WholeNumber(1, sim::kMaxPid));
  detach->add_option("--state", args->state, "State file (default: --sim)");
  detach->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunDetach(ctx, *args); }; });

  CLI::App* devices = sim->add_subcommand(
      "devices", "Make stand-ins for the machine's device files under ROOT (for Slurm's gres.conf)");
  devices->footer(
      "Writes ROOT/proc/driver/nvidia-caps/mig-minors (the driver's capability minor table) and, per\n"
      "simulated GPU, ROOT/dev/nvidiaN and its ROOT/dev/nvidia-caps/nvidia-capM: character devices with\n"
      "/dev/null's numbers (root), plain files otherwise. `migctl slurm gres --root ROOT` then names them.\n\n"
      "Example:\n  migctl --sim ./n1.json sim devices ./n1-root");
  devices->add_option("root", args->root, "Directory to make them under")->required();
  devices->add_option("--state", args->state, "State file (default: --sim)");
  devices->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunDevices(ctx, *args); }; });
}

}  // namespace migctl
