// End-to-end tests of drop-in compatibility with NVIDIA's own mig-parted configs (tests/configs/nvidia/: the
// systemd config-default.yaml and the GPU Operator's default ConfigMap), run on simulated machines of every
// model migctl knows. Each regression is named after the defect it covers.
#include <algorithm>
#include <cstdlib>
#include <regex>

#include "e2e_harness.h"

namespace {

constexpr int kExitDifferent = 3;

const std::vector<std::string> kModels = {"a30-24gb",   "a100-40gb", "a100-80gb", "b200-180gb",
                                          "gh200-96gb", "h100-80gb", "h100-94gb", "h200-141gb"};

const fs::path kNvidiaConfigs = fs::path(MIGCTL_SOURCE_DIR) / "tests/configs/nvidia";
const std::vector<std::string> kNvidiaFiles = {"mig-parted-config-default.yaml",
                                               "gpu-operator-default-mig-parted-config.yaml"};

/// A published `all-<profile>` layout whose one spec is `devices: all` without a device-filter.
struct AllLayout {
  std::string file;
  std::string label;
  std::string profile;  ///< As written: `3g.48gb`, `1g.5gb+me`.
};

/// Reads NVIDIA's config files line by line (their shape is fixed: labels at indent 2, profiles at indent 8)
/// and returns their single-profile `all-*` layouts that apply to every GPU, each distinct (label, profile)
/// once. Layouts with a device-filter (all-balanced, all-1g.10gb, all-1g.35gb) are left to other tests.
std::vector<AllLayout> PublishedAllLayouts() {
  const std::regex label_line(R"(^  (all-[^:]+):\s*$)");
  const std::regex profile_line(R"re(^        "([^"]+)": [0-9]+\s*$)re");
  std::vector<AllLayout> out;
  for (const std::string& name : kNvidiaFiles) {
    std::string label, profile;
    bool filtered = false;
    int profiles = 0;
    auto flush = [&] {
      if (label.empty() || filtered || profiles != 1) return;
      bool seen = std::any_of(out.begin(), out.end(),
                              [&](const AllLayout& l) { return l.label == label && l.profile == profile; });
      if (!seen) out.push_back({(kNvidiaConfigs / name).string(), label, profile});
    };
    for (const std::string& line : Lines(ReadFile(kNvidiaConfigs / name))) {
      std::smatch m;
      if (std::regex_match(line, m, label_line)) {
        flush();
        label = m[1];
        filtered = false;
        profiles = 0;
      } else if (std::regex_match(line, m, profile_line)) {
        profile = m[1];
        ++profiles;
      } else if (line.find("device-filter:") != std::string::npos) {
        filtered = true;
      }
    }
    flush();
  }
  return out;
}

/// `3g.48gb` → {3, 48, ""}; `1g.5gb+me` → {1, 5, "+me"}.
struct Shape {
  int slices = 0, gb = 0;
  std::string attributes;
};
Shape ShapeOf(const std::string& name) {
  Shape s;
  s.slices = std::atoi(name.c_str());
  const std::size_t dot = name.find('.'), gb = name.find("gb");
  s.gb = std::atoi(name.c_str() + dot + 1);
  s.attributes = name.substr(gb + 2);
  return s;
}

class MigPartedCompat : public E2e {
 protected:
  /// `migctl --sim STATE --json ARGS…` on a machine other than the test's own.
  Outcome On(const std::string& state, const Args& args) {
    Args full{"--sim", state, "--json"};
    full.insert(full.end(), args.begin(), args.end());
    return RunRaw(full);
  }
  std::string Config(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    WriteFile(path, text);
    return path.string();
  }
  static std::vector<std::string> Warnings(const Outcome& o) {
    std::vector<std::string> out;
    for (const std::string& line : Lines(o.err))
      if (line.starts_with("migctl: warning: ")) out.push_back(line);
    return out;
  }
};

TEST_F(MigPartedCompat, NvidiasPublishedConfigsAreValid) {
  for (const std::string& name : kNvidiaFiles) {
    Outcome o = RunRaw({"assert", "-a", "-f", (kNvidiaConfigs / name).string(), "-c", "all-balanced"});
    EXPECT_EQ(o.exit_code, kExitOk) << name << "\n" << o;
  }
}

// Regression: a profile name the GPU does not have was replaced by another model's profile of about the same
// size (`all-3g.48gb`, written for GH200, applied as 3g.47gb on an H100 NVL and assert passed; 17 distinct
// such cases among NVIDIA's published all-* layouts, 34 counted over both files). Now every published all-*
// layout applies on the models that have its profile and is refused, by apply and by assert, naming the
// profile as written, everywhere else; a refused apply leaves the machine byte-identical.
TEST_F(MigPartedCompat, PublishedAllLayoutsApplyOnlyOnTheModelsTheyWereWrittenFor) {
  const std::vector<AllLayout> layouts = PublishedAllLayouts();
  ASSERT_GE(layouts.size(), 70u);
  int applied = 0, refused = 0, one_gb_off = 0;
  for (const std::string& model : kModels) {
    const std::string state = (dir_ / (model + ".json")).string();
    ASSERT_EQ(RunRaw({"sim", "init", state, model + ":1", "--seed", "7"}).exit_code, kExitOk);
    ASSERT_EQ(On(state, {"mode", "enable", "-i", "all"}).exit_code, kExitOk);
    ASSERT_EQ(On(state, {"reset", "-i", "all"}).exit_code, kExitOk);
    std::vector<std::string> names;
    Outcome profiles = RunRaw({"--json", "profiles", "--model", model});
    ASSERT_EQ(profiles.exit_code, kExitOk) << profiles;
    const Json doc = profiles.OutJson();
    for (const Json& p : doc["profiles"]) names.push_back(p["name"]);
    const std::string before = ReadFile(state);
    for (const AllLayout& l : layouts) {
      const std::string what = l.label + " on " + model;
      SCOPED_TRACE(what);
      Outcome apply = On(state, {"apply", "-f", l.file, "-c", l.label});
      Outcome check = On(state, {"assert", "-f", l.file, "-c", l.label});
      if (std::find(names.begin(), names.end(), l.profile) != names.end()) {
        EXPECT_EQ(apply.exit_code, kExitOk) << what << "\n" << apply;
        EXPECT_EQ(check.exit_code, kExitOk) << what << "\n" << check;
        EXPECT_TRUE(Warnings(apply).empty()) << what << "\n" << apply;
        WriteFile(state, before);
        ++applied;
        continue;
      }
      ExpectOneLineError(apply, kExitUsage, {"no profile '" + l.profile + "' on ", l.file + ":"});
      EXPECT_EQ(ReadFile(state), before) << what;
      ExpectOneLineError(check, kExitUsage, {"no profile '" + l.profile + "' on "});
      ++refused;
      const Shape want = ShapeOf(l.profile);
      one_gb_off += std::any_of(names.begin(), names.end(), [&](const std::string& n) {
        const Shape have = ShapeOf(n);
        return have.slices == want.slices && have.attributes == want.attributes &&
               std::abs(have.gb - want.gb) == 1;
      });
    }
  }
  EXPECT_GT(applied, 40);
  EXPECT_GT(refused, 400);
  // The cases the old "1 GB off matches" rule applied as another profile: 17 distinct ones, 34 over the two
  // files.
  EXPECT_EQ(one_gb_off, 17);
}

TEST_F(MigPartedCompat, AnAliasRecordedForThisModelAppliesWithAWarningNamingBoth) {
  InitMigMachine("a100-80gb:2");
  const std::string file = Config("m.yaml",
                                  "version: v1\nmig-configs:\n  old-driver:\n    - devices: all\n"
                                  "      mig-enabled: true\n      mig-devices: {\"7g.79gb\": 1}\n");
  Outcome o = Migctl({"apply", "-f", file, "-c", "old-driver"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  std::vector<std::string> warnings = Warnings(o);
  ASSERT_EQ(warnings.size(), 1u) << o;  // once, not once per GPU
  EXPECT_NE(warnings[0].find("'7g.79gb' is what another driver calls the a100-80gb's 7g.80gb"),
            std::string::npos)
      << o;
  EXPECT_EQ(Instances(0)[0]["profile"], "7g.80gb");
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "old-driver"}).exit_code, kExitOk);
}

// Regression: `devices: [0..7]` on a 4-GPU host was refused, where mig-parted skips the missing indexes (the
// GPU Operator shares one ConfigMap across nodes of different sizes).
TEST_F(MigPartedCompat, DevicesPastTheHostsGpusAreSkippedWithOneWarningUnlessStrict) {
  InitMigMachine("h200-141gb:4");
  const std::string file =
      Config("m.yaml",
             "version: v1\nmig-configs:\n  eight:\n    - devices: [0, 1, 2, 3, 4, 5, 6, 7]\n"
             "      mig-enabled: true\n      mig-devices: {\"1g.18gb\": 7}\n");
  const std::string before = ReadFile(state_);
  Outcome strict = Migctl({"apply", "-f", file, "-c", "eight", "--strict"});
  ExpectOneLineError(strict, kExitUsage, {"m.yaml:4:", "GPU 4 does not exist", "--strict"});
  EXPECT_EQ(ReadFile(state_), before);
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "eight", "--strict"}).exit_code, kExitUsage);

  Outcome o = Migctl({"apply", "-f", file, "-c", "eight"});
  ASSERT_EQ(o.exit_code, kExitOk) << o;
  ASSERT_EQ(Warnings(o).size(), 1u) << o;
  EXPECT_NE(Warnings(o)[0].find("GPUs 4, 5, 6, 7 in 'devices' are not on this host"), std::string::npos) << o;
  for (int gpu = 0; gpu < 4; ++gpu) EXPECT_EQ(Instances(gpu).size(), 7u) << gpu;
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "eight"}).exit_code, kExitOk);
}

