// Internal to catalog/: the models that catalog_gen compiles from data/gpus/*.yaml into builtin_models.cc.
#pragma once

#include <vector>

#include "catalog/gpu_model.h"

namespace migctl {

/// Builds the models, sorted by key. Defined in the generated builtin_models.cc; use BuiltinModels() instead.
std::vector<GpuModel> MakeBuiltinModels();

}  // namespace migctl
