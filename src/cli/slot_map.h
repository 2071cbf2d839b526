// Draws a GPU's memory-slot axis so a person sees the layout and the free gaps at a glance.
#pragma once

#include <string>
#include <vector>

namespace migctl {

/// One occupied span on the slot axis.
struct SlotSpan {
  unsigned start = 0;
  unsigned size = 0;
  std::string label;  ///< e.g. `3g.40gb GI 2`; shortened to fit the span.
};

/// Two lines: slot numbers, then a box per span and `·` for each free slot, e.g.
///   `slot  0        1        2        3        4        5        6        7`
///   `      [1g.10gb][   ·   ][   ·   ][   ·   ][--------- 3g.40gb GI 2 ---------]`
/// Spans must not overlap and must lie inside [0, slots). Each line ends with a newline; `indent` prefixes
/// both.
std::string DrawSlotMap(unsigned slots, const std::vector<SlotSpan>& spans, const std::string& indent = "");

}  // namespace migctl
