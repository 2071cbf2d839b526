#include "common/memory_size.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace migctl {
namespace {

unsigned long long Mib(std::string_view text) {
  auto r = ParseMemoryMib(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : 0;
}

TEST(ParseMemoryMib, GigabyteSpellingsAllMeanGib) {
  for (const char* text : {"10G", "10GB", "10GiB", "10g", "10gb", "10gib", "10 GiB", " 10G "})
    EXPECT_EQ(Mib(text), 10240u) << text;
}

TEST(ParseMemoryMib, MegabyteSpellingsAndPlainNumbersMeanMib) {
  for (const char* text : {"512", "512M", "512MB", "512MiB", "512m", "512 MiB"})
    EXPECT_EQ(Mib(text), 512u) << text;
}

TEST(ParseMemoryMib, TerabytesAndFractions) {
  EXPECT_EQ(Mib("1T"), 1048576u);
  EXPECT_EQ(Mib("1TiB"), 1048576u);
  EXPECT_EQ(Mib("1.5G"), 1536u);
  EXPECT_EQ(Mib("0.5G"), 512u);
  EXPECT_EQ(Mib("1.25GiB"), 1280u);
}

TEST(ParseMemoryMib, FractionsOfAMibRoundUp) {
  EXPECT_EQ(Mib("1.3G"), 1332u);  // 1331.2 MiB
  EXPECT_EQ(Mib("0.1M"), 1u);
  EXPECT_EQ(Mib("2.0M"), 2u);
}

TEST(ParseMemoryMib, MalformedSizesAreInvalidInputNamingTheAcceptedForms) {
  for (const char* bad : {"", "  ", "G", "10X", "10 G B", "-1G", "+1G", "1.G", ".5G", "1.2.3G", "10KB", "ten",
                          "1e3", "0", "0G", "0.0M", "1.0000000001G"}) {
    auto r = ParseMemoryMib(bad);
    ASSERT_FALSE(r.ok()) << bad << " parsed as " << *r;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput) << bad;
    EXPECT_NE(r.error().message.find("10GiB"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  }
}

TEST(ParseMemoryMib, ZeroSaysItMustBePositive) {
  auto r = ParseMemoryMib("0G");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("more than 0"), std::string::npos) << r.error().message;
}

TEST(ParseMemoryMib, OverflowIsAnErrorNotAWrap) {
  EXPECT_EQ(Mib("18446744073709551615"), 18446744073709551615ull);
  for (const char* bad :
       {"18446744073709551616", "18014398509481984G", "17592186044416T", "18446744073709551615.5"}) {
    auto r = ParseMemoryMib(bad);
    ASSERT_FALSE(r.ok()) << bad << " parsed as " << *r;
    EXPECT_NE(r.error().message.find("too large"), std::string::npos) << r.error().message;
  }
}

TEST(FormatMib, WholeAndQuarterGibAreShownInGib) {
  EXPECT_EQ(FormatMib(10240), "10 GiB");
  EXPECT_EQ(FormatMib(1536), "1.5 GiB");
  EXPECT_EQ(FormatMib(1280), "1.25 GiB");
  EXPECT_EQ(FormatMib(1792), "1.75 GiB");
  EXPECT_EQ(FormatMib(1048576), "1024 GiB");
}

TEST(FormatMib, EverythingElseIsExactMib) {
  EXPECT_EQ(FormatMib(512), "512 MiB");
  EXPECT_EQ(FormatMib(1), "1 MiB");
  EXPECT_EQ(FormatMib(0), "0 MiB");
  EXPECT_EQ(FormatMib(81559), "81559 MiB");
  EXPECT_EQ(FormatMib(1025), "1025 MiB");
}

TEST(FormatMib, ParsesBackToTheSameValue) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 2000; ++i) {
    unsigned long long mib = 1 + random() % (i % 2 ? 4096 : 1ull << 40);
    if (i % 3 == 0) mib -= mib % 256;
    if (mib == 0) continue;
    EXPECT_EQ(Mib(FormatMib(mib)), mib) << FormatMib(mib);
  }
}

}  // namespace
}  // namespace migctl
