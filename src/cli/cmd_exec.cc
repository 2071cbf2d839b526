// `migctl exec` (placeholder until it lands).
#include "cli/commands.h"

namespace migctl {
void AddExecCommand(CLI::App&, Context&) {}
}  // namespace migctl
