// Placement-solver time per call, beside mig-parted's way of coping with order-dependent automatic placement:
// try creation orders (permutations) with the driver's greedy choice until one succeeds. The driver's choice
// is the simulator's (sim::ChooseGpuInstanceStart), so both sides work on the same geometry in-process, no
// NVML calls.
//
//   cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DMIGCTL_BUILD_BENCH=ON
//   ninja -C build-bench placement_solver_bench && ./build-bench/bench/placement_solver_bench
#include <algorithm>

#include <benchmark/benchmark.h>

#include "catalog/catalog.h"
#include "layout/enumerate.h"
#include "layout/placement_solver.h"
#include "sim/engine.h"

namespace migctl {
namespace {

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

std::vector<ProfileId> Ids(std::initializer_list<unsigned> ids) {
  std::vector<ProfileId> out;
  for (unsigned i : ids) out.emplace_back(i);
  return out;
}

struct Case {
  const char* model;
  Layout existing;
  std::vector<ProfileId> requests;
};

// 0: the user guide's failing order; 1: seven 1g; 2: next to a 3g@4; 3: H100 with the double-memory 1g.
const Case kCases[] = {
    {"a100-40gb", {}, Ids({19, 19, 14, 9})},
    {"a100-80gb", {}, Ids({19, 19, 19, 19, 19, 19, 19})},
    {"a100-80gb", {{ProfileId(9), 4}}, Ids({19, 14, 19})},
    {"h100-80gb", {}, Ids({15, 15, 14, 19, 19})},
};

void BM_SolvePlacements(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  const GpuModel& model = Model(c.model);
  for (auto _ : state) benchmark::DoNotOptimize(SolvePlacements(model, c.existing, c.requests));
}
BENCHMARK(BM_SolvePlacements)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

/// mig-parted's rule: permutations of the creation order, starting from the order the user gave, each tried
/// with the driver's greedy placement.
bool PermutationSearch(const GpuModel& model, const Layout& existing, const std::vector<ProfileId>& order,
                       int* tries) {
  std::vector<size_t> perm(order.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  do {
    ++*tries;
    Layout layout = existing;
    bool ok = true;
    for (size_t i : perm) {
      std::optional<unsigned> start =
          sim::ChooseGpuInstanceStart(model, layout, *model.FindProfile(order[i]));
      if (!start) {
        ok = false;
        break;
      }
      layout.push_back({order[i], *start});
    }
    if (ok) return true;
  } while (std::next_permutation(perm.begin(), perm.end()));
  return false;
}

void BM_PermutationSearch(benchmark::State& state) {
  const Case& c = kCases[state.range(0)];
  const GpuModel& model = Model(c.model);
  int tries = 0;
  bool found = false;
  for (auto _ : state) {
    tries = 0;
    found = PermutationSearch(model, c.existing, c.requests, &tries);
    benchmark::DoNotOptimize(found);
  }
  state.counters["orders_tried"] = tries;
  state.counters["found"] = found;
}
BENCHMARK(BM_PermutationSearch)->DenseRange(0, 3)->Unit(benchmark::kMicrosecond);

void BM_EnumerateMaximal(benchmark::State& state) {
  const GpuModel& model = Model("h100-80gb");
  size_t n = 0;
  for (auto _ : state) n = EnumerateCombinations(model, {.maximal_only = true}).size();
  state.counters["layouts"] = static_cast<double>(n);
}
BENCHMARK(BM_EnumerateMaximal)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace migctl

BENCHMARK_MAIN();
