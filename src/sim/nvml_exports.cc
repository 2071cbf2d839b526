// libmigsim.so's C ABI: every NVML entry point migctl uses (MIGCTL_NVML_FUNCTIONS), the unversioned aliases
// and extra versions third-party clients call, and migsimDeviceReset. Each function validates its arguments
// and handles, then asks engine.h (decisions) through session.h (state, locking) and copies the answer into
// NVML's structs. Only nvml*/migsim* symbols are exported (see exports.map).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "layout/feasibility.h"
#include "nvml/nvml_abi.h"
#include "sim/engine.h"
#include "sim/return_codes.h"
#include "sim/session.h"

#define MIGSIM_EXPORT __attribute__((visibility("default")))

extern "C" {
#define MIGSIM_DECLARE(name, ret, params) MIGSIM_EXPORT ret name params;
MIGCTL_NVML_FUNCTIONS(MIGSIM_DECLARE)
MIGCTL_MIGSIM_FUNCTIONS(MIGSIM_DECLARE)
#undef MIGSIM_DECLARE
}

namespace migctl::sim {

// NVML structs outside nvml_abi.h that the extra entry points below fill.
/// nvmlGpuInstanceProfileInfo_v3_t: v2 without isP2pSupported, plus capabilities. Same size as v2.
struct GpuInstanceProfileInfoV3 {
  unsigned int version, id, sliceCount, instanceCount, multiprocessorCount, copyEngineCount, decoderCount,
      encoderCount, jpegCount, ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
  unsigned int capabilities;
};
static_assert(sizeof(GpuInstanceProfileInfoV3) == sizeof(nvmlGpuInstanceProfileInfo_v2_t));

/// nvmlEnableState_t and nvmlClockType_t: C enums, passed as int-sized values.
enum EnableState : int { kFeatureDisabled = 0, kFeatureEnabled = 1 };
enum ClockType : int {
  kClockGraphics = 0,
  kClockSm = 1,
  kClockMem = 2,
  kClockVideo = 3,
  kClockTypeCount = 4
};

/// nvmlMemory_v2_t.
struct MemoryV2 {
  unsigned int version;
  unsigned long long total, reserved, free, used;
};

/// nvmlPciInfo_t as unversioned nvmlDeviceGetPciInfo (v1) fills it.
struct PciInfoV1 {
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId, reserved0, reserved1, reserved2, reserved3;
};

namespace {

constexpr unsigned kNoInstance = 0xFFFFFFFFu;
constexpr unsigned long long kMiB = 1024ull * 1024ull;
constexpr const char* kDriverVersion = "580.159.04-migsim";
constexpr const char* kNvmlVersion = "13.580.159.04";

/// Profile indexes NVML 13.3 defines (NVML_GPU_INSTANCE_PROFILE_COUNT); larger ones are INVALID_ARGUMENT so
/// clients that scan upward stop.
constexpr unsigned kGpuInstanceProfileCount = 0x12;

constexpr unsigned StructVersion(size_t size, unsigned version) {
  return static_cast<unsigned>(size) | (version << 24);
}

Session& S() { return Session::Get(); }

/// Starts an exported call: latency, faults, then the session lock and the init check.
#define MIGSIM_ENTER(name)                         \
  if (auto early = S().Enter(name)) return *early; \
  std::lock_guard migsim_lock(S().mutex());        \
  if (!S().initialized()) return NVML_ERROR_UNINITIALIZED

/// Returns from the enclosing function when `expr` is not NVML_SUCCESS.
#define MIGSIM_TRY(expr)                                 \
  do {                                                   \
    nvmlReturn_t migsim_ret_ = (expr);                   \
    if (migsim_ret_ != NVML_SUCCESS) return migsim_ret_; \
  } while (0)

nvmlReturn_t CopyString(const std::string& text, char* out, unsigned length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (text.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return NVML_SUCCESS;
}

void CopyTruncated(const std::string& text, char* out, size_t size) {
  size_t n = std::min(text.size(), size - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

/// Everything one device-like handle refers to, checked against the current state.
struct DeviceRef {
  const Handle* handle = nullptr;
  GpuView view{};
  const SimGpuInstance* gi = nullptr;      ///< For MIG devices, GI and CI handles.
  const SimComputeInstance* ci = nullptr;  ///< For MIG devices and CI handles.
  const GiProfile* gi_profile = nullptr;
  bool mig_device() const { return handle->kind == HandleKind::kMigDevice; }
};

/// Resolves `pointer` (any handle kind in `kinds`) to the current instances. INVALID_ARGUMENT for a pointer
/// we did not issue, of another kind, or naming an instance that no longer exists.
nvmlReturn_t Resolve(const void* pointer, std::initializer_list<HandleKind> kinds, DeviceRef* ref) {
  const Handle* handle = pointer ? S().handles().Find(pointer) : nullptr;
  if (!handle || std::ranges::find(kinds, handle->kind) == kinds.end()) return NVML_ERROR_INVALID_ARGUMENT;
  ref->handle = handle;
  MIGSIM_TRY(S().Gpu(handle->gpu, &ref->view));
  if (handle->kind == HandleKind::kDevice) return NVML_SUCCESS;
  ref->gi = FindGpuInstance(*ref->view.gpu, handle->gi);
  if (!ref->gi) return NVML_ERROR_INVALID_ARGUMENT;
  ref->gi_profile = GiProfileOf(*ref->view.model, *ref->gi);
  if (!ref->gi_profile) return NVML_ERROR_UNKNOWN;
  if (handle->kind == HandleKind::kGpuInstance) return NVML_SUCCESS;
  ref->ci = FindComputeInstance(*ref->gi, handle->ci);
  return ref->ci ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t ResolveGpu(nvmlDevice_t device, DeviceRef* ref) {
  return Resolve(device, {HandleKind::kDevice}, ref);
}
nvmlReturn_t ResolveAnyDevice(nvmlDevice_t device, DeviceRef* ref) {
  return Resolve(device, {HandleKind::kDevice, HandleKind::kMigDevice}, ref);
}
nvmlReturn_t ResolveGi(nvmlGpuInstance_t gi, DeviceRef* ref) {
  return Resolve(gi, {HandleKind::kGpuInstance}, ref);
}
nvmlReturn_t ResolveCi(nvmlComputeInstance_t ci, DeviceRef* ref) {
  return Resolve(ci, {HandleKind::kComputeInstance}, ref);
}

bool MigEnabled(const DeviceRef& ref) { return ref.view.gpu->mig_current == NVML_DEVICE_MIG_ENABLE; }

nvmlDevice_t DeviceHandle(unsigned gpu) {
  return reinterpret_cast<nvmlDevice_t>(const_cast<Handle*>(S().handles().Intern(HandleKind::kDevice, gpu)));
}
nvmlDevice_t MigDeviceHandle(unsigned gpu, unsigned gi, unsigned ci) {
  return reinterpret_cast<nvmlDevice_t>(
      const_cast<Handle*>(S().handles().Intern(HandleKind::kMigDevice, gpu, gi, ci)));
}
nvmlGpuInstance_t GiHandle(unsigned gpu, unsigned gi) {
  return reinterpret_cast<nvmlGpuInstance_t>(
      const_cast<Handle*>(S().handles().Intern(HandleKind::kGpuInstance, gpu, gi)));
}
nvmlComputeInstance_t CiHandle(unsigned gpu, unsigned gi, unsigned ci) {
  return reinterpret_cast<nvmlComputeInstance_t>(
      const_cast<Handle*>(S().handles().Intern(HandleKind::kComputeInstance, gpu, gi, ci)));
}

nvmlReturn_t ProfileByIndex(const GpuModel& model, unsigned index, const GiProfile** out) {
  if (index >= kGpuInstanceProfileCount) return NVML_ERROR_INVALID_ARGUMENT;
  auto it = std::ranges::find(model.gi_profiles, index, &GiProfile::nvml_index);
  if (it == model.gi_profiles.end()) return NVML_ERROR_NOT_SUPPORTED;
  *out = &*it;
  return NVML_SUCCESS;
}

template <typename Info>
void FillProfileCounts(const GiProfile& p, Info* info) {
  info->id = p.id.value();
  info->sliceCount = p.compute_slices;
  info->instanceCount = p.instance_limit;
  info->multiprocessorCount = p.multiprocessors;
  info->copyEngineCount = p.engines.copy;
  info->decoderCount = p.engines.decoder;
  info->encoderCount = p.engines.encoder;
  info->jpegCount = p.engines.jpeg;
  info->ofaCount = p.engines.ofa;
  info->memorySizeMB = p.memory_mib;
}

template <typename Info>
void FillCiProfile(const GiProfile& gi, const CiProfile& ci, Info* info) {
  info->id = ci.id.value();
  info->sliceCount = ci.compute_slices;
  info->instanceCount = ci.instance_limit;
  info->multiprocessorCount = ci.multiprocessors;
  info->sharedCopyEngineCount = gi.engines.copy;
  info->sharedDecoderCount = gi.engines.decoder;
  info->sharedEncoderCount = gi.engines.encoder;
  info->sharedJpegCount = gi.engines.jpeg;
  info->sharedOfaCount = gi.engines.ofa;
}

/// Name of a MIG device's CI profile (`1c.3g.40gb`, or the GI's name for the full-width CI).
std::string CiProfileName(const DeviceRef& ref) {
  const CiProfile* ci_profile = nullptr;
  if (FindCiProfile(*ref.view.model, *ref.gi, ref.ci->profile_id, &ci_profile) != NVML_SUCCESS) {
    return ref.gi_profile->name;
  }
  return ci_profile->name;
}

/// MIG devices of a GPU in NVML's order: ascending (GI id, CI id).
std::vector<std::pair<unsigned, unsigned>> MigDevices(const SimGpu& gpu) {
  std::vector<std::pair<unsigned, unsigned>> devices;
  for (const SimGpuInstance& gi : gpu.gpu_instances) {
    for (const SimComputeInstance& ci : gi.compute_instances) devices.emplace_back(gi.id, ci.id);
  }
  std::ranges::sort(devices);
  return devices;
}

/// Processes visible through `ref`: all of the GPU's for a whole-GPU handle, those on the MIG device's CI (or
/// on its GI without a CI) for a MIG handle.
std::vector<const SimProcess*> VisibleProcesses(const DeviceRef& ref) {
  std::vector<const SimProcess*> out;
  for (const SimProcess& p : ref.view.gpu->processes) {
    if (!ref.mig_device() || (p.gi == ref.gi->id && (!p.ci || p.ci == ref.ci->id))) out.push_back(&p);
  }
  return out;
}

unsigned long long UsedMib(const std::vector<const SimProcess*>& processes) {
  unsigned long long used = 0;
  for (const SimProcess* p : processes) used += p->used_mib;
  return used;
}

nvmlReturn_t MemoryOf(nvmlDevice_t device, unsigned long long* total, unsigned long long* used) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  *total = (ref.mig_device() ? ref.gi_profile->memory_mib : ref.view.model->memory_mib) * kMiB;
  std::vector<const SimProcess*> processes;
  if (ref.mig_device()) {
    for (const SimProcess& p : ref.view.gpu->processes) {
      if (p.gi == ref.gi->id) processes.push_back(&p);
    }
  } else {
    processes = VisibleProcesses(ref);
  }
  *used = std::min(*total, UsedMib(processes) * kMiB);
  return NVML_SUCCESS;
}

nvmlReturn_t PciInfo(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned domain = 0, bus = 0, dev = 0, function = 0;
  std::sscanf(ref.view.gpu->pci_bus_id.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &function);
  *pci = {};
  std::snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04x:%02x:%02x.%x", domain, bus, dev, function);
  CopyTruncated(ref.view.gpu->pci_bus_id, pci->busId, sizeof pci->busId);
  pci->domain = domain;
  pci->bus = bus;
  pci->device = dev;
  unsigned device_id = ref.view.model->pci_device_ids.empty() ? 0 : ref.view.model->pci_device_ids.front();
  pci->pciDeviceId = (device_id << 16) | 0x10DE;
  return NVML_SUCCESS;
}

nvmlReturn_t CreateGi(nvmlDevice_t device, unsigned profile_id, std::optional<Placement> placement,
                      nvmlGpuInstance_t* out) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (!MigEnabled(ref)) return NVML_ERROR_NOT_SUPPORTED;
  unsigned gi_id = 0;
  MIGSIM_TRY(S().Mutate(ref.view.index, [&](const GpuModel& model, SimGpu& gpu) {
    return CreateGpuInstance(model, gpu, profile_id, placement, &gi_id);
  }));
  *out = GiHandle(ref.view.index, gi_id);
  return NVML_SUCCESS;
}

nvmlReturn_t CreateCi(nvmlGpuInstance_t gpu_instance, unsigned profile_id, std::optional<Placement> placement,
                      nvmlComputeInstance_t* out) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpu_instance, &ref));
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned gi_id = ref.gi->id;
  unsigned ci_id = 0;
  nvmlReturn_t ret = S().Mutate(ref.view.index, [&](const GpuModel& model, SimGpu& gpu) {
    return CreateComputeInstance(model, gpu, gi_id, profile_id, placement, &ci_id);
  });
  if (ret == NVML_ERROR_NOT_FOUND) return NVML_ERROR_INVALID_ARGUMENT;  // The GI vanished meanwhile.
  MIGSIM_TRY(ret);
  *out = CiHandle(ref.view.index, gi_id, ci_id);
  return NVML_SUCCESS;
}

nvmlReturn_t FillGiProfileV(nvmlDevice_t device, unsigned profile, nvmlGpuInstanceProfileInfo_v2_t* info) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  const GiProfile* p = nullptr;
  MIGSIM_TRY(ProfileByIndex(*ref.view.model, profile, &p));
  const unsigned v2 = nvmlGpuInstanceProfileInfo_v2;
  const unsigned v3 = StructVersion(sizeof(GpuInstanceProfileInfoV3), 3);
  std::string name = "MIG " + p->name;
  if (info->version == v3) {
    auto* out = reinterpret_cast<GpuInstanceProfileInfoV3*>(info);
    *out = {};
    out->version = v3;
    FillProfileCounts(*p, out);
    CopyTruncated(name, out->name, sizeof out->name);
    return NVML_SUCCESS;
  }
  // Version 0 is taken as v2: some bindings pass a zeroed struct.
  if (info->version != v2 && info->version != 0) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  *info = {};
  info->version = v2;
  FillProfileCounts(*p, info);
  CopyTruncated(name, info->name, sizeof info->name);
  return NVML_SUCCESS;
}

