// The simulated machine as plain data: GPUs, their MIG mode, GPU/compute instances and fake processes, and
// its versioned JSON form (the state file's content).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace migctl::sim {

/// Version written to and accepted from state files.
inline constexpr int kStateVersion = 1;

/// A fake process. Where it runs: the whole GPU (no gi), a GPU instance (gi, no ci) or one compute instance.
struct SimProcess {
  unsigned pid = 0;
  std::string name;
  unsigned long long used_mib = 0;
  std::optional<unsigned> gi;
  std::optional<unsigned> ci;
  bool operator==(const SimProcess&) const = default;
};

/// A compute instance; `start`/`size` are on its GPU instance's compute-slice axis.
struct SimComputeInstance {
  unsigned id = 0;
  unsigned profile_id = 0;
  unsigned start = 0;
  unsigned size = 0;
  std::string uuid;  ///< MIG UUID of the MIG device this CI is.
  bool operator==(const SimComputeInstance&) const = default;
};

/// A GPU instance; `start`/`size` are on the model's memory-slot axis.
struct SimGpuInstance {
  unsigned id = 0;
  unsigned profile_id = 0;
  unsigned start = 0;
  unsigned size = 0;
  std::vector<SimComputeInstance> compute_instances;  ///< Ascending id.
  bool operator==(const SimGpuInstance&) const = default;
};

struct SimGpu {
  std::string model;       ///< Catalog key, e.g. `a100-80gb`.
  std::string uuid;        ///< `GPU-…`.
  std::string pci_bus_id;  ///< `00000000:XX:00.0`.
  unsigned minor = 0;
  unsigned mig_current = 0;  ///< NVML_DEVICE_MIG_DISABLE / _ENABLE.
  unsigned mig_pending = 0;
  std::vector<SimGpuInstance> gpu_instances;  ///< Ascending id.
  std::vector<SimProcess> processes;
  std::uint64_t creations = 0;  ///< Instances ever created on this GPU; feeds MIG UUIDs.
  bool operator==(const SimGpu&) const = default;
};

struct MachineState {
  std::uint64_t seed = 0;  ///< Source of the GPU UUIDs and GI id swizzles.
  std::vector<SimGpu> gpus;
  bool operator==(const MachineState&) const = default;
};

/// The state file's JSON: `{"version": 1, "seed": …, "gpus": [...]}`.
nlohmann::json MachineStateToJson(const MachineState& state);

/// Parses a state file's text and checks it with CheckMachineState (sim/state_check.h), so every loader gets
/// a machine the simulator can trust. kCorrupt for malformed JSON; a version other than kStateVersion (the
/// message names the version found and the one supported); a missing field or one of the wrong type or out
/// of range (a negative, fractional or overflowing number is never wrapped); and whatever CheckMachineState
/// refuses. The message is one line that names the GPU and the field, e.g. `GPU 0: GI 3: 'start' is -1, not
/// a whole number from 0 to 4294967295`; callers prefix the file.
Result<MachineState> ParseMachineState(std::string_view text);

/// Finders; nullptr when absent. Pointers are invalidated by any change to the containing vector.
SimGpuInstance* FindGpuInstance(SimGpu& gpu, unsigned gi_id);
const SimGpuInstance* FindGpuInstance(const SimGpu& gpu, unsigned gi_id);
SimComputeInstance* FindComputeInstance(SimGpuInstance& gi, unsigned ci_id);
const SimComputeInstance* FindComputeInstance(const SimGpuInstance& gi, unsigned ci_id);

}  // namespace migctl::sim
