#include "cli/run_report.h"

#include <fmt/format.h>

#include "common/child_process.h"

namespace migctl {
namespace {

std::string Params(const std::map<std::string, std::string>& params) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : params) parts.push_back(name + "=" + value);
  return parts.empty() ? "" : fmt::format(" ({})", fmt::join(parts, " "));
}

std::string Outcome(const TaskResult& r) {
  switch (r.status) {
    case TaskStatus::kOk:
      return "ok";
    case TaskStatus::kFailed:
      return fmt::format("FAILED (exit status {})", r.exit_status.value_or(-1));
    case TaskStatus::kKilled:
      return fmt::format("KILLED ({}{})", r.signal ? SignalName(*r.signal) : "signal",
                         r.error.empty() ? "" : ", " + r.error);
    case TaskStatus::kTimedOut:
      return "TIMED OUT (" + r.error + ")";
    case TaskStatus::kNotStarted:
      return "NOT STARTED (" + r.error + ")";
  }
  return "?";
}

}  // namespace

void RunReport::Note(const std::string& line) {
  if (progress_shown_) std::fputs("\r\033[K", stderr);
  std::fprintf(stderr, "%s\n", line.c_str());
  progress_shown_ = false;
  DrawProgress();
}

void RunReport::DrawProgress() {
  if (!options_.progress) return;
  std::fprintf(stderr, "\r\033[K[%u/%u done] %u running, %u failed", done_, total_, running_,
               failed_);
  std::fflush(stderr);
  progress_shown_ = true;
}

void RunReport::OnStart(const Task&, const Worker&, unsigned) {
  ++running_;
  DrawProgress();
}

void RunReport::OnResult(const TaskResult& result) {
  if (running_ > 0) --running_;
  if (!result.final) {
    Note(
        fmt::format("migctl: task {} attempt {} {}: retrying", result.task, result.attempt, Outcome(result)));
    return;
  }
  ++done_;
  if (result.status != TaskStatus::kOk) ++failed_;
  if (!options_.ordered) {
    Emit(result);
  } else {
    held_[result.task] = result;
    while (next_ < order_.size() && held_.contains(order_[next_])) {
      Emit(held_[order_[next_]]);
      held_.erase(order_[next_]);
      ++next_;
    }
  }
  DrawProgress();
}

void RunReport::Emit(const TaskResult& r) {
  if (progress_shown_) std::fputs("\r\033[K", stderr);
  progress_shown_ = false;
  std::string line;
  if (options_.json) {
    line = ResultToJson(r).dump();
  } else {
    const std::string where = r.node.empty() ? fmt::format("worker {}", r.worker) : "node " + r.node;
    line = fmt::format("task {}{} {} on {} {} {}, {:.1f} s", r.task, Params(r.params), Outcome(r), where,
                       r.profile, r.device, r.duration_s);
    if (!r.log.empty()) line += "  log " + r.log;
    if (!r.output.is_null()) line += "  -> " + r.output.dump();
  }
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

void RunReport::OnOutput(const Task& task, const Worker&, std::string_view line) {
  Note(fmt::format("[task {}] {}", task.id, line));
}

void RunReport::OnWaiting(const Worker& worker, std::optional<pid_t> holder) {
  Note(
      fmt::format("migctl: worker {} waits for {}: it is in use{} (another migctl run's task, a process its "
                  "last task left behind, or one NVML lists on it)",
                  worker.index, worker.device, holder ? fmt::format(" by pid {}", *holder) : ""));
}

void RunReport::OnStopping(const std::string& why) {
  Note(fmt::format("migctl: stopping: {}; running tasks get SIGTERM, then SIGKILL after the grace period",
                   why));
}

void RunReport::OnLingering(const Task& task, const Worker& worker, std::optional<pid_t> holder) {
  Note(fmt::format("migctl: task {}: its first process has ended, but processes it started still run{}; its "
                   "result waits for them and {} stays leased to it",
                   task.id, holder ? fmt::format(" (pid {})", *holder) : "", worker.device));
}

void RunReport::OnNote(const std::string& line) { Note("migctl: " + line); }

void RunReport::OnBegin(const std::vector<Worker>& workers, const std::vector<Task>& tasks) {
  total_ = static_cast<unsigned>(tasks.size());
  order_.clear();
  for (const Task& t : tasks) order_.push_back(t.id);
  const bool mig = !workers.empty() && workers.front().profile != "gpu";
  Note(fmt::format("migctl: {} task{} on {} worker{} ({})", tasks.size(), tasks.size() == 1 ? "" : "s",
                   workers.size(), workers.size() == 1 ? "" : "s", mig                           ? "MIG devices"
                   : workers.empty() || workers.front().env.empty() ? "--share none"
                                                                    : "--share mps"));
}

void RunReport::Flush() {
  for (auto& [id, result] : held_) Emit(result);
  held_.clear();
  if (progress_shown_) std::fputs("\r\033[K", stderr);
  progress_shown_ = false;
}

}  // namespace migctl
