#include "integrations/systemd_unit.h"

#include "integrations/mig_manager_service.h"

#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig = R"(version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  custom-config:
    - devices: all
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "3g.40gb": 1
)";

constexpr const char* kHooks = R"(version: v1
hooks:
  apply-exit:
  - command: /bin/systemctl
    args: [start, --no-block, kubelet.service]
)";

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A system image as a directory tree, plus a scratch area for the user's own files; removed at the end.
class TempRoot {
 public:
  TempRoot() {
    std::string pattern = (fs::temp_directory_path() / "systemd_unit_test.XXXXXX").string();
    base_ = mkdtemp(pattern.data());
    fs::create_directories(root());
    fs::create_directories(user());
  }
  ~TempRoot() { fs::remove_all(base_); }
  std::string root() const { return base_ + "/root"; }
  std::string user() const { return base_ + "/home"; }
  std::string At(const std::string& system_path) const { return root() + system_path; }
  std::string UserFile(const std::string& name, std::string_view text) const {
    std::string path = user() + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  /// An executable copy of /bin/true, as a stand-in migctl.
  std::string Executable(const std::string& path) const {
    fs::create_directories(fs::path(path).parent_path());
    fs::copy_file("/bin/true", path, fs::copy_options::overwrite_existing);
    return path;
  }

 private:
  std::string base_;
};

/// Records systemctl calls; `enable` and `disable` do to the root what systemctl would.
class FakeSystemctl : public Systemctl {
 public:
  explicit FakeSystemctl(std::string root) : root_(std::move(root)) {}
  Result<int> Run(const std::vector<std::string>& args) override {
    std::string line;
    for (const std::string& a : args) line += (line.empty() ? "" : " ") + a;
    calls.push_back(line);
    if (auto it = exit_status.find(args[0]); it != exit_status.end() && it->second != 0) return it->second;
    if (args[0] == "enable" || args[0] == "disable") {
      const std::string wants = root_ + "/etc/systemd/system/multi-user.target.wants/";
      if (args[0] == "enable") {
        fs::create_directories(wants);
        fs::remove(wants + args[1]);
        fs::create_symlink("/etc/systemd/system/" + args[1], wants + args[1]);
      } else {
        for (const fs::directory_entry& e : fs::directory_iterator(root_ + "/etc/systemd/system"))
          if (e.path().extension() == ".wants") fs::remove(e.path() / args[1]);
      }
    }
    return 0;
  }
  std::vector<std::string> calls;
  std::map<std::string, int> exit_status = {{"is-active", 3}, {"is-failed", 1}};

 private:
  std::string root_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text))
    if (l == line) return true;
  return false;
}

TEST(SystemdUnit, RendersOrderingTimeoutAndExecStart) {
  Result<std::string> text =
      RenderServiceUnit({"/usr/local/bin/migctl", "/etc/migctl/mig.yaml", "custom-config", ""});
  ASSERT_TRUE(text.ok()) << text.error().message;
  for (const char* line : {
           "[Unit]",
           "Description=Apply the MIG layout 'custom-config' (migctl)",
           "Documentation=file:/etc/migctl/mig.yaml",
           "After=nvidia-persistenced.service nvidia-fabricmanager.service",
           "[Service]",
           "Type=oneshot",
           "RemainAfterExit=yes",
           "TimeoutStartSec=480",
           "ExecStart=/usr/local/bin/migctl apply -f /etc/migctl/mig.yaml -c custom-config",
           "[Install]",
           "WantedBy=multi-user.target",
       })
    EXPECT_TRUE(HasLine(*text, line)) << line << "\n" << *text;
  std::string before;
  for (const std::string& line : Lines(*text)) {
    if (line.starts_with("Before=")) before += line.substr(7) + " ";
    EXPECT_LE(line.size(), 110u) << line;
  }
  EXPECT_EQ(before,
            "kubelet.service k3s.service k3s-agent.service rke2-server.service rke2-agent.service "
            "containerd.service docker.service crio.service nvidia-dcgm.service dcgm.service "
            "dcgm-exporter.service nvsm.service slurmd.service nvidia-cdi-refresh.service ");
  // The settings behind mig-parted's boot hangs and ordering cycles stay out.
  std::string settings;
  for (const std::string& line : Lines(*text))
    if (!line.starts_with("#")) settings += line + "\n";
  for (const char* absent : {"DefaultDependencies", "Requires=", "Wants=", "udev-settle", "sysinit.target",
                             "basic.target", "--hooks", "--no-block"})
    EXPECT_FALSE(Contains(settings, absent)) << absent;
}

