// Checks for numeric command-line options, attached to their declarations with `->check(...)`, so that a
// value no one could mean (nan, inf, a negative or overflowing number, a zero pid) is refused while parsing:
// one line, exit 2, before anything runs.
#pragma once

#include <CLI/CLI.hpp>

namespace migctl {

/// The longest time any option may ask for, a year: far beyond any sensible wait, and far below where a
/// conversion to nanoseconds would overflow.
inline constexpr double kMaxSeconds = 365.0 * 24 * 3600;

/// The shortest timeout worth asking for; a smaller one is a typo.
inline constexpr double kMinTimeoutSeconds = 0.001;

/// A number of seconds: a finite decimal number (`10`, `0.5`, `1e3`) from `min_s` to `max_s`. Refuses `nan`,
/// `inf`, a sign where `min_s` is 0, and anything out of range, with a message that gives the range.
CLI::Validator Seconds(double min_s, double max_s);

/// A whole number written in decimal digits only (no sign, no fraction, no exponent) from `min` to `max`.
/// Refuses overflow (`99999999999999999999`) instead of wrapping it.
CLI::Validator WholeNumber(unsigned long long min, unsigned long long max);

}  // namespace migctl
