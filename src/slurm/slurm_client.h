// Slurm's client commands (scontrol, squeue), run as children with an explicit environment and a timeout,
// and what migctl reads from their output. The commands block for a long time while slurmctld is down (they
// retry), so every call has a timeout. SlurmClient is the seam: CommandSlurmClient is the real side, tests
// give their own. Thread-safety: none.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"

namespace migctl::slurm {

/// How long one client command may take by default.
inline constexpr std::chrono::milliseconds kSlurmCommandTimeout{10000};

/// The environment Slurm's commands get: migctl's PATH, HOME and TZ, and SLURM_CONF = `slurm_conf` (when
/// empty, migctl's own SLURM_CONF if it has one, else none: Slurm's default).
std::vector<std::string> SlurmCommandEnvironment(const std::string& slurm_conf);

/// Runs a Slurm command to completion and returns its stdout. argv[0] is looked up in the environment's PATH.
/// After `timeout` it is stopped (SIGTERM, SIGKILL a second later). Errors, naming the command line:
/// kUnsupported when the program is not installed; kIo when it cannot start, runs out of time ("is slurmctld
/// up?"), or fails: then the message carries the first line it wrote on stderr and its exit status.
Result<std::string> RunSlurmCommand(ProcessHost& host, const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env, std::chrono::milliseconds timeout);

/// The same on the real process host, with SlurmCommandEnvironment("").
Result<std::string> RunSlurmCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// A node as slurmctld reports it (`scontrol show node -o NAME`).
struct NodeInfo {
  std::string name;
  std::string state;   ///< `IDLE+DRAIN`: the base state, then its flags.
  std::string reason;  ///< Why it is drained or down, without Slurm's `[user@time]`; "" when none.
  std::string gres;    ///< Its Gres= as slurmctld holds it now.
  std::map<std::string, unsigned> gpu_types;       ///< Gres= as typed GPUs (GpuTypeCounts).
  std::map<std::string, unsigned> gpu_types_used;  ///< GresUsed=: those allocated to jobs now.
  std::vector<std::string> partitions;             ///< Partitions=; empty when in none.
  /// When its slurmd started (registered), this host's local time; nullopt while it has not registered since
  /// slurmctld started (`None`).
  std::optional<std::time_t> slurmd_start;

  /// True when `flag` (`DRAIN`, `NOT_RESPONDING`) or the base state (`IDLE`) is one of the state's words.
  bool Has(std::string_view word) const;
  bool Drained() const { return Has("DRAIN"); }
  /// Its slurmd has registered with a configuration slurmctld accepts, and answers: no UNKNOWN, DOWN or
  /// FUTURE state, no NOT_RESPONDING or INVALID_REG flag.
  bool Registered() const;
};

/// Reads one `scontrol show node -o` line. kIo when it has no NodeName= or State=.
Result<NodeInfo> ParseNodeInfo(std::string_view text);

/// Every node of `scontrol show node -o` (one line each); lines it cannot read are left out.
std::vector<NodeInfo> ParseNodeInfos(std::string_view text);

/// Slurm's `YYYY-MM-DDTHH:MM:SS` in local time (scontrol's SlurmdStartTime, squeue's %V); nullopt for
/// anything else (`N/A`, `Unknown`).
std::optional<std::time_t> ParseLocalTime(std::string_view text);

/// The typed GPUs of a Gres= or GresUsed= value, or of a job's request as squeue's %b prints it, by type:
/// `gpu:1g.10gb:4(S:0),gpu:3g.40gb:1(IDX:2,5)` -> {1g.10gb: 4, 3g.40gb: 1}; `gres:gpu:3g.40gb:2`,
/// `gres/gpu:3g.40gb:2` and `gpu:7g.80gb` (one) as well. Untyped GPUs (`gpu:2`), other GRES and what it
/// cannot read count nothing.
std::map<std::string, unsigned> GpuTypeCounts(std::string_view gres);

/// The job ids `squeue -h -o %A` prints, one a line.
std::vector<std::string> ParseJobIds(std::string_view text);

/// What migctl asks of slurmctld about one node.
class SlurmClient {
 public:
  virtual ~SlurmClient() = default;
  /// kNotFound when slurmctld does not know the node; kIo when it does not answer.
  virtual Result<NodeInfo> Node(const std::string& node) = 0;
  /// Every node slurmctld knows, with what its jobs use (`scontrol -d show node -o`); kIo when it does not
  /// answer.
  virtual Result<std::vector<NodeInfo>> Nodes() = 0;
  /// Jobs that run there now (configuring, running, suspended or completing), by id.
  virtual Result<std::vector<std::string>> ActiveJobs(const std::string& node) = 0;
  /// `scontrol update NodeName=NODE State=DRAIN Reason=REASON`: no new job starts there.
  virtual Status Drain(const std::string& node, const std::string& reason) = 0;
  /// `scontrol update NodeName=NODE State=RESUME`.
  virtual Status Resume(const std::string& node) = 0;
  /// `scontrol reconfigure`: slurmctld and every slurmd read their configuration again.
  virtual Status Reconfigure() = 0;
};

/// The real side: scontrol and squeue with SlurmCommandEnvironment(slurm_conf), each limited to `timeout`.
std::unique_ptr<SlurmClient> MakeCommandSlurmClient(ProcessHost& host, const std::string& slurm_conf,
                                                    std::chrono::milliseconds timeout = kSlurmCommandTimeout);

}  // namespace migctl::slurm
