// `migctl k8s labels` and `k8s device-plugin-config` on simulated machines, checked with the real kubectl
// offline (`kubectl label --local`, `kubectl create configmap --dry-run=client`).
#include <signal.h>

#include "e2e_harness.h"

namespace {

class K8sE2e : public E2e {
 protected:
  /// kubectl with no cluster (only its offline commands work); exit 127 when there is no kubectl.
  Outcome KubectlArgs(Args args) {
    Args full = {"-c",
                 "command -v kubectl >/dev/null || exit 127; KUBECONFIG=/nonexistent exec kubectl \"$@\"",
                 "kubectl"};
    full.insert(full.end(), args.begin(), args.end());
    return Start("/bin/sh", full).Wait();
  }
};

TEST_F(K8sE2e, LabelsAreGfdsAndKubectlTakesEveryOne) {
  InitMigMachine("h100-80gb:2");
  MustJson({"create", "-i", "0", "3g.40gb", "1g.10gb", "1g.10gb"});
  MustJson({"create", "-i", "1", "3g.40gb", "2g.20gb"});
  const fs::path dir = dir_ / "features.d";
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                           fs::perms::others_read | fs::perms::others_exec);
  const fs::path file = dir / "migctl";
  Outcome o = RunRaw({"--sim", state_, "k8s", "labels", "-o", file.string()});
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1)
      << "no temporary file left";
  const std::string text = ReadFile(file);
  std::vector<std::string> labels;
  for (const std::string& line : Lines(text))
    if (!line.empty() && line[0] != '#') labels.push_back(line);
  EXPECT_NE(std::find(labels.begin(), labels.end(), "nvidia.com/mig.strategy=mixed"), labels.end()) << text;
  EXPECT_NE(std::find(labels.begin(), labels.end(), "nvidia.com/mig-3g.40gb.count=2"), labels.end()) << text;
  EXPECT_NE(std::find(labels.begin(), labels.end(), "nvidia.com/mig-1g.10gb.count=2"), labels.end()) << text;
  EXPECT_NE(std::find(labels.begin(), labels.end(), "nvidia.com/mig-2g.20gb.slices.gi=2"), labels.end())
      << text;
  EXPECT_EQ(labels.size(), 1u + 3 * 11) << text;
  // --json: the same labels as an object.
  const Json doc = MustJson({"k8s", "labels"});
  EXPECT_EQ(doc["strategy"], "mixed");
  EXPECT_EQ(doc["labels"]["nvidia.com/mig-3g.40gb.product"], "NVIDIA-H100-80GB-HBM3-MIG-3g.40gb");

  const fs::path node = dir_ / "node.yaml";
  std::ofstream(node) << "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n";
  Args label = {"label", "--local", "-f", node.string(), "-o", "yaml"};
  label.insert(label.end(), labels.begin(), labels.end());
  Outcome k = KubectlArgs(label);
  if (k.exit_code == 127) GTEST_SKIP() << "no kubectl on this machine";
  ASSERT_EQ(k.exit_code, 0) << k;
  EXPECT_NE(k.out.find("nvidia.com/mig-3g.40gb.count: \"2\""), std::string::npos) << k;
  // kubectl refuses what Kubernetes would: the check can fail.
  EXPECT_NE(KubectlArgs({"label", "--local", "-f", node.string(), "nvidia.com/x=NVIDIA A100 MIG"}).exit_code,
            0);
}

