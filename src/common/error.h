// Error values: what failed, what to do next, and the raw NVML return when NVML was involved.
#pragma once

#include <string>

namespace migctl {

/// Broad classes of failure; `cli/` maps them to exit codes (bad input → 2, everything else → 1).
enum class ErrorCode {
  kInvalidInput,  ///< The user asked for something malformed: a bad flag value, unknown profile, bad spec.
  kNotFound,      ///< A named thing (GPU, instance, model, file) does not exist.
  kInfeasible,    ///< A requested layout cannot fit on the GPU; the message says why.
  kBusy,          ///< Something is in use (processes on an instance, a lock held).
  kUnsupported,   ///< The GPU, driver or environment cannot do this (MIG off, symbol missing, no reset).
  kNvml,          ///< NVML answered an error not covered above; `nvml_return` holds it.
  kIo,            ///< File system or process failure.
  kCorrupt,       ///< Persisted data is unreadable or of an unknown version.
  kInternal,      ///< A bug in migctl.
};

/// Name of a code as used in `--json` output (`"invalid_input"`, ...).
const char* ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  ///< One line: what failed and what to do next.
  int nvml_return = 0;  ///< Raw nvmlReturn_t when NVML produced this error, else 0 (NVML_SUCCESS).

  /// Prefixes context ("GPU 0: ") to the message, keeping code and NVML return.
  Error WithContext(const std::string& prefix) const;
};

inline Error MakeError(ErrorCode code, std::string message, int nvml_return = 0) {
  return Error{code, std::move(message), nvml_return};
}

/// True for errors that come from what the user typed or asked for (exit code 2).
bool IsUserError(const Error& error);

}  // namespace migctl
