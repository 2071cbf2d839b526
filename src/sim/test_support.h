// Shared by the simulator's tests: temporary state files and a GPU in a given state.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include "catalog/catalog.h"
#include "common/temp_dir.h"
#include "nvml/nvml_abi.h"
#include "sim/machine_state.h"

namespace migctl::sim::testing {

using migctl::TempDir;

/// The built-in model `key`; aborts the test binary when the catalog lacks it.
inline const GpuModel& Model(const std::string& key) {
  Result<const GpuModel*> model = FindModel(key);
  if (!model.ok()) std::abort();
  return **model;
}

/// A GPU of `key` with MIG mode `mig` current and pending.
inline SimGpu MakeGpu(const std::string& key, unsigned mig = NVML_DEVICE_MIG_ENABLE,
                      const std::string& uuid = "GPU-00000000-0000-0000-0000-000000000000") {
  SimGpu gpu;
  gpu.model = key;
  gpu.uuid = uuid;
  gpu.pci_bus_id = "00000000:07:00.0";
  gpu.mig_current = gpu.mig_pending = mig;
  return gpu;
}

}  // namespace migctl::sim::testing
