#include "slurm/slurm_conf.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include <fmt/format.h>

#include "common/trim.h"

namespace migctl::slurm {
namespace {

constexpr std::string_view kSpace = " \t\r";

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Unquote(std::string_view s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::optional<unsigned long> ParseNumber(std::string_view s) {
  unsigned long value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

/// Splits at the commas that are outside `[...]` and `(...)`.
std::vector<std::string_view> SplitTopLevel(std::string_view s) {
  std::vector<std::string_view> parts;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[' || s[i] == '(') ++depth;
    if ((s[i] == ']' || s[i] == ')') && depth > 0) --depth;
    if (s[i] == ',' && depth == 0) {
      parts.push_back(s.substr(begin, i - begin));
      begin = i + 1;
    }
  }
  parts.push_back(s.substr(begin));
  return parts;
}

/// One `pattern` of a host list (no top-level comma) against `host`, bracket by bracket.
bool PatternNames(std::string_view pattern, std::string_view host) {
  const size_t open = pattern.find('[');
  const size_t close = open == std::string_view::npos ? open : pattern.find(']', open);
  if (close == std::string_view::npos) return pattern == host;
  const std::string_view prefix = pattern.substr(0, open);
  if (!host.starts_with(prefix)) return false;
  host.remove_prefix(prefix.size());
  const std::string_view rest = pattern.substr(close + 1);
  size_t digits = 0;
  while (digits < host.size() && std::isdigit(static_cast<unsigned char>(host[digits]))) ++digits;
  for (std::string_view range : SplitTopLevel(pattern.substr(open + 1, close - open - 1))) {
    const size_t dash = range.find('-');
    const std::string_view lo_text = range.substr(0, dash);
    const std::optional<unsigned long> lo = ParseNumber(lo_text);
    const std::optional<unsigned long> hi =
        dash == std::string_view::npos ? lo : ParseNumber(range.substr(dash + 1));
    if (!lo || !hi) continue;
    for (size_t k = 1; k <= digits; ++k) {
      const std::optional<unsigned long> n = ParseNumber(host.substr(0, k));
      if (n && *n >= *lo && *n <= *hi && fmt::format("{:0{}}", *n, lo_text.size()) == host.substr(0, k) &&
          PatternNames(rest, host.substr(k)))
        return true;
    }
  }
  return false;
}

/// A `Key=value` setting of a line; offsets are into the statement's text.
struct Setting {
  size_t begin = 0;
  size_t end = 0;
  size_t value_begin = 0;
  std::string_view key;
  std::string_view value;
};

/// One statement: a line, or lines joined by a trailing `\`, without its comments.
struct Statement {
  unsigned first_line = 0;  ///< 1-based.
  unsigned lines = 1;
  std::string text;
  std::vector<Setting> settings;  ///< Views into `text`.

  const Setting* Find(std::string_view key) const {
    for (const Setting& s : settings)
      if (EqualsIgnoringCase(s.key, key)) return &s;
    return nullptr;
  }
};

/// Where a comment starts (`#` not escaped as `\#`), or the line's end.
size_t CommentStart(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || line[i - 1] != '\\')) return i;
  return line.size();
}

std::vector<Setting> Settings(std::string_view s) {
  std::vector<Setting> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    const size_t begin = i;
    bool quoted = false;
    while (i < s.size() && (quoted || !std::isspace(static_cast<unsigned char>(s[i])))) {
      if (s[i] == '"') quoted = !quoted;
      ++i;
    }
    const std::string_view word = s.substr(begin, i - begin);
    const size_t eq = word.find('=');
    Setting setting{begin, i, eq == std::string_view::npos ? i : begin + eq + 1, word.substr(0, eq), {}};
    if (eq != std::string_view::npos) setting.value = Unquote(word.substr(eq + 1));
    out.push_back(setting);
  }
  return out;
}

/// A physical line: where it starts and ends in the file (`end` past its newline, if it has one).
struct Line {
  size_t begin = 0;
  size_t end = 0;
  std::string_view text;  ///< Without the newline.
};

struct Parsed {
  std::vector<Line> lines;
  std::vector<Statement> statements;
};

Parsed Parse(std::string_view text) {
  Parsed p;
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    const size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    p.lines.push_back({pos, end, text.substr(pos, (nl == std::string_view::npos ? text.size() : nl) - pos)});
    pos = end;
  }
  bool continued = false;
  for (size_t i = 0; i < p.lines.size(); ++i) {
    std::string_view body = p.lines[i].text.substr(0, CommentStart(p.lines[i].text));
    body = body.substr(0, body.find_last_not_of(kSpace) + 1);
    const bool continues = !body.empty() && body.back() == '\\';
    if (continues) body.remove_suffix(1);
    if (continued) {
      p.statements.back().lines++;
      p.statements.back().text += " " + std::string(body);
    } else {
      p.statements.push_back({static_cast<unsigned>(i + 1), 1, std::string(body), {}});
    }
    continued = continues;
  }
  for (Statement& s : p.statements) s.settings = Settings(s.text);
  return p;
}

Error Refuse(std::string_view file, unsigned line, const std::string& what) {
  return MakeError(ErrorCode::kInvalidInput, fmt::format("{} line {}: {}", file, line, what));
}

/// The statement of `node`'s own NodeName= line, and its index.
Result<size_t> FindNodeStatement(const Parsed& conf, std::string_view node, std::string_view file) {
  std::optional<size_t> found;
  for (size_t i = 0; i < conf.statements.size(); ++i) {
    const Statement& s = conf.statements[i];
    if (s.settings.empty() || !EqualsIgnoringCase(s.settings[0].key, "NodeName")) continue;
    const std::string_view names = s.settings[0].value;
    if (names == node) {
      if (found) {
        return Refuse(file, s.first_line,
                      fmt::format("a second NodeName={} line (the first is line {}): keep one", node,
                                  conf.statements[*found].first_line));
      }
      if (s.lines > 1) {
        return Refuse(
            file, s.first_line,
            fmt::format("the NodeName={} line continues with \\ onto the next line: join it into one "
                        "line so that migctl can edit its Gres=",
                        node));
      }
      found = i;
    } else if (HostListNames(names, node)) {
      return Refuse(
          file, s.first_line,
          fmt::format("{} is defined together with other nodes (NodeName={}): give {} a NodeName line "
                      "of its own, so that its Gres= can follow its own layout",
                      node, names, node));
    }
  }
  if (!found) {
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("{} has no NodeName={} line (is it in an Include file? migctl edits only the "
                    "file given by --slurm-conf); add the node's line there, or pass --node with its "
                    "Slurm name",
                    file, node));
  }
  return *found;
}

}  // namespace

