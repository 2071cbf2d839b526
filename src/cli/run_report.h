// What `migctl run` prints while tasks run: every final result as a line on stdout (human, or one JSON object
// a line under --json), in finishing order or, with --ordered, in submission order; each attempt appended to
// the results journal; task output forwarded to stderr as `[task N] line`; and, on a terminal, one progress
// line on stderr that redraws itself.
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "launch/result_log.h"
#include "launch/supervisor.h"

namespace migctl {

struct RunReportOptions {
  bool json = false;
  bool ordered = false;
  bool progress = false;  ///< Draw the progress line (stderr is a terminal and not --json).
  unsigned total = 0;     ///< Tasks in this run.
};

class RunReport final : public RunObserver {
 public:
  /// `journal` may be null (no --results/--resume). Holds references: both must outlive it.
  RunReport(const RunReportOptions& options, ResultLog* journal);

  void OnStart(const Task& task, const Worker& worker, unsigned attempt) override;
  void OnResult(const TaskResult& result) override;
  void OnOutput(const Task& task, const Worker& worker, std::string_view line) override;
  void OnWaiting(const Worker& worker, std::optional<pid_t> holder) override;
  void OnStopping(const std::string& why) override;

  /// Task ids in submission order, for --ordered.
  void SetOrder(std::vector<unsigned> ids) { order_ = std::move(ids); }
  /// Prints results still held back for --ordered (those after a task that never ran) and clears the
  /// progress line.
  void Flush();
  /// The first journal write error, if any (the run goes on; the command then fails).
  const std::optional<Error>& journal_error() const { return journal_error_; }

 private:
  void Emit(const TaskResult& result);
  void Note(const std::string& line);  ///< A stderr line that does not garble the progress line.
  void DrawProgress();

  RunReportOptions options_;
  ResultLog* journal_;
  std::optional<Error> journal_error_;
  std::vector<unsigned> order_;          ///< Task ids in submission order, for --ordered.
  std::map<unsigned, TaskResult> held_;  ///< Final results waiting for earlier tasks.
  size_t next_ = 0;                      ///< Index into order_ of the next result to print.
  unsigned done_ = 0, failed_ = 0, running_ = 0;
  bool progress_shown_ = false;
};

}  // namespace migctl
