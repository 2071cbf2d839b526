// What on this host keeps a MIG mode change from taking effect, makes a GPU reset impossible, or would undo a
// layout at boot, each named with the command that clears it. Read from the file system only (/proc, /sys,
// /etc/systemd) under a root directory: the real probe reads `/` (or $MIGCTL_HOST_ROOT, e.g. `/host` in a
// container), tests build a host as a directory tree.
//
// What blocks what, and why:
// - A MIG mode change takes effect through a GPU reset (Ampere: `nvidia-smi -r`, or the driver's own reset
//   in SetMigMode) or, on Hopper and later, when the GPU goes idle. Either way no client may hold the GPU
//   open: the reset fails with "In use by another client", NVML answers IN_USE and the change stays pending.
//   The clients found on GPU hosts, all of which hold every GPU:
//   * the nvidia_drm kernel module (mig-parted #181 and its README's Known Issues: the reset fails until
//     `rmmod nvidia_drm`). nvidia_modeset is not reported: it is loaded with nvidia_drm and holds no GPU
//     on its own;
//   * DCGM's host engine (nv-hostengine), NVSM (nvsm*), dcgm-exporter, the Kubernetes device plugin and
//     gpu-feature-discovery: NVML clients that keep the GPUs open. mig-parted's hooks stop exactly these
//     before a mode change (and GPU Operator's mig-manager pauses them); a held GPU reports "In use by
//     another client" (mig-hardware-facts §7.7).
//   Instance changes (create/destroy) are not blocked by them; only processes on an instance are, and NVML
//   reports those per instance.
// - nvidia-persistenced is a note, not a blocker: the driver asks it to let go during a reset (NVIDIA,
//   deepops #633: persistenced and the fabric manager handshake with `nvidia-smi -r` and need not be
//   stopped). It is listed because many guides say to stop it.
// - A GPU whose PCI function offers no reset (no /sys/bus/pci/devices/<address>/reset, typical of
//   passthrough VMs) cannot activate a pending mode change without a reboot (NVML: RESET_REQUIRED;
//   mig-parted's boot service reboots once in that case).
// - Another MIG manager re-applies its own layout and undoes ours: mig-parted's nvidia-mig-manager.service
//   when enabled (at every boot, the layout in its MIG_PARTED_SELECTED_CONFIG), GPU Operator's
//   nvidia-mig-manager daemon when running (whenever the node label nvidia.com/mig.config is set or the pod
//   restarts).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migctl::integrations {

enum class BlockerKind {
  kBlocksModeChange,  ///< Holds the GPUs open: a MIG mode change cannot take effect while it is there.
  kNoReset,           ///< This GPU cannot be reset: a pending mode change needs a reboot.
  kConflict,          ///< Another MIG manager that re-applies its own layout (at boot, or when it restarts).
  kNote,              ///< Worth knowing; blocks nothing.
};

/// `blocks_mode_change`, `no_reset`, `conflict`, `note` (for --json).
const char* BlockerKindName(BlockerKind kind);

struct Blocker {
  BlockerKind kind = BlockerKind::kNote;
  std::string what;       ///< `nvidia_drm kernel module`, `DCGM host engine (nv-hostengine)`.
  std::vector<int> pids;  ///< For processes: every pid found, ascending; else empty.
  std::string gpu;        ///< For kNoReset: the GPU's bus id as given; else empty.
  std::string why;        ///< One line: what it does to a MIG change.
  std::string fix;        ///< One line: the command (or step) that clears it.
};

/// Turns an NVML PCI bus id (`00000000:3B:00.0`, or the legacy `0000:3B:00.0`) into the sysfs name
/// (`0000:3b:00.0`: 4-digit lower-case domain). kInvalidInput when it is not `DOMAIN:BUS:DEVICE.FUNCTION`.
Result<std::string> SysfsPciAddress(std::string_view nvml_bus_id);

/// Reads one host (see the file comment). Cheap to copy; thread-compatible. A file that cannot be read (a
/// process that ended while we looked, a tree without /proc) counts as absent: the probe reports what it
/// can see and never fails because of one entry.
class HostProbe {
 public:
  explicit HostProbe(std::string root = "/");
  /// Root $MIGCTL_HOST_ROOT when set and not empty, else `/`.
  static HostProbe FromEnvironment();

  const std::string& root() const { return root_; }

  /// Everything found, in this order: kernel modules, processes (by program, in the order of the file
  /// comment), GPUs without reset (for `gpu_bus_ids`, in their order), other MIG managers. kNotFound when
  /// the root is not a directory; kInvalidInput for a malformed bus id.
  Result<std::vector<Blocker>> Probe(const std::vector<std::string>& gpu_bus_ids = {}) const;

  /// Whether the GPU at this bus id offers a PCI reset; nullopt when sysfs does not list the device at all
  /// (a simulated GPU, or /sys not visible), so nothing can be said. kInvalidInput for a malformed bus id.
  Result<std::optional<bool>> PciResetAvailable(std::string_view nvml_bus_id) const;

 private:
  std::string Path(std::string_view relative) const;

  std::string root_;
};

}  // namespace migctl::integrations
