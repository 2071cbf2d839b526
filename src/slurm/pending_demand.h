// What pending Slurm jobs ask of MIG: each pending job or array element with its partitions, why it waits,
// and the GPU types it asks (`gres:gpu:3g.40gb:1`), as `slurm reshape` turns them into demand. Pure.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace migctl::slurm {

/// `squeue -h -r -t PENDING -o %i|%P|%r|%b|%V`: one line per pending job or array element: its id,
/// partitions, reason, the GRES it asks per node and its submit time.
std::vector<std::string> PendingJobsArgv();

struct PendingJob {
  std::string id;
  std::vector<std::string> partitions;        ///< Those it was submitted to.
  std::string reason;                         ///< Why it waits: `Resources`, `Priority`, `JobHeldUser`…
  std::map<std::string, unsigned> gpu_types;  ///< GPUs asked per node, by type.
  long long submitted = 0;                    ///< Submit time, seconds since the epoch; 0 when unknown.

  /// It waits for resources, so GPUs it can use would let it start: Slurm's reason is `Resources`,
  /// `Priority` (others come first) or `None` (not yet considered). Held jobs, jobs waiting on a dependency,
  /// a begin time, a limit or a node that is not available are not waiting for GPUs.
  bool WaitsForResources() const;
  /// It may run on a node in `partitions`.
  bool MayRunIn(const std::vector<std::string>& node_partitions) const;
};

/// The lines of `squeue_output` (PendingJobsArgv's format). A line's `gres:gpu:TYPE:N` (also
/// `gres/gpu:TYPE:N`, and `gpu:TYPE` for one) asks N of TYPE; GPUs without a type, other GRES and malformed
/// entries ask nothing. The submit time is squeue's `YYYY-MM-DDTHH:MM:SS` in local time (0 when it is not
/// one). Lines that are not four or five fields are left out.
std::vector<PendingJob> ParsePendingJobs(std::string_view squeue_output);

}  // namespace migctl::slurm
