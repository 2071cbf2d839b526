#include "metrics/host_metrics.h"

#include <fmt/format.h>

namespace migctl::metrics {
namespace {

constexpr double kMib = 1024.0 * 1024.0;

Family Gauge(std::string name, std::string help) {
  return Family{std::move(name), std::move(help), MetricType::kGauge, {}};
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
  Family room =
      Gauge("migctl_gpu_profile_free",
            "How many more GPU instances of the profile fit on the GPU now, given the placements of "
            "those that exist.");
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
    if (!g.mig || !g.mig->current) gpu_procs.Add(base, static_cast<double>(g.processes.size()));
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
  Family seconds = Gauge("migctl_exporter_collect_seconds", "How long the last look at the GPUs took.");
  seconds.Add({{"hostname", sample.hostname}}, sample.collect_seconds);
  return {gpu_info,  mig_mode, mig_pending, gpu_total,  gpu_used, gpu_procs, instance,
          dev_total, dev_used, dev_procs,   dev_leased, room,     seconds};
}

}  // namespace migctl::metrics
