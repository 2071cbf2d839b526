// Running the hooks of a hooks file (spec/hooks_file.h) at the points of an apply, as mig-parted does
// (`ApplyMigConfigWithHooks`): apply-start first (its failure aborts the apply), apply-exit last on success
// and on failure, pre-apply-mode before a MIG mode change, pre-apply-config before instances change. The
// caller decides when; this runs one point's commands.
//
// Differences from mig-parted, on purpose:
// - The child gets migctl's PATH (mig-parted gives hooks no PATH at all, so its own hooks call /bin/bash by
//   absolute path), then the command's `envs`, then the apply's variables; a later one wins. Nothing else of
//   migctl's environment is passed on.
// - Hook output goes to migctl's stderr always (mig-parted shows it only with --debug), never to stdout,
//   which carries --json documents. Stdin is /dev/null.
// - A command that runs longer than a timeout is stopped (SIGTERM, then SIGKILL after a grace period), so a
//   hung hook cannot hang a boot-time apply forever.
// - As root, a hooks file is run only when nobody but root can change it, its programs (as PATH finds them,
//   with a script's #! interpreter), the PATH directories searched for them, and the existing files its
//   arguments name (common/trusted_path.h): otherwise whoever can write any of them runs code as root.
#pragma once

#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"
#include "spec/hooks_file.h"

namespace migctl {

/// What an apply tells its hooks.
struct ApplyHookSettings {
  std::string config_file;      ///< -f, as given.
  std::string selected_config;  ///< -c, the label.
  std::string hooks_file;       ///< --hooks, as given.
  bool skip_reset = false;
  bool mode_only = false;
};

/// The variables every hook of one apply gets, under mig-parted's names (`MIG_PARTED_CONFIG_FILE`,
/// `MIG_PARTED_SELECTED_CONFIG`, `MIG_PARTED_HOOKS_FILE`, `MIG_PARTED_SKIP_RESET`,
/// `MIG_PARTED_MODE_CHANGE_ONLY`; booleans as `true`/`false`, as Go prints them), so mig-parted's hooks
/// scripts work unchanged, and under ours (`MIGCTL_CONFIG_FILE`, `MIGCTL_SELECTED_CONFIG`,
/// `MIGCTL_HOOKS_FILE`, `MIGCTL_SKIP_RESET`, `MIGCTL_MODE_ONLY`).
std::map<std::string, std::string> ApplyHookVariables(const ApplyHookSettings& settings);

struct HookRunOptions {
  std::chrono::milliseconds timeout = std::chrono::minutes(10);  ///< Per command.
  std::chrono::milliseconds grace = std::chrono::seconds(10);    ///< Between SIGTERM and SIGKILL.
  /// PATH given to hooks; empty: migctl's own PATH, or the usual system PATH when migctl has none.
  std::string path;
  /// Refuse to run anything that someone other than root can change (CheckOnlyRootCanChange). On when
  /// migctl runs as root; tests may turn it on as another user.
  bool only_root_files = ::geteuid() == 0;
};

/// Runs the hooks of one file, each command a child started on `host`: argv[0] found in the PATH the hook
/// gets; stdin /dev/null, stdout and stderr to migctl's stderr; in migctl's own process group (Ctrl-C
/// reaches the hook too) and without the parent-death signal; no descriptors of migctl's passed on. Holds
/// references: `file` and `host` must outlive it.
class HookRunner {
 public:
  HookRunner(const spec::HooksFile& file, std::map<std::string, std::string> variables,
             ProcessHost& host = RealProcessHost(), HookRunOptions options = {});

  /// Runs the commands of `point` in file order, each to completion; stops at the first that cannot be
  /// started or does not succeed, and returns an error naming the hook, its place in the file, the command
  /// and how it ended (kNotFound: program or workdir missing; kIo: it failed, was killed or timed out).
  /// No commands: Ok. Each child also gets `MIGCTL_HOOK=<point name>`. With `only_root_files`, first checks
  /// the whole file (every point, so the apply-start call refuses before anything changed) with
  /// CheckFiles, and runs nothing when that fails.
  Status Run(spec::HookPoint point) const;

  /// kInvalidInput, naming the file or hook and who else can write what, when someone other than root can
  /// change the hooks file or anything one of its commands would run or read (see the file comment).
  Status CheckFiles() const;

  /// The environment Run gives a command: PATH, then its envs, then the apply's variables and MIGCTL_HOOK.
  std::vector<std::string> Environment(const spec::HookCommand& command, spec::HookPoint point) const;

 private:
  const spec::HooksFile& file_;
  std::map<std::string, std::string> variables_;
  ProcessHost& host_;
  HookRunOptions options_;
};

}  // namespace migctl
