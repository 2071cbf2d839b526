#include "sim/session.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "catalog/catalog.h"

namespace migctl::sim {
namespace {

const char* Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

bool IsInit(const char* function) { return std::string_view(function).starts_with("nvmlInit"); }

}  // namespace

Session& Session::Get() {
  static Session* session = new Session;  // Leaked on purpose: NVML calls may come from atexit handlers.
  return *session;
}

void Session::Configure() {
  debug_ = *Env("MIGSIM_DEBUG") != '\0';
  Result<FaultPlan> faults = FaultPlan::Parse(Env("MIGSIM_FAULTS"));
  Result<LatencyPlan> latency = LatencyPlan::Parse(Env("MIGSIM_LATENCY"));
  if (!faults.ok()) {
    config_error_ = faults.error().message;
  } else if (!latency.ok()) {
    config_error_ = latency.error().message;
  } else {
    faults_ = std::move(faults).value();
    latency_ = std::move(latency).value();
  }
}

void Session::Debug(const std::string& message) const {
  if (debug_) std::fprintf(stderr, "migsim: %s\n", message.c_str());
}

std::optional<nvmlReturn_t> Session::Enter(const char* function) {
  std::call_once(configured_, [this] { Configure(); });
  if (config_error_) {
    if (!IsInit(function)) return NVML_ERROR_UNINITIALIZED;
    std::fprintf(stderr, "migsim: %s\n", config_error_->c_str());
    return NVML_ERROR_UNKNOWN;
  }
  if (auto delay = latency_.DelayFor(function); delay.count() > 0) std::this_thread::sleep_for(delay);
  std::lock_guard lock(mutex_);
  FaultAction action = faults_.OnCall(function);
  switch (action.kind) {
    case FaultAction::kProceed:
      return std::nullopt;
    case FaultAction::kReturn:
      Debug(std::string("injected fault: ") + function + " returns " + std::to_string(action.code));
      return action.code;
    case FaultAction::kCrash:
      Debug(std::string("injected fault: ") + function + " kills the process");
      ::kill(::getpid(), SIGKILL);
      ::_exit(137);
  }
  return std::nullopt;
}

nvmlReturn_t Session::Init() {
  const char* path = Env("MIGSIM_STATE");
  if (*path == '\0') {
    Debug("MIGSIM_STATE is not set; point it at a machine made with `migctl sim init`");
    return NVML_ERROR_DRIVER_NOT_LOADED;
  }
  if (!file_ || file_->path() != path) file_.emplace(path);
  Result<const MachineState*> state = file_->Read();
  if (!state.ok()) {
    Debug(state.error().message);
    return NVML_ERROR_DRIVER_NOT_LOADED;
  }
  ++init_count_;
  return NVML_SUCCESS;
}

nvmlReturn_t Session::Shutdown() {
  if (init_count_ == 0) return NVML_ERROR_UNINITIALIZED;
  --init_count_;
  return NVML_SUCCESS;
}

nvmlReturn_t Session::Machine(const MachineState** state) {
  Result<const MachineState*> read = file_->Read();
  if (!read.ok()) {
    Debug(read.error().message);
    return NVML_ERROR_UNKNOWN;
  }
  *state = *read;
  return NVML_SUCCESS;
}

nvmlReturn_t Session::Gpu(unsigned index, GpuView* view) {
  const MachineState* state = nullptr;
  if (nvmlReturn_t ret = Machine(&state); ret != NVML_SUCCESS) return ret;
  if (index >= state->gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
  Result<const GpuModel*> model = FindModel(state->gpus[index].model);
  if (!model.ok()) {
    Debug(model.error().message);
    return NVML_ERROR_UNKNOWN;
  }
  *view = {index, &state->gpus[index], *model};
  return NVML_SUCCESS;
}

nvmlReturn_t Session::Mutate(unsigned index,
                             const std::function<nvmlReturn_t(const GpuModel&, SimGpu&)>& op) {
  nvmlReturn_t result = NVML_SUCCESS;
  Status written = file_->Update([&](MachineState& state) {
    if (index >= state.gpus.size()) {
      result = NVML_ERROR_INVALID_ARGUMENT;
      return false;
    }
    Result<const GpuModel*> model = FindModel(state.gpus[index].model);
    if (!model.ok()) {
      Debug(model.error().message);
      result = NVML_ERROR_UNKNOWN;
      return false;
    }
    result = op(**model, state.gpus[index]);
    return result == NVML_SUCCESS;
  });
  if (!written.ok()) {
    Debug(written.error().message);
    return NVML_ERROR_UNKNOWN;
  }
  return result;
}

}  // namespace migctl::sim
