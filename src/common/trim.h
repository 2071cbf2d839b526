// The one trim: a view of text without the given characters at either end.
#pragma once

#include <string_view>

namespace migctl {

/// Blank space as isspace() sees it in the C locale.
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";

/// `text` without any of `chars` at its start and end (empty when it holds nothing else). A view into
/// `text`: it must outlive the result.
std::string_view Trim(std::string_view text, std::string_view chars = kWhitespace);

}  // namespace migctl
