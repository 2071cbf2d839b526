#include "metrics/collect.h"

#include <chrono>

namespace migctl::metrics {

Result<HostSample> Collect(const nvml::Nvml& nvml, const LeaseTable* leases, const std::string& hostname) {
  const auto start = std::chrono::steady_clock::now();
  HostSample sample;
  sample.hostname = hostname;
  MIGCTL_ASSIGN_OR_RETURN(sample.driver_version, nvml.DriverVersion());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, nvml.Devices());
  for (const nvml::Device& device : devices) {
    GpuSample gpu;
    MIGCTL_ASSIGN_OR_RETURN(gpu.snapshot, nvml::ObserveGpu(device));
    if (gpu.snapshot.mig && gpu.snapshot.mig->current) {
      MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::GiProfileInfo> profiles, device.GiProfiles());
      for (const nvml::GiProfileInfo& p : profiles) {
        MIGCTL_ASSIGN_OR_RETURN(std::optional<unsigned> free, device.GiRemainingCapacity(p.id));
        if (free) gpu.room.push_back({p.id, p.name, *free});
      }
    }
    if (leases != nullptr)
      for (const nvml::InstanceSnapshot& i : gpu.snapshot.instances)
        if (i.uuid) gpu.leased[i.uuid->value()] = leases->Holder(i.uuid->value()).has_value();
    sample.gpus.push_back(std::move(gpu));
  }
  sample.collect_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sample;
}

}  // namespace migctl::metrics
