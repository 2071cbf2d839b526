#include "common/trim.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(Trim, EndsOnlyAndOnlyTheGivenCharacters) {
  EXPECT_EQ(Trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(Trim(" \t\n"), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim(" a\t", " "), "a\t");
  EXPECT_EQ(Trim("\ta \r", " \t"), "a \r");
  EXPECT_EQ(Trim("xxaxx", "x"), "a");
}

}  // namespace
}  // namespace migctl
