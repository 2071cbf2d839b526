#include "sim/latency.h"

#include <charconv>
#include <utility>

namespace migctl::sim {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const std::pair<const char*, microseconds> kRealistic[] = {
    {"nvmlInit_v2", milliseconds(10)},
    {"nvmlInit", milliseconds(10)},
    {"nvmlInitWithFlags", milliseconds(10)},
    {"nvmlDeviceCreateGpuInstance", milliseconds(300)},
    {"nvmlDeviceCreateGpuInstanceWithPlacement", milliseconds(300)},
    {"nvmlGpuInstanceDestroy", milliseconds(150)},
    {"nvmlGpuInstanceCreateComputeInstance", milliseconds(100)},
    {"nvmlGpuInstanceCreateComputeInstanceWithPlacement", milliseconds(100)},
    {"nvmlComputeInstanceDestroy", milliseconds(50)},
    {"nvmlDeviceSetMigMode", milliseconds(1000)},
    {"migsimDeviceReset", milliseconds(1000)},
};

Error BadEntry(std::string_view entry, const std::string& why) {
  return MakeError(ErrorCode::kInvalidInput,
                   "MIGSIM_LATENCY: bad entry '" + std::string(entry) + "': " + why +
                       "; expected FUNCTION=DURATION (300ms, 1.5s, 20us) or realistic");
}

}  // namespace

Result<microseconds> ParseDuration(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, text.data() + text.size() - end);
  double scale = unit == "us" ? 1 : unit == "ms" ? 1e3 : unit == "s" ? 1e6 : -1;
  if (ec != std::errc() || end == text.data() || value < 0 || scale < 0) {
    return MakeError(ErrorCode::kInvalidInput,
                     "'" + std::string(text) + "' is not a duration such as 300ms, 1.5s or 20us");
  }
  return microseconds(static_cast<long long>(value * scale + 0.5));
}

Result<LatencyPlan> LatencyPlan::Parse(std::string_view spec) {
  LatencyPlan plan;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view entry = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "realistic") {
      for (const auto& [function, delay] : kRealistic) plan.delays_[function] = delay;
      continue;
    }
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) return BadEntry(entry, "it is not FUNCTION=DURATION");
    Result<microseconds> delay = ParseDuration(entry.substr(eq + 1));
    if (!delay.ok()) return BadEntry(entry, delay.error().message);
    plan.delays_[std::string(entry.substr(0, eq))] = *delay;
  }
  return plan;
}

microseconds LatencyPlan::DelayFor(std::string_view function) const {
  auto it = delays_.find(function);
  return it == delays_.end() ? microseconds(0) : it->second;
}

}  // namespace migctl::sim
