// The difference between the instances a GPU has and the ones a target asks for: which GPU instances stay
// where they are, which go, and where the missing ones (and their compute instances) are created. Pure.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"
#include "common/result.h"

namespace migctl {

/// A compute instance the target asks for inside a GPU instance.
struct CiTarget {
  CiProfileId profile;
  std::optional<unsigned> start;  ///< On the GI's compute-slice axis; nullopt: any start.
  bool operator==(const CiTarget&) const = default;
};

/// A GPU instance the target asks for, with exactly these compute instances (empty: none).
struct GiTarget {
  ProfileId profile;
  std::optional<unsigned> start;  ///< Memory-slot placement; nullopt: any.
  std::vector<CiTarget> cis;
  bool operator==(const GiTarget&) const = default;
};

struct CurrentCi {
  CiId id;
  CiProfileId profile;
  unsigned start = 0;
  bool busy = false;  ///< Processes run on it.
};

struct CurrentGi {
  GiId id;
  ProfileId profile;
  unsigned start = 0;
  std::vector<CurrentCi> cis;
  bool busy() const;
};

/// A compute instance to create, placed.
struct PlacedCi {
  CiProfileId profile;
  unsigned start = 0;
  unsigned size = 0;  ///< Compute slices.
  bool operator==(const PlacedCi&) const = default;
};

/// A GPU instance that stays, and what changes inside it.
struct KeptGi {
  std::size_t current = 0;           ///< Index into the current GIs.
  std::size_t target = 0;            ///< Index into the target GIs it serves.
  std::vector<CiId> destroy_cis;     ///< Its CIs the target does not keep.
  std::vector<PlacedCi> create_cis;  ///< CIs to add to it.
};

/// A GPU instance to create, with its compute instances.
struct NewGi {
  std::size_t target = 0;
  unsigned start = 0;
  std::vector<PlacedCi> cis;
};

struct LayoutDiff {
  std::vector<KeptGi> kept;
  std::vector<std::size_t> destroyed;  ///< Current GIs to destroy (with all their CIs).
  std::vector<NewGi> created;

  /// Instances (GIs and CIs) this diff destroys and creates.
  unsigned DestroyCount(const std::vector<CurrentGi>& current) const;
  unsigned CreateCount() const;
  /// True when the GPU already matches the target.
  bool empty() const;
};

/// Computes the diff that destroys plus creates the fewest instances (GIs and CIs), keeping GIs in place
/// where a target GI of the same profile (and, if the target fixes one, the same start) can be served by
/// them; the new GIs get the placements that leave the most room (SolvePlacements), and every new CI an
/// explicit start. A busy CI (and so its GI) is never destroyed unless `allow_destroy_busy`. Errors:
/// kInvalidInput for a profile, CI profile or start the model does not have; kInfeasible when the target
/// cannot fit even on an empty GPU (the solver's reason), or a GI's CIs cannot fit in it; kBusy when every
/// diff would destroy a busy instance (the message names the GI/CI ids; callers add the processes). Cost: a
/// branch-and-bound over the current GIs (at most 2^7 leaves on a 7-slice GPU), microseconds.
Result<LayoutDiff> DiffLayouts(const GpuModel& model, const std::vector<CurrentGi>& current,
                               const std::vector<GiTarget>& target, bool allow_destroy_busy);

/// Places `cis` (with optional fixed starts) in a GI of `profile` next to `existing` (placed CIs that stay).
/// Returns the placed CIs in request order, lowest starts first. Errors: kInvalidInput for a CI profile the
/// GI profile lacks or a start it does not allow; kInfeasible when they do not fit (compute slices or the
/// per-GI instance limit).
Result<std::vector<PlacedCi>> PlaceComputeInstances(const GiProfile& profile,
                                                    const std::vector<PlacedCi>& existing,
                                                    const std::vector<CiTarget>& cis);

}  // namespace migctl
