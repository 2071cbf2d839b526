#include "nvml/device.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "nvml/nvml_error.h"

namespace migctl::nvml {
namespace {

constexpr unsigned long long kMiB = 1024ULL * 1024ULL;
/// NVML_VALUE_NOT_AVAILABLE for unsigned long long fields.
constexpr unsigned long long kValueNotAvailable = ~0ULL;
/// CI profile ids are scanned up to here (13.3 defines 0..8) or until INVALID_ARGUMENT.
constexpr unsigned kCiProfileScanLimit = 0x10;
/// Retries of the count-then-fill process query when processes start between the two calls.
constexpr int kProcessQueryAttempts = 4;

/// Returns Missing() from the enclosing function when the library lacks `function`.
#define MIGCTL_NVML_REQUIRE(library, function)                                   \
  do {                                                                           \
    if ((library).fn().function == nullptr) return (library).Missing(#function); \
  } while (0)

/// Calls `function` and returns its mapped error, described by `what`, from the enclosing function on
/// failure.
#define MIGCTL_NVML_CALL(library, what, function, ...)                  \
  do {                                                                  \
    MIGCTL_NVML_REQUIRE(library, function);                             \
    nvmlReturn_t migctl_rc_ = (library).fn().function(__VA_ARGS__);     \
    if (migctl_rc_ != NVML_SUCCESS) return NvmlError(migctl_rc_, what); \
  } while (0)

std::string Describe(const std::string& where, const std::string& action, const char* function) {
  return where + action + " (" + function + ")";
}

std::string StripMigPrefix(const char* name) {
  std::string_view view(name);
  if (view.starts_with("MIG ")) view.remove_prefix(4);
  return std::string(view);
}

Result<std::vector<ProcessInfo>> RunningProcesses(const NvmlLibrary& library, nvmlDevice_t handle,
                                                  const std::string& where) {
  MIGCTL_NVML_REQUIRE(library, nvmlDeviceGetComputeRunningProcesses_v3);
  std::vector<nvmlProcessInfo_t> infos;
  unsigned count = 0;
  nvmlReturn_t rc = NVML_ERROR_INSUFFICIENT_SIZE;
  for (int attempt = 0; attempt < kProcessQueryAttempts && rc == NVML_ERROR_INSUFFICIENT_SIZE; ++attempt) {
    infos.resize(count);
    count = static_cast<unsigned>(infos.size());
    rc = library.fn().nvmlDeviceGetComputeRunningProcesses_v3(handle, &count,
                                                              infos.empty() ? nullptr : infos.data());
  }
  if (rc != NVML_SUCCESS) {
    return NvmlError(rc,
                     Describe(where, "listing compute processes", "nvmlDeviceGetComputeRunningProcesses_v3"));
  }
  infos.resize(std::min<size_t>(count, infos.size()));
  std::vector<ProcessInfo> processes;
  for (const nvmlProcessInfo_t& info : infos) {
    ProcessInfo process{.pid = info.pid};
    if (info.usedGpuMemory != kValueNotAvailable) process.used_mib = info.usedGpuMemory / kMiB;
    // A process that exited or that we may not inspect keeps an empty name: listing it matters more than
    // naming it.
    char name[256] = {};
    if (library.fn().nvmlSystemGetProcessName != nullptr &&
        library.fn().nvmlSystemGetProcessName(info.pid, name, sizeof(name)) == NVML_SUCCESS) {
      process.name = name;
    }
    processes.push_back(std::move(process));
  }
  return processes;
}

Result<MemoryInfo> ReadMemory(const NvmlLibrary& library, nvmlDevice_t handle, const std::string& where) {
  nvmlMemory_t memory{};
  MIGCTL_NVML_CALL(library, Describe(where, "reading memory", "nvmlDeviceGetMemoryInfo"),
                   nvmlDeviceGetMemoryInfo, handle, &memory);
  return MemoryInfo{.total_mib = memory.total / kMiB, .used_mib = memory.used / kMiB};
}

Result<std::string> ReadUuid(const NvmlLibrary& library, nvmlDevice_t handle, const std::string& where) {
  char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
  MIGCTL_NVML_CALL(library, Describe(where, "reading the UUID", "nvmlDeviceGetUUID"), nvmlDeviceGetUUID,
                   handle, uuid, sizeof(uuid));
  return std::string(uuid);
}

Result<MigDeviceInfo> ReadMigDevice(const NvmlLibrary& library, nvmlDevice_t handle,
                                    const std::string& where) {
  MigDeviceInfo device;
  unsigned gi = 0;
  unsigned ci = 0;
  MIGCTL_NVML_CALL(library, Describe(where, "reading the GI id", "nvmlDeviceGetGpuInstanceId"),
                   nvmlDeviceGetGpuInstanceId, handle, &gi);
  MIGCTL_NVML_CALL(library, Describe(where, "reading the CI id", "nvmlDeviceGetComputeInstanceId"),
                   nvmlDeviceGetComputeInstanceId, handle, &ci);
  device.gi = GiId(gi);
  device.ci = CiId(ci);
  const std::string here = where + "GI " + std::to_string(gi) + " CI " + std::to_string(ci) + ": ";
  MIGCTL_ASSIGN_OR_RETURN(std::string uuid, ReadUuid(library, handle, here));
  device.uuid = MigUuid(std::move(uuid));
  MIGCTL_ASSIGN_OR_RETURN(device.memory, ReadMemory(library, handle, here));
  nvmlDeviceAttributes_t attributes{};
  MIGCTL_NVML_CALL(library, Describe(here, "reading attributes", "nvmlDeviceGetAttributes_v2"),
                   nvmlDeviceGetAttributes_v2, handle, &attributes);
  device.attributes = MigDeviceAttributes{
      .multiprocessors = attributes.multiprocessorCount,
      .shared_engines = Engines{.copy = attributes.sharedCopyEngineCount,
                                .decoder = attributes.sharedDecoderCount,
                                .encoder = attributes.sharedEncoderCount,
                                .jpeg = attributes.sharedJpegCount,
                                .ofa = attributes.sharedOfaCount},
      .gi_slices = attributes.gpuInstanceSliceCount,
      .ci_slices = attributes.computeInstanceSliceCount,
      .memory_mib = attributes.memorySizeMB,
  };
  MIGCTL_ASSIGN_OR_RETURN(device.processes, RunningProcesses(library, handle, here));
  return device;
}

GiProfileInfo FromV1(unsigned index, const nvmlGpuInstanceProfileInfo_t& info) {
  return GiProfileInfo{
      .nvml_index = index,
      .id = ProfileId(info.id),
      .slices = info.sliceCount,
      .instance_limit = info.instanceCount,
      .multiprocessors = info.multiprocessorCount,
      .engines = Engines{.copy = info.copyEngineCount,
                         .decoder = info.decoderCount,
                         .encoder = info.encoderCount,
                         .jpeg = info.jpegCount,
                         .ofa = info.ofaCount},
      .memory_mib = info.memorySizeMB,
  };
}

GiProfileInfo FromV2(unsigned index, const nvmlGpuInstanceProfileInfo_v2_t& info) {
  return GiProfileInfo{
      .nvml_index = index,
      .id = ProfileId(info.id),
      .name = StripMigPrefix(info.name),
      .slices = info.sliceCount,
      .instance_limit = info.instanceCount,
      .multiprocessors = info.multiprocessorCount,
      .engines = Engines{.copy = info.copyEngineCount,
                         .decoder = info.decoderCount,
                         .encoder = info.encoderCount,
                         .jpeg = info.jpegCount,
                         .ofa = info.ofaCount},
      .memory_mib = info.memorySizeMB,
  };
}

}  // namespace

const CiProfileInfo* DefaultCiProfile(std::span<const CiProfileInfo> profiles) {
  const CiProfileInfo* best = nullptr;
  for (const CiProfileInfo& profile : profiles) {
    if (profile.id.value() > NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1) continue;
    if (best == nullptr || profile.slices > best->slices ||
        (profile.slices == best->slices && profile.id > best->id)) {
      best = &profile;
    }
  }
  return best;
}

// ---- ComputeInstance ----

Status ComputeInstance::Destroy() const {
  MIGCTL_NVML_CALL(*library_,
                   Describe(where_, "destroying the compute instance", "nvmlComputeInstanceDestroy"),
                   nvmlComputeInstanceDestroy, handle_);
  return Ok();
}

// ---- GpuInstance ----

Result<ComputeInstance> GpuInstance::Wrap(nvmlComputeInstance_t handle) const {
  nvmlComputeInstanceInfo_t info{};
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading a compute instance", "nvmlComputeInstanceGetInfo_v2"),
                   nvmlComputeInstanceGetInfo_v2, handle, &info);
  ComputeInstanceInfo ci{.id = CiId(info.id),
                         .profile = CiProfileId(info.profileId),
                         .placement = Placement{info.placement.start, info.placement.size}};
  std::string where = where_;
  where.insert(where.size() - 2, " CI " + std::to_string(info.id));
  return ComputeInstance(library_, handle, ci, std::move(where));
}

Result<std::vector<CiProfileInfo>> GpuInstance::CiProfiles() const {
  MIGCTL_NVML_REQUIRE(*library_, nvmlGpuInstanceGetComputeInstanceProfileInfo);
  MIGCTL_NVML_REQUIRE(*library_, nvmlGpuInstanceGetComputeInstancePossiblePlacements);
  std::vector<CiProfileInfo> profiles;
  for (unsigned index = 0; index < kCiProfileScanLimit; ++index) {
    nvmlComputeInstanceProfileInfo_t info{};
    nvmlReturn_t rc = library_->fn().nvmlGpuInstanceGetComputeInstanceProfileInfo(
        handle_, index, NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED, &info);
    if (rc == NVML_ERROR_INVALID_ARGUMENT) break;
    if (rc == NVML_ERROR_NOT_SUPPORTED) continue;
    if (rc != NVML_SUCCESS) {
      return NvmlError(
          rc, Describe(where_, "reading CI profiles", "nvmlGpuInstanceGetComputeInstanceProfileInfo"));
    }
    CiProfileInfo profile{
        .id = CiProfileId(info.id),
        .slices = info.sliceCount,
        .instance_limit = info.instanceCount,
        .multiprocessors = info.multiprocessorCount,
        .shared_engines = Engines{.copy = info.sharedCopyEngineCount,
                                  .decoder = info.sharedDecoderCount,
                                  .encoder = info.sharedEncoderCount,
                                  .jpeg = info.sharedJpegCount,
                                  .ofa = info.sharedOfaCount},
    };
    const std::string what =
        Describe(where_, "reading CI placements", "nvmlGpuInstanceGetComputeInstancePossiblePlacements");
    unsigned count = 0;
    MIGCTL_NVML_CALL(*library_, what, nvmlGpuInstanceGetComputeInstancePossiblePlacements, handle_, info.id,
                     nullptr, &count);
    std::vector<nvmlComputeInstancePlacement_t> placements(count);
    if (count > 0) {
      MIGCTL_NVML_CALL(*library_, what, nvmlGpuInstanceGetComputeInstancePossiblePlacements, handle_, info.id,
                       placements.data(), &count);
    }
    for (unsigned i = 0; i < count && i < placements.size(); ++i) {
      profile.placements.push_back(Placement{placements[i].start, placements[i].size});
    }
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

Result<std::vector<ComputeInstance>> GpuInstance::ComputeInstances() const {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<CiProfileInfo> profiles, CiProfiles());
  std::vector<ComputeInstance> instances;
  for (const CiProfileInfo& profile : profiles) {
    std::vector<nvmlComputeInstance_t> handles(std::max(1u, profile.instance_limit));
    unsigned count = static_cast<unsigned>(handles.size());
    MIGCTL_NVML_CALL(*library_,
                     Describe(where_, "listing compute instances", "nvmlGpuInstanceGetComputeInstances"),
                     nvmlGpuInstanceGetComputeInstances, handle_, profile.id.value(), handles.data(), &count);
    for (unsigned i = 0; i < count && i < handles.size(); ++i) {
      MIGCTL_ASSIGN_OR_RETURN(ComputeInstance instance, Wrap(handles[i]));
      instances.push_back(std::move(instance));
    }
  }
  return instances;
}

Result<ComputeInstance> GpuInstance::ComputeInstanceById(CiId id) const {
  nvmlComputeInstance_t handle = nullptr;
  MIGCTL_NVML_CALL(
      *library_,
      Describe(where_, ("finding CI " + std::to_string(id.value())), "nvmlGpuInstanceGetComputeInstanceById"),
      nvmlGpuInstanceGetComputeInstanceById, handle_, id.value(), &handle);
  return Wrap(handle);
}

Result<ComputeInstance> GpuInstance::CreateComputeInstance(CiProfileId profile) const {
  nvmlComputeInstance_t handle = nullptr;
  MIGCTL_NVML_CALL(*library_,
                   Describe(where_, ("creating a CI of profile " + std::to_string(profile.value())),
                            "nvmlGpuInstanceCreateComputeInstance"),
                   nvmlGpuInstanceCreateComputeInstance, handle_, profile.value(), &handle);
  return Wrap(handle);
}

Result<ComputeInstance> GpuInstance::CreateComputeInstance(CiProfileId profile, Placement placement) const {
  const nvmlComputeInstancePlacement_t raw{placement.start, placement.size};
  nvmlComputeInstance_t handle = nullptr;
  MIGCTL_NVML_CALL(*library_,
                   Describe(where_,
                            fmt::format("creating a CI of profile {} at {}:{}", profile.value(),
                                        placement.start, placement.size),
                            "nvmlGpuInstanceCreateComputeInstanceWithPlacement"),
                   nvmlGpuInstanceCreateComputeInstanceWithPlacement, handle_, profile.value(), &raw,
                   &handle);
  return Wrap(handle);
}

Result<ComputeInstance> GpuInstance::CreateDefaultComputeInstance() const {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<CiProfileInfo> profiles, CiProfiles());
  const CiProfileInfo* profile = DefaultCiProfile(profiles);
  if (profile == nullptr) {
    return MakeError(ErrorCode::kUnsupported, where_ + "the GPU instance offers no compute-instance profile");
  }
  return CreateComputeInstance(profile->id);
}

Status GpuInstance::Destroy() const {
  MIGCTL_NVML_CALL(*library_, Describe(where_, "destroying the GPU instance", "nvmlGpuInstanceDestroy"),
                   nvmlGpuInstanceDestroy, handle_);
  return Ok();
}

// ---- Device ----

Device::Device(const NvmlLibrary* library, nvmlDevice_t handle, GpuIndex index)
    : library_(library),
      handle_(handle),
      index_(index),
      where_("GPU " + std::to_string(index.value()) + ": ") {}

Result<GpuInstance> Device::Wrap(nvmlGpuInstance_t handle) const {
  nvmlGpuInstanceInfo_t info{};
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading a GPU instance", "nvmlGpuInstanceGetInfo"),
                   nvmlGpuInstanceGetInfo, handle, &info);
  GpuInstanceInfo gi{.id = GiId(info.id),
                     .profile = ProfileId(info.profileId),
                     .placement = Placement{info.placement.start, info.placement.size}};
  std::string where = "GPU " + std::to_string(index_.value()) + " GI " + std::to_string(info.id) + ": ";
  return GpuInstance(library_, handle, gi, std::move(where));
}

