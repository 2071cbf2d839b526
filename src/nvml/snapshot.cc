#include "nvml/snapshot.h"

#include <algorithm>
#include <map>
#include <utility>

namespace migctl::nvml {
namespace {

/// The MIG mode, or nullopt when the GPU answers NOT_SUPPORTED (no MIG on it).
Result<std::optional<MigMode>> ReadMigMode(const Device& device) {
  Result<MigMode> mode = device.GetMigMode();
  if (mode.ok()) return std::optional(*mode);
  if (mode.error().nvml_return == NVML_ERROR_NOT_SUPPORTED) return std::optional<MigMode>();
  return std::move(mode).error();
}

Result<std::vector<InstanceSnapshot>> ObserveInstances(const Device& device,
                                                       const std::vector<GiProfileInfo>& profiles) {
  std::map<unsigned, std::string> names;
  for (const GiProfileInfo& profile : profiles) names[profile.id.value()] = profile.name;
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuInstance> gis, device.GpuInstances(profiles));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<MigDeviceInfo> mig_devices, device.MigDevices());
  std::map<std::pair<unsigned, unsigned>, MigDeviceInfo*> by_ids;
  std::map<unsigned, std::vector<CiId>> cis_of_gi;  // every CI is a MIG device: its CIs, without a profile scan
  for (MigDeviceInfo& mig : mig_devices) {
    by_ids[{mig.gi.value(), mig.ci.value()}] = &mig;
    cis_of_gi[mig.gi.value()].push_back(mig.ci);
  }

  std::vector<InstanceSnapshot> instances;
  for (const GpuInstance& gi : gis) {
    InstanceSnapshot base{.profile = gi.info().profile,
                          .profile_name = names[gi.info().profile.value()],
                          .gi = gi.info().id,
                          .placement = gi.info().placement};
    std::vector<ComputeInstance> cis;
    if (auto found = cis_of_gi.find(gi.info().id.value()); found != cis_of_gi.end()) {
      for (CiId id : found->second) {
        MIGCTL_ASSIGN_OR_RETURN(ComputeInstance ci, gi.ComputeInstanceById(id));
        cis.push_back(std::move(ci));
      }
    } else {  // no MIG device: normally no CI either, but ask the GPU instance itself
      MIGCTL_ASSIGN_OR_RETURN(cis, gi.ComputeInstances());
    }
    if (cis.empty()) instances.push_back(base);
    for (const ComputeInstance& ci : cis) {
      InstanceSnapshot instance = base;
      instance.ci = ci.info().id;
      instance.ci_profile = ci.info().profile;
      instance.ci_placement = ci.info().placement;
      if (auto found = by_ids.find({gi.info().id.value(), ci.info().id.value()}); found != by_ids.end()) {
        instance.uuid = found->second->uuid;
        instance.memory = found->second->memory;
        instance.processes = std::move(found->second->processes);
        instance.attributes = found->second->attributes;
      }
      instances.push_back(std::move(instance));
    }
  }
  std::stable_sort(instances.begin(), instances.end(),
                   [](const InstanceSnapshot& a, const InstanceSnapshot& b) {
                     return std::pair(a.gi, a.ci) < std::pair(b.gi, b.ci);
                   });
  return instances;
}

}  // namespace

Result<GpuSnapshot> ObserveGpu(const Device& device) {
  GpuSnapshot gpu{.index = device.index()};
  MIGCTL_ASSIGN_OR_RETURN(gpu.uuid, device.Uuid());
  MIGCTL_ASSIGN_OR_RETURN(gpu.name, device.Name());
  MIGCTL_ASSIGN_OR_RETURN(PciInfo pci, device.Pci());
  gpu.pci_bus_id = pci.bus_id;
  gpu.pci_device_id = pci.device_id;
  if (Result<unsigned> minor = device.MinorNumber(); minor.ok()) gpu.minor = *minor;
  MIGCTL_ASSIGN_OR_RETURN(gpu.architecture, device.MigArchitecture());
  MIGCTL_ASSIGN_OR_RETURN(gpu.memory, device.Memory());
  MIGCTL_ASSIGN_OR_RETURN(gpu.mig, ReadMigMode(device));
  if (gpu.mig && gpu.mig->current) {
    MIGCTL_ASSIGN_OR_RETURN(gpu.profiles, device.GiProfiles());
    MIGCTL_ASSIGN_OR_RETURN(gpu.instances, ObserveInstances(device, gpu.profiles));
  } else {
    MIGCTL_ASSIGN_OR_RETURN(gpu.processes, device.ComputeProcesses());
  }
  return gpu;
}

Result<HostSnapshot> Observe(const Nvml& nvml) {
  HostSnapshot host;
  MIGCTL_ASSIGN_OR_RETURN(host.driver_version, nvml.DriverVersion());
  MIGCTL_ASSIGN_OR_RETURN(host.nvml_version, nvml.NvmlVersion());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Device> devices, nvml.Devices());
  for (const Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(GpuSnapshot gpu, ObserveGpu(device));
    host.gpus.push_back(std::move(gpu));
  }
  return host;
}

}  // namespace migctl::nvml
