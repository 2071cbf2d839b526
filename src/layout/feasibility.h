// Whether a set of placed GPU instances can coexist on one GPU, and if not, why.
#pragma once

#include "catalog/gpu_model.h"
#include "common/result.h"
#include "layout/layout.h"

namespace migctl {

/// Why an instance cannot be added; kNone means it can.
enum class Conflict {
  kNone,
  kUnknownProfile,   ///< The model has no such profile.
  kBadStart,         ///< The start is not one of the profile's possible placements.
  kOverlap,          ///< Memory slots already taken.
  kComputeExceeded,  ///< The model's compute slices would be exceeded.
  kInstanceLimit,    ///< The profile's instance limit is reached.
  kMediaExclusive,   ///< A `+me`/`+me.all` rule forbids it.
};

/// Checks adding `candidate` to `layout` (which is assumed valid). Pure and allocation-free: the solver's
/// inner test.
Conflict CheckAddition(const GpuModel& model, const Layout& layout, const PlacedInstance& candidate);

/// Validates a whole layout, instance by instance in the given order. On failure the error (kInfeasible or
/// kInvalidInput for unknown profiles / bad starts) says which instance fails and why, naming what is in its
/// way.
Status CheckLayout(const GpuModel& model, const Layout& layout);

/// One line for a conflict: "memory slots 4-7 are taken by 3g.40gb@4". An instance limit counts the
/// layout's instances of that profile and the candidate as asked (ExplainInstanceLimit).
std::string ExplainConflict(const GpuModel& model, const Layout& layout, const PlacedInstance& candidate,
                            Conflict conflict);

/// Why `asked` instances of `profile` do not fit, `existing` of them already on the GPU: "at most 7 1g.10gb
/// fit on an a100-80gb; 8 were asked", or "...; 3 exist and 5 more were asked".
std::string ExplainInstanceLimit(const GpuModel& model, const GiProfile& profile, unsigned existing,
                                 unsigned asked);

/// How many more instances of `profile` could be added to `layout` at most (NVML's RemainingCapacity). Exact.
unsigned RemainingCapacity(const GpuModel& model, const Layout& layout, ProfileId profile);

}  // namespace migctl