Result<std::string> Device::Name() const {
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading the name", "nvmlDeviceGetName"), nvmlDeviceGetName,
                   handle_, name, sizeof(name));
  return std::string(name);
}

Result<GpuUuid> Device::Uuid() const {
  MIGCTL_ASSIGN_OR_RETURN(std::string uuid, ReadUuid(*library_, handle_, where_));
  return GpuUuid(std::move(uuid));
}

Result<PciInfo> Device::Pci() const {
  nvmlPciInfo_t pci{};
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading PCI info", "nvmlDeviceGetPciInfo_v3"),
                   nvmlDeviceGetPciInfo_v3, handle_, &pci);
  return PciInfo{.bus_id = pci.busId,
                 .device_id = pci.pciDeviceId >> 16,
                 .vendor_id = pci.pciDeviceId & 0xFFFFu,
                 .subsystem_device_id = pci.pciSubSystemId >> 16,
                 .subsystem_vendor_id = pci.pciSubSystemId & 0xFFFFu};
}

Result<unsigned> Device::MinorNumber() const {
  unsigned minor = 0;
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading the minor number", "nvmlDeviceGetMinorNumber"),
                   nvmlDeviceGetMinorNumber, handle_, &minor);
  return minor;
}

Result<std::optional<Architecture>> Device::MigArchitecture() const {
  MIGCTL_NVML_REQUIRE(*library_, nvmlDeviceGetArchitecture);
  nvmlDeviceArchitecture_t arch = 0;
  nvmlReturn_t rc = library_->fn().nvmlDeviceGetArchitecture(handle_, &arch);
  if (rc == NVML_ERROR_NOT_SUPPORTED) return std::optional<Architecture>();
  if (rc != NVML_SUCCESS) {
    return NvmlError(rc, Describe(where_, "reading the architecture", "nvmlDeviceGetArchitecture"));
  }
  switch (arch) {
    case NVML_DEVICE_ARCH_AMPERE:
      return std::optional(Architecture::kAmpere);
    case NVML_DEVICE_ARCH_HOPPER:
      return std::optional(Architecture::kHopper);
    case NVML_DEVICE_ARCH_BLACKWELL:
      return std::optional(Architecture::kBlackwell);
    default:
      return std::optional<Architecture>();
  }
}

