// How migctl tells a person what went wrong: every error and warning is one line on stderr, prefixed
// `migctl: `, with control characters escaped (common/escape.h), whatever text the user or a file put into
// the message. The only places that print them.
#pragma once

#include <string_view>

#include "common/error.h"

namespace migctl {

/// Prints `error` as one line `migctl: MESSAGE` on stderr and, with `json`, as `{"error": {"code", "message",
/// "nvml_return"?}}` on stdout carrying the same escaped message. Returns `exit_code`.
int ReportError(const Error& error, bool json, int exit_code);

/// Prints `migctl: warning: MESSAGE` as one line on stderr.
void PrintWarning(std::string_view message);

/// Prints a note for people, `migctl: MESSAGE`, as one line on stderr (progress, what was set aside).
void PrintNote(std::string_view message);

}  // namespace migctl
