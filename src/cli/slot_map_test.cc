#include "cli/slot_map.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(SlotMap, DrawsSpansAndFreeSlots) {
  std::string map = DrawSlotMap(8, {{4, 4, "3g.40gb GI 2"}, {0, 1, "1g"}});
  EXPECT_EQ(map,
            "slot  0        1        2        3        4        5        6        7\n"
            "      [- 1g --][   ·   ][   ·   ][   ·   ][---------- 3g.40gb GI 2 ----------]\n");
}

TEST(SlotMap, LabelsTooLongForTheirSpanAreCut) {
  std::string map = DrawSlotMap(2, {{0, 1, "1g.10gb+me GI 13"}});
  EXPECT_NE(map.find("[1g.10gb]"), std::string::npos) << map;
}

}  // namespace
}  // namespace migctl