Result<MemoryInfo> Device::Memory() const { return ReadMemory(*library_, handle_, where_); }

Result<MigMode> Device::GetMigMode() const {
  unsigned current = 0;
  unsigned pending = 0;
  MIGCTL_NVML_CALL(*library_, Describe(where_, "reading MIG mode", "nvmlDeviceGetMigMode"),
                   nvmlDeviceGetMigMode, handle_, &current, &pending);
  return MigMode{.current = current == NVML_DEVICE_MIG_ENABLE, .pending = pending == NVML_DEVICE_MIG_ENABLE};
}

Result<MigModeActivation> Device::SetMigMode(bool enabled) const {
  const std::string what =
      Describe(where_, enabled ? "enabling MIG mode" : "disabling MIG mode", "nvmlDeviceSetMigMode");
  nvmlReturn_t activation = NVML_SUCCESS;
  MIGCTL_NVML_CALL(*library_, what, nvmlDeviceSetMigMode, handle_,
                   enabled ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE, &activation);
  switch (activation) {
    case NVML_SUCCESS:
      return MigModeActivation::kActive;
    case NVML_ERROR_RESET_REQUIRED:
      return MigModeActivation::kPendingReset;
    case NVML_ERROR_IN_USE:
      return MigModeActivation::kPendingInUse;
    default:
      return NvmlError(activation, what + " was accepted but cannot be activated");
  }
}

