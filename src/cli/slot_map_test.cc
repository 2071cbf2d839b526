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

// Regression: a GI of placement size 0 in a simulated state made `status` grow to 4.5 GB (unsigned
// underflow).
TEST(SlotMap, RegressionSizeZeroSpanCannotUnderflow) {
  std::string map = DrawSlotMap(8, {{2, 0, "0g GI 3"}, {0, 1, "1g"}});
  EXPECT_LT(map.size(), 400u);
  EXPECT_EQ(map.find("0g"), std::string::npos) << map;
  EXPECT_NE(map.find("[- 1g --]"), std::string::npos) << map;
}

TEST(SlotMap, BadSpansLeaveOneCellPerSlot) {
  const std::string clean = DrawSlotMap(8, {{0, 4, "a"}});
  for (const std::vector<SlotSpan>& spans :
       {std::vector<SlotSpan>{{0, 4, "a"}, {2, 4, "overlapping"}},
        std::vector<SlotSpan>{{0, 4, "a"}, {8, 1, "outside"}},
        std::vector<SlotSpan>{{0, 4, "a"}, {4000000000u, 4000000000u, "far"}},
        std::vector<SlotSpan>{{0, 4, "a"}, {4, 0, "empty"}}}) {
    EXPECT_EQ(DrawSlotMap(8, spans), clean);
  }
  EXPECT_EQ(DrawSlotMap(8, {{6, 4000000000u, "past the end"}}), DrawSlotMap(8, {{6, 2, "past the end"}}));
}

TEST(SlotMap, AHugeAxisIsCappedAtTheLargestDrawnOne) {
  EXPECT_EQ(DrawSlotMap(4000000000u, {}), DrawSlotMap(kMaxDrawnSlots, {}));
}

}  // namespace
}  // namespace migctl
