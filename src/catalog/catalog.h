// The GPU models migctl knows, compiled in from data/gpus/*.yaml: lookup by key and identification of a real
// GPU.
#pragma once

#include <string_view>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/result.h"

namespace migctl {

/// Every built-in model, sorted by key. Built on first use (thread-safe) and never freed; pointers into it
/// stay valid for the life of the process. No I/O.
const std::vector<GpuModel>& BuiltinModels();

/// The built-in model named `key` (case-insensitive, e.g. `h100-80gb`), or kNotFound listing the known keys.
Result<const GpuModel*> FindModel(std::string_view key);

/// The built-in model of a real GPU, or nullptr when migctl does not know it. `pci_device_id` is NVML's
/// `nvmlPciInfo_t.pciDeviceId`, `(device << 16) | vendor`; a match on the device id (vendor 0x10DE) wins,
/// otherwise `product_name` (nvmlDeviceGetName) must equal a model's product name exactly.
const GpuModel* IdentifyModel(std::string_view product_name, unsigned pci_device_id);

}  // namespace migctl
