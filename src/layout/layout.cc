#include "layout/layout.h"

#include <algorithm>

#include <fmt/format.h>

namespace migctl {

SlotMask OccupiedSlots(const GpuModel& model, const Layout& layout) {
  SlotMask mask = 0;
  for (const PlacedInstance& instance : layout) {
    const GiProfile* profile = model.FindProfile(instance.profile);
    if (profile != nullptr) mask |= SlotsOf(instance.start, profile->placement_size);
  }
  return mask;
}

std::string DescribeLayout(const GpuModel& model, const Layout& layout) {
  std::string out;
  for (const PlacedInstance& instance : layout) {
    const GiProfile* profile = model.FindProfile(instance.profile);
    if (!out.empty()) out += " + ";
    out += fmt::format("{}@{}", profile ? profile->name : fmt::format("profile {}", instance.profile.value()),
                       instance.start);
  }
  return out;
}

std::string DescribeSlots(unsigned start, unsigned size) {
  return size == 1 ? fmt::format("slot {}", start) : fmt::format("slots {}-{}", start, start + size - 1);
}

void SortLayout(Layout* layout) { std::sort(layout->begin(), layout->end()); }

}  // namespace migctl
