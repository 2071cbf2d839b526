#include "reconcile/observed_gpu.h"

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "nvml/geometry.h"

namespace migctl {

Layout LayoutOf(const nvml::GpuSnapshot& snapshot) {
  Layout layout;
  for (const nvml::InstanceSnapshot& i : snapshot.instances) layout.push_back({i.profile, i.placement.start});
  SortLayout(&layout);
  layout.erase(std::unique(layout.begin(), layout.end()), layout.end());
  return layout;
}

std::vector<CurrentGi> CurrentInstances(const nvml::GpuSnapshot& snapshot) {
  std::vector<CurrentGi> out;
  for (const nvml::InstanceSnapshot& i : snapshot.instances) {
    if (out.empty() || out.back().id != i.gi) out.push_back({i.gi, i.profile, i.placement.start, {}});
    if (i.ci)
      out.back().cis.push_back({*i.ci, i.ci_profile.value_or(CiProfileId(0)),
                                i.ci_placement ? i.ci_placement->start : 0, !i.processes.empty()});
  }
  return out;
}

Result<GpuModel> ModelOf(const nvml::Device& device) {
  MIGCTL_ASSIGN_OR_RETURN(std::string name, device.Name());
  MIGCTL_ASSIGN_OR_RETURN(nvml::PciInfo pci, device.Pci());
  if (const GpuModel* known = IdentifyModel(name, (pci.device_id << 16) | 0x10DE)) return *known;
  return nvml::ReadGeometry(device);
}

Result<GpuModel> GeometryOf(const nvml::Device& device, const nvml::GpuSnapshot& snapshot) {
  if (const GpuModel* known = IdentifyModel(snapshot.name, (snapshot.pci_device_id << 16) | 0x10DE))
    return *known;
  return nvml::ReadGeometry(device);
}

Result<ObservedGpu> ObserveForPlanning(const nvml::Device& device) {
  MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot snapshot, nvml::ObserveGpu(device));
  if (!snapshot.mig.has_value())
    return MakeError(ErrorCode::kUnsupported,
                     fmt::format("GPU {} ({}) does not support MIG", snapshot.index.value(), snapshot.name));
  MIGCTL_ASSIGN_OR_RETURN(GpuModel geometry, GeometryOf(device, snapshot));
  Layout layout = LayoutOf(snapshot);
  return ObservedGpu{std::move(snapshot), std::move(geometry), std::move(layout)};
}

}  // namespace migctl
