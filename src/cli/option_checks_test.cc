#include "cli/option_checks.h"

#include <gtest/gtest.h>

#include <string>

namespace migctl {
namespace {

/// The error CLI11 reports for `--opt value`, or "" when it is accepted.
template <typename T>
std::string Refusal(const CLI::Validator& check, const std::string& value) {
  CLI::App app;
  T target{};
  app.add_option("--opt", target)->check(check);
  try {
    app.parse({value, "--opt"});  // CLI11 takes the words last first.
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return "";
}

TEST(Seconds, AcceptsFiniteValuesInRange) {
  for (const char* text : {"0", "0.5", "10", "1e3", "86400"})
    EXPECT_EQ(Refusal<double>(Seconds(0, 86400), text), "") << text;
}

// Regression: --lock-timeout nan|-1|-inf, --grace inf|nan and --timeout 0.0001 were accepted.
TEST(Seconds, RegressionNanInfNegativeAndTinyTimeoutsAreRefused) {
  for (const char* text : {"nan", "NaN", "inf", "-inf", "infinity", "-1", "1e400", "", "10s", " 1", "0x10"})
    EXPECT_NE(Refusal<double>(Seconds(0, 86400), text), "") << text;
  EXPECT_NE(Refusal<double>(Seconds(0.001, 86400), "0.0001"), "");
  EXPECT_NE(Refusal<double>(Seconds(0.001, 86400), "0"), "");
}

TEST(Seconds, TheMessageNamesTheOptionTheValueAndTheRange) {
  const std::string message = Refusal<double>(Seconds(0, 86400), "nan");
  EXPECT_NE(message.find("--opt"), std::string::npos) << message;
  EXPECT_NE(message.find("'nan' is not a number of seconds from 0 to 86400"), std::string::npos) << message;
}

TEST(WholeNumber, AcceptsDigitsInRange) {
  EXPECT_EQ(Refusal<unsigned>(WholeNumber(1, 4194304), "1"), "");
  EXPECT_EQ(Refusal<unsigned long long>(WholeNumber(0, 18446744073709551615ull), "18446744073709551615"), "");
}

// Regression: `sim init --seed` wrapped an overflowing seed and `sim attach --pid 0` was accepted.
TEST(WholeNumber, RegressionOverflowSignsAndZeroPidAreRefused) {
  const CLI::Validator seed = WholeNumber(0, 18446744073709551615ull);
  for (const char* text : {"18446744073709551616", "99999999999999999999999", "-1", "+1", "1.5", "1e3", ""})
    EXPECT_NE(Refusal<unsigned long long>(seed, text), "") << text;
  EXPECT_NE(Refusal<unsigned>(WholeNumber(1, 4194304), "0"), "");
  EXPECT_NE(Refusal<unsigned>(WholeNumber(1, 4194304), "4194305"), "");
}

}  // namespace
}  // namespace migctl
