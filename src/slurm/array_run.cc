#include "slurm/array_run.h"
#include "slurm/slurm_conf.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "common/child_process.h"
#include "common/memory_size.h"
#include "common/stop_signals.h"
#include "launch/command_line.h"
#include "launch/result_log.h"
#include "slurm/array_spool.h"
#include "slurm/slurm_client.h"

namespace migctl::slurm {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = ProcessHost::Clock;

constexpr milliseconds kQueryTimeout{10000};
constexpr milliseconds kSubmitTimeout{60000};
constexpr milliseconds kLostAfter{3000};  ///< Out of the queue this long without a result: lost.
constexpr milliseconds kCancelMargin{
    60000};  ///< After scancel, beyond the grace: how long to wait for the queue.
constexpr milliseconds kQueueErrorEvery{60000};  ///< How often an unreadable queue is said again.

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    lines.push_back(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  return lines;
}

std::optional<unsigned> ParseUnsigned(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  unsigned value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

/// The slice count of a MIG type (`3g.40gb` -> 3), for ties.
unsigned TypeSlices(std::string_view type) {
  const std::size_t g = type.rfind("g.");
  std::size_t start = g;
  while (start > 0 && type[start - 1] >= '0' && type[start - 1] <= '9') --start;
  return g == std::string_view::npos ? 0 : ParseUnsigned(type.substr(start, g - start)).value_or(0);
}

std::string Where(const std::string& partition) {
  return partition.empty() ? "the default partition" : "partition " + partition;
}

/// Every type a usable node has, by name.
std::set<std::string> TypesOf(const std::vector<PartitionNode>& nodes) {
  std::set<std::string> types;
  for (const PartitionNode& n : nodes)
    if (n.Usable())
      for (const auto& [type, count] : n.gres)
        if (count > 0) types.insert(type);
  return types;
}

std::string ListTypes(const std::set<std::string>& types) {
  return types.empty() ? "none" : fmt::format("{}", fmt::join(types, ", "));
}

Error Invalid(std::string message) { return MakeError(ErrorCode::kInvalidInput, std::move(message)); }

/// Runs a read-only Slurm query; a failure means no cluster to talk to.
Result<std::string> Query(const ArrayRunRequest& r, const std::vector<std::string>& argv) {
  Result<std::string> out = r.slurm(argv, SlurmCommandEnvironment(""), kQueryTimeout);
  if (!out.ok())
    return MakeError(ErrorCode::kUnsupported,
                     fmt::format("{} failed: {} (is slurmctld up, and SLURM_CONF right?)", argv.front(),
                                 out.error().message));
  return out;
}

/// Tasks whose own needs (`@memory=`, `@profile=`, --per-task-memory) the type does not meet.
Status CheckNeeds(const std::vector<Task>& tasks, const std::string& type, unsigned long long type_mib) {
  for (const Task& t : tasks) {
    if (t.needs.profile && *t.needs.profile != type && !type.ends_with("_" + *t.needs.profile))
      return Invalid(
          fmt::format("task {} needs a {} device, but every element of the array gets a {}: run "
                      "tasks of another profile as another run",
                      t.id, *t.needs.profile, type));
    if (t.needs.memory_mib && *t.needs.memory_mib > type_mib)
      return Invalid(
          fmt::format("task {} needs {} of device memory, more than a {} holds: ask for a larger "
                      "type (--profile, --memory)",
                      t.id, FormatMib(*t.needs.memory_mib), type));
  }
  return Ok();
}

std::string DefaultSpool(const std::string& workdir) {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &local);
  return fmt::format("{}/migctl-slurm-{}-{}", workdir, stamp, ::getpid());
}

std::string Absolute(const std::string& path, const std::string& workdir) {
  if (path.empty() || path.front() == '/') return fs::path(path).lexically_normal().string();
  return (fs::path(workdir) / path).lexically_normal().string();
}

/// Follows a submitted array until every task has a final result, or, once cancelled, until it has left the
/// queue.
class Follower {
 public:
  Follower(const ArrayRunRequest& request, const ArrayPlan& plan, const std::string& spool, std::string job,
           ResultLog* journal, ArrayRunEvents& events, ProcessHost& host)
      : request_(request),
        plan_(plan),
        spool_(spool),
        job_(std::move(job)),
        journal_(journal),
        events_(events),
        host_(host),
        collector_(spool) {
    for (const Task& t : plan.tasks) tasks_[t.id] = &t;
  }