nvmlReturn_t GiPlacements(nvmlDevice_t device, unsigned profile_id, nvmlGpuInstancePlacement_t* placements,
                          unsigned* count) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const GiProfile* p = ref.view.model->FindProfile(ProfileId(profile_id));
  if (!p) return NVML_ERROR_NOT_SUPPORTED;
  unsigned needed = static_cast<unsigned>(p->starts.size());
  if (!placements) {
    *count = needed;
    return NVML_SUCCESS;
  }
  if (*count < needed) {
    *count = needed;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned i = 0; i < needed; ++i) placements[i] = {p->starts[i], p->placement_size};
  *count = needed;
  return NVML_SUCCESS;
}

nvmlReturn_t ComputeInstanceInfo(nvmlComputeInstance_t compute_instance, nvmlComputeInstanceInfo_t* info) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveCi(compute_instance, &ref));
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  info->device = DeviceHandle(ref.view.index);
  info->gpuInstance = GiHandle(ref.view.index, ref.gi->id);
  info->id = ref.ci->id;
  info->profileId = ref.ci->profile_id;
  info->placement = {ref.ci->start, ref.ci->size};
  return NVML_SUCCESS;
}

nvmlReturn_t MemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned long long total = 0, used = 0;
  MIGSIM_TRY(MemoryOf(device, &total, &used));
  *memory = {total, total - used, used};
  return NVML_SUCCESS;
}

