// Draws a GPU's memory-slot axis so a person sees the layout and the free gaps at a glance.
#pragma once

#include <string>
#include <vector>

namespace migctl {

/// More slots than any GPU has; a larger axis is drawn up to here.
inline constexpr unsigned kMaxDrawnSlots = 64;

/// One occupied span on the slot axis.
struct SlotSpan {
  unsigned start = 0;
  unsigned size = 0;
  std::string label;  ///< e.g. `3g.40gb GI 2`; shortened to fit the span.
};

/// Two lines: slot numbers, then a box per span and `·` for each free slot, e.g.
///   `slot  0        1        2        3        4        5        6        7`
///   `      [1g.10gb][   ·   ][   ·   ][   ·   ][--------- 3g.40gb GI 2 ---------]`
/// Each line ends with a newline; `indent` prefixes both. Whatever it is given, the output has one cell per
/// slot (at most kMaxDrawnSlots): a span of size 0, one starting at or past `slots` and one overlapping a
/// span that starts before it are left out, and a span reaching past the last slot is cut there.
std::string DrawSlotMap(unsigned slots, const std::vector<SlotSpan>& spans, const std::string& indent = "");

}  // namespace migctl
