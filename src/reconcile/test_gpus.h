// Test-only: GPUs as planning observes them, built by hand from the catalog (no NVML).
#pragma once

#include <algorithm>
#include <vector>

#include "catalog/catalog.h"
#include "reconcile/observed_gpu.h"

namespace migctl::testing_gpus {

/// A GPU of `model` (index 0) in `mode`, with one GI per entry of `gis` (each with its full-width CI, GI ids
/// 1, 2, …); the GIs whose id is in `busy_gis` run a process.
inline ObservedGpu Gpu(const char* model, nvml::MigMode mode, std::vector<PlacedInstance> gis = {},
                       std::vector<unsigned> busy_gis = {}) {
  ObservedGpu gpu;
  gpu.geometry = *FindModel(model).value();
  gpu.snapshot.index = GpuIndex(0);
  gpu.snapshot.name = gpu.geometry.product_name;
  gpu.snapshot.mig = mode;
  unsigned id = 1;
  for (const PlacedInstance& p : gis) {
    const GiProfile* profile = gpu.geometry.FindProfile(p.profile);
    nvml::InstanceSnapshot i;
    i.profile = p.profile;
    i.profile_name = profile->name;
    i.gi = GiId(id);
    i.placement = {p.start, profile->placement_size};
    i.ci = CiId(0);
    i.ci_profile = profile->DefaultCiProfile()->id;
    i.ci_placement = nvml::Placement{0, profile->compute_slices};
    if (std::find(busy_gis.begin(), busy_gis.end(), id) != busy_gis.end())
      i.processes = {{4242, "python", 100}};
    gpu.snapshot.instances.push_back(i);
    ++id;
  }
  gpu.layout = LayoutOf(gpu.snapshot);
  return gpu;
}

}  // namespace migctl::testing_gpus
