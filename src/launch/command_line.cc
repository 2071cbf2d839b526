#include "launch/command_line.h"

#include <fmt/format.h>

namespace migctl {
namespace {

bool IsSeparator(char c) { return c == ' ' || c == '\t' || c == '\n'; }

bool IsSafeBare(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
}

Error SplitError(size_t index, std::string_view what) {
  return MakeError(ErrorCode::kInvalidInput, fmt::format("column {}: {}", index + 1, what));
}

}  // namespace

Result<std::vector<std::string>> SplitCommandLine(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // Distinguishes an empty quoted word ('') from no word.
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (IsSeparator(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '#' && !in_word) {
      while (i < line.size() && line[i] != '\n') ++i;
    } else if (c == '\\') {
      if (i + 1 == line.size()) return SplitError(i, "a backslash ends the line; write \\\\ for a backslash");
      if (line[i + 1] != '\n') {
        word += line[i + 1];
        in_word = true;
      }
      i += 2;
    } else if (c == '\'') {
      const size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) return SplitError(i, "this single quote is never closed");
      word.append(line.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      const size_t open = i++;
      for (;;) {
        if (i == line.size()) return SplitError(open, "this double quote is never closed");
        const char d = line[i];
        if (d == '"') break;
        if (d == '\\' && i + 1 < line.size() &&
            std::string_view("\"\\$`\n").find(line[i + 1]) != std::string_view::npos) {
          if (line[i + 1] != '\n') word += line[i + 1];
          i += 2;
        } else {
          word += d;
          ++i;
        }
      }
      in_word = true;
      ++i;
    } else {
      word += c;
      in_word = true;
      ++i;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

std::string QuoteWord(std::string_view word) {
  bool bare = !word.empty();
  for (char c : word) bare = bare && IsSafeBare(c);
  if (bare) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string JoinCommandLine(const std::vector<std::string>& words) {
  std::string line;
  for (const std::string& word : words) {
    if (!line.empty()) line += ' ';
    line += QuoteWord(word);
  }
  return line;
}

}  // namespace migctl
