// Where `migctl run`'s tasks come from: the command after `--` (repeated, or swept over `--param` values) or
// a task file (one command a line, or stdin). Pure: it reads the file it is given and nothing else.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "common/result.h"
#include "launch/task.h"

namespace migctl {

/// More tasks than this is taken for a sweep that exploded by mistake and refused before any is built.
inline constexpr unsigned long long kMaxTasks = 1'000'000;

/// A task file (or stdin) longer than this is refused rather than read: no task list is that long.
inline constexpr std::size_t kMaxTaskFileBytes = std::size_t{64} << 20;

struct TaskSourceOptions {
  /// The words after `--`; may hold `{name}` placeholders.
  std::vector<std::string> command;
  /// `--repeat N`: every task N times (consecutive ids). At least 1.
  unsigned repeat = 1;
  /// `--param name=v1,v2` (repeatable): a cartesian sweep, the first --param varying slowest. `\,` is a comma
  /// and `\\` a backslash inside a value.
  std::vector<std::string> params;
  /// `--tasks FILE`, `-` for stdin: one command a line.
  std::string tasks_file;
  /// `--shell`: run each task as {"/bin/sh", "-c", LINE}.
  bool shell = false;
  /// From `--per-task-memory` / `--task-profile`: what every task needs unless its file line says otherwise.
  TaskNeeds needs;
};

/// Builds the task list, ids 1..N in this order: for each file line (or the one command), for each --param
/// combination, for each repeat.
///
/// Templates. `{name}` (name: a letter or `_`, then letters, digits, `_`) is a placeholder for the --param of
/// that name; it must have one, and every --param must be used by every template (else each task would run as
/// many identical times as the unused param has values: a typo, not a sweep). `{{name}}` is a literal
/// `{name}`; every other brace is literal, so JSON such as `{"a": {"b": 1}}` passes untouched, and so is
/// `${name}` (shell syntax, never ours). Without --shell, substitution is per argv word and a value is
/// inserted as is: a value `a b; rm -rf /` stays one argument, executed by no shell; `Task::command` is
/// JoinCommandLine(argv). With --shell the template is the whole line (the words after `--` joined by spaces,
/// as `ssh` does) and each value is inserted quoted with QuoteWord, so its metacharacters stay literal inside
/// `sh -c`; don't quote a placeholder yourself there. `Task::command` is then the substituted line.
///
/// Task files. Blank lines and lines whose first non-blank character is `#` are skipped; a trailing `\r` is
/// dropped. Without --shell each line is split with SplitCommandLine (quoting does not stop substitution:
/// `'{x}'` is replaced too). A line may start with options for its task, each at most once: `@memory=SIZE`
/// (ParseMemoryMib) and `@profile=NAME`; they replace the same field of `options.needs`.
///
/// kInvalidInput for: neither or both of a command and --tasks; --repeat 0; a malformed --param (no `=`, a
/// bad or duplicate name, no values, an empty or repeated value); an undefined placeholder (named, with the
/// defined params); an unused --param; a line that does not split, has a bad option or options but no command
/// (file errors read `FILE:LINE: ...`, stdin is `<stdin>`); no tasks at all; more than kMaxTasks tasks; a
/// file or stdin longer than kMaxTaskFileBytes, or a directory (both read only up to the cap). kNotFound
/// when the file does not exist, kIo when it or stdin cannot be read.
Result<std::vector<Task>> LoadTasks(const TaskSourceOptions& options, std::istream& stdin_stream);

}  // namespace migctl
