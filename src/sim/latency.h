// Simulated driver latency (MIGSIM_LATENCY): how long each NVML function takes before it acts.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "common/result.h"

namespace migctl::sim {

/// Parses `300ms`, `1.5s`, `20us`. kInvalidInput otherwise.
Result<std::chrono::microseconds> ParseDuration(std::string_view text);

/// Per-function delays from `FUNCTION=DURATION,…`, where the entry `realistic` adds the preset of
/// measured-order driver times (GI create 300 ms, GI destroy 150 ms, CI create 100 ms, CI destroy 50 ms, set
/// MIG mode and reset 1 s, init 10 ms). Later entries override earlier ones. Immutable after parsing;
/// thread-safe to query.
class LatencyPlan {
 public:
  /// An empty spec adds no delay. kInvalidInput naming the malformed entry.
  static Result<LatencyPlan> Parse(std::string_view spec);

  /// The delay for one call of `function`; zero when none is configured.
  std::chrono::microseconds DelayFor(std::string_view function) const;

 private:
  std::map<std::string, std::chrono::microseconds, std::less<>> delays_;
};

}  // namespace migctl::sim
