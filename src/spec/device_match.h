// Which spec of a selected layout applies to which GPU of this host (mig-parted's device-filter and devices
// rules), checked so that a layout never silently misses or doubles a GPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "spec/config.h"

namespace migctl::spec {

/// What AssignDevices needs to know about one GPU of this host.
struct HostGpu {
  GpuIndex index;
  GpuUuid uuid;
  std::string pci_bus_id;  ///< NVML form, e.g. `00000000:3B:00.0`.
  std::uint16_t device_id = 0;
  std::uint16_t vendor_id = 0;
  std::optional<std::uint16_t> subsystem_device_id;  ///< nullopt: unknown (matches no subsystem filter).
  std::optional<std::uint16_t> subsystem_vendor_id;
  bool mig_capable = true;
};

/// One GPU and the spec that applies to it. `spec` points into the NamedConfig given to AssignDevices.
struct GpuAssignment {
  GpuIndex gpu;
  const MigConfigSpec* spec = nullptr;
};

struct DeviceAssignment {
  std::vector<GpuAssignment> gpus;    ///< By GPU index; a GPU no spec selects is absent (left untouched).
  std::vector<std::string> warnings;  ///< One line each, `PATH:LINE:COLUMN: ...`.
};

/// Decides which spec of `config` (a layout of `file`) applies to each of `gpus`. A spec selects a GPU that
/// passes its device-filter (any entry; an entry with a subsystem part must match that too) and is in its
/// `devices`: `all` (MIG-capable GPUs only, as mig-parted), or listed by index, GPU UUID (or a unique prefix
/// of at least 8 characters after `GPU-`) or PCI bus id.
///
/// A spec whose device-filter matches no GPU here is skipped with a warning (mig-parted's default config has
/// a spec per GPU model), and so is a listed GPU that its filter excludes. Errors, kInvalidInput, prefixed
/// with the position of what is wrong: a listed GPU that does not exist (in a spec whose filter matches
/// here); a listed GPU that is not MIG-capable while mig-enabled is true; a GPU selected twice (by two specs,
/// which mig-parted would apply in turn, or twice by one); and a layout that selects no GPU at all, so that
/// nothing would be applied.
Result<DeviceAssignment> AssignDevices(const ConfigFile& file, const NamedConfig& config,
                                       const std::vector<HostGpu>& gpus);

}  // namespace migctl::spec
