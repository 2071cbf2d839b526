#include "catalog/gpu_model.h"

#include <strings.h>

#include <algorithm>
#include <charconv>

namespace migctl {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

/// Parses a whole string of decimal digits; nullopt for anything else (signs, spaces, overflow).
std::optional<unsigned> ParseDecimal(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

const CiProfile* GiProfile::DefaultCiProfile() const {
  auto it = std::ranges::find_if(ci_profiles, &CiProfile::is_default);
  return it == ci_profiles.end() ? nullptr : &*it;
}

const GiProfile* GpuModel::FindProfile(ProfileId id) const {
  auto it = std::ranges::find(gi_profiles, id, &GiProfile::id);
  return it == gi_profiles.end() ? nullptr : &*it;
}

const GiProfile* GpuModel::FindProfile(std::string_view name_or_id) const {
  if (auto id = ParseDecimal(name_or_id)) return FindProfile(ProfileId(*id));
  constexpr std::string_view kPrefix = "MIG ";
  if (name_or_id.size() > kPrefix.size() && EqualsIgnoreCase(name_or_id.substr(0, kPrefix.size()), kPrefix)) {
    name_or_id.remove_prefix(kPrefix.size());
  }
  auto it = std::ranges::find_if(
      gi_profiles, [&](const GiProfile& profile) { return EqualsIgnoreCase(profile.name, name_or_id); });
  return it == gi_profiles.end() ? nullptr : &*it;
}

std::pair<const GiProfile*, const ProfileAlias*> GpuModel::FindAlias(std::string_view name) const {
  for (const GiProfile& profile : gi_profiles)
    for (const ProfileAlias& alias : profile.aliases)
      if (EqualsIgnoreCase(alias.name, name)) return {&profile, &alias};
  return {nullptr, nullptr};
}

MediaKind MediaKindFromName(std::string_view name) {
  if (name.find("+me.all") != std::string_view::npos) return MediaKind::kAllMe;
  if (name.find("-me") != std::string_view::npos) return MediaKind::kNoMe;
  if (name.find("+me") != std::string_view::npos) return MediaKind::kMe;
  return MediaKind::kDefault;
}

const char* ArchitectureName(Architecture a) {
  switch (a) {
    case Architecture::kAmpere:
      return "ampere";
    case Architecture::kHopper:
      return "hopper";
    case Architecture::kBlackwell:
      return "blackwell";
  }
  return "unknown";
}

}  // namespace migctl
