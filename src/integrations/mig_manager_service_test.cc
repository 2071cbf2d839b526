#include "integrations/mig_manager_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"

namespace migctl::integrations {
namespace {

namespace fs = std::filesystem;
using Env = std::vector<std::pair<std::string, std::string>>;

// The unit as mig-parted's packages install it (deployments/systemd/nvidia-mig-manager.service).
constexpr const char* kUnit = R"([Unit]
Description=Configure MIG on NVIDIA GPUs
DefaultDependencies=no
After=nvidia-persistenced.service nvidia-fabricmanager.service
Before=nvidia-gpu-reset.target

[Service]
Type=oneshot
ExecStart=/bin/bash /etc/nvidia-mig-manager/service.sh

[Install]
WantedBy=multi-user.target nvidia-gpu-reset.target
)";

/// A system image under a temporary directory.
class Root {
 public:
  const std::string& path() const { return tmp_.path(); }
  void Write(const std::string& system_path, std::string_view text) const {
    fs::create_directories(fs::path(path() + system_path).parent_path());
    std::ofstream(path() + system_path) << text;
  }
  void Link(const std::string& target, const std::string& system_path) const {
    fs::create_directories(fs::path(path() + system_path).parent_path());
    fs::create_symlink(target, path() + system_path);
  }

 private:
  TempDir tmp_{"mig_manager_service_test"};
};

TEST(EnvironmentSetting, SplitsQuotedAndBareAssignmentsAsSystemdDoes) {
  EXPECT_EQ(ParseEnvironmentSetting(R"("MIG_PARTED_SELECTED_CONFIG=all-1g.10gb")"),
            (Env{{"MIG_PARTED_SELECTED_CONFIG", "all-1g.10gb"}}));
  EXPECT_EQ(ParseEnvironmentSetting(R"(A=1 "B=two words" 'C=it''s' D=x\"y E=)"),
            (Env{{"A", "1"}, {"B", "two words"}, {"C", "its"}, {"D", "x\"y"}, {"E", ""}}));
  // Not assignments, or bad names: left out.
  EXPECT_EQ(ParseEnvironmentSetting("novalue 1X=2 =3 OK_1=v"), (Env{{"OK_1", "v"}}));
  EXPECT_TRUE(ParseEnvironmentSetting("   ").empty());
}

TEST(EnvironmentSetting, ServiceSectionOnlyLaterWinsEmptyResets) {
  Env env;
  ApplyServiceEnvironment(R"([Unit]
Environment=IGNORED=1
[Service]
# Environment=COMMENTED=1
Environment="A=1" B=2
Environment = A=3 \
  C=4
[Install]
Environment=IGNORED=2
)",
                          env);
  EXPECT_EQ(env, (Env{{"B", "2"}, {"A", "3"}, {"C", "4"}}));
  ApplyServiceEnvironment("[Service]\nEnvironment=\nEnvironment=D=5\n", env);
  EXPECT_EQ(env, (Env{{"D", "5"}}));
}

TEST(MigManagerService, ReadsTheLayoutItAppliesAndHowItIsEnabled) {
  Root r;
  r.Write("/usr/lib/systemd/system/nvidia-mig-manager.service", kUnit);
  // The apply-start hook's override, and a later drop-in that moves the config.
  r.Write("/etc/systemd/system/nvidia-mig-manager.service.d/override.conf",
          "[Service]\nEnvironment=\"MIG_PARTED_SELECTED_CONFIG=all-1g.10gb\"\n"
          "Environment=\"MIG_PARTED_HOOKS_FILE=/etc/nvidia-mig-manager/hooks.yaml\"\n");
  r.Write("/usr/lib/systemd/system/nvidia-mig-manager.service.d/zz-site.conf",
          "[Service]\nEnvironment=MIG_PARTED_CONFIG_FILE=/srv/mig.yaml\n");
  // Hidden by the /etc file of the same name.
  r.Write("/usr/lib/systemd/system/nvidia-mig-manager.service.d/override.conf",
          "[Service]\nEnvironment=MIG_PARTED_SELECTED_CONFIG=hidden\n");
  r.Link("/usr/lib/systemd/system/nvidia-mig-manager.service",
         "/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service");
  r.Link("/usr/lib/systemd/system/nvidia-mig-manager.service",
         "/etc/systemd/system/nvidia-gpu-reset.target.wants/nvidia-mig-manager.service");

  MigManagerService s = ReadMigManagerService(r.path() + "/");
  EXPECT_TRUE(s.installed);
  EXPECT_EQ(s.unit_path, "/usr/lib/systemd/system/nvidia-mig-manager.service");
  EXPECT_EQ(s.label, "all-1g.10gb");
  EXPECT_EQ(s.config_file, "/srv/mig.yaml");
  EXPECT_EQ(s.hooks_file, "/etc/nvidia-mig-manager/hooks.yaml");
  ASSERT_EQ(s.links.size(), 2u);
  EXPECT_EQ(s.links[0].path, "/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service");
  EXPECT_EQ(s.links[1].path, "/etc/systemd/system/nvidia-gpu-reset.target.wants/nvidia-mig-manager.service");
  EXPECT_EQ(s.links[0].target, "/usr/lib/systemd/system/nvidia-mig-manager.service");
  EXPECT_TRUE(s.enabled());
  EXPECT_EQ(s.sources,
            (std::vector<std::string>{"/usr/lib/systemd/system/nvidia-mig-manager.service",
                                      "/etc/systemd/system/nvidia-mig-manager.service.d/override.conf",
                                      "/usr/lib/systemd/system/nvidia-mig-manager.service.d/zz-site.conf"}));
}

TEST(MigManagerService, DefaultsAndAbsence) {
  Root r;
  EXPECT_FALSE(ReadMigManagerService(r.path()).installed);
  r.Write("/etc/systemd/system/nvidia-mig-manager.service", kUnit);
  MigManagerService s = ReadMigManagerService(r.path());
  EXPECT_TRUE(s.installed);
  EXPECT_FALSE(s.enabled());
  EXPECT_EQ(s.config_file, kMigManagerDefaultConfig);
  EXPECT_EQ(s.label, "");
  EXPECT_EQ(s.hooks_file, "");
}

TEST(MigManagerService, AMaskedServiceIsNotEnabledWhateverLinksRemain) {
  Root r;
  r.Write("/usr/lib/systemd/system/nvidia-mig-manager.service", kUnit);
  r.Link("/usr/lib/systemd/system/nvidia-mig-manager.service",
         "/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service");
  EXPECT_TRUE(ReadMigManagerService(r.path()).enabled());
  r.Link("/dev/null", "/etc/systemd/system/nvidia-mig-manager.service");
  MigManagerService s = ReadMigManagerService(r.path());
  EXPECT_TRUE(s.installed);
  EXPECT_TRUE(s.masked);
  EXPECT_FALSE(s.enabled()) << "replacing it disables nothing, and uninstall enables nothing";
}

}  // namespace
}  // namespace migctl::integrations
