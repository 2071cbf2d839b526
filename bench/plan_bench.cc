// `migctl plan` (PlanFleet) against the greedy planners of planner/baselines.h on demand drawn from the
// Alibaba GPU-sharing trace (issue 5), all in one run, and PlanFleet's planning time for 8, 128 and 1,024
// GPUs.
//
// Packing, per fleet model and need mapping, over seeds 42-51 (the ATC'23 protocol: pods shuffled, submitted
// until their gpu_milli reaches 130% of a fleet of --gpus GPUs):
//   GPUs needed: each method's GPUs in use when it must place every pod on a fleet with a GPU per pod
//                (migctl: fewest-gpus).
//   pods placed: each method's pods placed on the fixed fleet of --gpus GPUs (migctl: most-served).
// Timing: a fleet of half a100-80gb, half h100-80gb, demand sampled to 100% of its GPUs (seed 42, compute
// mapping), PlanFleet with each objective, median of --runs runs after one warm-up. `--first-call GPUS` times
// only the first PlanFleet of a fresh process for that fleet (it includes enumerating the models' layouts).
//
//   cmake -S . -B build-baselines -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIGCTL_BUILD_BENCH=ON
//   ninja -C build-baselines plan_bench && build-baselines/bench/plan_bench [--gpus 64] [--runs 7] [pods.csv]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "planner/baselines.h"
#include "planner/plan.h"
#include "planner/trace.h"

using namespace migctl;
using namespace migctl::planner;

namespace {

constexpr unsigned kSeeds[] = {42, 43, 44, 45, 46, 47, 48, 49, 50, 51};
constexpr int kMethods = 4;  // migctl, FFD, nos, DRA
const char* const kMethodNames[kMethods] = {"migctl", "FFD", "nos rule", "DRA first-fit"};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

[[noreturn]] void Die(const std::string& what, const Error& error) {
  std::fprintf(stderr, "plan_bench: %s: %s\n", what.c_str(), error.message.c_str());
  std::exit(1);
}

template <typename T>
T Check(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what, result.error());
  return std::move(result).value();
}

/// Pods migctl's plan serves: instances that serve a workload.
unsigned Served(const FleetPlan& plan) {
  unsigned served = 0;
  for (const PlannedGpu& gpu : plan.gpus)
    for (int w : gpu.served_by) served += w >= 0;
  return served;
}

FleetPlan Plan(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads,
               Objective objective, const std::string& what) {
  FleetPlan plan = Check(PlanFleet(fleet, workloads, {.objective = objective}), what);
  if (!plan.optimal)
    std::fprintf(stderr, "plan_bench: %s: not proven optimal (%s)\n", what.c_str(), plan.method.c_str());
  return plan;
}

/// [method] -> one value per seed.
struct PerSeed {
  std::vector<double> gpus[kMethods], placed[kMethods];
  std::vector<double> pods;
};

PerSeed RunPacking(const std::vector<SharingPod>& trace, const GpuModel& model, NeedMapping mapping,
                   unsigned fleet_gpus) {
  PerSeed out;
  for (unsigned seed : kSeeds) {
    const std::vector<SharingPod> pods = SamplePods(trace, seed, 1300ull * fleet_gpus);
    const std::vector<Workload> aggregated = AggregateNeeds(pods, mapping);
    const std::vector<Workload> arrivals = PodWorkloads(pods, mapping);
    const std::string what = fmt::format("{} {} seed {}", model.key, NeedMappingName(mapping), seed);
    out.pods.push_back(static_cast<double>(pods.size()));

    // A GPU per pod is always enough: every pod fits a whole GPU.
    const std::vector<FleetGroup> unbounded = {{&model, static_cast<unsigned>(pods.size()), {}, {}}};
    const FleetPlan fewest = Plan(unbounded, aggregated, Objective::kFewestGpus, what + " fewest-gpus");
    if (!fewest.unserved.empty())
      Die(what, MakeError(ErrorCode::kInternal, "fewest-gpus left pods unserved"));
    const std::vector<FleetGroup> fixed = {{&model, fleet_gpus, {}, {}}};
    const FleetPlan most = Plan(fixed, aggregated, Objective::kMostServed, what + " most-served");
    unsigned unserved = 0;
    for (const Unserved& u : most.unserved) unserved += u.count;
    if (Served(most) + unserved != pods.size())
      Die(what,
          MakeError(ErrorCode::kInternal, "most-served: served and unserved do not add up to the pods"));
    out.gpus[0].push_back(fewest.gpus_used);
    out.placed[0].push_back(Served(most));

    int m = 1;
    for (auto baseline : {FirstFitDecreasing, NosRule, DraFirstFit}) {
      const BaselinePlan all = Check(baseline(unbounded, arrivals), what);
      if (all.unplaced != 0)
        Die(what, MakeError(ErrorCode::kInternal,
                            fmt::format("{} left pods on an unbounded fleet", kMethodNames[m])));
      const BaselinePlan on_fixed = Check(baseline(fixed, arrivals), what);
      // PlanFleet is proven optimal for both objectives: a baseline doing better is a bug in one of them.
      if (all.gpus_used < fewest.gpus_used || on_fixed.placed > Served(most))
        Die(what, MakeError(ErrorCode::kInternal, fmt::format("{} beat the optimal plan", kMethodNames[m])));
      out.gpus[m].push_back(all.gpus_used);
      out.placed[m].push_back(on_fixed.placed);
      ++m;
    }
  }
  return out;
}

/// `142 (1.08x)`: the median, and the median over seeds of value / migctl's value.
std::string WithRatio(const std::vector<double>& values, const std::vector<double>& migctl) {
  std::vector<double> ratios;
  for (size_t i = 0; i < values.size(); ++i) ratios.push_back(values[i] / migctl[i]);
  return fmt::format("{:g} ({:.3f}x)", Median(values), Median(ratios));
}

