#include "reconcile/reshape.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "reconcile/checkpoint.h"

namespace migctl {
namespace {

/// A current GI with what decides whether it may go.
struct CurrentInstance {
  ReshapeInstance report;
  PlacedInstance placed;
};

std::vector<CurrentInstance> InstancesOf(const ObservedGpu& gpu, const std::set<std::string>& leased) {
  std::map<GiId, CurrentInstance> by_gi;
  for (const nvml::InstanceSnapshot& inst : gpu.snapshot.instances) {
    CurrentInstance& c = by_gi[inst.gi];
    c.report.gi = inst.gi;
    c.report.profile = inst.profile_name;
    c.report.start = inst.placement.start;
    c.placed = {inst.profile, inst.placement.start};
    if (!inst.uuid) continue;
    const std::string uuid = inst.uuid->value();
    c.report.uuids.push_back(uuid);
    if (!inst.processes.empty() && c.report.busy.find("processes") == std::string::npos)
      c.report.busy = fmt::format("processes (pid {})", inst.processes.front().pid);
    else if (c.report.busy.empty() && !leased.contains(uuid))
      c.report.busy = fmt::format("a migctl task holds {}", uuid);
  }
  std::vector<CurrentInstance> out;
  for (auto& [gi, c] : by_gi) out.push_back(std::move(c));
  std::sort(out.begin(), out.end(), [](const CurrentInstance& a, const CurrentInstance& b) {
    return a.placed.start < b.placed.start;
  });
  return out;
}

std::string NameOf(const GpuModel& model, ProfileId id) {
  const GiProfile* p = model.FindProfile(id);
  return p != nullptr ? p->name : fmt::format("profile {}", id.value());
}

}  // namespace

HostPlanner ReshapePlanner(ReshapeRequest request, ReshapeReport* report) {
  return [request = std::move(request), report](
             const std::vector<ObservedGpu>& gpus,
             bool /*judge_busy: busy instances always stay*/) -> Result<std::vector<GpuPlan>> {
    // One group per GPU, GPUs of one model sharing one model (so identical GPUs are one class).
    std::map<std::string, const GpuModel*> models;
    std::vector<planner::FleetGroup> fleet;
    std::vector<std::vector<CurrentInstance>> current;
    for (const ObservedGpu& gpu : gpus) {
      const nvml::GpuSnapshot& s = gpu.snapshot;
      if (!s.mig || !s.mig->current)
        return MakeError(
            ErrorCode::kInvalidInput,
            fmt::format("GPU {} has MIG off: reshape re-cuts MIG GPUs; enable MIG first (`migctl mode "
                        "enable -i {}`) or leave it out of -i",
                        s.index.value(), s.index.value()));
      const GpuModel* model = models.emplace(gpu.geometry.key, &gpu.geometry).first->second;
      current.push_back(InstancesOf(gpu, request.leased));
      planner::FleetGroup group;
      group.model = model;
      group.count = 1;
      group.gpu_indexes = {s.index.value()};
      group.current = {gpu.layout};
      group.busy = {{}};
      for (const CurrentInstance& c : current.back())
        if (!c.report.busy.empty()) group.busy[0].push_back(c.placed);
      fleet.push_back(std::move(group));
    }
    MIGCTL_ASSIGN_OR_RETURN(planner::FleetPlan plan,
                            planner::PlanFleet(fleet, request.demand,
                                               {.objective = planner::Objective::kKeepCurrent,
                                                .time_limit_s = request.time_limit_s}));

    ReshapeReport out;
    out.demand = request.demand;
    out.served.assign(request.demand.size(), 0);
    std::vector<GpuPlan> plans;
    for (size_t k = 0; k < gpus.size(); ++k) {
      const ObservedGpu& gpu = gpus[k];
      const planner::PlannedGpu& planned = plan.gpus[k];
      ReshapeGpu g;
      g.gpu = gpu.snapshot.index;
      g.free_fits = planned.free_fits;
      GpuGoal goal = CheckpointOf(gpu).Goal(g.gpu, "migctl reshape");
      goal.instances.clear();
      const GpuCheckpoint now = CheckpointOf(gpu);
      for (const CurrentInstance& c : current[k]) {
        auto at = std::find(planned.layout.begin(), planned.layout.end(), c.placed);
        if (at == planned.layout.end()) {
          g.destroyed.push_back(c.report);
          continue;
        }
        ReshapeInstance kept = c.report;
        kept.serves = planned.served_by[at - planned.layout.begin()];
        g.kept.push_back(std::move(kept));
        for (const CheckpointGi& gi : now.instances)
          if (gi.profile == c.placed.profile && gi.start == c.placed.start) {
            GiTarget t{gi.profile, gi.start, {}};
            for (const CheckpointCi& ci : gi.cis) t.cis.push_back({ci.profile, ci.start});
            goal.instances.push_back(std::move(t));
          }
      }
      for (size_t j = 0; j < planned.layout.size(); ++j) {
        const PlacedInstance& p = planned.layout[j];
        if (planned.served_by[j] >= 0) ++out.served[planned.served_by[j]];
        if (std::any_of(current[k].begin(), current[k].end(),
                        [&](const CurrentInstance& c) { return c.placed == p; }))
          continue;
        g.created.push_back(
            {GiId(0), NameOf(gpu.geometry, p.profile), p.start, {}, "", planned.served_by[j]});
        GiTarget t{p.profile, p.start, {}};
        const GiProfile* profile = gpu.geometry.FindProfile(p.profile);
        if (const CiProfile* ci = profile != nullptr ? profile->DefaultCiProfile() : nullptr; ci != nullptr)
          t.cis.push_back({ci->id, std::nullopt});
        goal.instances.push_back(std::move(t));
      }
      // PlanGpu refuses to destroy an instance with processes: a second guard beside the busy set.
      MIGCTL_ASSIGN_OR_RETURN(GpuPlan steps, PlanGpu(gpu, goal, PlanOptions{}));
      plans.push_back(std::move(steps));
      out.gpus.push_back(std::move(g));
    }
    out.unserved = plan.unserved;
    out.optimal = plan.optimal;
    out.method = plan.method;
    *report = std::move(out);
    return plans;
  };
}

}  // namespace migctl
