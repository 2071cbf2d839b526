#include "nvml/geometry.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "catalog/catalog.h"

namespace migctl::nvml {
namespace {

struct IndexNaming {
  unsigned slices;
  const char* suffix;
};

/// G and suffix per NVML_GPU_INSTANCE_PROFILE_* index, as go-nvlib's mig_profile.go derives them.
std::optional<IndexNaming> NamingOf(unsigned index) {
  switch (index) {
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE:
      return IndexNaming{1, ""};
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE:
      return IndexNaming{2, ""};
    case NVML_GPU_INSTANCE_PROFILE_3_SLICE:
      return IndexNaming{3, ""};
    case NVML_GPU_INSTANCE_PROFILE_4_SLICE:
      return IndexNaming{4, ""};
    case NVML_GPU_INSTANCE_PROFILE_7_SLICE:
      return IndexNaming{7, ""};
    case NVML_GPU_INSTANCE_PROFILE_8_SLICE:
      return IndexNaming{8, ""};
    case NVML_GPU_INSTANCE_PROFILE_6_SLICE:
      return IndexNaming{6, ""};
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1:
      return IndexNaming{1, "+me"};
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1:
      return IndexNaming{2, "+me"};
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2:
      return IndexNaming{1, ""};
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX:
      return IndexNaming{1, "+gfx"};
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_GFX:
      return IndexNaming{2, "+gfx"};
    case NVML_GPU_INSTANCE_PROFILE_4_SLICE_GFX:
      return IndexNaming{4, "+gfx"};
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_NO_ME:
      return IndexNaming{1, "-me"};
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_NO_ME:
      return IndexNaming{2, "-me"};
    case NVML_GPU_INSTANCE_PROFILE_1_SLICE_ALL_ME:
      return IndexNaming{1, "+me.all"};
    case NVML_GPU_INSTANCE_PROFILE_2_SLICE_ALL_ME:
      return IndexNaming{2, "+me.all"};
    default:
      return std::nullopt;
  }
}

/// `Nc.<gi name>` for a CI narrower than its GI, the GI's name for the full-width CI (nvidia-smi's names).
std::string CiProfileName(const CiProfileInfo& ci, const GiProfile& gi) {
  if (ci.slices >= gi.compute_slices) return gi.name;
  return std::to_string(ci.slices) + "c." + gi.name;
}

CiProfile ToCatalog(const CiProfileInfo& ci, const GiProfile& gi, bool is_default) {
  CiProfile profile{.id = ci.id,
                    .name = CiProfileName(ci, gi),
                    .compute_slices = ci.slices,
                    .multiprocessors = ci.multiprocessors,
                    .instance_limit = ci.instance_limit,
                    .is_default = is_default};
  for (const Placement& placement : ci.placements) profile.starts.push_back(placement.start);
  std::sort(profile.starts.begin(), profile.starts.end());
  return profile;
}

/// CI profiles per GI profile id, read through one existing GI of each profile (MIG on only).
Result<std::map<unsigned, std::vector<CiProfileInfo>>> ReadCiProfiles(
    const Device& device, std::span<const GiProfileInfo> profiles) {
  std::map<unsigned, std::vector<CiProfileInfo>> by_gi_profile;
  MIGCTL_ASSIGN_OR_RETURN(MigMode mode, device.GetMigMode());
  if (!mode.current) return by_gi_profile;
  MIGCTL_ASSIGN_OR_RETURN(std::vector<GpuInstance> instances, device.GpuInstances(profiles));
  for (const GpuInstance& instance : instances) {
    const unsigned profile = instance.info().profile.value();
    if (by_gi_profile.contains(profile)) continue;
    MIGCTL_ASSIGN_OR_RETURN(by_gi_profile[profile], instance.CiProfiles());
  }
  return by_gi_profile;
}

/// The same profiles (by id, in order) with the same placements: the live GPU behaves as the catalog model
/// says.
bool SameGeometry(const GpuModel& a, const GpuModel& b) {
  return std::equal(a.gi_profiles.begin(), a.gi_profiles.end(), b.gi_profiles.begin(), b.gi_profiles.end(),
                    [](const GiProfile& x, const GiProfile& y) {
                      return x.id == y.id && x.placement_size == y.placement_size && x.starts == y.starts;
                    });
}

}  // namespace

std::string DeriveGiProfileName(unsigned nvml_index, unsigned long long profile_memory_mib,
                                unsigned long long device_memory_mib) {
  std::optional<IndexNaming> naming = NamingOf(nvml_index);
  if (!naming || device_memory_mib == 0) return "";
  const double eighths = std::ceil(static_cast<double>(profile_memory_mib) / device_memory_mib * 8.0);
  const double device_gib = std::ceil(static_cast<double>(device_memory_mib) / 1024.0);
  const long gb = std::lround(eighths / 8.0 * device_gib);
  return std::to_string(naming->slices) + "g." + std::to_string(gb) + "gb" + naming->suffix;
}

Result<GpuModel> ReadGeometry(const Device& device) {
  GpuModel model;
  MIGCTL_ASSIGN_OR_RETURN(model.product_name, device.Name());
  MIGCTL_ASSIGN_OR_RETURN(PciInfo pci, device.Pci());
  model.pci_device_ids = {pci.device_id};
  MIGCTL_ASSIGN_OR_RETURN(MemoryInfo memory, device.Memory());
  model.memory_mib = memory.total_mib;
  model.notes = "read from the device through NVML by migctl";
  MIGCTL_ASSIGN_OR_RETURN(std::optional<Architecture> architecture, device.MigArchitecture());
  if (architecture) {
    model.architecture = *architecture;
  } else {
    model.architecture = Architecture::kHopper;
    model.notes +=
        "; NVML reports no MIG architecture, so Hopper behaviour (MIG mode switches without a reset) is "
        "assumed";
  }

  MIGCTL_ASSIGN_OR_RETURN(std::vector<GiProfileInfo> profiles, device.GiProfiles());
  if (profiles.empty()) {
    return MakeError(ErrorCode::kUnsupported, "GPU " + std::to_string(device.index().value()) + " (" +
                                                  model.product_name + ") offers no MIG profiles");
  }
  MIGCTL_ASSIGN_OR_RETURN(auto ci_profiles, ReadCiProfiles(device, profiles));

  model.memory_slots = 0;
  model.compute_slices = 0;
  for (const GiProfileInfo& info : profiles) {
    GiProfile profile{.id = info.id,
                      .nvml_index = info.nvml_index,
                      .name = info.name.empty()
                                  ? DeriveGiProfileName(info.nvml_index, info.memory_mib, memory.total_mib)
                                  : info.name,
                      .compute_slices = info.slices,
                      .memory_mib = static_cast<unsigned>(info.memory_mib),
                      .multiprocessors = info.multiprocessors,
                      .engines = info.engines,
                      .instance_limit = info.instance_limit};
    profile.media = MediaKindFromName(profile.name);
    MIGCTL_ASSIGN_OR_RETURN(std::vector<Placement> placements, device.GiPlacements(info.id));
    for (const Placement& placement : placements) {
      profile.placement_size = placement.size;
      profile.starts.push_back(placement.start);
      model.memory_slots = std::max(model.memory_slots, placement.start + placement.size);
    }
    std::sort(profile.starts.begin(), profile.starts.end());
    if (auto found = ci_profiles.find(info.id.value()); found != ci_profiles.end()) {
      const CiProfileInfo* default_ci = DefaultCiProfile(found->second);
      for (const CiProfileInfo& ci : found->second) {
        profile.ci_profiles.push_back(ToCatalog(ci, profile, &ci == default_ci));
      }
    }
    model.compute_slices = std::max(model.compute_slices, info.slices);
    model.multiprocessors = std::max(model.multiprocessors, info.multiprocessors);
    model.gi_profiles.push_back(std::move(profile));
  }
  const GpuModel* known = IdentifyModel(model.product_name, (pci.device_id << 16) | pci.vendor_id);
  if (known != nullptr && SameGeometry(*known, model)) model.key = known->key;
  return model;
}

}  // namespace migctl::nvml
