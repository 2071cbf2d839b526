// mig-parted's own boot service, nvidia-mig-manager.service, as its packages install it: what it applies at
// boot and how it is enabled, so `migctl service install --replace-mig-manager` can take its place with the
// same layout and `service uninstall` can give it back.
//
// Facts (NVIDIA/mig-parted, deployments/systemd: the unit, service.sh, install.sh, nvidia-mig-parted.sh):
// - The unit file lies in /usr/lib/systemd/system (packages, install.sh), /lib/systemd/system, or
//   /etc/systemd/system. It is `WantedBy=multi-user.target nvidia-gpu-reset.target`, so enabling it makes a
//   link in each of those targets' `.wants` directories under /etc/systemd/system.
// - It runs /etc/nvidia-mig-manager/service.sh, which applies MIG_PARTED_CONFIG_FILE (default
//   /etc/nvidia-mig-manager/config.yaml) with the layout MIG_PARTED_SELECTED_CONFIG (required) and the hooks
//   of MIG_PARTED_HOOKS_FILE when set. Those come from `Environment=` in the unit's drop-ins, chiefly
//   /etc/systemd/system/nvidia-mig-manager.service.d/override.conf, which its apply-start hook rewrites on
//   every apply so that the last layout applied persists.
// Drop-ins are read as systemd reads them: `UNIT.d/*.conf` from /etc, /run, /usr/lib and /lib (a name in an
// earlier directory hides the same name in later ones), in file-name order, after the unit file itself.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace migctl::integrations {

inline constexpr const char* kMigManagerUnit = "nvidia-mig-manager.service";
/// service.sh's default config when MIG_PARTED_CONFIG_FILE is not set.
inline constexpr const char* kMigManagerDefaultConfig = "/etc/nvidia-mig-manager/config.yaml";

/// An enabling link: `path` (e.g. /etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service)
/// points at `target`. System paths, without any root.
struct UnitLink {
  std::string path;
  std::string target;
};

/// What the installed nvidia-mig-manager.service does at boot. Paths are as the booted host sees them.
struct MigManagerService {
  bool installed = false;            ///< Its unit file exists.
  std::string unit_path;             ///< Where the unit file lies; empty when not installed.
  std::vector<UnitLink> links;       ///< Its links in `/etc/systemd/system/*.wants|*.requires/`: enabled.
  std::string config_file;           ///< MIG_PARTED_CONFIG_FILE, else kMigManagerDefaultConfig.
  std::string label;                 ///< MIG_PARTED_SELECTED_CONFIG; empty when not set.
  std::string hooks_file;            ///< MIG_PARTED_HOOKS_FILE; empty when not set.
  std::vector<std::string> sources;  ///< The files read for the above, in the order read.
  bool masked = false;               ///< Its unit in /etc or /run is a link to /dev/null: it never runs.

  bool enabled() const { return !masked && !links.empty(); }
};

/// The assignments of one systemd `Environment=` value, in order, as systemd splits it: words separated by
/// blanks, each in double or single quotes or bare, with C escapes (`\"`, `\\`, `\n`, `\t`, ...) resolved.
/// A word that is not `NAME=VALUE` with a valid name (letters, digits, `_`, not starting with a digit) is
/// left out, as systemd does with a warning. An empty value yields no assignment (systemd: reset the list).
std::vector<std::pair<std::string, std::string>> ParseEnvironmentSetting(std::string_view value);

/// The `Environment=` settings of the `[Service]` section of one unit or drop-in file's text, applied in
/// order to `env` (an empty `Environment=` clears it). Comments (`#`, `;`) and other sections are skipped;
/// a line ending in `\` continues on the next.
void ApplyServiceEnvironment(std::string_view unit_text,
                             std::vector<std::pair<std::string, std::string>>& env);

/// Reads the installed nvidia-mig-manager.service under `root` (`/` or a system image). Never fails:
/// unreadable files count as absent.
MigManagerService ReadMigManagerService(const std::string& root);

}  // namespace migctl::integrations