Result<std::vector<GiProfileInfo>> Device::GiProfiles() const {
  const NvmlFunctions& fn = library_->fn();
  if (fn.nvmlDeviceGetGpuInstanceProfileInfoV == nullptr &&
      fn.nvmlDeviceGetGpuInstanceProfileInfo == nullptr) {
    return library_->Missing("nvmlDeviceGetGpuInstanceProfileInfoV");
  }
  std::vector<GiProfileInfo> profiles;
  bool v2_answers = false;  // once V has answered, its NOT_SUPPORTED means the profile is absent
  for (unsigned index = 0; index < MIGCTL_NVML_GPU_INSTANCE_PROFILE_SCAN_LIMIT; ++index) {
    nvmlReturn_t rc = NVML_ERROR_FUNCTION_NOT_FOUND;
    if (fn.nvmlDeviceGetGpuInstanceProfileInfoV != nullptr) {
      nvmlGpuInstanceProfileInfo_v2_t info{};
      info.version = nvmlGpuInstanceProfileInfo_v2;
      rc = fn.nvmlDeviceGetGpuInstanceProfileInfoV(handle_, index, &info);
      if (rc == NVML_SUCCESS) {
        v2_answers = true;
        profiles.push_back(FromV2(index, info));
        continue;
      }
    }
    // V failed or is absent: v1 decides (V can answer NOT_SUPPORTED with MIG off, or INVALID_ARGUMENT for a
    // struct version it does not know, where v1 still answers).
    if (fn.nvmlDeviceGetGpuInstanceProfileInfo != nullptr && !(v2_answers && rc == NVML_ERROR_NOT_SUPPORTED)) {
      nvmlGpuInstanceProfileInfo_t info{};
      rc = fn.nvmlDeviceGetGpuInstanceProfileInfo(handle_, index, &info);
      if (rc == NVML_SUCCESS) {
        profiles.push_back(FromV1(index, info));
        continue;
      }
    }
    if (rc == NVML_ERROR_INVALID_ARGUMENT) break;
    if (rc == NVML_ERROR_NOT_SUPPORTED) continue;
    return NvmlError(rc, Describe(where_, ("reading GI profile index " + std::to_string(index)),
                                  "nvmlDeviceGetGpuInstanceProfileInfo"));
  }
  return profiles;
}

