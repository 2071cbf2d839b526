#include "launch/task_source.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "common/file_io.h"
#include "common/memory_size.h"
#include "common/trim.h"
#include "launch/command_line.h"

namespace migctl {
namespace {

struct Param {
  std::string name;
  std::vector<std::string> values;
};

/// Text with placeholders: literal pieces and `{name}` pieces, in order.
struct Template {
  struct Piece {
    bool placeholder = false;
    std::string text;  ///< The literal text, or the param name.
  };
  std::vector<Piece> pieces;
};

/// One line of the task file, or the command: what it executes and needs, and where it came from.
struct TaskTemplate {
  std::string where;            ///< `FILE:LINE: ` for a file line, empty for the command.
  std::vector<Template> words;  ///< Without --shell one per argv word; with --shell one, the whole line.
  TaskNeeds needs;
};

Error Invalid(const std::string& message) { return MakeError(ErrorCode::kInvalidInput, message); }

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

/// Length of the name at the start of `text`, 0 when there is none.
size_t NameLength(std::string_view text) {
  if (text.empty() || !IsNameStart(text[0])) return 0;
  size_t n = 1;
  while (n < text.size() && IsNameChar(text[n])) ++n;
  return n;
}

bool IsName(std::string_view text) { return !text.empty() && NameLength(text) == text.size(); }

/// If `text` starts with `{name}`, the length of the name, else 0.
size_t PlaceholderNameLength(std::string_view text) {
  if (text.empty() || text[0] != '{') return 0;
  const size_t n = NameLength(text.substr(1));
  return n > 0 && n + 1 < text.size() && text[n + 1] == '}' ? n : 0;
}

Template ParseTemplate(std::string_view text) {
  Template t;
  auto literal = [&t](std::string_view s) {
    if (t.pieces.empty() || t.pieces.back().placeholder) t.pieces.push_back({false, ""});
    t.pieces.back().text += s;
  };
  size_t i = 0;
  while (i < text.size()) {
    const bool after_dollar = i > 0 && text[i - 1] == '$';
    size_t n = 0;
    if (text.substr(i, 2) == "{{" && (n = PlaceholderNameLength(text.substr(i + 1))) > 0 &&
        text.substr(i + n + 3, 1) == "}") {
      literal(text.substr(i + 1, n + 2));  // `{{name}}` is the literal `{name}`.
      i += n + 4;
    } else if (!after_dollar && (n = PlaceholderNameLength(text.substr(i))) > 0) {
      t.pieces.push_back({true, std::string(text.substr(i + 1, n))});
      i += n + 2;
    } else {
      literal(text.substr(i, 1));
      ++i;
    }
  }
  return t;
}

/// A --param's values: split on commas, `\,` and `\\` escaped.
std::vector<std::string> SplitValues(std::string_view text) {
  std::vector<std::string> values(1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == ',' || text[i + 1] == '\\')) {
      values.back() += text[++i];
    } else if (text[i] == ',') {
      values.emplace_back();
    } else {
      values.back() += text[i];
    }
  }
  return values;
}

Result<std::vector<Param>> ParseParams(const std::vector<std::string>& specs) {
  std::vector<Param> params;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos)
      return Invalid(fmt::format("--param '{}': write NAME=VALUE1,VALUE2,...", spec));
    Param param{spec.substr(0, eq), {}};
    if (!IsName(param.name))
      return Invalid(fmt::format(
          "--param '{}': the name must be letters, digits and _, not starting with a digit", spec));
    for (const Param& p : params)
      if (p.name == param.name) return Invalid(fmt::format("--param {} is given twice", param.name));
    if (eq + 1 == spec.size())
      return Invalid(
          fmt::format("--param {} has no values; write {}=VALUE1,VALUE2,...", param.name, param.name));
    param.values = SplitValues(std::string_view(spec).substr(eq + 1));
    std::set<std::string> seen;
    for (const std::string& value : param.values) {
      if (value.empty())
        return Invalid(fmt::format("--param {} has an empty value in '{}'", param.name, spec));
      if (!seen.insert(value).second)
        return Invalid(
            fmt::format("--param {} has the value '{}' twice; use --repeat to run a task more than once",
                        param.name, value));
    }
    params.push_back(std::move(param));
  }
  return params;
}

