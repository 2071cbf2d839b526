// Changing one GPU all or nothing: journal its state, run the plan, check the GPU now is what the plan said,
// and if a step fails or the result differs, put the GPU back as this command found it (never further back).
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "nvml/device.h"
#include "reconcile/executor.h"
#include "reconcile/gpu_plan.h"
#include "reconcile/journal.h"
#include "reconcile/observed_gpu.h"

namespace migctl {

struct GpuChange {
  std::vector<ExecutedOp> done;
  nvml::GpuSnapshot after;  ///< The GPU as observed once the plan was carried out and checked.
};

/// What `plan` leaves on a GPU observed as `before`, compared with `after`: the same GIs and CIs (profiles
/// and placements; ids are the driver's choice), and MIG mode as the plan's mode steps set it. Returns an
/// empty string when they agree, else what differs (`expected 3g.40gb@4, found none`). Pure.
std::string DescribeMismatch(const ObservedGpu& before, const GpuPlan& plan, const nvml::GpuSnapshot& after);

/// Runs `plan` on `device` (observed as `before`) under a journal entry holding `before`. On success, and
/// when the GPU then is what the plan said, the entry is removed. Otherwise the GPU is re-observed and
/// planned back to `before` (mode, every GI and CI at its placement), the entry is removed when that
/// worked, and the error says what failed and what the rollback did; when the rollback fails too, the entry
/// stays and the message says `migctl restore ENTRY`. Preconditions: the caller holds the host lock and has
/// set aside any earlier entry for this GPU.
Result<GpuChange> ChangeGpuAtomically(const nvml::Device& device, const ObservedGpu& before,
                                      const GpuPlan& plan, Journal& journal, const std::string& command,
                                      bool reset_supported);

}  // namespace migctl