Result<std::vector<Placement>> Device::GiPlacements(ProfileId profile) const {
  const std::string what =
      Describe(where_, ("reading placements of profile " + std::to_string(profile.value())),
               "nvmlDeviceGetGpuInstancePossiblePlacements_v2");
  unsigned count = 0;
  MIGCTL_NVML_CALL(*library_, what, nvmlDeviceGetGpuInstancePossiblePlacements_v2, handle_, profile.value(),
                   nullptr, &count);
  std::vector<nvmlGpuInstancePlacement_t> raw(count);
  if (count > 0) {
    MIGCTL_NVML_CALL(*library_, what, nvmlDeviceGetGpuInstancePossiblePlacements_v2, handle_, profile.value(),
                     raw.data(), &count);
  }
  std::vector<Placement> placements;
  for (unsigned i = 0; i < count && i < raw.size(); ++i)
    placements.push_back(Placement{raw[i].start, raw[i].size});
  return placements;
}

Result<std::optional<unsigned>> Device::GiRemainingCapacity(ProfileId profile) const {
  MIGCTL_NVML_REQUIRE(*library_, nvmlDeviceGetGpuInstanceRemainingCapacity);
  unsigned count = 0;
  nvmlReturn_t rc =
      library_->fn().nvmlDeviceGetGpuInstanceRemainingCapacity(handle_, profile.value(), &count);
  if (rc == NVML_ERROR_NOT_SUPPORTED) return std::optional<unsigned>();
  if (rc != NVML_SUCCESS) {
    return NvmlError(
        rc, Describe(where_, ("reading remaining capacity of profile " + std::to_string(profile.value())),
                     "nvmlDeviceGetGpuInstanceRemainingCapacity"));
  }
  return std::optional(count);
}