TEST(SystemdUnit, HooksAddTheFlagAndSayHowToStartUnitsFromThem) {
  Result<std::string> text = RenderServiceUnit(
      {"/usr/local/bin/migctl", "/etc/migctl/mig.yaml", "custom-config", "/etc/migctl/hooks.yaml"});
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(HasLine(*text,
                      "ExecStart=/usr/local/bin/migctl apply -f /etc/migctl/mig.yaml -c custom-config "
                      "--hooks /etc/migctl/hooks.yaml"));
  EXPECT_TRUE(Contains(*text, "'systemctl start --no-block'"));
}

TEST(SystemdUnit, QuotesExecWordsAsSystemdParsesThem) {
  EXPECT_EQ(QuoteExecWord("/usr/bin/migctl"), "/usr/bin/migctl");
  EXPECT_EQ(QuoteExecWord("all-1g.10gb+me"), "all-1g.10gb+me");
  EXPECT_EQ(QuoteExecWord("/opt/my tools/migctl"), "\"/opt/my tools/migctl\"");
  EXPECT_EQ(QuoteExecWord("50%"), "\"50%%\"");
  EXPECT_EQ(QuoteExecWord("a$b"), "\"a$$b\"");
  EXPECT_EQ(QuoteExecWord("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(QuoteExecWord(";"), "\";\"");  // a bare ; would end the command
  EXPECT_EQ(QuoteExecWord(""), "\"\"");
  Result<std::string> text = RenderServiceUnit({"/usr/bin/migctl", "/etc/migctl/mig.yaml", "50% $off", ""});
  ASSERT_TRUE(text.ok());
  EXPECT_TRUE(HasLine(*text, "Description=Apply the MIG layout '50%% $off' (migctl)"));
  EXPECT_TRUE(HasLine(*text, "ExecStart=/usr/bin/migctl apply -f /etc/migctl/mig.yaml -c \"50%% $$off\""));
}

TEST(SystemdUnit, RejectsWhatAUnitCannotHold) {
  for (const ServiceUnit& bad : {
           ServiceUnit{"migctl", "/etc/migctl/mig.yaml", "x", ""},
           ServiceUnit{"/usr/bin/migctl", "mig.yaml", "x", ""},
           ServiceUnit{"/usr/bin/migctl", "/etc/migctl/mig.yaml", "x", "hooks.yaml"},
           ServiceUnit{"/usr/bin/migctl", "/etc/migctl/mig.yaml", "two\nlines", ""},
           ServiceUnit{"/opt/$x/migctl", "/etc/migctl/mig.yaml", "x", ""},
           ServiceUnit{"/usr/bin/migctl", "/etc/migctl/mig.yaml", "", ""},
       }) {
    Result<std::string> text = RenderServiceUnit(bad);
    ASSERT_FALSE(text.ok()) << bad.migctl << " " << bad.label;
    EXPECT_EQ(text.error().code, ErrorCode::kInvalidInput);
  }
}

TEST(ServiceInstaller, InstallStatusUninstallRoundTripUnderARoot) {
  TempRoot t;
  const std::string migctl = t.Executable(t.At("/usr/local/bin/migctl"));
  const std::string config = t.UserFile("mig.yaml", kConfig);
  const std::string hooks = t.UserFile("hooks.yaml", kHooks);
  ServiceInstaller installer(t.root() + "/", nullptr);

  Result<InstallResult> installed =
      installer.Install({config, "custom-config", hooks, "/usr/local/bin/migctl"});
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  EXPECT_FALSE(installed->replaced);
  EXPECT_EQ(installed->label, "custom-config");
  EXPECT_TRUE(installed->warnings.empty()) << installed->warnings[0];
  EXPECT_EQ(Read(t.At(kServiceUnitPath)), installed->unit_text);
  EXPECT_TRUE(Contains(installed->unit_text,
                       "ExecStart=/usr/local/bin/migctl apply -f /etc/migctl/mig.yaml -c "
                       "custom-config --hooks /etc/migctl/hooks.yaml\n"));
  EXPECT_EQ(Read(t.At(kServiceConfigPath)), kConfig);
  EXPECT_EQ(Read(t.At(kServiceHooksPath)), kHooks);
  EXPECT_EQ(fs::read_symlink(t.At(kServiceWantsPath)), kServiceUnitPath);
  nlohmann::json state = nlohmann::json::parse(Read(t.At(kServiceStatePath)));
  EXPECT_EQ(state["version"], 1);
  EXPECT_EQ(state["label"], "custom-config");
  EXPECT_EQ(state["source_config"], config);
  EXPECT_EQ(state["hooks"], kServiceHooksPath);
  EXPECT_EQ(installed->written.size(), 5u);

  Result<ServiceStatus> status = installer.Status();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->installed);
  EXPECT_TRUE(status->enabled);
  EXPECT_FALSE(status->state.has_value());  // an image: nobody to ask
  EXPECT_EQ(status->label, "custom-config");
  EXPECT_EQ(status->config, kServiceConfigPath);
  EXPECT_EQ(status->hooks, kServiceHooksPath);
  EXPECT_EQ(status->source_hooks, hooks);
  EXPECT_EQ(status->migctl, "/usr/local/bin/migctl");
  EXPECT_TRUE(status->problems.empty()) << status->problems[0];
  EXPECT_TRUE(status->conflicts.empty());

  Result<UninstallResult> removed = installer.Uninstall();
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(removed->was_installed);
  EXPECT_EQ(removed->removed.size(), 5u);
  for (const char* p : {kServiceUnitPath, kServiceWantsPath, kServiceConfigPath, kServiceHooksPath,
                        kServiceStatePath, "/etc/migctl"})
    EXPECT_FALSE(fs::exists(fs::symlink_status(t.At(p)))) << p;
  EXPECT_TRUE(fs::exists(migctl));

  Result<UninstallResult> again = installer.Uninstall();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->was_installed);
  Result<ServiceStatus> gone = installer.Status();
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->installed || gone->enabled);
  EXPECT_TRUE(gone->problems.empty());
}

