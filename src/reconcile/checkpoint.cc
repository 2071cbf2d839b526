#include "reconcile/checkpoint.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>

namespace migctl {

using Json = nlohmann::ordered_json;

GpuGoal GpuCheckpoint::Goal(GpuIndex gpu, std::string origin) const {
  GpuGoal goal{gpu, mig_enabled, {}, std::move(origin)};
  for (const CheckpointGi& g : instances) {
    GiTarget t{g.profile, g.start, {}};
    for (const CheckpointCi& c : g.cis) t.cis.push_back({c.profile, c.start});
    goal.instances.push_back(std::move(t));
  }
  return goal;
}

GpuCheckpoint CheckpointOf(const ObservedGpu& gpu) {
  const nvml::GpuSnapshot& s = gpu.snapshot;
  GpuCheckpoint c{s.index, s.uuid, s.name, s.mig && s.mig->current, {}};
  for (const CurrentGi& g : CurrentInstances(s)) {
    const GiProfile* p = gpu.geometry.FindProfile(g.profile);
    CheckpointGi gi{g.profile, p ? p->name : "", g.start, p ? p->placement_size : 0, {}};
    for (const CurrentCi& ci : g.cis) {
      CheckpointCi out{ci.profile, "", ci.start, 0};
      if (p != nullptr)
        for (const CiProfile& cp : p->ci_profiles)
          if (cp.id == ci.profile) {
            out.name = cp.name;
            out.size = cp.compute_slices;
          }
      gi.cis.push_back(out);
    }
    c.instances.push_back(std::move(gi));
  }
  return c;
}

std::string CheckpointToJson(const Checkpoint& checkpoint, const std::string& extra_key,
                             const std::string& extra_json) {
  Json gpus = Json::array();
  for (const GpuCheckpoint& g : checkpoint.gpus) {
    Json gis = Json::array();
    for (const CheckpointGi& gi : g.instances) {
      Json cis = Json::array();
      for (const CheckpointCi& ci : gi.cis)
        cis.push_back({{"profile_id", ci.profile.value()},
                       {"profile", ci.name},
                       {"start", ci.start},
                       {"size", ci.size}});
      gis.push_back({{"profile_id", gi.profile.value()},
                     {"profile", gi.name},
                     {"start", gi.start},
                     {"size", gi.size},
                     {"compute_instances", cis}});
    }
    gpus.push_back({{"index", g.index.value()},
                    {"uuid", g.uuid.value()},
                    {"name", g.name},
                    {"mig_enabled", g.mig_enabled},
                    {"gpu_instances", gis}});
  }
  Json doc = {{"version", 1}, {"kind", "migctl-checkpoint"}, {"gpus", gpus}};
  if (!extra_key.empty()) doc[extra_key] = Json::parse(extra_json);
  return doc.dump(2) + "\n";
}

namespace {

/// Largest GPU index, GI or CI start, and number of slots a checkpoint may name: more than any GPU has, small
/// enough that nothing computed from them overflows.
constexpr unsigned kMaxIndex = 65535;
constexpr unsigned kMaxSlot = 63;

/// Reads one checkpoint strictly: a negative, fractional or out-of-range number is an error, never wrapped.
class CheckpointReader {
 public:
  explicit CheckpointReader(std::string_view path) : path_(path) {}

  Error Fail(const std::string& where, const std::string& what) const {
    return MakeError(ErrorCode::kCorrupt, fmt::format("{}: {}{}", path_, where, what));
  }

  Result<unsigned> Whole(const Json& j, const char* key, unsigned max, const std::string& where,
                         std::optional<unsigned> fallback = std::nullopt) const {
    if (!j.is_object()) return Fail(where, "an entry is not an object");
    auto it = j.find(key);
    if (it == j.end()) {
      if (fallback) return *fallback;
      return Fail(where, fmt::format("'{}' is missing", key));
    }
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max)
      return Fail(where, fmt::format("'{}' is {}, not a whole number from 0 to {}", key, it->dump(), max));
    return it->get<unsigned>();
  }

  Result<const Json*> List(const Json& j, const char* key, const std::string& where) const {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) return Fail(where, fmt::format("'{}' is not a list", key));
    return &*it;
  }

  /// A (start, size) on an axis: inside kMaxSlot, size 1 or more, or size 0 when the file leaves it out.
  Status Span(const std::string& where, unsigned start, unsigned size, bool size_given) const {
    if (size_given && size == 0) return Fail(where, "a placement needs a size of 1 or more");
    if (start + size > kMaxSlot + 1)
      return Fail(where, fmt::format("the placement reaches past slot {}", kMaxSlot));
    return Ok();
  }

  /// What a GI and a CI entry share: a profile id (at most `max_profile`), its name, and a checked span.
  struct Placed {
    unsigned profile = 0;
    std::string name;
    unsigned start = 0;
    unsigned size = 0;
  };
  Result<Placed> PlacedFields(const Json& j, const std::string& where, unsigned max_profile) const {
    Placed p;
    MIGCTL_ASSIGN_OR_RETURN(p.profile, Whole(j, "profile_id", max_profile, where));
    p.name = j.value("profile", "");
    MIGCTL_ASSIGN_OR_RETURN(p.start, Whole(j, "start", kMaxSlot, where));
    MIGCTL_ASSIGN_OR_RETURN(p.size, Whole(j, "size", kMaxSlot + 1, where, 0u));
    MIGCTL_RETURN_IF_ERROR(Span(where, p.start, p.size, j.contains("size")));
    return p;
  }