Result<std::vector<GpuInstance>> Device::GpuInstances() const {
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GiProfileInfo> profiles, GiProfiles());
  return GpuInstances(profiles);
}

Result<std::vector<GpuInstance>> Device::GpuInstances(std::span<const GiProfileInfo> profiles) const {
  std::vector<GpuInstance> instances;
  for (const GiProfileInfo& profile : profiles) {
    std::vector<nvmlGpuInstance_t> handles(std::max(1u, profile.instance_limit));
    unsigned count = static_cast<unsigned>(handles.size());
    MIGCTL_NVML_CALL(*library_, Describe(where_, "listing GPU instances", "nvmlDeviceGetGpuInstances"),
                     nvmlDeviceGetGpuInstances, handle_, profile.id.value(), handles.data(), &count);
    for (unsigned i = 0; i < count && i < handles.size(); ++i) {
      MIGCTL_ASSIGN_OR_RETURN(GpuInstance instance, Wrap(handles[i]));
      instances.push_back(std::move(instance));
    }
  }
  return instances;
}

Result<GpuInstance> Device::GpuInstanceById(GiId id) const {
  nvmlGpuInstance_t handle = nullptr;
  MIGCTL_NVML_CALL(
      *library_,
      Describe(where_, ("finding GI " + std::to_string(id.value())), "nvmlDeviceGetGpuInstanceById"),
      nvmlDeviceGetGpuInstanceById, handle_, id.value(), &handle);
  return Wrap(handle);
}

Result<GpuInstance> Device::CreateGpuInstance(ProfileId profile, Placement placement) const {
  const nvmlGpuInstancePlacement_t raw{placement.start, placement.size};
  nvmlGpuInstance_t handle = nullptr;
  const std::string action = "creating a GI of profile " + std::to_string(profile.value()) + " at " +
                             std::to_string(placement.start) + ":" + std::to_string(placement.size);
  MIGCTL_NVML_CALL(*library_, Describe(where_, action, "nvmlDeviceCreateGpuInstanceWithPlacement"),
                   nvmlDeviceCreateGpuInstanceWithPlacement, handle_, profile.value(), &raw, &handle);
  return Wrap(handle);
}

Result<GpuInstance> Device::CreateGpuInstance(ProfileId profile) const {
  nvmlGpuInstance_t handle = nullptr;
  const std::string action = "creating a GI of profile " + std::to_string(profile.value());
  MIGCTL_NVML_CALL(*library_, Describe(where_, action, "nvmlDeviceCreateGpuInstance"),
                   nvmlDeviceCreateGpuInstance, handle_, profile.value(), &handle);
  return Wrap(handle);
}