void PrintPacking(const std::vector<SharingPod>& trace, unsigned fleet_gpus) {
  std::printf(
      "Pods sampled to 130%% of %u GPUs' gpu_milli, seeds 42-51; medians over seeds, (x) = median of the\n"
      "per-seed ratio to migctl.\n\n",
      fleet_gpus);
  std::printf(
      "| fleet | mapping | pods | GPUs needed: migctl | FFD | nos rule | DRA first-fit "
      "| pods placed on %u GPUs: migctl | FFD | nos rule | DRA first-fit |\n",
      fleet_gpus);
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const char* key : {"a100-80gb", "h100-80gb"}) {
    const GpuModel& model = *Check(FindModel(key), key);
    for (NeedMapping mapping : {NeedMapping::kCompute, NeedMapping::kMemory}) {
      const PerSeed r = RunPacking(trace, model, mapping, fleet_gpus);
      std::string row = fmt::format("| {} | {} | {:g} ", key, NeedMappingName(mapping), Median(r.pods));
      row += fmt::format("| {:g} ", Median(r.gpus[0]));
      for (int m = 1; m < kMethods; ++m) row += "| " + WithRatio(r.gpus[m], r.gpus[0]) + " ";
      row += fmt::format("| {:g} ", Median(r.placed[0]));
      for (int m = 1; m < kMethods; ++m) row += "| " + WithRatio(r.placed[m], r.placed[0]) + " ";
      std::printf("%s|\n", row.c_str());
      std::fflush(stdout);
    }
  }
}

/// The timing input: half a100-80gb, half h100-80gb, pods sampled to 100% of the fleet (seed 42, compute).
std::pair<std::vector<FleetGroup>, std::vector<Workload>> TimingInput(const std::vector<SharingPod>& trace,
                                                                      unsigned gpus) {
  return {{{Check(FindModel("a100-80gb"), "a100-80gb"), gpus / 2, {}, {}},
           {Check(FindModel("h100-80gb"), "h100-80gb"), gpus - gpus / 2, {}, {}}},
          AggregateNeeds(SamplePods(trace, 42, 1000ull * gpus), NeedMapping::kCompute)};
}

double TimePlan(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads,
                Objective objective, FleetPlan* plan) {
  const auto t0 = std::chrono::steady_clock::now();
  *plan = Check(PlanFleet(fleet, workloads, {.objective = objective}), "timing");
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// The first PlanFleet of a process also enumerates each model's layouts (memoised for the process after):
/// what one `migctl plan` pays. Run it in a fresh process per sample.
void PrintFirstCall(const std::vector<SharingPod>& trace, unsigned gpus) {
  const auto [fleet, workloads] = TimingInput(trace, gpus);
  FleetPlan plan;
  std::printf("first call, %u GPUs, fewest-gpus: %.2f ms\n", gpus,
              TimePlan(fleet, workloads, Objective::kFewestGpus, &plan));
}

void PrintTiming(const std::vector<SharingPod>& trace, int runs) {
  std::printf(
      "\nPlanFleet time, fleet half a100-80gb and half h100-80gb, pods sampled to 100%% of its gpu_milli "
      "(seed 42, compute mapping); median of %d runs after a warm-up.\n\n",
      runs);
  std::printf(
      "| GPUs | pods | distinct needs | objective | median ms | min ms | max ms | GPUs used | pods served "
      "| optimal |\n|---:|---:|---:|---|---:|---:|---:|---:|---:|---|\n");
  for (unsigned gpus : {8u, 128u, 1024u}) {
    const auto [fleet, workloads] = TimingInput(trace, gpus);
    unsigned pods = 0;
    for (const Workload& w : workloads) pods += w.count;
    for (Objective objective : {Objective::kFewestGpus, Objective::kMostServed}) {
      const char* name = objective == Objective::kFewestGpus ? "fewest-gpus" : "most-served";
      FleetPlan plan;
      std::vector<double> ms;
      for (int run = 0; run <= runs; ++run) {
        const double elapsed = TimePlan(fleet, workloads, objective, &plan);
        if (run > 0) ms.push_back(elapsed);
      }
      std::printf("| %u | %u | %zu | %s | %.2f | %.2f | %.2f | %u | %u | %s |\n", gpus, pods,
                  workloads.size(), name, Median(ms), *std::min_element(ms.begin(), ms.end()),
                  *std::max_element(ms.begin(), ms.end()), plan.gpus_used, Served(plan),
                  plan.optimal ? "yes" : "no");
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = MIGCTL_SOURCE_DIR "/bench/data/alibaba-openb/openb_pod_list_default.csv";
  unsigned fleet_gpus = 64;
  int runs = 7;
  unsigned first_call = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--gpus") && i + 1 < argc) {
      fleet_gpus = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--first-call") && i + 1 < argc) {
      first_call = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (argv[i][0] != '-') {
      path = argv[i];
    } else {
      std::fprintf(stderr,
                   "usage: plan_bench [--gpus N] [--runs N] [--first-call GPUS] [openb_pod_list.csv]\n");
      return 2;
    }
  }
  if (fleet_gpus == 0 || runs < 1) {
    std::fprintf(stderr, "plan_bench: --gpus and --runs must be positive\n");
    return 2;
  }
  const std::vector<SharingPod> trace = Check(LoadSharingPods(path), path);
  if (first_call > 0) {
    PrintFirstCall(trace, first_call);
    return 0;
  }
  std::printf("%zu GPU-sharing pods from %s\n\n", trace.size(), path.c_str());
  PrintPacking(trace, fleet_gpus);
  PrintTiming(trace, runs);
  return 0;
}
