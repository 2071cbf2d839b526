// `migctl slurm sync` (placeholder until it lands).
#include "cli/commands.h"

namespace migctl {
void AddSlurmSyncCommand(CLI::App&, Context&) {}
}  // namespace migctl
