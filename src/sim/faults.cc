#include "sim/faults.h"

#include <algorithm>
#include <charconv>

#include "sim/return_codes.h"

namespace migctl::sim {
namespace {

Error BadEntry(std::string_view entry, const std::string& why) {
  return MakeError(ErrorCode::kInvalidInput, "MIGSIM_FAULTS: bad entry '" + std::string(entry) + "': " + why +
                                                 "; expected FUNCTION@N=CODE or FUNCTION@N=CRASH, e.g. "
                                                 "nvmlDeviceCreateGpuInstance@2=INSUFFICIENT_RESOURCES");
}

}  // namespace

Result<FaultPlan> FaultPlan::Parse(std::string_view spec) {
  FaultPlan plan;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (entry.empty()) continue;
    size_t at = entry.find('@');
    size_t eq = entry.find('=');
    if (at == std::string_view::npos || eq == std::string_view::npos || eq < at || at == 0) {
      return BadEntry(entry, "it is not FUNCTION@N=CODE");
    }
    Rule rule;
    rule.function = std::string(entry.substr(0, at));
    std::string_view n = entry.substr(at + 1, eq - at - 1);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), rule.call);
    if (ec != std::errc() || end != n.data() + n.size() || rule.call == 0) {
      return BadEntry(entry, "'" + std::string(n) + "' is not a call number (1 or more)");
    }
    std::string_view code = entry.substr(eq + 1);
    if (code == "CRASH") {
      rule.action = {FaultAction::kCrash, NVML_SUCCESS};
    } else if (std::optional<nvmlReturn_t> parsed = ParseReturnCode(code)) {
      rule.action = {FaultAction::kReturn, *parsed};
    } else {
      return BadEntry(entry, "'" + std::string(code) + "' is not an NVML return code");
    }
    plan.rules_.push_back(std::move(rule));
  }
  return plan;
}

FaultAction FaultPlan::OnCall(std::string_view function) {
  auto rule_for = [&](const Rule& r) { return r.function == function; };
  if (std::ranges::none_of(rules_, rule_for)) return {};
  auto it = calls_.find(function);
  if (it == calls_.end()) it = calls_.emplace(std::string(function), 0).first;
  unsigned long long call = ++it->second;
  for (const Rule& rule : rules_) {
    if (rule.function == function && rule.call == call) return rule.action;
  }
  return {};
}

}  // namespace migctl::sim
