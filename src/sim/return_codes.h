// NVML return codes by name and by NVIDIA's message text.
#pragma once

#include <optional>
#include <string_view>

#include "nvml/nvml_abi.h"

namespace migctl::sim {

/// What nvmlErrorString answers. "Insufficient Resources", "In use by another client" and "Not Supported" are
/// observed on hardware; the others follow the strings NVIDIA's library is known to use. Unknown codes give
/// "Unknown Error".
const char* ReturnCodeMessage(nvmlReturn_t code);

/// Parses a code written as its name (`IN_USE`, `NVML_ERROR_IN_USE`, `SUCCESS`; case-insensitive) or a
/// decimal number (`19`). nullopt for anything else.
std::optional<nvmlReturn_t> ParseReturnCode(std::string_view text);

}  // namespace migctl::sim
