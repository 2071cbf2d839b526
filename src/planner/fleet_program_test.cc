#include "planner/fleet_program.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl::planner {
namespace {

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

FleetGroup Group(const char* key, unsigned count) {
  FleetGroup g;
  g.model = &Model(key);
  g.count = count;
  return g;
}

TEST(ClassifyGpus, FreshGpusOfOneModelFormOneClassAcrossGroups) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 2), Group("h100-80gb", 1), Group("a100-80gb", 3)};
  std::vector<const GpuModel*> models = {fleet[0].model, fleet[1].model};
  std::vector<GpuClass> classes = ClassifyGpus(fleet, models, /*keep_current=*/false);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0].model, 0u);
  EXPECT_EQ(classes[0].members.size(), 5u);
  EXPECT_EQ(classes[0].members[2], (std::pair<size_t, unsigned>{2, 0}));
  EXPECT_EQ(classes[1].members.size(), 1u);
  EXPECT_EQ(classes[0].layouts.size(), FreshLayouts(Model("a100-80gb")).size());
}

TEST(ClassifyGpus, KeepCurrentClassesGpusByWhatTheyRun) {
  const GpuModel& a100 = Model("a100-80gb");
  ProfileId three = a100.FindProfile("3g.40gb")->id;
  FleetGroup g = Group("a100-80gb", 4);
  g.current = {{{three, 0}}, {}, {{three, 0}}, {{three, 4}}};
  std::vector<GpuClass> kept = ClassifyGpus({g}, {&a100}, /*keep_current=*/true);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0].members.size(), 2u);  // both run 3g.40gb@0
  EXPECT_TRUE(kept[1].current.empty());
  EXPECT_EQ(kept[2].current, (Layout{{three, 4}}));
  // Other objectives ignore what runs now.
  EXPECT_EQ(ClassifyGpus({g}, {&a100}, /*keep_current=*/false).size(), 1u);
}

TEST(FleetProgram, HasOneColumnPerLayoutAndPerDemandClassAndModel) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 8), Group("h100-80gb", 8)};
  std::vector<const GpuModel*> models = {fleet[0].model, fleet[1].model};
  std::vector<GpuClass> classes = ClassifyGpus(fleet, models, false);
  Workload w;
  w.memory_mib = 30 * 1024;
  w.count = 5;
  Workload h100_only = w;
  h100_only.models = {"h100-80gb"};
  std::vector<Workload> work = {w, h100_only};
  WorkloadMap map = MapWorkloads(models, work).value();
  FleetProgram program(classes, models, GroupDemand(map, work), false);
  size_t layouts = classes[0].layouts.size() + classes[1].layouts.size();
  EXPECT_EQ(program.layouts(), layouts);
  EXPECT_EQ(program.mip().columns(), static_cast<int>(layouts + 2 + 1));
  EXPECT_EQ(program.Served(0).size(), 3u);
  EXPECT_EQ(program.GpusUsed().size(), layouts);
  EXPECT_TRUE(program.Kept().empty());
  EXPECT_TRUE(program.ExtraGpus().empty());
}

TEST(FleetProgram, ServedUnitsGoToAClassWorkloadsInOrder) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 1)};
  std::vector<const GpuModel*> models = {fleet[0].model};
  Workload a, b;
  a.memory_mib = b.memory_mib = 8 * 1024;
  a.count = 2;
  b.count = 3;
  std::vector<Workload> work = {a, b};
  WorkloadMap map = MapWorkloads(models, work).value();
  std::vector<GpuClass> classes = ClassifyGpus(fleet, models, false);
  FleetProgram program(classes, models, GroupDemand(map, work), false);
  MipSolution s = program.mip().Solve(program.Served(0), Direction::kMaximize, 10);
  ASSERT_TRUE(s.found);
  // One A100 holds seven 1g.10gb: all five units, two to the first workload, three to the second.
  EXPECT_EQ(program.ServedByWorkload(work, s.values), (std::vector<std::vector<long long>>{{2}, {3}}));
}

TEST(FleetProgram, ExtraGpusAnswerTheShortfall) {
  std::vector<FleetGroup> fleet = {Group("a100-80gb", 1)};
  std::vector<const GpuModel*> models = {fleet[0].model};
  Workload w;
  w.memory_mib = 60 * 1024;  // a whole 7g.80gb each
  w.count = 4;
  std::vector<Workload> work = {w};
  WorkloadMap map = MapWorkloads(models, work).value();
  FleetProgram program(ClassifyGpus(fleet, models, false), models, GroupDemand(map, work), true);
  MipSolution s = program.mip().Solve(program.ExtraGpus(), Direction::kMinimize, 10);
  ASSERT_TRUE(s.found);
  EXPECT_EQ(program.ExtraGpusOf(0, s.values), 3);
}

}  // namespace
}  // namespace migctl::planner
