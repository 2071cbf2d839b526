#include "sim/machine.h"

#include <algorithm>
#include <charconv>
#include <random>

#include "catalog/catalog.h"
#include "common/trim.h"
#include "nvml/nvml_abi.h"
#include "sim/engine.h"
#include "sim/state_check.h"
#include "sim/state_file.h"
#include "sim/uuid.h"

namespace migctl::sim {
namespace {

/// PCI buses of the GPUs of a DGX A100/H100, so simulated bus ids look like a real host's.
constexpr unsigned kDgxBuses[] = {0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD};

std::string PciBusId(unsigned index) {
  unsigned bus = index < std::size(kDgxBuses) ? kDgxBuses[index] : 0xC0 + index;
  char buf[32];
  std::snprintf(buf, sizeof buf, "00000000:%02X:00.0", bus & 0xFF);
  return buf;
}

Error SpecError(std::string_view spec, const std::string& why) {
  return MakeError(ErrorCode::kInvalidInput,
                   "bad machine spec '" + std::string(spec) + "': " + why +
                       "; expected MODEL[:COUNT][,MODEL[:COUNT]…], e.g. a100-80gb:8");
}

/// Memory not yet used by processes where `place` points: the GI's (processes on it or its CIs) or the whole
/// GPU's.
Result<unsigned long long> FreeMib(const GpuModel& model, const SimGpu& gpu, const ProcessPlace& place) {
  unsigned long long capacity = model.memory_mib;
  if (place.gi) {
    const SimGpuInstance* gi = FindGpuInstance(gpu, place.gi->value());
    const GiProfile* profile = gi ? GiProfileOf(model, *gi) : nullptr;
    if (!profile) return MakeError(ErrorCode::kCorrupt, "GPU instance has a profile the model lacks");
    capacity = profile->memory_mib;
  }
  unsigned long long used = 0;
  for (const SimProcess& p : gpu.processes) {
    if (!place.gi || p.gi == place.gi->value()) used += p.used_mib;
  }
  return used >= capacity ? 0 : capacity - used;
}

Status CheckPlace(const SimGpu& gpu, const ProcessPlace& place) {
  std::string where = "GPU " + std::to_string(place.gpu.value());
  if (place.ci && !place.gi)
    return MakeError(ErrorCode::kInvalidInput, "a compute instance needs its GPU instance");
  if (!place.gi) return Ok();
  if (gpu.mig_current != NVML_DEVICE_MIG_ENABLE) {
    return MakeError(ErrorCode::kUnsupported, where + ": MIG mode is disabled, so it has no GPU instances");
  }
  const SimGpuInstance* gi = FindGpuInstance(gpu, place.gi->value());
  if (!gi) {
    return MakeError(ErrorCode::kNotFound,
                     where + " has no GPU instance " + std::to_string(place.gi->value()));
  }
  if (place.ci && !FindComputeInstance(*gi, place.ci->value())) {
    return MakeError(ErrorCode::kNotFound, where + " GPU instance " + std::to_string(place.gi->value()) +
                                               " has no compute instance " +
                                               std::to_string(place.ci->value()));
  }
  return Ok();
}

const SimGpu* GpuWithPid(const MachineState& state, unsigned pid) {
  for (const SimGpu& gpu : state.gpus) {
    if (std::ranges::any_of(gpu.processes, [pid](const SimProcess& p) { return p.pid == pid; })) return &gpu;
  }
  return nullptr;
}

/// One past the highest fake pid, from 10000 up (clear of the low pids of real system processes); the lowest
/// free one from 10000 when that would pass kMaxPid. 0 when every pid is taken.
unsigned UnusedPid(const MachineState& state) {
  unsigned pid = 10000;
  for (const SimGpu& gpu : state.gpus) {
    for (const SimProcess& p : gpu.processes) pid = std::max(pid, p.pid + 1);
  }
  for (unsigned candidate = 10000; pid > kMaxPid && candidate <= kMaxPid; ++candidate)
    if (!GpuWithPid(state, candidate)) pid = candidate;
  return pid > kMaxPid ? 0 : pid;
}

}  // namespace

Result<std::vector<const GpuModel*>> ParseMachineSpec(std::string_view spec) {
  std::vector<const GpuModel*> models;
  if (Trim(spec, " ").empty()) return SpecError(spec, "it is empty");
  std::string_view rest = spec;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view term = Trim(rest.substr(0, comma), " ");
    size_t colon = term.find(':');
    std::string_view key = Trim(term.substr(0, colon), " ");
    if (key.empty()) return SpecError(spec, "a model is missing");
    unsigned count = 1;
    if (colon != std::string_view::npos) {
      std::string_view digits = Trim(term.substr(colon + 1), " ");
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
      if (ec != std::errc() || end != digits.data() + digits.size() || count == 0) {
        return SpecError(spec, "'" + std::string(digits) + "' is not a GPU count (1 or more)");
      }
    }
    MIGCTL_ASSIGN_OR_RETURN(const GpuModel* model, FindModel(key));
    if (models.size() + count > kMaxGpus) {
      return SpecError(spec, "more than " + std::to_string(kMaxGpus) + " GPUs");
    }
    models.insert(models.end(), count, model);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return models;
}

Result<MachineState> NewMachine(std::string_view spec, std::uint64_t seed) {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<const GpuModel*> models, ParseMachineSpec(spec));
  MachineState state;
  state.seed = seed;
  for (unsigned i = 0; i < models.size(); ++i) {
    SimGpu gpu;
    gpu.model = models[i]->key;
    gpu.uuid = MakeGpuUuid(seed, i);
    gpu.pci_bus_id = PciBusId(i);
    gpu.minor = i;
    state.gpus.push_back(std::move(gpu));
  }
  return state;
}

