// The C++ face of NVML: GPUs, MIG mode, GPU instances, compute instances and MIG devices, with strong ids and
// Result. Every call goes straight to the library (nothing is cached except what NVML says is immutable: a
// GI's or CI's id, profile and placement). An entry point the library lacks makes the call that needs it fail
// with kUnsupported naming the function (NvmlLibrary::Missing); NVML errors are mapped by NvmlError and
// prefixed with the GPU ("GPU 0: ...") and, inside instances, the GI/CI id.
//
// Ownership: Nvml owns the library; Device, GpuInstance and ComputeInstance are cheap copyable handles that
// point into it and must not outlive it. Thread-safety: that of the NVML library (see NvmlLibrary).
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"
#include "common/result.h"
#include "nvml/library.h"

namespace migctl::nvml {

/// A range on a placement axis: memory slots for a GI, compute slices of its GI for a CI.
struct Placement {
  unsigned start = 0;
  unsigned size = 0;
  bool operator==(const Placement&) const = default;
};

struct MemoryInfo {
  unsigned long long total_mib = 0;
  unsigned long long used_mib = 0;
  bool operator==(const MemoryInfo&) const = default;
};

struct PciInfo {
  std::string bus_id;                ///< `00000000:19:00.0`.
  unsigned device_id = 0;            ///< PCI device id, e.g. 0x2330 (upper 16 bits of NVML's pciDeviceId).
  unsigned vendor_id = 0;            ///< 0x10DE for NVIDIA.
  unsigned subsystem_device_id = 0;  ///< Upper 16 bits of NVML's pciSubSystemId.
  unsigned subsystem_vendor_id = 0;  ///< Lower 16 bits.
};

struct MigMode {
  bool current = false;  ///< MIG is enabled now.
  bool pending =
      false;  ///< MIG will be enabled after the next activation (reset, or idle on Hopper and later).
  bool operator==(const MigMode&) const = default;
};

/// What a successful nvmlDeviceSetMigMode says about when the new mode takes effect.
enum class MigModeActivation {
  kActive,        ///< Switched now.
  kPendingReset,  ///< RESET_REQUIRED: pending until a GPU reset (or VM reboot in passthrough).
  kPendingInUse,  ///< IN_USE: the GPU could not be unbound because it is busy; pending until it is idle and
                  ///< reset.
};

/// A GPU-instance profile as the device answers it.
struct GiProfileInfo {
  unsigned nvml_index = 0;  ///< The NVML_GPU_INSTANCE_PROFILE_* index that was asked.
  ProfileId id;             ///< The profile ID it answered (what create calls take).
  std::string name;         ///< Without the `MIG ` prefix (`3g.40gb`); empty when only the v1 call answered.
  unsigned slices = 0;      ///< Compute slices.
  unsigned instance_limit = 0;
  unsigned multiprocessors = 0;
  Engines engines;
  unsigned long long memory_mib = 0;
};

/// A compute-instance profile inside one GPU instance.
struct CiProfileInfo {
  CiProfileId id;  ///< Equals the NVML_COMPUTE_INSTANCE_PROFILE_* index.
  unsigned slices = 0;
  unsigned instance_limit = 0;
  unsigned multiprocessors = 0;
  Engines shared_engines;
  std::vector<Placement> placements;  ///< On the GI's compute-slice axis.
};

/// The CI profile `nvidia-smi mig -C` would create: among the widest profiles (most compute slices), the
/// highest id up to NVML_COMPUTE_INSTANCE_PROFILE_1_SLICE_REV1. That matches every observation (1g → 0, 2g →
/// 1, 3g → 2, 4g → 3, 7g → 4, double-memory 1g → 7) and keeps later multi-GPU-optimized profiles out. Null
/// when `profiles` is empty.
const CiProfileInfo* DefaultCiProfile(std::span<const CiProfileInfo> profiles);

struct GpuInstanceInfo {
  GiId id;
  ProfileId profile;
  Placement placement;
};

struct ComputeInstanceInfo {
  CiId id;
  CiProfileId profile;
  Placement placement;
};

struct ProcessInfo {
  unsigned pid = 0;
  std::string name;  ///< Empty when NVML cannot name it (process gone, no permission).
  std::optional<unsigned long long> used_mib;  ///< nullopt when NVML does not know (e.g. without privileges).
};

/// `pid 12 (python), pid 13`: processes as messages name them.
std::string ProcessList(const std::vector<ProcessInfo>& processes);

/// What nvmlDeviceGetAttributes_v2 answers for a MIG device.
struct MigDeviceAttributes {
  unsigned multiprocessors = 0;
  Engines shared_engines;
  unsigned gi_slices = 0;
  unsigned ci_slices = 0;
  unsigned long long memory_mib = 0;
};

/// One MIG device (one CI of one GI) as the MIG handle answers it.
struct MigDeviceInfo {
  GiId gi;
  CiId ci;
  MigUuid uuid;
  MemoryInfo memory;
  MigDeviceAttributes attributes;
  std::vector<ProcessInfo> processes;  ///< Compute processes running on this MIG device.
};

/// A GPM sample (GPU Performance Monitoring, Hopper and later) of a whole GPU or of one GPU instance: NVML's
/// buffer, freed with the object. Move-only.
class GpmSample {
 public:
  GpmSample(GpmSample&& other) noexcept : library_(other.library_), sample_(other.sample_) { other.sample_ = nullptr; }
  GpmSample& operator=(GpmSample&& other) noexcept;
  GpmSample(const GpmSample&) = delete;
  GpmSample& operator=(const GpmSample&) = delete;
  ~GpmSample();

