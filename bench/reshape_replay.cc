// Pods arriving and leaving by the Alibaba trace's own times on a MIG fleet (issue 14): migctl's re-cut
// around busy instances (the planner's keep-current program with the used instances fixed, as `migctl
// reshape` runs it) against a static layout on every GPU (mig-parted's all-balanced) and NVIDIA DRA's
// DynamicMIG first-fit (an instance made per pod at the first free device in name order, destroyed when the
// pod leaves).
//
// Demand: every GPU-sharing pod of the trace (3,078), each a need by one mapping (planner/trace.h), arriving
// at its creation time; a placed pod leaves at its deletion time, a pod nothing can hold waits in a FIFO
// queue (and is placed later, or never). Fleets are sized against the trace's peak: the most GPU thousandths
// its pods would hold at once were each placed on arrival (12.49 GPUs' worth): 8, 10 and 13 GPUs put the peak
// at about 156%, 125% and 96% of the fleet. Every policy sees the same events; after each, it places what it
// can, oldest first, on an instance of the pod's profile (SmallestProfileFor). migctl first gives a waiting
// pod an idle instance of its profile; if pods still wait, it re-cuts: PlanFleet keep-current with every used
// instance busy and the waiting pods as demand, and makes the difference (kept idle instances stay). The
// reference "repack all" makes the same re-cut free to move running pods (nothing busy): with free moves the
// future cannot help packing, so it is the packing optimum for the same queue discipline.
//
// Reported per policy: pods placed on arrival (no wait), pods never placed, mean wait of the
// placed ones (trace seconds), allocation (time-weighted share of the fleet's GPU thousandths that placed
// pods hold, from the first arrival to the last event), GPU instances destroyed + created, and running pods
// disturbed (an instance with a pod destroyed: must be 0 for every policy; the bench stops if not).
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIGCTL_BUILD_BENCH=ON
//   ninja -C build-bench reshape_replay && build-bench/bench/reshape_replay [--gpus 8,10,13] [pods.csv]
//   build-bench/bench/reshape_replay --cost     (one re-cut's decision time on 8, 128 and 1,024 GPUs)
//   build-bench/bench/reshape_replay --miso     (MISO's 100 jobs on 8 A100-40GB: job completion time)
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <sstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/catalog.h"
#include "common/file_io.h"
#include "layout/feasibility.h"
#include "layout/layout.h"
#include "layout/placement_solver.h"
#include "planner/baselines.h"
#include "planner/layout_catalog.h"
#include "planner/plan.h"
#include "planner/trace.h"

using namespace migctl;
using namespace migctl::planner;

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "reshape_replay: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.error().message);
  return std::move(result).value();
}

struct Slice {
  PlacedInstance placed;
  int pod = -1;  ///< The pod it holds; -1: idle.
};

struct Fleet {
  const GpuModel* model = nullptr;
  std::vector<std::vector<Slice>> gpus;
  unsigned long long changes = 0;    ///< GPU instances destroyed + created.
  unsigned long long disturbed = 0;  ///< Destroyed while a pod ran on it.
  unsigned long long moved = 0;      ///< Running pods moved (the repack reference only).
  double solve_ms = 0;
  unsigned reshapes = 0;
};

Layout LayoutOf(const std::vector<Slice>& gpu) {
  Layout l;
  for (const Slice& s : gpu) l.push_back(s.placed);
  return l;
}

enum class Policy { kStatic, kDra, kNos, kMigctl, kRepack };
const char* const kPolicyNames[] = {"static all-balanced", "DRA first-fit", "nos rule", "migctl reshape",
                                    "repack all (moves)"};

