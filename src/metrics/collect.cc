#include "metrics/collect.h"

#include <chrono>

namespace migctl::metrics {

namespace {

/// Takes this look's GPM samples of `device` (the whole GPU with MIG off, each GPU instance with MIG on) and,
/// where the last look left one, the metrics since then.
Status SampleGpm(const nvml::Device& device, GpuSample& gpu, GpmState& state,
                 std::map<std::pair<unsigned, long long>, nvml::GpmSample>& next) {
  const unsigned index = device.index().value();
  if (!state.supported.contains(index)) {
    MIGCTL_ASSIGN_OR_RETURN(state.supported[index], device.GpmSupported());
  }
  if (!state.supported[index]) return Ok();
  std::vector<std::optional<GiId>> targets;
  if (gpu.snapshot.mig && gpu.snapshot.mig->current) {
    for (const nvml::InstanceSnapshot& i : gpu.snapshot.instances)
      if (targets.empty() || targets.back() != std::optional(i.gi)) targets.push_back(i.gi);
  } else {
    targets.push_back(std::nullopt);
  }
  for (const std::optional<GiId>& gi : targets) {
    const std::pair<unsigned, long long> key(index, gi ? static_cast<long long>(gi->value()) : -1);
    if (next.contains(key)) continue;
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpmSample sample, device.TakeGpmSample(gi));
    if (const auto last = state.last.find(key); last != state.last.end()) {
      MIGCTL_ASSIGN_OR_RETURN(nvml::GpmMetrics metrics, nvml::GpmMetricsBetween(last->second, sample));
      if (gi)
        gpu.gpm_gi[gi->value()] = metrics;
      else
        gpu.gpm = metrics;
    }
    next.emplace(key, std::move(sample));
  }
  return Ok();
}

}  // namespace

Result<HostSample> Collect(const nvml::Nvml& nvml, const LeaseTable* leases, const std::string& hostname,
                           GpmState* gpm) {
  const auto start = std::chrono::steady_clock::now();
  HostSample sample;
  sample.hostname = hostname;
  MIGCTL_ASSIGN_OR_RETURN(sample.driver_version, nvml.DriverVersion());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, nvml.Devices());
  std::map<std::pair<unsigned, long long>, nvml::GpmSample> next;  // this look's GPM samples
  const std::map<std::string, pid_t> held =
      leases != nullptr ? leases->Holders() : std::map<std::string, pid_t>();
  for (const nvml::Device& device : devices) {
    GpuSample gpu;
    MIGCTL_ASSIGN_OR_RETURN(gpu.snapshot, nvml::ObserveGpu(device));
    if (gpm != nullptr) MIGCTL_RETURN_IF_ERROR(SampleGpm(device, gpu, *gpm, next));
    if (gpu.snapshot.mig && gpu.snapshot.mig->current) {
      for (const nvml::GiProfileInfo& p : gpu.snapshot.profiles) {
        MIGCTL_ASSIGN_OR_RETURN(std::optional<unsigned> free, device.GiRemainingCapacity(p.id));
        if (free) gpu.room.push_back({p.id, p.name, *free});
      }
    }
    for (const nvml::InstanceSnapshot& i : gpu.snapshot.instances)
      if (i.uuid) gpu.leased[i.uuid->value()] = held.contains(i.uuid->value());
    // The whole GPU: one key for a run on it, `UUID/slotN` (a file `UUID.slotN`) per worker sharing it.
    const std::string uuid = gpu.snapshot.uuid.value(), slot = uuid + ".slot";
    for (auto it = held.lower_bound(uuid); it != held.end() && it->first.starts_with(uuid); ++it)
      if (it->first == uuid || it->first.starts_with(slot)) ++gpu.leased_workers;
    sample.gpus.push_back(std::move(gpu));
  }
  if (gpm != nullptr) gpm->last = std::move(next);  // samples of instances that are gone are dropped
  sample.collect_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return sample;
}

}  // namespace migctl::metrics