/// A model's clocks as NVML reports them with no clock ever set: one memory clock, graphics clocks from
/// `graphics_max` down to `graphics_min` in 15 MHz steps, and the default applications clocks.
struct ModelClocks {
  const char* model;
  unsigned memory_mhz, graphics_max_mhz, graphics_min_mhz, default_graphics_mhz;
};

/// H100 80GB HBM3 and H200 as recorded (nvidia-smi -q -x, 580.159.04: supported_clocks, applications_clocks);
/// the others estimated in that shape from spec sheets and public nvidia-smi listings (unrecorded).
constexpr ModelClocks kModelClocks[] = {
    {"h100-80gb", 2619, 1980, 345, 1980}, {"h200-141gb", 3201, 1980, 345, 1980},
    {"h100-94gb", 2619, 1785, 345, 1785}, {"gh200-96gb", 2619, 1980, 345, 1980},
    {"a100-40gb", 1215, 1410, 210, 1095}, {"a100-80gb", 1593, 1410, 210, 1275},
    {"a30-24gb", 1215, 1440, 210, 1440},  {"b200-180gb", 3996, 1965, 120, 1965},
};
constexpr unsigned kGraphicsClockStepMhz = 15;

/// NVML_NVLINK_MAX_LINKS of NVML 13.
constexpr unsigned kNvLinkMaxLinks = 36;

/// Clocks of the GPU behind `device`: NOT_SUPPORTED for a MIG device (clocks belong to the whole GPU) or a
/// model without a clock table.
nvmlReturn_t ClocksOf(nvmlDevice_t device, const ModelClocks** clocks) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (ref.mig_device()) return NVML_ERROR_NOT_SUPPORTED;
  auto it = std::ranges::find(kModelClocks, std::string_view(ref.view.model->key), &ModelClocks::model);
  if (it == std::end(kModelClocks)) return NVML_ERROR_NOT_SUPPORTED;
  *clocks = &*it;
  return NVML_SUCCESS;
}

std::vector<unsigned> GraphicsClocks(const ModelClocks& clocks) {
  std::vector<unsigned> out;
  unsigned steps = (clocks.graphics_max_mhz - clocks.graphics_min_mhz) / kGraphicsClockStepMhz;
  for (unsigned i = 0; i <= steps; ++i) out.push_back(clocks.graphics_max_mhz - i * kGraphicsClockStepMhz);
  return out;
}

