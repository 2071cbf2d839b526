// What the NVIDIA Kubernetes stack reads about a node's MIG devices, written by migctl: GPU Feature
// Discovery's labels (for Node Feature Discovery's features.d) and the device plugin's MIG strategy. MIG
// types are named with the device plugin's own formula (DevicePluginType), so the resources pods request
// (`nvidia.com/mig-3g.40gb`) and the labels agree with what the plugin advertises. Pure.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"

namespace migctl {

/// A GPU as the labels see it: its name and memory, and its MIG devices (none with MIG off).
struct KubeGpu {
  std::string name;                     ///< `NVIDIA H100 80GB HBM3`
  unsigned long long memory_bytes = 0;  ///< The whole GPU's, as NVML reports it.
  bool mig = false;                     ///< MIG is on now.
  struct Device {
    nvml::MigDeviceAttributes attributes;
    std::string
        profile_suffix;  ///< What follows the slices and memory in the GI profile's name: `+me`, or empty.
  };
  std::vector<Device> devices;
};

enum class MigStrategy { kNone, kSingle, kMixed };
const char* MigStrategyName(MigStrategy s);  ///< none, single, mixed

/// The device plugin's name of a MIG device's type, without `mig-`: `3g.40gb`, `1c.3g.40gb` for a compute
/// instance smaller than its GPU instance, `1g.10gb+me`. Memory in GB as go-nvlib's getMigMemorySizeGB:
/// the device's share of the GPU rounded up to eighths, times the GPU's whole GiB, rounded.
std::string DevicePluginType(const KubeGpu& gpu, const KubeGpu::Device& device);

/// The strategy the layout allows: none when no GPU has MIG on; single when every GPU has MIG on and all MIG
/// devices (at least one) are of one type; mixed otherwise.
MigStrategy StrategyFor(const std::vector<KubeGpu>& gpus);

/// GFD's labels for `strategy`, one `key=value` a line, sorted: `nvidia.com/mig.strategy`, and per type
/// `nvidia.com/mig-<type>.{count,memory,multiprocessors,slices.gi,slices.ci,engines.*,product}` (mixed) or
/// the `nvidia.com/gpu.*` overrides (single). kInvalidInput when the layout does not allow `strategy` (single
/// with two types, or a GPU with MIG off), naming what differs.
Result<std::vector<std::string>> GfdLabels(const std::vector<KubeGpu>& gpus, MigStrategy strategy);

/// Whether `value` is a valid Kubernetes label value: at most 63 characters, alphanumerics with `-`, `_`
/// and `.` inside.
bool IsLabelValue(const std::string& value);

/// The device plugin's configuration file (version v1) with `flags.migStrategy`.
std::string DevicePluginConfig(MigStrategy strategy);

}  // namespace migctl