 private:
  friend class Device;
  friend Result<struct GpmMetrics> GpmMetricsBetween(const GpmSample& first, const GpmSample& second);
  GpmSample(const NvmlLibrary* library, nvmlGpmSample_t sample) : library_(library), sample_(sample) {}
  const NvmlLibrary* library_;
  nvmlGpmSample_t sample_;
};

/// What GPM measured between two samples of the same GPU or GPU instance, as fractions 0-1; nullopt where
/// NVML does not give the metric.
struct GpmMetrics {
  std::optional<double> sm_active;     ///< NVML_GPM_METRIC_SM_UTIL: the share of SMs that were busy.
  std::optional<double> sm_occupancy;  ///< NVML_GPM_METRIC_SM_OCCUPANCY: warps active against the maximum.
  std::optional<double> dram_active;   ///< NVML_GPM_METRIC_DRAM_BW_UTIL: DRAM bandwidth used against the peak.
};

/// The metrics between `first` and `second` (taken later, of the same GPU or GPU instance).
Result<GpmMetrics> GpmMetricsBetween(const GpmSample& first, const GpmSample& second);

/// A compute instance: its handle and its immutable info.
class ComputeInstance {
 public:
  const ComputeInstanceInfo& info() const { return info_; }
  /// Destroys it. kBusy when processes run on it; the handle is invalid afterwards.
  Status Destroy() const;

 private:
  friend class GpuInstance;
  ComputeInstance(const NvmlLibrary* library, nvmlComputeInstance_t handle, ComputeInstanceInfo info,
                  std::string where)
      : library_(library), handle_(handle), info_(info), where_(std::move(where)) {}
  const NvmlLibrary* library_;
  nvmlComputeInstance_t handle_;
  ComputeInstanceInfo info_;
  std::string where_;  ///< `GPU 0 GI 3 CI 0: `
};

/// A GPU instance: its handle and its immutable info.
class GpuInstance {
 public:
  const GpuInstanceInfo& info() const { return info_; }

  /// CI profiles this GI offers (shared engine profile), by id; NOT_SUPPORTED ids are skipped.
  Result<std::vector<CiProfileInfo>> CiProfiles() const;
  /// Every CI of this GI, ordered by CI profile id and then as NVML lists them.
  Result<std::vector<ComputeInstance>> ComputeInstances() const;
  /// kNotFound when there is no such CI.
  Result<ComputeInstance> ComputeInstanceById(CiId id) const;
  /// Creates a CI of `profile` where the driver chooses. kInfeasible when it does not fit.
  Result<ComputeInstance> CreateComputeInstance(CiProfileId profile) const;
  /// Creates a CI of `profile` at `placement` on the GI's compute-slice axis. kInfeasible when it overlaps.
  Result<ComputeInstance> CreateComputeInstance(CiProfileId profile, Placement placement) const;
  /// Creates a CI of DefaultCiProfile(CiProfiles()). kUnsupported when the GI offers no CI profile.
  Result<ComputeInstance> CreateDefaultComputeInstance() const;
  /// Destroys this GI. kBusy when it still has CIs or processes; the handle is invalid afterwards.
  Status Destroy() const;

 private:
  friend class Device;
  GpuInstance(const NvmlLibrary* library, nvmlGpuInstance_t handle, GpuInstanceInfo info, std::string where)
      : library_(library), handle_(handle), info_(info), where_(std::move(where)) {}
  Result<ComputeInstance> Wrap(nvmlComputeInstance_t handle) const;
  const NvmlLibrary* library_;
  nvmlGpuInstance_t handle_;
  GpuInstanceInfo info_;
  std::string where_;  ///< `GPU 0 GI 3: `
};

/// A physical GPU.
class Device {
 public:
  GpuIndex index() const { return index_; }