/// nos: one incremental planning pass (NosPass) for the waiting pods; changes counted per profile, as nos's
/// agent makes them (free instances of a profile it keeps are not recreated, wherever the plan puts them).
std::deque<int> NosPlace(Fleet& fleet, const std::deque<int>& waiting, const std::vector<ProfileId>& profile_of) {
  std::vector<NosGpuState> state;
  for (const auto& gpu : fleet.gpus) {
    NosGpuState g;
    for (const Slice& s : gpu) (s.pod >= 0 ? g.used : g.free).push_back(s.placed);
    state.push_back(std::move(g));
  }
  std::vector<ProfileId> pending;
  for (int pod : waiting) pending.push_back(profile_of[pod]);
  const std::vector<NosGpuState> before = state;
  const auto taken = NosPass(*fleet.model, &state, pending);
  for (size_t g = 0; g < fleet.gpus.size(); ++g) {
    std::map<ProfileId, int> delta;  // instances per profile, after - before (used and free together)
    for (const PlacedInstance& p : before[g].used) --delta[p.profile];
    for (const PlacedInstance& p : before[g].free) --delta[p.profile];
    for (const PlacedInstance& p : state[g].used) ++delta[p.profile];
    for (const PlacedInstance& p : state[g].free) ++delta[p.profile];
    for (const auto& [profile, d] : delta) fleet.changes += static_cast<unsigned long long>(std::abs(d));
    std::vector<Slice> next;
    for (const Slice& s : fleet.gpus[g])
      if (s.pod >= 0) next.push_back(s);
    for (const PlacedInstance& p : state[g].used)
      if (std::none_of(next.begin(), next.end(), [&](const Slice& s) { return s.placed == p; }))
        next.push_back({p, -1});  // newly used: its pod is set below
    for (const PlacedInstance& p : state[g].free) next.push_back({p, -1});
    fleet.gpus[g] = std::move(next);
  }
  std::deque<int> left;
  for (size_t k = 0; k < waiting.size(); ++k) {
    if (!taken[k]) {
      left.push_back(waiting[k]);
      continue;
    }
    for (Slice& s : fleet.gpus[taken[k]->first])
      if (s.placed == taken[k]->second && s.pod < 0) {
        s.pod = waiting[k];
        break;
      }
  }
  return left;
}

/// Gives the waiting pods (FIFO) idle slices of their profile; returns those that still wait.
std::deque<int> TakeIdle(Fleet& fleet, std::deque<int> waiting, const std::vector<ProfileId>& profile_of) {
  std::map<ProfileId, unsigned> idle;  // so that a long queue of pods nothing holds costs little
  for (const auto& gpu : fleet.gpus)
    for (const Slice& s : gpu) idle[s.placed.profile] += s.pod < 0;
  std::deque<int> left;
  for (int pod : waiting) {
    if (idle[profile_of[pod]] == 0) {
      left.push_back(pod);
      continue;
    }
    --idle[profile_of[pod]];
    bool placed = false;
    for (auto& gpu : fleet.gpus) {
      for (Slice& s : gpu)
        if (s.pod < 0 && s.placed.profile == profile_of[pod]) {
          s.pod = pod;
          placed = true;
          break;
        }
      if (placed) break;
    }
    if (!placed) left.push_back(pod);
  }
  return left;
}

/// DRA: each waiting pod, oldest first, gets a new instance at the first free device of its profile, GPUs in
/// order, devices sorted by the driver's names.
std::deque<int> DraPlace(Fleet& fleet, std::deque<int> waiting, const std::vector<ProfileId>& profile_of) {
  std::deque<int> left;
  for (int pod : waiting) {
    const GiProfile* p = fleet.model->FindProfile(profile_of[pod]);
    std::vector<std::pair<std::string, unsigned>> devices;
    for (unsigned start : p->starts) devices.emplace_back(DraDeviceName(0, *p, start), start);
    std::sort(devices.begin(), devices.end());
    bool placed = false;
    for (auto& gpu : fleet.gpus) {
      const Layout layout = LayoutOf(gpu);
      for (const auto& [name, start] : devices)
        if (CheckAddition(*fleet.model, layout, {p->id, start}) == Conflict::kNone) {
          gpu.push_back({{p->id, start}, pod});
          ++fleet.changes;
          placed = true;
          break;
        }
      if (placed) break;
    }
    if (!placed) left.push_back(pod);
  }
  return left;
}