  Result<RunSummary> Run() {
    StopSignals signals;
    MIGCTL_RETURN_IF_ERROR(signals.Install());
    for (;;) {
      if (signals.signal() != 0 && summary_.signal == 0) {
        summary_.signal = signals.signal();
        Cancel(fmt::format("interrupted by {}", SignalName(summary_.signal)));
      }
      const Clock::time_point now = host_.Now();
      // The queue first, then the results: an element's result is written before it leaves the queue, so
      // one missing from both is really gone.
      const std::optional<std::map<unsigned, std::string>> queue = ReadQueue(now);
      Collect();
      if (queue) FindLost(*queue, now);
      events_.OnProgress(Progress(queue));
      if (finals_.size() == tasks_.size()) break;
      if (cancel_deadline_) {
        if (queue && Drained(*queue)) break;
        if (now >= *cancel_deadline_) {
          events_.OnNote(fmt::format(
              "job {} is still in the queue {} s after scancel; see `squeue -j {}`", job_,
              std::chrono::duration_cast<std::chrono::seconds>(*cancel_deadline_ - *cancel_started_).count(),
              job_));
          break;
        }
      }
      std::vector<pollfd> fds = {{signals.read_fd(), POLLIN, 0}};
      Result<int> waited = host_.Wait(fds, now + request_.poll_every);
      if (!waited.ok()) {
        Cancel("migctl cannot go on: " + waited.error().message);
        return waited.error().WithContext(fmt::format("job {} cancelled: ", job_));
      }
      signals.Drain();
    }
    summary_.not_run = static_cast<unsigned>(tasks_.size() - finals_.size());
    return summary_;
  }

  const std::optional<Error>& journal_error() const { return journal_error_; }

 private:
  std::optional<std::map<unsigned, std::string>> ReadQueue(Clock::time_point now) {
    Result<std::string> text = request_.slurm(SqueueArgv(job_), query_env_, kQueryTimeout);
    if (text.ok()) return ParseQueue(*text);
    if (JobHasLeftQueue(text.error())) return std::map<unsigned, std::string>();
    if (!queue_error_said_ || now - *queue_error_said_ >= kQueueErrorEvery) {
      events_.OnNote(
          fmt::format("cannot read the queue (squeue: {}); results still arrive, and migctl keeps "
                      "trying",
                      text.error().message));
      queue_error_said_ = now;
    }
    return std::nullopt;
  }

  void Collect() {
    Result<NewResults> found = collector_.Collect();
    if (!found.ok()) {
      Problem(found.error().message);
      return;
    }
    for (const std::string& p : found->problems) Problem(p);
    for (TaskResult& r : found->results) Take(std::move(r));
  }

  /// A result from the spool: journalled; passed on unless its task already has a final result (a requeued
  /// element's second run).
  void Take(TaskResult r) {
    if (!tasks_.contains(r.task)) {
      Problem(
          fmt::format("the spool has a result for task {}, which this run did not submit; ignored", r.task));
      return;
    }
    attempts_[r.task] = std::max(attempts_[r.task], r.attempt);
    Journal(r);
    if (finals_.contains(r.task)) return;
    events_.OnResult(r);
    if (!r.final) return;
    finals_.insert(r.task);
    if (r.status == TaskStatus::kOk) {
      ++summary_.succeeded;
      return;
    }
    ++summary_.failed;
    if (request_.fail_fast)
      Cancel(fmt::format("--fail-fast: task {} {}", r.task,
                         r.status == TaskStatus::kNotStarted ? "could not start" : "failed"));
  }

  void Journal(const TaskResult& r) {
    if (journal_ == nullptr || journal_error_) return;
    Status written = journal_->Append(r);
    if (!written.ok()) {
      journal_error_ = written.error();
      events_.OnNote(
          fmt::format("cannot write the results journal, the run goes on: {}", written.error().message));
    }
  }

  void Problem(const std::string& line) {
    if (problems_said_.insert(line).second) events_.OnNote(line);
  }