/// Checks that `t` uses exactly the defined params.
Status CheckPlaceholders(const TaskTemplate& t, const std::vector<Param>& params) {
  std::set<std::string> used;
  for (const Template& word : t.words)
    for (const Template::Piece& piece : word.pieces)
      if (piece.placeholder) used.insert(piece.text);
  std::vector<std::string> defined;
  for (const Param& p : params) defined.push_back(p.name);
  for (const std::string& name : used)
    if (std::find(defined.begin(), defined.end(), name) == defined.end())
      return Invalid(fmt::format(
          "{}{{{}}} has no --param {} ({}); write {{{{{}}}}} for a literal {{{}}}", t.where, name, name,
          defined.empty() ? "no --param given" : fmt::format("defined: {}", fmt::join(defined, ", ")), name,
          name));
  for (const Param& p : params)
    if (!used.count(p.name))
      return Invalid(fmt::format(
          "{}--param {} is not used: {} has no {{{}}}, so each of its tasks would run {} identical times",
          t.where, p.name, t.where.empty() ? "the command" : "this line", p.name, p.values.size()));
  return Ok();
}

Status ParseTaskOption(std::string_view word, const std::string& where, TaskNeeds& needs,
                       std::set<std::string>& seen) {
  const size_t eq = word.find('=');
  const std::string name(word.substr(1, eq == std::string_view::npos ? word.size() - 1 : eq - 1));
  if (eq == std::string_view::npos || (name != "memory" && name != "profile"))
    return Invalid(fmt::format("{}unknown task option '{}'; the options are @memory=SIZE and @profile=NAME",
                               where, word));
  if (!seen.insert(name).second) return Invalid(fmt::format("{}@{} is given twice", where, name));
  const std::string_view value = word.substr(eq + 1);
  if (name == "profile") {
    if (value.empty()) return Invalid(where + "@profile needs a profile name, as in @profile=3g.40gb");
    needs.profile = std::string(value);
    return Ok();
  }
  auto mib = ParseMemoryMib(value);
  if (!mib.ok()) return mib.error().WithContext(where + "@memory: ");
  needs.memory_mib = *mib;
  return Ok();
}

/// One non-blank, non-comment task file line as a template; `where` is its `FILE:LINE: ` prefix.
Result<TaskTemplate> ParseTaskLine(std::string_view line, std::string where,
                                   const TaskSourceOptions& options) {
  TaskTemplate t{std::move(where), {}, options.needs};
  std::set<std::string> seen;
  if (options.shell) {
    while (!line.empty() && line[0] == '@') {
      const size_t end = line.find_first_of(" \t");
      MIGCTL_RETURN_IF_ERROR(ParseTaskOption(line.substr(0, end), t.where, t.needs, seen));
      line = Trim(end == std::string_view::npos ? std::string_view() : line.substr(end), " \t");
    }
    if (line.empty() || line[0] == '#') return Invalid(t.where + "task options but no command");
    t.words.push_back(ParseTemplate(line));
    return t;
  }
  auto words = SplitCommandLine(line);
  if (!words.ok()) return words.error().WithContext(t.where);
  auto word = words->begin();
  for (; word != words->end() && !word->empty() && (*word)[0] == '@'; ++word)
    MIGCTL_RETURN_IF_ERROR(ParseTaskOption(*word, t.where, t.needs, seen));
  if (word == words->end()) return Invalid(t.where + "task options but no command");
  for (; word != words->end(); ++word) t.words.push_back(ParseTemplate(*word));
  return t;
}

/// All of `in`, at most `max_bytes`: a stdin that never ends (`--tasks - < /dev/zero`) is an error, not an
/// endless read.
Result<std::string> ReadStream(std::istream& in, std::size_t max_bytes) {
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes)
      return Invalid(
          fmt::format("--tasks -: stdin holds more than {} MiB, far more than any task list; check "
                      "what is piped in",
                      max_bytes >> 20));
  }
  if (in.bad()) return MakeError(ErrorCode::kIo, "cannot read the tasks from stdin");
  return text;
}

