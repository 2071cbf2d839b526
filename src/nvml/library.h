// The NVML shared library, loaded once: dlopen, every entry point resolved once, nvmlInit on open,
// nvmlShutdown on close. The real libnvidia-ml.so.1 and the simulator's libmigsim.so are loaded the same way.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "nvml/nvml_abi.h"

namespace migctl::nvml {

/// One function pointer per entry point of MIGCTL_NVML_FUNCTIONS and MIGCTL_MIGSIM_FUNCTIONS, named as the
/// symbol. A pointer is null when the library exports neither the name nor its older fallback.
struct NvmlFunctions {
#define MIGCTL_NVML_POINTER_(name, ret, params) ret(*name) params = nullptr;
  MIGCTL_NVML_FUNCTIONS(MIGCTL_NVML_POINTER_)
  MIGCTL_MIGSIM_FUNCTIONS(MIGCTL_NVML_POINTER_)
#undef MIGCTL_NVML_POINTER_
};

/// An open, initialized NVML library. Owns the dlopen handle and the NVML session: the destructor calls
/// nvmlShutdown and dlclose. Immutable after Open; it adds no locking, so it is as thread-safe as the NVML
/// library it wraps (the real NVML is thread-safe; libmigsim serializes through its state-file lock).
class NvmlLibrary {
 public:
  static constexpr const char* kDefaultPath = "libnvidia-ml.so.1";

  /// Loads `path` (a file name searched the dlopen way, or a path) and initializes NVML with nvmlInit_v2, or
  /// nvmlInit where _v2 is missing. Versioned entry points are preferred; where the library lacks one, the
  /// older name with the same signature is used (nvmlInit, nvmlDeviceGetCount, nvmlDeviceGetHandleByIndex,
  /// nvmlDeviceGetPciInfo_v2, nvmlComputeInstanceGetInfo). Errors: kNotFound when the library cannot be
  /// loaded (the message names the path, dlerror, and the ways out: install the driver, --nvml PATH, --sim
  /// STATE); kUnsupported when it exports no nvmlInit at all; the mapped NVML error when init fails, with the
  /// library's own error text and the raw code in `nvml_return`.
  static Result<std::unique_ptr<NvmlLibrary>> Open(const std::string& path = kDefaultPath);

  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  /// The resolved entry points; call through them only after checking for null (see Missing).
  const NvmlFunctions& fn() const { return fn_; }
  const std::string& path() const { return path_; }

  /// The kUnsupported error for a null entry point: names the function and the library, and says the driver
  /// is too old for this operation.
  Error Missing(const char* function) const;

 private:
  NvmlLibrary(void* handle, std::string path);
  void ResolveAll();

  void* handle_;
  std::string path_;
  NvmlFunctions fn_;
  bool initialized_ = false;
};

}  // namespace migctl::nvml
