#include "layout/diff.h"

#include <map>

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "layout/enumerate.h"
#include "layout/feasibility.h"

namespace migctl {
namespace {

const GpuModel& Model(const char* key) { return **FindModel(key); }

CiProfileId DefaultCi(const GpuModel& m, ProfileId gi) { return m.FindProfile(gi)->DefaultCiProfile()->id; }

/// A GPU whose GIs are `layout`, each with its default CI (ids 1.., CI 0).
std::vector<CurrentGi> Current(const GpuModel& m, const Layout& layout) {
  std::vector<CurrentGi> out;
  unsigned id = 1;
  for (const PlacedInstance& p : layout)
    out.push_back({GiId(id++), p.profile, p.start, {{CiId(0), DefaultCi(m, p.profile), 0, false}}});
  return out;
}

std::vector<GiTarget> Target(const GpuModel& m, const std::vector<unsigned>& profiles) {
  std::vector<GiTarget> out;
  for (unsigned p : profiles)
    out.push_back({ProfileId(p), std::nullopt, {{DefaultCi(m, ProfileId(p)), std::nullopt}}});
  return out;
}

using LayoutsByProfiles = std::map<std::vector<ProfileId>, std::vector<Layout>>;

std::vector<ProfileId> ProfilesOf(const Layout& l) {
  std::vector<ProfileId> ids;
  for (const PlacedInstance& p : l) ids.push_back(p.profile);
  std::sort(ids.begin(), ids.end());
  return ids;
}

/// The fewest destroys+creates over every placement of the target's profiles (independent brute force over
/// all valid layouts, grouped by their profile multiset).
unsigned MinimumChanges(const LayoutsByProfiles& all, const Layout& from, const Layout& to) {
  unsigned best = 2 * static_cast<unsigned>(from.size() + to.size());
  for (const Layout& l : all.at(ProfilesOf(to))) {
    unsigned kept = 0;
    for (const PlacedInstance& p : l)
      if (std::find(from.begin(), from.end(), p) != from.end()) ++kept;
    best = std::min(best, 2 * static_cast<unsigned>(from.size() - kept + l.size() - kept));
  }
  return best;
}

TEST(DiffLayouts, NothingToDoWhenTheCountsMatchWhateverThePlacement) {
  const GpuModel& m = Model("a100-80gb");
  // 1g.10gb (19) at 0 and 2g.20gb (14) at 2: the target asks only for the counts.
  auto cur = Current(m, {{ProfileId(19), 0}, {ProfileId(14), 2}});
  Result<LayoutDiff> d = DiffLayouts(m, cur, Target(m, {14, 19}), false);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->empty());
  EXPECT_EQ(d->kept.size(), 2u);
}

TEST(DiffLayouts, KeepsWhatStaysAndPlacesTheRestAroundIt) {
  const GpuModel& m = Model("a100-80gb");
  // 3g.40gb@4 + 2g.20gb@0 → 3g.40gb + 1g.10gb x3: keep the 3g, drop the 2g, add three 1g.
  auto cur = Current(m, {{ProfileId(9), 4}, {ProfileId(14), 0}});
  Result<LayoutDiff> d = DiffLayouts(m, cur, Target(m, {9, 19, 19, 19}), false);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->kept.size(), 1u);
  EXPECT_EQ(d->kept[0].current, 0u);
  EXPECT_EQ(d->destroyed, std::vector<std::size_t>{1});
  EXPECT_EQ(d->created.size(), 3u);
  EXPECT_EQ(d->DestroyCount(cur), 2u);
  EXPECT_EQ(d->CreateCount(), 6u);
  Layout after{{ProfileId(9), 4}};
  for (const NewGi& g : d->created) after.push_back({ProfileId(19), g.start});
  EXPECT_TRUE(CheckLayout(m, after).ok());
}

