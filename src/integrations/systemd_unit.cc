#include "integrations/systemd_unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/child_process.h"
#include "common/process_host.h"
#include "common/file_io.h"
#include "common/trusted_path.h"
#include "integrations/mig_manager_service.h"
#include "spec/config.h"
#include "spec/hooks_file.h"

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kStateVersion = 1;
constexpr const char* kReinstall = "reinstall with 'migctl service install'";

bool HasControlCharacter(std::string_view text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

bool IsPlainExecWord(std::string_view word) {
  if (word.empty()) return false;
  for (char c : word) {
    const bool plain = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-:+,=@", c) != nullptr;
    if (!plain) return false;
  }
  return true;
}

/// Escapes what systemd would otherwise expand: specifiers (`%`) in every setting, variables (`$`) in
/// ExecStart arguments.
std::string EscapeExpansions(std::string_view text, bool dollars) {
  std::string out;
  for (char c : text) {
    if (c == '%' || (dollars && c == '$')) out += c;
    out += c;
  }
  return out;
}

Error IoError(const std::string& what, const std::string& path, int err) {
  std::string hint = err == EACCES || err == EPERM || err == EROFS ? " (run as root, or use --root DIR)" : "";
  return MakeError(ErrorCode::kIo, fmt::format("{} {}: {}{}", what, path, std::strerror(err), hint));
}

/// The whole file; errors name what it is.
Result<std::string> ReadText(const std::string& path, std::string_view what) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return text.error().WithContext(fmt::format("{}: ", what));
  return text;
}

/// Points `link` at `target`, replacing whatever is there, atomically.
Status LinkAtomically(const std::string& target, const std::string& link) {
  const std::string tmp = fmt::format("{}.tmp.{}", link, ::getpid());
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) return IoError("cannot create link", tmp, errno);
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return IoError("cannot replace", link, err);
  }
  return Ok();
}

/// Exists, as a file or as a link (dangling or not: under a root, links point at paths of the image).
bool Present(const std::string& path) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(path, ec));
}

std::string Absolute(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal().string();
}

class SpawnedSystemctl final : public Systemctl {
 public:
  Result<int> Run(const std::vector<std::string>& args) override {
    std::vector<std::string> words = {"systemctl"};
    words.insert(words.end(), args.begin(), args.end());
    std::string env = "PATH=" + OwnPath();
    ChildOptions options;
    options.argv = words;
    options.env = {env};
    options.stdout_fd = STDERR_FILENO;
    options.own_process_group = false;
    options.die_with_parent = false;
    Result<ChildExit> exit = RunProcess(RealProcessHost(), options, std::chrono::milliseconds(0), std::chrono::milliseconds(0));
    const std::string line = fmt::format("'systemctl {}'", fmt::join(args, " "));
    if (!exit.ok() && exit.error().code == ErrorCode::kNotFound)
      return MakeError(ErrorCode::kNotFound,
                       "systemctl not found in PATH: is this a systemd host? (or use --root DIR)");
    if (!exit.ok())
      return MakeError(ErrorCode::kIo, fmt::format("cannot run {}: {}", line, exit.error().message));
    if (exit->signal != 0) return MakeError(ErrorCode::kIo, fmt::format("{} was {}", line, exit->Describe()));
    return exit->exit_status;
  }
};
/// Runs systemctl and turns a non-zero exit into an error that says what state things are left in.
Status RunSystemctl(Systemctl& systemctl, const std::vector<std::string>& args, std::string_view aftermath) {
  MIGCTL_ASSIGN_OR_RETURN(int status, systemctl.Run(args));
  if (status == 0) return Ok();
  return MakeError(ErrorCode::kIo, fmt::format("'systemctl {}' failed (exit status {}){}",
                                               fmt::join(args, " "), status, aftermath));
}

