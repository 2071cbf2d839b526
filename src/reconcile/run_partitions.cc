#include "reconcile/run_partitions.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "reconcile/checkpoint.h"
#include "reconcile/instance_plan.h"

namespace migctl {
namespace {

constexpr unsigned kMaxPerGpu = 8;  ///< No model has more than 7 GIs; one more proves the limit.

bool IsIdleDevice(const nvml::InstanceSnapshot& inst) { return inst.uuid && inst.processes.empty(); }

unsigned IdleOf(const std::vector<ObservedGpu>& gpus, const std::string& profile) {
  unsigned idle = 0;
  for (const ObservedGpu& gpu : gpus)
    if (gpu.snapshot.mig && gpu.snapshot.mig->current)
      for (const nvml::InstanceSnapshot& inst : gpu.snapshot.instances)
        if (IsIdleDevice(inst) && inst.profile_name == profile) ++idle;
  return idle;
}

/// The most GIs of `profile` (each with its default CI) the GPU can take, keeping all it has, and the plan
/// for `want` of them (or fewer when fewer fit). `why` gets the reason none fits.
std::pair<unsigned, std::optional<GpuPlan>> Room(const ObservedGpu& gpu, const GiProfile& profile,
                                                 unsigned want, bool reset_supported, std::string* why) {
  GpuGoal goal = CheckpointOf(gpu).Goal(gpu.snapshot.index, "migctl run --create");
  goal.mig_enabled = true;
  const CiProfile* ci = profile.DefaultCiProfile();
  PlanOptions options;
  options.reset_supported = reset_supported;
  unsigned fits = 0;
  std::optional<GpuPlan> best;
  for (unsigned k = 1; k <= std::min(want, kMaxPerGpu); ++k) {
    GiTarget target{profile.id, std::nullopt, {}};
    if (ci != nullptr) target.cis.push_back({ci->id, std::nullopt});
    goal.instances.push_back(std::move(target));
    Result<GpuPlan> plan = PlanGpu(gpu, goal, options);
    if (plan.ok() && plan->unfinished) {
      if (why != nullptr && k == 1) *why = *plan->unfinished;
      break;
    }
    if (!plan.ok()) {
      if (why != nullptr && k == 1) *why = plan.error().message;
      break;
    }
    fits = k;
    best = std::move(*plan);
  }
  return {fits, std::move(best)};
}

/// `3g.40gb x2, 2g.20gb x3, 1g.10gb x7`: for each plain profile of the GPUs, the idle devices plus what
/// could be added, largest profiles first.
std::string WhatFits(const std::vector<ObservedGpu>& gpus, const std::vector<bool>& reset_supported) {
  std::map<std::string, std::pair<unsigned, unsigned long long>> totals;  // name -> (count, memory)
  for (size_t i = 0; i < gpus.size(); ++i)
    for (const GiProfile& p : gpus[i].geometry.gi_profiles) {
      if (p.media != MediaKind::kDefault) continue;
      unsigned n = Room(gpus[i], p, kMaxPerGpu, reset_supported[i], nullptr).first;
      auto& [count, memory] = totals[p.name];
      count += n;
      memory = p.memory_mib;
    }
  for (auto& [name, entry] : totals) entry.first += IdleOf(gpus, name);
  std::vector<std::pair<std::string, std::pair<unsigned, unsigned long long>>> sorted(totals.begin(),
                                                                                      totals.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::vector<std::string> parts;
  for (const auto& [name, entry] : sorted)
    if (entry.first > 0) parts.push_back(fmt::format("{} x{}", name, entry.first));
  return parts.empty() ? "nothing" : fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

Result<PartitionPlan> PlanRunPartitions(const std::vector<ObservedGpu>& gpus, const std::string& profile,
                                        unsigned wanted, const std::vector<bool>& reset_supported) {
  PartitionPlan plan;
  plan.idle = IdleOf(gpus, profile);
  if (plan.idle >= wanted) return plan;
  std::vector<size_t> order(gpus.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    auto on = [&](size_t i) { return gpus[i].snapshot.mig && gpus[i].snapshot.mig->current; };
    return on(a) && !on(b);
  });
  unsigned missing = wanted - plan.idle;
  bool known = false;
  std::vector<std::string> reasons;
  for (size_t i : order) {
    if (missing == 0) break;
    const GiProfile* p = gpus[i].geometry.FindProfile(profile);
    if (p == nullptr) continue;
    known = true;
    std::string why;
    auto [fits, gpu_plan] = Room(gpus[i], *p, missing, reset_supported[i], &why);
    if (fits == 0) {
      if (!why.empty())
        reasons.push_back(
            why.starts_with("GPU ") ? why : fmt::format("GPU {}: {}", gpus[i].snapshot.index.value(), why));
      continue;
    }
    plan.additions.push_back({i, fits, std::move(*gpu_plan)});
    missing -= fits;
  }
  if (!known)
    return MakeError(
        ErrorCode::kInvalidInput,
        fmt::format("no selected GPU has the profile {}: run 'migctl profiles' for the names", profile));
  if (missing > 0) {
    std::vector<std::string> gpu_names;
    for (const ObservedGpu& gpu : gpus) gpu_names.push_back(fmt::format("{}", gpu.snapshot.index.value()));
    return MakeError(
        ErrorCode::kInfeasible,
        fmt::format("{} MIG devices of {} cannot exist on GPU {}: {} idle, room for {} more{}. What "
                    "fits there instead: {}",
                    wanted, profile, fmt::join(gpu_names, ","), plan.idle, wanted - plan.idle - missing,
                    reasons.empty() ? "" : fmt::format(" ({})", fmt::join(reasons, "; ")),
                    WhatFits(gpus, reset_supported)));
  }
  return plan;
}

HostPlanner RunPartitionsPlanner(std::string profile, unsigned wanted, std::vector<bool> reset_supported,
                                 PartitionPlan* plan) {
  return [profile = std::move(profile), wanted, reset_supported = std::move(reset_supported), plan](
             const std::vector<ObservedGpu>& gpus, bool) -> Result<std::vector<GpuPlan>> {
    MIGCTL_ASSIGN_OR_RETURN(*plan, PlanRunPartitions(gpus, profile, wanted, reset_supported));
    std::vector<GpuPlan> plans(gpus.size());
    for (std::size_t k = 0; k < gpus.size(); ++k) plans[k].steps.gpu = gpus[k].snapshot.index;
    for (const PartitionAddition& a : plan->additions) plans[a.gpu] = a.plan;
    return plans;
  };
}

std::vector<CreatedPartition> CreatedBy(std::size_t k, const GpuOutcome& outcome) {
  std::vector<CreatedPartition> created;
  if (!outcome.change) return created;
  for (const ExecutedOp& e : outcome.change->done)
    if (e.op.kind == PlannedOp::Kind::kCreateGi && e.gi)
      created.push_back({k, *e.gi, e.op.profile, e.op.start});
  return created;
}

HostPlanner RemovePartitionsPlanner(std::vector<CreatedPartition> created) {
  return [created = std::move(created)](const std::vector<ObservedGpu>& gpus,
                                        bool) -> Result<std::vector<GpuPlan>> {
    std::vector<GpuPlan> plans(gpus.size());
    for (std::size_t i = 0; i < gpus.size(); ++i) {
      plans[i].steps.gpu = gpus[i].snapshot.index;
      std::vector<DestroyTarget> targets;
      for (const CurrentGi& gi : CurrentInstances(gpus[i].snapshot))
        for (const CreatedPartition& c : created)
          if (c.gpu == i && c.gi == gi.id && c.profile == gi.profile && c.start == gi.start)
            targets.push_back({gi.id, std::nullopt});
      if (targets.empty()) continue;
      MIGCTL_ASSIGN_OR_RETURN(plans[i].steps, PlanDestroy(gpus[i], targets));
    }
    return plans;
  };
}

}  // namespace migctl