/// migctl: re-cuts the fleet around its used slices for the waiting pods, then places them. `repack`: the
/// reference that may move running pods: nothing is busy, the running pods are demand above every waiting one
/// (so all stay placed), and each takes a slice of its profile in the new layouts (its moves are counted in
/// `moved`, not as disturbed).
std::deque<int> Reshape(Fleet& fleet, std::deque<int> waiting, const std::vector<ProfileId>& profile_of,
                        bool repack = false) {
  std::vector<FleetGroup> groups;
  std::map<ProfileId, std::vector<int>> running;  // repack: the running pods by profile
  for (const auto& gpu : fleet.gpus) {
    FleetGroup g;
    g.model = fleet.model;
    g.count = 1;
    g.current = {LayoutOf(gpu)};
    g.busy = {{}};
    for (const Slice& s : gpu)
      if (s.pod >= 0) {
        if (repack) running[s.placed.profile].push_back(s.pod);
        else g.busy[0].push_back(s.placed);
      }
    groups.push_back(std::move(g));
  }
  // The waiting pods' needs by profile; the oldest pod's first, at a higher priority: the head of the queue
  // is served whenever a re-cut can, and the others as many as fit (FIFO with backfilling, as a scheduler).
  std::map<ProfileId, unsigned> counts;
  for (size_t k = 1; k < waiting.size(); ++k) ++counts[profile_of[waiting[k]]];
  std::vector<Workload> demand;
  auto add = [&](ProfileId profile, unsigned count, unsigned priority) {
    Workload w;
    w.name = fleet.model->FindProfile(profile)->name;
    w.profile = w.name;
    w.count = count;
    w.priority = priority;
    demand.push_back(std::move(w));
  };
  for (const auto& [profile, pods] : running) add(profile, static_cast<unsigned>(pods.size()), 2);
  add(profile_of[waiting.front()], 1, 1);
  for (const auto& [profile, count] : counts) add(profile, count, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const FleetPlan plan = Check(
      PlanFleet(groups, demand, {.objective = Objective::kKeepCurrent, .time_limit_s = 10}), "PlanFleet");
  fleet.solve_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ++fleet.reshapes;
  for (size_t k = 0; k < fleet.gpus.size(); ++k) {
    std::vector<Slice>& gpu = fleet.gpus[k];
    const Layout& want = plan.gpus[k].layout;
    std::vector<Slice> next;
    for (const Slice& s : gpu) {
      if (std::find(want.begin(), want.end(), s.placed) != want.end()) {
        next.push_back(s);
      } else {
        ++fleet.changes;
        if (s.pod >= 0 && !repack) ++fleet.disturbed;
      }
    }
    for (const PlacedInstance& p : want)
      if (std::none_of(gpu.begin(), gpu.end(), [&](const Slice& s) { return s.placed == p; })) {
        next.push_back({p, -1});
        ++fleet.changes;
      }
    gpu = std::move(next);
  }
  if (repack) {  // the running pods that kept their slice stay; the others take a free one of their profile
    std::set<int> kept;
    for (const auto& gpu : fleet.gpus)
      for (const Slice& s : gpu)
        if (s.pod >= 0) kept.insert(s.pod);
    std::deque<int> moving;
    for (const auto& [profile, pods] : running)
      for (int pod : pods)
        if (!kept.contains(pod)) moving.push_back(pod);
    fleet.moved += moving.size();
    if (!TakeIdle(fleet, moving, profile_of).empty()) Die("repack lost a running pod");
  }
  return TakeIdle(fleet, std::move(waiting), profile_of);
}

struct Outcome {
  double on_arrival = 0;  ///< Share of pods placed with no wait.
  double never = 0;       ///< Pods never placed.
  double mean_wait = 0;   ///< Of the placed pods, trace seconds.
  double allocation = 0;  ///< Time-weighted share of the fleet's thousandths held.
  double changes = 0;
  double disturbed = 0;
  double solve_ms = 0;
  double reshapes = 0;
};

/// `static_layout`: kStatic's layout on every GPU (default: mig-parted's all-balanced).
Outcome Replay(Policy policy, const GpuModel& model, unsigned n_gpus, const std::vector<SharingPod>& pods,
               NeedMapping mapping, const Layout* static_layout = nullptr) {
  const size_t n = pods.size();
  std::vector<Workload> need_of;
  std::vector<ProfileId> profile_of;
  for (const SharingPod& p : pods) {
    need_of.push_back(NeedOf(p, mapping));
    std::optional<ProfileId> id = SmallestProfileFor(model, need_of.back());
    if (!id) Die("a pod fits no profile of " + model.key);
    profile_of.push_back(*id);
  }
  Fleet fleet;
  fleet.model = &model;
  fleet.gpus.resize(n_gpus);
  if (policy == Policy::kStatic) {
    std::vector<ProfileId> balanced;
    for (const char* name : {"1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb"})
      balanced.push_back(model.FindProfile(name)->id);
    const Layout layout =
        static_layout != nullptr ? *static_layout : Check(SolvePlacements(model, {}, balanced), "all-balanced");
    for (auto& gpu : fleet.gpus)
      for (const PlacedInstance& p : layout) gpu.push_back({p, -1});
  }

  // Events: (time, kind, pod), departures before arrivals at the same second.
  struct Event {
    unsigned long long t;
    int kind;  // 0 departure, 1 arrival
    int pod;
    bool operator<(const Event& o) const { return std::tie(t, kind, pod) < std::tie(o.t, o.kind, o.pod); }
  };
  std::vector<Event> events;
  for (size_t i = 0; i < n; ++i) events.push_back({pods[i].created.value_or(0), 1, static_cast<int>(i)});
  std::sort(events.begin(), events.end());
  std::deque<int> waiting;
  std::vector<std::optional<unsigned long long>> placed_at(n);
  std::vector<bool> left(n, false);
  unsigned long long held_milli = 0;
  double weighted = 0;
  const unsigned long long t_first = events.front().t;
  unsigned long long t_prev = t_first, t_last = t_first;
  std::multimap<unsigned long long, int> departures;
  size_t next_arrival = 0;
  bool recut_pending = false;
  while (next_arrival < events.size() || !departures.empty()) {
    Event e;
    if (!departures.empty() &&
        (next_arrival == events.size() || departures.begin()->first <= events[next_arrival].t)) {
      e = {departures.begin()->first, 0, departures.begin()->second};
      departures.erase(departures.begin());
    } else {
      e = events[next_arrival++];
    }
    weighted += static_cast<double>(held_milli) * static_cast<double>(e.t - t_prev);
    t_prev = t_last = e.t;
    if (e.kind == 0) {
      for (auto& gpu : fleet.gpus)
        for (size_t s = 0; s < gpu.size(); ++s)
          if (gpu[s].pod == e.pod) {
            if (policy == Policy::kDra) {
              gpu.erase(gpu.begin() + static_cast<long>(s));
              ++fleet.changes;
            } else {
              gpu[s].pod = -1;
            }
            break;
          }
      held_milli -= pods[e.pod].gpu_milli;
      left[e.pod] = true;
      recut_pending = true;
    } else {
      waiting.push_back(e.pod);
      recut_pending = true;
    }
    if (waiting.empty()) continue;
    std::deque<int> before = waiting;
    if (policy == Policy::kDra) {
      waiting = DraPlace(fleet, waiting, profile_of);
    } else if (policy == Policy::kNos && recut_pending) {
      waiting = NosPlace(fleet, waiting, profile_of);
      recut_pending = false;
    } else if ((policy == Policy::kMigctl || policy == Policy::kRepack) && recut_pending) {
      // The re-cut sees the whole queue before anyone takes an idle slice, so the oldest pod comes first.
      waiting = Reshape(fleet, waiting, profile_of, policy == Policy::kRepack);
      recut_pending = false;
    } else {
      waiting = TakeIdle(fleet, waiting, profile_of);
    }
    std::vector<bool> still(n, false);
    for (int pod : waiting) still[pod] = true;
    for (int pod : before)
      if (!still[pod]) {
        placed_at[pod] = e.t;
        held_milli += pods[pod].gpu_milli;
        if (pods[pod].deleted && *pods[pod].deleted > e.t)
          departures.emplace(*pods[pod].deleted, pod);
        else if (pods[pod].deleted)
          departures.emplace(e.t, pod);
      }
  }
  Outcome o;
  double waits = 0;
  unsigned placed = 0, immediate = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!placed_at[i]) continue;
    ++placed;
    const unsigned long long created = pods[i].created.value_or(0);
    waits += static_cast<double>(*placed_at[i] - created);
    immediate += *placed_at[i] == created;
  }
  o.on_arrival = static_cast<double>(immediate) / static_cast<double>(n);
  o.never = static_cast<double>(n - placed);
  o.mean_wait = placed ? waits / placed : 0;
  o.allocation = t_last > t_first ? weighted / (static_cast<double>(t_last - t_first) * 1000.0 * n_gpus) : 0;
  o.changes = static_cast<double>(fleet.changes);
  o.disturbed = static_cast<double>(fleet.disturbed + fleet.moved);  // moved: the repack reference
  o.solve_ms = fleet.solve_ms;
  o.reshapes = fleet.reshapes;
  if (fleet.disturbed > 0)
    Die(fmt::format("{} disturbed {} running pods", kPolicyNames[int(policy)], fleet.disturbed));
  return o;
}

}  // namespace