Result<std::vector<MigDeviceInfo>> Device::MigDevices() const {
  unsigned max_count = 0;
  MIGCTL_NVML_CALL(*library_, Describe(where_, "counting MIG devices", "nvmlDeviceGetMaxMigDeviceCount"),
                   nvmlDeviceGetMaxMigDeviceCount, handle_, &max_count);
  MIGCTL_NVML_REQUIRE(*library_, nvmlDeviceGetMigDeviceHandleByIndex);
  std::vector<MigDeviceInfo> devices;
  for (unsigned index = 0; index < max_count; ++index) {
    nvmlDevice_t mig = nullptr;
    nvmlReturn_t rc = library_->fn().nvmlDeviceGetMigDeviceHandleByIndex(handle_, index, &mig);
    if (rc == NVML_ERROR_NOT_FOUND) continue;
    if (rc != NVML_SUCCESS) {
      return NvmlError(rc, Describe(where_, ("opening MIG device " + std::to_string(index)),
                                    "nvmlDeviceGetMigDeviceHandleByIndex"));
    }
    MIGCTL_ASSIGN_OR_RETURN(MigDeviceInfo device, ReadMigDevice(*library_, mig, where_));
    devices.push_back(std::move(device));
  }
  return devices;
}

Result<std::vector<ProcessInfo>> Device::ComputeProcesses() const {
  return RunningProcesses(*library_, handle_, where_);
}

Status Device::Reset() const {
  if (library_->fn().migsimDeviceReset == nullptr) {
    return MakeError(ErrorCode::kUnsupported,
                     where_ + "migctl resets only simulated GPUs; reset a real one with nvidia-smi -r -i " +
                         std::to_string(index_.value()) + " when nothing uses it");
  }
  MIGCTL_NVML_CALL(*library_, Describe(where_, "resetting", "migsimDeviceReset"), migsimDeviceReset, handle_);
  return Ok();
}

// ---- Nvml ----

Result<Nvml> Nvml::Open(const std::string& path) {
  MIGCTL_ASSIGN_OR_RETURN(std::unique_ptr<NvmlLibrary> library, NvmlLibrary::Open(path));
  return Nvml(std::move(library));
}

Result<unsigned> Nvml::Count() const {
  unsigned count = 0;
  MIGCTL_NVML_CALL(*library_, "counting GPUs (nvmlDeviceGetCount_v2)", nvmlDeviceGetCount_v2, &count);
  return count;
}

Result<class Device> Nvml::Device(GpuIndex index) const {
  MIGCTL_NVML_REQUIRE(*library_, nvmlDeviceGetHandleByIndex_v2);
  nvmlDevice_t handle = nullptr;
  nvmlReturn_t rc = library_->fn().nvmlDeviceGetHandleByIndex_v2(index.value(), &handle);
  if (rc == NVML_ERROR_INVALID_ARGUMENT) {
    MIGCTL_ASSIGN_OR_RETURN(unsigned count, Count());
    return MakeError(ErrorCode::kNotFound,
                     "no GPU with index " + std::to_string(index.value()) + " (this host has " +
                         std::to_string(count) + "; see migctl status)",
                     rc);
  }
  if (rc != NVML_SUCCESS) {
    return NvmlError(rc,
                     "GPU " + std::to_string(index.value()) + ": opening (nvmlDeviceGetHandleByIndex_v2)");
  }
  return migctl::nvml::Device(library_.get(), handle, index);
}

Result<std::vector<class Device>> Nvml::Devices() const {
  MIGCTL_ASSIGN_OR_RETURN(unsigned count, Count());
  std::vector<class Device> devices;
  for (unsigned i = 0; i < count; ++i) {
    MIGCTL_ASSIGN_OR_RETURN(class Device device, Device(GpuIndex(i)));
    devices.push_back(std::move(device));
  }
  return devices;
}