// mig-parted's assert fails when a GPU is selected by no spec, and the GPU Operator's mig-manager relies on
// it.
TEST_F(MigPartedCompat, AssertFailsWhenAGpuIsSelectedByNoSpec) {
  InitMigMachine("h100-80gb:3");
  const std::string file = Config("m.yaml",
                                  "version: v1\nmig-configs:\n  two:\n    - devices: [0, 1]\n"
                                  "      mig-enabled: true\n      mig-devices: {\"3g.40gb\": 2}\n");
  ASSERT_EQ(Migctl({"apply", "-f", file, "-c", "two"}).exit_code, kExitOk);
  Outcome o = Migctl({"assert", "-f", file, "-c", "two"});
  EXPECT_EQ(o.exit_code, kExitDifferent) << o;
  Json doc = o.OutJson();
  EXPECT_EQ(doc["applied"], false);
  ASSERT_EQ(doc["gpus"].size(), 3u) << o;
  EXPECT_EQ(doc["gpus"][2]["index"], 2);
  EXPECT_EQ(doc["gpus"][2]["applied"], false);
}

TEST_F(MigPartedCompat, ALayoutThatSelectsNoGpuChangesNothingAndStrictRefusesIt) {
  InitMigMachine("h100-94gb:2");
  const std::string file = (kNvidiaConfigs / kNvidiaFiles[0]).string();
  const std::string before = ReadFile(state_);
  Outcome o = Migctl({"apply", "-f", file, "-c", "all-1g.10gb"});  // Filters for A100 and H100 80GB only.
  EXPECT_EQ(o.exit_code, kExitOk) << o;
  ASSERT_EQ(Warnings(o).size(), 1u) << o;
  EXPECT_NE(Warnings(o)[0].find("selects no GPU of this host"), std::string::npos) << o;
  EXPECT_EQ(ReadFile(state_), before);
  EXPECT_EQ(Migctl({"assert", "-f", file, "-c", "all-1g.10gb"}).exit_code, kExitDifferent);
  Outcome strict = Migctl({"apply", "-f", file, "-c", "all-1g.10gb", "--strict"});
  ExpectOneLineError(strict, kExitUsage, {"selects no GPU of this host", "--strict"});
  EXPECT_EQ(ReadFile(state_), before);
}

