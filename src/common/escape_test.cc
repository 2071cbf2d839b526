#include "common/escape.h"

#include <gtest/gtest.h>

namespace migctl {
namespace {

TEST(EscapeControl, PlainTextPassesUnchanged) {
  EXPECT_EQ(EscapeControl("GPU 0: 3g.40gb at 4 \\, \"quoted\""), "GPU 0: 3g.40gb at 4 \\, \"quoted\"");
  EXPECT_EQ(EscapeControl("Grüße ✓"), "Grüße ✓");
}

TEST(EscapeControl, LineBreaksAndTabsBecomeTheirEscapes) {
  EXPECT_EQ(EscapeControl("a\nb\r\nc\td"), "a\\nb\\r\\nc\\td");
}

TEST(EscapeControl, TerminalSequencesAreDefused) {
  EXPECT_EQ(EscapeControl("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(EscapeControl(std::string_view("\0\x01\x1f\x7f", 4)), "\\x00\\x01\\x1f\\x7f");
}

TEST(EscapeControl, NoControlByteSurvives) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (const char c : EscapeControl(all)) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 && byte != 0x7f) << "byte " << int(byte) << " left raw";
  }
}

}  // namespace
}  // namespace migctl
