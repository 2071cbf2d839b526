#include "cli/slot_map.h"

#include <algorithm>

namespace migctl {
namespace {

constexpr unsigned kCell = 9;  // characters per slot

std::string Box(unsigned width, const std::string& label, char fill) {
  const unsigned inner = width - 2;
  std::string text = label.size() + 2 <= inner ? " " + label + " " : label.substr(0, inner);
  unsigned left = (inner - static_cast<unsigned>(text.size())) / 2;
  unsigned right = inner - static_cast<unsigned>(text.size()) - left;
  return "[" + std::string(left, fill) + text + std::string(right, fill) + "]";
}

}  // namespace

std::string DrawSlotMap(unsigned slots, const std::vector<SlotSpan>& spans, const std::string& indent) {
  slots = std::min(slots, kMaxDrawnSlots);
  std::string numbers = indent + "slot  ";
  for (unsigned s = 0; s < slots; ++s) {
    std::string n = std::to_string(s);
    numbers += n + (s + 1 < slots ? std::string(kCell - n.size(), ' ') : "");
  }
  std::vector<const SlotSpan*> sorted;
  for (const SlotSpan& span : spans)
    if (span.size > 0 && span.start < slots) sorted.push_back(&span);
  std::sort(sorted.begin(), sorted.end(),
            [](const SlotSpan* a, const SlotSpan* b) { return a->start < b->start; });
  std::string boxes = indent + "      ";
  unsigned slot = 0;
  auto it = sorted.begin();
  while (slot < slots) {
    while (it != sorted.end() && (*it)->start < slot) ++it;  // Overlaps a span already drawn.
    if (it != sorted.end() && (*it)->start == slot) {
      const unsigned size = std::min((*it)->size, slots - slot);
      boxes += Box(size * kCell, (*it)->label, '-');
      slot += size;
      ++it;
    } else {
      boxes += "[   ·   ]";
      ++slot;
    }
  }
  return numbers + "\n" + boxes + "\n";
}

}  // namespace migctl
