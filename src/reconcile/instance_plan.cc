#include "reconcile/instance_plan.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "layout/placement_solver.h"

namespace migctl {

std::string DescribeOp(const PlannedOp& op) {
  auto ci_list = [&] {
    std::string out;
    for (std::size_t k = 0; k < op.cis.size(); ++k)
      out += fmt::format("{}{}@{}", out.empty() ? "" : " + ", k < op.ci_names.size() ? op.ci_names[k] : "CI",
                         op.cis[k].start);
    return out;
  };
  switch (op.kind) {
    case PlannedOp::Kind::kCreateGi:
      return fmt::format("create {} at {}{}", op.profile_name, DescribeSlots(op.start, op.size),
                         op.cis.empty() ? " (no compute instance)" : " with CI " + ci_list());
    case PlannedOp::Kind::kCreateCi:
      return fmt::format("create CI {} in GI {} ({} at {})", ci_list(), op.gi->value(), op.profile_name,
                         DescribeSlots(op.start, op.size));
    case PlannedOp::Kind::kDestroyCi:
      return fmt::format("destroy CI {} of GI {} ({} at {})", op.ci->value(), op.gi->value(), op.profile_name,
                         DescribeSlots(op.start, op.size));
    case PlannedOp::Kind::kDestroyGi:
      return fmt::format("destroy GI {} ({} at {})", op.gi->value(), op.profile_name,
                         DescribeSlots(op.start, op.size));
    case PlannedOp::Kind::kSetMigMode:
      return fmt::format("turn MIG mode {}", op.enable ? "on" : "off");
    case PlannedOp::Kind::kResetGpu:
      return "reset the GPU (activates the pending MIG mode)";
  }
  return "";
}

PlannedOp CreateGiOp(const GiProfile& profile, unsigned start, std::vector<PlacedCi> cis) {
  PlannedOp op{.kind = PlannedOp::Kind::kCreateGi,
               .profile = profile.id,
               .profile_name = profile.name,
               .start = start,
               .size = profile.placement_size};
  for (const PlacedCi& c : cis) {
    std::string name;
    for (const CiProfile& p : profile.ci_profiles)
      if (p.id == c.profile) name = p.name;
    op.ci_names.push_back(name);
  }
  op.cis = std::move(cis);
  return op;
}

Result<InstancePlan> PlanCreate(const ObservedGpu& gpu, const std::vector<ProfileId>& requests,
                                bool with_default_ci) {
  const unsigned index = gpu.snapshot.index.value();
  if (!gpu.snapshot.mig.has_value() || !gpu.snapshot.mig->current)
    return MakeError(
        ErrorCode::kUnsupported,
        fmt::format("GPU {}: MIG mode is off{}: run 'migctl mode enable -i {}' first", index,
                    gpu.snapshot.mig && gpu.snapshot.mig->pending ? " (enable pending: reset needed)" : "",
                    index));
  Result<Layout> placed = SolvePlacements(gpu.geometry, gpu.layout, requests);
  if (!placed.ok()) return placed.error().WithContext(fmt::format("GPU {}: ", index));
  InstancePlan plan{gpu.snapshot.index, {}};
  for (const PlacedInstance& p : *placed) {
    const GiProfile* profile = gpu.geometry.FindProfile(p.profile);
    std::vector<PlacedCi> cis;
    if (const CiProfile* ci = profile->DefaultCiProfile(); ci != nullptr && with_default_ci)
      cis.push_back({ci->id, 0, ci->compute_slices});
    plan.ops.push_back(CreateGiOp(*profile, p.start, std::move(cis)));
  }
  return plan;
}

Result<InstancePlan> PlanDestroy(const ObservedGpu& gpu, const std::vector<DestroyTarget>& targets) {
  const unsigned index = gpu.snapshot.index.value();
  const auto& instances = gpu.snapshot.instances;
  auto name_of = [](const nvml::InstanceSnapshot& i) {
    return i.profile_name.empty() ? fmt::format("profile {}", i.profile.value()) : i.profile_name;
  };
  std::set<unsigned> whole_gis;
  std::set<std::pair<unsigned, unsigned>> single_cis;
  for (const DestroyTarget& t : targets) {
    if (!t.gi) {
      for (const auto& i : instances) whole_gis.insert(i.gi.value());
      continue;
    }
    bool gi_exists =
        std::any_of(instances.begin(), instances.end(), [&](const auto& i) { return i.gi == *t.gi; });
    if (!gi_exists)
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("GPU {} has no GPU instance {} (see 'migctl status -i {}')", index,
                                   t.gi->value(), index));
    if (!t.ci) {
      whole_gis.insert(t.gi->value());
      continue;
    }
    bool ci_exists = std::any_of(instances.begin(), instances.end(),
                                 [&](const auto& i) { return i.gi == *t.gi && i.ci == *t.ci; });
    if (!ci_exists)
      return MakeError(ErrorCode::kNotFound, fmt::format("GPU {} GI {} has no compute instance {}", index,
                                                         t.gi->value(), t.ci->value()));
    single_cis.insert({t.gi->value(), t.ci->value()});
  }
  // Refuse before planning anything when a target runs processes.
  for (const auto& i : instances) {
    bool targeted =
        whole_gis.count(i.gi.value()) || (i.ci && single_cis.count({i.gi.value(), i.ci->value()}));
    if (targeted && !i.processes.empty())
      return MakeError(
          ErrorCode::kBusy,
          fmt::format("GPU {} GI {}{} ({}) is in use by {}: stop those processes first; nothing was "
                      "destroyed",
                      index, i.gi.value(), i.ci ? fmt::format(" CI {}", i.ci->value()) : "", name_of(i),
                      ProcessList(i.processes)));
  }
  InstancePlan plan{gpu.snapshot.index, {}};
  for (const auto& i : instances) {
    bool whole = whole_gis.count(i.gi.value()) > 0;
    if (i.ci && (whole || single_cis.count({i.gi.value(), i.ci->value()})))
      plan.ops.push_back({.kind = PlannedOp::Kind::kDestroyCi,
                          .profile = i.profile,
                          .profile_name = name_of(i),
                          .start = i.placement.start,
                          .size = i.placement.size,
                          .gi = i.gi,
                          .ci = i.ci});
  }
  std::set<unsigned> planned_gis;
  for (const auto& i : instances) {
    if (whole_gis.count(i.gi.value()) && planned_gis.insert(i.gi.value()).second)
      plan.ops.push_back({.kind = PlannedOp::Kind::kDestroyGi,
                          .profile = i.profile,
                          .profile_name = name_of(i),
                          .start = i.placement.start,
                          .size = i.placement.size,
                          .gi = i.gi});
  }
  return plan;
}

}  // namespace migctl
