#include "spec/export.h"

#include <map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace migctl::spec {
namespace {

using Json = nlohmann::ordered_json;

Json GpuContent(const ExportGpu& gpu, ExportStyle style, std::vector<std::string>* warnings) {
  Json spec = {{"mig-enabled", gpu.mig_enabled}};
  if (!gpu.mig_enabled) return spec;
  if (style == ExportStyle::kCounts) {
    std::map<std::string, unsigned> counts;
    for (const ExportGi& gi : gpu.instances) {
      if (gi.cis.empty())
        warnings->push_back(
            fmt::format("GPU {}: GPU instance {}@{} has no compute instance; a count config cannot "
                        "express it (left out)",
                        gpu.index.value(), gi.name, gi.start));
      for (const ExportCi& ci : gi.cis) ++counts[ci.name];
    }
    Json devices = Json::object();
    for (const auto& [name, count] : counts) devices[name] = count;
    spec["mig-devices"] = devices;
    return spec;
  }
  Json instances = Json::array();
  for (const ExportGi& gi : gpu.instances) {
    Json entry = {{"profile", gi.name}, {"start", gi.start}};
    if (!gi.default_ci_only) {
      Json cis = Json::array();
      for (const ExportCi& ci : gi.cis) cis.push_back({{"profile", ci.name}, {"start", ci.start}});
      entry["compute-instances"] = cis;
    }
    instances.push_back(entry);
  }
  spec["mig-instances"] = instances;
  return spec;
}

YAML::Node ToYaml(const Json& j) {
  if (j.is_object()) {
    YAML::Node n(YAML::NodeType::Map);
    for (const auto& [k, v] : j.items()) n[k] = ToYaml(v);
    return n;
  }
  if (j.is_array()) {
    YAML::Node n(YAML::NodeType::Sequence);
    for (const Json& v : j) n.push_back(ToYaml(v));
    return n;
  }
  if (j.is_boolean()) return YAML::Node(j.get<bool>());
  if (j.is_number_unsigned()) return YAML::Node(j.get<unsigned long long>());
  if (j.is_number_integer()) return YAML::Node(j.get<long long>());
  return YAML::Node(j.get<std::string>());
}

}  // namespace

ExportResult ExportConfig(const std::vector<ExportGpu>& gpus, const std::string& label, ExportFormat format,
                          ExportStyle style) {
  ExportResult out;
  // Group GPUs with equal content, in order of first appearance.
  std::vector<std::pair<Json, std::vector<unsigned>>> groups;
  for (const ExportGpu& gpu : gpus) {
    Json content = GpuContent(gpu, style, &out.warnings);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == content; });
    if (it == groups.end())
      groups.push_back({content, {gpu.index.value()}});
    else
      it->second.push_back(gpu.index.value());
  }
  Json specs = Json::array();
  for (const auto& [content, indexes] : groups) {
    Json spec = Json::object();
    spec["devices"] = groups.size() == 1 ? Json("all") : Json(indexes);
    for (const auto& [k, v] : content.items()) spec[k] = v;
    specs.push_back(spec);
  }
  Json doc = {{"version", "v1"}, {"mig-configs", {{label, specs}}}};
  if (format == ExportFormat::kJson) {
    out.text = doc.dump(2) + "\n";
    return out;
  }
  YAML::Emitter emitter;
  emitter << ToYaml(doc);
  out.text = std::string(emitter.c_str()) + "\n";
  return out;
}

}  // namespace migctl::spec
