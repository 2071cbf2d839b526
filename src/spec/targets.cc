#include "spec/targets.h"

#include <algorithm>

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

/// The GPU's profile that `name` (as the config wrote it) names: by its own name, else by an alias recorded
/// for this very model (data/gpus/, with a warning naming both). Nothing else is guessed: a name of another
/// model's profile of about the same size is an error naming the name as written.
Result<const GiProfile*> ResolveGi(const Where& w, const ProfileName& name, const SourcePos& pos,
                                   std::vector<std::string>* warnings) {
  if (const GiProfile* p = w.model.FindProfile(name.gi_name)) return p;
  if (auto [p, alias] = w.model.FindAlias(name.gi_name); p != nullptr) {
    warnings->push_back(fmt::format("{}:{}:{}: '{}' is what another driver calls the {}'s {} ({}); using {}",
                                    w.file.path, pos.line, pos.column, name.text, w.model.key, p->name,
                                    alias->source, p->name));
    return p;
  }
  return w.Fail(
      pos, fmt::format("no profile '{}' on the {}: it has {}", name.text, w.model.key, ProfileList(w.model)));
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