/// NVML's array protocol: `*count` in is the room in `out`, out the number of elements; INSUFFICIENT_SIZE
/// (with the count needed) when it is too small.
nvmlReturn_t CopyClocks(const std::vector<unsigned>& clocks, unsigned* count, unsigned* out) {
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  unsigned needed = static_cast<unsigned>(clocks.size());
  if (*count < needed) {
    *count = needed;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  std::ranges::copy(clocks, out);
  *count = needed;
  return NVML_SUCCESS;
}

/// The host's online CPUs (/sys/devices/system/cpu/online, `0-3,8-11`), else CPUs 0..n-1. The simulated GPUs
/// sit on no particular NUMA node, so every online CPU is local to each, as on a single-socket host.
std::vector<unsigned> OnlineCpus() {
  std::vector<unsigned> cpus;
  std::ifstream file("/sys/devices/system/cpu/online");
  std::string list;
  if (std::getline(file, list)) {
    std::istringstream ranges(list);
    for (std::string range; std::getline(ranges, range, ',');) {
      unsigned first = 0, last = 0;
      int fields = std::sscanf(range.c_str(), "%u-%u", &first, &last);
      if (fields < 1) continue;
      if (fields == 1) last = first;
      for (unsigned cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) {
    long count = ::sysconf(_SC_NPROCESSORS_ONLN);
    for (long cpu = 0; cpu < std::max(count, 1L); ++cpu) cpus.push_back(static_cast<unsigned>(cpu));
  }
  return cpus;
}

/// Changing a device's settings needs root, as NVML's Device Commands do: INVALID_ARGUMENT for a pointer we
/// did not issue, NO_PERMISSION for anyone else (before the state is read, which they may not be able to).
nvmlReturn_t CheckMayChangeSettings(nvmlDevice_t device) {
  if (!device || !S().handles().Find(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return ::geteuid() == 0 ? NVML_SUCCESS : NVML_ERROR_NO_PERMISSION;
}

}  // namespace
}  // namespace migctl::sim

using namespace migctl;       // NOLINT: the exported functions below are the whole point of this file.
using namespace migctl::sim;  // NOLINT

extern "C" {

// ---- Initialization and system queries
// -------------------------------------------------------------------------

nvmlReturn_t nvmlInit_v2(void) {
  if (auto early = S().Enter("nvmlInit_v2")) return *early;
  std::lock_guard lock(S().mutex());
  return S().Init();
}

nvmlReturn_t nvmlInitWithFlags(unsigned int /*flags*/) {
  if (auto early = S().Enter("nvmlInitWithFlags")) return *early;
  std::lock_guard lock(S().mutex());
  return S().Init();
}

MIGSIM_EXPORT nvmlReturn_t nvmlInit(void) {
  if (auto early = S().Enter("nvmlInit")) return *early;
  std::lock_guard lock(S().mutex());
  return S().Init();
}

nvmlReturn_t nvmlShutdown(void) {
  if (auto early = S().Enter("nvmlShutdown")) return *early;
  std::lock_guard lock(S().mutex());
  return S().Shutdown();
}

const char* nvmlErrorString(nvmlReturn_t result) { return ReturnCodeMessage(result); }

nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  MIGSIM_ENTER("nvmlSystemGetDriverVersion");
  return CopyString(kDriverVersion, version, length);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char* version, unsigned int length) {
  MIGSIM_ENTER("nvmlSystemGetNVMLVersion");
  return CopyString(kNvmlVersion, version, length);
}

nvmlReturn_t nvmlSystemGetProcessName(unsigned int pid, char* name, unsigned int length) {
  MIGSIM_ENTER("nvmlSystemGetProcessName");
  if (!name || length == 0) return NVML_ERROR_INVALID_ARGUMENT;
  const MachineState* state = nullptr;
  MIGSIM_TRY(S().Machine(&state));
  for (const SimGpu& gpu : state->gpus) {
    for (const SimProcess& p : gpu.processes) {
      if (p.pid != pid) continue;
      CopyTruncated(p.name, name, length);  // NVML truncates to `length`.
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

// ---- Device identity
// -------------------------------------------------------------------------------------------

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* deviceCount) {
  MIGSIM_ENTER("nvmlDeviceGetCount_v2");
  if (!deviceCount) return NVML_ERROR_INVALID_ARGUMENT;
  const MachineState* state = nullptr;
  MIGSIM_TRY(S().Machine(&state));
  *deviceCount = static_cast<unsigned>(state->gpus.size());
  return NVML_SUCCESS;
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetCount(unsigned int* deviceCount) {
  MIGSIM_ENTER("nvmlDeviceGetCount");
  if (!deviceCount) return NVML_ERROR_INVALID_ARGUMENT;
  const MachineState* state = nullptr;
  MIGSIM_TRY(S().Machine(&state));
  *deviceCount = static_cast<unsigned>(state->gpus.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  MIGSIM_ENTER("nvmlDeviceGetHandleByIndex_v2");
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  GpuView view;
  MIGSIM_TRY(S().Gpu(index, &view));
  *device = DeviceHandle(index);
  return NVML_SUCCESS;
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  MIGSIM_ENTER("nvmlDeviceGetHandleByIndex");
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  GpuView view;
  MIGSIM_TRY(S().Gpu(index, &view));
  *device = DeviceHandle(index);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  MIGSIM_ENTER("nvmlDeviceGetHandleByUUID");
  if (!uuid || !device) return NVML_ERROR_INVALID_ARGUMENT;
  const MachineState* state = nullptr;
  MIGSIM_TRY(S().Machine(&state));
  for (unsigned i = 0; i < state->gpus.size(); ++i) {
    const SimGpu& gpu = state->gpus[i];
    if (gpu.uuid == uuid) {
      *device = DeviceHandle(i);
      return NVML_SUCCESS;
    }
    for (const SimGpuInstance& gi : gpu.gpu_instances) {
      for (const SimComputeInstance& ci : gi.compute_instances) {
        if (ci.uuid != uuid) continue;
        *device = MigDeviceHandle(i, gi.id, ci.id);
        return NVML_SUCCESS;
      }
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  MIGSIM_ENTER("nvmlDeviceGetIndex");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!index) return NVML_ERROR_INVALID_ARGUMENT;
  *index = ref.view.index;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  MIGSIM_ENTER("nvmlDeviceGetName");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  std::string text = ref.view.model->product_name;
  if (ref.mig_device()) text += " MIG " + CiProfileName(ref);
  return CopyString(text, name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  MIGSIM_ENTER("nvmlDeviceGetUUID");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  return CopyString(ref.mig_device() ? ref.ci->uuid : ref.view.gpu->uuid, uuid, length);
}

nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  MIGSIM_ENTER("nvmlDeviceGetPciInfo_v3");
  return PciInfo(device, pci);
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v2(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  MIGSIM_ENTER("nvmlDeviceGetPciInfo_v2");
  return PciInfo(device, pci);
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo(nvmlDevice_t device, PciInfoV1* pci) {
  MIGSIM_ENTER("nvmlDeviceGetPciInfo");
  if (!pci) return NVML_ERROR_INVALID_ARGUMENT;
  nvmlPciInfo_t full;
  MIGSIM_TRY(PciInfo(device, &full));
  *pci = {};
  std::memcpy(pci->busId, full.busIdLegacy, sizeof pci->busId);
  pci->domain = full.domain;
  pci->bus = full.bus;
  pci->device = full.device;
  pci->pciDeviceId = full.pciDeviceId;
  pci->pciSubSystemId = full.pciSubSystemId;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minorNumber) {
  MIGSIM_ENTER("nvmlDeviceGetMinorNumber");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!minorNumber) return NVML_ERROR_INVALID_ARGUMENT;
  *minorNumber = ref.view.gpu->minor;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetArchitecture(nvmlDevice_t device, nvmlDeviceArchitecture_t* arch) {
  MIGSIM_ENTER("nvmlDeviceGetArchitecture");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!arch) return NVML_ERROR_INVALID_ARGUMENT;
  switch (ref.view.model->architecture) {
    case migctl::Architecture::kAmpere:
      *arch = NVML_DEVICE_ARCH_AMPERE;
      break;
    case migctl::Architecture::kHopper:
      *arch = NVML_DEVICE_ARCH_HOPPER;
      break;
    case migctl::Architecture::kBlackwell:
      *arch = NVML_DEVICE_ARCH_BLACKWELL;
      break;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  MIGSIM_ENTER("nvmlDeviceGetMemoryInfo");
  return MemoryInfo(device, memory);
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, MemoryV2* memory) {
  MIGSIM_ENTER("nvmlDeviceGetMemoryInfo_v2");
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  if (memory->version != StructVersion(sizeof(MemoryV2), 2)) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  unsigned long long total = 0, used = 0;
  MIGSIM_TRY(MemoryOf(device, &total, &used));
  memory->total = total;
  memory->reserved = 0;
  memory->free = total - used;
  memory->used = used;
  return NVML_SUCCESS;
}

// ---- MIG mode
// --------------------------------------------------------------------------------------------------

nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* currentMode, unsigned int* pendingMode) {
  MIGSIM_ENTER("nvmlDeviceGetMigMode");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!currentMode || !pendingMode) return NVML_ERROR_INVALID_ARGUMENT;
  *currentMode = ref.view.gpu->mig_current;
  *pendingMode = ref.view.gpu->mig_pending;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceSetMigMode(nvmlDevice_t device, unsigned int mode, nvmlReturn_t* activationStatus) {
  MIGSIM_ENTER("nvmlDeviceSetMigMode");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!activationStatus) return NVML_ERROR_INVALID_ARGUMENT;
  return S().Mutate(ref.view.index, [&](const GpuModel& model, SimGpu& gpu) {
    return SetMigMode(model, gpu, mode, activationStatus);
  });
}

nvmlReturn_t migsimDeviceReset(nvmlDevice_t device) {
  MIGSIM_ENTER("migsimDeviceReset");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  return S().Mutate(ref.view.index, [](const GpuModel&, SimGpu& gpu) { return ResetGpu(gpu); });
}

// ---- GPU instance profiles
// -------------------------------------------------------------------------------------

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile,
                                                 nvmlGpuInstanceProfileInfo_t* info) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstanceProfileInfo");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  const GiProfile* p = nullptr;
  MIGSIM_TRY(ProfileByIndex(*ref.view.model, profile, &p));
  *info = {};
  FillProfileCounts(*p, info);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile,
                                                  nvmlGpuInstanceProfileInfo_v2_t* info) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstanceProfileInfoV");
  return FillGiProfileV(device, profile, info);
}

nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t device, unsigned int profileId,
                                                           nvmlGpuInstancePlacement_t* placements,
                                                           unsigned int* count) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstancePossiblePlacements_v2");
  return GiPlacements(device, profileId, placements, count);
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetGpuInstancePossiblePlacements(nvmlDevice_t device,
                                                                      unsigned int profileId,
                                                                      nvmlGpuInstancePlacement_t* placements,
                                                                      unsigned int* count) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstancePossiblePlacements");
  return GiPlacements(device, profileId, placements, count);
}

nvmlReturn_t nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId,
                                                       unsigned int* count) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstanceRemainingCapacity");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  // Answered with MIG off too, as the real driver does (H100, 580.159.04: 7/7 for 1g.10gb with MIG disabled;
  // see docs/HARDWARE.md), although nvml.h documents NOT_SUPPORTED for that case. With MIG off there are no
  // GIs.
  if (!ref.view.model->FindProfile(ProfileId(profileId))) return NVML_ERROR_NOT_SUPPORTED;
  *count = RemainingCapacity(*ref.view.model, LayoutOf(*ref.view.gpu), ProfileId(profileId));
  return NVML_SUCCESS;
}

// ---- GPU instances
// ---------------------------------------------------------------------------------------------

nvmlReturn_t nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId,
                                         nvmlGpuInstance_t* gpuInstance) {
  MIGSIM_ENTER("nvmlDeviceCreateGpuInstance");
  return CreateGi(device, profileId, std::nullopt, gpuInstance);
}

