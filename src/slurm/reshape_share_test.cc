#include "slurm/reshape_share.h"

#include <gtest/gtest.h>

#include "catalog/catalog.h"
#include "slurm/gres.h"
#include "slurm/sync.h"

namespace migctl::slurm {
namespace {

NodeInfo Node(std::string name, std::string state, std::map<std::string, unsigned> gpus,
              std::map<std::string, unsigned> used = {}, std::string reason = "") {
  return NodeInfo{.name = std::move(name),
                  .state = std::move(state),
                  .reason = std::move(reason),
                  .gpu_types = std::move(gpus),
                  .gpu_types_used = std::move(used),
                  .partitions = {"debug"}};
}

PendingJob Job(std::string id, std::map<std::string, unsigned> gpus, std::string reason = "Resources") {
  return PendingJob{.id = std::move(id),
                    .partitions = {"debug"},
                    .reason = std::move(reason),
                    .gpu_types = std::move(gpus)};
}

// Every node here has H100s: each can make every H100 type.
ShareRequest Request(std::string self, std::vector<NodeInfo> nodes, std::vector<PendingJob> jobs) {
  return ShareRequest{.self = std::move(self),
                      .nodes = std::move(nodes),
                      .jobs = std::move(jobs),
                      .can_make = [](const NodeInfo& n, const std::string& type) {
                        return MakesType(n.gpu_types, type);
                      }};
}

const TypeShare& Of(const std::vector<TypeShare>& shares, const std::string& type) {
  for (const TypeShare& s : shares)
    if (s.type == type) return s;
  static const TypeShare none;
  ADD_FAILURE() << "no share for " << type;
  return none;
}

TEST(ReshapeShare, OneNodeOfManyServesAPendingType) {
  // n1 and n3 are idle with 1g.10gb only; n2 runs a job on its one 3g.40gb. One job waits for a 3g.40gb: the
  // first idle node by name re-cuts for it, and no other.
  const std::vector<NodeInfo> nodes = {Node("n1", "IDLE", {{"1g.10gb", 7}}),
                                       Node("n2", "MIXED", {{"3g.40gb", 1}}, {{"3g.40gb", 1}}),
                                       Node("n3", "IDLE", {{"1g.10gb", 7}})};
  const std::vector<PendingJob> jobs = {Job("7", {{"3g.40gb", 1}})};
  for (const char* self : {"n1", "n2", "n3"}) {
    const TypeShare& s = Of(ShareOf(Request(self, nodes, jobs)), "3g.40gb");
    EXPECT_EQ(s.pending, 1u) << self;
    EXPECT_EQ(s.free_elsewhere, 0u) << self;
    EXPECT_EQ(s.first, "n1") << self << ": idle before busy, then by name";
    EXPECT_EQ(s.mine, self == std::string("n1") ? 1u : 0u) << self;
  }
}

TEST(ReshapeShare, FreeGpusElsewhereAndClaimsServeFirst) {
  // Three jobs want a 3g.40gb. n2 has one free, n4 is already re-cutting for one: one is left, for n1.
  const std::vector<NodeInfo> nodes = {
      Node("n1", "IDLE", {{"1g.10gb", 7}}), Node("n2", "MIXED", {{"3g.40gb", 2}}, {{"3g.40gb", 1}}),
      Node("n4", "IDLE+DRAIN", {{"1g.10gb", 7}}, {}, ClaimReason({{"3g.40gb", 1}}))};
  const std::vector<PendingJob> jobs = {Job("1", {{"3g.40gb", 1}}), Job("2", {{"3g.40gb", 1}}, "Priority"),
                                        Job("3", {{"3g.40gb", 1}}, "None")};
  const TypeShare& s = Of(ShareOf(Request("n1", nodes, jobs)), "3g.40gb");
  EXPECT_EQ(s.pending, 3u);
  EXPECT_EQ(s.free_elsewhere, 1u);
  EXPECT_EQ(s.claimed, 1u);
  EXPECT_EQ(s.mine, 1u);
  // With a fourth free elsewhere, nothing is left for anyone.
  std::vector<NodeInfo> more = nodes;
  more[1].gpu_types["3g.40gb"] = 3;
  EXPECT_EQ(Of(ShareOf(Request("n1", more, jobs)), "3g.40gb").mine, 0u);
}

TEST(ReshapeShare, AJobsGpusMustAllBeOnOneNode) {
  // One job wants two 3g.40gb; n2 and n3 each have one free: neither can take it, so n1 makes two.
  const std::vector<NodeInfo> nodes = {Node("n1", "IDLE", {{"1g.10gb", 7}}),
                                       Node("n2", "MIXED", {{"3g.40gb", 2}}, {{"3g.40gb", 1}}),
                                       Node("n3", "MIXED", {{"3g.40gb", 2}}, {{"3g.40gb", 1}})};
  std::vector<PendingJob> jobs = {Job("1", {{"3g.40gb", 2}})};
  TypeShare s = Of(ShareOf(Request("n1", nodes, jobs)), "3g.40gb");
  EXPECT_EQ(s.free_elsewhere, 0u);
  EXPECT_EQ(s.mine, 2u);
  // Two jobs of one each: n2 and n3 take them.
  jobs = {Job("1", {{"3g.40gb", 1}}), Job("2", {{"3g.40gb", 1}})};
  s = Of(ShareOf(Request("n1", nodes, jobs)), "3g.40gb");
  EXPECT_EQ(s.free_elsewhere, 2u);
  EXPECT_EQ(s.mine, 0u);
}

TEST(ReshapeShare, OnlyJobsThatWaitForResourcesInThisNodesPartitionsCount) {
  const std::vector<NodeInfo> nodes = {Node("n1", "IDLE", {{"1g.10gb", 7}})};
  PendingJob elsewhere = Job("2", {{"3g.40gb", 1}});
  elsewhere.partitions = {"other"};
  const std::vector<PendingJob> jobs = {Job("1", {{"3g.40gb", 1}}, "JobHeldUser"), elsewhere,
                                        Job("3", {{"3g.40gb", 1}}, "Dependency")};
  EXPECT_TRUE(ShareOf(Request("n1", nodes, jobs)).empty());
}

TEST(ReshapeShare, DrainedDownAndOtherModelsNodesDoNotServe) {
  // n0 is drained by an admin, n1 is down, n2 has A30s (no 3g.40gb there): n3, busy, comes first.
  const std::vector<NodeInfo> nodes = {
      Node("n0", "IDLE+DRAIN", {{"1g.10gb", 7}}, {}, "disk failing"), Node("n1", "DOWN", {{"1g.10gb", 7}}),
      Node("n2", "IDLE", {{"1g.6gb", 4}}), Node("n3", "ALLOCATED", {{"1g.10gb", 7}}, {{"1g.10gb", 7}})};
  const std::vector<PendingJob> jobs = {Job("1", {{"3g.40gb", 1}})};
  const TypeShare& s = Of(ShareOf(Request("n3", nodes, jobs)), "3g.40gb");
  EXPECT_EQ(s.first, "n3");
  EXPECT_EQ(s.mine, 1u);
  EXPECT_EQ(Of(ShareOf(Request("n2", nodes, jobs)), "3g.40gb").mine, 0u);
}

TEST(ReshapeShare, OfTwoNodesThatClaimedAtOnceTheFirstByNameKeepsIt) {
  // n1 and n2 each read no claim, and each drained itself for the one pending 3g.40gb.
  const std::vector<NodeInfo> nodes = {
      Node("n1", "IDLE+DRAIN", {{"1g.10gb", 7}}, {}, ClaimReason({{"3g.40gb", 1}})),
      Node("n2", "IDLE+DRAIN", {{"1g.10gb", 7}}, {}, ClaimReason({{"3g.40gb", 1}}))};
  const std::vector<PendingJob> jobs = {Job("1", {{"3g.40gb", 1}})};
  ShareRequest again = Request("n1", nodes, jobs);
  again.recheck = true;
  EXPECT_EQ(Of(ShareOf(again), "3g.40gb").mine, 1u) << "n2's claim comes after n1's name";
  again.self = "n2";
  EXPECT_EQ(Of(ShareOf(again), "3g.40gb").mine, 0u) << "n1's claim covers it: n2 backs off";
}

TEST(ReshapeShare, ClaimReasonsRoundTrip) {
  const std::map<std::string, unsigned> types = {{"1g.10gb", 1}, {"3g.40gb", 2}};
  const std::string reason = ClaimReason(types);
  EXPECT_EQ(reason, "migctl slurm sync: reshape for 1g.10gb x1, 3g.40gb x2");
  EXPECT_TRUE(reason.starts_with(kDrainReason)) << "so the sync that follows resumes the node";
  EXPECT_EQ(ParseClaim(reason), types);
  EXPECT_TRUE(ParseClaim("migctl slurm sync").empty());
  EXPECT_TRUE(ParseClaim("disk failing").empty());
  EXPECT_TRUE(ParseClaim("migctl slurm sync: reshape for 3g.40gb xx").empty());
}

TEST(ReshapeShare, OtherNodesModelsAreReadOffTheirGresTypes) {
  // 1g.10gb: an A100-80GB or H100-80GB, which make 3g.40gb, or an A100-40GB, which does not.
  EXPECT_EQ(MakesType({{"1g.10gb", 7}}, "3g.40gb"), Capability::kMaybe);
  EXPECT_EQ(MakesType({{"3g.40gb", 2}}, "1g.10gb"), Capability::kCan);
  EXPECT_EQ(MakesType({{"1g.5gb", 7}}, "3g.40gb"), Capability::kCannot);  // only an A100-40GB has 1g.5gb
  const GpuModel& h200 = *FindModel("h200-141gb").value();
  const GiProfile& big = *h200.FindProfile("3g.71gb");
  const std::string h200_3g = MigTypeName(big.compute_slices, big.memory_mib);
  EXPECT_NE(MakesType({{"1g.16gb", 7}}, h200_3g), Capability::kCannot);  // an H200's 1g.18gb, as Slurm names it
  EXPECT_EQ(MakesType({{"1g.10gb", 7}}, h200_3g), Capability::kCannot);
  EXPECT_EQ(MakesType({{"1g.6gb", 4}}, "3g.40gb"), Capability::kCannot);  // an A30
  EXPECT_EQ(MakesType({}, "3g.40gb"), Capability::kCannot);
  EXPECT_EQ(MakesType({{"nvidia_h100_80gb_hbm3", 8}}, "3g.40gb"), Capability::kCannot) << "whole GPUs: no MIG";
}

TEST(ReshapeShare, AJobWaitingTooLongIsServedByTheNextNodesInTurn) {
  // n1 shows only 1g.10gb and comes first (idle, by name), but is an A100-40GB: it cannot make the 3g.40gb
  // and its own pass makes nothing. n2 and n3 (also only 1g.10gb) take over as the job ages.
  const std::vector<NodeInfo> nodes = {Node("n1", "IDLE", {{"1g.10gb", 7}}), Node("n2", "IDLE", {{"1g.10gb", 7}}),
                                       Node("n3", "IDLE", {{"1g.10gb", 7}})};
  PendingJob job = Job("9", {{"3g.40gb", 1}});
  job.submitted = 1'000'000;
  auto mine = [&](const char* self, long long waited) {
    ShareRequest r = Request(self, nodes, {job});
    r.now = job.submitted + waited;
    const TypeShare s = Of(ShareOf(r), "3g.40gb");
    EXPECT_EQ(s.first, "n1");
    return std::pair(s.mine, s.takeover);
  };
  EXPECT_EQ(mine("n1", 0), std::pair(1u, 0u));
  EXPECT_EQ(mine("n2", 599), std::pair(0u, 0u));
  EXPECT_EQ(mine("n2", 600), std::pair(1u, 1u)) << "after --takeover-after, the second node too";
  EXPECT_EQ(mine("n3", 600), std::pair(0u, 0u));
  EXPECT_EQ(mine("n3", 1200), std::pair(1u, 1u)) << "after twice that, the third";
  // Once n2 claims it (drains for it), nobody else makes another.
  std::vector<NodeInfo> claimed = nodes;
  claimed[1] = Node("n2", "IDLE+DRAIN", {{"1g.10gb", 7}}, {}, ClaimReason({{"3g.40gb", 1}}));
  ShareRequest r = Request("n3", claimed, {job});
  r.now = job.submitted + 5000;
  EXPECT_EQ(Of(ShareOf(r), "3g.40gb").mine, 0u);
  EXPECT_EQ(Of(ShareOf(r), "3g.40gb").claimed, 1u);
  // No takeover when it is off, or the submit time is unknown.
  r = Request("n2", nodes, {job});
  r.now = job.submitted + 5000;
  r.takeover_after_s = 0;
  EXPECT_EQ(Of(ShareOf(r), "3g.40gb").mine, 0u);
  job.submitted = 0;
  r = Request("n2", nodes, {job});
  r.now = 5000;
  EXPECT_EQ(Of(ShareOf(r), "3g.40gb").mine, 0u);
}

TEST(ReshapeShare, AmongIdleNodesOneSureToMakeTheTypeComesFirst) {
  // n1 may be an A100-40GB; n2 shows a 3g.40gb, so it surely makes more.
  const std::vector<NodeInfo> nodes = {Node("n1", "IDLE", {{"1g.10gb", 7}}),
                                       Node("n2", "IDLE", {{"3g.40gb", 1}, {"1g.10gb", 3}})};
  const std::vector<PendingJob> jobs = {Job("3", {{"3g.40gb", 2}})};
  EXPECT_EQ(Of(ShareOf(Request("n1", nodes, jobs)), "3g.40gb").first, "n2");
  EXPECT_EQ(Of(ShareOf(Request("n2", nodes, jobs)), "3g.40gb").mine, 2u);
}

}  // namespace
}  // namespace migctl::slurm
