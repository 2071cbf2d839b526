// A GPU as planning needs it: what runs there (snapshot), its geometry, and its GIs as a layout.
#pragma once

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "layout/diff.h"
#include "layout/layout.h"
#include "nvml/device.h"
#include "nvml/snapshot.h"

namespace migctl {

struct ObservedGpu {
  nvml::GpuSnapshot snapshot;
  GpuModel geometry;  ///< The built-in model when the GPU matches one, else what the device answers.
  Layout layout;      ///< One entry per GI, canonical order.
};

/// The GIs of a snapshot as a layout (one entry per GI, whatever its CIs).
Layout LayoutOf(const nvml::GpuSnapshot& snapshot);

/// The GIs of a snapshot with their CIs (placements, and busy when processes run on them), for DiffLayouts.
std::vector<CurrentGi> CurrentInstances(const nvml::GpuSnapshot& snapshot);

/// Observes `device` for planning. The geometry is the built-in model (IdentifyModel, no extra NVML calls)
/// when it knows the GPU, else ReadGeometry. Errors: NVML failures; kUnsupported when the GPU has no MIG.
Result<ObservedGpu> ObserveForPlanning(const nvml::Device& device);

/// The built-in model for `device` (by name and PCI id), else what the device answers (ReadGeometry).
Result<GpuModel> ModelOf(const nvml::Device& device);

/// The built-in model for a snapshot's GPU, or the device's own answers when the catalog does not know it.
Result<GpuModel> GeometryOf(const nvml::Device& device, const nvml::GpuSnapshot& snapshot);

}  // namespace migctl
