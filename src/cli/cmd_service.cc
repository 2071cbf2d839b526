// `migctl service install|status|uninstall`: a systemd unit that re-applies a layout at every boot.
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/diagnostics.h"
#include "integrations/mig_manager_service.h"
#include "integrations/systemd_unit.h"

namespace migctl {
namespace {

using integrations::ServiceInstaller;

struct ServiceArgs {
  std::string config_file;
  std::string label;
  std::string hooks_file;
  std::string migctl;
  std::string root;
  bool force = false;
  bool replace_mig_manager = false;
};

/// The running system, through systemctl; or, with --root, an image under it.
ServiceInstaller Installer(const ServiceArgs& args) {
  return args.root.empty() ? ServiceInstaller("", &integrations::RealSystemctl())
                           : ServiceInstaller(args.root, nullptr);
}

Json RootJson(const ServiceArgs& args) { return args.root.empty() ? Json(nullptr) : Json(args.root); }

/// This migctl, by its absolute path: what the unit runs unless --migctl says otherwise.
std::string OwnPath() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.string();
}

void PrintWarnings(const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) PrintWarning(w);
}

Result<int> RunInstall(Context& ctx, const ServiceArgs& args) {
  integrations::InstallRequest request{args.config_file, args.label, args.hooks_file,
                                       args.migctl.empty() ? OwnPath() : args.migctl, args.force,
                                       args.replace_mig_manager};
  ServiceInstaller installer = Installer(args);
  MIGCTL_ASSIGN_OR_RETURN(integrations::InstallResult done, installer.Install(request));
  PrintWarnings(done.warnings);
  Json doc = {{"unit", integrations::kServiceUnitName},
              {"root", RootJson(args)},
              {"replaced", done.replaced},
              {"label", done.label},
              {"migctl", request.migctl},
              {"written", done.written},
              {"config_source", done.config_source},
              {"disabled", done.disabled_mig_manager},
              {"warnings", done.warnings},
              {"unit_text", done.unit_text}};
  std::string text =
      fmt::format("{} {}{}: applies layout '{}' at every boot\n", done.replaced ? "Replaced" : "Installed",
                  integrations::kServiceUnitName, args.root.empty() ? "" : " under " + args.root, done.label);
  for (const std::string& path : done.written) text += fmt::format("  wrote {}\n", path);
  if (args.replace_mig_manager) {
    text += fmt::format("It replaces {} (layout '{}' from {}){}\n", integrations::kMigManagerUnit, done.label,
                        done.config_source,
                        done.disabled_mig_manager.empty()
                            ? ", which was not enabled"
                            : "; that unit is disabled, and 'migctl service uninstall' enables it again");
    for (const std::string& path : done.disabled_mig_manager)
      text += fmt::format("  removed {}{}\n", args.root, path);
  }
  std::string apply_now =
      fmt::format("migctl apply -f {} -c '{}'{}", integrations::kServiceConfigPath, done.label,
                  args.hooks_file.empty() ? "" : fmt::format(" --hooks {}", integrations::kServiceHooksPath));
  if (args.root.empty())
    text += fmt::format("It runs at the next boot; to apply the layout now: {}\n", apply_now);
  return ctx.Finish(doc, text);
}

Result<int> RunStatus(Context& ctx, const ServiceArgs& args) {
  MIGCTL_ASSIGN_OR_RETURN(integrations::ServiceStatus s, Installer(args).Status());
  Json conflicts = Json::array();
  for (const integrations::Blocker& b : s.conflicts)
    conflicts.push_back({{"kind", integrations::BlockerKindName(b.kind)},
                         {"what", b.what},
                         {"pids", b.pids},
                         {"why", b.why},
                         {"fix", b.fix}});
  auto or_null = [](const std::string& v) { return v.empty() ? Json(nullptr) : Json(v); };
  Json doc = {{"unit", integrations::kServiceUnitName},
              {"root", RootJson(args)},
              {"installed", s.installed},
              {"enabled", s.enabled},
              {"state", s.state ? Json(*s.state) : Json(nullptr)},
              {"label", or_null(s.label)},
              {"config", or_null(s.config)},
              {"source_config", or_null(s.source_config)},
              {"hooks", or_null(s.hooks)},
              {"source_hooks", or_null(s.source_hooks)},
              {"replaced", or_null(s.replaced)},
              {"migctl", or_null(s.migctl)},
              {"conflicts", conflicts},
              {"problems", s.problems}};
  std::string text;
  if (!s.installed) {
    text = fmt::format("{} is not installed (install it with 'migctl service install -f FILE -c LABEL')\n",
                       integrations::kServiceUnitName);
  } else {
    std::string state = s.state ? ", " + *s.state : "";
    if (s.state == "active") state += " (applied at this boot)";
    text = fmt::format("{}: installed, {}{}\n", integrations::kServiceUnitName,
                       s.enabled ? "enabled" : "not enabled", state);
    auto row = [&](const char* name, const std::string& value, const std::string& source) {
      text += fmt::format("  {:<7} {}{}\n", name, value.empty() ? "-" : value,
                          source.empty() ? "" : fmt::format(" (copy of {})", source));
    };
    row("layout", s.label, "");
    row("config", s.config, s.source_config);
    row("hooks", s.hooks.empty() ? "none" : s.hooks, s.source_hooks);
    row("migctl", s.migctl, "");
    if (!s.replaced.empty())
      text += fmt::format("  replaces {} (disabled; 'migctl service uninstall' enables it again)\n", s.replaced);
  }
  for (const integrations::Blocker& b : s.conflicts)
    text += fmt::format("conflict: {}: {}; fix: {}\n", b.what, b.why, b.fix);
  for (const std::string& p : s.problems) text += fmt::format("problem: {}\n", p);
  return ctx.Finish(doc, text);
}

