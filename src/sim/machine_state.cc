#include "sim/machine_state.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "sim/state_check.h"

namespace migctl::sim {
namespace {

using nlohmann::json;

json ProcessToJson(const SimProcess& p) {
  json j = {{"pid", p.pid}, {"name", p.name}, {"used_mib", p.used_mib}};
  if (p.gi) j["gpu_instance_id"] = *p.gi;
  if (p.ci) j["compute_instance_id"] = *p.ci;
  return j;
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

Error Malformed(const std::string& where, const std::string& what) {
  return MakeError(ErrorCode::kCorrupt, where + ": " + what);
}

/// `j[key]` of the object `j`, or an error naming `where` and the key.
Result<const json*> Field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) return Malformed(where, "is " + std::string(j.type_name()) + ", not an object");
  auto it = j.find(key);
  if (it == j.end()) return Malformed(where, std::string("'") + key + "' is missing");
  return &*it;
}

/// `j[key]` as a whole number from 0 to `max`: a negative, fractional or larger number is an error, never
/// wrapped or rounded.
Result<std::uint64_t> WholeField(const json& j, const char* key, std::uint64_t max,
                                 const std::string& where) {
  MIGCTL_ASSIGN_OR_RETURN(const json* value, Field(j, key, where));
  if (!value->is_number_unsigned() || value->get<std::uint64_t>() > max)
    return Malformed(where,
                     fmt::format("'{}' is {}, not a whole number from 0 to {}", key, value->dump(), max));
  return value->get<std::uint64_t>();
}

Result<unsigned> UnsignedField(const json& j, const char* key, const std::string& where) {
  MIGCTL_ASSIGN_OR_RETURN(std::uint64_t value,
                          WholeField(j, key, std::numeric_limits<unsigned>::max(), where));
  return static_cast<unsigned>(value);
}

Result<std::string> StringField(const json& j, const char* key, const std::string& where) {
  MIGCTL_ASSIGN_OR_RETURN(const json* value, Field(j, key, where));
  if (!value->is_string())
    return Malformed(where, fmt::format("'{}' is {}, not a string", key, value->dump()));
  return value->get<std::string>();
}

Result<const json*> ArrayField(const json& j, const char* key, const std::string& where) {
  MIGCTL_ASSIGN_OR_RETURN(const json* value, Field(j, key, where));
  if (!value->is_array())
    return Malformed(where, fmt::format("'{}' is {}, not a list", key, value->type_name()));
  return value;
}

Result<SimProcess> ProcessFromJson(const json& j, const std::string& gpu_where, size_t n) {
  const std::string at = fmt::format("{}: processes[{}]", gpu_where, n);
  SimProcess p;
  MIGCTL_ASSIGN_OR_RETURN(p.pid, UnsignedField(j, "pid", at));
  const std::string where = fmt::format("{}: process {}", gpu_where, p.pid);
  MIGCTL_ASSIGN_OR_RETURN(p.name, StringField(j, "name", where));
  MIGCTL_ASSIGN_OR_RETURN(p.used_mib,
                          WholeField(j, "used_mib", std::numeric_limits<std::uint64_t>::max(), where));
  if (j.contains("gpu_instance_id")) {
    MIGCTL_ASSIGN_OR_RETURN(p.gi, UnsignedField(j, "gpu_instance_id", where));
  }
  if (j.contains("compute_instance_id")) {
    MIGCTL_ASSIGN_OR_RETURN(p.ci, UnsignedField(j, "compute_instance_id", where));
  }
  return p;
}

/// Reads id, profile_id, start and size of entry `n` of the list `list` under `parent` (`GPU 0`) into `out`;
/// returns where the instance is (`GPU 0: GI 3`) for later messages.
template <typename Instance>
Result<std::string> ReadInstance(const json& j, const std::string& parent, const char* list, size_t n,
                                 const char* kind, Instance& out) {
  MIGCTL_ASSIGN_OR_RETURN(out.id, UnsignedField(j, "id", fmt::format("{}: {}[{}]", parent, list, n)));
  std::string where = fmt::format("{}: {} {}", parent, kind, out.id);
  MIGCTL_ASSIGN_OR_RETURN(out.profile_id, UnsignedField(j, "profile_id", where));
  MIGCTL_ASSIGN_OR_RETURN(out.start, UnsignedField(j, "start", where));
  MIGCTL_ASSIGN_OR_RETURN(out.size, UnsignedField(j, "size", where));
  return where;
}

Result<SimGpuInstance> GpuInstanceFromJson(const json& j, const std::string& gpu_where, size_t n) {
  SimGpuInstance gi;
  MIGCTL_ASSIGN_OR_RETURN(std::string where, ReadInstance(j, gpu_where, "gpu_instances", n, "GI", gi));
  MIGCTL_ASSIGN_OR_RETURN(const json* cis, ArrayField(j, "compute_instances", where));
  for (size_t c = 0; c < cis->size(); ++c) {
    SimComputeInstance ci;
    MIGCTL_ASSIGN_OR_RETURN(std::string ci_where,
                            ReadInstance((*cis)[c], where, "compute_instances", c, "CI", ci));
    MIGCTL_ASSIGN_OR_RETURN(ci.uuid, StringField((*cis)[c], "uuid", ci_where));
    gi.compute_instances.push_back(std::move(ci));
  }
  return gi;
}

Result<SimGpu> GpuFromJson(const json& j, size_t index) {
  const std::string where = fmt::format("GPU {}", index);
  SimGpu gpu;
  MIGCTL_ASSIGN_OR_RETURN(gpu.model, StringField(j, "model", where));
  MIGCTL_ASSIGN_OR_RETURN(gpu.uuid, StringField(j, "uuid", where));
  MIGCTL_ASSIGN_OR_RETURN(gpu.pci_bus_id, StringField(j, "pci_bus_id", where));
  MIGCTL_ASSIGN_OR_RETURN(gpu.minor, UnsignedField(j, "minor", where));
  MIGCTL_ASSIGN_OR_RETURN(const json* mode, Field(j, "mig_mode", where));
  MIGCTL_ASSIGN_OR_RETURN(gpu.mig_current, UnsignedField(*mode, "current", where + ": mig_mode"));
  MIGCTL_ASSIGN_OR_RETURN(gpu.mig_pending, UnsignedField(*mode, "pending", where + ": mig_mode"));
  MIGCTL_ASSIGN_OR_RETURN(gpu.creations,
                          WholeField(j, "creations", std::numeric_limits<std::uint64_t>::max(), where));
  MIGCTL_ASSIGN_OR_RETURN(const json* gis, ArrayField(j, "gpu_instances", where));
  for (size_t n = 0; n < gis->size(); ++n) {
    MIGCTL_ASSIGN_OR_RETURN(SimGpuInstance gi, GpuInstanceFromJson((*gis)[n], where, n));
    gpu.gpu_instances.push_back(std::move(gi));
  }
  MIGCTL_ASSIGN_OR_RETURN(const json* processes, ArrayField(j, "processes", where));
  for (size_t n = 0; n < processes->size(); ++n) {
    MIGCTL_ASSIGN_OR_RETURN(SimProcess p, ProcessFromJson((*processes)[n], where, n));
    gpu.processes.push_back(std::move(p));
  }
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
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != kStateVersion) {
    std::string found = j.contains("version") ? j["version"].dump() : "none";
    return MakeError(ErrorCode::kCorrupt, "simulator state has version " + found +
                                              ", this migctl reads version " + std::to_string(kStateVersion) +
                                              "; recreate it with `migctl sim init`");
  }
  MachineState state;
  MIGCTL_ASSIGN_OR_RETURN(state.seed,
                          WholeField(j, "seed", std::numeric_limits<std::uint64_t>::max(), "state"));
  MIGCTL_ASSIGN_OR_RETURN(const json* gpus, ArrayField(j, "gpus", "state"));
  for (size_t index = 0; index < gpus->size(); ++index) {
    MIGCTL_ASSIGN_OR_RETURN(SimGpu gpu, GpuFromJson((*gpus)[index], index));
    state.gpus.push_back(std::move(gpu));
  }
  MIGCTL_RETURN_IF_ERROR(CheckMachineState(state));
  return state;
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