// ---- MISO's job trace: job completion time (--miso DIR) ----

struct MisoJob {
  double arrival = 0;
  double full_s = 0;                      ///< Seconds on a whole A100-40GB (7g.40gb).
  std::map<std::string, double> iter_s;   ///< Seconds per iteration by slice; absent: does not fit.
  double On(const std::string& slice) const { return full_s * iter_s.at(slice) / iter_s.at("7g.40gb"); }
};

/// The jobs, arriving at the trace's gaps divided by `speedup` (MISO's load is the trace's; higher speedups
/// make the same jobs queue).
std::vector<MisoJob> LoadMiso(const std::string& dir, double speedup) {
  auto json = [&](const char* name) {
    const std::string text = Check(ReadFile(dir + "/" + name), name);
    return nlohmann::json::parse(text);
  };
  const nlohmann::json durations = json("trace_100.json"), gaps = json("exp_100.json"),
                       models = json("job_models.json");
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> speeds;  // (model, batch)
  const std::string csv = Check(ReadFile(dir + "/mig_iteration_seconds.csv"), "mig_iteration_seconds.csv");
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) f.push_back(cell);
    if (f.size() >= 4) speeds[{f[0], f[1]}][f[2]] = std::stod(f[3]);
  }
  std::vector<MisoJob> jobs;
  double t = 0;
  for (size_t i = 0; i < durations.size(); ++i) {
    const std::string id = std::to_string(i);
    t += gaps.at(id).get<double>() / speedup;
    const std::string tag = models.at(id).get<std::string>();  // `resnet_train128`
    const size_t cut = tag.find("_train");
    MisoJob job;
    job.arrival = t;
    job.full_s = durations.at(id).get<double>();
    job.iter_s = speeds[{tag.substr(0, cut), tag.substr(cut + 6)}];
    if (!job.iter_s.contains("7g.40gb")) Die("no 7g.40gb speed for " + tag);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

enum class MisoPolicy { kWhole, kStatic, kEfficient, kLargestFree, kFinishTime };
const char* const kMisoNames[] = {"unpartitioned (7g.40gb)", "static 3g+2g+2g", "re-cut, efficient slice",
                                  "re-cut, largest free", "re-cut, finish time"};

/// Mean and p95 job completion time and the makespan, in seconds.
struct Jct {
  double mean = 0, p95 = 0, makespan = 0, changes = 0;
};

/// The re-cut policies ask each waiting job's slice by a rule, then re-cut around the running jobs as
/// `migctl reshape` does:
///  - efficient slice: while jobs do not outnumber GPUs, a whole GPU; beyond, the job's most efficient slice
///    (the least iteration time x compute slices, the larger on ties), so that more jobs run at once;
///  - largest free: each job, oldest first, the largest slice it fits that there is room for now beside the
///    running jobs and the slices asked before it; none: it waits for its most efficient slice;
///  - finish time: each job, oldest first, weighs starting now on each slice it fits that there is room for
///    against waiting for the next whole GPU to come free (the running jobs' known ends), by its own completion
///    time plus the delay its GPU time puts on the jobs queued behind it (GPU seconds x jobs behind / GPUs,
///    the queue draining through the fleet as a fluid). With nobody behind it takes the fastest; with a long
///    queue, the slice that costs the fleet least. Jobs that choose to wait are not asked this time.
Jct ReplayMiso(MisoPolicy policy, const std::vector<MisoJob>& jobs, unsigned n_gpus) {
  const GpuModel& model = *Check(FindModel("a100-40gb"), "a100-40gb");
  Fleet fleet;
  fleet.model = &model;
  fleet.gpus.resize(n_gpus);
  auto id = [&](const char* name) { return model.FindProfile(name)->id; };
  const bool recut = policy != MisoPolicy::kWhole && policy != MisoPolicy::kStatic;
  if (!recut) {
    const std::vector<ProfileId> cut = policy == MisoPolicy::kWhole
                                           ? std::vector<ProfileId>{id("7g.40gb")}
                                           : std::vector<ProfileId>{id("3g.20gb"), id("2g.10gb"), id("2g.10gb")};
    const Layout layout = Check(SolvePlacements(model, {}, cut), "static layout");
    for (auto& gpu : fleet.gpus)
      for (const PlacedInstance& p : layout) gpu.push_back({p, -1});
  }
  std::vector<ProfileId> wanted(jobs.size(), id("7g.40gb")), efficient;
  for (const MisoJob& job : jobs) {
    std::optional<ProfileId> best;
    double best_cost = 0;
    for (const auto& [slice, iter] : job.iter_s) {
      const GiProfile* p = model.FindProfile(slice);
      if (p == nullptr) continue;
      const double cost = iter * p->compute_slices;
      if (!best || cost < best_cost - 1e-12 ||
          (cost < best_cost + 1e-12 && p->compute_slices > model.FindProfile(*best)->compute_slices)) {
        best = p->id;
        best_cost = cost;
      }
    }
    efficient.push_back(*best);
  }
  std::vector<double> done(jobs.size(), -1);
  std::multimap<double, int> ends;  // completion time -> job
  std::deque<int> waiting;
  size_t next = 0;
  double now = 0;
  auto place = [&]() {
    if (recut) {
      // What is taken on each GPU (the running jobs' slices, then those asked in this pass) and when each
      // GPU is wholly free again.
      std::vector<Layout> room;
      std::vector<double> free_at;
      size_t running = 0;
      for (const auto& gpu : fleet.gpus) {
        room.emplace_back();
        free_at.push_back(now);
        for (const Slice& sl : gpu)
          if (sl.pod >= 0) {
            room.back().push_back(sl.placed);
            ++running;
            for (const auto& [end, j] : ends)
              if (j == sl.pod) free_at.back() = std::max(free_at.back(), end);
          }
      }
      // The largest-first slices job `j` fits that there is room for now: (GPU, placed slice) pairs.
      auto fitting = [&](int j) {
        std::vector<std::pair<size_t, PlacedInstance>> out;
        for (const auto& [slice, iter] : jobs[j].iter_s) {
          const GiProfile* p = model.FindProfile(slice);
          if (p == nullptr) continue;
          for (size_t g = 0; g < room.size(); ++g) {
            std::vector<ProfileId> one = {p->id};
            Result<Layout> placed = SolvePlacements(model, room[g], one);
            if (!placed.ok()) continue;
            out.emplace_back(g, placed->back());
            break;
          }
        }
        std::sort(out.begin(), out.end(), [&](const auto& x, const auto& y) {
          return model.FindProfile(x.second.profile)->compute_slices >
                 model.FindProfile(y.second.profile)->compute_slices;
        });
        return out;
      };
      std::deque<int> asked, later;
      size_t waited = 0;  // jobs of this pass that chose to wait for a whole GPU, ahead of this one
      for (size_t k = 0; k < waiting.size(); ++k) {
        const int j = waiting[k];
        if (policy == MisoPolicy::kEfficient) {
          wanted[j] = running + waiting.size() > fleet.gpus.size() ? efficient[j] : id("7g.40gb");
          asked.push_back(j);
          continue;
        }
        const auto options = fitting(j);
        std::optional<std::pair<size_t, PlacedInstance>> pick;
        if (policy == MisoPolicy::kLargestFree) {
          if (!options.empty()) pick = options.front();
          else wanted[j] = efficient[j];
        } else {
          const double behind = static_cast<double>(waiting.size() - 1 - k) / fleet.gpus.size();
          std::vector<double> frees = free_at;
          std::sort(frees.begin(), frees.end());
          const double whole = jobs[j].On("7g.40gb");
          double best = (frees[std::min(waited, frees.size() - 1)] - now) + whole + behind * whole;
          for (const auto& option : options) {
            const GiProfile* p = model.FindProfile(option.second.profile);
            const double t = jobs[j].On(p->name);
            const double cost = t + behind * t * p->compute_slices / 7.0;
            if (cost <= best + 1e-9) {  // on a tie, start now
              best = cost;
              pick = option;
            }
          }
          if (!pick) {
            ++waited;
            later.push_back(j);
            continue;
          }
        }
        if (pick) {
          wanted[j] = pick->second.profile;
          room[pick->first].push_back(pick->second);
          free_at[pick->first] = std::max(free_at[pick->first],
                                          now + jobs[j].On(model.FindProfile(pick->second.profile)->name));
        }
        asked.push_back(j);
      }
      if (!asked.empty()) asked = Reshape(fleet, asked, wanted);
      // Back in arrival order: those a re-cut could not serve and those that chose to wait.
      std::deque<int> left(asked.begin(), asked.end());
      left.insert(left.end(), later.begin(), later.end());
      std::sort(left.begin(), left.end());
      waiting = std::move(left);
    } else {  // oldest first, each on the fastest free slice it fits
      std::deque<int> left;
      for (int j : waiting) {
        Slice* best = nullptr;
        for (auto& gpu : fleet.gpus)
          for (Slice& s : gpu) {
            const std::string name = model.FindProfile(s.placed.profile)->name;
            if (s.pod >= 0 || !jobs[j].iter_s.contains(name)) continue;
            if (best == nullptr || jobs[j].iter_s.at(name) <
                                       jobs[j].iter_s.at(model.FindProfile(best->placed.profile)->name))
              best = &s;
          }
        if (best == nullptr) {
          left.push_back(j);
          continue;
        }
        best->pod = j;
      }
      waiting = std::move(left);
    }
    for (auto& gpu : fleet.gpus)  // start what was just placed
      for (Slice& s : gpu)
        if (s.pod >= 0 && done[s.pod] < 0) {
          done[s.pod] = 0;  // running
          ends.emplace(now + jobs[s.pod].On(model.FindProfile(s.placed.profile)->name), s.pod);
        }
  };
  while (next < jobs.size() || !ends.empty()) {
    if (!ends.empty() && (next == jobs.size() || ends.begin()->first <= jobs[next].arrival)) {
      now = ends.begin()->first;
      const int j = ends.begin()->second;
      ends.erase(ends.begin());
      done[j] = now;
      for (auto& gpu : fleet.gpus)
        for (Slice& s : gpu)
          if (s.pod == j) s.pod = -1;
    } else {
      now = jobs[next].arrival;
      waiting.push_back(static_cast<int>(next++));
    }
    if (!waiting.empty()) place();
  }
  Jct out;
  std::vector<double> jct;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (done[j] <= 0) Die("a job never finished");
    jct.push_back(done[j] - jobs[j].arrival);
    out.makespan = std::max(out.makespan, done[j]);
  }
  std::sort(jct.begin(), jct.end());
  for (double v : jct) out.mean += v / static_cast<double>(jct.size());
  out.p95 = jct[(jct.size() * 95 + 99) / 100 - 1];
  out.changes = static_cast<double>(fleet.changes);
  if (fleet.disturbed > 0) Die("a running job was disturbed");
  return out;
}