  /// Records, for every task whose element has been out of the queue for kLostAfter with no final result,
  /// a not-started result with the reason (not once the array is cancelled: those did not run).
  void FindLost(const std::map<unsigned, std::string>& queue, Clock::time_point now) {
    std::vector<unsigned> lost;
    for (const auto& [id, task] : tasks_) {
      if (finals_.contains(id)) continue;
      const auto in = queue.find(id);
      if (in != queue.end()) last_state_[id] = in->second;
      if (in != queue.end() && PhaseOf(in->second) != ElementPhase::kEnded) {
        gone_since_.erase(id);
        continue;
      }
      const Clock::time_point since = gone_since_.try_emplace(id, now).first->second;
      if (!cancel_deadline_ && now - since >= kLostAfter) lost.push_back(id);
    }
    for (unsigned id : lost) {
      const Task& task = *tasks_[id];
      TaskResult r;
      r.task = id;
      r.attempt = attempts_[id] + 1;
      r.command = task.command;
      r.params = task.params;
      r.profile = plan_.gres_type;
      r.status = TaskStatus::kNotStarted;
      r.start = std::chrono::system_clock::now();
      const auto state = last_state_.find(id);
      const std::string last = LastOutputLine(spool_, id);
      r.error = fmt::format("array element {}_{} left the queue{} without a result; {}", job_, id,
                            state == last_state_.end() ? "" : " (last seen " + state->second + ")",
                            last.empty() ? "it wrote nothing to " + SlurmOutputPath(spool_, id)
                                         : SlurmOutputPath(spool_, id) + " ends: " + last);
      Take(std::move(r));
    }
  }

  /// Whether no element of the array is still pending or running.
  static bool Drained(const std::map<unsigned, std::string>& queue) {
    return std::all_of(queue.begin(), queue.end(),
                       [](const auto& e) { return PhaseOf(e.second) == ElementPhase::kEnded; });
  }

  ArrayProgress Progress(const std::optional<std::map<unsigned, std::string>>& queue) {
    ArrayProgress p;
    p.total = static_cast<unsigned>(tasks_.size());
    p.done = static_cast<unsigned>(finals_.size());
    if (!queue) return p;
    for (const auto& [id, state] : *queue) {
      if (!tasks_.contains(id) || finals_.contains(id)) continue;
      const ElementPhase phase = PhaseOf(state);
      p.pending += phase == ElementPhase::kPending;
      p.running += phase != ElementPhase::kPending;
    }
    return p;
  }

  /// Stops the run: scancel the array, then wait for it to leave the queue.
  void Cancel(const std::string& why) {
    if (!summary_.stopped.empty()) return;
    summary_.stopped = why;
    events_.OnStopping(why);
    Result<std::string> cancelled = request_.slurm({"scancel", job_}, query_env_, kQueryTimeout);
    if (!cancelled.ok())
      events_.OnNote(
          fmt::format("scancel {} failed: {}; cancel it yourself", job_, cancelled.error().message));
    cancel_started_ = host_.Now();
    cancel_deadline_ = *cancel_started_ + request_.grace + kCancelMargin;
  }

  const ArrayRunRequest& request_;
  const ArrayPlan& plan_;
  const std::string& spool_;
  const std::string job_;
  ResultLog* journal_;
  ArrayRunEvents& events_;
  ProcessHost& host_;
  ResultCollector collector_;
  const std::vector<std::string> query_env_ = SlurmCommandEnvironment("");
  std::map<unsigned, const Task*> tasks_;
  std::set<unsigned> finals_;
  std::map<unsigned, unsigned> attempts_;             ///< The last attempt seen per task.
  std::map<unsigned, Clock::time_point> gone_since_;  ///< Out of the queue without a final result since.
  std::map<unsigned, std::string> last_state_;        ///< The last Slurm state seen per element.
  std::set<std::string> problems_said_;
  std::optional<Clock::time_point> queue_error_said_;
  std::optional<Clock::time_point> cancel_started_, cancel_deadline_;
  std::optional<Error> journal_error_;
  RunSummary summary_;
};

/// Forwards the notes of PlanTasks to the caller's events.
class Notes final : public RunEvents {
 public:
  explicit Notes(RunEvents& next) : next_(next) {}
  void OnStart(const Task&, const Worker&, unsigned) override {}
  void OnResult(const TaskResult&) override {}
  void OnOutput(const Task&, const Worker&, std::string_view) override {}
  void OnWaiting(const Worker&, std::optional<pid_t>) override {}
  void OnStopping(const std::string&) override {}
  void OnNote(const std::string& line) override { next_.OnNote(line); }
  void OnBegin(const std::vector<Worker>&, const std::vector<Task>&) override {}

