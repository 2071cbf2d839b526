// Keeping the Kubernetes files in step with the GPUs: after a GPU change, the GFD labels and the device
// plugin's config are rewritten (where MIGCTL_K8S_LABELS and MIGCTL_K8S_DEVICE_PLUGIN_CONFIG name them), and
// every nvidia-device-plugin process this host can see gets SIGHUP, on which the plugin reloads its config
// and enumerates the MIG devices again. Also the one way `migctl k8s` writes its files.
#pragma once

#include <string>
#include <vector>

#include "common/process_host.h"
#include "common/result.h"
#include "integrations/k8s_labels.h"
#include "nvml/device.h"

namespace migctl {

/// The node's GPUs as the labels see them: one look through NVML.
Result<std::vector<KubeGpu>> ReadKubeGpus(const nvml::Nvml& nvml);

/// Writes `text` to `path` atomically (a hidden temporary name, then rename: Node Feature Discovery skips
/// dot-files and never reads half a file). As root, a path anyone else can change is refused (kInvalidInput,
/// naming `what`).
Status WriteNodeFile(const std::string& path, const std::string& text, const char* what);

struct K8sRefresh {
  std::string labels;  ///< MIGCTL_K8S_LABELS: the GFD labels file; empty: not kept.
  std::string
      device_plugin_config;  ///< MIGCTL_K8S_DEVICE_PLUGIN_CONFIG: the plugin's config; empty: not kept.
  static K8sRefresh FromEnvironment();
  bool any() const { return !labels.empty() || !device_plugin_config.empty(); }
};

/// Rewrites the files `refresh` names for the GPUs as they are now (strategy auto; labels mixed when single
/// is not allowed) and sends SIGHUP to every process under `proc` whose program is nvidia-device-plugin.
/// Returns what it did, one line each.
Result<std::vector<std::string>> RefreshK8s(const K8sRefresh& refresh, const nvml::Nvml& nvml,
                                            ProcessHost& host = RealProcessHost());

/// The live processes whose argv[0]'s file name is `program`: the pids /proc lists, read through `host`.
std::vector<pid_t> ProcessesNamed(ProcessHost& host, const std::string& program);

}  // namespace migctl
