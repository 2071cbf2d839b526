// Which part of the pending MIG demand `slurm reshape` on one node re-cuts for, when it runs on every MIG
// node of a cluster side by side (each as root on its own node, with no coordinator). The nodes read the same
// state from slurmctld and so agree on who serves what:
//  - demand: the GPUs of each type that pending jobs ask, counting only jobs that wait for resources and may
//    run on this node (a partition in common);
//  - minus the jobs that GPUs free now on other usable nodes can take (they will start there), then those
//  that
//    what other nodes are making now will take (a node under way drains itself with a reason that names what
//    it re-cuts for: ClaimReason); a job's GPUs of a type must all be on one node;
//  - what is left goes to the one usable node that comes first among those that can make the type: idle
//    nodes before busy ones (no job to wait for), then nodes sure to make it before those that may (other
//    nodes' GPU models are read off their Gres types, which do not always tell models apart: MakesType), then
//    by name;
//  - a job still unserved `takeover_after_s` after it was submitted is served by the second node as well,
//    after twice that by the third, and so on: a first node that only seemed able (an A100-40GB showing
//    1g.10gb, asked for 3g.40gb) or that fails holds nobody up for long.
// A node that claimed checks again after its drain (ShareRequest::recheck): when two claimed at once, the one
// first by name keeps it. Pure.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "slurm/pending_demand.h"
#include "slurm/slurm_client.h"

namespace migctl::slurm {

/// Whether a node can make GPUs of a type.
enum class Capability { kCannot, kMaybe, kCan };

struct TypeShare {
  std::string type;
  unsigned pending = 0;         ///< Asked by jobs that wait for resources and may run on this node.
  unsigned free_elsewhere = 0;  ///< Asked by jobs that GPUs free now on another usable node can take.
  unsigned claimed = 0;         ///< Asked by jobs that other nodes' reshapes under way will serve.
  std::string first;  ///< The node that comes first for the rest; "" when no usable node can make it.
  unsigned mine = 0;  ///< What this node re-cuts for: the rest when it comes first, else its takeover.
  unsigned takeover = 0;  ///< Of `mine`, for jobs that waited too long on the nodes before this one.
};

struct ShareRequest {
  std::string self;
  std::vector<NodeInfo> nodes;  ///< Every node (SlurmClient::Nodes), this one included.
  std::vector<PendingJob> jobs;
  /// Whether `node` can make GPUs of `type` (for this node: its own GPUs, kCan or kCannot; for others:
  /// MakesType).
  std::function<Capability(const NodeInfo& node, const std::string& type)> can_make;
  long long now = 0;                ///< Seconds since the epoch, to age jobs (PendingJob::submitted).
  long long takeover_after_s = 600; ///< 0: no takeover.
  /// This node has drained itself with its claim and checks again: only claims of nodes named before it count
  /// (of two nodes that claimed at once, the first by name keeps it), and the rest is its own.
  bool recheck = false;
};

/// One entry per GPU type the counted jobs ask, by type name.
std::vector<TypeShare> ShareOf(const ShareRequest& request);

/// The drain reason of a node re-cutting for `types`: `migctl slurm sync: reshape for 3g.40gb x2, 1g.10gb
/// x1`. It begins with kDrainReason, so the `slurm sync` that follows resumes the node.
std::string ClaimReason(const std::map<std::string, unsigned>& types);

/// What a drain reason claims (ClaimReason's format); empty for any other reason.
std::map<std::string, unsigned> ParseClaim(std::string_view reason);

/// Whether a node whose Gres has `gpu_types` can make `type`, judged by the built-in GPU models that have a
/// profile for each of its types: kCan when every such model has one for `type`, kMaybe when only some do
/// (a node showing only 1g.10gb may be an A100-40GB, which has no 3g.40gb), kCannot when none does or the
/// node has no typed MIG GPUs. A kMaybe node that comes first for a type it cannot make makes nothing (its
/// own pass knows its GPUs); the takeover lets the next node serve.
Capability MakesType(const std::map<std::string, unsigned>& gpu_types, std::string_view type);

}  // namespace migctl::slurm