bool HostListNames(std::string_view list, std::string_view host) {
  list = Unquote(Trim(list, kSpace));
  for (std::string_view pattern : SplitTopLevel(list))
    if (PatternNames(Trim(pattern, kSpace), host)) return true;
  return false;
}

std::map<std::string, unsigned> GpuCounts(std::string_view gres) {
  std::map<std::string, unsigned> counts;
  for (std::string_view entry : SplitTopLevel(Unquote(Trim(gres, kSpace)))) {
    entry = Trim(entry.substr(0, entry.find('(')), kSpace);
    std::vector<std::string_view> parts;
    for (size_t colon; (colon = entry.find(':')) != std::string_view::npos; entry.remove_prefix(colon + 1))
      parts.push_back(entry.substr(0, colon));
    parts.push_back(entry);
    if (!EqualsIgnoringCase(parts[0], "gpu")) continue;
    std::string type;
    unsigned long count = 1;
    if (parts.size() == 2) {
      if (std::optional<unsigned long> n = ParseNumber(parts[1])) {
        count = *n;
      } else {
        type = parts[1];
      }
    } else if (parts.size() >= 3) {
      type = parts[1];
      count = ParseNumber(parts[2]).value_or(0);
    }
    counts[type] += static_cast<unsigned>(count);
  }
  return counts;
}

Result<NodeLine> FindNodeLine(std::string_view slurm_conf, std::string_view node, std::string_view file) {
  const Parsed conf = Parse(slurm_conf);
  MIGCTL_ASSIGN_OR_RETURN(size_t index, FindNodeStatement(conf, node, file));
  const Statement& s = conf.statements[index];
  const Setting* gres = s.Find("Gres");
  return NodeLine{s.first_line, gres == nullptr ? std::string() : std::string(gres->value)};
}