 private:
  RunEvents& next_;
};

}  // namespace

std::string FormatIndexRanges(std::vector<unsigned> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string out;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", ids[i]) : fmt::format("{}-{}", ids[i], ids[j]);
    i = j + 1;
  }
  return out;
}

bool PartitionNode::Usable() const {
  if (state.empty() || state.back() == '*') return false;  // not responding
  for (const char* bad : {"down", "drain", "drng", "fail", "maint", "unk", "inval", "futr", "npc", "pow"})
    if (state.starts_with(bad)) return false;
  return state.find('~') == std::string::npos && state.find('#') == std::string::npos;
}

std::vector<std::string> SinfoNodesArgv(const std::string& partition) {
  std::vector<std::string> argv = {"sinfo", "-h", "-N"};
  if (!partition.empty()) argv.insert(argv.end(), {"-p", partition});
  argv.insert(argv.end(), {"-O", "NodeList:0|,Partition:0|,Gres:0|,GresUsed:0|,StateCompact:0"});
  return argv;
}

Result<std::vector<PartitionNode>> ParseNodes(std::string_view text) {
  std::vector<PartitionNode> nodes;
  unsigned number = 0;
  for (std::string_view line : SplitLines(text)) {
    ++number;
    if (Trim(line).empty()) continue;
    std::vector<std::string_view> fields;
    for (std::size_t from = 0;;) {
      const std::size_t bar = line.find('|', from);
      fields.push_back(Trim(line.substr(from, bar == std::string_view::npos ? bar : bar - from)));
      if (bar == std::string_view::npos) break;
      from = bar + 1;
    }
    if (fields.size() != 5)
      return Invalid(fmt::format("cannot read sinfo's line {}: '{}'", number, Trim(line)));
    PartitionNode n;
    n.name = fields[0];
    // Typed GPUs only: an untyped count is nothing a --gres=gpu:TYPE:1 can ask for.
    n.gres = GpuCounts(fields[2]);
    n.gres.erase("");
    n.used = GpuCounts(fields[3]);
    n.used.erase("");
    n.state = fields[4];
    n.partition = fields[1];
    nodes.push_back(std::move(n));
  }
  // Without -p, sinfo lists every partition's nodes: sbatch without --partition uses the default one.
  auto is_default = [](const PartitionNode& n) { return n.partition.ends_with('*'); };
  if (std::any_of(nodes.begin(), nodes.end(), is_default))
    std::erase_if(nodes, [&](const PartitionNode& n) { return !is_default(n); });
  std::vector<PartitionNode> once;
  for (PartitionNode& n : nodes)
    if (std::none_of(once.begin(), once.end(), [&](const PartitionNode& o) { return o.name == n.name; }))
      once.push_back(std::move(n));
  return once;
}

std::optional<unsigned> TypeMemoryGib(std::string_view type) {
  if (!type.ends_with("gb")) return std::nullopt;
  type.remove_suffix(2);
  std::size_t digits = type.size();
  while (digits > 0 && type[digits - 1] >= '0' && type[digits - 1] <= '9') --digits;
  const std::string_view gib = type.substr(digits);
  type = type.substr(0, digits);
  if (!type.ends_with("g.")) return std::nullopt;
  type.remove_suffix(2);
  if (type.empty() || type.back() < '0' || type.back() > '9') return std::nullopt;
  return ParseUnsigned(gib);
}

