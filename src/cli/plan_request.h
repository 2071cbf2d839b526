// The command-line forms of `migctl plan`'s input: `--fleet a100-80gb:4,h100-80gb:2`, `--need "30GiB x3,
// 8GiB x10"` and `--demand "3g.40gb:2, 2g.20gb:3"`, turned into the planner's values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/result.h"
#include "planner/plan.h"

namespace migctl {

/// `MODEL[:COUNT][,MODEL[:COUNT]...]` with catalog model keys; GPUs are numbered 0.. in the order given.
/// kInvalidInput for an unknown model (listing the known ones), a bad count, or an empty list.
Result<std::vector<planner::FleetGroup>> ParseFleetSpec(std::string_view text);

/// `SIZE[ xN][, SIZE[ xN]...]` (also `×N`): memory needs, e.g. `30GiB x3, 18GiB x4, 8GiB`.
Result<std::vector<planner::Workload>> ParseNeeds(std::string_view text);

/// `PROFILE[:N][, PROFILE[:N]...]`: profile needs, e.g. `3g.40gb:2, 2g.20gb:3, 1g.10gb:6`.
Result<std::vector<planner::Workload>> ParseDemand(std::string_view text);

/// The workloads of `--need`, `--demand` and `--need-file` (spec/workloads_file.h), in that order; each may be
/// empty, but not all (kInvalidInput saying what to give).
Result<std::vector<planner::Workload>> ParseWorkloads(const std::string& need, const std::string& demand,
                                                      const std::string& need_file);

/// The three options ParseWorkloads reads (--need, --demand, --need-file), for `plan` and `reshape`.
void AddWorkloadOptions(CLI::App* cmd, std::string* need, std::string* demand, std::string* need_file);

}  // namespace migctl
