// The workloads file of `migctl plan --need-file`: named kinds of work, how many of each, what each needs.
//
//   workloads:
//     - name: llama-30b        # required, unique
//       memory: 30GiB          # a need: memory (10G, 30GiB, 512M), and/or
//       compute: 3             #   compute slices, or
//     # profile: 3g.40gb       #   a profile name (its memory and slices); not with memory/compute
//       count: 3               # default 1
//       priority: 10           # default 0; higher is served first
//       models: [a100-80gb]    # default: any model of the fleet
//
// Errors are `FILE:LINE:COL: what; fix`, as for configs. Unknown keys are errors too (a typo such as `memroy`
// would otherwise plan for nothing).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "spec/source_pos.h"

namespace migctl::spec {

struct WorkloadEntry {
  std::string name;
  unsigned count = 1;
  std::optional<unsigned long long> memory_mib;
  std::optional<unsigned> compute_slices;
  std::optional<std::string> profile;
  unsigned priority = 0;
  std::vector<std::string> models;
  SourcePos pos;
};

/// Parses a workloads file's text; `path` is for messages. kInvalidInput on any error.
Result<std::vector<WorkloadEntry>> ParseWorkloadsFile(std::string_view text, std::string_view path);

/// Reads and parses `path` (kNotFound when it does not exist).
Result<std::vector<WorkloadEntry>> LoadWorkloadsFile(const std::string& path);

}  // namespace migctl::spec
