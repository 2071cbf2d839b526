// What `migctl sim …` does to a simulated machine: create it, read it, attach and detach fake processes.
// Every function opens the state file itself and holds its lock for the duration, so these are safe to call
// while other processes use the same machine through libmigsim.so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"
#include "common/result.h"
#include "sim/machine_state.h"

namespace migctl::sim {

/// Most GPUs one simulated machine may have.
inline constexpr unsigned kMaxGpus = 64;

/// Parses `MODEL[:COUNT][,MODEL[:COUNT]…]` (e.g. `a100-80gb:8`, `h100-80gb:2,a30-24gb`) into one model per
/// GPU, in order. kInvalidInput for bad syntax or counts (1..kMaxGpus in all); kNotFound for an unknown
/// model, listing the known keys.
Result<std::vector<const GpuModel*>> ParseMachineSpec(std::string_view spec);

/// A fresh machine for `spec`: GPUs in spec order, MIG disabled, UUIDs derived from `seed`, PCI bus ids and
/// minor numbers as on a DGX-style host. Errors as ParseMachineSpec.
Result<MachineState> NewMachine(std::string_view spec, std::uint64_t seed);

/// Creates the machine for `spec` at `path` and returns it. Refuses (kInvalidInput) to replace an existing
/// file unless `force`. Without `seed` a random one is drawn.
Result<MachineState> InitMachine(const std::string& path, std::string_view spec, bool force,
                                 std::optional<std::uint64_t> seed = std::nullopt);

/// The machine at `path`. kNotFound when there is none, kCorrupt for an unreadable or unknown-version file.
Result<MachineState> LoadMachine(const std::string& path);

/// Where a fake process runs: the whole GPU, a GPU instance, or a compute instance of one.
struct ProcessPlace {
  GpuIndex gpu;
  std::optional<GiId> gi;
  std::optional<CiId> ci;  ///< Requires gi.
};

/// Attaches a fake process using `used_mib` of memory at `place`, so the instance counts as busy (IN_USE) and
/// the process shows in nvmlDeviceGetComputeRunningProcesses. `pid` 0 picks an unused pid. Returns the pid.
/// Errors: kNotFound for a GPU/GI/CI that does not exist; kUnsupported for a GI/CI while MIG is off;
/// kInvalidInput for a ci without gi, a name with control characters, a pid above kMaxPid (sim/state_check.h)
/// or one already attached; kInfeasible when the memory does not fit what is left there; kBusy when no pid is
/// left to pick.
Result<unsigned> AttachProcess(const std::string& path, const ProcessPlace& place, unsigned pid,
                               const std::string& name, unsigned long long used_mib);

/// Detaches the fake process `pid`. kNotFound when no GPU has it.
Status DetachProcess(const std::string& path, unsigned pid);

}  // namespace migctl::sim
