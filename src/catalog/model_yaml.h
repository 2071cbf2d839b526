// Reads one GPU model from its data/gpus/<key>.yaml text (schema: data/gpus/README.md). Build-time only:
// catalog_gen and the tests use it; the run-time catalog is compiled C++ and does not link yaml-cpp.
#pragma once

#include <string_view>

#include "catalog/gpu_model.h"
#include "common/result.h"

namespace migctl {

/// Parses and validates a model. `file_name` only prefixes error messages. On success the GI profiles are in
/// NVML index order, each with `media` set from its name's suffix (`+me`, `+me.all`, `-me`) and its CI
/// profiles derived: one per size in `ci_sizes`, by CI profile id, where a CI of size s has id
/// NVML_COMPUTE_INSTANCE_PROFILE_<s>_SLICE (1→0, 2→1, 3→2, 4→3, 6→6, 7→4, 8→5), name `<s>c.<GI name>` (the
/// GI's name when s equals the GI's slices), starts at the multiples of s that fit in the GI's slices, limit
/// slices/s, and SMs GI SMs·s/slices rounded down. The full-width CI is the default; `default_ci` replaces
/// its id (7 = 1_SLICE_REV1 on double-memory 1g GIs). Errors are kInvalidInput with a message
/// `file:line:column: what is wrong` (YAML syntax, an unknown or duplicate key, a missing field, a value of
/// the wrong type or out of range, placements past `memory_slots`, starts not ascending, duplicate profile
/// ids, NVML indexes or names).
Result<GpuModel> ParseModelYaml(std::string_view text, std::string_view file_name);

}  // namespace migctl
