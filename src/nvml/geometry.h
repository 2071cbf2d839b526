// Reading a GPU's MIG geometry from the live device, so migctl works on GPUs the catalog does not know.
#pragma once

#include <string>
#include <string_view>

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "nvml/device.h"

namespace migctl::nvml {

/// Builds a GpuModel from what `device` answers: product name, PCI device id, architecture, whole-GPU memory,
/// and per GI profile (in NVML index order) its id, index, name, slices, memory, SMs, engines, limit,
/// placement size and starts, media kind. memory_slots = max(start + size) over all placements;
/// compute_slices = the largest profile's slices; multiprocessors = the largest profile's SMs. CI profiles
/// are filled only for GI profiles of which a GI exists now (NVML answers them only through a GI); otherwise
/// they stay empty. `key` is the built-in model's (IdentifyModel) when that model has the same profile ids,
/// placement sizes and starts, else empty. When NVML does not report a MIG architecture, `architecture` keeps
/// its default and `notes` says so. Errors: kUnsupported when the GPU has no MIG profiles; NVML errors as
/// mapped.
Result<GpuModel> ReadGeometry(const Device& device);

/// NVIDIA's naming rule (go-nvlib, facts §1.7) for a GI profile read without a name: `<G>g.<GB>gb<suffix>`
/// with G and the suffix (`+me`, `-me`, `+me.all`, `+gfx`) from the NVML_GPU_INSTANCE_PROFILE_* index and GB
/// the profile's eighth-fraction of the card times the card's whole GiB. Empty for an index the rule does not
/// know or a zero device memory.
std::string DeriveGiProfileName(unsigned nvml_index, unsigned long long profile_memory_mib,
                                unsigned long long device_memory_mib);

}  // namespace migctl::nvml
