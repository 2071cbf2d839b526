// Command lines as text: shell-like word splitting with no expansion, and quoting that splits back exactly.
// Tasks are executed as argv vectors, never through a shell unless the user asks for one; this is how a task
// file's line becomes that vector, and how a vector is shown (and recorded for resume) as one line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace migctl {

/// Splits `line` into words the way a POSIX shell does, with no expansion of any kind (no variables, globs,
/// `~`, command substitution, redirections or operators: `$HOME`, `*`, `>` and `;` are ordinary characters).
/// Spaces, tabs and newlines separate words. Inside single quotes every character is literal. Inside double
/// quotes a backslash escapes only `"`, `\`, `$` and `` ` `` (and drops a newline after it); before any other
/// character it stays. Outside quotes a backslash makes the next character literal (a backslash-newline is
/// dropped). Quotes join with adjacent text into one word (`a'b c'd` is `ab cd`); `''` is an empty word. A
/// `#` at the start of a word comments out the rest of the line. kInvalidInput, giving the 1-based column,
/// for an unterminated quote or a trailing backslash.
Result<std::vector<std::string>> SplitCommandLine(std::string_view line);

/// `word` as one shell word: bare when it is non-empty and made only of letters, digits and `@%+=:,./_-`
/// (Python's shlex.quote set), else in single quotes with each `'` written as `'\''`.
std::string QuoteWord(std::string_view word);

/// The words quoted with QuoteWord and joined by single spaces. SplitCommandLine gives back exactly `words`,
/// and `/bin/sh` reads it as the same argv.
std::string JoinCommandLine(const std::vector<std::string>& words);

}  // namespace migctl