TEST(ServiceInstaller, ServiceInstallUnderUmask000WritesPrivateModes) {
  // Under umask 000 the files came out 0666: anyone could edit ExecStart or the hooks and get root at boot.
  TempRoot t;
  t.Executable(t.At("/usr/local/bin/migctl"));
  const std::string config = t.UserFile("mig.yaml", kConfig);
  const std::string hooks = t.UserFile("hooks.yaml", kHooks);
  ServiceInstaller installer(t.root() + "/", nullptr);
  const mode_t old = ::umask(0);
  Result<InstallResult> installed =
      installer.Install({config, "custom-config", hooks, "/usr/local/bin/migctl"});
  ::umask(old);
  ASSERT_TRUE(installed.ok()) << installed.error().message;
  auto mode = [&](const char* p) { return fs::symlink_status(t.At(p)).permissions() & fs::perms::all; };
  const fs::perms kReadable = fs::perms(0644);
  for (const char* p : {kServiceUnitPath, kServiceConfigPath, kServiceHooksPath, kServiceStatePath})
    EXPECT_EQ(mode(p), kReadable) << p;
  for (const char* p : {"/etc/migctl", "/etc/systemd/system/multi-user.target.wants"})
    EXPECT_EQ(mode(p) & (fs::perms::group_write | fs::perms::others_write), fs::perms::none) << p;
}

TEST(ServiceInstaller, PlantedSymlinkAtAnInstalledFileIsRefusedNotFollowed) {
  TempRoot t;
  t.Executable(t.At("/usr/local/bin/migctl"));
  const std::string victim = t.UserFile("victim", "precious\n");
  fs::permissions(victim, fs::perms(0600));
  fs::create_directories(t.At("/etc/migctl"));
  fs::create_symlink(victim, t.At(kServiceConfigPath));
  Result<InstallResult> installed =
      ServiceInstaller(t.root() + "/", nullptr)
          .Install({t.UserFile("mig.yaml", kConfig), "custom-config", "", "/usr/local/bin/migctl"});
  ASSERT_FALSE(installed.ok());
  EXPECT_TRUE(Contains(installed.error().message, t.At(kServiceConfigPath) + " is a symbolic link"));
  EXPECT_EQ(Read(victim), "precious\n");
  EXPECT_EQ(fs::status(victim).permissions() & fs::perms::all, fs::perms(0600));
}