void MisoTable(const std::string& dir) {
  std::printf("MISO's 100-job trace (%s) on 8 A100-40GB; no job is ever moved or stopped\n", dir.c_str());
  for (double speedup : {1.0, 10.0, 20.0, 40.0, 60.0, 80.0}) {
    const std::vector<MisoJob> jobs = LoadMiso(dir, speedup);
    std::printf("\narrival gaps / %.0f\n%-26s %12s %12s %12s %10s %12s\n", speedup, "policy", "mean JCT s",
                "p95 JCT s", "makespan s", "vs whole", "GI changes");
    double whole = 0;
    for (MisoPolicy policy : {MisoPolicy::kWhole, MisoPolicy::kStatic, MisoPolicy::kEfficient,
                              MisoPolicy::kLargestFree, MisoPolicy::kFinishTime}) {
      const Jct r = ReplayMiso(policy, jobs, 8);
      if (policy == MisoPolicy::kWhole) whole = r.mean;
      std::printf("%-26s %12.0f %12.0f %12.0f %9.2fx %12.0f\n", kMisoNames[int(policy)], r.mean, r.p95,
                  r.makespan, r.mean / whole, r.changes);
    }
  }
}

/// The most GPU thousandths the trace's pods hold at once, were every pod placed on arrival.
unsigned long long PeakMilli(const std::vector<SharingPod>& pods) {
  std::vector<std::pair<unsigned long long, long long>> steps;
  for (const SharingPod& p : pods) {
    steps.emplace_back(p.created.value_or(0), static_cast<long long>(p.gpu_milli));
    if (p.deleted) steps.emplace_back(*p.deleted, -static_cast<long long>(p.gpu_milli));
  }
  std::sort(steps.begin(), steps.end());  // a departure (negative) before an arrival at the same second
  long long live = 0, peak = 0;
  for (const auto& [t, m] : steps) peak = std::max(peak, live += m);
  return static_cast<unsigned long long>(peak);
}