TEST(DiffLayouts, BusyInstancesSurviveOrTheDiffIsRefused) {
  const GpuModel& m = Model("a100-80gb");
  auto cur = Current(m, {{ProfileId(9), 0}, {ProfileId(9), 4}});
  cur[1].cis[0].busy = true;
  // 3g + 3g → 3g + 2g + 1g + 1g: the busy 3g@4 must stay, so the idle one is replaced.
  Result<LayoutDiff> d = DiffLayouts(m, cur, Target(m, {9, 14, 19, 19}), false);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->destroyed, std::vector<std::size_t>{0});
  // 7g needs both gone: refused, naming the busy GI.
  Result<LayoutDiff> refused = DiffLayouts(m, cur, Target(m, {0}), false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kBusy);
  EXPECT_NE(refused.error().message.find("GI 2"), std::string::npos) << refused.error().message;
  EXPECT_TRUE(DiffLayouts(m, cur, Target(m, {0}), true).ok());
}

TEST(DiffLayouts, ATargetThatCannotFitSaysWhy) {
  const GpuModel& m = Model("a100-80gb");
  Result<LayoutDiff> d = DiffLayouts(m, {}, Target(m, {5, 9, 19}), false);  // 4g + 3g + 1g
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kInfeasible);
}

TEST(DiffLayouts, ExplicitStartsAreHonoured) {
  const GpuModel& m = Model("a100-80gb");
  auto cur = Current(m, {{ProfileId(9), 0}});
  std::vector<GiTarget> t = Target(m, {9});
  t[0].start = 4;  // same profile, other place: must move
  Result<LayoutDiff> d = DiffLayouts(m, cur, t, false);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->created.size(), 1u);
  EXPECT_EQ(d->created[0].start, 4u);
  EXPECT_EQ(d->destroyed.size(), 1u);
}

TEST(DiffLayouts, ComputeInstancesChangeInsideAKeptGpuInstance) {
  const GpuModel& m = Model("a100-80gb");
  const GiProfile* g3 = m.FindProfile(ProfileId(9));
  CiProfileId c1, c2;
  for (const CiProfile& c : g3->ci_profiles) {
    if (c.compute_slices == 1) c1 = c.id;
    if (c.compute_slices == 2) c2 = c.id;
  }
  // A 3g GI with one default (3c) CI becomes 2c + 1c: the GI stays, its CI is replaced.
  auto cur = Current(m, {{ProfileId(9), 0}});
  std::vector<GiTarget> t = {{ProfileId(9), std::nullopt, {{c2, std::nullopt}, {c1, std::nullopt}}}};
  Result<LayoutDiff> d = DiffLayouts(m, cur, t, false);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_EQ(d->kept.size(), 1u);
  EXPECT_EQ(d->kept[0].destroy_cis.size(), 1u);
  EXPECT_EQ(d->kept[0].create_cis, (std::vector<PlacedCi>{{c2, 0, 2}, {c1, 2, 1}}));
  // Four 1c CIs never fit in a 3-slice GI.
  std::vector<GiTarget> too_many = {{ProfileId(9), std::nullopt, {{c1, {}}, {c1, {}}, {c1, {}}, {c1, {}}}}};
  EXPECT_EQ(DiffLayouts(m, cur, too_many, false).error().code, ErrorCode::kInfeasible);
}

// The evidence the apply issue asks for, at the diff level: every transition between maximal layouts costs
// exactly the independent minimum.
TEST(DiffLayouts, EveryMaximalTransitionCostsTheMinimum) {
  for (const char* key : {"a100-80gb", "h100-80gb"}) {
    const GpuModel& m = Model(key);
    std::vector<Layout> maximal = EnumerateLayouts(m, {.maximal_only = true});
    ASSERT_GT(maximal.size(), 10u);
    LayoutsByProfiles all;
    for (Layout& l : EnumerateLayouts(m)) all[ProfilesOf(l)].push_back(std::move(l));
    unsigned transitions = 0;
    for (const Layout& from : maximal) {
      for (const Layout& to : maximal) {
        std::vector<unsigned> ids;
        for (const PlacedInstance& p : to) ids.push_back(p.profile.value());
        auto cur = Current(m, from);
        Result<LayoutDiff> d = DiffLayouts(m, cur, Target(m, ids), false);
        ASSERT_TRUE(d.ok()) << d.error().message;
        EXPECT_EQ(d->DestroyCount(cur) + d->CreateCount(), MinimumChanges(all, from, to))
            << key << ": " << DescribeLayout(m, from) << " -> " << DescribeLayout(m, to);
        ++transitions;
      }
    }
    RecordProperty(key, static_cast<int>(transitions));
  }
}

}  // namespace
}  // namespace migctl