nvmlReturn_t nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device, unsigned int profileId,
                                                      const nvmlGpuInstancePlacement_t* placement,
                                                      nvmlGpuInstance_t* gpuInstance) {
  MIGSIM_ENTER("nvmlDeviceCreateGpuInstanceWithPlacement");
  if (!placement) return NVML_ERROR_INVALID_ARGUMENT;
  return CreateGi(device, profileId, Placement{placement->start, placement->size}, gpuInstance);
}

nvmlReturn_t nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance) {
  MIGSIM_ENTER("nvmlGpuInstanceDestroy");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  unsigned gi_id = ref.gi->id;
  nvmlReturn_t ret = S().Mutate(ref.view.index,
                                [&](const GpuModel&, SimGpu& gpu) { return DestroyGpuInstance(gpu, gi_id); });
  return ret == NVML_ERROR_NOT_FOUND ? NVML_ERROR_INVALID_ARGUMENT : ret;
}

nvmlReturn_t nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId,
                                       nvmlGpuInstance_t* gpuInstances, unsigned int* count) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstances");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  if (!MigEnabled(ref)) return NVML_ERROR_NOT_SUPPORTED;
  if (!ref.view.model->FindProfile(ProfileId(profileId))) return NVML_ERROR_INVALID_ARGUMENT;
  std::vector<unsigned> ids;
  for (const SimGpuInstance& gi : ref.view.gpu->gpu_instances) {
    if (gi.profile_id == profileId) ids.push_back(gi.id);
  }
  if (*count < ids.size()) {
    *count = static_cast<unsigned>(ids.size());
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (!gpuInstances && !ids.empty()) return NVML_ERROR_INVALID_ARGUMENT;
  for (size_t i = 0; i < ids.size(); ++i) gpuInstances[i] = GiHandle(ref.view.index, ids[i]);
  *count = static_cast<unsigned>(ids.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id,
                                          nvmlGpuInstance_t* gpuInstance) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstanceById");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!gpuInstance) return NVML_ERROR_INVALID_ARGUMENT;
  if (!MigEnabled(ref)) return NVML_ERROR_NOT_SUPPORTED;
  if (!FindGpuInstance(*ref.view.gpu, id)) return NVML_ERROR_NOT_FOUND;
  *gpuInstance = GiHandle(ref.view.index, id);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t* info) {
  MIGSIM_ENTER("nvmlGpuInstanceGetInfo");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!info) return NVML_ERROR_INVALID_ARGUMENT;
  info->device = DeviceHandle(ref.view.index);
  info->id = ref.gi->id;
  info->profileId = ref.gi->profile_id;
  info->placement = {ref.gi->start, ref.gi->size};
  return NVML_SUCCESS;
}

