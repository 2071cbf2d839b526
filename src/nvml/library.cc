#include "nvml/library.h"

#include <dlfcn.h>

#include "nvml/nvml_error.h"

namespace migctl::nvml {
namespace {

template <typename F>
void Resolve(void* handle, F& slot, const char* name) {
  if (slot == nullptr) slot = reinterpret_cast<F>(dlsym(handle, name));
}

}  // namespace

NvmlLibrary::NvmlLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}

NvmlLibrary::~NvmlLibrary() {
  // Shutdown's result has no one left to report to: the session ends either way.
  if (initialized_ && fn_.nvmlShutdown != nullptr) fn_.nvmlShutdown();
  dlclose(handle_);
}

void NvmlLibrary::ResolveAll() {
#define MIGCTL_NVML_RESOLVE_(name, ret, params) Resolve(handle_, fn_.name, #name);
  MIGCTL_NVML_FUNCTIONS(MIGCTL_NVML_RESOLVE_)
  MIGCTL_MIGSIM_FUNCTIONS(MIGCTL_NVML_RESOLVE_)
#undef MIGCTL_NVML_RESOLVE_
  // Older names of the same signature, for drivers that predate the versioned entry point. The older process
  // and possible-placement calls take other structs or semantics, so those have no fallback.
  Resolve(handle_, fn_.nvmlInit_v2, "nvmlInit");
  Resolve(handle_, fn_.nvmlDeviceGetCount_v2, "nvmlDeviceGetCount");
  Resolve(handle_, fn_.nvmlDeviceGetHandleByIndex_v2, "nvmlDeviceGetHandleByIndex");
  Resolve(handle_, fn_.nvmlDeviceGetPciInfo_v3, "nvmlDeviceGetPciInfo_v2");
  Resolve(handle_, fn_.nvmlComputeInstanceGetInfo_v2, "nvmlComputeInstanceGetInfo");
}

Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Open(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return MakeError(
        ErrorCode::kNotFound,
        "cannot load the NVML library " + path + " (" + dlerror() +
            "); install the NVIDIA driver, or pass --nvml PATH, or use --sim STATE for a simulated GPU");
  }
  std::unique_ptr<NvmlLibrary> library(new NvmlLibrary(handle, path));
  library->ResolveAll();
  const NvmlFunctions& fn = library->fn_;
  if (fn.nvmlInit_v2 == nullptr) {
    return MakeError(ErrorCode::kUnsupported,
                     path +
                         " exports neither nvmlInit_v2 nor nvmlInit; it is not an NVML "
                         "library (pass the right one with --nvml PATH)");
  }
  nvmlReturn_t rc = fn.nvmlInit_v2();
  if (rc != NVML_SUCCESS) {
    Error error = NvmlError(rc, "cannot initialize NVML from " + path);
    const char* text = fn.nvmlErrorString != nullptr ? fn.nvmlErrorString(rc) : nullptr;
    if (text != nullptr) error.message = "cannot initialize NVML from " + path + ": " + text;
    error.message += " (NVML error " + std::to_string(rc) +
                     "); check that the NVIDIA kernel driver is loaded " +
                     "(nvidia-smi says why), or use --sim STATE";
    return error;
  }
  library->initialized_ = true;
  return library;
}

Error NvmlLibrary::Missing(const char* function) const {
  return MakeError(ErrorCode::kUnsupported,
                   std::string(function) + " is not exported by " + path_ +
                       ": the NVIDIA driver is too old for this operation; upgrade it");
}

}  // namespace migctl::nvml
