#include "planner/baselines.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "layout/feasibility.h"

namespace migctl::planner {
namespace {

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

Workload Slices(unsigned slices, unsigned count = 1, unsigned priority = 0) {
  Workload w;
  w.name = std::to_string(slices) + "g";
  w.count = count;
  w.compute_slices = slices;
  w.priority = priority;
  return w;
}

std::vector<FleetGroup> Fleet(const char* key, unsigned count) { return {{&Model(key), count, {}, {}}}; }

/// The profile names of one GPU's instances, sorted.
std::vector<std::string> Names(const GpuModel& model, const BaselineGpu& gpu) {
  std::vector<std::string> names;
  for (const PlacedInstance& i : gpu.layout) names.push_back(model.FindProfile(i.profile)->name);
  std::sort(names.begin(), names.end());
  return names;
}

using Names_ = std::vector<std::string>;

TEST(FirstFitDecreasing, PlacesLargestFirstAndFillsTheFirstGpu) {
  const GpuModel& a100 = Model("a100-80gb");
  // Given small first; FFD sorts 4g, 3g, then the 1g's, which no longer fit beside 4g + 3g.
  auto plan = FirstFitDecreasing(Fleet("a100-80gb", 4), {Slices(1, 3), Slices(4), Slices(3)});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->gpus_used, 2u);
  EXPECT_EQ(plan->placed, 5u);
  EXPECT_EQ(plan->unplaced, 0u);
  EXPECT_EQ(Names(a100, plan->gpus[0]), (Names_{"3g.40gb", "4g.40gb"}));
  EXPECT_EQ(Names(a100, plan->gpus[1]), (Names_{"1g.10gb", "1g.10gb", "1g.10gb"}));
}

TEST(FirstFitDecreasing, LeavesWhatTheFleetCannotHold) {
  auto plan = FirstFitDecreasing(Fleet("h100-80gb", 1), {Slices(7, 2)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->placed, 1u);
  EXPECT_EQ(plan->unplaced, 1u);
}

TEST(FirstFitDecreasing, HonoursModelConstraintsAcrossGroups) {
  std::vector<FleetGroup> fleet = {{&Model("a100-80gb"), 1, {}, {}}, {&Model("h100-80gb"), 1, {}, {}}};
  Workload only_h100 = Slices(2);
  only_h100.models = {"h100-80gb"};
  auto plan = FirstFitDecreasing(fleet, {only_h100});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->gpus[0].layout.empty());
  EXPECT_EQ(plan->gpus[1].layout.size(), 1u);
}

TEST(FirstFitDecreasing, RejectsAnEmptyFleet) {
  auto plan = FirstFitDecreasing({}, {Slices(1)});
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidInput);
}

TEST(NosPass, ReCutsAroundUsedInstancesAndGivesThePendingPodsFreeOnes) {
  const GpuModel& a100 = Model("a100-80gb");
  const ProfileId three = a100.FindProfile("3g.40gb")->id, one = a100.FindProfile("1g.10gb")->id;
  std::vector<NosGpuState> gpus(1);
  gpus[0].used = {{three, 4}};  // a pod runs there: it stays
  gpus[0].free = {{three, 0}};  // idle: nos may re-cut it
  const auto taken = NosPass(a100, &gpus, {one, one, one});
  for (const auto& t : taken) {
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->first, 0u);
    EXPECT_EQ(t->second.profile, one);
  }
  EXPECT_EQ(std::count(gpus[0].used.begin(), gpus[0].used.end(), PlacedInstance{three, 4}), 1);
  EXPECT_EQ(gpus[0].used.size(), 4u);
  EXPECT_TRUE(CheckLayout(a100, [&] {
                Layout all = gpus[0].used;
                all.insert(all.end(), gpus[0].free.begin(), gpus[0].free.end());
                return all;
              }()).ok());
}

TEST(NosPass, APodNoGeometryCanHoldBesideTheUsedOnesWaits) {
  const GpuModel& a100 = Model("a100-80gb");
  std::vector<NosGpuState> gpus(1);
  gpus[0].used = {{a100.FindProfile("3g.40gb")->id, 4}};
  const auto taken = NosPass(a100, &gpus, {a100.FindProfile("7g.80gb")->id});
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_FALSE(taken[0].has_value());
  EXPECT_EQ(gpus[0].used.size(), 1u);  // reverted: nothing placed, nothing changed
}

TEST(DraFirstFit, DeviceNamesFollowTheDriver) {
  const GpuModel& a100 = Model("a100-80gb");
  EXPECT_EQ(DraDeviceName(2, *a100.FindProfile("1g.10gb"), 0), "gpu-2-mig-1g10gb-19-0");
  EXPECT_EQ(DraDeviceName(0, *a100.FindProfile("1g.10gb+me"), 6), "gpu-0-mig-1g10gb-me-20-6");
  EXPECT_EQ(DraDeviceName(1, *a100.FindProfile("3g.40gb"), 4), "gpu-1-mig-3g40gb-9-4");
}

