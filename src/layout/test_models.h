// Hand-built GPU models for layout tests, independent of the catalog's data files (test-only).
#pragma once

#include "catalog/gpu_model.h"

namespace migctl::testing {

inline GiProfile Gi(unsigned id, const char* name, unsigned slices, unsigned size,
                    std::vector<unsigned> starts, unsigned limit, MediaKind media = MediaKind::kDefault) {
  GiProfile p;
  p.id = ProfileId(id);
  p.name = name;
  p.compute_slices = slices;
  p.placement_size = size;
  p.starts = std::move(starts);
  p.instance_limit = limit;
  p.media = media;
  return p;
}

/// A100-40GB as the MIG user guide lists it (facts §3.1).
inline GpuModel A100_40gb() {
  GpuModel m;
  m.key = "a100-40gb";
  m.architecture = Architecture::kAmpere;
  m.memory_slots = 8;
  m.compute_slices = 7;
  m.gi_profiles = {Gi(19, "1g.5gb", 1, 1, {0, 1, 2, 3, 4, 5, 6}, 7),
                   Gi(20, "1g.5gb+me", 1, 1, {0, 1, 2, 3, 4, 5, 6}, 1, MediaKind::kMe),
                   Gi(15, "1g.10gb", 1, 2, {0, 2, 4, 6}, 4),
                   Gi(14, "2g.10gb", 2, 2, {0, 2, 4}, 3),
                   Gi(9, "3g.20gb", 3, 4, {0, 4}, 2),
                   Gi(5, "4g.20gb", 4, 4, {0}, 1),
                   Gi(0, "7g.40gb", 7, 8, {0}, 1)};
  return m;
}

/// A30-24GB (facts §3.3): 4 slots, 4 compute slices, two +me profiles.
inline GpuModel A30() {
  GpuModel m;
  m.key = "a30-24gb";
  m.architecture = Architecture::kAmpere;
  m.memory_slots = 4;
  m.compute_slices = 4;
  m.gi_profiles = {Gi(14, "1g.6gb", 1, 1, {0, 1, 2, 3}, 4),
                   Gi(21, "1g.6gb+me", 1, 1, {0, 1, 2, 3}, 1, MediaKind::kMe),
                   Gi(5, "2g.12gb", 2, 2, {0, 2}, 2), Gi(6, "2g.12gb+me", 2, 2, {0, 2}, 1, MediaKind::kMe),
                   Gi(0, "4g.24gb", 4, 4, {0}, 1)};
  return m;
}

inline std::vector<ProfileId> Ids(std::initializer_list<unsigned> ids) {
  std::vector<ProfileId> out;
  for (unsigned i : ids) out.emplace_back(i);
  return out;
}

/// The classic profiles (1g, 2g, 3g, 4g, 7g) of an 8-slot part.
inline std::vector<ProfileId> Classic() { return Ids({19, 14, 9, 5, 0}); }

}  // namespace migctl::testing