Result<MachineState> InitMachine(const std::string& path, std::string_view spec, bool force,
                                 std::optional<std::uint64_t> seed) {
  std::uint64_t chosen =
      seed ? *seed : (std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
  MIGCTL_ASSIGN_OR_RETURN(MachineState state, NewMachine(spec, chosen));
  MIGCTL_RETURN_IF_ERROR(StateFile::Create(path, state, force));
  return state;
}

Result<MachineState> LoadMachine(const std::string& path) {
  StateFile file(path);
  MIGCTL_ASSIGN_OR_RETURN(const MachineState* state, file.Read());
  return *state;
}

Result<unsigned> AttachProcess(const std::string& path, const ProcessPlace& place, unsigned pid,
                               const std::string& name, unsigned long long used_mib) {
  StateFile file(path);
  std::optional<Error> failure;
  unsigned attached = 0;
  Status written = file.Update([&](MachineState& state) {
    auto fail = [&](Error error) {
      failure = std::move(error);
      return false;
    };
    if (place.gpu.value() >= state.gpus.size()) {
      return fail(MakeError(ErrorCode::kNotFound, "no GPU " + std::to_string(place.gpu.value()) +
                                                      "; the machine has " +
                                                      std::to_string(state.gpus.size()) + " GPUs"));
    }
    SimGpu& gpu = state.gpus[place.gpu.value()];
    Result<const GpuModel*> model = FindModel(gpu.model);
    if (!model.ok()) return fail(model.error());
    if (Status ok = CheckPlace(gpu, place); !ok.ok()) return fail(ok.error());
    if (std::ranges::any_of(name, [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
      return fail(MakeError(ErrorCode::kInvalidInput, "a process name cannot hold control characters"));
    if (pid > kMaxPid)
      return fail(
          MakeError(ErrorCode::kInvalidInput,
                    "pid " + std::to_string(pid) + " is above the largest, " + std::to_string(kMaxPid)));
    if (pid != 0) {
      if (const SimGpu* holder = GpuWithPid(state, pid)) {
        return fail(MakeError(ErrorCode::kInvalidInput,
                              "pid " + std::to_string(pid) + " is already attached to " + holder->uuid));
      }
    }
    Result<unsigned long long> free_mib = FreeMib(**model, gpu, place);
    if (!free_mib.ok()) return fail(free_mib.error());
    if (used_mib > *free_mib) {
      return fail(MakeError(ErrorCode::kInfeasible, std::to_string(used_mib) + " MiB do not fit: only " +
                                                        std::to_string(*free_mib) + " MiB are free there"));
    }
    attached = pid != 0 ? pid : UnusedPid(state);
    if (attached == 0)
      return fail(MakeError(ErrorCode::kBusy, "every pid up to " + std::to_string(kMaxPid) +
                                                  " is attached already; detach some"));
    SimProcess process{attached, name, used_mib, std::nullopt, std::nullopt};
    if (place.gi) process.gi = place.gi->value();
    if (place.ci) process.ci = place.ci->value();
    gpu.processes.push_back(std::move(process));
    return true;
  });
  MIGCTL_RETURN_IF_ERROR(written);
  if (failure) return *failure;
  return attached;
}

Status DetachProcess(const std::string& path, unsigned pid) {
  StateFile file(path);
  bool found = false;
  MIGCTL_RETURN_IF_ERROR(file.Update([&](MachineState& state) {
    for (SimGpu& gpu : state.gpus) {
      found = found || std::erase_if(gpu.processes, [pid](const SimProcess& p) { return p.pid == pid; }) > 0;
    }
    return found;
  }));
  if (!found) return MakeError(ErrorCode::kNotFound, "no fake process with pid " + std::to_string(pid));
  return Ok();
}

}  // namespace migctl::sim
