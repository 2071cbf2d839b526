#include "planner/plan.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "common/memory_size.h"
#include "layout/feasibility.h"
#include "planner/fleet_program.h"
#include "planner/gpu_assignment.h"
#include "planner/ilp.h"
#include "planner/staged_solve.h"
#include "planner/workload_mapping.h"

namespace migctl::planner {
namespace {

using Clock = std::chrono::steady_clock;

Status CheckFleet(const std::vector<FleetGroup>& fleet, bool keep_current) {
  unsigned total = 0;
  for (size_t g = 0; g < fleet.size(); ++g) {
    const FleetGroup& group = fleet[g];
    if (group.model == nullptr)
      return MakeError(ErrorCode::kInvalidInput, fmt::format("fleet group {} has no GPU model", g));
    if (!group.gpu_indexes.empty() && group.gpu_indexes.size() != group.count)
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("fleet group {} ({}) has {} GPUs but {} GPU indexes", g, group.model->key,
                                   group.count, group.gpu_indexes.size()));
    if (!group.current.empty() && group.current.size() != group.count)
      return MakeError(ErrorCode::kInvalidInput,
                       fmt::format("fleet group {} ({}) has {} GPUs but {} current layouts", g,
                                   group.model->key, group.count, group.current.size()));
    if (keep_current) {
      if (!group.busy.empty() && group.busy.size() != group.count)
        return MakeError(ErrorCode::kInvalidInput,
                         fmt::format("fleet group {} ({}) has {} GPUs but {} busy lists", g, group.model->key,
                                     group.count, group.busy.size()));
      for (unsigned i = 0; i < group.current.size(); ++i) {
        const unsigned gpu = group.gpu_indexes.empty() ? i : group.gpu_indexes[i];
        Status valid = CheckLayout(*group.model, group.current[i]);
        if (!valid.ok()) return valid.error().WithContext(fmt::format("GPU {}: current layout: ", gpu));
      }
      for (unsigned i = 0; i < group.busy.size(); ++i)
        for (const PlacedInstance& b : group.busy[i])
          if (group.current.empty() ||
              std::find(group.current[i].begin(), group.current[i].end(), b) == group.current[i].end())
            return MakeError(ErrorCode::kInvalidInput,
                             fmt::format("GPU {}: a busy instance at slot {} is not in its current layout",
                                         group.gpu_indexes.empty() ? i : group.gpu_indexes[i], b.start));
    }
    total += group.count;
  }
  if (total == 0)
    return MakeError(ErrorCode::kInvalidInput, "the fleet has no GPUs: give at least one model with a count");
  return Ok();
}

std::vector<const GpuModel*> DistinctModels(const std::vector<FleetGroup>& fleet) {
  std::vector<const GpuModel*> models;
  for (const FleetGroup& g : fleet)
    if (std::find(models.begin(), models.end(), g.model) == models.end()) models.push_back(g.model);
  return models;
}

std::string JoinKeys(const std::vector<const GpuModel*>& models, const std::vector<size_t>& which) {
  std::vector<std::string> keys;
  for (size_t m : which) keys.push_back(models[m]->key);
  return fmt::format("{}", fmt::join(keys, ", "));
}

std::string DescribeNeed(const Need& need) {
  std::vector<std::string> parts;
  if (need.memory_mib > 0) parts.push_back(FormatMib(need.memory_mib));
  if (need.compute_slices > 0)
    parts.push_back(
        fmt::format("{} compute slice{}", need.compute_slices, need.compute_slices == 1 ? "" : "s"));
  return parts.empty() ? "nothing" : fmt::format("{}", fmt::join(parts, " and "));
}

/// Why no allowed model of the fleet can hold workload `w` at all, or "" when one can.
std::string WhyNeverServed(const WorkloadMap& map, size_t w) {
  std::vector<size_t> allowed;
  for (size_t m = 0; m < map.models.size(); ++m) {
    if (map.profile[w][m] != nullptr) return "";
    if (map.allowed[w][m]) allowed.push_back(m);
  }
  if (allowed.empty()) return "none of the GPU models it may run on is in the fleet";
  const GiProfile* largest = nullptr;
  for (size_t m : allowed)
    for (const GiProfile& p : map.models[m]->gi_profiles)
      if (IsPlannable(p) &&
          (largest == nullptr ||
           std::tie(p.memory_mib, p.compute_slices) > std::tie(largest->memory_mib, largest->compute_slices)))
        largest = &p;
  return fmt::format(
      "too big for any profile of {}: it needs {}, and the largest, {}, has {} and {} compute slices",
      JoinKeys(map.models, allowed), DescribeNeed(map.needs[w]), largest->name,
      FormatMib(largest->memory_mib), largest->compute_slices);
}

/// Why servable work was left out: the fewest fresh GPUs to add so that everything some model can hold is
/// served, or, when the plan or that question ran out of time, that.
std::string WhyLeftOut(const std::vector<GpuClass>& classes, const WorkloadMap& map,
                       const std::vector<Workload>& workloads, bool plan_optimal, Clock::time_point deadline,
                       int* solves) {
  FleetProgram program(classes, map.models, GroupDemand(map, workloads), /*extra_gpus=*/true);
  StagedSolution s = SolveStages(program.mip(), {{program.ExtraGpus(), Direction::kMinimize}}, deadline);
  *solves += s.solves;
  std::vector<std::string> more;
  for (size_t m = 0; m < map.models.size() && s.found; ++m)
    if (long long n = program.ExtraGpusOf(m, s.values); n > 0)
      more.push_back(fmt::format("{} more {}", n, map.models[m]->key));
  if (more.empty())
    return plan_optimal
               ? "fleet too small, and the time limit ran out before the planner found how many more "
                 "GPUs would serve it; give it more time"
               : "the time limit ran out before the planner placed it; give it more time";
  std::string list = more.back();
  if (more.size() > 1) {
    more.pop_back();
    list = fmt::format("{} and {}", fmt::join(more, ", "), list);
  }
  return fmt::format("fleet too small: {} would serve it", list);
}

std::vector<Stage> Stages(const FleetProgram& program, const std::vector<Workload>& workloads,
                          bool keep_current) {
  std::set<unsigned, std::greater<>> priorities;
  for (const Workload& w : workloads) priorities.insert(w.priority);
  std::vector<Stage> stages;
  for (unsigned p : priorities) stages.push_back({program.Served(p), Direction::kMaximize});
  if (keep_current) stages.push_back({program.Kept(), Direction::kMaximize});
  stages.push_back({program.GpusUsed(), Direction::kMinimize});
  return stages;
}

unsigned CountKept(const std::vector<FleetGroup>& fleet, const std::vector<PlannedGpu>& gpus) {
  unsigned kept = 0;
  size_t k = 0;
  for (const FleetGroup& group : fleet)
    for (unsigned i = 0; i < group.count; ++i, ++k) {
      if (group.current.empty()) continue;
      for (const PlacedInstance& instance : group.current[i])
        kept += std::count(gpus[k].layout.begin(), gpus[k].layout.end(), instance) > 0;
    }
  return kept;
}

}  // namespace

