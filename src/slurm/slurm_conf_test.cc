#include "slurm/slurm_conf.h"

#include <gtest/gtest.h>

namespace migctl::slurm {
namespace {

constexpr const char* kSlurmConf =
    "ClusterName=test  # a comment\n"
    "GresTypes=gpu\n"
    "NodeName=DEFAULT CPUs=8\n"
    "NodeName=n1 NodeAddr=127.0.0.1 Gres=gpu:1g.10gb:2,gpu:3g.40gb:1 State=UNKNOWN # n1's own\n"
    "nodename=n2 NodeAddr=127.0.0.2   State=UNKNOWN\n"
    "NodeName=n[3-4],x NodeAddr=127.0.0.3 Gres=gpu:3g.40gb:2\n"
    "PartitionName=debug Nodes=n1,n2,n[3-4] Default=YES\n";

TEST(HostList, NamesSingleListsAndRanges) {
  EXPECT_TRUE(HostListNames("n1", "n1"));
  EXPECT_FALSE(HostListNames("n1", "n10"));
  EXPECT_TRUE(HostListNames("a,b", "b"));
  EXPECT_TRUE(HostListNames("n[1-3]", "n2"));
  EXPECT_FALSE(HostListNames("n[1-3]", "n4"));
  EXPECT_TRUE(HostListNames("gpu[01-10,12]", "gpu07"));
  EXPECT_TRUE(HostListNames("gpu[01-10,12]", "gpu12"));
  EXPECT_FALSE(HostListNames("gpu[01-10]", "gpu7")) << "a zero-padded range names names of its width only";
  EXPECT_TRUE(HostListNames("n[1-10]", "n10"));
  EXPECT_TRUE(HostListNames("r[1-2]n[1-4]", "r2n3"));
  EXPECT_FALSE(HostListNames("r[1-2]n[1-4]", "r3n3"));
  EXPECT_TRUE(HostListNames("x,n[1-3]-ib", "n2-ib"));
}

TEST(GpuCounts, CountsGpusByTypeOnly) {
  using Counts = std::map<std::string, unsigned>;
  EXPECT_EQ(GpuCounts("gpu:1g.10gb:3,gpu:3g.40gb:1"), (Counts{{"1g.10gb", 3}, {"3g.40gb", 1}}));
  EXPECT_EQ(GpuCounts("gpu:1g.10gb:1,nic:2,gpu:1g.10gb:2"), (Counts{{"1g.10gb", 3}}));
  EXPECT_EQ(GpuCounts("gpu:4"), (Counts{{"", 4}}));
  EXPECT_EQ(GpuCounts("gpu:3g.40gb:2(S:0-1)"), (Counts{{"3g.40gb", 2}})) << "slurmctld's socket suffix";
  EXPECT_EQ(GpuCounts(""), Counts{});
  // sinfo's forms: GresUsed's index lists hold commas of their own; (null) is no GRES.
  EXPECT_EQ(GpuCounts("gpu:1g.10gb:2(IDX:0-1,4),gpu:3g.40gb:0(IDX:N/A),nic:2"),
            (Counts{{"1g.10gb", 2}, {"3g.40gb", 0}}));
  EXPECT_EQ(GpuCounts("(null)"), Counts{});
}

TEST(SlurmConf, FindsTheNodesOwnLineAndItsGres) {
  auto line = FindNodeLine(kSlurmConf, "n1", "slurm.conf");
  ASSERT_TRUE(line.ok()) << line.error().message;
  EXPECT_EQ(line->line, 4u);
  EXPECT_EQ(line->gres, "gpu:1g.10gb:2,gpu:3g.40gb:1");
  line = FindNodeLine(kSlurmConf, "n2", "slurm.conf");
  ASSERT_TRUE(line.ok()) << "the key in any case: " << line.error().message;
  EXPECT_EQ(line->gres, "");
}

TEST(SlurmConf, ReplacesGresKeepingEveryOtherByte) {
  auto out = SetNodeGres(kSlurmConf, "n1", "gpu:1g.10gb:7", "slurm.conf");
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string want = kSlurmConf;
  want.replace(want.find("gpu:1g.10gb:2,gpu:3g.40gb:1"), 27, "gpu:1g.10gb:7");
  EXPECT_EQ(*out, want);
}

TEST(SlurmConf, AddsGresToALineWithoutOne) {
  auto out = SetNodeGres(kSlurmConf, "n2", "gpu:3g.40gb:2", "slurm.conf");
  ASSERT_TRUE(out.ok()) << out.error().message;
  std::string want = kSlurmConf;
  want.replace(want.find("State=UNKNOWN\nNodeName=n[3-4]"), 13, "State=UNKNOWN Gres=gpu:3g.40gb:2");
  EXPECT_EQ(*out, want);
}

TEST(SlurmConf, KeepsOtherGresAfterTheGpus) {
  auto out = SetNodeGres("NodeName=n1 Gres=nic:1,gpu:a100:4,mps:100\n", "n1", "gpu:3g.40gb:2", "f");
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(*out, "NodeName=n1 Gres=gpu:3g.40gb:2,nic:1,mps:100\n");
}

TEST(SlurmConf, RefusesWhatItCannotEditAlone) {
  auto refused = [](const std::string& conf, const std::string& node, const std::string& words) {
    auto out = SetNodeGres(conf, node, "gpu:1g.10gb:1", "/etc/slurm/slurm.conf");
    ASSERT_FALSE(out.ok()) << conf;
    EXPECT_EQ(out.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(out.error().message.find(words), std::string::npos) << out.error().message;
    EXPECT_NE(out.error().message.find("/etc/slurm/slurm.conf"), std::string::npos) << out.error().message;
  };
  refused(kSlurmConf, "n3", "give n3 a NodeName line of its own");
  refused(kSlurmConf, "x", "give x a NodeName line of its own");
  refused(kSlurmConf, "n9", "is it in an Include file?");
  refused("NodeName=n1 CPUs=8 \\\n  Gres=gpu:a100:1\n", "n1", "continues with \\");
  refused("NodeName=n1 CPUs=8\nNodeName=n1 CPUs=4\n", "n1", "a second NodeName=n1 line");
}

constexpr const char* kGresConf =
    "# site header\n"
    "AutoDetect=off\n"
    "# n1: 2 GPUs written by `migctl slurm gres` from the live layout\n"
    "NodeName=n1 Name=gpu Type=1g.10gb File=/dev/a\n"
    "NodeName=n1 Name=gpu Type=3g.40gb File=/dev/b\n"
    "NodeName=n2 Name=gpu Type=3g.40gb File=/dev/c\n"
    "NodeName=n1 Name=nic File=/dev/nic0\n";

constexpr const char* kNewLines =
    "# n1: 1 GPU written by `migctl slurm gres` from the live layout\n"
    "NodeName=n1 Name=gpu Type=7g.80gb File=/dev/z\n";

TEST(GresConf, ReplacesTheNodesGpuLinesInPlace) {
  auto edit = ReplaceNodeGresLines(kGresConf, "n1", kNewLines, "gres.conf");
  ASSERT_TRUE(edit.ok()) << edit.error().message;
  EXPECT_EQ(edit->text,
            "# site header\n"
            "AutoDetect=off\n"
            "# n1: 1 GPU written by `migctl slurm gres` from the live layout\n"
            "NodeName=n1 Name=gpu Type=7g.80gb File=/dev/z\n"
            "NodeName=n2 Name=gpu Type=3g.40gb File=/dev/c\n"
            "NodeName=n1 Name=nic File=/dev/nic0\n");
  EXPECT_EQ(edit->old_lines, (std::vector<std::string>{"NodeName=n1 Name=gpu Type=1g.10gb File=/dev/a",
                                                       "NodeName=n1 Name=gpu Type=3g.40gb File=/dev/b"}));
  EXPECT_EQ(edit->new_lines, (std::vector<std::string>{"NodeName=n1 Name=gpu Type=7g.80gb File=/dev/z"}));
}

TEST(GresConf, AppendsANewNodesLinesAtTheEnd) {
  auto edit = ReplaceNodeGresLines("NodeName=n2 Name=gpu File=/dev/c", "n1", kNewLines, "gres.conf");
  ASSERT_TRUE(edit.ok()) << edit.error().message;
  EXPECT_EQ(edit->text, std::string("NodeName=n2 Name=gpu File=/dev/c\n") + kNewLines);
  EXPECT_TRUE(edit->old_lines.empty());
  edit = ReplaceNodeGresLines("", "n1", kNewLines, "gres.conf");
  ASSERT_TRUE(edit.ok());
  EXPECT_EQ(edit->text, kNewLines);
}

TEST(GresConf, RefusesLinesThatDecideForThisNodeToo) {
  auto refused = [](const std::string& conf, const std::string& words) {
    auto edit = ReplaceNodeGresLines(conf, "n1", kNewLines, "/etc/slurm/gres.conf");
    ASSERT_FALSE(edit.ok()) << conf;
    EXPECT_EQ(edit.error().code, ErrorCode::kInvalidInput);
    EXPECT_NE(edit.error().message.find(words), std::string::npos) << edit.error().message;
    EXPECT_NE(edit.error().message.find("/etc/slurm/gres.conf line"), std::string::npos)
        << edit.error().message;
  };
  refused("Name=gpu File=/dev/nvidia0\n", "applies to every node");
  refused("NodeName=n[1-2] Name=gpu File=/dev/nvidia0\n", "give n1 lines of its own");
  refused("AutoDetect=nvml\n", "AutoDetect=nvml applies to n1");
  refused("NodeName=n[1-4] AutoDetect=nvml\n", "AutoDetect=nvml applies to n1");
  refused("NodeName=n1 Name=gpu \\\n File=/dev/a\n", "continues with \\");
  auto other = ReplaceNodeGresLines("NodeName=n2 AutoDetect=nvml\n", "n1", kNewLines, "gres.conf");
  EXPECT_TRUE(other.ok()) << "another node's AutoDetect is its own business";
}

TEST(Classify, CountsDecideTheRestart) {
  const std::vector<std::string> a{"NodeName=n1 Name=gpu Type=1g.10gb File=/dev/a"};
  const std::vector<std::string> b{"NodeName=n1 Name=gpu Type=1g.10gb File=/dev/b"};
  EXPECT_EQ(ClassifyChange("gpu:1g.10gb:1", "gpu:1g.10gb:1", a, a), GresChange::kInSync);
  EXPECT_EQ(ClassifyChange("gpu:1g.10gb:1,nic:1", "gpu:1g.10gb:1", a, a), GresChange::kInSync);
  EXPECT_EQ(ClassifyChange("gpu:1g.10gb:1", "gpu:1g.10gb:1", a, b), GresChange::kSameCounts);
  EXPECT_EQ(ClassifyChange("gpu:1g.10gb:1", "gpu:1g.10gb:2", a, b), GresChange::kCountsChanged);
  EXPECT_EQ(ClassifyChange("gpu:1g.10gb:1", "gpu:2g.20gb:1", a, b), GresChange::kCountsChanged);
  EXPECT_STREQ(GresChangeName(GresChange::kSameCounts), "same_counts");
}

}  // namespace
}  // namespace migctl::slurm