Result<std::string> ChooseGresType(const std::vector<PartitionNode>& nodes,
                                   const std::optional<std::string>& profile,
                                   std::optional<unsigned long long> memory_mib,
                                   const std::string& partition) {
  const std::set<std::string> types = TypesOf(nodes);
  if (types.empty())
    return Invalid(
        fmt::format("{} has no usable node with GPUs as GRES: configure them (`migctl slurm sync` on "
                    "each node), or pick another --partition",
                    Where(partition)));
  if (!profile && !memory_mib)
    return Invalid(
        fmt::format("run --slurm needs --profile TYPE or --memory SIZE: which slice each element asks "
                    "for ({} has {})",
                    Where(partition), ListTypes(types)));
  if (profile) {
    const auto it = std::find_if(types.begin(), types.end(), [&](const std::string& t) {
      return t == *profile || t.ends_with("_" + *profile);
    });
    if (it == types.end())
      return Invalid(
          fmt::format("--profile {}: no usable node of {} has GRES gpu:{} (it has {}); pick one of "
                      "those",
                      *profile, Where(partition), *profile, ListTypes(types)));
    const std::optional<unsigned> gib = TypeMemoryGib(*it);
    if (memory_mib && gib && static_cast<unsigned long long>(*gib) * 1024 < *memory_mib)
      return Invalid(fmt::format("--profile {} holds {} GiB, less than --memory {}; leave one out", *profile,
                                 *gib, FormatMib(*memory_mib)));
    return *it;
  }
  std::optional<std::string> best;
  std::string largest;
  for (const std::string& t : types) {
    const std::optional<unsigned> gib = TypeMemoryGib(t);
    if (!gib) continue;
    if (largest.empty() || *gib > *TypeMemoryGib(largest)) largest = t;
    if (static_cast<unsigned long long>(*gib) * 1024 < *memory_mib) continue;
    auto key = [](const std::string& x) { return std::make_tuple(*TypeMemoryGib(x), TypeSlices(x), x); };
    if (!best || key(t) < key(*best)) best = t;
  }
  if (!best)
    return Invalid(fmt::format(
        "--memory {}: no GPU type of {} holds it ({}); ask for less, or partition "
        "nodes with larger slices",
        FormatMib(*memory_mib), Where(partition),
        largest.empty() ? "it has no MIG types"
                        : fmt::format("the largest is {}, {} GiB", largest, *TypeMemoryGib(largest))));
  return *best;
}

Result<NodeChoice> ChooseNodes(const std::vector<PartitionNode>& nodes, const std::string& type,
                               std::optional<unsigned> count) {
  std::vector<const PartitionNode*> with;
  for (const PartitionNode& n : nodes)
    if (n.Usable() && n.gres.contains(type) && n.gres.at(type) > 0) with.push_back(&n);
  auto free = [&](const PartitionNode* n) {
    const unsigned used = n->used.contains(type) ? n->used.at(type) : 0;
    return n->gres.at(type) > used ? n->gres.at(type) - used : 0;
  };
  std::stable_sort(with.begin(), with.end(), [&](const PartitionNode* a, const PartitionNode* b) {
    return std::make_tuple(free(b), b->gres.at(type), a->name) <
           std::make_tuple(free(a), a->gres.at(type), b->name);
  });
  if (count && (*count == 0 || *count > with.size())) {
    std::vector<std::string> names;
    for (const PartitionNode* n : with) names.push_back(n->name);
    return Invalid(fmt::format("--nodes {}: {} usable node{} {} gpu:{} ({}); ask for 1 to {}", *count,
                               with.size(), with.size() == 1 ? "" : "s", with.size() == 1 ? "has" : "have",
                               type, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")),
                               std::max<std::size_t>(with.size(), 1)));
  }
  if (count) with.resize(*count);
  NodeChoice choice;
  for (const PartitionNode* n : with) {
    choice.use.push_back(n->name);
    choice.slices += n->gres.at(type);
  }
  if (count)
    for (const PartitionNode& n : nodes)
      if (std::find(choice.use.begin(), choice.use.end(), n.name) == choice.use.end())
        choice.exclude.push_back(n.name);
  return choice;
}

Result<unsigned> ParseMaxArraySize(std::string_view config) {
  for (std::string_view line : SplitLines(config)) {
    line = Trim(line);
    if (!line.starts_with("MaxArraySize")) continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (const std::optional<unsigned> n = ParseUnsigned(Trim(line.substr(eq + 1)))) return *n;
  }
  return Invalid("scontrol show config has no MaxArraySize line");
}

