// `migctl slurm sync` as the CLI runs it (host lock, the node's live layout, slurm/sync.h), shared by
// `slurm sync` and `slurm reshape`, which syncs after it re-cuts.
#pragma once

#include <string>

#include "cli/context.h"
#include "cli/slurm_node.h"
#include "slurm/sync.h"

namespace migctl {

struct SyncArgs {
  NodeGresOptions node;
  std::string name;  ///< Slurm's NodeName; "" for the short hostname.
  std::string slurm_conf;
  std::string map;
  bool wait = false;
  double wait_timeout_s = 0;
  double register_timeout_s = 60;
  std::string restart_ctld;
  std::string restart_slurmd = "systemctl restart slurmd";
  bool dry_run = false;
  double lock_timeout_s = 300;

  std::string NodeName() const;
  std::string SlurmConf() const;  ///< --slurm-conf, else $SLURM_CONF, else /etc/slurm/slurm.conf.
};

/// Takes the host lock (unless a dry run), observes the node's GRES and runs slurm::Sync.
Result<slurm::SyncReport> SyncNode(Context& ctx, const SyncArgs& args);

/// The report for people, and as JSON.
std::string SyncText(const slurm::SyncReport& report);
Json SyncJson(const slurm::SyncReport& report, const std::string& slurm_conf);

/// The options every command that syncs takes (--node, -i, --root, --slurm-conf, --map, the restart commands,
/// --register-timeout, --lock-timeout).
void AddSyncOptions(CLI::App* cmd, SyncArgs* args);

}  // namespace migctl
