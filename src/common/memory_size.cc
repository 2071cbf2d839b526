#include "common/memory_size.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <limits>

#include "common/trim.h"

namespace migctl {
namespace {

constexpr unsigned long long kMibPerGib = 1024;
constexpr unsigned long long kMibPerTib = 1024 * 1024;
constexpr size_t kMaxFractionDigits = 9;

Error BadSize(std::string_view text, std::string_view why) {
  return MakeError(
      ErrorCode::kInvalidInput,
      fmt::format("bad memory size '{}': {}; write a number of MiB or a number with a unit, as in "
                  "512, 512M, 512MiB, 10G, 10GB, 10GiB, 1.5G or 1T",
                  text, why));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

/// MiB per unit for a unit spelling (`M`, `MB`, `MiB`, ..., case-insensitive; empty is MiB), 0 when it is
/// none.
unsigned long long UnitMib(std::string_view unit) {
  if (unit.empty()) return 1;
  std::string lower;
  for (char c : unit) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string_view suffix = std::string_view(lower).substr(1);
  if (suffix != "" && suffix != "b" && suffix != "ib") return 0;
  switch (lower[0]) {
    case 'm':
      return 1;
    case 'g':
      return kMibPerGib;
    case 't':
      return kMibPerTib;
    default:
      return 0;
  }
}

}  // namespace

Result<unsigned long long> ParseMemoryMib(std::string_view text) {
  const std::string_view s = Trim(text, " \t");
  constexpr unsigned long long kMax = std::numeric_limits<unsigned long long>::max();
  size_t pos = 0;
  unsigned long long whole = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    const unsigned digit = static_cast<unsigned>(s[pos] - '0');
    if (whole > (kMax - digit) / 10) return BadSize(text, "too large");
    whole = whole * 10 + digit;
    ++pos;
  }
  if (pos == 0) return BadSize(text, s.empty() ? "empty" : "it does not start with a number");
  unsigned long long fraction = 0, scale = 1;
  if (pos < s.size() && s[pos] == '.') {
    const size_t first = ++pos;
    while (pos < s.size() && IsDigit(s[pos])) {
      if (pos - first == kMaxFractionDigits) return BadSize(text, "too many decimals");
      fraction = fraction * 10 + static_cast<unsigned>(s[pos] - '0');
      scale *= 10;
      ++pos;
    }
    if (pos == first) return BadSize(text, "no digits after the '.'");
  }
  const std::string_view unit = Trim(s.substr(pos), " \t");
  const unsigned long long unit_mib = UnitMib(unit);
  if (unit_mib == 0) return BadSize(text, fmt::format("unknown unit '{}'", unit));
  if (whole > kMax / unit_mib) return BadSize(text, "too large");
  const unsigned long long fraction_mib = (fraction * unit_mib + scale - 1) / scale;  // Rounded up.
  if (whole * unit_mib > kMax - fraction_mib) return BadSize(text, "too large");
  const unsigned long long mib = whole * unit_mib + fraction_mib;
  if (mib == 0) return BadSize(text, "it must be more than 0");
  return mib;
}

std::string FormatMib(unsigned long long mib) {
  constexpr unsigned long long kQuarterGib = kMibPerGib / 4;
  if (mib < kMibPerGib || mib % kQuarterGib != 0) return fmt::format("{} MiB", mib);
  static const std::array<const char*, 4> kQuarters = {"", ".25", ".5", ".75"};
  return fmt::format("{}{} GiB", mib / kMibPerGib, kQuarters[(mib % kMibPerGib) / kQuarterGib]);
}

}  // namespace migctl
