// Planning imperative changes to one GPU's instances (`migctl create`, `migctl destroy`) as a value that can
// be printed before it is executed. Pure: no NVML calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "layout/diff.h"
#include "reconcile/observed_gpu.h"

namespace migctl {

/// One step of a plan. Instance steps carry explicit placements; mode steps change or activate MIG mode.
struct PlannedOp {
  enum class Kind { kCreateGi, kCreateCi, kDestroyCi, kDestroyGi, kSetMigMode, kResetGpu };
  Kind kind = Kind::kCreateGi;
  ProfileId profile;         ///< The GI's profile.
  std::string profile_name;  ///< For printing.
  unsigned start = 0;        ///< The GI's placement (create: where it goes).
  unsigned size = 0;
  std::optional<GiId> gi;  ///< kDestroy*, kCreateCi: the target GI.
  std::optional<CiId> ci;  ///< kDestroyCi: the target CI.
  /// kCreateGi: the compute instances created in the new GI (empty: none, no MIG device); kCreateCi: the one
  /// CI to create.
  std::vector<PlacedCi> cis;
  std::vector<std::string> ci_names;  ///< For printing, parallel to `cis` (kDestroyCi: the CI's name).
  bool enable = false;                ///< kSetMigMode: MIG on or off.
};
struct InstancePlan {
  GpuIndex gpu;
  std::vector<PlannedOp> ops;  ///< In execution order.
};

using nvml::ProcessList;

/// One line per op: `create 3g.40gb at slots 4-7 with CI 3g.40gb`, `destroy GI 2 (3g.40gb at slots 4-7)`.
std::string DescribeOp(const PlannedOp& op);

/// The op creating a GI of `profile` at `start` with `cis` in it (names filled in from the profile).
PlannedOp CreateGiOp(const GiProfile& profile, unsigned start, std::vector<PlacedCi> cis);

/// Plans creating `requests` (any order) on the GPU, keeping what exists in place: placements come from the
/// placement solver, so any order of a feasible set works. Errors: kUnsupported when MIG is not on (with the
/// command that turns it on), kInfeasible with the solver's reason, kInvalidInput for unknown profiles.
Result<InstancePlan> PlanCreate(const ObservedGpu& gpu, const std::vector<ProfileId>& requests,
                                bool with_default_ci);

/// What to destroy: every GI, some GIs (with all their CIs), or single CIs of one GI.
struct DestroyTarget {
  std::optional<GiId> gi;  ///< nullopt: every GI of the GPU.
  std::optional<CiId> ci;  ///< Only this CI of `gi`; the GI stays.
};

/// Plans destroying targets: CIs before their GI. Refuses (kBusy, naming pid and process name of each, and
/// the fix) when any target has processes, before anything is planned; kNotFound for a GI/CI that does not
/// exist.
Result<InstancePlan> PlanDestroy(const ObservedGpu& gpu, const std::vector<DestroyTarget>& targets);

}  // namespace migctl