/// Why the copied config at `path` cannot be applied with `label`, or nothing.
std::optional<std::string> ConfigProblem(const std::string& path, const std::string& label) {
  Result<spec::ConfigFile> config = spec::LoadConfig(path);
  if (!config.ok()) return config.error().message;
  Result<const spec::NamedConfig*> chosen = spec::SelectConfig(*config, label);
  if (!chosen.ok()) return chosen.error().message;
  return std::nullopt;
}

/// The `replaced` record of the installed service.json (what Uninstall enables again), or null.
json RecordedReplacement(const std::string& state_path) {
  Result<std::string> text = ReadFile(state_path);
  if (!text.ok()) return nullptr;
  json state = json::parse(*text, nullptr, false);
  if (!state.is_object() || !state.contains("replaced") || !state["replaced"].is_object()) return nullptr;
  return state["replaced"];
}

}  // namespace

std::string QuoteExecWord(std::string_view word) {
  if (IsPlainExecWord(word)) return EscapeExpansions(word, true);
  std::string out = "\"";
  for (char c : EscapeExpansions(word, true)) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

Result<std::string> RenderServiceUnit(const ServiceUnit& unit) {
  for (auto [name, value] : {std::pair<const char*, const std::string&>{"migctl path", unit.migctl},
                             {"config path", unit.config},
                             {"layout label", unit.label},
                             {"hooks path", unit.hooks}}) {
    if (HasControlCharacter(value))
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("the {} contains a control character, which a systemd unit cannot hold", name));
  }
  if (!unit.migctl.starts_with('/') || !unit.config.starts_with('/') ||
      (!unit.hooks.empty() && !unit.hooks.starts_with('/')))
    return MakeError(ErrorCode::kInvalidInput, "the unit needs absolute paths for migctl, config and hooks");
  if (unit.migctl.find('$') != std::string::npos)
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("migctl path {} contains '$', which systemd cannot take in a program path; "
                                 "install migctl elsewhere (--migctl PATH)",
                                 unit.migctl));
  if (unit.label.empty()) return MakeError(ErrorCode::kInvalidInput, "the layout label is empty");

  std::vector<std::string> exec = {unit.migctl, "apply", "-f", unit.config, "-c", unit.label};
  if (!unit.hooks.empty()) exec.insert(exec.end(), {"--hooks", unit.hooks});
  std::string exec_line;
  for (const std::string& word : exec) exec_line += (exec_line.empty() ? "" : " ") + QuoteExecWord(word);

  // A URI cannot hold every path as is; the installed config's path is plain.
  std::string documentation =
      IsPlainExecWord(unit.config) ? fmt::format("Documentation=file:{}\n", unit.config) : "";

  // Several Before= lines add up; packed to keep the file readable.
  constexpr size_t kLineLength = 110;
  std::string before, line;
  for (const char* name : kServiceBefore) {
    if (!line.empty() && line.size() + 1 + std::strlen(name) > kLineLength) {
      before += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "Before=" : " ") + std::string(name);
  }
  before += line;

  std::string text = fmt::format(
      R"(# Written by 'migctl service install': applies a MIG layout at every boot (MIG instances do not
# survive a reboot). Replace it with 'migctl service install', remove it with 'migctl service uninstall'.
[Unit]
Description=Apply the MIG layout '{label}' (migctl)
{documentation}# Default dependencies stay on: this starts after sysinit.target (boot-time modules are loaded; NVML loads
# the nvidia module itself otherwise) and nothing early in boot waits for it, so no ordering cycle can form.
After=nvidia-persistenced.service nvidia-fabricmanager.service
# GPU consumers start on the new layout. Ordering only: if the apply fails, they and the boot go on.
{before}

[Service]
Type=oneshot
RemainAfterExit=yes
# 8 GPUs: mode changes and resets about 2 min, instances under 1 min; the rest is for hooks.
TimeoutStartSec={timeout}
)",
      fmt::arg("label", EscapeExpansions(unit.label, false)), fmt::arg("documentation", documentation),
      fmt::arg("before", before), fmt::arg("timeout", kServiceTimeoutSeconds));
  if (!unit.hooks.empty())
    text +=
        "# Hooks run while the units above wait for this one: to start one of them, use\n"
        "# 'systemctl start --no-block', or the start waits for this unit and deadlocks until the timeout.\n";
  text += fmt::format("ExecStart={}\n\n[Install]\nWantedBy=multi-user.target\n", exec_line);
  return text;
}

