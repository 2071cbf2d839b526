// Text that reaches a terminal or a log in one line: control characters made visible.
#pragma once

#include <string>
#include <string_view>

namespace migctl {

/// `text` with every control byte (below 0x20, and 0x7f) written as an escape: `\n`, `\r`, `\t`, and `\xHH`
/// (two lowercase hex digits, e.g. `\x1b` for ESC) for the others. Other bytes, UTF-8 included, pass
/// unchanged, so the result holds no line break and no terminal control sequence whatever `text` held. A
/// backslash is not doubled: the result is for people to read, not to be parsed back.
std::string EscapeControl(std::string_view text);

}  // namespace migctl