TEST(ServiceInstaller, ReinstallReplacesAndDropsHooksNoLongerAsked) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  const std::string config = t.UserFile("mig.yaml", kConfig);
  ServiceInstaller installer(t.root(), nullptr);
  ASSERT_TRUE(
      installer.Install({config, "custom-config", t.UserFile("hooks.yaml", kHooks), "/usr/bin/migctl"}).ok());
  Result<InstallResult> again = installer.Install({config, "all-disabled", "", "/usr/bin/migctl"});
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->replaced);
  EXPECT_FALSE(fs::exists(t.At(kServiceHooksPath)));
  EXPECT_TRUE(Contains(Read(t.At(kServiceUnitPath)), "-c all-disabled\n"));
  EXPECT_EQ(installer.Status()->label, "all-disabled");
}

TEST(ServiceInstaller, ValidatesEverythingBeforeWritingAnything) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  const std::string config = t.UserFile("mig.yaml", kConfig);
  ServiceInstaller installer(t.root(), nullptr);
  struct Case {
    InstallRequest request;
    ErrorCode code;
    std::string says;
  };
  for (const Case& c : {
           Case{{t.UserFile("bad.yaml", "version: v1\nmig-configs: [\n"), "x", "", "/usr/bin/migctl"},
                ErrorCode::kInvalidInput,
                "bad.yaml:"},
           Case{{config, "no-such-layout", "", "/usr/bin/migctl"}, ErrorCode::kNotFound, "no-such-layout"},
           Case{{t.user() + "/missing.yaml", "x", "", "/usr/bin/migctl"},
                ErrorCode::kNotFound,
                "missing.yaml"},
           Case{{"-", "x", "", "/usr/bin/migctl"}, ErrorCode::kInvalidInput, "as a file"},
           Case{{config, "custom-config", t.UserFile("h.yaml", "hooks: {apply-start: [{args: [x]}]}\n"),
                 "/usr/bin/migctl"},
                ErrorCode::kInvalidInput,
                "h.yaml:1:23: a command of hook 'apply-start' has no 'command'"},
           Case{{config, "custom-config", "", "bin/migctl"}, ErrorCode::kInvalidInput, "not absolute"},
       }) {
    Result<InstallResult> r = installer.Install(c.request);
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
    EXPECT_TRUE(Contains(r.error().message, c.says));
    EXPECT_FALSE(fs::exists(t.At("/etc"))) << c.says;
  }
  Result<InstallResult> nowhere = ServiceInstaller(t.root() + "/missing", nullptr)
                                      .Install({config, "custom-config", "", "/usr/bin/migctl"});
  EXPECT_EQ(nowhere.error().code, ErrorCode::kNotFound);
}

TEST(ServiceInstaller, OnlyLayoutIsChosenWhenNoLabelIsGiven) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  ServiceInstaller installer(t.root(), nullptr);
  const std::string one = t.UserFile(
      "one.yaml", "version: v1\nmig-configs:\n  only:\n  - devices: all\n    mig-enabled: false\n");
  Result<InstallResult> r = installer.Install({one, "", "", "/usr/bin/migctl"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->label, "only");
  EXPECT_TRUE(Contains(r->unit_text, "-c only\n"));
  EXPECT_FALSE(installer.Install({t.UserFile("two.yaml", kConfig), "", "", "/usr/bin/migctl"}).ok());
}

TEST(ServiceInstaller, RefusesNextToAnEnabledMigPartedServiceUnlessForced) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  fs::create_directories(t.At("/etc/systemd/system/multi-user.target.wants"));
  fs::create_symlink("/etc/systemd/system/nvidia-mig-manager.service",
                     t.At("/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service"));
  const std::string config = t.UserFile("mig.yaml", kConfig);
  ServiceInstaller installer(t.root(), nullptr);
  Result<InstallResult> refused = installer.Install({config, "custom-config", "", "/usr/bin/migctl"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBusy);
  EXPECT_TRUE(Contains(refused.error().message, "nvidia-mig-manager.service (mig-parted) is enabled"));
  EXPECT_TRUE(Contains(refused.error().message, "--force"));
  EXPECT_FALSE(fs::exists(t.At(kServiceUnitPath)));
  EXPECT_FALSE(fs::exists(t.At("/etc/migctl")));

  Result<InstallResult> forced = installer.Install({config, "custom-config", "", "/usr/bin/migctl", true});
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  ASSERT_EQ(forced->warnings.size(), 1u);
  EXPECT_TRUE(Contains(forced->warnings[0], "nvidia-mig-manager.service is enabled too"));
  Result<ServiceStatus> status = installer.Status();
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->conflicts.size(), 1u);
  EXPECT_EQ(status->conflicts[0].fix, "systemctl disable nvidia-mig-manager.service");
}

