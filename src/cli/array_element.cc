#include "cli/array_element.h"

#include <sys/stat.h>

#include <cstdlib>

#include <fmt/format.h>

#include "cli/run_report.h"
#include "common/private_dir.h"
#include "launch/lease.h"
#include "launch/run.h"
#include "slurm/array_spool.h"

namespace migctl {
namespace {

/// The array index Slurm gave this element.
Result<unsigned> ArrayIndex() {
  const char* text = std::getenv("SLURM_ARRAY_TASK_ID");
  if (text == nullptr || *text == '\0')
    return MakeError(ErrorCode::kInvalidInput,
                     "not an element of a job array (SLURM_ARRAY_TASK_ID is unset): exec --array is what the "
                     "job array of `migctl run --slurm` runs");
  char* end = nullptr;
  const unsigned long index = std::strtoul(text, &end, 10);
  if (*end != '\0' || index == 0 || index > 0xffffffffUL)
    return MakeError(ErrorCode::kInvalidInput, fmt::format("SLURM_ARRAY_TASK_ID={} is not a task id", text));
  return static_cast<unsigned>(index);
}

/// The MIG UUIDs of what Slurm allocated to this element.
Result<std::set<std::string>> MigUuids(const std::vector<slurm::GresDevice>& devices) {
  std::set<std::string> uuids;
  for (const slurm::GresDevice& d : devices) {
    if (d.profile.empty())
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("Slurm allocated GPU {} ({}), a whole GPU: run --slurm runs tasks on MIG "
                                   "devices; ask for a MIG type (--profile)",
                                   d.index, d.type));
    uuids.insert(d.uuid);
  }
  if (uuids.empty()) return MakeError(ErrorCode::kInvalidInput, "Slurm allocated no GPU to this element");
  return uuids;
}

}  // namespace

Result<int> RunArrayElement(Context& ctx, const std::string& spool, const NodeGresOptions& node) {
  // The spool says what to run: only a directory of this user's, which nobody else can change, is trusted.
  struct stat st {};
  if (::stat(spool.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return MakeError(ErrorCode::kNotFound, fmt::format("{} is not a directory here: the nodes do not share the "
                                                       "file system of the spool (--spool on a shared one)",
                                                       spool));
  }
  MIGCTL_ASSIGN_OR_RETURN(const std::string spool_dir,
                          EnsurePrivateDir(spool, "give run --slurm a --spool of your own"));
  MIGCTL_ASSIGN_OR_RETURN(const slurm::ArraySpec spec, slurm::ReadSpec(spool_dir));
  MIGCTL_ASSIGN_OR_RETURN(const unsigned id, ArrayIndex());
  const auto task =
      std::find_if(spec.tasks.begin(), spec.tasks.end(), [id](const Task& t) { return t.id == id; });
  if (task == spec.tasks.end())
    return MakeError(ErrorCode::kNotFound, fmt::format("{} has no task {}: the array and the spool disagree",
                                                       slurm::SpecPath(spool_dir), id));
  MIGCTL_ASSIGN_OR_RETURN(const std::vector<slurm::GresDevice> allocated, AllocatedDevices(ctx, node, ""));

  RunRequest request;
  request.task_list = std::vector<Task>{*task};
  request.results = slurm::ResultsPath(spool_dir, id);
  MIGCTL_ASSIGN_OR_RETURN(request.devices, ctx.SelectDevices(node.gpus));
  request.workers.share = ShareMode::kMig;
  MIGCTL_ASSIGN_OR_RETURN(request.workers.devices, MigUuids(allocated));
  request.lease_dir = DefaultLeaseDir(!ctx.options.sim.empty(), ctx.RunDir());
  request.supervisor.retries = spec.retries;
  request.supervisor.timeout = spec.timeout;
  request.supervisor.grace = spec.grace;
  request.supervisor.logs_dir = spec.logs_dir;
  request.supervisor.workdir = spec.workdir;
  request.supervisor.env = OwnEnvironment();  // after NVML is open, as `run` does
  const char* node_name = std::getenv("SLURMD_NODENAME");
  request.node = node_name != nullptr && *node_name != '\0' ? node_name : ShortHostname();

  // Into Slurm's output of this element: the result line, and notes such as a wait for a held slice.
  RunReport report({.json = false, .ordered = false, .progress = false});
  Result<RunOutcome> outcome = Run(request, report);
  report.Flush();
  if (!outcome.ok()) return outcome.error();
  if (outcome->summary.signal != 0) return 128 + outcome->summary.signal;
  return outcome->ok() ? kExitOk : kExitFailed;
}

}  // namespace migctl
