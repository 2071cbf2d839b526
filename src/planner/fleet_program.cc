#include "planner/fleet_program.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace migctl::planner {

std::vector<GpuClass> ClassifyGpus(const std::vector<FleetGroup>& fleet,
                                   const std::vector<const GpuModel*>& models, bool keep_current) {
  std::vector<GpuClass> classes;
  std::map<std::tuple<size_t, Layout, Layout>, size_t> index;  // (model, current, busy) -> class
  for (size_t g = 0; g < fleet.size(); ++g) {
    size_t m = std::find(models.begin(), models.end(), fleet[g].model) - models.begin();
    for (unsigned i = 0; i < fleet[g].count; ++i) {
      Layout current = keep_current && !fleet[g].current.empty() ? fleet[g].current[i] : Layout{};
      Layout busy = keep_current && !fleet[g].busy.empty() ? fleet[g].busy[i] : Layout{};
      SortLayout(&current);
      SortLayout(&busy);
      auto [it, inserted] = index.emplace(std::make_tuple(m, current, busy), classes.size());
      if (inserted) {
        std::vector<CandidateLayout> layouts =
            current.empty() ? FreshLayouts(*models[m]) : LayoutsKeeping(*models[m], current, busy);
        classes.push_back(GpuClass{m, current, busy, {}, std::move(layouts)});
      }
      classes[it->second].members.emplace_back(g, i);
    }
  }
  return classes;
}

FleetProgram::FleetProgram(const std::vector<GpuClass>& classes, const std::vector<const GpuModel*>& models,
                           std::vector<DemandClass> demand, bool extra_gpus)
    : models_(models.size()), demand_(std::move(demand)) {
  unsigned long long total_units = 0;
  for (const DemandClass& d : demand_) total_units += d.count;

  // y[d][m], and the demand rows.
  y_.assign(demand_.size(), std::vector<int>(models.size(), -1));
  for (size_t d = 0; d < demand_.size(); ++d) {
    LinearTerms served;
    for (size_t m = 0; m < models.size(); ++m) {
      if (demand_[d].profile[m] == nullptr) continue;
      y_[d][m] = mip_.AddColumn(static_cast<double>(demand_[d].count));
      served.emplace_back(y_[d][m], 1);
    }
    mip_.AddRow(served, extra_gpus ? Sense::kEqual : Sense::kAtMost, static_cast<double>(demand_[d].count));
  }

  // Capacity rows, one per (model, profile) that some workload takes; built up as columns appear.
  std::map<std::pair<size_t, ProfileId>, LinearTerms> capacity;
  for (size_t d = 0; d < demand_.size(); ++d)
    for (size_t m = 0; m < models.size(); ++m)
      if (y_[d][m] >= 0) capacity[{m, demand_[d].profile[m]->id}].emplace_back(y_[d][m], 1);
  auto offer = [&](size_t m, const CandidateLayout& layout, int column) {
    for (const auto& [profile, count] : layout.counts) {
      auto it = capacity.find({m, profile});
      if (it != capacity.end()) it->second.emplace_back(column, -static_cast<double>(count));
    }
  };

  x_.resize(classes.size());
  kept_.resize(classes.size());
  for (size_t c = 0; c < classes.size(); ++c) {
    LinearTerms members;
    for (const CandidateLayout& layout : classes[c].layouts) {
      int column = mip_.AddColumn(static_cast<double>(classes[c].members.size()));
      x_[c].push_back(column);
      members.emplace_back(column, 1);
      if (layout.kept > 0) kept_[c].emplace_back(column, layout.kept);
      offer(classes[c].model, layout, column);
      ++layouts_;
    }
    mip_.AddRow(members, Sense::kAtMost, static_cast<double>(classes[c].members.size()));
  }

  extra_.resize(models.size());
  if (extra_gpus) {
    for (size_t m = 0; m < models.size(); ++m) {
      for (const CandidateLayout& layout : FreshLayouts(*models[m])) {
        int column = mip_.AddColumn(static_cast<double>(total_units));
        extra_[m].push_back(column);
        offer(m, layout, column);
        ++layouts_;
      }
    }
  }
  for (const auto& [key, terms] : capacity) mip_.AddRow(terms, Sense::kAtMost, 0);
}

LinearTerms FleetProgram::Served(unsigned priority) const {
  LinearTerms terms;
  for (size_t d = 0; d < y_.size(); ++d)
    if (demand_[d].priority == priority)
      for (int column : y_[d])
        if (column >= 0) terms.emplace_back(column, 1);
  return terms;
}

std::vector<std::vector<long long>> FleetProgram::ServedByWorkload(
    const std::vector<Workload>& workloads, const std::vector<long long>& values) const {
  std::vector<std::vector<long long>> served(workloads.size(), std::vector<long long>(models_, 0));
  for (size_t d = 0; d < demand_.size(); ++d) {
    auto next = demand_[d].workloads.begin();
    size_t w = 0;
    long long room = 0;  // units of workload w not yet served
    for (size_t m = 0; m < models_; ++m) {
      long long units = y_[d][m] >= 0 ? values[y_[d][m]] : 0;
      while (units > 0) {
        if (room == 0) {
          w = *next++;
          room = workloads[w].count;
        }
        long long take = std::min(units, room);
        served[w][m] += take;
        units -= take;
        room -= take;
      }
    }
  }
  return served;
}

LinearTerms FleetProgram::GpusUsed() const {
  LinearTerms terms;
  for (const std::vector<int>& columns : x_)
    for (int column : columns) terms.emplace_back(column, 1);
  return terms;
}

LinearTerms FleetProgram::Kept() const {
  LinearTerms terms;
  for (const auto& columns : kept_)
    for (const auto& [column, kept] : columns) terms.emplace_back(column, kept);
  return terms;
}

LinearTerms FleetProgram::ExtraGpus() const {
  LinearTerms terms;
  for (const std::vector<int>& columns : extra_)
    for (int column : columns) terms.emplace_back(column, 1);
  return terms;
}

long long FleetProgram::ExtraGpusOf(size_t m, const std::vector<long long>& values) const {
  long long n = 0;
  for (int column : extra_[m]) n += values[column];
  return n;
}

}  // namespace migctl::planner