/// mig-parted's service as its package installs it, enabled, applying `label` from its default config.
void InstallMigPartedService(const TempRoot& t, const std::string& label) {
  const std::string unit = "/usr/lib/systemd/system/nvidia-mig-manager.service";
  fs::create_directories(t.At("/usr/lib/systemd/system"));
  std::ofstream(t.At(unit)) << "[Service]\nType=oneshot\nExecStart=/bin/bash /etc/nvidia-mig-manager/service.sh\n"
                               "[Install]\nWantedBy=multi-user.target nvidia-gpu-reset.target\n";
  fs::create_directories(t.At("/etc/systemd/system/nvidia-mig-manager.service.d"));
  std::ofstream(t.At("/etc/systemd/system/nvidia-mig-manager.service.d/override.conf"))
      << "[Service]\nEnvironment=\"MIG_PARTED_SELECTED_CONFIG=" << label << "\"\n"
      << "Environment=\"MIG_PARTED_HOOKS_FILE=/etc/nvidia-mig-manager/hooks.yaml\"\n";
  fs::create_directories(t.At("/etc/nvidia-mig-manager"));
  std::ofstream(t.At("/etc/nvidia-mig-manager/config.yaml")) << kConfig;
  for (const char* target : {"multi-user.target", "nvidia-gpu-reset.target"}) {
    fs::create_directories(t.At(fmt::format("/etc/systemd/system/{}.wants", target)));
    fs::create_symlink(unit, t.At(fmt::format("/etc/systemd/system/{}.wants/nvidia-mig-manager.service", target)));
  }
}

TEST(ServiceInstaller, ReplacesMigPartedServiceWithItsLayoutAndUninstallGivesItBack) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  InstallMigPartedService(t, "custom-config");
  ServiceInstaller installer(t.root(), nullptr);
  InstallRequest replace{"", "", "", "/usr/bin/migctl"};
  replace.replace_mig_manager = true;
  Result<InstallResult> done = installer.Install(replace);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->label, "custom-config");
  EXPECT_EQ(done->config_source, t.At("/etc/nvidia-mig-manager/config.yaml"));
  EXPECT_EQ(Read(t.At(kServiceConfigPath)), kConfig);
  EXPECT_TRUE(Contains(Read(t.At(kServiceUnitPath)), "-c custom-config"));
  EXPECT_EQ(done->disabled_mig_manager,
            (std::vector<std::string>{
                "/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service",
                "/etc/systemd/system/nvidia-gpu-reset.target.wants/nvidia-mig-manager.service"}));
  EXPECT_FALSE(ReadMigManagerService(t.root()).enabled());
  ASSERT_EQ(done->warnings.size(), 1u);
  EXPECT_TRUE(Contains(done->warnings[0], "hooks (/etc/nvidia-mig-manager/hooks.yaml) are not carried over"));
  Result<ServiceStatus> status = installer.Status();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->replaced, "nvidia-mig-manager.service");
  EXPECT_TRUE(status->conflicts.empty());
  EXPECT_TRUE(status->problems.empty()) << status->problems[0];

  // A later reinstall, with a layout of the user's, keeps the record of what to give back.
  ASSERT_TRUE(installer.Install({t.UserFile("mig.yaml", kConfig), "all-disabled", "", "/usr/bin/migctl"}).ok());
  EXPECT_EQ(installer.Status()->replaced, "nvidia-mig-manager.service");

  Result<UninstallResult> gone = installer.Uninstall();
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_EQ(gone->reenabled, done->disabled_mig_manager);
  MigManagerService back = ReadMigManagerService(t.root());
  ASSERT_EQ(back.links.size(), 2u);
  EXPECT_EQ(back.links[0].target, "/usr/lib/systemd/system/nvidia-mig-manager.service");
  EXPECT_FALSE(fs::exists(t.At(kServiceUnitPath)));
  EXPECT_FALSE(installer.Status()->installed);
}

