// Changing one GPU all or nothing: journal its state, run the plan, and if a step fails put the GPU back as
// it was before (or before an interrupted earlier run), so it ends in its original or its target layout.
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
  bool recovered = false;  ///< An interrupted earlier run's journal entry was found (and is now resolved).
};

/// Runs `plan` on `device` (observed as `before`) under a journal entry. On success the entry is removed. On
/// failure the GPU is re-observed and planned back to the journalled state (mode, every GI and CI at its
/// placement; new GI/CI ids and MIG UUIDs are the driver's choice), the entry is removed when that worked,
/// and the original error is returned with what the rollback did; when the rollback fails too, the entry
/// stays and the message says `migctl restore ENTRY`. Precondition: the caller holds the host lock.
Result<GpuChange> ChangeGpuAtomically(const nvml::Device& device, const ObservedGpu& before,
                                      const GpuPlan& plan, Journal& journal, const std::string& command,
                                      bool reset_supported);

}  // namespace migctl
