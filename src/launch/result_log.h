// The results journal: one JSON object a line (`--results FILE`), appended as tasks finish, read back for
// `--resume`. Versioned (`"v": 1`); a line is written with one write(2) on an O_APPEND descriptor, so a
// killed migctl leaves whole lines, or at worst one torn last line, which reading tolerates and reopening
// repairs.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "launch/task.h"

namespace migctl {

using Json = nlohmann::ordered_json;

/// The version ResultToJson writes and the only one ResultFromJson reads.
inline constexpr int kResultLogVersion = 1;

enum class TaskStatus { kOk, kFailed, kKilled, kTimedOut, kNotStarted };

/// `ok`, `failed`, `killed`, `timeout`, `not-started`.
const char* TaskStatusName(TaskStatus status);

/// What became of one attempt at a task.
struct TaskResult {
  unsigned task = 0;     ///< Task::id.
  unsigned attempt = 1;  ///< 1-based.
  bool final = true;     ///< False: this attempt failed and the task will be retried.
  std::string command;   ///< Task::command.
  std::map<std::string, std::string> params;
  unsigned worker = 0;
  std::string device;  ///< The MIG UUID or GPU UUID the task ran on; empty when it did not start.
  std::string node;    ///< The Slurm node it ran on (`run --slurm`); empty for a local run.
  std::optional<unsigned> gpu;
  std::string profile;
  TaskStatus status = TaskStatus::kOk;
  std::optional<int> exit_status;  ///< When the child exited.
  std::optional<int> signal;       ///< When the child was killed by a signal.
  std::chrono::system_clock::time_point start{};
  double duration_s = 0;
  std::string log;    ///< Log file path, empty when none.
  Json output;        ///< The task's last stdout line when it parsed as a JSON object or array, else null.
  std::string error;  ///< Why it did not start or what went wrong, empty when none.
};

/// The journal line for `r`, keys in this order: v, task, attempt, final, status, command, params, worker,
/// device, node (null when empty), gpu, profile, exit_status, signal, signal_name (`SIGKILL`; derived, not
/// read back), start (UTC with milliseconds: `2026-11-21T10:00:00.123Z`), duration_s, log, output, error.
/// Absent optionals are null.
Json ResultToJson(const TaskResult& r);

/// Reads a journal line back. kCorrupt for a `v` other than kResultLogVersion (naming the versions known),
/// for a missing task, attempt, final, status, command or start, and for a field of the wrong type or value;
/// the other fields default when absent (journals written before `node` existed read with an empty node).
Result<TaskResult> ResultFromJson(const Json& json);

/// The last non-blank line of `output_tail`, when it parses as a JSON object or array (how a task returns a
/// value: `print(json.dumps(result))` last).
std::optional<Json> JsonFromLastLine(std::string_view output_tail);

/// An open journal. Append may be called from several threads: each line is one write on an O_APPEND
/// descriptor. Lines are not fsync'ed: they survive a killed migctl, not a lost host. One migctl at a time
/// should write a file (Open's repair assumes nobody else is mid-line).
class ResultLog {
 public:
  /// Opens `path` for appending, creating it (0644) when missing; its directory must exist (kNotFound
  /// otherwise, kIo for other failures). A torn last line left by a killed writer is cut off (or, when it is
  /// a complete record that only lost its newline, finished), so the next line starts clean.
  static Result<ResultLog> Open(const std::string& path);

  /// Appends ResultToJson(r) as one line; bytes that are not UTF-8 (a command is any bytes) are written as
  /// U+FFFD, and PendingTasks matches such a command against its original. kIo on failure (disk full, ...).
  Status Append(const TaskResult& r);

  const std::string& path() const { return path_; }

  ResultLog(ResultLog&& other) noexcept : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}
  ResultLog& operator=(ResultLog&& other) noexcept;
  ResultLog(const ResultLog&) = delete;
  ResultLog& operator=(const ResultLog&) = delete;
  ~ResultLog();

 private:
  ResultLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

/// What a journal says about earlier runs.
struct PriorResults {
  std::map<unsigned, std::string> commands;  ///< Task id -> its command, for every task with a line.
  std::set<unsigned> succeeded;              ///< Tasks with an `ok` line.
  unsigned lines = 0;                        ///< Result lines read (the torn one not counted).
  bool torn_tail = false;                    ///< The last line was unreadable (a writer killed mid-line).
};

/// Reads the journal at `path`; a missing file reads as empty. Blank lines are skipped and an unreadable last
/// line is tolerated (torn_tail). kCorrupt `FILE:LINE: ...` for an unreadable line elsewhere, a line
/// ResultFromJson rejects, or one task id with two different commands; kIo when it cannot be read.
Result<PriorResults> ReadResults(const std::string& path);

/// The tasks of `all` (in order) that `prior` does not record as succeeded. kInvalidInput when `prior`, read
/// from `path`, belongs to a different task list: a recorded task id that `all` lacks, or whose command
/// differs (both quoted in the message), so a resume never skips a task it did not run.
Result<std::vector<Task>> PendingTasks(const std::vector<Task>& all, const PriorResults& prior,
                                       const std::string& path);

}  // namespace migctl
