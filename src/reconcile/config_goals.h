// A selected layout of a config file, turned into one goal per GPU of this host.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/gpu_plan.h"
#include "spec/config.h"
#include "spec/device_match.h"

namespace migctl {

struct ConfigGoal {
  nvml::Device device;
  GpuGoal goal;
};

struct ConfigGoals {
  std::vector<ConfigGoal> gpus;       ///< By index; GPUs the layout does not select are absent (untouched).
  std::vector<GpuIndex> unselected;   ///< MIG-capable GPUs that no spec selects (assert fails on them).
  std::vector<std::string> warnings;  ///< From device matching and profile resolution; each once.
};

/// Matches `config` (of `file`) to the host's GPUs (spec::AssignDevices, with `options`) and resolves each
/// GPU's spec in that GPU's own profiles (spec::TargetInstances). Every error is the config's (kInvalidInput
/// with `PATH:LINE:COL:`) or NVML's; nothing is changed.
Result<ConfigGoals> GoalsFromConfig(const std::vector<nvml::Device>& devices, const spec::ConfigFile& file,
                                    const spec::NamedConfig& config, const spec::MatchOptions& options = {});

}  // namespace migctl