  Result<std::string> Name() const;
  Result<GpuUuid> Uuid() const;
  Result<PciInfo> Pci() const;
  Result<unsigned> MinorNumber() const;
  /// nullopt when NVML does not report the architecture or it is not one with MIG (Ampere, Hopper,
  /// Blackwell).
  Result<std::optional<Architecture>> MigArchitecture() const;
  Result<MemoryInfo> Memory() const;

  /// kUnsupported when the GPU has no MIG.
  Result<MigMode> GetMigMode() const;
  /// Requests MIG on or off (needs root). The call succeeding does not mean the mode is active: see the
  /// result. Any other activation status is returned as its mapped error.
  Result<MigModeActivation> SetMigMode(bool enabled) const;

  /// Every GI profile the device supports, by NVML_GPU_INSTANCE_PROFILE_* index from 0 until INVALID_ARGUMENT
  /// (at most MIGCTL_NVML_GPU_INSTANCE_PROFILE_SCAN_LIMIT). Per index the V call (with the name) is tried
  /// first and the v1 call when V fails (V may answer NOT_SUPPORTED while MIG is off); NOT_SUPPORTED indexes
  /// are skipped. Empty on a GPU without MIG.
  Result<std::vector<GiProfileInfo>> GiProfiles() const;
  /// Possible placements of a profile (answered whether MIG is on or not), ascending as NVML gives them.
  Result<std::vector<Placement>> GiPlacements(ProfileId profile) const;
  /// How many more GIs of `profile` fit now; nullopt ("unknown") when NVML answers NOT_SUPPORTED (MIG is
  /// off).
  Result<std::optional<unsigned>> GiRemainingCapacity(ProfileId profile) const;

  /// Every GI on the GPU, ordered by the profiles' index and then as NVML lists them. kUnsupported when MIG
  /// is off.
  Result<std::vector<GpuInstance>> GpuInstances() const;
  /// The same for callers that already hold GiProfiles().
  Result<std::vector<GpuInstance>> GpuInstances(std::span<const GiProfileInfo> profiles) const;
  /// kNotFound when there is no GI with that id.
  Result<GpuInstance> GpuInstanceById(GiId id) const;
  /// Creates a GI at `placement`. kInfeasible when it overlaps or exceeds the GPU, kInvalidInput for a
  /// placement the profile does not allow.
  Result<GpuInstance> CreateGpuInstance(ProfileId profile, Placement placement) const;
  /// Creates a GI where the driver chooses (the result depends on creation order). kInfeasible when none
  /// fits.
  Result<GpuInstance> CreateGpuInstance(ProfileId profile) const;

  /// Every MIG device (one per CI), with its processes; empty when MIG is off. Indexes NVML answers NOT_FOUND
  /// for are skipped.
  Result<std::vector<MigDeviceInfo>> MigDevices() const;
  /// Compute processes on the whole GPU (the useful view when MIG is off).
  Result<std::vector<ProcessInfo>> ComputeProcesses() const;

  /// Whether the GPU answers GPM queries (Hopper and later, with a driver that has GPM). False, not an error,
  /// when the driver lacks the GPM entry points.
  Result<bool> GpmSupported() const;
  /// A GPM sample of the whole GPU, or of GPU instance `gi` (MIG on). kUnsupported where GPM is not.
  Result<GpmSample> TakeGpmSample(std::optional<GiId> gi) const;

  /// Resets the GPU; only the simulator offers it (migsimDeviceReset), anything else answers kUnsupported.
  Status Reset() const;

 private:
  friend class Nvml;
  Device(const NvmlLibrary* library, nvmlDevice_t handle, GpuIndex index);
  Result<GpuInstance> Wrap(nvmlGpuInstance_t handle) const;
  const NvmlLibrary* library_;
  nvmlDevice_t handle_;
  GpuIndex index_;
  std::string where_;  ///< `GPU 0: `
};

/// An open NVML session: owns the library; hands out Devices.
class Nvml {
 public:
  /// NvmlLibrary::Open(path) wrapped; see there for the errors.
  static Result<Nvml> Open(const std::string& path = NvmlLibrary::kDefaultPath);
  explicit Nvml(std::unique_ptr<NvmlLibrary> library) : library_(std::move(library)) {}

  Result<unsigned> Count() const;
  /// kNotFound when no GPU has that index.
  Result<class Device> Device(GpuIndex index) const;
  /// Every GPU, by index.
  Result<std::vector<class Device>> Devices() const;
  Result<std::string> DriverVersion() const;
  Result<std::string> NvmlVersion() const;
  const NvmlLibrary& library() const { return *library_; }

 private:
  std::unique_ptr<NvmlLibrary> library_;
};

}  // namespace migctl::nvml