// ---- Compute instance profiles
// ---------------------------------------------------------------------------------

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gpuInstance, unsigned int profile,
                                                          unsigned int engProfile,
                                                          nvmlComputeInstanceProfileInfo_t* info) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstanceProfileInfo");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!info || engProfile != NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED) return NVML_ERROR_INVALID_ARGUMENT;
  const CiProfile* ci = nullptr;
  MIGSIM_TRY(FindCiProfile(*ref.view.model, *ref.gi, profile, &ci));
  *info = {};
  FillCiProfile(*ref.gi_profile, *ci, info);
  return NVML_SUCCESS;
}

MIGSIM_EXPORT nvmlReturn_t nvmlGpuInstanceGetComputeInstanceProfileInfoV(
    nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,
    nvmlComputeInstanceProfileInfo_v2_t* info) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstanceProfileInfoV");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!info || engProfile != NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED) return NVML_ERROR_INVALID_ARGUMENT;
  if (info->version != nvmlComputeInstanceProfileInfo_v2 && info->version != 0) {
    return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  }
  const CiProfile* ci = nullptr;
  MIGSIM_TRY(FindCiProfile(*ref.view.model, *ref.gi, profile, &ci));
  *info = {};
  info->version = nvmlComputeInstanceProfileInfo_v2;
  FillCiProfile(*ref.gi_profile, *ci, info);
  CopyTruncated("MIG " + ci->name, info->name, sizeof info->name);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceRemainingCapacity(nvmlGpuInstance_t gpuInstance,
                                                                unsigned int profileId, unsigned int* count) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstanceRemainingCapacity");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const CiProfile* ci = nullptr;
  MIGSIM_TRY(FindCiProfile(*ref.view.model, *ref.gi, profileId, &ci));
  *count = ComputeInstanceRemainingCapacity(*ref.gi, *ci);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstancePossiblePlacements(nvmlGpuInstance_t gpuInstance,
                                                                 unsigned int profileId,
                                                                 nvmlComputeInstancePlacement_t* placements,
                                                                 unsigned int* count) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstancePossiblePlacements");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const CiProfile* ci = nullptr;
  MIGSIM_TRY(FindCiProfile(*ref.view.model, *ref.gi, profileId, &ci));
  unsigned needed = static_cast<unsigned>(ci->starts.size());
  if (!placements) {
    *count = needed;
    return NVML_SUCCESS;
  }
  if (*count < needed) {
    *count = needed;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  for (unsigned i = 0; i < needed; ++i) placements[i] = {ci->starts[i], ci->compute_slices};
  *count = needed;
  return NVML_SUCCESS;
}

// ---- Compute instances
// -----------------------------------------------------------------------------------------

nvmlReturn_t nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                                  nvmlComputeInstance_t* computeInstance) {
  MIGSIM_ENTER("nvmlGpuInstanceCreateComputeInstance");
  return CreateCi(gpuInstance, profileId, std::nullopt, computeInstance);
}

nvmlReturn_t nvmlGpuInstanceCreateComputeInstanceWithPlacement(
    nvmlGpuInstance_t gpuInstance, unsigned int profileId, const nvmlComputeInstancePlacement_t* placement,
    nvmlComputeInstance_t* computeInstance) {
  MIGSIM_ENTER("nvmlGpuInstanceCreateComputeInstanceWithPlacement");
  if (!placement) return NVML_ERROR_INVALID_ARGUMENT;
  return CreateCi(gpuInstance, profileId, Placement{placement->start, placement->size}, computeInstance);
}

nvmlReturn_t nvmlComputeInstanceDestroy(nvmlComputeInstance_t computeInstance) {
  MIGSIM_ENTER("nvmlComputeInstanceDestroy");
  DeviceRef ref;
  MIGSIM_TRY(ResolveCi(computeInstance, &ref));
  unsigned gi_id = ref.gi->id, ci_id = ref.ci->id;
  nvmlReturn_t ret = S().Mutate(ref.view.index, [&](const GpuModel&, SimGpu& gpu) {
    return DestroyComputeInstance(gpu, gi_id, ci_id);
  });
  return ret == NVML_ERROR_NOT_FOUND ? NVML_ERROR_INVALID_ARGUMENT : ret;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                                nvmlComputeInstance_t* computeInstances,
                                                unsigned int* count) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstances");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  const CiProfile* ci_profile = nullptr;
  MIGSIM_TRY(FindCiProfile(*ref.view.model, *ref.gi, profileId, &ci_profile));
  std::vector<unsigned> ids;
  for (const SimComputeInstance& ci : ref.gi->compute_instances) {
    if (ci.profile_id == profileId) ids.push_back(ci.id);
  }
  if (*count < ids.size()) {
    *count = static_cast<unsigned>(ids.size());
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (!computeInstances && !ids.empty()) return NVML_ERROR_INVALID_ARGUMENT;
  for (size_t i = 0; i < ids.size(); ++i) computeInstances[i] = CiHandle(ref.view.index, ref.gi->id, ids[i]);
  *count = static_cast<unsigned>(ids.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gpuInstance, unsigned int id,
                                                   nvmlComputeInstance_t* computeInstance) {
  MIGSIM_ENTER("nvmlGpuInstanceGetComputeInstanceById");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGi(gpuInstance, &ref));
  if (!computeInstance) return NVML_ERROR_INVALID_ARGUMENT;
  if (!FindComputeInstance(*ref.gi, id)) return NVML_ERROR_NOT_FOUND;
  *computeInstance = CiHandle(ref.view.index, ref.gi->id, id);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance,
                                           nvmlComputeInstanceInfo_t* info) {
  MIGSIM_ENTER("nvmlComputeInstanceGetInfo_v2");
  return ComputeInstanceInfo(computeInstance, info);
}

MIGSIM_EXPORT nvmlReturn_t nvmlComputeInstanceGetInfo(nvmlComputeInstance_t computeInstance,
                                                      nvmlComputeInstanceInfo_t* info) {
  MIGSIM_ENTER("nvmlComputeInstanceGetInfo");
  return ComputeInstanceInfo(computeInstance, info);
}

// ---- MIG devices
// -----------------------------------------------------------------------------------------------

nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int* isMigDevice) {
  MIGSIM_ENTER("nvmlDeviceIsMigDeviceHandle");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!isMigDevice) return NVML_ERROR_INVALID_ARGUMENT;
  *isMigDevice = ref.mig_device() ? 1 : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int* id) {
  MIGSIM_ENTER("nvmlDeviceGetGpuInstanceId");
  DeviceRef ref;
  MIGSIM_TRY(Resolve(device, {HandleKind::kMigDevice}, &ref));
  if (!id) return NVML_ERROR_INVALID_ARGUMENT;
  *id = ref.gi->id;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int* id) {
  MIGSIM_ENTER("nvmlDeviceGetComputeInstanceId");
  DeviceRef ref;
  MIGSIM_TRY(Resolve(device, {HandleKind::kMigDevice}, &ref));
  if (!id) return NVML_ERROR_INVALID_ARGUMENT;
  *id = ref.ci->id;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int* count) {
  MIGSIM_ENTER("nvmlDeviceGetMaxMigDeviceCount");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = MigEnabled(ref) ? ref.view.model->compute_slices : 0;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index,
                                                 nvmlDevice_t* migDevice) {
  MIGSIM_ENTER("nvmlDeviceGetMigDeviceHandleByIndex");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!migDevice) return NVML_ERROR_INVALID_ARGUMENT;
  if (!MigEnabled(ref)) return NVML_ERROR_NOT_SUPPORTED;
  std::vector<std::pair<unsigned, unsigned>> devices = MigDevices(*ref.view.gpu);
  if (index >= devices.size()) return NVML_ERROR_NOT_FOUND;
  *migDevice = MigDeviceHandle(ref.view.index, devices[index].first, devices[index].second);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t* device) {
  MIGSIM_ENTER("nvmlDeviceGetDeviceHandleFromMigDeviceHandle");
  DeviceRef ref;
  MIGSIM_TRY(Resolve(migDevice, {HandleKind::kMigDevice}, &ref));
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  *device = DeviceHandle(ref.view.index);
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int* infoCount,
                                                     nvmlProcessInfo_t* infos) {
  MIGSIM_ENTER("nvmlDeviceGetComputeRunningProcesses_v3");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!infoCount) return NVML_ERROR_INVALID_ARGUMENT;
  std::vector<const SimProcess*> processes = VisibleProcesses(ref);
  if (*infoCount < processes.size()) {
    *infoCount = static_cast<unsigned>(processes.size());
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (!infos && !processes.empty()) return NVML_ERROR_INVALID_ARGUMENT;
  for (size_t i = 0; i < processes.size(); ++i) {
    const SimProcess& p = *processes[i];
    infos[i] = {p.pid, p.used_mib * kMiB, p.gi.value_or(kNoInstance), p.ci.value_or(kNoInstance)};
  }
  *infoCount = static_cast<unsigned>(processes.size());
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetAttributes_v2(nvmlDevice_t device, nvmlDeviceAttributes_t* attributes) {
  MIGSIM_ENTER("nvmlDeviceGetAttributes_v2");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!attributes) return NVML_ERROR_INVALID_ARGUMENT;
  *attributes = {};
  const GpuModel& model = *ref.view.model;
  if (!ref.mig_device()) {
    attributes->multiprocessorCount = model.multiprocessors;
    attributes->gpuInstanceSliceCount = model.compute_slices;
    attributes->computeInstanceSliceCount = model.compute_slices;
    attributes->memorySizeMB = model.memory_mib;
    return NVML_SUCCESS;
  }
  const CiProfile* ci = nullptr;
  MIGSIM_TRY(FindCiProfile(model, *ref.gi, ref.ci->profile_id, &ci));
  const GiProfile& gi = *ref.gi_profile;
  attributes->multiprocessorCount = ci->multiprocessors;
  attributes->sharedCopyEngineCount = gi.engines.copy;
  attributes->sharedDecoderCount = gi.engines.decoder;
  attributes->sharedEncoderCount = gi.engines.encoder;
  attributes->sharedJpegCount = gi.engines.jpeg;
  attributes->sharedOfaCount = gi.engines.ofa;
  attributes->gpuInstanceSliceCount = gi.compute_slices;
  attributes->computeInstanceSliceCount = ci->compute_slices;
  attributes->memorySizeMB = gi.memory_mib;
  return NVML_SUCCESS;
}

// ---- Topology and clocks: what Slurm's gpu/nvml plugin asks of every GPU
// ---------------------------------------------------------

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetCpuAffinity(nvmlDevice_t device, unsigned int cpuSetSize,
                                                    unsigned long* cpuSet) {
  MIGSIM_ENTER("nvmlDeviceGetCpuAffinity");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (cpuSetSize == 0 || !cpuSet) return NVML_ERROR_INVALID_ARGUMENT;
  constexpr unsigned kBits = sizeof(unsigned long) * CHAR_BIT;
  std::fill_n(cpuSet, cpuSetSize, 0ul);
  for (unsigned cpu : OnlineCpus()) {
    if (cpu / kBits < cpuSetSize) cpuSet[cpu / kBits] |= 1ul << (cpu % kBits);
  }
  return NVML_SUCCESS;
}

