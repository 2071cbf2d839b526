#include "sim/machine_state.h"

#include <algorithm>

namespace migctl::sim {
namespace {

using nlohmann::json;

json ProcessToJson(const SimProcess& p) {
  json j = {{"pid", p.pid}, {"name", p.name}, {"used_mib", p.used_mib}};
  if (p.gi) j["gpu_instance_id"] = *p.gi;
  if (p.ci) j["compute_instance_id"] = *p.ci;
  return j;
}

SimProcess ProcessFromJson(const json& j) {
  SimProcess p{j.at("pid").get<unsigned>(), j.at("name").get<std::string>(),
               j.at("used_mib").get<unsigned long long>()};
  if (j.contains("gpu_instance_id")) p.gi = j.at("gpu_instance_id").get<unsigned>();
  if (j.contains("compute_instance_id")) p.ci = j.at("compute_instance_id").get<unsigned>();
  return p;
}

json GpuInstanceToJson(const SimGpuInstance& gi) {
  json cis = json::array();
  for (const SimComputeInstance& ci : gi.compute_instances) {
    cis.push_back({{"id", ci.id},
                   {"profile_id", ci.profile_id},
                   {"start", ci.start},
                   {"size", ci.size},
                   {"uuid", ci.uuid}});
  }
  return {{"id", gi.id},
          {"profile_id", gi.profile_id},
          {"start", gi.start},
          {"size", gi.size},
          {"compute_instances", cis}};
}

SimGpuInstance GpuInstanceFromJson(const json& j) {
  SimGpuInstance gi{j.at("id").get<unsigned>(),
                    j.at("profile_id").get<unsigned>(),
                    j.at("start").get<unsigned>(),
                    j.at("size").get<unsigned>(),
                    {}};
  for (const json& c : j.at("compute_instances")) {
    gi.compute_instances.push_back({c.at("id").get<unsigned>(), c.at("profile_id").get<unsigned>(),
                                    c.at("start").get<unsigned>(), c.at("size").get<unsigned>(),
                                    c.at("uuid").get<std::string>()});
  }
  return gi;
}

json GpuToJson(const SimGpu& gpu) {
  json gis = json::array();
  for (const SimGpuInstance& gi : gpu.gpu_instances) gis.push_back(GpuInstanceToJson(gi));
  json procs = json::array();
  for (const SimProcess& p : gpu.processes) procs.push_back(ProcessToJson(p));
  return {{"model", gpu.model},
          {"uuid", gpu.uuid},
          {"pci_bus_id", gpu.pci_bus_id},
          {"minor", gpu.minor},
          {"mig_mode", {{"current", gpu.mig_current}, {"pending", gpu.mig_pending}}},
          {"creations", gpu.creations},
          {"gpu_instances", gis},
          {"processes", procs}};
}

SimGpu GpuFromJson(const json& j) {
  SimGpu gpu;
  gpu.model = j.at("model").get<std::string>();
  gpu.uuid = j.at("uuid").get<std::string>();
  gpu.pci_bus_id = j.at("pci_bus_id").get<std::string>();
  gpu.minor = j.at("minor").get<unsigned>();
  gpu.mig_current = j.at("mig_mode").at("current").get<unsigned>();
  gpu.mig_pending = j.at("mig_mode").at("pending").get<unsigned>();
  gpu.creations = j.at("creations").get<std::uint64_t>();
  for (const json& gi : j.at("gpu_instances")) gpu.gpu_instances.push_back(GpuInstanceFromJson(gi));
  for (const json& p : j.at("processes")) gpu.processes.push_back(ProcessFromJson(p));
  return gpu;
}

template <typename Vec>
auto FindById(Vec& items, unsigned id) -> decltype(&items[0]) {
  auto it = std::ranges::find_if(items, [id](const auto& item) { return item.id == id; });
  return it == items.end() ? nullptr : &*it;
}

}  // namespace

json MachineStateToJson(const MachineState& state) {
  json gpus = json::array();
  for (const SimGpu& gpu : state.gpus) gpus.push_back(GpuToJson(gpu));
  return {{"version", kStateVersion}, {"seed", state.seed}, {"gpus", gpus}};
}

Result<MachineState> ParseMachineState(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return MakeError(ErrorCode::kCorrupt,
                     "simulator state is not valid JSON; recreate it with `migctl sim init`");
  }
  if (!j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int>() != kStateVersion) {
    std::string found = j.contains("version") ? j["version"].dump() : "none";
    return MakeError(ErrorCode::kCorrupt, "simulator state has version " + found +
                                              ", this migctl reads version " + std::to_string(kStateVersion) +
                                              "; recreate it with `migctl sim init`");
  }
  try {
    MachineState state;
    state.seed = j.at("seed").get<std::uint64_t>();
    for (const json& gpu : j.at("gpus")) state.gpus.push_back(GpuFromJson(gpu));
    return state;
  } catch (const json::exception& e) {
    return MakeError(ErrorCode::kCorrupt, std::string("simulator state is malformed (") + e.what() +
                                              "); recreate it with `migctl sim init`");
  }
}

SimGpuInstance* FindGpuInstance(SimGpu& gpu, unsigned gi_id) { return FindById(gpu.gpu_instances, gi_id); }
const SimGpuInstance* FindGpuInstance(const SimGpu& gpu, unsigned gi_id) {
  return FindById(gpu.gpu_instances, gi_id);
}
SimComputeInstance* FindComputeInstance(SimGpuInstance& gi, unsigned ci_id) {
  return FindById(gi.compute_instances, ci_id);
}
const SimComputeInstance* FindComputeInstance(const SimGpuInstance& gi, unsigned ci_id) {
  return FindById(gi.compute_instances, ci_id);
}

}  // namespace migctl::sim
