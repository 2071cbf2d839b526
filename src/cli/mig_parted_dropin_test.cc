#include "cli/mig_parted_dropin.h"

#include <map>

#include <gtest/gtest.h>

namespace migctl {
namespace {

std::optional<MigPartedCall> Call(std::vector<std::string> argv,
                                  std::map<std::string, std::string> env = {}) {
  return MigPartedInvocation(argv, [&](const char* name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(MigPartedDropIn, OnlyUnderItsNameOrAsASubcommand) {
  EXPECT_FALSE(Call({"migctl", "apply", "-f", "x"}).has_value());
  EXPECT_FALSE(Call({"/usr/bin/migctl"}).has_value());
  auto symlinked = Call({"/usr/local/bin/nvidia-mig-parted", "apply", "-f", "c.yaml", "-c", "all-3g.40gb"});
  ASSERT_TRUE(symlinked.has_value());
  EXPECT_EQ(symlinked->args, (std::vector<std::string>{"apply", "-f", "c.yaml", "-c", "all-3g.40gb"}));
  EXPECT_TRUE(symlinked->apply);
  auto sub = Call({"migctl", "mig-parted", "export", "-o", "json"});
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->args, (std::vector<std::string>{"export", "-o", "json"}));
  EXPECT_FALSE(sub->apply);
}

TEST(MigPartedDropIn, TheGlobalDebugFlagAndMigManagersEnvironment) {
  // mig-manager: `nvidia-mig-parted -d apply --mode-only`, with the config and label in the environment.
  auto apply = Call({"nvidia-mig-parted", "-d", "apply", "--mode-only"});
  ASSERT_TRUE(apply.has_value());
  EXPECT_EQ(apply->args, (std::vector<std::string>{"apply", "--mode-only"}));
  auto from_env = Call({"nvidia-mig-parted", "--debug", "assert"},
                       {{"MIG_PARTED_MODE_CHANGE_ONLY", "true"}, {"MIG_PARTED_VALID_CONFIG", "1"}});
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(from_env->args, (std::vector<std::string>{"assert", "--mode-only", "--valid-config"}));
  auto off = Call({"nvidia-mig-parted", "assert"}, {{"MIG_PARTED_MODE_CHANGE_ONLY", "false"}});
  EXPECT_EQ(off->args, (std::vector<std::string>{"assert"}));
  auto given = Call({"nvidia-mig-parted", "apply", "-m"}, {{"MIG_PARTED_MODE_CHANGE_ONLY", "true"}});
  EXPECT_EQ(given->args, (std::vector<std::string>{"apply", "-m"})) << "not twice";
}

TEST(MigPartedDropIn, VersionHelpAndCommandsItDoesNotTake) {
  EXPECT_NE(Call({"nvidia-mig-parted", "version"})->print.find("migctl"), std::string::npos);
  EXPECT_NE(Call({"nvidia-mig-parted"})->print.find("apply"), std::string::npos);
  auto generate = Call({"nvidia-mig-parted", "generate-config"});
  EXPECT_TRUE(generate->args.empty());
  EXPECT_NE(generate->error.find("generate-config"), std::string::npos);
  auto other = Call({"nvidia-mig-parted", "status"});
  EXPECT_NE(other->error.find("'status'"), std::string::npos) << "migctl's own commands stay under migctl";
}

TEST(MigPartedDropIn, EveryFailureIsExitOne) {
  EXPECT_EQ(MigPartedExitCode(0), 0);
  EXPECT_EQ(MigPartedExitCode(1), 1);
  EXPECT_EQ(MigPartedExitCode(2), 1);
  EXPECT_EQ(MigPartedExitCode(3), 1);
}

}  // namespace
}  // namespace migctl
