// Persistence across reboots: MIG instances do not survive a reboot (and on Ampere neither does a pending
// mode change), so `migctl service install` writes a systemd unit, migctl-apply.service, that runs
// `migctl apply` with a fixed layout at every boot.
//
// What is written, under an optional root directory (`--root`, for images; paths inside the unit are the
// ones the booted host sees, without the root):
//   /etc/migctl/mig.yaml              a copy of the config (the unit must not depend on a working copy)
//   /etc/migctl/hooks.yaml            a copy of the hooks file, when one is given (not the scripts it runs)
//   /etc/migctl/service.json          what was installed, for `service status` (versioned)
//   /etc/systemd/system/migctl-apply.service
//   /etc/systemd/system/multi-user.target.wants/migctl-apply.service -> the unit (= enabled)
// Every file is written atomically (temporary file, fsync, rename). With a root the wants link is made here;
// on the live system (no root) `systemctl daemon-reload` and `systemctl enable` are run instead, through the
// Systemctl interface, so tests never run systemctl.
//
// The unit's ordering, and why (mig-parted's unit met boot hangs and ordering cycles: its issues #8, #11,
// #68, #103, PRs #408, #422, #432, #449):
// - Default dependencies stay on (mig-parted's DefaultDependencies=no plus Before=basic.target and
//   systemd-resolved made an ordering cycle that dropped name resolution, #103). So the unit starts after
//   sysinit.target, by which systemd-modules-load has loaded the modules configured to load at boot; NVML
//   itself loads the nvidia module (nvidia-modprobe) when it is not loaded yet, so no udev-settle
//   (deprecated, slow) is needed. Nothing early in boot is ordered after this unit.
// - After=nvidia-persistenced.service nvidia-fabricmanager.service: the driver is initialised and, on
//   NVSwitch systems, the fabric is up (mig-parted orders the same, #11, PR #105). Absent units are ignored.
// - Before= the GPU's consumers (kubelet and its kin, container runtimes, DCGM, dcgm-exporter, NVSM, slurmd,
//   nvidia-cdi-refresh): they start on the new layout and hold no GPU while it is made, so at boot hooks have
//   nothing to stop. Ordering only, no Requires=: if the apply fails they start anyway and the boot goes on.
//   Before= on a unit that is not installed does nothing.
// - Type=oneshot with TimeoutStartSec=480 (oneshot units have no start timeout by default: a hang held the
//   boot forever, #8, #68; mig-parted settled on 480 s in PR #422). Our budget: 8 GPUs × (mode change ~5 s +
//   reset up to ~10 s) ≈ 2 min, 8 × 7 instances × ~0.5 s ≈ 30 s, the rest for hooks. RemainAfterExit=yes, so
//   `systemctl status` shows the layout as applied until shutdown.
// - Hooks run while the units above wait for this one: a hook that starts one of them must not wait for it
//   (`systemctl start --no-block`), or it deadlocks until the timeout (mig-parted PRs #408, #432).
// - WantedBy=multi-user.target only (mig-parted's nvidia-gpu-reset.target is its own; PR #123).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "integrations/host_blockers.h"