TEST(ServiceInstaller, ReplacingChecksEverythingFirstAndChangesNothingOnError) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  ServiceInstaller installer(t.root(), nullptr);
  InstallRequest replace{"", "", "", "/usr/bin/migctl"};
  replace.replace_mig_manager = true;
  Result<InstallResult> absent = installer.Install(replace);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(absent.error().message, "nvidia-mig-manager.service is not installed"));

  InstallMigPartedService(t, "no-such-layout");
  Result<InstallResult> bad_label = installer.Install(replace);
  ASSERT_FALSE(bad_label.ok());
  EXPECT_TRUE(Contains(bad_label.error().message, "no-such-layout"));

  fs::remove(t.At("/etc/systemd/system/nvidia-mig-manager.service.d/override.conf"));
  Result<InstallResult> no_label = installer.Install(replace);
  ASSERT_FALSE(no_label.ok());
  EXPECT_EQ(no_label.error().code, ErrorCode::kInvalidInput);
  EXPECT_TRUE(Contains(no_label.error().message, "selects no layout"));
  EXPECT_TRUE(Contains(no_label.error().message, "-c LABEL"));

  fs::remove(t.At("/etc/nvidia-mig-manager/config.yaml"));
  replace.label = "custom-config";
  Result<InstallResult> no_config = installer.Install(replace);
  ASSERT_FALSE(no_config.ok());
  EXPECT_TRUE(Contains(no_config.error().message, "config.yaml"));

  EXPECT_FALSE(fs::exists(t.At("/etc/migctl")));
  EXPECT_EQ(ReadMigManagerService(t.root()).links.size(), 2u);
}

TEST(ServiceInstaller, ReplacingOnTheRunningSystemEnablesOursBeforeDisablingTheirs) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  InstallMigPartedService(t, "custom-config");
  FakeSystemctl systemctl(t.root());
  ServiceInstaller installer(t.root(), &systemctl);
  InstallRequest replace{"", "", "", "/usr/bin/migctl"};
  replace.replace_mig_manager = true;
  systemctl.exit_status["disable"] = 1;
  Result<InstallResult> failed = installer.Install(replace);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(Contains(failed.error().message, "migctl-apply.service is enabled, and so is "
                                               "nvidia-mig-manager.service still"));
  systemctl.exit_status.erase("disable");
  systemctl.calls.clear();
  ASSERT_TRUE(installer.Install(replace).ok());
  EXPECT_EQ(systemctl.calls, (std::vector<std::string>{"daemon-reload", "enable migctl-apply.service",
                                                       "disable nvidia-mig-manager.service"}));
  systemctl.calls.clear();
  ASSERT_TRUE(installer.Uninstall().ok());
  EXPECT_EQ(systemctl.calls,
            (std::vector<std::string>{"disable migctl-apply.service", "daemon-reload",
                                      "enable nvidia-mig-manager.service"}));
  EXPECT_TRUE(ReadMigManagerService(t.root()).enabled());
}

TEST(ServiceInstaller, RunningSystemIsReloadedAndEnabledThroughSystemctl) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  FakeSystemctl systemctl(t.root());
  ServiceInstaller installer(t.root(), &systemctl);
  ASSERT_TRUE(
      installer.Install({t.UserFile("mig.yaml", kConfig), "custom-config", "", "/usr/bin/migctl"}).ok());
  EXPECT_EQ(systemctl.calls, (std::vector<std::string>{"daemon-reload", "enable migctl-apply.service"}));

  systemctl.calls.clear();
  Result<ServiceStatus> status = installer.Status();
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_TRUE(status->enabled);
  EXPECT_EQ(status->state, "inactive");
  systemctl.exit_status["is-active"] = 0;
  EXPECT_EQ(installer.Status()->state, "active");
  systemctl.exit_status = {{"is-active", 3}, {"is-failed", 0}};
  EXPECT_EQ(installer.Status()->state, "failed");

  systemctl.calls.clear();
  ASSERT_TRUE(installer.Uninstall().ok());
  EXPECT_EQ(systemctl.calls, (std::vector<std::string>{"disable migctl-apply.service", "daemon-reload"}));
  EXPECT_FALSE(fs::exists(t.At(kServiceUnitPath)));
}