ElementPhase PhaseOf(std::string_view state) {
  static constexpr std::array<std::string_view, 6> kPending = {
      "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT"};
  static constexpr std::array<std::string_view, 11> kEnded = {
      "COMPLETED", "CANCELLED", "FAILED",  "TIMEOUT",       "NODE_FAIL",     "PREEMPTED",
      "BOOT_FAIL", "DEADLINE",  "REVOKED", "OUT_OF_MEMORY", "SUSPENDED_FAIL"};
  if (std::find(kPending.begin(), kPending.end(), state) != kPending.end()) return ElementPhase::kPending;
  if (std::find(kEnded.begin(), kEnded.end(), state) != kEnded.end()) return ElementPhase::kEnded;
  return ElementPhase::kRunning;
}

std::vector<std::string> SqueueArgv(const std::string& job_id) {
  return {"squeue", "-h", "-r", "-j", job_id, "-o", "%K %T"};
}

std::map<unsigned, std::string> ParseQueue(std::string_view text) {
  std::map<unsigned, std::string> out;
  for (std::string_view line : SplitLines(text)) {
    line = Trim(line);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    const std::optional<unsigned> index = ParseUnsigned(line.substr(0, space));
    const std::string_view state = Trim(line.substr(space + 1));
    if (!index || state.empty()) continue;
    out[*index] = std::string(state);
  }
  return out;
}

bool JobHasLeftQueue(const Error& squeue_error) {
  return squeue_error.message.find("Invalid job id") != std::string::npos;
}

std::vector<std::string> SbatchArgv(const ArrayJob& job) {
  std::vector<std::string> argv = {"sbatch",
                                   "--parsable",
                                   "--array=" + FormatIndexRanges(job.ids),
                                   fmt::format("--gres=gpu:{}:1", job.gres_type),
                                   "--job-name=migctl-run",
                                   "--output=" + SlurmOutputPattern(job.spool),
                                   "--open-mode=append",
                                   "--chdir=" + job.workdir};
  if (!job.partition.empty()) argv.push_back("--partition=" + job.partition);
  if (!job.time_limit.empty()) argv.push_back("--time=" + job.time_limit);
  if (!job.exclude.empty()) argv.push_back(fmt::format("--exclude={}", fmt::join(job.exclude, ",")));
  argv.push_back("--wrap");
  argv.push_back(fmt::format("exec {} exec --array {}", QuoteWord(job.migctl), QuoteWord(job.spool)));
  return argv;
}

Result<std::string> ParseJobId(std::string_view sbatch_output) {
  std::string_view id = Trim(sbatch_output);
  id = id.substr(0, id.find(';'));
  if (!ParseUnsigned(id))
    return MakeError(ErrorCode::kIo, fmt::format("sbatch printed no job id ('{}')", Trim(sbatch_output)));
  return std::string(id);
}

Result<ArrayPlan> PlanArrayRun(const ArrayRunRequest& request, RunEvents& events) {
  if (!request.slurm)
    return MakeError(ErrorCode::kInternal, "run --slurm without a way to run Slurm's commands");
  if (!request.results.empty() && !request.resume.empty() && request.results != request.resume)
    return Invalid("--resume FILE also appends to FILE; leave out --results or give it the same file");
  ArrayPlan plan;
  RunRequest tasks;
  tasks.tasks = request.tasks;
  tasks.task_input = request.task_input;
  tasks.resume = request.resume;
  Notes notes(events);
  MIGCTL_ASSIGN_OR_RETURN(TaskPlan planned, PlanTasks(tasks, notes));
  plan.tasks = std::move(planned.tasks);
  plan.total_tasks = planned.total_tasks;
  plan.succeeded_before = planned.succeeded_before;
  plan.journal = !request.resume.empty() ? request.resume : request.results;
  plan.spool =
      Absolute(request.spool.empty() ? DefaultSpool(request.workdir) : request.spool, request.workdir);
  if (plan.tasks.empty()) return plan;

  MIGCTL_ASSIGN_OR_RETURN(std::string sinfo, Query(request, SinfoNodesArgv(request.partition)));
  MIGCTL_ASSIGN_OR_RETURN(std::vector<PartitionNode> nodes, ParseNodes(sinfo));
  if (nodes.empty())
    return Invalid(fmt::format("{} has no nodes{}", Where(request.partition),
                               request.partition.empty() ? "" : ": check the name with sinfo"));
  MIGCTL_ASSIGN_OR_RETURN(plan.gres_type,
                          ChooseGresType(nodes, request.profile, request.memory_mib, request.partition));
  plan.type_memory_mib = static_cast<unsigned long long>(TypeMemoryGib(plan.gres_type).value_or(0)) * 1024;
  if (plan.type_memory_mib > 0)
    MIGCTL_RETURN_IF_ERROR(CheckNeeds(plan.tasks, plan.gres_type, plan.type_memory_mib));
  MIGCTL_ASSIGN_OR_RETURN(plan.nodes, ChooseNodes(nodes, plan.gres_type, request.nodes));

  MIGCTL_ASSIGN_OR_RETURN(std::string config, Query(request, {"scontrol", "show", "config"}));
  MIGCTL_ASSIGN_OR_RETURN(const unsigned max_array, ParseMaxArraySize(config));
  const unsigned last = plan.tasks.back().id;
  if (last >= max_array)
    return Invalid(
        fmt::format("task {} would be array index {}, but this cluster's MaxArraySize is {} (indexes "
                    "0-{}): run at most {} tasks at a time (--tasks FILE split in parts), or have "
                    "MaxArraySize raised",
                    last, last, max_array, max_array - 1, max_array - 1));

  plan.job.gres_type = plan.gres_type;
  plan.job.spool = plan.spool;
  plan.job.migctl = request.migctl;
  plan.job.workdir = request.workdir;
  plan.job.partition = request.partition;
  plan.job.time_limit = request.time_limit;
  plan.job.exclude = plan.nodes.exclude;
  for (const Task& t : plan.tasks) plan.job.ids.push_back(t.id);
  return plan;
}

