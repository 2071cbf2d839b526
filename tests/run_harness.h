// What the `migctl run` end-to-end suites share: a machine with MIG devices, the task probe, and the lease
// audit (every task's time on its device, from the probe's log, must be disjoint from every other's).
#pragma once

#include <signal.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "e2e_harness.h"

namespace {

using std::chrono::milliseconds;

class RunE2e : public E2e {
 protected:
  /// An H100 with MIG on and `profiles` created on GPU 0.
  void MachineWith(const std::string& spec, const Args& profiles) {
    InitMigMachine(spec);
    Args create = {"create", "-i", "0"};
    create.insert(create.end(), profiles.begin(), profiles.end());
    MustJson(create);
  }
  /// The JSON lines `migctl run --json` printed: results, then the summary.
  static std::vector<Json> JsonLines(const std::string& out) {
    std::vector<Json> docs;
    for (const std::string& line : Lines(out)) {
      Json doc = Json::parse(line, nullptr, false);
      EXPECT_FALSE(doc.is_discarded()) << line;
      docs.push_back(doc);
    }
    return docs;
  }
  std::string Probe() const { return TASK_PROBE; }
  /// Waits until the probe log has `count` start lines.
  void WaitForStarts(const fs::path& log, size_t count);
  std::set<std::string> MigUuids() {
    std::set<std::string> out;
    const Json instances = Instances(0);
    for (const Json& inst : instances)
      if (inst.contains("uuid") && inst["uuid"].is_string()) out.insert(inst["uuid"]);
    return out;
  }
};

/// One task's time on a device, from the probe's log.
struct Interval {
  std::string device;
  int pid = 0;
  std::string task;
  long long start = 0, end = -1;
};

inline std::vector<Interval> ReadIntervals(const fs::path& log) {
  std::map<int, Interval> by_pid;
  std::vector<Interval> done;
  for (const std::string& line : Lines(ReadFile(log))) {
    std::istringstream in(line);
    std::string what;
    Interval i;
    long long ns = 0;
    in >> what >> i.device >> i.pid >> i.task >> ns;
    if (what == "start") {
      i.start = ns;
      by_pid[i.pid] = i;
    } else if (by_pid.contains(i.pid)) {
      by_pid[i.pid].end = ns;
      done.push_back(by_pid[i.pid]);
      by_pid.erase(i.pid);
    }
  }
  for (auto& [pid, i] : by_pid) done.push_back(i);  // never ended: open to the end of time
  return done;
}

inline void RunE2e::WaitForStarts(const fs::path& log, size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ReadIntervals(log).size() < count) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "tasks did not start: " << ReadFile(log);
    std::this_thread::sleep_for(milliseconds(20));
  }
}

/// How many times a task started on a device while another task's interval there had not ended; each is
/// reported as a test failure message.
inline size_t Overlaps(const std::vector<Interval>& intervals) {
  std::map<std::string, std::vector<Interval>> by_device;
  for (const Interval& i : intervals) by_device[i.device].push_back(i);
  size_t overlaps = 0;
  for (auto& [device, list] : by_device) {
    std::sort(list.begin(), list.end(),
              [](const Interval& a, const Interval& b) { return a.start < b.start; });
    long long busy_until = -2;  // the latest end so far (-1: one never ended)
    const Interval* holder = nullptr;
    for (const Interval& i : list) {
      if (holder != nullptr && (busy_until == -1 || busy_until > i.start)) {
        ++overlaps;
        ADD_FAILURE() << device << ": task " << holder->task << " (pid " << holder->pid
                      << ") still held it when task " << i.task << " (pid " << i.pid << ") started";
      }
      if (holder == nullptr || i.end == -1 || (busy_until != -1 && i.end > busy_until)) {
        busy_until = i.end;
        holder = &i;
      }
    }
  }
  return overlaps;
}

/// No two intervals on one device overlap; returns how many intervals were checked.
inline size_t ExpectNoSharing(const std::vector<Interval>& intervals) {
  EXPECT_EQ(Overlaps(intervals), 0u);
  return intervals.size();
}

/// Running (a zombie that nobody reaped yet counts as gone: it holds no device and no lease).
inline bool Alive(int pid) {
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

}  // namespace
