#include "spec/quote.h"

#include <gtest/gtest.h>

namespace migctl::spec {
namespace {

TEST(Quote, WrapsTextInSingleQuotes) { EXPECT_EQ(Quote("1g.10gb"), "'1g.10gb'"); }

TEST(Quote, EscapesControlCharactersSoTheMessageStaysOneLine) {
  EXPECT_EQ(Quote("a\nb\tc\x01\x7f"), "'a\\nb\\tc\\x01\\x7f'");
  EXPECT_EQ(Quote(std::string_view("\0", 1)), "'\\x00'");
}

TEST(Quote, KeepsUtf8AndCutsLongText) {
  EXPECT_EQ(Quote("é"), "'é'");
  EXPECT_EQ(Quote(std::string(100, 'x')), "'" + std::string(80, 'x') + "...'");
}

}  // namespace
}  // namespace migctl::spec