/// Decision time of one re-cut on N GPUs (a100-80gb) that each run a random maximal layout with about 10% of
/// their instances busy, for a demand of N/2 8 GiB and N/8 30 GiB units: the median of `runs` PlanFleet
/// calls.
void CostTable(unsigned runs) {
  const GpuModel& model = *Check(FindModel("a100-80gb"), "a100-80gb");
  const std::vector<CandidateLayout> layouts = FreshLayouts(model);
  std::printf(
      "\nOne re-cut's decision (PlanFleet keep-current, busy fixed), a100-80gb GPUs each with a random\n"
      "maximal layout, 10%% of instances busy; demand N/2 x 8 GiB and N/8 x 30 GiB; median of %u\n",
      runs);
  std::printf("%6s %10s %10s %12s %8s\n", "GPUs", "busy", "served", "decision ms", "optimal");
  for (unsigned n : {8u, 128u, 1024u}) {
    std::mt19937 rng(n);
    std::vector<FleetGroup> fleet;
    unsigned busy = 0;
    for (unsigned g = 0; g < n; ++g) {
      FleetGroup group;
      group.model = &model;
      group.count = 1;
      group.gpu_indexes = {g};
      group.current = {layouts[rng() % layouts.size()].placements};
      group.busy = {{}};
      for (const PlacedInstance& i : group.current[0])
        if (rng() % 10 == 0) {
          group.busy[0].push_back(i);
          ++busy;
        }
      fleet.push_back(std::move(group));
    }
    Workload small, large;
    small.name = "8GiB";
    small.memory_mib = 8 * 1024;
    small.count = n / 2;
    large.name = "30GiB";
    large.memory_mib = 30 * 1024;
    large.count = n / 8;
    std::vector<double> ms;
    FleetPlan plan;
    for (unsigned r = 0; r < runs; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      plan =
          Check(PlanFleet(fleet, {small, large}, {.objective = Objective::kKeepCurrent, .time_limit_s = 60}),
                "PlanFleet");
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    unsigned served = small.count + large.count;
    for (const Unserved& u : plan.unserved) served -= u.count;
    std::printf("%6u %10u %6u/%-4u %12.1f %8s\n", n, busy, served, small.count + large.count,
                ms[ms.size() / 2], plan.optimal ? "yes" : "no");
  }
}

int main(int argc, char** argv) {
  std::vector<unsigned> fleets = {8, 10, 13};
  std::string path = std::string(MIGCTL_SOURCE_DIR) + "/bench/data/alibaba-openb/openb_pod_list_default.csv";
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--gpus") && i + 1 < argc) {
      fleets.clear();
      for (const char* p = argv[++i]; *p;) {
        fleets.push_back(static_cast<unsigned>(std::strtoul(p, const_cast<char**>(&p), 10)));
        if (*p == ',') ++p;
      }
    } else if (!std::strcmp(argv[i], "--miso")) {
      MisoTable(i + 1 < argc ? argv[i + 1] : std::string(MIGCTL_SOURCE_DIR) + "/bench/data/miso");
      return 0;
    } else if (!std::strcmp(argv[i], "--cost")) {
      CostTable(5);
      return 0;
    } else {
      path = argv[i];
    }
  }
  const std::vector<SharingPod> pods = Check(LoadSharingPods(path), path);
  const unsigned long long peak = PeakMilli(pods);
  std::printf(
      "%zu GPU-sharing pods of %s, replayed by their creation and deletion times; at the trace's peak\n"
      "they hold %.2f GPUs' worth (gpu_milli) at once\n",
      pods.size(), path.c_str(), peak / 1000.0);
  for (const char* key : {"a100-80gb", "h100-80gb"}) {
    const GpuModel& model = *Check(FindModel(key), key);
    for (NeedMapping mapping : {NeedMapping::kCompute, NeedMapping::kMemory}) {
      for (unsigned n_gpus : fleets) {
        std::printf("\n%s x%u (peak demand %.0f%% of it), %s mapping\n", key, n_gpus,
                    100.0 * peak / (1000.0 * n_gpus), NeedMappingName(mapping));
        std::printf("%-20s %10s %7s %12s %10s %9s %9s %10s %8s\n", "policy", "on arrival", "never",
                    "mean wait s", "allocation", "changes", "disturbed", "solve ms", "re-cuts");
        auto row = [](const std::string& name, const Outcome& o) {
          std::printf("%-20s %9.1f%% %7.0f %12.0f %9.1f%% %9.0f %9.0f %10.1f %8.0f\n", name.c_str(),
                      100 * o.on_arrival, o.never, o.mean_wait, 100 * o.allocation, o.changes, o.disturbed,
                      o.solve_ms, o.reshapes);
        };
        for (Policy policy : {Policy::kStatic, Policy::kDra, Policy::kNos, Policy::kMigctl, Policy::kRepack}) {
          row(kPolicyNames[int(policy)], Replay(policy, model, n_gpus, pods, mapping));
          if (policy != Policy::kStatic) continue;
          // The best static layout in hindsight: every maximal layout tried on all GPUs, the one that places
          // the most pods (then the shortest mean wait) kept.
          std::optional<std::pair<Outcome, Layout>> best;
          for (const CandidateLayout& c : FreshLayouts(model)) {
            const Outcome o = Replay(Policy::kStatic, model, n_gpus, pods, mapping, &c.placements);
            if (!best || o.never < best->first.never ||
                (o.never == best->first.never && o.mean_wait < best->first.mean_wait))
              best = {o, c.placements};
          }
          row("best static", best->first);
          std::printf("  (best static: %s)\n", DescribeLayout(model, best->second).c_str());
        }
      }
    }
  }
  return 0;
}