TEST(ServiceInstaller, FailingSystemctlSaysWhatStateIsLeft) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  FakeSystemctl systemctl(t.root());
  ServiceInstaller installer(t.root(), &systemctl);
  const std::string config = t.UserFile("mig.yaml", kConfig);
  systemctl.exit_status["enable"] = 1;
  Result<InstallResult> r = installer.Install({config, "custom-config", "", "/usr/bin/migctl"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_TRUE(Contains(r.error().message,
                       "'systemctl enable migctl-apply.service' failed (exit status 1): the "
                       "files are written but the unit is not enabled"));

  systemctl.exit_status["disable"] = 1;
  Result<UninstallResult> u = installer.Uninstall();
  ASSERT_FALSE(u.ok());
  EXPECT_TRUE(Contains(u.error().message, "nothing was removed"));
  EXPECT_TRUE(fs::exists(t.At(kServiceUnitPath)));
}

TEST(ServiceInstaller, LiveInstallNeedsAnExecutableMigctl) {
  TempRoot t;
  FakeSystemctl systemctl(t.root());
  Result<InstallResult> r =
      ServiceInstaller(t.root(), &systemctl)
          .Install({t.UserFile("mig.yaml", kConfig), "custom-config", "", "/usr/bin/migctl"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(systemctl.calls.empty());
  // For an image the binary may come later: a warning.
  Result<InstallResult> image =
      ServiceInstaller(t.root(), nullptr)
          .Install({t.UserFile("mig.yaml", kConfig), "custom-config", "", "/usr/bin/migctl"});
  ASSERT_TRUE(image.ok());
  ASSERT_EQ(image->warnings.size(), 1u);
  EXPECT_TRUE(Contains(image->warnings[0], "/usr/bin/migctl, which is not (yet) an executable"));
}

TEST(ServiceInstaller, StatusSaysWhatWillBreakTheBootApply) {
  TempRoot t;
  t.Executable(t.At("/usr/bin/migctl"));
  ServiceInstaller installer(t.root(), nullptr);
  ASSERT_TRUE(
      installer.Install({t.UserFile("mig.yaml", kConfig), "custom-config", "", "/usr/bin/migctl"}).ok());
  // Someone edits the copy and drops the layout, and disables the unit.
  std::ofstream(t.At(kServiceConfigPath))
      << "version: v1\nmig-configs:\n  other:\n  - devices: all\n    mig-enabled: false\n";
  fs::remove(t.At(kServiceWantsPath));
  Result<ServiceStatus> status = installer.Status();
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->problems.size(), 2u);
  EXPECT_TRUE(Contains(status->problems[0], "not enabled"));
  EXPECT_TRUE(Contains(status->problems[1], "the boot apply will fail:"));
  EXPECT_TRUE(Contains(status->problems[1], "custom-config"));

  fs::remove(t.At(kServiceUnitPath));
  Result<ServiceStatus> leftovers = installer.Status();
  ASSERT_TRUE(leftovers.ok());
  ASSERT_EQ(leftovers->problems.size(), 1u);
  EXPECT_TRUE(Contains(leftovers->problems[0], "run 'migctl service uninstall'"));
}

// systemd's own parser is the judge of the unit: quoting of a binary path with a space and a '%', a label
// with '$' and '%', hooks. It resolves ExecStart's program on this host, so the stand-in migctl lives at
// its host path; verify then says nothing at all.
TEST(ServiceInstaller, SystemdAnalyzeVerifyAcceptsTheUnitSilently) {
  if (!fs::exists("/usr/bin/systemd-analyze")) GTEST_SKIP() << "systemd-analyze is not installed";
  TempRoot t;
  const std::string migctl = t.Executable(t.user() + "/my tools/mig%ctl");
  const std::string config = t.UserFile("mig.yaml",
                                        "version: v1\nmig-configs:\n  \"50% $HOME\":\n  - devices: all\n"
                                        "    mig-enabled: false\n");
  ServiceInstaller installer(t.root(), nullptr);
  Result<InstallResult> r =
      installer.Install({config, "50% $HOME", t.UserFile("hooks.yaml", kHooks), migctl});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string command = "/usr/bin/systemd-analyze verify '" + t.At(kServiceUnitPath) + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(output, "") << r->unit_text;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;

  // And it does catch a broken unit: the same program path unquoted.
  std::string broken = r->unit_text;
  broken.replace(broken.find("\"" + t.user()), QuoteExecWord(migctl).size(), t.user() + "/my tools/mig%%ctl");
  std::ofstream(t.At(kServiceUnitPath), std::ios::trunc) << broken;
  pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  output.clear();
  while (size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ::pclose(pipe);
  EXPECT_TRUE(Contains(output, "is not executable"));
}

}  // namespace
}  // namespace migctl::integrations
