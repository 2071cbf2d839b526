// Turning an nvmlReturn_t into a migctl Error: the code class, a one-line message, and the raw return kept.
#pragma once

#include <string>

#include "common/error.h"
#include "nvml/nvml_abi.h"

namespace migctl::nvml {

/// NVML's text for a return code, from our own table (the library's nvmlErrorString may be absent). Uses the
/// strings nvidia-smi prints where they were observed ("Insufficient Resources", "In use by another client",
/// "Not Supported"); unknown codes answer "Unknown Error".
const char* ReturnString(nvmlReturn_t rc);

/// The error for a failed NVML call: message `"<what>: <ReturnString(rc)>"` (plus the next step where there
/// is an obvious one), `nvml_return = rc`. Codes: INSUFFICIENT_RESOURCES → kInfeasible, IN_USE → kBusy,
/// NOT_SUPPORTED → kUnsupported, NOT_FOUND and GPU_NOT_FOUND → kNotFound, INVALID_ARGUMENT → kInvalidInput,
/// NO_PERMISSION → kUnsupported (with "run as root or grant the mig/config capability"), anything else →
/// kNvml. Precondition: rc != NVML_SUCCESS.
Error NvmlError(nvmlReturn_t rc, std::string what);

}  // namespace migctl::nvml
