#include "launch/command_line.h"

#include <gtest/gtest.h>

#include <random>

namespace migctl {
namespace {

using Words = std::vector<std::string>;

Words Split(std::string_view line) {
  auto r = SplitCommandLine(line);
  EXPECT_TRUE(r.ok()) << line << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : Words{"<error>"};
}

TEST(SplitCommandLine, WhitespaceSeparatesWords) {
  EXPECT_EQ(Split("python  train.py\t--lr 1e-3\n--bs 64"),
            (Words{"python", "train.py", "--lr", "1e-3", "--bs", "64"}));
  EXPECT_EQ(Split(""), Words{});
  EXPECT_EQ(Split("   \t "), Words{});
}

TEST(SplitCommandLine, NothingIsExpanded) {
  EXPECT_EQ(Split("echo $HOME ~ *.py $(rm -rf /) `id` a;b a|b a&&b >out <in"),
            (Words{"echo", "$HOME", "~", "*.py", "$(rm", "-rf", "/)", "`id`", "a;b", "a|b", "a&&b", ">out",
                   "<in"}));
}

TEST(SplitCommandLine, SingleQuotesAreLiteral) {
  EXPECT_EQ(Split(R"('a b' 'x\"y' '$HOME \n')"), (Words{"a b", R"(x\"y)", R"($HOME \n)"}));
}

TEST(SplitCommandLine, DoubleQuotesEscapeOnlyQuoteBackslashDollarBacktickAndNewline) {
  EXPECT_EQ(Split(R"("a \"b\" \\ \$ \` \n \x")"), (Words{R"(a "b" \ $ ` \n \x)"}));
  EXPECT_EQ(Split("\"one\\\ntwo\""), (Words{"onetwo"}));
  EXPECT_EQ(Split(R"("it's")"), (Words{"it's"}));
}

TEST(SplitCommandLine, BackslashOutsideQuotesEscapesTheNextCharacter) {
  EXPECT_EQ(Split(R"(a\ b \' \" \\ \#x \$y)"), (Words{"a b", "'", "\"", "\\", "#x", "$y"}));
  EXPECT_EQ(Split("one\\\ntwo"), (Words{"onetwo"}));
}

TEST(SplitCommandLine, AdjacentQuotedPartsJoinAndEmptyQuotesAreAWord) {
  EXPECT_EQ(Split(R"(a'b c'd"e f"g)"), (Words{"ab cde fg"}));
  EXPECT_EQ(Split(R"('' "" x)"), (Words{"", "", "x"}));
}

TEST(SplitCommandLine, HashStartsACommentOnlyAtTheStartOfAWord) {
  EXPECT_EQ(Split("run a#b # the rest 'is ignored"), (Words{"run", "a#b"}));
  EXPECT_EQ(Split("# whole line"), Words{});
  EXPECT_EQ(Split("a # note\nb"), (Words{"a", "b"}));
  EXPECT_EQ(Split(R"('#' "#" ''#x)"), (Words{"#", "#", "#x"}));
}

TEST(SplitCommandLine, UnterminatedQuotesGiveTheColumnOfTheQuote) {
  struct Case {
    const char* line;
    const char* column;
  };
  for (const Case& c : {Case{"echo 'abc", "column 6"}, Case{"echo \"abc", "column 6"},
                        Case{R"(a "b\")", "column 3"}, Case{"x 'a' 'b", "column 7"}}) {
    auto r = SplitCommandLine(c.line);
    ASSERT_FALSE(r.ok()) << c.line;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(r.error().message.find(c.column), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("never closed"), std::string::npos) << r.error().message;
  }
}

TEST(SplitCommandLine, TrailingBackslashIsAnErrorWithItsColumn) {
  auto r = SplitCommandLine("echo abc\\");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  EXPECT_NE(r.error().message.find("column 9"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("backslash"), std::string::npos) << r.error().message;
}

TEST(QuoteWord, SafeWordsStayBare) {
  EXPECT_EQ(QuoteWord("train.py"), "train.py");
  EXPECT_EQ(QuoteWord("--lr=1e-3"), "--lr=1e-3");
  EXPECT_EQ(QuoteWord("/a/b:c,d@e%f+g_h"), "/a/b:c,d@e%f+g_h");
}

TEST(QuoteWord, EverythingElseIsSingleQuoted) {
  EXPECT_EQ(QuoteWord(""), "''");
  EXPECT_EQ(QuoteWord("a b"), "'a b'");
  EXPECT_EQ(QuoteWord("$HOME"), "'$HOME'");
  EXPECT_EQ(QuoteWord("#x"), "'#x'");
  EXPECT_EQ(QuoteWord("it's"), R"('it'\''s')");
  EXPECT_EQ(QuoteWord("~"), "'~'");
}

TEST(JoinCommandLine, QuotesEachWord) {
  EXPECT_EQ(JoinCommandLine({"echo", "a b", "", "x;y"}), "echo 'a b' '' 'x;y'");
  EXPECT_EQ(JoinCommandLine({}), "");
}

TEST(JoinCommandLine, SplitGivesBackTheSameWordsForRandomWords) {
  const std::string alphabet = "ab Z09_-=.,/:@%+ \t\n;|&$()<>*?\"'\\`#~!{}[]^\x01\x7f\xc3\xa9";
  std::mt19937 random(20261121);
  for (int round = 0; round < 5000; ++round) {
    Words words(random() % 6);
    for (std::string& word : words) {
      const size_t length = random() % 8;
      for (size_t i = 0; i < length; ++i) word += alphabet[random() % alphabet.size()];
    }
    const std::string line = JoinCommandLine(words);
    auto split = SplitCommandLine(line);
    ASSERT_TRUE(split.ok()) << line << ": " << split.error().message;
    ASSERT_EQ(*split, words) << line;
  }
}

}  // namespace
}  // namespace migctl
