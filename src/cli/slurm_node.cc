#include "cli/slurm_node.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "common/file_io.h"
#include "nvml/snapshot.h"

namespace migctl {

Result<std::vector<slurm::GresDevice>> ObserveNodeGres(Context& ctx, const NodeGresOptions& options) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<nvml::Device> devices, ctx.SelectDevices(options.gpus));
  nvml::HostSnapshot host;
  for (const nvml::Device& d : devices) {
    MIGCTL_ASSIGN_OR_RETURN(nvml::GpuSnapshot gpu, nvml::ObserveGpu(d));
    host.gpus.push_back(std::move(gpu));
  }
  std::string root = options.root == "/" ? "" : options.root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  if (!options.files) return slurm::DescribeGres(host, nullptr, root);
  const std::string path = root + slurm::kMigMinorsPath;
  Result<std::string> text = ReadFile(path, 1 << 20);
  if (!text.ok()) {
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("cannot read {}: {} (the NVIDIA driver writes it once MIG is enabled; under the "
                                 "simulator, make stand-ins with `migctl sim devices ROOT` and pass --root ROOT)",
                                 path, text.error().message));
  }
  MIGCTL_ASSIGN_OR_RETURN(slurm::MigMinors minors, slurm::ParseMigMinors(*text));
  return slurm::DescribeGres(host, &minors, root);
}

Result<std::vector<slurm::GresDevice>> AllocatedDevices(Context& ctx, const NodeGresOptions& options,
                                                        const std::string& map_file) {
  const char* variable = "SLURM_STEP_GPUS";
  const char* value = std::getenv(variable);
  if (value == nullptr || *value == '\0') {
    variable = "SLURM_JOB_GPUS";
    value = std::getenv(variable);
  }
  if (value == nullptr || *value == '\0') {
    return MakeError(ErrorCode::kInvalidInput,
                     std::getenv("SLURM_JOB_ID") == nullptr
                         ? "not inside a Slurm job: run it in a job step, e.g. srun --gres=gpu:3g.40gb:1 migctl exec -- CMD"
                         : "this Slurm job has no GPUs (neither SLURM_STEP_GPUS nor SLURM_JOB_GPUS is set): ask for "
                           "one, e.g. --gres=gpu:3g.40gb:1");
  }
  MIGCTL_ASSIGN_OR_RETURN(std::vector<unsigned> indexes, slurm::ParseIndexList(value, variable));
  NodeGresOptions observe = options;
  observe.files = false;
  MIGCTL_ASSIGN_OR_RETURN(std::vector<slurm::GresDevice> live, ObserveNodeGres(ctx, observe));
  std::vector<slurm::GresDevice> table = live;
  if (!map_file.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadFile(map_file, 1 << 20));
    MIGCTL_ASSIGN_OR_RETURN(std::vector<slurm::MapEntry> entries, slurm::ParseGresMap(text, map_file));
    table.clear();
    for (const slurm::MapEntry& e : entries) {
      auto it = std::find_if(live.begin(), live.end(), [&](const slurm::GresDevice& d) { return d.uuid == e.uuid; });
      if (it == live.end()) {
        return MakeError(ErrorCode::kNotFound,
                         fmt::format("{} says Slurm's GPU {} is {}, which this node no longer has: the layout changed "
                                     "since the map was written; run `migctl slurm sync`",
                                     map_file, e.index, e.uuid));
      }
      slurm::GresDevice d = *it;
      d.index = e.index;
      table.push_back(std::move(d));
    }
  }
  std::vector<slurm::GresDevice> out;
  // With AutoDetect=nvml, Slurm knows each MIG device's UUID (its UniqueId), puts it in CUDA_VISIBLE_DEVICES
  // itself, and numbers the devices in an order of its own: then the UUIDs are the allocation.
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"); visible != nullptr && map_file.empty()) {
    std::vector<std::string> uuids;
    std::string_view rest(visible);
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      uuids.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    const bool all_uuids = !uuids.empty() && std::all_of(uuids.begin(), uuids.end(), [](const std::string& u) {
      return u.starts_with("MIG-") || u.starts_with("GPU-");
    });
    if (all_uuids && uuids.size() == indexes.size()) {
      for (size_t i = 0; i < uuids.size(); ++i) {
        auto it = std::find_if(live.begin(), live.end(), [&](const slurm::GresDevice& d) { return d.uuid == uuids[i]; });
        if (it == live.end()) {
          return MakeError(ErrorCode::kNotFound,
                           fmt::format("Slurm gave this step {} (CUDA_VISIBLE_DEVICES), which this node does not have: "
                                       "the layout changed since slurmd detected it; restart slurmd on this node",
                                       uuids[i]));
        }
        slurm::GresDevice d = *it;
        d.index = indexes[i];
        out.push_back(std::move(d));
      }
      return out;
    }
  }
  for (unsigned index : indexes) {
    auto it = std::find_if(table.begin(), table.end(), [&](const slurm::GresDevice& d) { return d.index == index; });
    if (it == table.end()) {
      return MakeError(
          ErrorCode::kNotFound,
          fmt::format("{}={}: Slurm allocated GPU {}, but this node has {} ({}): the layout and Slurm's configuration "
                      "disagree; run `migctl slurm sync` on this node",
                      variable, value, index, table.size(), slurm::NodeGresValue(table)));
    }
    out.push_back(*it);
  }
  return out;
}

std::string ShortHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  std::string host(name);
  return host.substr(0, host.find('.'));
}

}  // namespace migctl