  Result<CheckpointCi> Ci(const Json& j, const std::string& gi_where, size_t n) const {
    MIGCTL_ASSIGN_OR_RETURN(Placed p, PlacedFields(j, fmt::format("{}CI {}: ", gi_where, n), kMaxSlot));
    return CheckpointCi{CiProfileId(p.profile), std::move(p.name), p.start, p.size};
  }

  Result<CheckpointGi> Gi(const Json& j, const std::string& gpu_where, size_t n) const {
    const std::string where = fmt::format("{}GI {}: ", gpu_where, n);
    MIGCTL_ASSIGN_OR_RETURN(Placed p, PlacedFields(j, where, kMaxIndex));
    CheckpointGi gi{ProfileId(p.profile), std::move(p.name), p.start, p.size, {}};
    MIGCTL_ASSIGN_OR_RETURN(const Json* cis, List(j, "compute_instances", where));
    for (size_t c = 0; c < cis->size(); ++c) {
      MIGCTL_ASSIGN_OR_RETURN(CheckpointCi ci, Ci((*cis)[c], where, c));
      for (size_t o = 0; o < gi.cis.size(); ++o)
        if (Overlap(ci.start, ci.size, gi.cis[o].start, gi.cis[o].size))
          return Fail(where, fmt::format("CI {} at start {} overlaps CI {} at start {}", c, ci.start, o,
                                         gi.cis[o].start));
      gi.cis.push_back(std::move(ci));
    }
    return gi;
  }

  Result<GpuCheckpoint> Gpu(const Json& g, size_t n) const {
    std::string where = fmt::format("gpus[{}]: ", n);
    MIGCTL_ASSIGN_OR_RETURN(unsigned index, Whole(g, "index", kMaxIndex, where));
    where = fmt::format("GPU {}: ", index);
    auto uuid = g.find("uuid");
    if (uuid == g.end() || !uuid->is_string() || uuid->get<std::string>().empty())
      return Fail(where, "'uuid' is missing or not a UUID");
    auto mig = g.find("mig_enabled");
    if (mig == g.end() || !mig->is_boolean()) return Fail(where, "'mig_enabled' is not true or false");
    GpuCheckpoint c{
        GpuIndex(index), GpuUuid(uuid->get<std::string>()), g.value("name", ""), mig->get<bool>(), {}};
    MIGCTL_ASSIGN_OR_RETURN(const Json* gis, List(g, "gpu_instances", where));
    if (!c.mig_enabled && !gis->empty()) return Fail(where, "MIG is off, yet it lists GPU instances");
    for (size_t i = 0; i < gis->size(); ++i) {
      MIGCTL_ASSIGN_OR_RETURN(CheckpointGi gi, Gi((*gis)[i], where, i));
      for (size_t o = 0; o < c.instances.size(); ++o)
        if (Overlap(gi.start, gi.size, c.instances[o].start, c.instances[o].size))
          return Fail(where, fmt::format("GI {} at start {} size {} overlaps GI {} at start {} size {}", i,
                                         gi.start, gi.size, o, c.instances[o].start, c.instances[o].size));
      c.instances.push_back(std::move(gi));
    }
    return c;
  }

 private:
  /// Spans of unknown size (0) are taken as one slot, so two instances at one start still overlap.
  static bool Overlap(unsigned a_start, unsigned a_size, unsigned b_start, unsigned b_size) {
    return a_start < b_start + std::max(b_size, 1u) && b_start < a_start + std::max(a_size, 1u);
  }

  std::string_view path_;
};

}  // namespace

Result<Checkpoint> ParseCheckpoint(std::string_view text, std::string_view path) {
  const CheckpointReader reader(path);
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return reader.Fail("", "not a migctl checkpoint: malformed JSON");
  if (!doc.contains("version") || !doc["version"].is_number_integer())
    return reader.Fail("", "not a migctl checkpoint: no version");
  if (doc["version"] != 1)
    return reader.Fail("", fmt::format("not a migctl checkpoint: version {} is not known to this migctl (it "
                                       "reads version 1)",
                                       doc["version"].dump()));
  MIGCTL_ASSIGN_OR_RETURN(const Json* gpus, reader.List(doc, "gpus", "not a migctl checkpoint: "));
  Checkpoint out;
  for (size_t n = 0; n < gpus->size(); ++n) {
    MIGCTL_ASSIGN_OR_RETURN(GpuCheckpoint gpu, reader.Gpu((*gpus)[n], n));
    for (const GpuCheckpoint& other : out.gpus)
      if (other.index == gpu.index || other.uuid == gpu.uuid)
        return reader.Fail(
            fmt::format("GPU {}: ", gpu.index.value()),
            fmt::format("listed twice (same {}); a checkpoint lists each GPU once, so it cannot be "
                        "trusted",
                        other.index == gpu.index ? "index" : "UUID " + gpu.uuid.value()));
    out.gpus.push_back(std::move(gpu));
  }
  return out;
}

}  // namespace migctl
