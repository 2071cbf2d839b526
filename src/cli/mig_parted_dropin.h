// migctl as a drop-in for `nvidia-mig-parted`: invoked under that name (a symlink) or as `migctl mig-parted
// …`, it takes mig-parted's command lines (the global `-d/--debug`, `apply`, `assert`, `export`,
// `checkpoint`, `version`) and environment (MIG_PARTED_MODE_CHANGE_ONLY, MIG_PARTED_VALID_CONFIG besides the
// variables the commands read themselves) and answers with mig-parted's exit codes (0, or 1 for any failure),
// so the GPU Operator's mig-manager and systemd units call migctl unchanged. Pure.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace migctl {

/// What a mig-parted invocation becomes.
struct MigPartedCall {
  std::vector<std::string> args;  ///< migctl's own arguments (no program name), when it runs a command.
  std::string print;              ///< Or text to print and exit 0 (version, help).
  std::string error;              ///< Or one line to report and exit 1 (a command migctl does not take).
  bool apply = false;             ///< The command is `apply` (mig-parted says so on success).
};

/// nullopt when `argv` is not a mig-parted invocation (argv[0]'s file name is not `nvidia-mig-parted` and
/// argv[1] is not `mig-parted`). `env` reads an environment variable (nullopt when unset).
std::optional<MigPartedCall> MigPartedInvocation(
    const std::vector<std::string>& argv, const std::function<std::optional<std::string>(const char*)>& env);

/// mig-parted's exit code for migctl's: 0 stays 0, anything else is 1 (mig-parted exits 1 on every failure,
/// a failed assert included).
int MigPartedExitCode(int migctl_code);

}  // namespace migctl
