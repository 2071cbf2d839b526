// Strong ID types. A GPU index is not a GI id is not a CI id is not a profile id; the compiler keeps them
// apart.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace migctl {

template <typename Tag, typename Rep>
class StrongId {
 public:
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(std::move(value)) {}
  constexpr const Rep& value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep value_{};
};

/// Index of a physical GPU as NVML enumerates it (`nvmlDeviceGetHandleByIndex_v2`).
using GpuIndex = StrongId<struct GpuIndexTag, unsigned>;
/// `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
using GpuUuid = StrongId<struct GpuUuidTag, std::string>;
/// GPU instance id: assigned by the driver, unique per GPU only, opaque (not a function of placement).
using GiId = StrongId<struct GiIdTag, unsigned>;
/// Compute instance id: unique per GPU instance only.
using CiId = StrongId<struct CiIdTag, unsigned>;
/// `MIG-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, stable for the life of a MIG device.
using MigUuid = StrongId<struct MigUuidTag, std::string>;
/// NVML GPU-instance profile ID (19 = 1g on 8-slot parts), not the NVML_GPU_INSTANCE_PROFILE_* index.
using ProfileId = StrongId<struct ProfileIdTag, unsigned>;
/// NVML compute-instance profile ID (equals the NVML_COMPUTE_INSTANCE_PROFILE_* index).
using CiProfileId = StrongId<struct CiProfileIdTag, unsigned>;

}  // namespace migctl

template <typename Tag, typename Rep>
struct std::hash<migctl::StrongId<Tag, Rep>> {
  size_t operator()(const migctl::StrongId<Tag, Rep>& id) const { return std::hash<Rep>()(id.value()); }
};
