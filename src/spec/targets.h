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
      warnings;  ///< e.g. a drifted profile name that was matched (`7g.79gb` → `7g.80gb`).
};

/// The GPU instances `spec` asks for on GPU `gpu` of `model`.
/// `mig-devices` keeps mig-parted's meaning: entries are flattened largest first (G, then C, descending), and
/// a compute-instance profile (`1c.3g.40gb`) joins the previous GPU instance of the same GI profile while it
/// fits there, else opens a new one; a plain profile (`3g.40gb`) is one GI with one full-width CI. So
/// `"1c.3g.40gb": 3` is one 3g GI with three 1c CIs. `mig-instances` gives GIs and CIs explicitly.
/// Profile names are matched against the GPU's own profiles; a name whose memory differs by 1 GB from a
/// profile with the same slices and attributes (driver name drift, `7g.79gb` vs `7g.80gb`) matches it with a
/// warning. Errors (kInvalidInput, `PATH:LINE:COL: GPU N (name): ...`): a profile the GPU does not have
/// (listing those it has), a CI size its GI does not offer, a start the profile does not allow, CIs that
/// cannot fit in their GI. Whether the GIs fit together is decided later, by the diff.
Result<SpecTarget> TargetInstances(const ConfigFile& file, const MigConfigSpec& spec, const GpuModel& model,
                                   GpuIndex gpu);

}  // namespace migctl::spec
