#include "slurm/reshape_share.h"

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

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

Capability MakesType(const std::map<std::string, unsigned>& gpu_types, std::string_view type) {
  if (gpu_types.empty()) return Capability::kCannot;
  unsigned fit = 0, make = 0;  // models that have every type of the node; of those, that make `type`
  for (const GpuModel& model : BuiltinModels()) {
    if (!std::all_of(gpu_types.begin(), gpu_types.end(),
                     [&](const auto& t) { return ProfileOfType(model, t.first) != nullptr; }))
      continue;
    ++fit;
    if (ProfileOfType(model, type) != nullptr) ++make;
  }
  return make == 0 ? Capability::kCannot : make == fit ? Capability::kCan : Capability::kMaybe;
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
    std::vector<std::pair<const NodeInfo*, Capability>> candidates;
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
      const Capability able = request.can_make ? request.can_make(n, type) : Capability::kCannot;
      if (able != Capability::kCannot) candidates.emplace_back(&n, able);
    }
    std::sort(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      return std::tuple(!a.first->Has("IDLE"), a.second != Capability::kCan, a.first->name) <
             std::tuple(!b.first->Has("IDLE"), b.second != Capability::kCan, b.first->name);
    });
    // This node's place among them: the first serves every job left, the next ones jobs waiting too long.
    size_t rank = candidates.size();
    for (size_t i = 0; i < candidates.size(); ++i)
      if (candidates[i].first->name == request.self) rank = i;
    if (request.recheck) rank = 0;  // a node that claimed serves as the first, drained as it now is
    const bool candidate = request.recheck || rank < candidates.size();
    // The jobs, in squeue's order, take free room first, then what is being made; the rest is left.
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
      if (take(free_room)) {
        share.free_elsewhere += k;
      } else if (take(claimed_room)) {
        share.claimed += k;
      } else if (candidate) {
        const long long waited =
            job->submitted > 0 && request.now > job->submitted ? request.now - job->submitted : 0;
        const long long reach = request.takeover_after_s > 0 ? waited / request.takeover_after_s : 0;
        if (static_cast<long long>(rank) <= reach) {
          share.mine += k;
          if (rank > 0) share.takeover += k;
        }
      }
    }
    if (request.recheck)
      share.first = request.self;
    else if (!candidates.empty())
      share.first = candidates.front().first->name;
  }
  std::vector<TypeShare> out;
  for (auto& [type, share] : shares) out.push_back(std::move(share));
  return out;
}

}  // namespace migctl::slurm