// Regression: NVIDIA's all-balanced printed 11 warnings on every apply, one per spec for a model not here.
TEST_F(MigPartedCompat, AllBalancedAppliesOnEveryModelWithoutAWarning) {
  std::string fleet;
  for (const std::string& model : kModels) fleet += (fleet.empty() ? "" : ",") + model + ":1";
  InitMigMachine(fleet);
  for (const std::string& name : kNvidiaFiles) {
    const std::string file = (kNvidiaConfigs / name).string();
    Outcome o = Migctl({"apply", "-f", file, "-c", "all-balanced"});
    EXPECT_EQ(o.exit_code, kExitOk) << name << "\n" << o;
    EXPECT_TRUE(Warnings(o).empty()) << name << "\n" << o;
    Outcome check = Migctl({"assert", "-f", file, "-c", "all-balanced"});
    EXPECT_EQ(check.exit_code, kExitOk) << name << "\n" << check;
    EXPECT_TRUE(Warnings(check).empty()) << name << "\n" << check;
  }
}

// Regression: eight 1g.10gb on an empty A100 80GB were said not to fit because "7 already exist".
TEST_F(MigPartedCompat, CheckOfOneInstanceTooManySaysHowManyFitAndHowManyWereAsked) {
  Args args{"check", "--model", "a100-80gb"};
  for (int i = 0; i < 8; ++i) args.push_back("1g.10gb");
  Outcome o = RunRaw(args);
  EXPECT_EQ(o.exit_code, kExitUsage) << o;
  EXPECT_NE(o.out.find("at most 7 1g.10gb fit on an a100-80gb; 8 were asked"), std::string::npos) << o;
  EXPECT_EQ(o.out.find("already exist"), std::string::npos) << o;
}