Result<FleetPlan> PlanFleet(const std::vector<FleetGroup>& fleet, const std::vector<Workload>& workloads,
                            const PlanOptions& options) {
  Clock::time_point start = Clock::now();
  // At most a day (beyond it the clock can overflow); NaN or negative: no time.
  double limit_s = options.time_limit_s >= 0 ? std::min(options.time_limit_s, 86400.0) : 0;
  Clock::time_point deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limit_s));
  bool keep_current = options.objective == Objective::kKeepCurrent;
  MIGCTL_RETURN_IF_ERROR(CheckFleet(fleet, keep_current));
  std::vector<const GpuModel*> models = DistinctModels(fleet);
  MIGCTL_ASSIGN_OR_RETURN(WorkloadMap map, MapWorkloads(models, workloads));

  std::vector<GpuClass> classes = ClassifyGpus(fleet, models, keep_current);
  FleetProgram program(classes, models, GroupDemand(map, workloads), /*extra_gpus=*/false);
  StagedSolution solution = SolveStages(program.mip(), Stages(program, workloads, keep_current), deadline);
  int solves = solution.solves;

  FleetPlan plan;
  std::vector<std::vector<long long>> served_on = program.ServedByWorkload(workloads, solution.values);
  MIGCTL_ASSIGN_OR_RETURN(plan.gpus, AssignGpus(fleet, classes, map, program, solution.values, served_on));
  std::string left_out;
  for (size_t w = 0; w < workloads.size(); ++w) {
    long long served = 0;
    for (long long units : served_on[w]) served += units;
    if (served >= workloads[w].count) continue;
    std::string reason = WhyNeverServed(map, w);
    if (reason.empty()) {
      if (left_out.empty())
        left_out = WhyLeftOut(classes, map, workloads, solution.optimal, deadline, &solves);
      reason = left_out;
    }
    plan.unserved.push_back({w, static_cast<unsigned>(workloads[w].count - served), std::move(reason)});
  }
  for (const PlannedGpu& gpu : plan.gpus) (gpu.layout.empty() ? plan.whole_gpus_free : plan.gpus_used) += 1;
  if (keep_current) plan.kept = CountKept(fleet, plan.gpus);
  plan.optimal = solution.optimal;
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  plan.method = fmt::format(
      "{} branch and bound, zero gap: {} model{}, {} layouts, {} integer variables, {} solves, {:.1f} ms{}",
      SolverName(), models.size(), models.size() == 1 ? "" : "s", program.layouts(), program.mip().columns(),
      solves, ms, plan.optimal ? "" : " (time limit reached: the best plan found, not proven optimal)");
  return plan;
}

}  // namespace migctl::planner