TEST_F(K8sE2e, TheDevicePluginGetsTheStrategyTheLayoutAllows) {
  InitMachine("h100-80gb:2");
  EXPECT_EQ(MustJson({"k8s", "device-plugin-config"})["strategy"], "none");
  ExpectOneLineError(Migctl({"k8s", "labels"}), kExitUsage, {"no GPU has MIG on"});
  EnableMig("all");
  MustJson({"create", "-i", "0,1", "3g.40gb"});
  EXPECT_EQ(MustJson({"k8s", "device-plugin-config"})["strategy"], "single");
  EXPECT_EQ(MustJson({"k8s", "labels"})["labels"]["nvidia.com/gpu.count"], "2");
  MustJson({"create", "-i", "1", "1g.10gb"});
  const Json mixed = MustJson({"k8s", "device-plugin-config"});
  EXPECT_EQ(mixed["strategy"], "mixed");
  EXPECT_NE(mixed["config"].get<std::string>().find("version: v1\nflags:\n  migStrategy: mixed\n"),
            std::string::npos);
  ExpectOneLineError(Migctl({"k8s", "device-plugin-config", "--strategy", "single"}), kExitUsage,
                     {"--strategy single", "1g.10gb, 3g.40gb", "--strategy mixed"});
  ExpectOneLineError(Migctl({"k8s", "labels", "--strategy", "none"}), kExitUsage, {"--strategy none"});

  // The config wrapped in the plugin's ConfigMap, as its Helm chart takes it.
  const fs::path config = dir_ / "dp.yaml";
  ASSERT_EQ(RunRaw({"--sim", state_, "k8s", "device-plugin-config", "-o", config.string()}).exit_code, 0);
  Outcome k = KubectlArgs({"create", "configmap", "nvidia-plugin-configs", "-n", "nvidia-device-plugin",
                           "--from-file=default=" + config.string(), "--dry-run=client", "-o", "yaml"});
  if (k.exit_code == 127) GTEST_SKIP() << "no kubectl on this machine";
  ASSERT_EQ(k.exit_code, 0) << k;
  EXPECT_NE(k.out.find("migStrategy: mixed"), std::string::npos) << k;

  // As root, a file in a directory others can change is refused.
  const fs::path open_dir = dir_ / "open";
  fs::create_directories(open_dir);
  fs::permissions(open_dir, fs::perms::all);
  ExpectOneLineError(Migctl({"k8s", "labels", "-o", (open_dir / "migctl").string()}), kExitUsage, {"-o"});
  EXPECT_FALSE(fs::exists(open_dir / "migctl"));
}

TEST_F(K8sE2e, AGpuChangeRefreshesTheFilesAndSignalsTheDevicePlugin) {
  InitMigMachine("h100-80gb:1");
  const fs::path labels = dir_ / "labels", config = dir_ / "dp.yaml";
  const Env env = {{"MIGCTL_K8S_LABELS", labels.string()},
                   {"MIGCTL_K8S_DEVICE_PLUGIN_CONFIG", config.string()}};
  // A stand-in for the device plugin: a program named nvidia-device-plugin that SIGHUP ends (sleep).
  const fs::path plugin = dir_ / "nvidia-device-plugin";
  fs::copy_file("/bin/sleep", plugin);
  Child fake = Start(plugin.string(), {"60"});

  Outcome o = Migctl({"create", "-i", "0", "3g.40gb", "3g.40gb"}, env);
  ASSERT_EQ(o.exit_code, 0) << o;
  EXPECT_NE(o.err.find("sent SIGHUP to nvidia-device-plugin (pid " + std::to_string(fake.pid()) + ")"),
            std::string::npos)
      << o;
  EXPECT_EQ(fake.Wait().exit_code, 128 + SIGHUP) << "the plugin got SIGHUP";
  EXPECT_NE(ReadFile(labels).find("nvidia.com/gpu.count=2\n"), std::string::npos) << ReadFile(labels);
  EXPECT_NE(ReadFile(config).find("migStrategy: single"), std::string::npos);

  // A dry run changes nothing, files included; a real change rewrites them again.
  const std::string before = ReadFile(labels);
  ASSERT_EQ(Migctl({"destroy", "-i", "0", "--all", "--dry-run"}, env).exit_code, 0);
  EXPECT_EQ(ReadFile(labels), before);
  ASSERT_EQ(Migctl({"destroy", "-i", "0", "--all"}, env).exit_code, 0);
  EXPECT_EQ(ReadFile(labels).find("nvidia.com/mig-"), std::string::npos) << "no MIG device, no type";
  EXPECT_EQ(ReadFile(labels).find("nvidia.com/gpu."), std::string::npos) << ReadFile(labels);
  EXPECT_NE(ReadFile(config).find("migStrategy: mixed"), std::string::npos) << "MIG on, nothing single to say";
  ASSERT_EQ(Migctl({"create", "-i", "0", "3g.40gb", "1g.10gb"}, env).exit_code, 0);
  EXPECT_NE(ReadFile(labels).find("nvidia.com/mig-1g.10gb.count=1\n"), std::string::npos) << ReadFile(labels);
  EXPECT_NE(ReadFile(config).find("migStrategy: mixed"), std::string::npos);
}

}  // namespace
