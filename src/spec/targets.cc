#include "spec/targets.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

namespace migctl::spec {
namespace {

struct Where {
  const ConfigFile& file;
  const GpuModel& model;
  GpuIndex gpu;

  Error Fail(const SourcePos& pos, const std::string& what) const {
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{}:{}:{}: GPU {} ({}): {}", file.path, pos.line, pos.column, gpu.value(),
                                 model.product_name, what));
  }
};

std::string ProfileList(const GpuModel& model) {
  std::string out;
  for (const GiProfile& p : model.gi_profiles) out += (out.empty() ? "" : ", ") + p.name;
  return out;
}

/// The GB figure and attribute suffix of a catalog profile name (`1g.10gb+me` → 10, "+me").
bool SplitName(const std::string& name, unsigned* gb, std::string* suffix) {
  const std::size_t dot = name.find('.');
  const std::size_t g = name.find("gb", dot == std::string::npos ? 0 : dot);
  if (dot == std::string::npos || g == std::string::npos) return false;
  *gb = static_cast<unsigned>(std::strtoul(name.c_str() + dot + 1, nullptr, 10));
  *suffix = name.substr(g + 2);
  return true;
}

Result<const GiProfile*> ResolveGi(const Where& w, const ProfileName& name, const SourcePos& pos,
                                   std::vector<std::string>* warnings) {
  if (const GiProfile* p = w.model.FindProfile(name.gi_name)) return p;
  // Driver name drift: same slices and attributes, memory 1 GB off.
  const std::string wanted_suffix = name.gi_name.substr(name.gi_name.find("gb") + 2);
  const GiProfile* near = nullptr;
  for (const GiProfile& p : w.model.gi_profiles) {
    unsigned gb = 0;
    std::string suffix;
    if (!SplitName(p.name, &gb, &suffix) || p.compute_slices != name.gi_slices || suffix != wanted_suffix)
      continue;
    if (gb + 1 == name.memory_gb || name.memory_gb + 1 == gb) near = near == nullptr ? &p : nullptr;
  }
  if (near != nullptr) {
    warnings->push_back(fmt::format("{}:{}:{}: GPU {}: '{}' is named '{}' by this driver; using {}",
                                    w.file.path, pos.line, pos.column, w.gpu.value(), name.gi_name,
                                    near->name, near->name));
    return near;
  }
  return w.Fail(pos,
                fmt::format("no profile '{}' on this GPU; it has {}", name.gi_name, ProfileList(w.model)));
}

Result<CiProfileId> ResolveCi(const Where& w, const GiProfile& gi, unsigned ci_slices,
                              const std::string& text, const SourcePos& pos) {
  if (ci_slices == gi.compute_slices) {
    if (const CiProfile* d = gi.DefaultCiProfile()) return d->id;
  }
  for (const CiProfile& c : gi.ci_profiles)
    if (c.compute_slices == ci_slices) return c.id;
  std::string offered;
  for (const CiProfile& c : gi.ci_profiles) offered += (offered.empty() ? "" : ", ") + c.name;
  return w.Fail(pos, fmt::format("'{}': a {} GPU instance has no {}-slice compute instance; it offers {}",
                                 text, gi.name, ci_slices, offered));
}

Result<SpecTarget> FromCounts(const Where& w, const MigConfigSpec& spec) {
  struct Item {
    const ProfileCount* entry;
    const GiProfile* gi;
    CiProfileId ci;
  };
  SpecTarget out;
  std::vector<Item> items;
  for (const ProfileCount& e : spec.mig_devices) {
    if (e.count == 0) continue;
    MIGCTL_ASSIGN_OR_RETURN(const GiProfile* gi, ResolveGi(w, e.profile, e.pos, &out.warnings));
    MIGCTL_ASSIGN_OR_RETURN(CiProfileId ci, ResolveCi(w, *gi, e.profile.ci_slices, e.profile.text, e.pos));
    for (unsigned k = 0; k < e.count; ++k) items.push_back({&e, gi, ci});
  }
  // mig-parted's Flatten order: G descending, then C descending, then the name.
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    const ProfileName& x = a.entry->profile;
    const ProfileName& y = b.entry->profile;
    if (x.gi_slices != y.gi_slices) return x.gi_slices > y.gi_slices;
    if (x.ci_slices != y.ci_slices) return x.ci_slices > y.ci_slices;
    return x.text < y.text;
  });
  const GiProfile* last_gi = nullptr;
  for (const Item& item : items) {
    if (last_gi == item.gi && item.entry->profile.has_ci_part) {
      std::vector<CiTarget> joined = out.instances.back().cis;
      joined.push_back({item.ci, std::nullopt});
      if (PlaceComputeInstances(*item.gi, {}, joined).ok()) {
        out.instances.back().cis = std::move(joined);
        continue;
      }
    }
    out.instances.push_back({item.gi->id, std::nullopt, {{item.ci, std::nullopt}}});
    last_gi = item.gi;
  }
  return out;
}

Result<SpecTarget> FromInstances(const Where& w, const MigConfigSpec& spec) {
  SpecTarget out;
  for (const InstanceSpec& inst : spec.mig_instances) {
    MIGCTL_ASSIGN_OR_RETURN(const GiProfile* gi, ResolveGi(w, inst.profile, inst.pos, &out.warnings));
    if (inst.start && std::find(gi->starts.begin(), gi->starts.end(), *inst.start) == gi->starts.end()) {
      std::string starts;
      for (unsigned s : gi->starts) starts += (starts.empty() ? "" : ", ") + std::to_string(s);
      return w.Fail(inst.pos, fmt::format("{} cannot start at slot {}; it can start at {}", gi->name,
                                          *inst.start, starts));
    }
    GiTarget target{gi->id, inst.start, {}};
    if (!inst.compute_instances) {
      MIGCTL_ASSIGN_OR_RETURN(CiProfileId ci,
                              ResolveCi(w, *gi, gi->compute_slices, inst.profile.text, inst.pos));
      target.cis.push_back({ci, std::nullopt});
    } else {
      for (const CiSpec& c : *inst.compute_instances) {
        MIGCTL_ASSIGN_OR_RETURN(CiProfileId ci,
                                ResolveCi(w, *gi, c.profile.ci_slices, c.profile.text, c.pos));
        target.cis.push_back({ci, c.start});
      }
    }
    if (Result<std::vector<PlacedCi>> fits = PlaceComputeInstances(*gi, {}, target.cis); !fits.ok())
      return w.Fail(inst.pos, fits.error().message);
    out.instances.push_back(std::move(target));
  }
  return out;
}

}  // namespace

Result<SpecTarget> TargetInstances(const ConfigFile& file, const MigConfigSpec& spec, const GpuModel& model,
                                   GpuIndex gpu) {
  const Where where{file, model, gpu};
  if (!spec.mig_enabled) return SpecTarget{};
  return spec.uses_instances ? FromInstances(where, spec) : FromCounts(where, spec);
}

}  // namespace migctl::spec