Result<std::string> SetNodeGres(std::string_view slurm_conf, std::string_view node, std::string_view gpu_gres,
                                std::string_view file) {
  const Parsed conf = Parse(slurm_conf);
  MIGCTL_ASSIGN_OR_RETURN(size_t index, FindNodeStatement(conf, node, file));
  const Statement& s = conf.statements[index];
  const size_t line_begin = conf.lines[s.first_line - 1].begin;
  std::string value(gpu_gres);
  const Setting* gres = s.Find("Gres");
  if (gres != nullptr) {
    for (std::string_view entry : SplitTopLevel(gres->value)) {
      const std::string_view name = Trim(entry.substr(0, entry.find(':')), kSpace);
      if (!entry.empty() && !EqualsIgnoringCase(name, "gpu")) value += "," + std::string(Trim(entry, kSpace));
    }
  }
  std::string out(slurm_conf);
  if (gres != nullptr) {
    out.replace(line_begin + gres->value_begin, gres->end - gres->value_begin, value);
  } else {
    out.insert(line_begin + s.settings.back().end, " Gres=" + value);
  }
  return out;
}

Result<GresConfEdit> ReplaceNodeGresLines(std::string_view gres_conf, std::string_view node,
                                          std::string_view new_lines, std::string_view file) {
  const Parsed conf = Parse(gres_conf);
  std::vector<bool> remove(conf.lines.size(), false);
  GresConfEdit edit;
  const std::string comment = fmt::format("# {}: ", node);
  for (const Statement& s : conf.statements) {
    const Setting* names = s.Find("NodeName");
    const bool this_node = names != nullptr && names->value == node;
    const bool includes_node = names == nullptr || HostListNames(names->value, node);
    if (const Setting* autodetect = s.Find("AutoDetect");
        autodetect != nullptr && !EqualsIgnoringCase(autodetect->value, "off") && includes_node) {
      return Refuse(
          file, s.first_line,
          fmt::format("AutoDetect={} applies to {}: slurmd then finds the GPUs itself, and its devices "
                      "and names would disagree with the File= lines migctl writes; remove it or set "
                      "AutoDetect=off for {}",
                      autodetect->value, node, node));
    }
    const Setting* name = s.Find("Name");
    if (name != nullptr && EqualsIgnoringCase(name->value, "gpu")) {
      if (names == nullptr) {
        return Refuse(
            file, s.first_line,
            "this Name=gpu line has no NodeName=, so it applies to every node; add NodeName= to it so "
            "that each node's GPUs are its own");
      }
      if (this_node && s.lines > 1) {
        return Refuse(
            file, s.first_line,
            fmt::format("a GPU line of {} continues with \\ onto the next line: join it into one line",
                        node));
      }
      if (this_node) {
        remove[s.first_line - 1] = true;
        edit.old_lines.emplace_back(Trim(conf.lines[s.first_line - 1].text, kSpace));
      } else if (includes_node) {
        return Refuse(file, s.first_line,
                      fmt::format("{}'s GPUs are described together with other nodes (NodeName={}): give {} "
                                  "lines of its own",
                                  node, names->value, node));
      }
    }
    if (s.lines == 1 && s.text.empty() && Trim(conf.lines[s.first_line - 1].text, kSpace).starts_with(comment))
      remove[s.first_line - 1] = true;
  }
  for (const Line& line : Parse(new_lines).lines) {
    const std::string_view text = Trim(line.text, kSpace);
    if (!text.empty() && !text.starts_with('#')) edit.new_lines.emplace_back(text);
  }
  const auto first = std::find(remove.begin(), remove.end(), true);
  if (first == remove.end()) {
    edit.text = gres_conf;
    if (!edit.text.empty() && edit.text.back() != '\n') edit.text += '\n';
    edit.text += new_lines;
    return edit;
  }
  for (size_t i = 0; i < conf.lines.size(); ++i) {
    if (i == static_cast<size_t>(first - remove.begin())) edit.text += new_lines;
    if (!remove[i])
      edit.text += gres_conf.substr(conf.lines[i].begin, conf.lines[i].end - conf.lines[i].begin);
  }
  return edit;
}

const char* GresChangeName(GresChange change) {
  switch (change) {
    case GresChange::kInSync:
      return "in_sync";
    case GresChange::kSameCounts:
      return "same_counts";
    case GresChange::kCountsChanged:
      return "counts_changed";
  }
  return "counts_changed";
}

GresChange ClassifyChange(std::string_view current_gres, std::string_view desired_gres,
                          const std::vector<std::string>& current_lines,
                          const std::vector<std::string>& desired_lines) {
  if (GpuCounts(current_gres) != GpuCounts(desired_gres)) return GresChange::kCountsChanged;
  if (current_lines != desired_lines) return GresChange::kSameCounts;
  return GresChange::kInSync;
}

}  // namespace migctl::slurm