Result<std::string> Nvml::DriverVersion() const {
  char version[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
  MIGCTL_NVML_CALL(*library_, "reading the driver version (nvmlSystemGetDriverVersion)",
                   nvmlSystemGetDriverVersion, version, sizeof(version));
  return std::string(version);
}

Result<std::string> Nvml::NvmlVersion() const {
  char version[NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE] = {};
  MIGCTL_NVML_CALL(*library_, "reading the NVML version (nvmlSystemGetNVMLVersion)", nvmlSystemGetNVMLVersion,
                   version, sizeof(version));
  return std::string(version);
}

std::string ProcessList(const std::vector<ProcessInfo>& processes) {
  std::string out;
  for (const auto& p : processes)
    out += (out.empty() ? "" : ", ") +
           (p.name.empty() ? fmt::format("pid {}", p.pid) : fmt::format("pid {} ({})", p.pid, p.name));
  return out;
}

// ---- GPM ----

GpmSample& GpmSample::operator=(GpmSample&& other) noexcept {
  if (this != &other) {
    if (sample_ != nullptr) library_->fn().nvmlGpmSampleFree(sample_);
    library_ = other.library_;
    sample_ = other.sample_;
    other.sample_ = nullptr;
  }
  return *this;
}

GpmSample::~GpmSample() {
  if (sample_ != nullptr) library_->fn().nvmlGpmSampleFree(sample_);
}

Result<bool> Device::GpmSupported() const {
  const NvmlFunctions& fn = library_->fn();
  if (!fn.nvmlGpmQueryDeviceSupport || !fn.nvmlGpmSampleAlloc || !fn.nvmlGpmSampleFree || !fn.nvmlGpmSampleGet ||
      !fn.nvmlGpmMigSampleGet || !fn.nvmlGpmMetricsGet)
    return false;
  nvmlGpmSupport_t support{};
  support.version = NVML_GPM_SUPPORT_VERSION;
  const nvmlReturn_t rc = fn.nvmlGpmQueryDeviceSupport(handle_, &support);
  if (rc == NVML_ERROR_NOT_SUPPORTED) return false;
  if (rc != NVML_SUCCESS)
    return NvmlError(rc, Describe(where_, "asking for GPM support", "nvmlGpmQueryDeviceSupport"));
  return support.isSupportedDevice != 0;
}

Result<GpmSample> Device::TakeGpmSample(std::optional<GiId> gi) const {
  MIGCTL_NVML_REQUIRE(*library_, nvmlGpmSampleAlloc);
  nvmlGpmSample_t raw = nullptr;
  MIGCTL_NVML_CALL(*library_, Describe(where_, "allocating a GPM sample", "nvmlGpmSampleAlloc"),
                   nvmlGpmSampleAlloc, &raw);
  GpmSample sample(library_, raw);
  if (gi) {
    MIGCTL_NVML_CALL(*library_,
                     Describe(where_, fmt::format("GPM sample of GI {}", gi->value()), "nvmlGpmMigSampleGet"),
                     nvmlGpmMigSampleGet, handle_, gi->value(), raw);
  } else {
    MIGCTL_NVML_CALL(*library_, Describe(where_, "GPM sample", "nvmlGpmSampleGet"), nvmlGpmSampleGet, handle_, raw);
  }
  return sample;
}

Result<GpmMetrics> GpmMetricsBetween(const GpmSample& first, const GpmSample& second) {
  const NvmlLibrary& library = *second.library_;
  MIGCTL_NVML_REQUIRE(library, nvmlGpmMetricsGet);
  auto get = std::make_unique<nvmlGpmMetricsGet_t>();  // 210 metrics: 8 KiB, not for the stack
  std::memset(get.get(), 0, sizeof *get);
  get->version = NVML_GPM_METRICS_GET_VERSION;
  get->sample1 = first.sample_;
  get->sample2 = second.sample_;
  const unsigned ids[] = {NVML_GPM_METRIC_SM_UTIL, NVML_GPM_METRIC_SM_OCCUPANCY, NVML_GPM_METRIC_DRAM_BW_UTIL};
  get->numMetrics = 3;
  for (unsigned i = 0; i < 3; ++i) get->metrics[i].metricId = ids[i];
  MIGCTL_NVML_CALL(library, "computing GPM metrics (nvmlGpmMetricsGet)", nvmlGpmMetricsGet, get.get());
  auto value = [&](unsigned i) -> std::optional<double> {
    if (get->metrics[i].nvmlReturn != NVML_SUCCESS) return std::nullopt;
    return get->metrics[i].value / 100.0;
  };
  return GpmMetrics{value(0), value(1), value(2)};
}

}  // namespace migctl::nvml