Result<std::vector<TaskTemplate>> ReadTaskFile(const TaskSourceOptions& options, std::istream& stdin_stream) {
  std::string text;
  std::string name = options.tasks_file;
  if (name == "-") {
    name = "<stdin>";
    MIGCTL_ASSIGN_OR_RETURN(text, ReadStream(stdin_stream, kMaxTaskFileBytes));
  } else {
    auto file = ReadFile(name, kMaxTaskFileBytes);
    if (!file.ok()) return file.error().WithContext("--tasks: ");
    text = std::move(*file);
  }
  std::vector<TaskTemplate> templates;
  std::istringstream lines(text);
  std::string line;
  for (unsigned number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string_view trimmed = Trim(line, " \t");
    if (trimmed.empty() || trimmed[0] == '#') continue;
    MIGCTL_ASSIGN_OR_RETURN(TaskTemplate t,
                            ParseTaskLine(trimmed, fmt::format("{}:{}: ", name, number), options));
    templates.push_back(std::move(t));
  }
  if (templates.empty()) return Invalid(name + ": no tasks (only blank and comment lines)");
  return templates;
}

std::string Expand(const Template& t, const std::map<std::string, std::string>& values, bool quote) {
  std::string out;
  for (const Template::Piece& piece : t.pieces) {
    if (!piece.placeholder) {
      out += piece.text;
    } else {
      const std::string& value = values.at(piece.text);
      out += quote ? QuoteWord(value) : value;
    }
  }
  return out;
}

unsigned long long SaturatingProduct(unsigned long long a, unsigned long long b) {
  return b != 0 && a > kMaxTasks / b ? kMaxTasks + 1 : a * b;
}

}  // namespace

Result<std::vector<Task>> LoadTasks(const TaskSourceOptions& options, std::istream& stdin_stream) {
  const bool has_command = !options.command.empty(), has_file = !options.tasks_file.empty();
  if (has_command == has_file)
    return Invalid(has_command ? "give a command after -- or --tasks FILE, not both"
                               : "give a command after -- or --tasks FILE");
  if (options.repeat == 0) return Invalid("--repeat must be at least 1");
  MIGCTL_ASSIGN_OR_RETURN(std::vector<Param> params, ParseParams(options.params));

  std::vector<TaskTemplate> templates;
  if (has_file) {
    MIGCTL_ASSIGN_OR_RETURN(templates, ReadTaskFile(options, stdin_stream));
  } else {
    TaskTemplate t{"", {}, options.needs};
    if (options.shell) {
      t.words.push_back(ParseTemplate(fmt::format("{}", fmt::join(options.command, " "))));
    } else {
      for (const std::string& word : options.command) t.words.push_back(ParseTemplate(word));
    }
    templates.push_back(std::move(t));
  }
  for (const TaskTemplate& t : templates) MIGCTL_RETURN_IF_ERROR(CheckPlaceholders(t, params));

  unsigned long long combinations = 1;
  for (const Param& p : params) combinations = SaturatingProduct(combinations, p.values.size());
  const unsigned long long total =
      SaturatingProduct(SaturatingProduct(templates.size(), combinations), options.repeat);
  if (total > kMaxTasks)
    return Invalid(
        fmt::format("that is more than {} tasks ({} command(s) x {} --param combination(s) x --repeat {}); "
                    "split the sweep",
                    kMaxTasks, templates.size(), combinations, options.repeat));

  std::vector<Task> tasks;
  tasks.reserve(total);
  for (const TaskTemplate& t : templates) {
    for (unsigned long long c = 0; c < combinations; ++c) {
      std::map<std::string, std::string> values;
      unsigned long long rest = c;
      for (auto p = params.rbegin(); p != params.rend(); ++p) {  // The last --param varies fastest.
        values[p->name] = p->values[rest % p->values.size()];
        rest /= p->values.size();
      }
      Task task;
      task.params = values;
      task.needs = t.needs;
      if (options.shell) {
        task.command = Expand(t.words.front(), values, true);
        task.argv = {"/bin/sh", "-c", task.command};
      } else {
        for (const Template& word : t.words) task.argv.push_back(Expand(word, values, false));
        task.command = JoinCommandLine(task.argv);
      }
      for (unsigned r = 0; r < options.repeat; ++r) {
        task.id = static_cast<unsigned>(tasks.size() + 1);
        tasks.push_back(task);
      }
    }
  }
  return tasks;
}

}  // namespace migctl
