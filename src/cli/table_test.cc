#include "cli/table.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(Table, ColumnsAlignToTheWidestCellAndTrailingSpaceIsTrimmed) {
  Table t({"GI", "PROFILE"});
  t.AddRow({"12", "1g.10gb"});
  t.AddRow({"3", "3g.40gb+me"});
  EXPECT_EQ(t.Render("  "), "  GI  PROFILE\n  12  1g.10gb\n  3   3g.40gb+me\n");
}

TEST(Table, MultiByteCellsCountAsOneColumnPerCharacter) {
  Table t({"A", "B"});
  t.AddRow({"×2", "x"});
  EXPECT_EQ(t.Render(), "A   B\n×2  x\n");
}

}  // namespace
}  // namespace migctl
