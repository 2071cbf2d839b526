// A layout: the GPU instances of one GPU as (profile, start) on the model's memory-slot axis.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/gpu_model.h"
#include "common/ids.h"

namespace migctl {

/// One GPU instance placed on the slot axis. Its size comes from the profile.
struct PlacedInstance {
  ProfileId profile;
  unsigned start = 0;
  bool operator==(const PlacedInstance&) const = default;
  auto operator<=>(const PlacedInstance&) const = default;
};

using Layout = std::vector<PlacedInstance>;

/// Bit i set = memory slot i occupied. Models have at most 32 slots.
using SlotMask = std::uint32_t;

inline SlotMask SlotsOf(unsigned start, unsigned size) {
  return size >= 32 ? ~SlotMask{0} : ((SlotMask{1} << size) - 1) << start;
}

/// Slots occupied by `layout`. Precondition: every profile exists in `model`.
SlotMask OccupiedSlots(const GpuModel& model, const Layout& layout);

/// `3g.40gb@4` style, one entry per instance, in the layout's order, joined by " + ".
std::string DescribeLayout(const GpuModel& model, const Layout& layout);

/// "slot 3" or "slots 4-7".
std::string DescribeSlots(unsigned start, unsigned size);

/// Sorts by start, then profile id: the canonical order used for printing and comparing layouts.
void SortLayout(Layout* layout);

}  // namespace migctl
