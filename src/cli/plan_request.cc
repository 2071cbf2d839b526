#include "cli/plan_request.h"

#include <charconv>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "common/memory_size.h"
#include "common/trim.h"
#include "spec/workloads_file.h"

namespace migctl {
namespace {

std::vector<std::string_view> Items(std::string_view text) {
  std::vector<std::string_view> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(Trim(text.substr(begin, end - begin), " \t"));
    begin = end + 1;
  }
  return out;
}

Result<unsigned> Count(std::string_view text, std::string_view item, const char* flag) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value == 0 || value > 1000000)
    return MakeError(ErrorCode::kInvalidInput,
                     fmt::format("{} '{}': the count must be a whole number from 1 to 1000000", flag, item));
  return value;
}

}  // namespace

Result<std::vector<planner::FleetGroup>> ParseFleetSpec(std::string_view text) {
  std::vector<planner::FleetGroup> fleet;
  unsigned next = 0;
  for (std::string_view item : Items(text)) {
    if (item.empty())
      return MakeError(ErrorCode::kInvalidInput, "--fleet: an empty entry; write MODEL[:COUNT],...");
    const size_t colon = item.find(':');
    const std::string_view key = Trim(item.substr(0, colon), " \t");
    unsigned count = 1;
    if (colon != std::string_view::npos) {
      MIGCTL_ASSIGN_OR_RETURN(count, Count(Trim(item.substr(colon + 1), " \t"), item, "--fleet"));
    }
    MIGCTL_ASSIGN_OR_RETURN(const GpuModel* model, FindModel(key));
    planner::FleetGroup group;
    group.model = model;
    group.count = count;
    for (unsigned i = 0; i < count; ++i) group.gpu_indexes.push_back(next++);
    fleet.push_back(std::move(group));
  }
  return fleet;
}

Result<std::vector<planner::Workload>> ParseNeeds(std::string_view text) {
  std::vector<planner::Workload> out;
  for (std::string_view item : Items(text)) {
    if (item.empty()) return MakeError(ErrorCode::kInvalidInput, "--need: an empty entry; write SIZE xN,...");
    std::string_view size = item, count_text;
    bool counted = false;
    for (std::string_view sep :
         {std::string_view(" x"), std::string_view("\xc3\x97"), std::string_view(" *")}) {
      const size_t at = item.rfind(sep);
      if (at != std::string_view::npos) {
        size = Trim(item.substr(0, at), " \t");
        count_text = Trim(item.substr(at + sep.size()), " \t");
        counted = true;
        break;
      }
    }
    planner::Workload w;
    Result<unsigned long long> mib = ParseMemoryMib(size);
    if (!mib.ok()) return mib.error().WithContext(fmt::format("--need '{}': ", item));
    w.name = std::string(size);
    w.memory_mib = *mib;
    if (counted) {
      MIGCTL_ASSIGN_OR_RETURN(w.count, Count(count_text, item, "--need"));
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<planner::Workload>> ParseDemand(std::string_view text) {
  std::vector<planner::Workload> out;
  for (std::string_view item : Items(text)) {
    if (item.empty())
      return MakeError(ErrorCode::kInvalidInput, "--demand: an empty entry; write PROFILE:N,...");
    const size_t colon = item.rfind(':');
    planner::Workload w;
    w.name = std::string(Trim(item.substr(0, colon), " \t"));
    w.profile = w.name;
    if (colon != std::string_view::npos) {
      MIGCTL_ASSIGN_OR_RETURN(w.count, Count(Trim(item.substr(colon + 1), " \t"), item, "--demand"));
    }
    out.push_back(std::move(w));
  }
  return out;
}

Result<std::vector<planner::Workload>> ParseWorkloads(const std::string& need, const std::string& demand,
                                                      const std::string& need_file) {
  std::vector<planner::Workload> all;
  if (!need.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<planner::Workload> w, ParseNeeds(need));
    all.insert(all.end(), w.begin(), w.end());
  }
  if (!demand.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<planner::Workload> w, ParseDemand(demand));
    all.insert(all.end(), w.begin(), w.end());
  }
  if (!need_file.empty()) {
    MIGCTL_ASSIGN_OR_RETURN(std::vector<spec::WorkloadEntry> entries, spec::LoadWorkloadsFile(need_file));
    for (spec::WorkloadEntry& e : entries)
      all.push_back({e.name, e.count, e.memory_mib, e.compute_slices, e.profile, e.priority, e.models});
  }
  if (all.empty())
    return MakeError(ErrorCode::kInvalidInput,
                     "no demand given: give --need SIZES, --demand PROFILES or --need-file FILE");
  return all;
}

void AddWorkloadOptions(CLI::App* cmd, std::string* need, std::string* demand, std::string* need_file) {
  cmd->add_option("--need", *need, "Memory needs: \"30GiB x3, 8GiB x10\"");
  cmd->add_option("--demand", *demand, "Profile needs: \"3g.40gb:2, 1g.10gb:6\"");
  cmd->add_option("--need-file", *need_file, "YAML file of named workloads (see `migctl plan --help`)");
}

}  // namespace migctl