namespace migctl::integrations {

inline constexpr const char* kServiceUnitName = "migctl-apply.service";
inline constexpr const char* kServiceUnitPath = "/etc/systemd/system/migctl-apply.service";
inline constexpr const char* kServiceWantsPath =
    "/etc/systemd/system/multi-user.target.wants/migctl-apply.service";
inline constexpr const char* kServiceConfigPath = "/etc/migctl/mig.yaml";
inline constexpr const char* kServiceHooksPath = "/etc/migctl/hooks.yaml";
inline constexpr const char* kServiceStatePath = "/etc/migctl/service.json";
inline constexpr unsigned kServiceTimeoutSeconds = 480;

/// The GPU consumers the unit is ordered Before=.
inline constexpr const char* kServiceBefore[] = {"kubelet.service",       "k3s.service",
                                                 "k3s-agent.service",     "rke2-server.service",
                                                 "rke2-agent.service",    "containerd.service",
                                                 "docker.service",        "crio.service",
                                                 "nvidia-dcgm.service",   "dcgm.service",
                                                 "dcgm-exporter.service", "nvsm.service",
                                                 "slurmd.service",        "nvidia-cdi-refresh.service"};

/// What the unit runs, with paths as the booted host sees them.
struct ServiceUnit {
  std::string migctl;  ///< Absolute path of the migctl binary.
  std::string config;  ///< Absolute path of the config it applies.
  std::string label;   ///< The layout (`-c`).
  std::string hooks;   ///< Absolute path of the hooks file; empty: none.
};

/// The unit file's text (see the file comment); `Documentation=file:CONFIG` when the config path needs no
/// quoting. kInvalidInput when a path is not absolute, the binary path contains '$', the label is empty, or
/// any field holds a control character: a unit file line cannot carry them.
Result<std::string> RenderServiceUnit(const ServiceUnit& unit);

/// One word of an ExecStart= line: as is when it is plain, else double-quoted with `\` and `"` escaped;
/// `%` is doubled (specifiers) and `$` doubled (variable expansion) in every case.
std::string QuoteExecWord(std::string_view word);

/// `systemctl` on the live system. The real side runs the program; tests record the calls.
class Systemctl {
 public:
  virtual ~Systemctl() = default;
  /// Runs `systemctl ARGS...` to completion (its output goes to stderr) and returns its exit status;
  /// kNotFound when systemctl is not installed, kIo when it cannot be started or is killed.
  virtual Result<int> Run(const std::vector<std::string>& args) = 0;
};

/// posix_spawn of `systemctl` found in PATH, with only PATH in its environment and stdin /dev/null.
Systemctl& RealSystemctl();

struct InstallRequest {
  std::string config_file;  ///< The user's config; read, validated and copied (not `-`).
  std::string label;        ///< Empty: the file's only layout.
  std::string hooks_file;   ///< Empty: none.
  std::string migctl;       ///< Absolute path of the migctl the unit runs.
  bool force = false;       ///< Install even though nvidia-mig-manager.service is enabled.
  /// Take the place of mig-parted's nvidia-mig-manager.service: an empty `config_file` means the config it
  /// applies at boot, and then an empty `label` its layout; it is disabled once this unit is enabled, and
  /// Uninstall enables it again.
  bool replace_mig_manager = false;
};

struct InstallResult {
  bool replaced = false;              ///< A unit was installed before and has been overwritten.
  std::string label;                  ///< The layout the unit applies.
  std::string unit_text;              ///< What was written to the unit file.
  std::vector<std::string> written;   ///< Files and links written, with the root.
  std::vector<std::string> warnings;  ///< One line each: hooks file warnings, a binary not under the root.
  std::string config_source;          ///< The config file copied (with the root).
  /// With replace_mig_manager: the enabling links of nvidia-mig-manager.service that were removed
  /// (system paths); empty when it was not enabled.
  std::vector<std::string> disabled_mig_manager;
};

struct ServiceStatus {
  bool installed = false;  ///< The unit file exists.
  bool enabled = false;    ///< Its multi-user.target.wants link exists.
  /// Running system only (with systemctl), when installed: `active` (applied this boot), `failed`,
  /// `inactive`.
  std::optional<std::string> state;
  // From service.json; empty when it is missing or unreadable.
  std::string label, config, hooks, source_config, source_hooks, migctl;
  /// `nvidia-mig-manager.service` when the install replaced it (Uninstall enables it again); else empty.
  std::string replaced;
  std::vector<Blocker> conflicts;     ///< Other MIG managers (kConflict from the host probe).
  std::vector<std::string> problems;  ///< One line each: what will make the boot apply fail, and the fix.
};

struct UninstallResult {
  bool was_installed = false;
  std::vector<std::string> removed;    ///< With the root.
  /// The enabling links of nvidia-mig-manager.service made again (system paths), when the install had
  /// replaced it and its unit is still installed.
  std::vector<std::string> reenabled;
  std::string warning;                 ///< Why it was not enabled again; empty otherwise.
};

/// Installs, inspects and removes migctl-apply.service. `root`: where the system's files lie (empty: `/`).
/// `systemctl`: the running system's, which reloads and enables; nullptr for an image under `root` that
/// is not running (the wants link is made directly; `state` is not asked). The CLI passes (``,
/// RealSystemctl()) or (`--root DIR`, nullptr). Not owned; must outlive the installer.
class ServiceInstaller {
 public:
  ServiceInstaller(std::string root, Systemctl* systemctl);

  /// Validates everything before writing anything: the config parses and has the layout, the hooks file
  /// parses, the binary is executable (under a root: a warning if it is not there), and no
  /// nvidia-mig-manager.service is enabled (kBusy, unless `force`: both would apply a layout at boot, and
  /// the last one wins; or `replace_mig_manager`). Then writes the files, and enables the unit; with
  /// `replace_mig_manager`, then disables nvidia-mig-manager.service, recording its links so Uninstall can
  /// restore them (a reinstall keeps that record). Installing again replaces everything.
  /// Errors: the config's and hooks file's own (kInvalidInput, kNotFound); with `replace_mig_manager`,
  /// kNotFound when nvidia-mig-manager.service is not installed, kInvalidInput when it selects no layout and
  /// none is given, or (as root on the live system) when others can change its config; kIo for a write or a
  /// systemctl that fails (files already written stay; the message says so).
  Result<InstallResult> Install(const InstallRequest& request);

  /// What is installed and whether it will work at boot. Fails only when the root is not a directory or
  /// systemctl cannot be run.
  Result<ServiceStatus> Status() const;

  /// Disables the unit and removes every file Install writes; /etc/migctl itself when it is then empty.
  /// When the install replaced nvidia-mig-manager.service, enables it again (when still installed).
  /// Not installed: Ok with was_installed false. kIo when systemctl disable fails (nothing is removed then),
  /// a file cannot be removed, or enabling nvidia-mig-manager.service fails (the message says what is left).
  Result<UninstallResult> Uninstall();

 private:
  std::string Path(std::string_view system_path) const;  ///< Where a system path lies under the root.
  std::string Root() const;  ///< For messages and the host probe: `/` or the root.
  bool live() const { return systemctl_ != nullptr; }

  std::string root_;
  Systemctl* systemctl_;
};

}  // namespace migctl::integrations
