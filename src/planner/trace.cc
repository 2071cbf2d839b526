#include "planner/trace.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <random>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl::planner {
namespace {

constexpr unsigned long long kCardMib = 80ull * 1024;  // The card kMemory takes fractions of: 80 GiB.

// The pod lists are plain CSV: numbers and names, no quoting, no embedded commas; splitting on ',' reads them
// exactly, so no CSV library is needed.
std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t begin = 0;
  while (true) {
    const size_t comma = line.find(',', begin);
    fields.push_back(line.substr(begin, comma == std::string_view::npos ? comma : comma - begin));
    if (comma == std::string_view::npos) return fields;
    begin = comma + 1;
  }
}

template <typename T>
bool ParseUnsigned(std::string_view text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

std::optional<unsigned long long> OptionalTime(const std::vector<std::string_view>& fields, size_t column) {
  unsigned long long value = 0;
  if (column >= fields.size() || !ParseUnsigned(fields[column], &value)) return std::nullopt;
  return value;
}

}  // namespace

Result<std::vector<SharingPod>> LoadSharingPods(const std::string& path) {
  MIGCTL_ASSIGN_OR_RETURN(const std::string text, ReadFile(path));
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string_view> header = SplitFields(line);
  auto column = [&](std::string_view name) -> size_t {
    return std::find(header.begin(), header.end(), name) - header.begin();
  };
  const size_t name_col = column("name"), num_gpu_col = column("num_gpu"), milli_col = column("gpu_milli");
  const size_t created_col = column("creation_time"), deleted_col = column("deletion_time");
  if (std::max({name_col, num_gpu_col, milli_col}) >= header.size())
    return MakeError(
        ErrorCode::kCorrupt,
        fmt::format("{}: the header lacks name, num_gpu or gpu_milli; expected an openb pod list "
                    "(openb_pod_list_*.csv)",
                    path));
  std::vector<SharingPod> pods;
  for (unsigned line_no = 2; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const std::vector<std::string_view> fields = SplitFields(line);
    unsigned num_gpu = 0, milli = 0;
    if (fields.size() != header.size() || !ParseUnsigned(fields[num_gpu_col], &num_gpu) ||
        !ParseUnsigned(fields[milli_col], &milli))
      return MakeError(ErrorCode::kCorrupt,
                       fmt::format("{}:{}: expected {} fields with numeric num_gpu and gpu_milli", path,
                                   line_no, header.size()));
    if (num_gpu == 1 && milli > 0 && milli < 1000)
      pods.push_back({std::string(fields[name_col]), milli, OptionalTime(fields, created_col),
                      OptionalTime(fields, deleted_col)});
  }
  return pods;
}

const char* NeedMappingName(NeedMapping mapping) {
  return mapping == NeedMapping::kCompute ? "compute" : "memory";
}

Workload NeedOf(const SharingPod& pod, NeedMapping mapping) {
  Workload w;
  if (mapping == NeedMapping::kCompute) {
    const unsigned slices = (7 * pod.gpu_milli + 999) / 1000;
    w.name = fmt::format("{} slice{}", slices, slices == 1 ? "" : "s");
    w.compute_slices = slices;
  } else {
    const unsigned long long mib = (kCardMib * pod.gpu_milli + 999) / 1000;
    w.name = fmt::format("{} MiB", mib);
    w.memory_mib = mib;
  }
  return w;
}

std::vector<Workload> PodWorkloads(const std::vector<SharingPod>& pods, NeedMapping mapping) {
  std::vector<Workload> workloads;
  workloads.reserve(pods.size());
  for (const SharingPod& pod : pods) workloads.push_back(NeedOf(pod, mapping));
  return workloads;
}

std::vector<Workload> AggregateNeeds(const std::vector<SharingPod>& pods, NeedMapping mapping) {
  std::map<unsigned long long, Workload> by_need;  // Both mappings have a single number as the need.
  for (const SharingPod& pod : pods) {
    Workload w = NeedOf(pod, mapping);
    const unsigned long long need = w.compute_slices ? *w.compute_slices : *w.memory_mib;
    auto [it, inserted] = by_need.try_emplace(need, std::move(w));
    if (!inserted) ++it->second.count;
  }
  std::vector<Workload> workloads;
  for (auto& [need, w] : by_need) workloads.push_back(std::move(w));
  return workloads;
}

std::vector<SharingPod> SamplePods(const std::vector<SharingPod>& pods, unsigned long long seed,
                                   unsigned long long target_milli) {
  std::vector<SharingPod> shuffled = pods;
  std::mt19937_64 rng(seed);
  // Fisher-Yates by hand: std::shuffle's draws are implementation-defined. The modulo bias is below 2^-50.
  for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng() % i]);
  unsigned long long total = 0;
  size_t taken = 0;
  while (taken < shuffled.size() && total < target_milli) total += shuffled[taken++].gpu_milli;
  shuffled.resize(taken);
  return shuffled;
}

}  // namespace migctl::planner
