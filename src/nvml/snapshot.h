// What is on the host now: GPUs, MIG mode, instances, MIG devices and processes, as plain values. `migctl
// status` prints it; `apply` diffs against it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"
#include "common/result.h"
#include "nvml/device.h"

namespace migctl::nvml {

/// One (GI, CI) pair, or a GI without a CI (then every CI field and the MIG device fields are empty).
struct InstanceSnapshot {
  ProfileId profile;         ///< The GI's profile id.
  std::string profile_name;  ///< `3g.40gb`; empty when NVML gives no name.
  GiId gi;
  Placement placement;     ///< The GI's placement on the memory-slot axis.
  std::optional<CiId> ci;  ///< nullopt: the GI has no CI (and so no MIG device).
  std::optional<CiProfileId> ci_profile;
  std::optional<Placement> ci_placement;  ///< On the GI's compute-slice axis.
  std::optional<MigUuid> uuid;            ///< The MIG device's UUID.
  std::optional<MemoryInfo> memory;       ///< The MIG device's memory.
  std::vector<ProcessInfo> processes;     ///< Compute processes on the MIG device.
  std::optional<MigDeviceAttributes> attributes;  ///< The MIG device's SMs, engines, slices and memory.
};

struct GpuSnapshot {
  GpuIndex index;
  GpuUuid uuid;
  std::string name;
  std::string pci_bus_id;
  unsigned pci_device_id = 0;                ///< e.g. 0x2330.
  std::optional<unsigned> minor;             ///< The device minor (`/dev/nvidiaN`); nullopt when NVML has none.
  std::optional<Architecture> architecture;  ///< nullopt when not a MIG architecture or not reported.
  MemoryInfo memory;
  std::optional<MigMode> mig;               ///< nullopt: the GPU has no MIG.
  std::vector<InstanceSnapshot> instances;  ///< When MIG is on: by GI id, then CI id (a CI-less GI first).
  std::vector<GiProfileInfo> profiles;      ///< When MIG is on: the GI profiles the GPU answers (GiProfiles).
  std::vector<ProcessInfo> processes;  ///< When MIG is off (or absent): compute processes on the whole GPU.
};

struct HostSnapshot {
  std::string driver_version;
  std::string nvml_version;
  std::vector<GpuSnapshot> gpus;  ///< By index.
};

/// Observes one GPU. Instances are read only while MIG is currently on; a pending mode alone lists none.
/// CIs are found through the GPU's MIG devices (each CI is one), so a look scans no CI profiles; a GI with no
/// MIG device is asked for its CIs itself.
/// Errors: the first NVML failure, prefixed with the GPU (a GPU without MIG is not an error: `mig` is
/// nullopt).
Result<GpuSnapshot> ObserveGpu(const Device& device);

/// Observes every GPU of the host, plus the driver and NVML versions. Fails on the first GPU that fails.
Result<HostSnapshot> Observe(const Nvml& nvml);

}  // namespace migctl::nvml
