// This node as Slurm sees it: the live layout of the selected GPUs turned into GRES devices (slurm/gres.h),
// shared by `slurm gres`, `slurm sync` and `exec`, so all three derive one order from one observation.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "slurm/gres.h"

namespace migctl {

struct NodeGresOptions {
  std::string gpus;  ///< `-i`: which GPUs Slurm is given (empty: all).
  /// Where the device files and /proc/driver/nvidia-caps/mig-minors are read (`/` on a real host, a
  /// directory of stand-ins from `migctl sim devices` for a simulated one).
  std::string root = "/";
  bool files = true;  ///< Fill in each device's files (needs mig-minors); exec needs none.
};

/// Observes the selected GPUs and describes them (slurm::DescribeGres). Errors: NVML's, the selection's, an
/// unreadable mig-minors (kNotFound naming it and saying what creates it), DescribeGres's.
Result<std::vector<slurm::GresDevice>> ObserveNodeGres(Context& ctx, const NodeGresOptions& options);

/// The devices Slurm allocated to this job step on this node: the indexes in SLURM_STEP_GPUS (in a batch step,
/// SLURM_JOB_GPUS; never the renumbered CUDA_VISIBLE_DEVICES) mapped through the live layout of `options`'s
/// GPUs, or through `map_file` (slurm gres --map), whose every UUID must still be live. Where Slurm itself put
/// one UUID per allocated index in CUDA_VISIBLE_DEVICES (AutoDetect=nvml gives every MIG device its UUID as
/// UniqueId, and numbers devices in an order of its own), those live devices are the answer. Errors (one line, what
/// to do): kInvalidInput when not in a Slurm job with GPUs or the variable is malformed; kNotFound when an index
/// is beyond what the node has or the map names a UUID that is gone (the layout changed: slurm sync); the
/// observation's errors.
Result<std::vector<slurm::GresDevice>> AllocatedDevices(Context& ctx, const NodeGresOptions& options,
                                                        const std::string& map_file);

/// This host's short name (up to the first '.'), as Slurm's NodeName defaults to.
std::string ShortHostname();

}  // namespace migctl
