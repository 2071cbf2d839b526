#include "sim/instance_ids.h"

#include <algorithm>
#include <bit>

#include "sim/uuid.h"

namespace migctl::sim {
namespace {

bool GiIdUsed(const std::vector<SimGpuInstance>& existing, unsigned id) {
  return std::ranges::any_of(existing, [id](const SimGpuInstance& gi) { return gi.id == id; });
}

/// Buddy-node id of (start, size), or nullopt when the placement is not a node of the axis's binary tree.
std::optional<unsigned> BuddyId(const GpuModel& model, bool mirror_halves, unsigned start, unsigned size) {
  unsigned leaf = model.memory_slots;
  for (const GiProfile& p : model.gi_profiles) leaf = std::min(leaf, p.placement_size);
  if (leaf == 0 || size == 0 || model.memory_slots % leaf != 0 || size % leaf != 0 || start % size != 0 ||
      model.memory_slots % size != 0) {
    return std::nullopt;
  }
  unsigned nodes = model.memory_slots / size;  // Nodes on this level of the tree.
  if (!std::has_single_bit(nodes) || !std::has_single_bit(model.memory_slots / leaf)) return std::nullopt;
  unsigned node = start / size;
  if (mirror_halves && nodes >= 2) node ^= nodes / 2;
  return nodes - 1 + node;
}

}  // namespace

std::optional<unsigned> AssignGpuInstanceId(const GpuModel& model, const std::string& gpu_uuid,
                                            unsigned start, unsigned size,
                                            const std::vector<SimGpuInstance>& existing) {
  bool mirror = (Hash64(gpu_uuid, 0) & 1) != 0;
  std::optional<unsigned> id = BuddyId(model, mirror, start, size);
  if (id && *id <= kMaxGpuInstanceId && !GiIdUsed(existing, *id)) return id;
  for (unsigned candidate = 0; candidate <= kMaxGpuInstanceId; ++candidate) {
    if (!GiIdUsed(existing, candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<unsigned> AssignComputeInstanceId(const SimGpuInstance& gi) {
  for (unsigned id = 0; id <= kMaxComputeInstanceId; ++id) {
    if (!FindComputeInstance(gi, id)) return id;
  }
  return std::nullopt;
}

}  // namespace migctl::sim
