// Quoting user-written text (a key, a label, a value) inside a one-line message.
#pragma once

#include <string>
#include <string_view>

namespace migctl::spec {

/// `text` in single quotes for a message: control characters (a newline in a quoted YAML key) are escaped as
/// `\n`, `\t` or `\xNN`, and text past 80 bytes is cut with `...`, so the message stays one readable line.
std::string Quote(std::string_view text);

}  // namespace migctl::spec
