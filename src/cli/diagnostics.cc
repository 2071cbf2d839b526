#include "cli/diagnostics.h"

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "common/escape.h"

namespace migctl {

int ReportError(const Error& error, bool json, int exit_code) {
  const std::string message = EscapeControl(error.message);
  if (json) {
    nlohmann::ordered_json doc = {{"error", {{"code", ErrorCodeName(error.code)}, {"message", message}}}};
    if (error.nvml_return != 0) doc["error"]["nvml_return"] = error.nvml_return;
    // Bytes that are not UTF-8 (an argument, a file name) become U+FFFD rather than an exception.
    std::fprintf(stdout, "%s\n",
                 doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
  }
  std::fprintf(stderr, "migctl: %s\n", message.c_str());
  return exit_code;
}

void PrintWarning(std::string_view message) {
  std::fprintf(stderr, "migctl: warning: %s\n", EscapeControl(message).c_str());
}

void PrintNote(std::string_view message) {
  std::fprintf(stderr, "migctl: %s\n", EscapeControl(message).c_str());
}

}  // namespace migctl
