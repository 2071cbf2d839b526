// What a config spec asks of one GPU, in that GPU's own profiles: mig-parted's meaning of `mig-devices`
// (and our `mig-instances` extension) turned into GPU instances with their compute instances.
#pragma once

#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"
#include "common/result.h"
#include "layout/diff.h"
#include "spec/config.h"

namespace migctl::spec {

struct SpecTarget {
  std::vector<GiTarget> instances;
  std::vector<std::string>
      warnings;  ///< e.g. a profile named by a known alias (`7g.79gb` for an A100 80GB's `7g.80gb`).
};

/// The GPU instances `spec` asks for on GPU `gpu` of `model`.
/// `mig-devices` keeps mig-parted's meaning: entries are flattened largest first (G, then C, descending), and
/// a compute-instance profile (`1c.3g.40gb`) joins the previous GPU instance of the same GI profile while it
/// fits there, else opens a new one; a plain profile (`3g.40gb`) is one GI with one full-width CI. So
/// `"1c.3g.40gb": 3` is one 3g GI with three 1c CIs. `mig-instances` gives GIs and CIs explicitly.
/// Profile names are matched against the GPU's own profiles, then against the aliases recorded for that very
/// model in data/gpus/ (names another driver gives the same profile, `7g.79gb` for an A100 80GB's `7g.80gb`),
/// which match with a warning naming both. Nothing else is guessed: another model's name of about the same
/// size (`3g.48gb` on an H100 NVL, whose 3g is `3g.47gb`) is an unknown profile, as in mig-parted.
/// Errors (kInvalidInput, `PATH:LINE:COL: GPU N (name): ...`, naming the profile as the config wrote it): a
/// profile the GPU does not have (listing those it has), a CI size its GI does not offer, a start the profile
/// does not allow, CIs that cannot fit in their GI. Whether the GIs fit together is decided later, by the
/// diff.
Result<SpecTarget> TargetInstances(const ConfigFile& file, const MigConfigSpec& spec, const GpuModel& model,
                                   GpuIndex gpu);

}  // namespace migctl::spec
