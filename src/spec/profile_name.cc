#include "spec/profile_name.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "spec/quote.h"

namespace migctl::spec {
namespace {

constexpr unsigned kMaxField =
    99999;  ///< Far above any real profile; keeps later arithmetic from overflowing.

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

/// Why `attributes` (the text after `+` or `-`) is not a valid list, or "" when it is.
std::string CheckAttributes(std::string_view attributes) {
  std::vector<std::string_view> seen;
  for (std::string_view attribute : Split(attributes, ',')) {
    if (attribute.empty()) return "an attribute is empty";
    if (std::isdigit(static_cast<unsigned char>(attribute[0])) || attribute[0] == '.')
      return fmt::format("attribute {} starts with a digit or a dot", Quote(attribute));
    bool alphanumeric = std::all_of(attribute.begin(), attribute.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.';
    });
    if (!alphanumeric)
      return fmt::format("attribute {} has a character other than a-z, 0-9 and '.'", Quote(attribute));
    if (std::find(seen.begin(), seen.end(), attribute) != seen.end())
      return fmt::format("attribute {} is repeated", Quote(attribute));
    seen.push_back(attribute);
  }
  return "";
}

/// Parses `<number><unit>` (e.g. `3g`) into `out`; returns why not, or "".
std::string ParseField(std::string_view field, std::string_view unit, unsigned* out) {
  if (!field.ends_with(unit) || field.size() == unit.size())
    return fmt::format("{} should be a number followed by '{}'", Quote(field), unit);
  std::string_view digits = field.substr(0, field.size() - unit.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
  if (ec == std::errc::result_out_of_range || (ec == std::errc() && *out > kMaxField))
    return fmt::format("{} is too large", Quote(field));
  if (ec != std::errc() || end != digits.data() + digits.size())
    return fmt::format("{} should be a number followed by '{}'", Quote(field), unit);
  if (*out == 0) return fmt::format("{} is zero", Quote(field));
  return "";
}

std::string Why(std::string_view text, ProfileName* name) {
  if (text.empty()) return "it is empty";
  size_t plus = text.find('+');
  size_t minus = text.find('-');
  if (plus != std::string_view::npos && minus != std::string_view::npos)
    return "it has both '+' and '-' attributes";
  size_t attributes_at = std::min(plus, minus);
  if (attributes_at == 0) return fmt::format("it starts with '{}'", text[0]);
  std::vector<std::string_view> fields = Split(text.substr(0, attributes_at), '.');
  if (fields.size() != 2 && fields.size() != 3) return "it should have 2 or 3 dot-separated parts";
  name->has_ci_part = fields.size() == 3;
  if (name->has_ci_part) {
    std::string why = ParseField(fields[0], "c", &name->ci_slices);
    if (!why.empty()) return why;
    fields.erase(fields.begin());
  }
  std::string why = ParseField(fields[0], "g", &name->gi_slices);
  if (why.empty()) why = ParseField(fields[1], "gb", &name->memory_gb);
  if (!why.empty()) return why;
  if (attributes_at != std::string_view::npos) {
    why = CheckAttributes(text.substr(attributes_at + 1));
    if (!why.empty()) return why;
  }
  if (!name->has_ci_part) name->ci_slices = name->gi_slices;
  if (name->ci_slices > name->gi_slices)
    return fmt::format("a compute instance of {} slices does not fit in a GPU instance of {}",
                       name->ci_slices, name->gi_slices);
  name->gi_name = fmt::format("{}g.{}gb", name->gi_slices, name->memory_gb);
  if (attributes_at != std::string_view::npos) name->gi_name += text.substr(attributes_at);
  return "";
}

}  // namespace

std::string ProfileName::Canonical() const {
  return ci_slices == gi_slices ? gi_name : fmt::format("{}c.{}", ci_slices, gi_name);
}

Result<ProfileName> ParseProfileName(std::string_view written) {
  ProfileName name;
  name.text = std::string(written);
  for (char& c : name.text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string why = Why(name.text, &name);
  if (!why.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{} is not a MIG profile name: {}; write [<C>c.]<G>g.<GB>gb[+attribute] "
                                 "such as 3g.40gb, 1c.3g.40gb or 1g.10gb+me",
                                 Quote(written), why));
  return name;
}

}  // namespace migctl::spec
