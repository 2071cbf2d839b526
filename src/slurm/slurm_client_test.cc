#include "slurm/slurm_client.h"

#include <gtest/gtest.h>

#include "common/fake_process_host.h"

namespace migctl::slurm {
namespace {

using std::chrono::milliseconds;

// Recorded from Debian's scontrol 22.05.8 on a loopback cluster.
constexpr const char* kDrained =
    "NodeName=n1 Arch=x86_64 CoresPerSocket=1  CPUAlloc=0 CPUEfctv=16 CPUTot=16 CPULoad=0.67 "
    "AvailableFeatures=(null) ActiveFeatures=(null) Gres=gpu:1g.10gb:2,gpu:3g.40gb:1 NodeAddr=127.0.0.1 "
    "NodeHostName=vm Port=38385 Version=22.05.8 OS=Linux 6.18.44-fc-v1252 #1 SMP PREEMPT_DYNAMIC @0  "
    "RealMemory=4000 AllocMem=0 FreeMem=23239 Sockets=16 Boards=1 State=IDLE+DRAIN ThreadsPerCore=1 "
    "TmpDisk=0 "
    "Weight=1 Owner=N/A MCS_label=N/A Partitions=debug  BootTime=2026-12-04T18:02:56 "
    "SlurmdStartTime=2026-12-04T23:06:44 LastBusyTime=2026-12-04T23:06:44 "
    "CfgTRES=cpu=16,mem=4000M,billing=16 "
    "AllocTRES= CapWatts=n/a CurrentWatts=0 AveWatts=0 ExtSensorsJoules=n/s ExtSensorsWatts=0 "
    "ExtSensorsTemp=n/s Reason=migctl slurm sync [root@2026-12-04T23:06:47]\n";
// Just after slurmctld restarted, before the node's slurmd registered again.
constexpr const char* kUnregistered =
    "NodeName=n1 CoresPerSocket=1 Gres=gpu:1g.10gb:4,gpu:3g.40gb:1 State=UNKNOWN+DRAIN SlurmdStartTime=None "
    "Reason=migctl slurm sync [root@2026-12-04T23:07:14]";

TEST(NodeInfo, ReadsStateReasonGresAndStart) {
  auto info = ParseNodeInfo(kDrained);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->name, "n1");
  EXPECT_EQ(info->state, "IDLE+DRAIN");
  EXPECT_EQ(info->reason, "migctl slurm sync");
  EXPECT_EQ(info->gres, "gpu:1g.10gb:2,gpu:3g.40gb:1");
  ASSERT_TRUE(info->slurmd_start.has_value());
  std::tm tm{};
  ::localtime_r(&*info->slurmd_start, &tm);
  EXPECT_EQ(tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec, 23 * 3600 + 6 * 60 + 44);
  EXPECT_TRUE(info->Drained());
  EXPECT_TRUE(info->Registered());
  EXPECT_FALSE(info->Has("DRAINING")) << "whole words only";
}

TEST(NodeInfo, UnregisteredUntilItsSlurmdReports) {
  auto info = ParseNodeInfo(kUnregistered);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_FALSE(info->slurmd_start.has_value());
  EXPECT_FALSE(info->Registered());
  info = ParseNodeInfo("NodeName=n1 Gres=(null) State=IDLE+DRAIN+INVALID_REG SlurmdStartTime=None");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->gres, "");
  EXPECT_EQ(info->reason, "");
  EXPECT_FALSE(info->Registered());
  EXPECT_FALSE(ParseNodeInfo("Node n1 not found").ok());
}

TEST(NodeInfo, ReadsPartitionsAndWhatJobsUse) {
  // `scontrol -d show node -o` of Slurm 22.05.8 on a loopback cluster, two nodes (trimmed).
  const std::vector<NodeInfo> nodes = ParseNodeInfos(
      "NodeName=n1 Arch=x86_64 Gres=gpu:1g.10gb:7 NodeAddr=127.0.0.1 State=IDLE Partitions=debug\n"
      "NodeName=n2 Arch=x86_64 Gres=gpu:3g.40gb:2 GresDrain=N/A GresUsed=gpu:3g.40gb:1(IDX:0) "
      "State=MIXED Partitions=debug,gpu\nnot a node line\n");
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].gpu_types, (std::map<std::string, unsigned>{{"1g.10gb", 7}}));
  EXPECT_TRUE(nodes[0].gpu_types_used.empty());
  EXPECT_EQ(nodes[1].partitions, (std::vector<std::string>{"debug", "gpu"}));
  EXPECT_EQ(nodes[1].gpu_types_used, (std::map<std::string, unsigned>{{"3g.40gb", 1}}));
}

TEST(NodeInfo, GpuTypeCountsReadsTypedGpusOnly) {
  EXPECT_EQ(GpuTypeCounts("gpu:1g.10gb:4(S:0),gpu:3g.40gb:1(IDX:2,5),gpu:2,license:3"),
            (std::map<std::string, unsigned>{{"1g.10gb", 4}, {"3g.40gb", 1}}));
  EXPECT_EQ(GpuTypeCounts("gpu:1g.10gb:0(IDX:N/A),gpu:1g.10gb:2(IDX:0-1)"),
            (std::map<std::string, unsigned>{{"1g.10gb", 2}}));
  EXPECT_TRUE(GpuTypeCounts("").empty());
  EXPECT_TRUE(GpuTypeCounts("gpu:3g.40gb:x,gpu::2").empty());
}

TEST(NodeInfo, JobIdsOneALine) {
  EXPECT_EQ(ParseJobIds("12\n13_4\n"), (std::vector<std::string>{"12", "13_4"}));
  EXPECT_TRUE(ParseJobIds("").empty());
}

TEST(RunSlurmCommand, ReturnsStdout) {
  FakeProcessHost host;
  host.Script("squeue", FakeProgram{.stdout_text = "7\n"});
  auto out = RunSlurmCommand(host, {"squeue", "-h"}, {"PATH=/usr/bin"}, milliseconds(10000));
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "7\n");
  EXPECT_EQ(host.starts().at(0).env, std::vector<std::string>{"PATH=/usr/bin"});
}

TEST(RunSlurmCommand, FailureCarriesTheFirstStderrLine) {
  FakeProcessHost host;
  host.Script("scontrol",
              FakeProgram{.exit_status = 1, .stderr_text = "slurm_update error: Invalid node name\nmore\n"});
  auto out = RunSlurmCommand(host, {"scontrol", "update", "NodeName=x y"}, {}, milliseconds(10000));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "`scontrol update 'NodeName=x y'` failed: slurm_update error: Invalid node name (exit status 1)");
}

TEST(RunSlurmCommand, StopsACommandThatBlocks) {
  FakeProcessHost host;
  host.Script("sinfo", FakeProgram{.runs_for = FakeProgram::kForever});
  auto out = RunSlurmCommand(host, {"sinfo"}, {}, milliseconds(2000));
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.error().message.find("did not finish within 2 s: is slurmctld up?"), std::string::npos)
      << out.error().message;
  EXPECT_EQ(host.Now() - host.epoch(), milliseconds(2000));
}

TEST(RunSlurmCommand, MissingProgramSaysWhatToInstall) {
  FakeProcessHost host;
  auto out = RunSlurmCommand(host, {"scontrol", "ping"}, {}, milliseconds(1000));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(out.error().message.find("slurm-client"), std::string::npos) << out.error().message;
}

}  // namespace
}  // namespace migctl::slurm
