// Fault injection (MIGSIM_FAULTS): make the Nth call of an NVML function fail, or kill the caller there.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "nvml/nvml_abi.h"

namespace migctl::sim {

/// What to do at one call.
struct FaultAction {
  enum Kind { kProceed, kReturn, kCrash } kind = kProceed;
  nvmlReturn_t code = NVML_SUCCESS;  ///< For kReturn.
};

/// Rules parsed from `FUNCTION@N=CODE,…` (CODE a return-code name or number, or CRASH) plus the per-process
/// call counters they need. Not thread-safe; libmigsim calls it under its mutex.
class FaultPlan {
 public:
  /// Parses `spec`; an empty spec injects nothing. kInvalidInput naming the malformed entry.
  static Result<FaultPlan> Parse(std::string_view spec);

  /// Counts one call of `function` (1-based per function) and says what that call must do.
  FaultAction OnCall(std::string_view function);

 private:
  struct Rule {
    std::string function;
    unsigned long long call = 0;
    FaultAction action;
  };
  std::vector<Rule> rules_;
  std::map<std::string, unsigned long long, std::less<>> calls_;
};

}  // namespace migctl::sim
