#include "planner/workload_mapping.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"

namespace migctl::planner {
namespace {

constexpr unsigned long long kGib = 1024;

const GpuModel& Model(const char* key) { return *FindModel(key).value(); }

Workload Memory(unsigned long long gib) {
  Workload w;
  w.name = std::to_string(gib) + "GiB";
  w.memory_mib = gib * kGib;
  return w;
}

Workload Slices(unsigned slices) {
  Workload w;
  w.compute_slices = slices;
  return w;
}

Workload Profile(const char* name) {
  Workload w;
  w.profile = name;
  return w;
}

std::string NameFor(const GpuModel& model, const Workload& w) {
  std::optional<ProfileId> id = SmallestProfileFor(model, w);
  return id ? model.FindProfile(*id)->name : "none";
}

TEST(SmallestProfileFor, MemoryPicksLeastMemoryThenFewestSlices) {
  const GpuModel& a100 = Model("a100-80gb");
  EXPECT_EQ(NameFor(a100, Memory(8)), "1g.10gb");
  // 1g.20gb and 2g.20gb hold the same memory; the one with fewer slices wins.
  EXPECT_EQ(NameFor(a100, Memory(18)), "1g.20gb");
  // 3g.40gb and 4g.40gb hold the same memory; 3g has fewer slices.
  EXPECT_EQ(NameFor(a100, Memory(30)), "3g.40gb");
  EXPECT_EQ(NameFor(a100, Memory(60)), "7g.80gb");
  EXPECT_EQ(NameFor(a100, Memory(90)), "none");
}

TEST(SmallestProfileFor, ModelsDiffer) {
  EXPECT_EQ(NameFor(Model("a100-40gb"), Memory(8)), "1g.10gb");
  EXPECT_EQ(NameFor(Model("a100-40gb"), Memory(18)), "3g.20gb");
  EXPECT_EQ(NameFor(Model("a100-40gb"), Memory(30)), "7g.40gb");
  EXPECT_EQ(NameFor(Model("h100-80gb"), Memory(30)), "3g.40gb");
}

TEST(SmallestProfileFor, ComputeNeedsAndBoth) {
  const GpuModel& a100 = Model("a100-80gb");
  EXPECT_EQ(NameFor(a100, Slices(1)), "1g.10gb");
  EXPECT_EQ(NameFor(a100, Slices(2)), "2g.20gb");
  EXPECT_EQ(NameFor(a100, Slices(4)), "4g.40gb");
  EXPECT_EQ(NameFor(a100, Slices(5)), "7g.80gb");
  EXPECT_EQ(NameFor(a100, Slices(8)), "none");
  // 10 GiB is more than 1g.10gb's 9.5 GiB: one slice with more memory is 1g.20gb.
  Workload both = Memory(10);
  both.compute_slices = 1;
  EXPECT_EQ(NameFor(a100, both), "1g.20gb");
  both.compute_slices = 2;
  EXPECT_EQ(NameFor(a100, both), "2g.20gb");
}

TEST(SmallestProfileFor, ProfileNameIsExactAndNeverAMediaVariant) {
  EXPECT_EQ(NameFor(Model("a100-80gb"), Profile("4g.40gb")), "4g.40gb");
  EXPECT_EQ(NameFor(Model("a100-80gb"), Profile("3G.40GB")), "3g.40gb");
  EXPECT_EQ(NameFor(Model("a100-40gb"), Profile("3g.40gb")), "none");
  EXPECT_EQ(NameFor(Model("a100-80gb"), Profile("1g.10gb+me")), "none");
  EXPECT_EQ(NameFor(Model("a100-80gb"), Workload{}), "none");
}

TEST(MapWorkloads, ProfileNameResolvesAcrossTheFleet) {
  std::vector<const GpuModel*> models = {&Model("a100-80gb"), &Model("a100-40gb")};
  Result<WorkloadMap> map = MapWorkloads(models, {Profile("3g.40gb"), Profile("1g.20gb")});
  ASSERT_TRUE(map.ok()) << map.error().message;
  EXPECT_EQ(map->profile[0][0]->name, "3g.40gb");
  // a100-40gb has no 3g.40gb; its 39.25 GiB and 3 slices fit a 7g.40gb there.
  EXPECT_EQ(map->profile[0][1]->name, "7g.40gb");
  EXPECT_EQ(map->needs[0].compute_slices, 3u);
  EXPECT_EQ(map->profile[1][0]->name, "1g.20gb");
  EXPECT_EQ(map->profile[1][1]->name, "3g.20gb");
}

TEST(MapWorkloads, ModelConstraintsLeaveOtherModelsOut) {
  std::vector<const GpuModel*> models = {&Model("a100-80gb"), &Model("h100-80gb")};
  Workload w = Memory(8);
  w.models = {"H100-80GB", "a100-40gb"};  // a100-40gb is a known model, just not in this fleet
  Result<WorkloadMap> map = MapWorkloads(models, {w});
  ASSERT_TRUE(map.ok()) << map.error().message;
  EXPECT_EQ(map->profile[0][0], nullptr);
  EXPECT_FALSE(map->allowed[0][0]);
  ASSERT_NE(map->profile[0][1], nullptr);
  EXPECT_EQ(map->profile[0][1]->name, "1g.10gb");
}

TEST(MapWorkloads, TooBigMapsToNothing) {
  Result<WorkloadMap> map = MapWorkloads({&Model("a100-80gb")}, {Memory(100)});
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->profile[0][0], nullptr);
  EXPECT_TRUE(map->allowed[0][0]);
}

TEST(MapWorkloads, RejectsBadWorkloads) {
  std::vector<const GpuModel*> models = {&Model("a100-80gb")};
  auto message = [&](const Workload& w) {
    Result<WorkloadMap> map = MapWorkloads(models, {Memory(1), w});
    EXPECT_FALSE(map.ok());
    if (map.ok()) return std::string();
    EXPECT_EQ(map.error().code, ErrorCode::kInvalidInput);
    return map.error().message;
  };
  Workload none;
  none.name = "idle";
  EXPECT_EQ(message(none), "workload 1 (idle) has no need: give a profile, a memory size or compute slices");

  Workload both = Profile("3g.40gb");
  both.memory_mib = 1;
  EXPECT_NE(message(both).find("give one or the other"), std::string::npos);

  std::string unknown = message(Profile("5g.50gb"));
  EXPECT_NE(unknown.find("no GPU model of the fleet has profile '5g.50gb'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("1g.10gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb, 1g.20gb"), std::string::npos)
      << unknown;

  EXPECT_NE(message(Profile("1g.10gb+me")).find("media variant"), std::string::npos);

  Workload bad_model = Memory(1);
  bad_model.models = {"a200-1tb"};
  std::string model = message(bad_model);
  EXPECT_NE(model.find("unknown GPU model 'a200-1tb'"), std::string::npos) << model;
  EXPECT_NE(model.find("h100-80gb"), std::string::npos) << model;
}

TEST(GroupDemand, MergesWorkloadsTheProgramCannotTellApart) {
  std::vector<const GpuModel*> models = {&Model("a100-80gb"), &Model("a100-40gb")};
  Workload idle = Memory(8);
  idle.count = 0;
  Workload urgent = Memory(8);
  urgent.priority = 1;
  // 8 GiB and one slice: 1g.10gb on both models (a100-40gb's 1g.10gb has 9.75 GiB). 9 GiB: the same.
  // 100 GiB fits nowhere; a count of 0 asks for nothing; a priority makes its own class.
  std::vector<Workload> work = {Memory(8), Slices(1), Memory(9), Memory(100), idle, urgent};
  work[2].count = 3;
  Result<WorkloadMap> map = MapWorkloads(models, work);
  ASSERT_TRUE(map.ok());
  std::vector<DemandClass> classes = GroupDemand(*map, work);
  ASSERT_EQ(classes.size(), 3u);
  EXPECT_EQ(classes[0].workloads, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(classes[0].count, 4u);
  EXPECT_EQ(classes[1].workloads, (std::vector<size_t>{1}));  // one slice is 1g.5gb on a100-40gb
  EXPECT_EQ(classes[1].profile[1]->name, "1g.5gb");
  EXPECT_EQ(classes[2].workloads, (std::vector<size_t>{5}));
  EXPECT_EQ(classes[2].priority, 1u);
}

}  // namespace
}  // namespace migctl::planner