// The first 1g device in name order is start 0, the only start a 4g has: the 4g must open a second GPU,
// where FFD (4g first, then the 1g at 4) needs one.
TEST(DraFirstFit, StartZeroFirstBlocksALater4g) {
  const GpuModel& a100 = Model("a100-80gb");
  auto plan = DraFirstFit(Fleet("a100-80gb", 2), {Slices(1), Slices(4)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->gpus_used, 2u);
  EXPECT_EQ(plan->gpus[0].layout, (Layout{{a100.FindProfile("1g.10gb")->id, 0}}));
  EXPECT_EQ(plan->gpus[1].layout, (Layout{{a100.FindProfile("4g.40gb")->id, 0}}));
  auto ffd = FirstFitDecreasing(Fleet("a100-80gb", 2), {Slices(1), Slices(4)});
  ASSERT_TRUE(ffd.ok());
  EXPECT_EQ(ffd->gpus_used, 1u);
}

TEST(DraFirstFit, ThreeGAtZeroBlocksThe4gToo) {
  auto plan = DraFirstFit(Fleet("h100-80gb", 1), {Slices(3), Slices(4)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->placed, 1u);
  EXPECT_EQ(plan->unplaced, 1u);
}

TEST(DraFirstFit, FillsAGpuInStartOrder) {
  const GpuModel& h100 = Model("h100-80gb");
  auto plan = DraFirstFit(Fleet("h100-80gb", 1), {Slices(1, 7)});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->placed, 7u);
  for (unsigned i = 0; i < 7; ++i)
    EXPECT_EQ(plan->gpus[0].layout[i], (PlacedInstance{h100.FindProfile("1g.10gb")->id, i}));
}

// Lacking {1g: 1, 2g: 3}: 3x2g + 1g provides all four, so one GPU serves everything.
TEST(NosRule, ChoosesTheGeometryCoveringMostLackingProfiles) {
  const GpuModel& a100 = Model("a100-80gb");
  auto plan = NosRule(Fleet("a100-80gb", 2), {Slices(2, 3), Slices(1)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->gpus_used, 1u);
  EXPECT_EQ(Names(a100, plan->gpus[0]), (Names_{"1g.10gb", "2g.20gb", "2g.20gb", "2g.20gb"}));
}

// Lacking {1g: 4, 3g: 1, 4g: 1}: 3g + 4x1g provides 5, more than 4g + 3x1g (4) or 4g + 3g (2).
TEST(NosRule, SmallerFirstAndCoverageSplitTheFourG) {
  const GpuModel& a100 = Model("a100-80gb");
  auto plan = NosRule(Fleet("a100-80gb", 2), {Slices(4), Slices(3), Slices(1, 4)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->gpus_used, 2u);
  EXPECT_EQ(Names(a100, plan->gpus[0]), (Names_{"1g.10gb", "1g.10gb", "1g.10gb", "1g.10gb", "3g.40gb"}));
  EXPECT_EQ(Names(a100, plan->gpus[1]), (Names_{"4g.40gb"}));
}

// Coverage counts units, not priorities: 7x1g covers three units, 7g one, so the high-priority 7g is left
// out, and later passes cannot remove the used 1g's to make room for it.
TEST(NosRule, CoverageOutweighsPriorityAndUsedInstancesStay) {
  auto plan = NosRule(Fleet("a100-80gb", 1), {Slices(7, 1, /*priority=*/1), Slices(1, 3)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->placed, 3u);
  EXPECT_EQ(plan->unplaced, 1u);
  for (size_t w : plan->gpus[0].served_by) EXPECT_EQ(w, 1u);
}

// Lacking {4g: 1, 7g: 1}: 7g alone and every geometry with a 4g cover one each; the tie goes to the first in
// list order (largest first), so GPU 0 takes the 7g although the 4g sorted first.
TEST(NosRule, TiesGoToTheFirstGeometryInListOrder) {
  const GpuModel& h100 = Model("h100-80gb");
  auto plan = NosRule(Fleet("h100-80gb", 2), {Slices(4), Slices(7)});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Names(h100, plan->gpus[0]), (Names_{"7g.80gb"}));
  EXPECT_EQ(Names(h100, plan->gpus[1]), (Names_{"4g.40gb"}));
}

// Every baseline yields valid layouts, accounts for every unit, and gives each unit its smallest profile.
TEST(Baselines, LayoutsAreValidAndUnitsAccountedFor) {
  std::vector<FleetGroup> fleet = {{&Model("a100-80gb"), 3, {}, {}}, {&Model("h100-80gb"), 2, {}, {}}};
  Workload memory;
  memory.name = "30GiB";
  memory.count = 3;
  memory.memory_mib = 30 * 1024;
  std::vector<Workload> workloads = {Slices(1, 5), Slices(2, 4), Slices(3, 3),
                                     memory,       Slices(4, 2), Slices(7, 2)};
  unsigned units = 0;
  for (const Workload& w : workloads) units += w.count;
  for (auto run : {FirstFitDecreasing, NosRule, DraFirstFit}) {
    auto plan = run(fleet, workloads);
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->gpus.size(), 5u);
    EXPECT_EQ(plan->placed + plan->unplaced, units);
    unsigned used = 0;
    for (const BaselineGpu& gpu : plan->gpus) {
      const GpuModel& model = *fleet[gpu.group].model;
      EXPECT_TRUE(CheckLayout(model, gpu.layout).ok()) << DescribeLayout(model, gpu.layout);
      ASSERT_EQ(gpu.served_by.size(), gpu.layout.size());
      for (size_t i = 0; i < gpu.layout.size(); ++i)
        EXPECT_EQ(gpu.layout[i].profile, *SmallestProfileFor(model, workloads[gpu.served_by[i]]));
      used += !gpu.layout.empty();
    }
    EXPECT_EQ(plan->gpus_used, used);
  }
}

}  // namespace
}  // namespace migctl::planner