Systemctl& RealSystemctl() {
  static SpawnedSystemctl systemctl;
  return systemctl;
}

ServiceInstaller::ServiceInstaller(std::string root, Systemctl* systemctl)
    : root_(std::move(root)), systemctl_(systemctl) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();  // `/` becomes ``: paths are root_ + path
}

std::string ServiceInstaller::Root() const { return root_.empty() ? "/" : root_; }

std::string ServiceInstaller::Path(std::string_view system_path) const {
  return root_ + std::string(system_path);
}

Result<InstallResult> ServiceInstaller::Install(const InstallRequest& request) {
  std::error_code ec;
  if (!fs::is_directory(Root(), ec))
    return MakeError(ErrorCode::kNotFound, fmt::format("root {} is not a directory", Root()));
  InstallResult result;
  std::string config_file = request.config_file;
  std::string label = request.label;
  MigManagerService mig_manager;
  if (request.replace_mig_manager) {
    mig_manager = ReadMigManagerService(Root());
    if (!mig_manager.installed)
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("{} is not installed under {}, so there is nothing to replace; leave out "
                                   "--replace-mig-manager",
                                   kMigManagerUnit, Root()));
    if (config_file.empty()) {
      config_file = Path(mig_manager.config_file);
      if (live() && ::geteuid() == 0)
        MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(config_file, "nvidia-mig-manager's config"));
    }
    if (label.empty() && request.config_file.empty()) {
      if (mig_manager.label.empty())
        return MakeError(ErrorCode::kInvalidInput,
                         fmt::format("{} selects no layout (no MIG_PARTED_SELECTED_CONFIG in {}); name the "
                                     "one to apply at boot with -c LABEL",
                                     kMigManagerUnit, fmt::join(mig_manager.sources, ", ")));
      label = mig_manager.label;
    }
    if (request.hooks_file.empty() && !mig_manager.hooks_file.empty())
      result.warnings.push_back(fmt::format(
          "nvidia-mig-manager's hooks ({}) are not carried over: migctl-apply.service starts before the "
          "services they stop; pass --hooks FILE to run them anyway",
          mig_manager.hooks_file));
  } else if (config_file.empty() || config_file == "-") {
    return MakeError(ErrorCode::kInvalidInput,
                     "service install needs the config as a file (-f FILE): it is copied for use at boot");
  }
  result.config_source = config_file;
  MIGCTL_ASSIGN_OR_RETURN(std::string config_text, ReadText(config_file, "config file"));
  MIGCTL_ASSIGN_OR_RETURN(spec::ConfigFile config, spec::ParseConfig(config_text, config_file));
  MIGCTL_ASSIGN_OR_RETURN(const spec::NamedConfig* chosen, spec::SelectConfig(config, label));
  result.label = chosen->label;
  std::string hooks_text;
  if (!request.hooks_file.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(hooks_text, ReadText(request.hooks_file, "hooks file"));
    MIGCTL_ASSIGN_OR_RETURN(spec::HooksFile hooks, spec::ParseHooksFile(hooks_text, request.hooks_file));
    result.warnings = hooks.warnings;
  }
  if (!request.migctl.starts_with('/'))
    return MakeError(ErrorCode::kInvalidInput, fmt::format("migctl path {} is not absolute", request.migctl));
  if (::access(Path(request.migctl).c_str(), X_OK) != 0) {
    if (live())
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("{} is not an executable migctl (--migctl PATH)", request.migctl));
    result.warnings.push_back(
        fmt::format("the unit runs {}, which is not (yet) an executable under {}", request.migctl, Root()));
  }
  ServiceUnit unit{request.migctl, kServiceConfigPath, chosen->label,
                   request.hooks_file.empty() ? "" : kServiceHooksPath};
  MIGCTL_ASSIGN_OR_RETURN(result.unit_text, RenderServiceUnit(unit));

  if (!request.replace_mig_manager && ReadMigManagerService(Root()).enabled()) {
    if (!request.force)
      return MakeError(
          ErrorCode::kBusy,
          "nvidia-mig-manager.service (mig-parted) is enabled: at boot both would apply a layout "
          "and the last one wins; run 'systemctl disable nvidia-mig-manager.service' first, or "
          "pass --replace-mig-manager to take its place with its layout (or --force); nothing was installed");
    result.warnings.push_back(
        "nvidia-mig-manager.service is enabled too: at boot the layout applied last wins");
  }

  if (live() && ::access(Root().c_str(), W_OK) != 0)
    return IoError("nothing was installed: cannot write under", Root(), errno);
  result.replaced = Present(Path(kServiceUnitPath));
  MIGCTL_RETURN_IF_ERROR(MakeDirectories(Path("/etc/migctl")));
  MIGCTL_RETURN_IF_ERROR(MakeDirectories(fs::path(Path(kServiceWantsPath)).parent_path().string()));
  // Durable: these files must be there after a power cut, or the next boot applies nothing.
  // Explicit modes, whatever the umask: anyone who can edit these files gets root at the next boot.
  auto write = [&](const char* system_path, const std::string& text, mode_t mode) -> migctl::Status {
    MIGCTL_RETURN_IF_ERROR(WriteFileAtomically(Path(system_path), text, mode, /*durable=*/true));
    result.written.push_back(Path(system_path));
    return Ok();
  };
  MIGCTL_RETURN_IF_ERROR(write(kServiceConfigPath, config_text, 0644));
  if (!request.hooks_file.empty()) {
    MIGCTL_RETURN_IF_ERROR(write(kServiceHooksPath, hooks_text, 0644));
  } else if (Present(Path(kServiceHooksPath)) && ::unlink(Path(kServiceHooksPath).c_str()) != 0) {
    return IoError("cannot remove the previous", Path(kServiceHooksPath), errno);
  }
  json state = {{"version", kStateVersion},
                {"unit", kServiceUnitName},
                {"label", chosen->label},
                {"config", kServiceConfigPath},
                {"source_config", Absolute(config_file)},
                {"hooks", unit.hooks},
                {"source_hooks", request.hooks_file.empty() ? "" : Absolute(request.hooks_file)},
                {"migctl", request.migctl}};
  // What Uninstall must enable again: mig-manager's links now, else those an earlier install removed.
  json replaced = RecordedReplacement(Path(kServiceStatePath));
  if (request.replace_mig_manager && mig_manager.enabled()) {
    replaced = {{"unit", kMigManagerUnit}, {"links", json::array()}};
    for (const UnitLink& link : mig_manager.links)
      replaced["links"].push_back({{"path", link.path}, {"target", link.target}});
  }
  if (!replaced.is_null()) state["replaced"] = replaced;
  MIGCTL_RETURN_IF_ERROR(write(kServiceStatePath, state.dump(2) + "\n", 0644));
  MIGCTL_RETURN_IF_ERROR(write(kServiceUnitPath, result.unit_text, 0644));

  if (!live()) {
    MIGCTL_RETURN_IF_ERROR(LinkAtomically(kServiceUnitPath, Path(kServiceWantsPath)));
    result.written.push_back(Path(kServiceWantsPath));
  } else {
    constexpr std::string_view kAftermath =
        ": the files are written but the unit is not enabled; fix systemd and run 'systemctl daemon-reload "
        "&& systemctl enable migctl-apply.service', or 'migctl service uninstall'";
    MIGCTL_RETURN_IF_ERROR(RunSystemctl(*systemctl_, {"daemon-reload"}, kAftermath));
    MIGCTL_RETURN_IF_ERROR(RunSystemctl(*systemctl_, {"enable", kServiceUnitName}, kAftermath));
    result.written.push_back(kServiceWantsPath);
  }
  // Only now that ours is enabled: a failure leaves both enabled (the same layout), never neither.
  if (request.replace_mig_manager && mig_manager.enabled()) {
    if (live()) {
      MIGCTL_RETURN_IF_ERROR(RunSystemctl(
          *systemctl_, {"disable", kMigManagerUnit},
          ": migctl-apply.service is enabled, and so is nvidia-mig-manager.service still; run 'systemctl "
          "disable nvidia-mig-manager.service'"));
    } else {
      for (const UnitLink& link : mig_manager.links)
        if (::unlink(Path(link.path).c_str()) != 0 && errno != ENOENT)
          return IoError("migctl-apply.service is enabled, but cannot disable nvidia-mig-manager.service: "
                         "cannot remove",
                         Path(link.path), errno);
    }
    for (const UnitLink& link : mig_manager.links) result.disabled_mig_manager.push_back(link.path);
  }
  return result;
}