// The drop-in: migctl installed as `nvidia-mig-parted` (a symlink) runs the GPU Operator mig-manager's
// reconfigure sequence and a systemd unit's command line unchanged, with NVIDIA's own config, and answers with
// mig-parted's exit codes (1 for a failed assert).
TEST_F(E2e, AsNvidiaMigPartedItRunsMigManagersSequenceUnchanged) {
  InitMachine("h100-80gb:2");
  const fs::path link = dir_ / "nvidia-mig-parted";
  fs::create_symlink(MIGCTL_BINARY, link);
  const std::string config = (kNvidiaConfigs / "mig-parted-config-default.yaml").string();
  const Env env = {{"MIGCTL_SIM", state_},
                   {"MIG_PARTED_CONFIG_FILE", config},
                   {"MIG_PARTED_SELECTED_CONFIG", "all-3g.40gb"}};
  auto mig_parted = [&](const Args& args) { return Start(link.string(), args, env).Wait(); };
  EXPECT_EQ(mig_parted({"assert", "--valid-config"}).exit_code, 0);
  EXPECT_EQ(mig_parted({"assert"}).exit_code, 1) << "not applied: mig-parted's exit 1, not migctl's 3";
  EXPECT_EQ(mig_parted({"assert", "--mode-only"}).exit_code, 1);
  Outcome o = mig_parted({"-d", "apply", "--mode-only"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(mig_parted({"assert", "--mode-only"}).exit_code, 0);
  EXPECT_TRUE(Instances(0).empty()) << "--mode-only leaves instances alone";
  o = mig_parted({"-d", "apply"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("MIG configuration applied successfully"), std::string::npos) << o;
  EXPECT_EQ(mig_parted({"assert"}).exit_code, 0);
  EXPECT_EQ(Instances(1).size(), 2u);
  o = mig_parted({"export"});
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("mig-configs:"), std::string::npos) << o;
  // A systemd unit's line, flags instead of the environment; and the environment's mode-only switch.
  o = Start(link.string(), {"apply", "-f", config, "-c", "all-1g.10gb"}, {{"MIGCTL_SIM", state_}}).Wait();
  EXPECT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(Instances(0).size(), 7u);
  o = Start(link.string(), {"assert", "-f", config, "-c", "all-3g.40gb"},
            {{"MIGCTL_SIM", state_}, {"MIG_PARTED_MODE_CHANGE_ONLY", "true"}})
          .Wait();
  EXPECT_EQ(o.exit_code, 0) << "only the mode is asserted: " << o;
  // What migctl does not take is one line and exit 1.
  o = mig_parted({"generate-config"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(Lines(o.err).size(), 1u) << o;
  EXPECT_NE(mig_parted({"version"}).out.find("migctl"), std::string::npos);
}

// The command lines of mig-parted's own boot script (deployments/systemd/service.sh), in its order, on A100s
// whose mode change needs a reset: generate-config (not taken: the script then uses the config it has), the
// mode asserted, set without a reset, set again (the reset), the layout applied and exported.
TEST_F(E2e, AsNvidiaMigPartedItRunsTheBootScriptsSequenceUnchanged) {
  InitMachine("a100-80gb:2");
  const fs::path link = dir_ / "nvidia-mig-parted";
  fs::create_symlink(MIGCTL_BINARY, link);
  const Env env = {{"MIGCTL_SIM", state_},
                   {"MIG_PARTED_CONFIG_FILE", (kNvidiaConfigs / "mig-parted-config-default.yaml").string()},
                   {"MIG_PARTED_SELECTED_CONFIG", "all-1g.10gb"}};
  auto mig_parted = [&](const Args& args) { return Start(link.string(), args, env).Wait(); };
  const fs::path generated = dir_ / "config.yaml.tmp";
  EXPECT_EQ(mig_parted({"generate-config", "-f", generated.string()}).exit_code, 1);
  EXPECT_FALSE(fs::exists(generated));
  EXPECT_EQ(mig_parted({"assert", "--mode-only"}).exit_code, 1);
  Outcome o = mig_parted({"apply", "--mode-only", "--skip-reset"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(mig_parted({"assert", "--mode-only"}).exit_code, 1) << "pending until the reset";
  o = mig_parted({"apply", "--mode-only"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(mig_parted({"assert", "--mode-only"}).exit_code, 0);
  o = mig_parted({"apply"});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(mig_parted({"export"}).exit_code, 0);
  EXPECT_EQ(mig_parted({"assert"}).exit_code, 0);
  EXPECT_EQ(Instances(0).size(), 7u);
  EXPECT_EQ(Instances(1).size(), 7u);
}

// `service install --replace-mig-manager` on an image laid out as mig-parted's package installs it: the boot
// unit applies the layout mig-manager's override.conf selected, from its config; mig-manager is disabled; the
// layout the new unit applies is the one mig-parted would have applied; uninstall enables mig-manager again.
TEST_F(E2e, ServiceInstallReplacesAnInstalledNvidiaMigManagerServiceAndUninstallGivesItBack) {
  InitMachine("h100-80gb:2");
  const std::string root = (dir_ / "image").string();
  const std::string unit = "/usr/lib/systemd/system/nvidia-mig-manager.service";
  const std::vector<std::string> links = {
      "/etc/systemd/system/multi-user.target.wants/nvidia-mig-manager.service",
      "/etc/systemd/system/nvidia-gpu-reset.target.wants/nvidia-mig-manager.service"};
  for (const char* dir : {"/usr/lib/systemd/system", "/etc/systemd/system/nvidia-mig-manager.service.d",
                          "/etc/nvidia-mig-manager"})
    fs::create_directories(root + dir);
  WriteFile(root + unit,
            "[Unit]\nDescription=Configure MIG on NVIDIA GPUs\n[Service]\nType=oneshot\n"
            "ExecStart=/bin/bash /etc/nvidia-mig-manager/service.sh\n"
            "[Install]\nWantedBy=multi-user.target nvidia-gpu-reset.target\n");
  WriteFile(root + "/etc/systemd/system/nvidia-mig-manager.service.d/override.conf",
            "[Service]\nEnvironment=\"MIG_PARTED_SELECTED_CONFIG=all-3g.40gb\"\n");
  const std::string nvidia_config = (kNvidiaConfigs / "mig-parted-config-default.yaml").string();
  WriteFile(root + "/etc/nvidia-mig-manager/config.yaml", ReadFile(nvidia_config));
  for (const std::string& link : links) {
    fs::create_directories(fs::path(root + link).parent_path());
    fs::create_symlink(unit, root + link);
  }

  Outcome refused = RunRaw({"service", "install", "-f", nvidia_config, "-c", "all-1g.10gb", "--root", root});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("--replace-mig-manager"), std::string::npos) << refused;
  EXPECT_FALSE(fs::exists(root + "/etc/migctl"));

  Outcome o = RunRaw({"--json", "service", "install", "--replace-mig-manager", "--root", root, "--migctl",
                      "/usr/bin/migctl"});
  ASSERT_EQ(o.exit_code, 0) << o;
  Json done = Json::parse(o.out);
  EXPECT_EQ(done["label"], "all-3g.40gb");
  EXPECT_EQ(done["disabled"], Json(links));
  for (const std::string& link : links) EXPECT_FALSE(fs::is_symlink(root + link)) << link;
  const std::string ours = ReadFile(root + "/etc/systemd/system/migctl-apply.service");
  EXPECT_NE(ours.find("apply -f /etc/migctl/mig.yaml -c all-3g.40gb"), std::string::npos) << ours;
  Json status = Json::parse(RunRaw({"--json", "service", "status", "--root", root}).out);
  EXPECT_EQ(status["replaced"], "nvidia-mig-manager.service");
  EXPECT_EQ(status["conflicts"], Json::array());

  // What the boot unit runs gives the layout mig-parted's service would have given.
  o = RunRaw({"--sim", state_, "apply", "-f", root + "/etc/migctl/mig.yaml", "-c", "all-3g.40gb"});
  ASSERT_EQ(o.exit_code, 0) << o;
  const fs::path link = dir_ / "nvidia-mig-parted";
  fs::create_symlink(MIGCTL_BINARY, link);
  EXPECT_EQ(Start(link.string(), {"assert", "-f", nvidia_config, "-c", "all-3g.40gb"}, {{"MIGCTL_SIM", state_}})
                .Wait()
                .exit_code,
            0);

  o = RunRaw({"service", "uninstall", "--root", root});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.out.find("Enabled nvidia-mig-manager.service again"), std::string::npos) << o;
  for (const std::string& link : links) {
    ASSERT_TRUE(fs::is_symlink(root + link)) << link;
    EXPECT_EQ(fs::read_symlink(root + link), unit);
  }
  EXPECT_FALSE(fs::exists(root + "/etc/systemd/system/migctl-apply.service"));
}

}  // namespace