Result<int> RunUninstall(Context& ctx, const ServiceArgs& args) {
  ServiceInstaller installer = Installer(args);
  MIGCTL_ASSIGN_OR_RETURN(integrations::UninstallResult done, installer.Uninstall());
  Json doc = {{"unit", integrations::kServiceUnitName},
              {"root", RootJson(args)},
              {"was_installed", done.was_installed},
              {"removed", done.removed},
              {"reenabled", done.reenabled},
              {"warnings", done.warning.empty() ? Json::array() : Json::array({done.warning})}};
  std::string text;
  if (!done.was_installed) {
    text = fmt::format("{} is not installed; nothing to do\n", integrations::kServiceUnitName);
  } else {
    text = fmt::format("Removed {}; the current MIG layout stays as it is\n", integrations::kServiceUnitName);
    for (const std::string& path : done.removed) text += fmt::format("  removed {}\n", path);
    if (!done.reenabled.empty())
      text += fmt::format("Enabled {} again, which it had replaced\n", integrations::kMigManagerUnit);
    for (const std::string& path : done.reenabled) text += fmt::format("  linked {}{}\n", args.root, path);
  }
  if (!done.warning.empty()) PrintWarning(done.warning);
  return ctx.Finish(doc, text);
}

void AddRootOption(CLI::App* cmd, ServiceArgs& args) {
  cmd->add_option("--root", args.root,
                  "Work on the system image under DIR instead of this host (no systemctl is run)")
      ->option_text("DIR");
}

}  // namespace

void AddServiceCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ServiceArgs>();
  CLI::App* service = app.add_subcommand("service", "Re-apply a MIG layout at every boot (a systemd unit)");
  service->require_subcommand(1);
  service->footer(
      "MIG instances do not survive a reboot. 'service install' writes migctl-apply.service, which runs\n"
      "'migctl apply' with a copy of your config early at boot, before kubelet, container runtimes, DCGM\n"
      "and slurmd start.");

  CLI::App* install = service->add_subcommand("install", "Install and enable the boot unit for a layout");
  install->footer(
      "The config (and hooks file) are checked, then copied to /etc/migctl/; installing again replaces\n"
      "the unit. Commands that the hooks file runs are not copied: keep them in place. Refused while\n"
      "mig-parted's nvidia-mig-manager.service is enabled (both would apply a layout at boot) unless\n"
      "--replace-mig-manager, which takes its place: without -f, the config and layout are the ones it\n"
      "applies (MIG_PARTED_CONFIG_FILE, MIG_PARTED_SELECTED_CONFIG in its drop-ins; -c may pick another),\n"
      "it is disabled once migctl-apply.service is enabled, and 'service uninstall' enables it again.\n"
      "Examples:\n"
      "  migctl service install -f mig.yaml -c custom-config\n"
      "  migctl service install -f mig.yaml -c custom-config --hooks hooks.yaml\n"
      "  migctl service install --replace-mig-manager\n"
      "  migctl service install -f mig.yaml -c all-balanced --root /mnt/image --migctl /usr/bin/migctl");
  install->add_option("-f,--config-file", args->config_file,
                      "mig-parted config file (required unless --replace-mig-manager)");
  install->add_option("-c,--selected-config", args->label,
                      "Layout to apply at boot (may be left out when the file has only one)");
  install->add_option("--hooks", args->hooks_file, "mig-parted hooks file to run around the boot apply");
  install->add_option("--migctl", args->migctl, "The migctl the unit runs (default: this one)")
      ->option_text("PATH");
  install->add_flag("--force", args->force, "Install even though nvidia-mig-manager.service is enabled");
  install->add_flag("--replace-mig-manager", args->replace_mig_manager,
                    "Take the place of nvidia-mig-manager.service, with its layout unless -f/-c say otherwise");
  AddRootOption(install, *args);
  install->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunInstall(ctx, *args); }; });

  CLI::App* status =
      service->add_subcommand("status", "Show the boot unit, its layout and what may break it");
  status->footer(
      "Also lists another MIG manager that would undo the layout (mig-parted's service, GPU Operator's\n"
      "mig-manager). Examples:\n  migctl service status\n  migctl service status --json");
  AddRootOption(status, *args);
  status->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunStatus(ctx, *args); }; });

  CLI::App* uninstall =
      service->add_subcommand("uninstall", "Disable and remove the boot unit and its files");
  uninstall->footer(
      "The MIG layout on the GPUs is left as it is. Running it when nothing is installed is fine.\n"
      "Example:\n  migctl service uninstall");
  AddRootOption(uninstall, *args);
  uninstall->callback([&ctx, args] { ctx.action = [&ctx, args] { return RunUninstall(ctx, *args); }; });
}

}  // namespace migctl
