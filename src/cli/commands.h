// The command table: each Add*Command registers one subcommand (its flags and one line of help) on the app
// and sets ctx.action when it is chosen. Commands decide nothing themselves: they call the library parts and
// print.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "cli/option_checks.h"

namespace migctl {

void AddStatusCommand(CLI::App& app, Context& ctx);
void AddProfilesCommand(CLI::App& app, Context& ctx);
void AddLayoutsCommand(CLI::App& app, Context& ctx);
void AddCheckCommand(CLI::App& app, Context& ctx);
void AddModeCommand(CLI::App& app, Context& ctx);
void AddResetCommand(CLI::App& app, Context& ctx);
void AddCreateCommand(CLI::App& app, Context& ctx);
void AddDestroyCommand(CLI::App& app, Context& ctx);
void AddSimCommand(CLI::App& app, Context& ctx);
void AddServiceCommand(CLI::App& app, Context& ctx);
void AddApplyCommand(CLI::App& app, Context& ctx);
void AddAssertCommand(CLI::App& app, Context& ctx);
void AddExportCommand(CLI::App& app, Context& ctx);
void AddCheckpointCommand(CLI::App& app, Context& ctx);
void AddRestoreCommand(CLI::App& app, Context& ctx);
void AddMpsCommand(CLI::App& app, Context& ctx);
void AddRunCommand(CLI::App& app, Context& ctx);
void AddPlanCommand(CLI::App& app, Context& ctx);
void AddReshapeCommand(CLI::App& app, Context& ctx);
void AddSlurmCommand(CLI::App& app, Context& ctx);  ///< `slurm gres`, `slurm sync`
void AddSlurmSyncCommand(CLI::App& slurm, Context& ctx);  ///< the `sync` subcommand of `slurm`
void AddSlurmReshapeCommand(CLI::App& slurm, Context& ctx);  ///< the `reshape` subcommand of `slurm`
void AddExecCommand(CLI::App& app, Context& ctx);
void AddExporterCommand(CLI::App& app, Context& ctx);
void AddK8sCommand(CLI::App& app, Context& ctx);  ///< `k8s labels`, `k8s device-plugin-config`

}  // namespace migctl
