// Enumeration of every valid layout of a model, and of the maximal ones.
#pragma once

#include <functional>
#include <vector>

#include "catalog/gpu_model.h"
#include "layout/layout.h"

namespace migctl {

struct EnumerateOptions {
  bool maximal_only = false;        ///< Keep only layouts to which no instance of any allowed profile fits.
  std::vector<ProfileId> profiles;  ///< Restrict to these profiles; empty = all of the model's profiles.
};

/// Every non-empty valid layout (as a set of placements, in canonical order), in a deterministic order.
std::vector<Layout> EnumerateLayouts(const GpuModel& model, const EnumerateOptions& options = {});

/// A distinct multiset of profiles that fits, with one representative placement (the one leaving most room).
struct Combination {
  std::vector<ProfileId> profiles;  ///< Sorted by placement size descending, then id.
  Layout placements;                ///< Canonical order.
};

/// One entry per distinct multiset of profiles that fits. With maximal_only: multisets to which no allowed
/// profile can be added in any arrangement.
std::vector<Combination> EnumerateCombinations(const GpuModel& model, const EnumerateOptions& options = {});

}  // namespace migctl
