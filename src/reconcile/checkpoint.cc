#include "reconcile/checkpoint.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

Result<Checkpoint> ParseCheckpoint(std::string_view text, std::string_view path) {
  auto corrupt = [&](const std::string& what) {
    return MakeError(ErrorCode::kCorrupt, fmt::format("{}: not a migctl checkpoint: {}", path, what));
  };
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return corrupt("malformed JSON");
  if (!doc.contains("version") || !doc["version"].is_number_integer()) return corrupt("no version");
  if (doc["version"] != 1)
    return corrupt(
        fmt::format("version {} is not known to this migctl (it reads version 1)", doc["version"].dump()));
  if (!doc.contains("gpus") || !doc["gpus"].is_array()) return corrupt("no 'gpus' list");
  Checkpoint out;
  try {
    for (const Json& g : doc["gpus"]) {
      GpuCheckpoint c{GpuIndex(g.at("index").get<unsigned>()),
                      GpuUuid(g.at("uuid").get<std::string>()),
                      g.value("name", ""),
                      g.at("mig_enabled").get<bool>(),
                      {}};
      for (const Json& gi : g.at("gpu_instances")) {
        CheckpointGi out_gi{ProfileId(gi.at("profile_id").get<unsigned>()),
                            gi.value("profile", ""),
                            gi.at("start").get<unsigned>(),
                            gi.value("size", 0u),
                            {}};
        for (const Json& ci : gi.at("compute_instances"))
          out_gi.cis.push_back({CiProfileId(ci.at("profile_id").get<unsigned>()), ci.value("profile", ""),
                                ci.at("start").get<unsigned>(), ci.value("size", 0u)});
        c.instances.push_back(std::move(out_gi));
      }
      out.gpus.push_back(std::move(c));
    }
  } catch (const Json::exception& e) {
    return corrupt(e.what());
  }
  return out;
}

}  // namespace migctl
