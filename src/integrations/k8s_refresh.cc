#include "integrations/k8s_refresh.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/trusted_path.h"
#include "nvml/snapshot.h"

namespace migctl {

Result<std::vector<KubeGpu>> ReadKubeGpus(const nvml::Nvml& nvml) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, nvml.Devices());
  std::vector<KubeGpu> gpus;
  for (const nvml::Device& device : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot snapshot, nvml::ObserveGpu(device));
    KubeGpu gpu{
        snapshot.name, snapshot.memory.total_mib * 1024 * 1024, snapshot.mig && snapshot.mig->current, {}};
    for (const nvml::InstanceSnapshot& i : snapshot.instances) {
      if (!gpu.mig || !i.attributes) continue;  // a GI without a compute instance is no MIG device
      // `+me`, `-me`: what the GI profile's name adds to slices and memory.
      const size_t at = std::min(i.profile_name.find('+'), i.profile_name.find("-me"));
      gpu.devices.push_back({*i.attributes, at == std::string::npos ? "" : i.profile_name.substr(at)});
    }
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

Status WriteNodeFile(const std::string& path, const std::string& text, const char* what) {
  if (::geteuid() == 0) MIGCTL_RETURN_IF_ERROR(CheckOnlyRootCanChange(path, what));
  return WriteFileAtomically(path, text, 0644);
}

K8sRefresh K8sRefresh::FromEnvironment() {
  K8sRefresh r;
  if (const char* v = std::getenv("MIGCTL_K8S_LABELS")) r.labels = v;
  if (const char* v = std::getenv("MIGCTL_K8S_DEVICE_PLUGIN_CONFIG")) r.device_plugin_config = v;
  return r;
}

std::vector<pid_t> ProcessesNamed(ProcessHost& host, const std::string& program) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(name.c_str()));
    const std::optional<std::string> cmdline = host.CommandLine(pid);
    if (cmdline && ProgramOf(*cmdline) == program) pids.push_back(pid);
  }
  return pids;
}

Result<std::vector<std::string>> RefreshK8s(const K8sRefresh& refresh, const nvml::Nvml& nvml,
                                            ProcessHost& host) {
  std::vector<std::string> done;
  if (!refresh.any()) return done;
  MIGCTL_ASSIGN_OR_RETURN(std::vector<KubeGpu> gpus, ReadKubeGpus(nvml));
  const MigStrategy strategy = StrategyFor(gpus);
  if (!refresh.labels.empty()) {
    // With MIG off everywhere there are no MIG labels: the file says so rather than keeping stale ones.
    std::string text =
        "# GPU Feature Discovery's MIG labels for this node, written by migctl after a GPU change\n";
    if (strategy != MigStrategy::kNone) {
      MIGCTL_ASSIGN_OR_RETURN(std::vector<std::string> labels, GfdLabels(gpus, strategy));
      for (const std::string& l : labels) text += l + "\n";
    }
    MIGCTL_RETURN_IF_ERROR(WriteNodeFile(refresh.labels, text, "MIGCTL_K8S_LABELS"));
    done.push_back(
        fmt::format("k8s: labels rewritten in {} ({})", refresh.labels, MigStrategyName(strategy)));
  }
  if (!refresh.device_plugin_config.empty()) {
    MIGCTL_RETURN_IF_ERROR(WriteNodeFile(refresh.device_plugin_config, DevicePluginConfig(strategy),
                                         "MIGCTL_K8S_DEVICE_PLUGIN_CONFIG"));
    done.push_back(fmt::format("k8s: device plugin config rewritten in {} (migStrategy {})",
                               refresh.device_plugin_config, MigStrategyName(strategy)));
  }
  constexpr const char* kPlugin = "nvidia-device-plugin";
  for (pid_t pid : ProcessesNamed(host, kPlugin))
    if (host.Kill(pid, SIGHUP, [&](const std::string& line) { return ProgramOf(line) == kPlugin; }))
      done.push_back(fmt::format("k8s: sent SIGHUP to nvidia-device-plugin (pid {})", pid));
  return done;
}

}  // namespace migctl
