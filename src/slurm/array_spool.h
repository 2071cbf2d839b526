// The spool of a `migctl run --slurm`: a directory on a file system that the submitting host and every node
// share, private to the user (0700; the elements run as the same user), through which the submitter hands
// each job-array element its task and gets its results back. Layout:
//
//   DIR/spec.json              the run spec (ArraySpec, versioned), written once, atomically, before sbatch
//   DIR/results/task-N.jsonl   task N's results journal (launch/result_log.h): one line per attempt, written
//                              by element N as each attempt ends
//   DIR/logs/task-N.log        task N's stdout and stderr (the default --logs directory)
//   DIR/slurm/N.out            Slurm's own output of element N (sbatch --output=DIR/slurm/%a.out): what
//                              `migctl exec` printed, and, when the element could not run its task, why
//
// The array index of an element is its task's id, so element N finds its task by id.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"
#include "launch/result_log.h"
#include "launch/task.h"

namespace migctl::slurm {

/// The version WriteSpec writes and the only one ReadSpec reads.
inline constexpr int kArraySpecVersion = 1;

/// What every element needs to run its task as a local `migctl run` would.
struct ArraySpec {
  std::vector<Task> tasks;  ///< The tasks of the array (those a resume left to run), each with its own id.
  std::string gres_type;    ///< The GRES type each element asked for (`3g.40gb`), for people.
  unsigned retries = 0;
  std::chrono::milliseconds timeout{0};  ///< Per attempt; 0: none.
  std::chrono::milliseconds grace{10000};
  std::string logs_dir;  ///< Absolute: where task-N.log goes.
  std::string workdir;   ///< Absolute: the submitter's working directory, where tasks run.
  bool operator==(const ArraySpec&) const = default;
};

/// The spec as JSON (`"v": kArraySpecVersion`, the tasks with id, command, argv, params and needs).
Json SpecToJson(const ArraySpec& spec);
/// Reads SpecToJson's form back. kCorrupt for another version (naming the versions), a missing or mistyped
/// field, a task id of 0 or one listed twice.
Result<ArraySpec> SpecFromJson(const Json& json);

/// Creates the spool `dir` (and results/, logs/, slurm/ in it) as a private directory (common/private_dir.h)
/// and returns its resolved absolute path. Its errors: one line naming the directory and what to do.
Result<std::string> CreateSpool(const std::string& dir);

/// Writes DIR/spec.json atomically (0600).
Status WriteSpec(const std::string& dir, const ArraySpec& spec);
/// Reads DIR/spec.json. kNotFound (saying it is not a spool of run --slurm) when it is missing; kCorrupt as
/// SpecFromJson, prefixed with the file.
Result<ArraySpec> ReadSpec(const std::string& dir);

std::string SpecPath(const std::string& dir);
std::string ResultsPath(const std::string& dir, unsigned task);
std::string LogsDir(const std::string& dir);
/// sbatch's --output: DIR/slurm/%a.out.
std::string SlurmOutputPattern(const std::string& dir);
std::string SlurmOutputPath(const std::string& dir, unsigned index);

/// The last non-blank line of element `index`'s Slurm output, control characters escaped, at most 300
/// bytes; empty when there is none (or the file cannot be read).
std::string LastOutputLine(const std::string& dir, unsigned index);

/// What CollectResults found since the last call.
struct NewResults {
  std::vector<TaskResult> results;    ///< In each journal's order; journals by task id.
  std::vector<std::string> problems;  ///< `FILE:LINE: ...` for a line that is not a result (skipped).
};

/// Reads the results the elements appended since the last call, complete lines only (an element may be
/// mid-write), keeping a read offset per journal. Not thread-safe.
class ResultCollector {
 public:
  explicit ResultCollector(std::string dir) : dir_(std::move(dir)) {}
  /// kIo when DIR/results cannot be listed.
  Result<NewResults> Collect();

 private:
  std::string dir_;
  std::map<std::string, std::uint64_t> offsets_;  ///< Journal file name -> bytes consumed.
  std::map<std::string, unsigned> lines_;         ///< Journal file name -> lines consumed.
};

}  // namespace migctl::slurm
