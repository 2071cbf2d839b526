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