Result<RunOutcome> RunArray(const ArrayRunRequest& request, const ArrayPlan& plan, ArrayRunEvents& events,
                            ProcessHost& host) {
  RunOutcome out;
  out.tasks = plan.tasks;
  out.total_tasks = plan.total_tasks;
  out.succeeded_before = plan.succeeded_before;
  out.journal = plan.journal;
  if (plan.tasks.empty()) return out;
  for (unsigned i = 0; i < plan.nodes.slices; ++i) {
    Worker slot;
    slot.index = i;
    slot.profile = plan.gres_type;
    slot.memory_mib = plan.type_memory_mib;
    out.workers.push_back(std::move(slot));
  }

  // Everything that can fail before the submission does: the journal, the spool, the spec.
  std::optional<ResultLog> journal;
  if (!plan.journal.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(ResultLog opened, ResultLog::Open(plan.journal));
    journal.emplace(std::move(opened));
  }
  MIGCTL_ASSIGN_OR_RETURN(const std::string spool, CreateSpool(plan.spool));
  if (fs::exists(SpecPath(spool)) || !fs::is_empty(fs::path(spool) / "results"))
    return Invalid(fmt::format("--spool {} holds an earlier run; give a new directory", spool));
  ArraySpec spec;
  spec.tasks = plan.tasks;
  spec.gres_type = plan.gres_type;
  spec.retries = request.retries;
  spec.timeout = request.timeout;
  spec.grace = request.grace;
  spec.logs_dir = request.logs_dir.empty() ? LogsDir(spool) : Absolute(request.logs_dir, request.workdir);
  spec.workdir = request.workdir;
  MIGCTL_RETURN_IF_ERROR(WriteSpec(spool, spec));

  ArrayJob job = plan.job;
  job.spool = spool;
  const Clock::time_point started = host.Now();
  Result<std::string> submitted = request.slurm(SbatchArgv(job), request.env, kSubmitTimeout);
  if (!submitted.ok())
    return Invalid(
        fmt::format("sbatch refused the array: {}; nothing was submitted", submitted.error().message));
  MIGCTL_ASSIGN_OR_RETURN(const std::string job_id, ParseJobId(*submitted));
  events.OnSubmitted(job_id, plan);
  events.OnBegin(out.workers, out.tasks);

  Follower follower(request, plan, spool, job_id, journal ? &*journal : nullptr, events, host);
  Result<RunSummary> summary = follower.Run();
  out.wall_s = std::chrono::duration<double>(host.Now() - started).count();
  out.journal_error = follower.journal_error();
  if (!summary.ok()) return summary.error();
  out.summary = *summary;
  return out;
}

}  // namespace migctl::slurm
