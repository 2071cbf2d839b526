// `migctl status`: GPUs, MIG mode, every GI/CI with placement, MIG UUID, memory and processes, free capacity,
// and a slot map per GPU.
#include <map>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/slot_map.h"
#include "cli/table.h"
#include "launch/ephemeral_record.h"
#include "launch/lease.h"
#include "layout/feasibility.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"
#include "reconcile/observed_gpu.h"

namespace migctl {
namespace {

struct StatusArgs {
  std::string gpus;
};

std::string ModeText(const nvml::GpuSnapshot& gpu) {
  if (!gpu.mig) return "no MIG";
  std::string now = gpu.mig->current ? "MIG on" : "MIG off";
  if (gpu.mig->current == gpu.mig->pending) return now;
  return fmt::format("{} ({} pending: run 'migctl reset -i {}')", now,
                     gpu.mig->pending ? "enable" : "disable", gpu.index.value());
}

Json ProcessesJson(const std::vector<nvml::ProcessInfo>& processes) {
  Json out = Json::array();
  for (const auto& p : processes) {
    Json entry = {{"pid", p.pid}, {"name", p.name}};
    entry["used_mib"] = p.used_mib ? Json(*p.used_mib) : Json(nullptr);
    out.push_back(entry);
  }
  return out;
}

std::string ProcessesText(const std::vector<nvml::ProcessInfo>& processes) {
  if (processes.empty()) return "-";
  std::string out;
  for (const auto& p : processes)
    out += (out.empty() ? "" : ", ") + fmt::format("{}{}", p.pid, p.name.empty() ? "" : " " + p.name);
  return out;
}

struct GpuReport {
  nvml::GpuSnapshot snapshot;
  const GpuModel* model = nullptr;   ///< Built-in model, when known.
  std::optional<GpuModel> geometry;  ///< For free capacity, when MIG is on.
  std::map<unsigned, pid_t> left_by_killed_run;  ///< GI id -> pid of the killed `run --ephemeral` that made it.
};

/// The GIs of `g` that killed `run --ephemeral` runs of this user made and left, still as made.
std::map<unsigned, pid_t> LeftByKilledRuns(const nvml::GpuSnapshot& g, const std::vector<EphemeralRecord>& orphans) {
  std::map<unsigned, pid_t> out;
  for (const EphemeralRecord& o : orphans)
    for (const EphemeralGi& e : o.gis)
      for (const nvml::InstanceSnapshot& i : g.instances)
        if (e.gpu_uuid == g.uuid.value() && i.gi.value() == e.gi && i.profile.value() == e.profile &&
            i.placement.start == e.start)
          out[e.gi] = o.owner.pid;
  return out;
}

Json GpuJson(const GpuReport& r) {
  const nvml::GpuSnapshot& g = r.snapshot;
  Json gpu = {{"index", g.index.value()},
              {"uuid", g.uuid.value()},
              {"name", g.name},
              {"model", r.model ? Json(r.model->key) : Json(nullptr)},
              {"pci_bus_id", g.pci_bus_id},
              {"memory", {{"total_mib", g.memory.total_mib}, {"used_mib", g.memory.used_mib}}}};
  gpu["mig"] = g.mig ? Json{{"current", g.mig->current}, {"pending", g.mig->pending}} : Json(nullptr);
  Json instances = Json::array();
  for (const auto& i : g.instances) {
    Json entry = {{"profile", i.profile_name},
                  {"profile_id", i.profile.value()},
                  {"gi", i.gi.value()},
                  {"ci", i.ci ? Json(i.ci->value()) : Json(nullptr)},
                  {"start", i.placement.start},
                  {"size", i.placement.size},
                  {"uuid", i.uuid ? Json(i.uuid->value()) : Json(nullptr)}};
    entry["memory_mib"] = i.memory ? Json(i.memory->total_mib) : Json(nullptr);
    entry["memory_used_mib"] = i.memory ? Json(i.memory->used_mib) : Json(nullptr);
    entry["processes"] = ProcessesJson(i.processes);
    const auto left = r.left_by_killed_run.find(i.gi.value());
    entry["left_by_killed_run"] = left != r.left_by_killed_run.end() ? Json(left->second) : Json(nullptr);
    instances.push_back(entry);
  }
  gpu["instances"] = instances;
  if (!g.mig || !g.mig->current) gpu["processes"] = ProcessesJson(g.processes);
  if (r.geometry) {
    Json free = Json::object();
    Layout layout = LayoutOf(g);
    for (const GiProfile& p : r.geometry->gi_profiles)
      free[p.name] = RemainingCapacity(*r.geometry, layout, p.id);
    gpu["free"] = free;
  }
  return gpu;
}

std::string GpuText(const GpuReport& r) {
  const nvml::GpuSnapshot& g = r.snapshot;
  std::string out =
      fmt::format("GPU {}: {}{}  {}  {}  {}\n", g.index.value(), g.name,
                  r.model ? " (" + r.model->key + ")" : "", g.uuid.value(), g.pci_bus_id, ModeText(g));
  if (!g.mig || !g.mig->current) {
    out += fmt::format("  memory {} / {} MiB used; processes: {}\n", g.memory.used_mib, g.memory.total_mib,
                       ProcessesText(g.processes));
    return out;
  }
  if (g.instances.empty()) {
    out += "  no GPU instances (create some: 'migctl create -i " + std::to_string(g.index.value()) +
           " PROFILE…')\n";
  } else {
    Table table({"GI", "CI", "PROFILE", "SLOTS", "MIG DEVICE", "MEMORY MiB", "PROCESSES"});
    for (const auto& i : g.instances) {
      std::string slots = i.placement.size == 1 ? std::to_string(i.placement.start)
                                                : fmt::format("{}-{}", i.placement.start,
                                                              i.placement.start + i.placement.size - 1);
      table.AddRow({std::to_string(i.gi.value()), i.ci ? std::to_string(i.ci->value()) : "-", i.profile_name,
                    slots, i.uuid ? i.uuid->value() : "(no compute instance)",
                    i.memory ? fmt::format("{} / {}", i.memory->used_mib, i.memory->total_mib) : "-",
                    ProcessesText(i.processes)});
    }
    out += table.Render("  ");
  }
  std::map<pid_t, std::vector<unsigned>> by_run;
  for (const auto& [gi, pid] : r.left_by_killed_run) by_run[pid].push_back(gi);
  for (const auto& [pid, gis] : by_run)
    out += fmt::format(
        "  GI {} left by a killed 'run --ephemeral' (pid {}): the next 'run --ephemeral' removes {}, or "
        "'migctl destroy -i {} --gi {}'\n",
                       fmt::join(gis, ", "), pid, gis.size() == 1 ? "it" : "them", g.index.value(),
                       fmt::join(gis, " "));
  if (r.geometry) {
    std::vector<SlotSpan> spans;
    for (const auto& i : g.instances)
      if (spans.empty() || spans.back().start != i.placement.start)
        spans.push_back(
            {i.placement.start, i.placement.size, fmt::format("{} GI {}", i.profile_name, i.gi.value())});
    out += DrawSlotMap(r.geometry->memory_slots, spans, "  ");
    Layout layout = LayoutOf(g);
    std::string free;
    for (const GiProfile& p : r.geometry->gi_profiles)
      if (unsigned n = RemainingCapacity(*r.geometry, layout, p.id); n > 0)
        free += (free.empty() ? "" : ", ") + fmt::format("{} ×{}", p.name, n);
    out += "  room for: " + (free.empty() ? std::string("nothing (GPU full)") : free) + "\n";
  }
  return out;
}

Result<int> RunStatus(Context& ctx, const StatusArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(args.gpus));
  MIGCTL_ASSIGN_OR_RETURN(nvml::Nvml * nvml, ctx.OpenNvml());
  std::vector<GpuReport> reports;
  const std::vector<EphemeralRecord> orphans =
      OrphanedEphemeralRecords(DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir()));
  for (const nvml::Device& device : devices) {
    GpuReport r;
    MIGCTL_ASSIGN_OR_RETURN(r.snapshot, nvml::ObserveGpu(device));
    r.model = IdentifyModel(r.snapshot.name, (r.snapshot.pci_device_id << 16) | 0x10DE);
    if (r.snapshot.mig && r.snapshot.mig->current) {
      MIGCTL_ASSIGN_OR_RETURN(r.geometry, GeometryOf(device, r.snapshot));
    }
    r.left_by_killed_run = LeftByKilledRuns(r.snapshot, orphans);
    reports.push_back(std::move(r));
  }
  if (ctx.options.json) {
    Json gpus = Json::array();
    for (const auto& r : reports) gpus.push_back(GpuJson(r));
    Result<std::string> driver = nvml->DriverVersion();
    Json doc = {{"driver_version", driver.ok() ? *driver : ""}, {"gpus", gpus}};
    ctx.PrintJson(doc);
    return kExitOk;
  }
  std::string out;
  for (const auto& r : reports) out += (out.empty() ? "" : "\n") + GpuText(r);
  if (reports.empty()) out = "no GPUs found\n";
  ctx.Print(out);
  return kExitOk;
}

}  // namespace

void AddStatusCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<StatusArgs>();
  CLI::App* cmd =
      app.add_subcommand("status", "Show GPUs, MIG mode, instances, MIG UUIDs, processes and free room");
  cmd->footer("Examples:\n  migctl status\n  migctl --sim ./dgx.json status -i 0-1 --json");
  cmd->add_option("-i,--gpu", args->gpus, "GPUs: indexes (0,2-3), GPU UUIDs or PCI bus ids; default all");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStatus(ctx, *args); }; });
}

}  // namespace migctl
