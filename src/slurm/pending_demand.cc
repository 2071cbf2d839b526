#include "slurm/pending_demand.h"

#include <algorithm>

#include "slurm/slurm_client.h"

namespace migctl::slurm {
namespace {

std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  for (size_t begin = 0;;) {
    const size_t at = text.find(sep, begin);
    out.push_back(text.substr(begin, at == std::string_view::npos ? at : at - begin));
    if (at == std::string_view::npos) return out;
    begin = at + 1;
  }
}

}  // namespace

std::vector<std::string> PendingJobsArgv() {
  return {"squeue", "-h", "-r", "-t", "PENDING", "-o", "%i|%P|%r|%b|%V"};
}

bool PendingJob::WaitsForResources() const {
  return reason == "Resources" || reason == "Priority" || reason == "None";
}

bool PendingJob::MayRunIn(const std::vector<std::string>& node_partitions) const {
  return std::any_of(partitions.begin(), partitions.end(), [&](const std::string& p) {
    return std::find(node_partitions.begin(), node_partitions.end(), p) != node_partitions.end();
  });
}

std::vector<PendingJob> ParsePendingJobs(std::string_view squeue_output) {
  std::vector<PendingJob> jobs;
  for (std::string_view line : Split(squeue_output, '\n')) {
    const std::vector<std::string_view> f = Split(line, '|');
    if ((f.size() != 4 && f.size() != 5) || f[0].empty()) continue;
    PendingJob job{.id = std::string(f[0]), .reason = std::string(f[2]), .gpu_types = GpuTypeCounts(f[3])};
    if (f.size() == 5) job.submitted = ParseLocalTime(f[4]).value_or(0);
    for (std::string_view p : Split(f[1], ','))
      if (!p.empty()) job.partitions.emplace_back(p);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace migctl::slurm
