// What `migctl run` prints while tasks run: every final result as a line on stdout (human, or one JSON object
// a line under --json), in finishing order or, with --ordered, in submission order; task output forwarded to
// stderr as `[task N] line`; the run's notes; and, on a terminal, one progress line on stderr that redraws
// itself. (The results journal is the run's own: launch/run.h.)
#pragma once

#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "launch/run.h"

namespace migctl {

struct RunReportOptions {
  bool json = false;
  bool ordered = false;
  bool progress = false;  ///< Draw the progress line (stderr is a terminal and not --json).
};

class RunReport final : public RunEvents {
 public:
  explicit RunReport(const RunReportOptions& options) : options_(options) {}

  void OnStart(const Task& task, const Worker& worker, unsigned attempt) override;
  void OnResult(const TaskResult& result) override;
  void OnOutput(const Task& task, const Worker& worker, std::string_view line) override;
  void OnWaiting(const Worker& worker, std::optional<pid_t> holder) override;
  void OnStopping(const std::string& why) override;
  void OnLingering(const Task& task, const Worker& worker, std::optional<pid_t> holder) override;
  void OnNote(const std::string& line) override;
  void OnBegin(const std::vector<Worker>& workers, const std::vector<Task>& tasks) override;

  /// Prints results still held back for --ordered (those after a task that never ran) and clears the
  /// progress line.
  void Flush();

 private:
  void Emit(const TaskResult& result);
  void Note(const std::string& line);  ///< A stderr line that does not garble the progress line.
  void DrawProgress();

  RunReportOptions options_;
  unsigned total_ = 0;                   ///< Tasks in this run (OnBegin).
  std::vector<unsigned> order_;          ///< Task ids in submission order, for --ordered (OnBegin).
  std::map<unsigned, TaskResult> held_;  ///< Final results waiting for earlier tasks.
  size_t next_ = 0;                      ///< Index into order_ of the next result to print.
  unsigned done_ = 0, failed_ = 0, running_ = 0;
  bool progress_shown_ = false;
};

}  // namespace migctl