Result<ServiceStatus> ServiceInstaller::Status() const {
  std::error_code ec;
  if (!fs::is_directory(Root(), ec))
    return MakeError(ErrorCode::kNotFound, fmt::format("root {} is not a directory", Root()));
  ServiceStatus s;
  s.installed = Present(Path(kServiceUnitPath));
  s.enabled = Present(Path(kServiceWantsPath));

  if (Present(Path(kServiceStatePath))) {
    Result<std::string> text = ReadText(Path(kServiceStatePath), "service state");
    json state = text.ok() ? json::parse(*text, nullptr, false) : json();
    if (!state.is_object() || !state.contains("version")) {
      s.problems.push_back(fmt::format("{} is unreadable: {}", Path(kServiceStatePath), kReinstall));
    } else if (state["version"] != kStateVersion) {
      s.problems.push_back(fmt::format("{} has version {}, this migctl reads {}: reinstall with this migctl",
                                       Path(kServiceStatePath), state["version"].dump(), kStateVersion));
    } else {
      auto field = [&](const char* key) { return state.value(key, std::string()); };
      s.label = field("label");
      s.config = field("config");
      s.hooks = field("hooks");
      s.source_config = field("source_config");
      s.source_hooks = field("source_hooks");
      s.migctl = field("migctl");
      if (state.contains("replaced") && state["replaced"].is_object())
        s.replaced = state["replaced"].value("unit", std::string(kMigManagerUnit));
    }
  }

  if (s.installed) {
    if (!Present(Path(kServiceStatePath)))
      s.problems.push_back(
          fmt::format("{} is missing, so the layout is unknown: reinstall with 'migctl service install'",
                      Path(kServiceStatePath)));
    if (!s.enabled)
      s.problems.push_back(
          "the unit is installed but not enabled, so it does not run at boot: run 'systemctl enable "
          "migctl-apply.service'");
    if (!s.config.empty() && !s.label.empty()) {
      if (std::optional<std::string> problem = ConfigProblem(Path(s.config), s.label))
        s.problems.push_back(fmt::format("the boot apply will fail: {}; {}", *problem, kReinstall));
    }
    if (!s.hooks.empty()) {
      Result<spec::HooksFile> hooks = spec::LoadHooksFile(Path(s.hooks));
      if (!hooks.ok())
        s.problems.push_back(
            fmt::format("the boot apply will fail: {}; {}", hooks.error().message, kReinstall));
    }
    if (!s.migctl.empty() && ::access(Path(s.migctl).c_str(), X_OK) != 0)
      s.problems.push_back(fmt::format(
          "the unit runs {}, which is not an executable{}: reinstall with 'migctl service install --migctl "
          "PATH'",
          s.migctl, live() ? "" : " under " + Root()));
    if (live()) {
      MIGCTL_ASSIGN_OR_RETURN(int active, systemctl_->Run({"is-active", "--quiet", kServiceUnitName}));
      MIGCTL_ASSIGN_OR_RETURN(int failed, systemctl_->Run({"is-failed", "--quiet", kServiceUnitName}));
      s.state = active == 0 ? "active" : failed == 0 ? "failed" : "inactive";
    }
  } else if (s.enabled || Present(Path(kServiceStatePath)) || Present(Path(kServiceConfigPath))) {
    s.problems.push_back(
        "files of an earlier install remain without the unit: run 'migctl service uninstall'");
  }

  HostProbe probe(Root());
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Blocker> found, probe.Probe());
  for (Blocker& b : found)
    if (b.kind == BlockerKind::kConflict) s.conflicts.push_back(std::move(b));
  return s;
}

