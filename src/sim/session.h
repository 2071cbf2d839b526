// The per-process side of libmigsim.so: NVML's init reference count, the environment's configuration (state
// file, faults, latency), the handle registry and the state file cache, behind one mutex.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "catalog/gpu_model.h"
#include "nvml/nvml_abi.h"
#include "sim/faults.h"
#include "sim/handles.h"
#include "sim/latency.h"
#include "sim/machine_state.h"
#include "sim/state_file.h"

namespace migctl::sim {

/// One GPU as a call sees it: the state of that GPU and its model.
struct GpuView {
  unsigned index;
  const SimGpu* gpu;
  const GpuModel* model;
};

/// The process-wide simulator session. Every exported NVML function goes through Enter() and then holds
/// mutex().
class Session {
 public:
  /// The one session of this process; never destroyed, so calls made during exit still work.
  static Session& Get();

  /// Runs at the start of every NVML call named `function`: reads the environment once, sleeps the configured
  /// latency, and applies fault injection (a CRASH kills the process with SIGKILL). Returns the code the call
  /// must return at once (an injected fault, or UNINITIALIZED/UNKNOWN when the configuration is malformed),
  /// else nullopt. Takes mutex() itself; call it without holding it.
  std::optional<nvmlReturn_t> Enter(const char* function);

  std::mutex& mutex() { return mutex_; }

  /// nvmlInit*: opens MIGSIM_STATE and counts a reference. DRIVER_NOT_LOADED when it is unset, missing or
  /// corrupt (explained on stderr when MIGSIM_DEBUG is set). Caller holds mutex().
  nvmlReturn_t Init();
  /// nvmlShutdown: drops a reference; UNINITIALIZED when there is none. Caller holds mutex().
  nvmlReturn_t Shutdown();
  bool initialized() const { return init_count_ > 0; }

  /// The current machine (reloaded when the file changed). UNKNOWN when it cannot be read. Caller holds
  /// mutex().
  nvmlReturn_t Machine(const MachineState** state);
  /// GPU `index` of the current machine: INVALID_ARGUMENT when out of range, UNKNOWN for an unknown model.
  nvmlReturn_t Gpu(unsigned index, GpuView* view);

  /// Applies `op` to GPU `index` under the state file's exclusive lock; the change is written when `op`
  /// returns SUCCESS. Returns what `op` returned, INVALID_ARGUMENT for a bad index, UNKNOWN on I/O errors.
  nvmlReturn_t Mutate(unsigned index, const std::function<nvmlReturn_t(const GpuModel&, SimGpu&)>& op);

  HandleRegistry& handles() { return handles_; }

 private:
  Session() = default;
  void Configure();
  void Debug(const std::string& message) const;

  std::once_flag configured_;
  std::optional<std::string> config_error_;
  bool debug_ = false;
  FaultPlan faults_;
  LatencyPlan latency_;

  std::mutex mutex_;
  int init_count_ = 0;
  std::optional<StateFile> file_;
  HandleRegistry handles_;
};

}  // namespace migctl::sim
