#include "integrations/k8s_labels.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <fmt/format.h>

namespace migctl {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

/// `NVIDIA H100 80GB HBM3` -> `NVIDIA-H100-80GB-HBM3`: what GFD puts in a product label.
std::string ProductValue(const std::string& name) {
  std::string out;
  for (char c : name)
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '-';
  return out;
}

std::string TypeOf(const std::vector<KubeGpu>& gpus, size_t g, size_t d) {
  return DevicePluginType(gpus[g], gpus[g].devices[d]);
}

}  // namespace

const char* MigStrategyName(MigStrategy s) {
  switch (s) {
    case MigStrategy::kNone:
      return "none";
    case MigStrategy::kSingle:
      return "single";
    case MigStrategy::kMixed:
      return "mixed";
  }
  return "none";
}

std::string DevicePluginType(const KubeGpu& gpu, const KubeGpu::Device& device) {
  const auto& a = device.attributes;
  const double total = static_cast<double>(gpu.memory_bytes);
  const double share = std::ceil(static_cast<double>(a.memory_mib) * 1024 * 1024 / total * 8) / 8;
  const auto gb = static_cast<long long>(std::llround(share * std::ceil(total / kGiB)));
  std::string type = a.ci_slices < a.gi_slices ? fmt::format("{}c.{}g.{}gb", a.ci_slices, a.gi_slices, gb)
                                               : fmt::format("{}g.{}gb", a.gi_slices, gb);
  return type + device.profile_suffix;
}

MigStrategy StrategyFor(const std::vector<KubeGpu>& gpus) {
  if (std::none_of(gpus.begin(), gpus.end(), [](const KubeGpu& g) { return g.mig; }))
    return MigStrategy::kNone;
  std::string type;
  for (size_t g = 0; g < gpus.size(); ++g) {
    if (!gpus[g].mig) return MigStrategy::kMixed;
    for (size_t d = 0; d < gpus[g].devices.size(); ++d) {
      const std::string t = TypeOf(gpus, g, d);
      if (!type.empty() && t != type) return MigStrategy::kMixed;
      type = t;
    }
  }
  return type.empty() ? MigStrategy::kMixed : MigStrategy::kSingle;  // single needs a type to advertise
}

bool IsLabelValue(const std::string& value) {
  if (value.size() > 63) return false;
  if (value.empty()) return true;
  auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  if (!alnum(value.front()) || !alnum(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [&](char c) { return alnum(c) || c == '-' || c == '_' || c == '.'; });
}

Result<std::vector<std::string>> GfdLabels(const std::vector<KubeGpu>& gpus, MigStrategy strategy) {
  std::map<std::string, std::string> labels;
  labels["nvidia.com/mig.strategy"] = MigStrategyName(strategy);
  // Per type: how many, and one device's facts (devices of one type share them).
  std::map<std::string, std::pair<unsigned, std::pair<size_t, size_t>>> types;
  for (size_t g = 0; g < gpus.size(); ++g)
    for (size_t d = 0; d < gpus[g].devices.size(); ++d) {
      auto [it, fresh] = types.try_emplace(TypeOf(gpus, g, d), 0, std::pair(g, d));
      ++it->second.first;
    }
  if (strategy == MigStrategy::kSingle) {
    for (size_t g = 0; g < gpus.size(); ++g)
      if (!gpus[g].mig)
        return MakeError(ErrorCode::kInvalidInput,
                         fmt::format("--strategy single needs MIG on every GPU, and GPU {} has it off: use "
                                     "--strategy mixed",
                                     g));
    if (types.size() > 1) {
      std::vector<std::string> names;
      for (const auto& [t, v] : types) names.push_back(t);
      return MakeError(
          ErrorCode::kInvalidInput,
          fmt::format("--strategy single needs one MIG type on every GPU, and this node has {}: use "
                      "--strategy mixed",
                      fmt::join(names, ", ")));
    }
  }
  for (const auto& [type, v] : types) {
    const auto [count, where] = v;
    const KubeGpu& gpu = gpus[where.first];
    const nvml::MigDeviceAttributes& a = gpu.devices[where.second].attributes;
    const std::string prefix =
        strategy == MigStrategy::kSingle ? "nvidia.com/gpu." : "nvidia.com/mig-" + type + ".";
    labels[prefix + "count"] = std::to_string(count);
    labels[prefix + "memory"] = std::to_string(a.memory_mib);
    labels[prefix + "multiprocessors"] = std::to_string(a.multiprocessors);
    labels[prefix + "slices.gi"] = std::to_string(a.gi_slices);
    labels[prefix + "slices.ci"] = std::to_string(a.ci_slices);
    labels[prefix + "engines.copy"] = std::to_string(a.shared_engines.copy);
    labels[prefix + "engines.decoder"] = std::to_string(a.shared_engines.decoder);
    labels[prefix + "engines.encoder"] = std::to_string(a.shared_engines.encoder);
    labels[prefix + "engines.jpeg"] = std::to_string(a.shared_engines.jpeg);
    labels[prefix + "engines.ofa"] = std::to_string(a.shared_engines.ofa);
    labels[prefix + "product"] = ProductValue(gpu.name) + "-MIG-" + type;
  }
  std::vector<std::string> lines;
  for (const auto& [key, value] : labels) {
    if (!IsLabelValue(value) || key.size() - key.find('/') - 1 > 63)
      return MakeError(ErrorCode::kInternal,
                       fmt::format("label {}={} is not valid for Kubernetes", key, value));
    lines.push_back(key + "=" + value);
  }
  return lines;
}

std::string DevicePluginConfig(MigStrategy strategy) {
  return fmt::format(
      "# NVIDIA device plugin configuration, written by migctl k8s device-plugin-config\n"
      "version: v1\nflags:\n  migStrategy: {}\n",
      MigStrategyName(strategy));
}

}  // namespace migctl
