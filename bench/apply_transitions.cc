// Instances destroyed + created over every transition between the maximal layouts of a model: migctl's diff
// (the code `apply` runs), mig-parted's rule (a GPU whose profile counts differ is wiped and rebuilt; equal
// counts are left alone), and the minimum by brute force over every valid placement of the target. Also the
// time DiffLayouts takes per GPU. Each GI carries its default CI, so one instance = a GI plus its CI (2).
//   cmake -S . -B build -DMIGCTL_BUILD_BENCH=ON && ninja -C build apply_transitions &&
//   build/bench/apply_transitions
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "catalog/catalog.h"
#include "layout/diff.h"
#include "layout/enumerate.h"

using namespace migctl;

namespace {

std::vector<ProfileId> ProfilesOf(const Layout& l) {
  std::vector<ProfileId> ids;
  for (const PlacedInstance& p : l) ids.push_back(p.profile);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void Run(const char* key) {
  const GpuModel& m = **FindModel(key);
  std::vector<Layout> maximal;
  for (const Combination& c : EnumerateCombinations(m, {.maximal_only = true}))
    maximal.push_back(c.placements);
  std::map<std::vector<ProfileId>, std::vector<Layout>> all;
  for (Layout& l : EnumerateLayouts(m)) all[ProfilesOf(l)].push_back(std::move(l));
  unsigned long long ours = 0, rule = 0, minimum = 0, transitions = 0, unchanged_counts = 0;
  std::vector<double> micros;
  for (const Layout& from : maximal) {
    std::vector<CurrentGi> current;
    unsigned id = 1;
    for (const PlacedInstance& p : from)
      current.push_back({GiId(id++),
                         p.profile,
                         p.start,
                         {{CiId(0), m.FindProfile(p.profile)->DefaultCiProfile()->id, 0, false}}});
    for (const Layout& to : maximal) {
      std::vector<GiTarget> target;
      for (const PlacedInstance& p : to)
        target.push_back(
            {p.profile, std::nullopt, {{m.FindProfile(p.profile)->DefaultCiProfile()->id, std::nullopt}}});
      const auto t0 = std::chrono::steady_clock::now();
      Result<LayoutDiff> d = DiffLayouts(m, current, target, false);
      micros.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
      if (!d.ok()) {
        std::fprintf(stderr, "%s: %s\n", key, d.error().message.c_str());
        return;
      }
      ours += d->DestroyCount(current) + d->CreateCount();
      const bool same_counts = ProfilesOf(from) == ProfilesOf(to);
      unchanged_counts += same_counts;
      rule += same_counts ? 0 : 2 * (from.size() + to.size());
      unsigned best_kept = 0;
      for (const Layout& l : all[ProfilesOf(to)]) {
        unsigned kept = 0;
        for (const PlacedInstance& p : l) kept += std::count(from.begin(), from.end(), p) > 0;
        best_kept = std::max(best_kept, kept);
      }
      minimum += 2 * (from.size() - best_kept) + 2 * (to.size() - best_kept);
      ++transitions;
    }
  }
  std::sort(micros.begin(), micros.end());
  std::printf("| %s | %zu | %llu | %llu | %llu | %llu | %.2fx | %.1f | %.1f |\n", key, maximal.size(),
              transitions, ours, rule, minimum, static_cast<double>(rule) / static_cast<double>(ours),
              micros[micros.size() / 2], micros.back());
}

}  // namespace

int main() {
  std::printf(
      "| model | maximal layouts | transitions | migctl destroyed+created | mig-parted rule | minimum | "
      "rule / migctl | diff median µs | diff max µs |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const char* key : {"a100-80gb", "h100-80gb", "a100-40gb", "h200-141gb"}) Run(key);
}
