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
  std::vector<GpuIndex> unselected;   ///< MIG-capable GPUs that no spec selects, by index.
  std::vector<std::string> warnings;  ///< One line each, `PATH:LINE:COLUMN: ...`.
};

struct MatchOptions {
  /// Refuse what mig-parted passes over: a `devices` index this host does not have, and a layout that
  /// selects no GPU of this host.
  bool strict = false;
};

/// Decides which spec of `config` (a layout of `file`) applies to each of `gpus`. A spec selects a GPU that
/// passes its device-filter (any entry; an entry with a subsystem part must match that too) and is in its
/// `devices`: `all` (MIG-capable GPUs only, as mig-parted), or listed by index, GPU UUID (or a unique prefix
/// of at least 8 characters after `GPU-`) or PCI bus id.
///
/// Skipped, as mig-parted does, so that one config serves hosts of different sizes and models (the GPU
/// Operator shares one ConfigMap across nodes):
/// - a spec whose device-filter matches no GPU here (a spec for another model). All of them together are one
///   warning line, and only when some MIG-capable GPU is left without a spec; none when every one has one;
/// - a listed index this host does not have (in a spec whose filter matches here): one warning line for all;
/// - a listed GPU that its spec's filter excludes: a warning;
/// - a layout that selects no GPU at all: a warning, and nothing to apply.
/// With `options.strict` the last but one and the last are errors. Errors, kInvalidInput, prefixed with the
/// position of what is wrong: those; a UUID or bus id that names no GPU (or several); a listed GPU that is
/// not MIG-capable while mig-enabled is true; a GPU selected twice (by two specs, which mig-parted would
/// apply in turn, or twice by one).
Result<DeviceAssignment> AssignDevices(const ConfigFile& file, const NamedConfig& config,
                                       const std::vector<HostGpu>& gpus, const MatchOptions& options = {});

}  // namespace migctl::spec
