// One element of a `migctl run --slurm` job array: what `migctl exec --array DIR` does inside the batch step.
// It runs task SLURM_ARRAY_TASK_ID of the run spooled in DIR (by slurm/array_run) on the MIG device(s) Slurm
// allocated to this element (AllocatedDevices in cli/slurm_node.h), under the same keeper, lease and
// supervision as a local `migctl run`, and leaves the task's result where the submitting migctl collects it.
#pragma once

#include <string>

#include "cli/context.h"
#include "cli/slurm_node.h"

namespace migctl {

/// Runs this element's task. Returns the exit code `exec` ends with (0 when the task succeeded, 1 when it
/// failed, 128+N when stopped by signal N); errors (one line) when the spool or the allocation is unusable, in
/// which case the submitter records the task as not started.
Result<int> RunArrayElement(Context& ctx, const std::string& spool_dir, const NodeGresOptions& node);

}  // namespace migctl
