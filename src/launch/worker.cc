#include "launch/worker.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/memory_size.h"

namespace migctl {
namespace {

std::string Filters(const WorkerRequest& request) {
  std::vector<std::string> parts;
  if (request.profile) parts.push_back("--profile " + *request.profile);
  if (request.memory_mib) parts.push_back("--memory " + FormatMib(*request.memory_mib));
  if (!request.devices.empty()) parts.push_back(fmt::format("{}", fmt::join(request.devices, ", ")));
  return parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, ", "));
}

/// What the selected GPUs have, for error messages: `GPU 0: MIG off; GPU 1: 3g.40gb x2, 1g.10gb x1`.
std::string Inventory(const std::vector<nvml::GpuSnapshot>& gpus) {
  std::vector<std::string> parts;
  for (const nvml::GpuSnapshot& gpu : gpus) {
    if (!gpu.mig || !gpu.mig->current) {
      parts.push_back(fmt::format("GPU {}: MIG off", gpu.index.value()));
      continue;
    }
    std::map<std::string, unsigned> counts;
    for (const nvml::InstanceSnapshot& inst : gpu.instances)
      if (inst.uuid) ++counts[inst.profile_name];
    std::vector<std::string> items;
    for (const auto& [profile, n] : counts) items.push_back(fmt::format("{} x{}", profile, n));
    parts.push_back(
        fmt::format("GPU {}: {}", gpu.index.value(),
                    items.empty() ? "no MIG devices" : fmt::format("{}", fmt::join(items, ", "))));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

const char* ShareModeName(ShareMode mode) {
  switch (mode) {
    case ShareMode::kMig:
      return "mig";
    case ShareMode::kNone:
      return "none";
    case ShareMode::kMps:
      return "mps";
  }
  return "?";
}

bool Worker::CanHold(const TaskNeeds& needs) const {
  if (needs.memory_mib && *needs.memory_mib > memory_mib) return false;
  if (needs.profile && *needs.profile != profile) return false;
  return true;
}

Result<std::vector<Worker>> SelectMigWorkers(const std::vector<nvml::GpuSnapshot>& gpus,
                                             const WorkerRequest& request,
                                             std::vector<std::string>* skipped) {
  std::vector<Worker> workers;
  std::set<std::string> found;
  for (const nvml::GpuSnapshot& gpu : gpus) {
    if (!gpu.mig || !gpu.mig->current) continue;
    for (const nvml::InstanceSnapshot& inst : gpu.instances) {
      if (!inst.uuid) continue;
      if (!request.devices.empty() && !request.devices.contains(inst.uuid->value())) continue;
      found.insert(inst.uuid->value());
      if (request.profile && inst.profile_name != *request.profile) continue;
      const unsigned long long memory = inst.memory ? inst.memory->total_mib : 0;
      if (request.memory_mib && memory < *request.memory_mib) continue;
      if (!inst.processes.empty()) {
        if (skipped != nullptr)
          skipped->push_back(fmt::format("{} on GPU {} is in use by {}", inst.uuid->value(),
                                         gpu.index.value(), nvml::ProcessList(inst.processes)));
        continue;
      }
      Worker w;
      w.index = static_cast<unsigned>(workers.size());
      w.lease_key = inst.uuid->value();
      w.device = inst.uuid->value();
      w.gpu = gpu.index;
      w.gpu_uuid = gpu.uuid.value();
      w.profile = inst.profile_name;
      w.memory_mib = memory;
      workers.push_back(std::move(w));
    }
  }
  for (const std::string& uuid : request.devices)
    if (!found.contains(uuid))
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("MIG device {} is not on the selected GPUs ({})", uuid, Inventory(gpus)));
  if (workers.empty())
    return MakeError(
        ErrorCode::kInfeasible,
        fmt::format("no idle MIG device matches{} on the selected GPUs ({}): add --create to make "
                    "them, or --share none|mps to share whole GPUs",
                    Filters(request), Inventory(gpus)));
  if (request.workers && workers.size() < *request.workers)
    return MakeError(ErrorCode::kInfeasible,
                     fmt::format("--workers {} but only {} idle MIG device{} match{} ({}): add --create to "
                                 "create the missing {}, or ask for fewer workers",
                                 *request.workers, workers.size(), workers.size() == 1 ? "" : "s",
                                 Filters(request), Inventory(gpus), *request.workers - workers.size()));
  if (request.workers) workers.resize(*request.workers);
  return workers;
}

Result<std::vector<Worker>> SelectSharedWorkers(const std::vector<nvml::GpuSnapshot>& gpus,
                                                const WorkerRequest& request,
                                                std::optional<unsigned long long> mps_memory_mib) {
  if (gpus.empty()) return MakeError(ErrorCode::kNotFound, "no GPUs selected");
  for (const nvml::GpuSnapshot& gpu : gpus)
    if (gpu.mig && gpu.mig->current)
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("GPU {} has MIG on, and --share {} uses whole GPUs: select GPUs with MIG "
                                   "off (--gpus), or run on its MIG devices (leave out --share)",
                                   gpu.index.value(), ShareModeName(request.share)));
  const unsigned count = request.workers.value_or(static_cast<unsigned>(gpus.size()));
  if (count == 0) return MakeError(ErrorCode::kInvalidInput, "--workers must be at least 1");
  std::vector<unsigned> slots(gpus.size(), 0);
  std::vector<Worker> workers;
  for (unsigned i = 0; i < count; ++i) {
    const nvml::GpuSnapshot& gpu = gpus[i % gpus.size()];
    Worker w;
    w.index = i;
    w.lease_key = fmt::format("{}/slot{}", gpu.uuid.value(), slots[i % gpus.size()]++);
    w.device = gpu.uuid.value();
    w.gpu = gpu.index;
    w.gpu_uuid = gpu.uuid.value();
    w.profile = "gpu";
    w.memory_mib = gpu.memory.total_mib;
    if (request.share == ShareMode::kMps && mps_memory_mib)
      w.memory_mib = std::min(w.memory_mib, *mps_memory_mib);
    if (request.memory_mib && w.memory_mib < *request.memory_mib)
      return MakeError(ErrorCode::kInfeasible, fmt::format("--memory {}: GPU {} offers each worker only {}",
                                                           FormatMib(*request.memory_mib), gpu.index.value(),
                                                           FormatMib(w.memory_mib)));
    workers.push_back(std::move(w));
  }
  return workers;
}

Status CheckTasksFit(const std::vector<Task>& tasks, const std::vector<Worker>& workers) {
  for (const Task& task : tasks) {
    if (std::any_of(workers.begin(), workers.end(), [&](const Worker& w) { return w.CanHold(task.needs); }))
      continue;
    std::vector<std::string> needs;
    if (task.needs.memory_mib) needs.push_back(FormatMib(*task.needs.memory_mib) + " of device memory");
    if (task.needs.profile) needs.push_back("a " + *task.needs.profile + " device");
    const auto largest =
        std::max_element(workers.begin(), workers.end(),
                         [](const Worker& a, const Worker& b) { return a.memory_mib < b.memory_mib; });
    return MakeError(
        ErrorCode::kInfeasible,
        fmt::format("task {} needs {}, and no worker has it (the largest is {} with {}): give it "
                    "bigger devices (--profile, --create) or lower its needs",
                    task.id, fmt::join(needs, " and "),
                    largest == workers.end() ? "none" : largest->profile + " " + largest->device,
                    largest == workers.end() ? "0 MiB" : FormatMib(largest->memory_mib)));
  }
  return Ok();
}

}  // namespace migctl
