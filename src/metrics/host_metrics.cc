#include "metrics/host_metrics.h"

#include <fmt/format.h>

namespace migctl::metrics {
namespace {

constexpr double kMib = 1024.0 * 1024.0;

Family Gauge(std::string name, std::string help) {
  return Family{std::move(name), std::move(help), MetricType::kGauge, {}};
}

/// The lowest CI id of GPU instance `gi` in the snapshot (0 when it has none).
unsigned FirstCi(const nvml::GpuSnapshot& g, GiId gi) {
  std::optional<unsigned> first;
  for (const nvml::InstanceSnapshot& i : g.instances)
    if (i.gi == gi && i.ci && (!first || i.ci->value() < *first)) first = i.ci->value();
  return first.value_or(0);
}

}  // namespace

std::vector<Family> HostFamilies(const HostSample& sample) {
  Family gpu_info = Gauge("migctl_gpu_info", "A GPU (value 1): its name, PCI bus id and the driver.");
  Family mig_mode = Gauge("migctl_gpu_mig_mode", "1 when MIG is on now, 0 when off (GPUs with MIG only).");
  Family mig_pending =
      Gauge("migctl_gpu_mig_mode_pending", "1 when MIG will be on after the next activation, 0 when off.");
  Family gpu_total = Gauge("migctl_gpu_memory_total_bytes", "The GPU's memory.");
  Family gpu_used =
      Gauge("migctl_gpu_memory_used_bytes", "The GPU's memory in use (all its MIG devices' too).");
  Family gpu_procs = Gauge("migctl_gpu_processes", "Compute processes on the whole GPU (MIG off).");
  Family instance = Gauge("migctl_gpu_instance_info",
                          "A GPU instance (value 1): its profile, placement on the memory slots, compute "
                          "instance and MIG UUID (empty for a GPU instance without a compute instance).");
  Family dev_total = Gauge("migctl_mig_device_memory_total_bytes", "The MIG device's memory.");
  Family dev_used = Gauge("migctl_mig_device_memory_used_bytes", "The MIG device's memory in use.");
  Family dev_procs = Gauge("migctl_mig_device_processes", "Compute processes on the MIG device.");
  Family dev_leased = Gauge("migctl_mig_device_leased",
                            "1 when a migctl task or worker holds the MIG device's lease (run, exec, Pool).");
  Family gpu_workers =
      Gauge("migctl_gpu_leased_workers",
            "migctl tasks running on the whole GPU (MIG off), each holding its lease or one of its shares "
            "(run --share, Pool share=).");
  Family room =
      Gauge("migctl_gpu_profile_free",
            "How many more GPU instances of the profile fit on the GPU now, given the placements of "
            "those that exist.");
  Family sm_active = Gauge("migctl_gpu_sm_active_ratio",
                           "The share of the GPU's SMs that were busy since the last look (GPM; MIG off).");
  Family sm_occupancy = Gauge("migctl_gpu_sm_occupancy_ratio",
                              "Warps active against the GPU's maximum since the last look (GPM; MIG off).");
  Family dram_active =
      Gauge("migctl_gpu_dram_active_ratio",
            "DRAM bandwidth used against the GPU's peak since the last look (GPM; MIG off).");
  Family gi_sm_active =
      Gauge("migctl_gpu_instance_sm_active_ratio",
            "The share of the GPU instance's SMs that were busy since the last look (GPM).");
  Family gi_sm_occupancy =
      Gauge("migctl_gpu_instance_sm_occupancy_ratio",
            "Warps active against the GPU instance's maximum since the last look (GPM).");
  Family gi_dram_active =
      Gauge("migctl_gpu_instance_dram_active_ratio",
            "DRAM bandwidth used against the GPU instance's peak since the last look (GPM).");
  auto add_gpm = [](const nvml::GpmMetrics& m, const Labels& labels, Family& sm, Family& occ, Family& dram) {
    if (m.sm_active) sm.Add(labels, *m.sm_active);
    if (m.sm_occupancy) occ.Add(labels, *m.sm_occupancy);
    if (m.dram_active) dram.Add(labels, *m.dram_active);
  };
  for (const GpuSample& gpu : sample.gpus) {
    const nvml::GpuSnapshot& g = gpu.snapshot;
    const Labels base = {
        {"gpu", std::to_string(g.index.value())}, {"UUID", g.uuid.value()}, {"hostname", sample.hostname}};
    Labels info = base;
    info.insert(info.end(),
                {{"name", g.name}, {"pci_bus_id", g.pci_bus_id}, {"driver_version", sample.driver_version}});
    gpu_info.Add(info, 1);
    if (g.mig) {
      mig_mode.Add(base, g.mig->current ? 1 : 0);
      mig_pending.Add(base, g.mig->pending ? 1 : 0);
    }
    gpu_total.Add(base, static_cast<double>(g.memory.total_mib) * kMib);
    gpu_used.Add(base, static_cast<double>(g.memory.used_mib) * kMib);
    if (!g.mig || !g.mig->current) {
      gpu_procs.Add(base, static_cast<double>(g.processes.size()));
      gpu_workers.Add(base, gpu.leased_workers);
    }
    if (gpu.gpm) add_gpm(*gpu.gpm, base, sm_active, sm_occupancy, dram_active);
    for (const nvml::InstanceSnapshot& i : g.instances) {
      Labels labels = base;
      labels.insert(labels.end(), {{"GPU_I_PROFILE", i.profile_name},
                                   {"GPU_I_ID", std::to_string(i.gi.value())},
                                   {"GPU_I_PROFILE_ID", std::to_string(i.profile.value())},
                                   {"mig_uuid", i.uuid ? i.uuid->value() : ""}});
      Labels layout = labels;
      layout.insert(layout.end(), {{"placement_start", std::to_string(i.placement.start)},
                                   {"placement_size", std::to_string(i.placement.size)},
                                   {"GPU_CI_ID", i.ci ? std::to_string(i.ci->value()) : ""}});
      instance.Add(layout, 1);
      // GPM measures GPU instances: once per GI, with its first compute instance (its other CIs share it).
      if (const auto m = gpu.gpm_gi.find(i.gi.value());
          m != gpu.gpm_gi.end() && (!i.ci || i.ci->value() == FirstCi(g, i.gi))) {
        Labels gi_labels = base;
        gi_labels.insert(gi_labels.end(), {{"GPU_I_PROFILE", i.profile_name},
                                           {"GPU_I_ID", std::to_string(i.gi.value())},
                                           {"GPU_I_PROFILE_ID", std::to_string(i.profile.value())}});
        add_gpm(m->second, gi_labels, gi_sm_active, gi_sm_occupancy, gi_dram_active);
      }
      if (!i.uuid) continue;  // no compute instance: no MIG device to measure
      if (i.memory) {
        dev_total.Add(labels, static_cast<double>(i.memory->total_mib) * kMib);
        dev_used.Add(labels, static_cast<double>(i.memory->used_mib) * kMib);
      }
      dev_procs.Add(labels, static_cast<double>(i.processes.size()));
      const auto lease = gpu.leased.find(i.uuid->value());
      dev_leased.Add(labels, lease != gpu.leased.end() && lease->second ? 1 : 0);
    }
    for (const ProfileRoom& r : gpu.room) {
      Labels labels = base;
      labels.insert(labels.end(),
                    {{"GPU_I_PROFILE", r.name}, {"GPU_I_PROFILE_ID", std::to_string(r.id.value())}});
      room.Add(labels, r.free);
    }
  }
  Family commands{
      "migctl_gpu_change_commands_total",
      "Commands that changed GPUs through migctl's conductor on this host since boot (dry runs not "
      "counted), by how they ended.",
      MetricType::kCounter,
      {}};
  Family last_ok = Gauge("migctl_gpu_change_last_success", "1 when the command's last GPU change succeeded.");
  Family last_time =
      Gauge("migctl_gpu_change_last_timestamp_seconds", "When the command's last GPU change ended.");
  Family last_seconds =
      Gauge("migctl_gpu_change_last_duration_seconds", "How long the command's last GPU change took.");
  for (const auto& [command, c] : sample.changes) {
    const Labels labels = {{"hostname", sample.hostname}, {"command", command}};
    Labels ok = labels, failed = labels;
    ok.emplace_back("result", "succeeded");
    failed.emplace_back("result", "failed");
    commands.Add(ok, static_cast<double>(c.succeeded));
    commands.Add(failed, static_cast<double>(c.failed));
    last_ok.Add(labels, c.last_ok ? 1 : 0);
    last_time.Add(labels, static_cast<double>(c.last_time));
    last_seconds.Add(labels, c.last_seconds);
  }
  Family seconds = Gauge("migctl_exporter_collect_seconds", "How long the last look at the GPUs took.");
  seconds.Add({{"hostname", sample.hostname}}, sample.collect_seconds);
  return {gpu_info,   mig_mode,     gpu_total,    gpu_used,   gpu_procs,   gpu_workers,     sm_active,
          sm_occupancy, dram_active, instance,   gi_sm_active, gi_sm_occupancy, gi_dram_active, dev_total,
          dev_used,   dev_procs,    dev_leased,   room,       mig_pending, commands,    last_ok,
          last_time,  last_seconds, seconds};
}

}  // namespace migctl::metrics
