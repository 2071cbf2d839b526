// A GPU model's MIG geometry and profiles: the facts every other part computes with.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"

namespace migctl {

/// Media-engine flavour of a GI profile; drives the exclusivity rules in layout/.
enum class MediaKind {
  kDefault,  ///< Plain profile (no suffix).
  kMe,       ///< `+me`: takes the GPU's media extensions; at most one such instance per GPU.
  kAllMe,    ///< `+me.all`: all media engines; excludes every other profile except `-me` ones.
  kNoMe,     ///< `-me`: no media engines.
};

struct Engines {
  unsigned copy = 0, decoder = 0, encoder = 0, jpeg = 0, ofa = 0;
  bool operator==(const Engines&) const = default;
};

/// A compute-instance profile available inside one GI profile.
struct CiProfile {
  CiProfileId id;                ///< NVML_COMPUTE_INSTANCE_PROFILE_* value (ID equals index for CIs).
  std::string name;              ///< `1c.3g.40gb`, or the GI's name for the full-width CI.
  unsigned compute_slices = 0;   ///< sliceCount.
  unsigned multiprocessors = 0;  ///< SMs.
  unsigned instance_limit = 0;   ///< instanceCount inside one GI.
  /// Possible placements' starts on the GI's compute-slice axis (size = compute_slices).
  std::vector<unsigned> starts;
  bool is_default = false;  ///< What `nvidia-smi mig -C` creates (the `*` in `-lcip`).
};

/// Another name that some driver gives a GI profile of this very model (memory-derived names drift between
/// driver versions: an A100 80GB's 7g.80gb was once reported as 7g.79gb). Only names observed on this model.
struct ProfileAlias {
  std::string name;    ///< Without `MIG `, same slices and attributes as the profile: `7g.79gb`.
  std::string source;  ///< Where it was seen, one line: `gpu-operator #351 (A100-SXM4-80GB, 2022 driver)`.
};

/// A GPU-instance profile of one model.
struct GiProfile {
  ProfileId id;                 ///< NVML profile ID (`info.id`, what nvidia-smi shows and create calls take).
  unsigned nvml_index = 0;      ///< NVML_GPU_INSTANCE_PROFILE_* index that answers with this profile.
  std::string name;             ///< Short name without the `MIG ` prefix: `3g.40gb`, `1g.10gb+me`.
  unsigned compute_slices = 0;  ///< sliceCount (the `3` of 3g).
  unsigned memory_mib = 0;      ///< memorySizeMB (MiB in practice).
  unsigned multiprocessors = 0;  ///< multiprocessorCount.
  Engines engines;
  unsigned instance_limit = 0;   ///< instanceCount.
  unsigned placement_size = 0;   ///< Memory slots occupied (4 for 3g on 8-slot parts).
  std::vector<unsigned> starts;  ///< Possible placement starts (`{0,4}` for 3g), ascending.
  MediaKind media = MediaKind::kDefault;
  std::vector<CiProfile> ci_profiles;  ///< CI profiles offered inside a GI of this profile, by CI profile id.
  /// Which of these facts are inferred or unconfirmed (from the data file); empty when all were observed.
  std::string uncertain;
  std::vector<ProfileAlias> aliases;  ///< Names other drivers give this profile; usually none.

  /// The CI profile marked is_default, or nullptr when there is none (never for a built-in model).
  const CiProfile* DefaultCiProfile() const;
};

enum class Architecture { kAmpere, kHopper, kBlackwell };

struct GpuModel {
  std::string key;           ///< Stable CLI/JSON name: `h100-80gb`.
  std::string product_name;  ///< What nvmlDeviceGetName answers: `NVIDIA H100 80GB HBM3`.
  /// PCI device ids (upper 16 bits of NVML's pciDeviceId), e.g. 0x2330.
  std::vector<unsigned> pci_device_ids;
  Architecture architecture = Architecture::kHopper;
  unsigned memory_slots = 8;           ///< Length of the placement axis.
  unsigned compute_slices = 7;         ///< Sum of GI compute slices may not exceed this.
  unsigned multiprocessors = 0;        ///< Whole-GPU SM count.
  unsigned long long memory_mib = 0;   ///< Whole-GPU memory as nvidia-smi reports it.
  std::string notes;                   ///< Provenance and the facts that are uncertain.
  std::vector<GiProfile> gi_profiles;  ///< In NVML index order.

  /// Ampere and A30 activate a MIG mode change only at a GPU reset; Hopper and later switch when idle.
  bool ModeChangeNeedsReset() const { return architecture == Architecture::kAmpere; }

  /// The profile with NVML profile ID `id`, or nullptr.
  const GiProfile* FindProfile(ProfileId id) const;
  /// Returns nullptr when nothing matches. Accepts `3g.40gb`, `MIG 3g.40gb`, or a numeric profile ID (`9`).
  /// Case-insensitive.
  const GiProfile* FindProfile(std::string_view name_or_id) const;
  /// The profile that has `name` (case-insensitive, no `MIG ` prefix) among its aliases, with that alias; a
  /// pair of nullptrs when none has. FindProfile never matches an alias: callers that accept one say so.
  std::pair<const GiProfile*, const ProfileAlias*> FindAlias(std::string_view name) const;
};

/// `ampere`, `hopper` or `blackwell`, as in data/gpus/*.yaml and `--json` output.
const char* ArchitectureName(Architecture a);

/// Media kind from a profile name's suffix: `+me.all` → kAllMe, `-me` → kNoMe, `+me` → kMe, else kDefault.
MediaKind MediaKindFromName(std::string_view name);

}  // namespace migctl