// The simulated machine has no NVLink (no bridges, no NVSwitch fabric: nvidia-smi would show Fabric N/A), so
// both NvLink queries answer NOT_SUPPORTED for every link, as a GPU without NVLink does.
MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link,
                                                    EnableState* isActive) {
  MIGSIM_ENTER("nvmlDeviceGetNvLinkState");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!isActive || link >= kNvLinkMaxLinks) return NVML_ERROR_INVALID_ARGUMENT;
  return NVML_ERROR_NOT_SUPPORTED;
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkRemotePciInfo_v2(nvmlDevice_t device, unsigned int link,
                                                               nvmlPciInfo_t* pci) {
  MIGSIM_ENTER("nvmlDeviceGetNvLinkRemotePciInfo_v2");
  DeviceRef ref;
  MIGSIM_TRY(ResolveAnyDevice(device, &ref));
  if (!pci || link >= kNvLinkMaxLinks) return NVML_ERROR_INVALID_ARGUMENT;
  return NVML_ERROR_NOT_SUPPORTED;
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetSupportedMemoryClocks(nvmlDevice_t device, unsigned int* count,
                                                              unsigned int* clocksMHz) {
  MIGSIM_ENTER("nvmlDeviceGetSupportedMemoryClocks");
  const ModelClocks* clocks = nullptr;
  MIGSIM_TRY(ClocksOf(device, &clocks));
  return CopyClocks({clocks->memory_mhz}, count, clocksMHz);
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetSupportedGraphicsClocks(nvmlDevice_t device,
                                                                unsigned int memoryClockMHz,
                                                                unsigned int* count,
                                                                unsigned int* clocksMHz) {
  MIGSIM_ENTER("nvmlDeviceGetSupportedGraphicsClocks");
  const ModelClocks* clocks = nullptr;
  MIGSIM_TRY(ClocksOf(device, &clocks));
  if (memoryClockMHz != clocks->memory_mhz) return NVML_ERROR_NOT_FOUND;
  return CopyClocks(GraphicsClocks(*clocks), count, clocksMHz);
}

// Applications clocks are never changed on a simulated GPU: they read as the defaults, a reset or a set to
// the defaults succeeds (as root) and changes nothing, and a set to any other supported pair is NOT_SUPPORTED
// (nvml.h's answer for a device that cannot perform it; NVML 13 deprecates applications clocks).

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceGetApplicationsClock(nvmlDevice_t device, ClockType clockType,
                                                          unsigned int* clockMHz) {
  MIGSIM_ENTER("nvmlDeviceGetApplicationsClock");
  const ModelClocks* clocks = nullptr;
  MIGSIM_TRY(ClocksOf(device, &clocks));
  if (!clockMHz || clockType < 0 || clockType >= kClockTypeCount) return NVML_ERROR_INVALID_ARGUMENT;
  switch (clockType) {
    case kClockGraphics:
    case kClockSm:
      *clockMHz = clocks->default_graphics_mhz;
      return NVML_SUCCESS;
    case kClockMem:
      *clockMHz = clocks->memory_mhz;
      return NVML_SUCCESS;
    default:
      return NVML_ERROR_NOT_SUPPORTED;
  }
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceSetApplicationsClocks(nvmlDevice_t device, unsigned int memClockMHz,
                                                           unsigned int graphicsClockMHz) {
  MIGSIM_ENTER("nvmlDeviceSetApplicationsClocks");
  MIGSIM_TRY(CheckMayChangeSettings(device));
  const ModelClocks* clocks = nullptr;
  MIGSIM_TRY(ClocksOf(device, &clocks));
  std::vector<unsigned> graphics = GraphicsClocks(*clocks);
  if (memClockMHz != clocks->memory_mhz || std::ranges::find(graphics, graphicsClockMHz) == graphics.end()) {
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  return graphicsClockMHz == clocks->default_graphics_mhz ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

MIGSIM_EXPORT nvmlReturn_t nvmlDeviceResetApplicationsClocks(nvmlDevice_t device) {
  MIGSIM_ENTER("nvmlDeviceResetApplicationsClocks");
  MIGSIM_TRY(CheckMayChangeSettings(device));
  const ModelClocks* clocks = nullptr;
  return ClocksOf(device, &clocks);
}

// ---- GPM (Hopper and later) -----------------------------------------------------------------------------------
// The simulator's activity model: each process on the GPU (MIG off) or on a GPU instance keeps half of its SMs
// busy, up to all of them; occupancy is 0.6 and DRAM bandwidth 0.4 of that. A sample records the time and the
// activity then; metrics between two samples are the second one's (the work is taken as steady since the first).

}  // extern "C"

struct nvmlGpmSample_st {
  bool taken = false;
  unsigned gpu = 0;
  long long gi = -1;  ///< -1: the whole GPU.
  double activity = 0;
  std::chrono::steady_clock::time_point at;
};

namespace {

double Activity(const SimGpu& gpu, std::optional<unsigned> gi) {
  unsigned n = 0;
  for (const SimProcess& p : gpu.processes)
    if (!gi || p.gi == gi) ++n;
  return std::min(1.0, 0.5 * n);
}

nvmlReturn_t TakeSample(nvmlDevice_t device, std::optional<unsigned> gi, nvmlGpmSample_t sample) {
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!sample) return NVML_ERROR_INVALID_ARGUMENT;
  if (ref.view.model->architecture == migctl::Architecture::kAmpere) return NVML_ERROR_NOT_SUPPORTED;
  if (gi && (ref.view.gpu->mig_current != NVML_DEVICE_MIG_ENABLE || !FindGpuInstance(*ref.view.gpu, *gi)))
    return NVML_ERROR_INVALID_ARGUMENT;
  sample->taken = true;
  sample->gpu = ref.handle->gpu;
  sample->gi = gi ? static_cast<long long>(*gi) : -1;
  sample->activity = Activity(*ref.view.gpu, gi);
  sample->at = std::chrono::steady_clock::now();
  return NVML_SUCCESS;
}

}  // namespace

extern "C" {

nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device, nvmlGpmSupport_t* gpmSupport) {
  MIGSIM_ENTER("nvmlGpmQueryDeviceSupport");
  DeviceRef ref;
  MIGSIM_TRY(ResolveGpu(device, &ref));
  if (!gpmSupport) return NVML_ERROR_INVALID_ARGUMENT;
  if (gpmSupport->version != NVML_GPM_SUPPORT_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  gpmSupport->isSupportedDevice = ref.view.model->architecture != migctl::Architecture::kAmpere;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t* gpmSample) {
  if (!gpmSample) return NVML_ERROR_INVALID_ARGUMENT;
  *gpmSample = new nvmlGpmSample_st();
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t gpmSample) {
  if (!gpmSample) return NVML_ERROR_INVALID_ARGUMENT;
  delete gpmSample;
  return NVML_SUCCESS;
}

nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t gpmSample) {
  MIGSIM_ENTER("nvmlGpmSampleGet");
  return TakeSample(device, std::nullopt, gpmSample);
}

nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample) {
  MIGSIM_ENTER("nvmlGpmMigSampleGet");
  return TakeSample(device, gpuInstanceId, gpmSample);
}

nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t* metricsGet) {
  if (!metricsGet) return NVML_ERROR_INVALID_ARGUMENT;
  if (metricsGet->version != NVML_GPM_METRICS_GET_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  const nvmlGpmSample_st* a = metricsGet->sample1;
  const nvmlGpmSample_st* b = metricsGet->sample2;
  if (!a || !b || !a->taken || !b->taken || a->gpu != b->gpu || a->gi != b->gi || !(a->at < b->at) ||
      metricsGet->numMetrics > NVML_GPM_METRIC_MAX)
    return NVML_ERROR_INVALID_ARGUMENT;
  for (unsigned i = 0; i < metricsGet->numMetrics; ++i) {
    nvmlGpmMetric_t& m = metricsGet->metrics[i];
    m.metricInfo = {nullptr, nullptr, nullptr};
    m.nvmlReturn = NVML_SUCCESS;
    switch (m.metricId) {
      case NVML_GPM_METRIC_GRAPHICS_UTIL:
        m.value = b->activity > 0 ? 100.0 : 0.0;
        break;
      case NVML_GPM_METRIC_SM_UTIL:
        m.value = 100.0 * b->activity;
        break;
      case NVML_GPM_METRIC_SM_OCCUPANCY:
        m.value = 60.0 * b->activity;
        break;
      case NVML_GPM_METRIC_DRAM_BW_UTIL:
        m.value = 40.0 * b->activity;
        break;
      default:
        m.value = 0;
        m.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    }
  }
  return NVML_SUCCESS;
}

}  // extern "C"
