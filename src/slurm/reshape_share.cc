#include "slurm/reshape_share.h"

#include <algorithm>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "catalog/catalog.h"
#include "slurm/gres.h"
#include "slurm/sync.h"

namespace migctl::slurm {
namespace {

constexpr std::string_view kClaimPrefix = " reshape for ";  // after kDrainReason and a colon

bool Usable(const NodeInfo& node) { return node.Registered() && !node.Drained(); }

}  // namespace

std::string ClaimReason(const std::map<std::string, unsigned>& types) {
  std::vector<std::string> parts;
  for (const auto& [type, count] : types) parts.push_back(fmt::format("{} x{}", type, count));
  return fmt::format("{}:{}{}", kDrainReason, kClaimPrefix, fmt::join(parts, ", "));
}

std::map<std::string, unsigned> ParseClaim(std::string_view reason) {
  std::map<std::string, unsigned> types;
  const std::string prefix = fmt::format("{}:{}", kDrainReason, kClaimPrefix);
  if (!reason.starts_with(prefix)) return types;
  reason.remove_prefix(prefix.size());
  while (!reason.empty()) {
    const size_t comma = std::min(reason.find(", "), reason.size());
    const std::string_view part = reason.substr(0, comma);
    reason.remove_prefix(std::min(comma + 2, reason.size()));
    const size_t x = part.rfind(" x");
    if (x == std::string_view::npos || x == 0) continue;
    unsigned n = 0;
    const std::string_view count = part.substr(x + 2);
    auto [ptr, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (ec == std::errc() && ptr == count.data() + count.size()) types[std::string(part.substr(0, x))] += n;
  }
  return types;
}

bool CouldMakeType(const std::map<std::string, unsigned>& gpu_types, std::string_view type) {
  if (gpu_types.empty()) return false;
  return std::any_of(BuiltinModels().begin(), BuiltinModels().end(), [&](const GpuModel& model) {
    return ProfileOfType(model, type) != nullptr &&
           std::all_of(gpu_types.begin(), gpu_types.end(),
                       [&](const auto& t) { return ProfileOfType(model, t.first) != nullptr; });
  });
}

std::vector<TypeShare> ShareOf(const ShareRequest& request) {
  const NodeInfo* self = nullptr;
  for (const NodeInfo& n : request.nodes)
    if (n.name == request.self) self = &n;
  const std::vector<std::string> no_partitions;
  const std::vector<std::string>& mine = self != nullptr ? self->partitions : no_partitions;

  // The counted jobs by type, and every partition one of them was submitted to.
  std::map<std::string, TypeShare> shares;
  std::map<std::string, std::vector<const PendingJob*>> jobs_of;
  for (const PendingJob& job : request.jobs) {
    if (!job.WaitsForResources() || !job.MayRunIn(mine)) continue;
    for (const auto& [type, count] : job.gpu_types) {
      shares[type].type = type;
      shares[type].pending += count;
      jobs_of[type].push_back(&job);
    }
  }
  for (auto& [type, share] : shares) {
    auto serves = [&](const NodeInfo& n) {
      return std::any_of(jobs_of[type].begin(), jobs_of[type].end(),
                         [&](const PendingJob* j) { return j->MayRunIn(n.partitions); });
    };
    // Room for the type elsewhere, node by node: a job's GPUs must all be on one node.
    std::vector<std::pair<const NodeInfo*, unsigned>> free_room, claimed_room;
    std::vector<const NodeInfo*> candidates;
    for (const NodeInfo& n : request.nodes) {
      if (n.name != request.self) {
        const auto claim = ParseClaim(n.reason);
        if (n.Drained() && claim.contains(type) && (!request.recheck || n.name < request.self))
          claimed_room.emplace_back(&n, claim.at(type));
      }
      // This node need not answer slurmctld's pings to serve (it runs this): only a drain keeps it out.
      const bool usable = n.name == request.self ? !n.Drained() : Usable(n);
      if (!usable || !serves(n)) continue;
      if (n.name != request.self) {
        const unsigned have = n.gpu_types.contains(type) ? n.gpu_types.at(type) : 0;
        const unsigned used = n.gpu_types_used.contains(type) ? n.gpu_types_used.at(type) : 0;
        if (have > used) free_room.emplace_back(&n, have - used);
      }
      if (request.can_make && request.can_make(n, type)) candidates.push_back(&n);
    }
    // The jobs, in squeue's order, take free room first, then what is being made; the rest is left.
    unsigned left = 0;
    for (const PendingJob* job : jobs_of[type]) {
      const unsigned k = job->gpu_types.at(type);
      auto take = [&](std::vector<std::pair<const NodeInfo*, unsigned>>& room) {
        for (auto& [n, count] : room)
          if (count >= k && job->MayRunIn(n->partitions)) {
            count -= k;
            return true;
          }
        return false;
      };
      if (take(free_room))
        share.free_elsewhere += k;
      else if (take(claimed_room))
        share.claimed += k;
      else
        left += k;
    }
    std::sort(candidates.begin(), candidates.end(), [](const NodeInfo* a, const NodeInfo* b) {
      return std::pair(!a->Has("IDLE"), a->name) < std::pair(!b->Has("IDLE"), b->name);
    });
    if (request.recheck)
      share.first = request.self;
    else if (!candidates.empty())
      share.first = candidates.front()->name;
    if (share.first == request.self) share.mine = left;
  }
  std::vector<TypeShare> out;
  for (auto& [type, share] : shares) out.push_back(std::move(share));
  return out;
}

}  // namespace migctl::slurm
