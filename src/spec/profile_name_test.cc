#include "spec/profile_name.h"

#include <gtest/gtest.h>

namespace migctl::spec {
namespace {

TEST(ParseProfileName, GiProfileHasComputeEqualToGpuSlices) {
  auto name = ParseProfileName("3g.40gb");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->text, "3g.40gb");
  EXPECT_EQ(name->gi_name, "3g.40gb");
  EXPECT_EQ(name->ci_slices, 3u);
  EXPECT_EQ(name->gi_slices, 3u);
  EXPECT_EQ(name->memory_gb, 40u);
  EXPECT_FALSE(name->has_ci_part);
}

TEST(ParseProfileName, ComputePartNamesTheGpuInstanceItLivesIn) {
  auto name = ParseProfileName("1c.3g.40gb");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->gi_name, "3g.40gb");
  EXPECT_EQ(name->ci_slices, 1u);
  EXPECT_EQ(name->gi_slices, 3u);
  EXPECT_TRUE(name->has_ci_part);
  EXPECT_EQ(name->Canonical(), "1c.3g.40gb");
}

TEST(ParseProfileName, AttributesStayInTheGiNameAsWritten) {
  EXPECT_EQ(ParseProfileName("1g.10gb+me")->gi_name, "1g.10gb+me");
  EXPECT_EQ(ParseProfileName("1g.24gb+me.all")->gi_name, "1g.24gb+me.all");
  EXPECT_EQ(ParseProfileName("1g.20gb-me")->gi_name, "1g.20gb-me");
  EXPECT_EQ(ParseProfileName("1g.10gb+me,gfx")->gi_name, "1g.10gb+me,gfx");
  EXPECT_EQ(ParseProfileName("1c.2g.20gb+gfx")->gi_name, "2g.20gb+gfx");
}

TEST(ParseProfileName, UpperCaseIsLowerCased) {
  auto name = ParseProfileName("1C.7G.80GB+ME");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->text, "1c.7g.80gb+me");
  EXPECT_EQ(name->gi_name, "7g.80gb+me");
}

TEST(ParseProfileName, FullWidthComputePartIsCanonicallyTheGiName) {
  EXPECT_EQ(ParseProfileName("1c.1g.10gb")->Canonical(), "1g.10gb");
  EXPECT_EQ(ParseProfileName("1g.10gb")->Canonical(), "1g.10gb");
  EXPECT_EQ(ParseProfileName("01g.010gb")->gi_name, "1g.10gb");
}

TEST(ParseProfileName, MalformedNamesSayWhatIsWrong) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "empty"},
           {"3g", "2 or 3 dot-separated parts"},
           {"1c.2c.3g.40gb", "2 or 3 dot-separated parts"},
           {"3x.40gb", "'3x' should be a number followed by 'g'"},
           {"g.40gb", "'g' should be a number followed by 'g'"},
           {"3g.40", "'40' should be a number followed by 'gb'"},
           {"3g.40mb", "should be a number followed by 'gb'"},
           {"0g.10gb", "'0g' is zero"},
           {"0c.1g.10gb", "'0c' is zero"},
           {"4c.3g.40gb", "4 slices does not fit in a GPU instance of 3"},
           {"1g.10gb+", "an attribute is empty"},
           {"1g.10gb+me,", "an attribute is empty"},
           {"1g.10gb+me,me", "'me' is repeated"},
           {"1g.10gb+1me", "starts with a digit or a dot"},
           {"1g.10gb+.me", "starts with a digit or a dot"},
           {"1g.10gb+m_e", "a character other than"},
           {"1g.10gb+me-gfx", "both '+' and '-'"},
           {" 1g.10gb", "should be a number"},
           {"-1g.10gb", "it starts with '-'"},
           {"+1g.10gb", "it starts with '+'"},
           {"1g.10gb.me", "'1g' should be a number followed by 'c'"},
           {"99999999999g.10gb", "too large"},
           {"1g.100000gb", "too large"},
       }) {
    auto name = ParseProfileName(c.text);
    ASSERT_FALSE(name.ok()) << c.text;
    EXPECT_EQ(name.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(name.error().message.find(c.why), std::string::npos) << c.text << ": " << name.error().message;
    EXPECT_NE(name.error().message.find("such as 3g.40gb"), std::string::npos) << name.error().message;
  }
}

TEST(ParseProfileName, ControlCharactersAreEscapedInTheMessage) {
  auto name = ParseProfileName("1g.10gb\n+x");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().message.find('\n'), std::string::npos) << name.error().message;
  EXPECT_NE(name.error().message.find("'1g.10gb\\n+x'"), std::string::npos) << name.error().message;
}

}  // namespace
}  // namespace migctl::spec