Result<UninstallResult> ServiceInstaller::Uninstall() {
  std::error_code ec;
  if (!fs::is_directory(Root(), ec))
    return MakeError(ErrorCode::kNotFound, fmt::format("root {} is not a directory", Root()));
  UninstallResult result;
  const std::vector<std::string> paths = {Path(kServiceWantsPath), Path(kServiceUnitPath),
                                          Path(kServiceStatePath), Path(kServiceConfigPath),
                                          Path(kServiceHooksPath)};
  for (const std::string& p : paths) result.was_installed = result.was_installed || Present(p);
  if (!result.was_installed) return result;
  const json replaced = RecordedReplacement(Path(kServiceStatePath));

  if (live() && Present(Path(kServiceUnitPath)))
    MIGCTL_RETURN_IF_ERROR(RunSystemctl(*systemctl_, {"disable", kServiceUnitName}, "; nothing was removed"));
  for (const std::string& p : paths) {
    if (!Present(p)) continue;
    if (::unlink(p.c_str()) != 0) return IoError("cannot remove", p, errno);
    result.removed.push_back(p);
  }
  ::rmdir(Path("/etc/migctl").c_str());  // Only when empty: files of the user's own stay.
  if (live())
    MIGCTL_RETURN_IF_ERROR(RunSystemctl(*systemctl_, {"daemon-reload"},
                                        ": the files are removed; run 'systemctl daemon-reload' yourself"));
  if (replaced.is_null() || !replaced.contains("links") || !replaced["links"].is_array()) return result;
  // Give mig-parted's boot apply back, as it was enabled before the install took its place.
  if (!ReadMigManagerService(Root()).installed) {
    result.warning = fmt::format("{} was replaced but is no longer installed; it is not enabled again",
                                 kMigManagerUnit);
    return result;
  }
  std::vector<UnitLink> links;
  for (const json& link : replaced["links"])
    if (link.is_object() && link.value("path", "").starts_with("/etc/systemd/system/"))
      links.push_back({link.value("path", ""), link.value("target", "")});
  if (links.empty()) return result;
  if (live()) {
    MIGCTL_RETURN_IF_ERROR(RunSystemctl(*systemctl_, {"enable", kMigManagerUnit},
                                        ": migctl-apply.service is removed; run 'systemctl enable "
                                        "nvidia-mig-manager.service' to give mig-parted its boot apply back"));
  } else {
    for (const UnitLink& link : links) {
      if (link.target.empty() || link.path.find("/../") != std::string::npos) continue;
      MIGCTL_RETURN_IF_ERROR(MakeDirectories(fs::path(Path(link.path)).parent_path().string()));
      MIGCTL_RETURN_IF_ERROR(LinkAtomically(link.target, Path(link.path)));
    }
  }
  for (const UnitLink& link : links) result.reenabled.push_back(link.path);
  return result;
}

}  // namespace migctl::integrations
