#include "cli/option_checks.h"

#include <charconv>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace migctl {
namespace {

/// Prints a bound without a trailing `.000000`: 0.001, 10, 86400.
std::string Bound(double value) { return fmt::format("{}", value); }

}  // namespace

CLI::Validator Seconds(double min_s, double max_s) {
  const std::string range = fmt::format("from {} to {}", Bound(min_s), Bound(max_s));
  return CLI::Validator(
      [min_s, max_s, range](const std::string& text) -> std::string {
        double value = 0;
        const char* end = text.data() + text.size();
        auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || stop != end || !std::isfinite(value) || value < min_s || value > max_s)
          return fmt::format("'{}' is not a number of seconds {}", text, range);
        return std::string();
      },
      fmt::format("SECONDS {}", range));
}

CLI::Validator WholeNumber(unsigned long long min, unsigned long long max) {
  const std::string range = fmt::format("from {} to {}", min, max);
  return CLI::Validator(
      [min, max, range](const std::string& text) -> std::string {
        unsigned long long value = 0;
        const char* end = text.data() + text.size();
        auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec != std::errc() || stop != end || value < min || value > max)
          return fmt::format("'{}' is not a whole number {}", text, range);
        return std::string();
      },
      fmt::format("{}", range));
}

}  // namespace migctl
