#include "spec/hooks_file.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace migctl::spec {
namespace {

/// Passes when `part` occurs in `text`; the failure shows both.
::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

Result<HooksFile> Parse(std::string_view text) { return ParseHooksFile(text, "hooks.yaml"); }

std::string ErrorOf(std::string_view text) {
  Result<HooksFile> r = Parse(text);
  EXPECT_FALSE(r.ok()) << text;
  if (r.ok()) return "";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidInput);
  return r.error().message;
}

// mig-parted's deployments/systemd/hooks-default.yaml, shape for shape.
TEST(HooksFile, ReadsMigPartedsShippedHooks) {
  Result<HooksFile> r = Parse(R"(version: v1
hooks:
    apply-start:
    - workdir: "/etc/nvidia-mig-manager"
      command: "/bin/bash"
      args: ["-x", "-c", "source hooks.sh; persist-config ${MIG_PARTED_SELECTED_CONFIG}"]
    pre-apply-mode:
    - workdir: "/etc/nvidia-mig-manager"
      command: "/bin/bash"
      args: ["-x", "-c", "source hooks.sh; stop-services"]
    - workdir: "/etc/nvidia-mig-manager"
      command: "/bin/bash"
      args: ["-x", "-c", "source hooks.sh; stop_driver_services"]
    apply-exit:
    - command: /bin/true
      envs:
        FOO: bar
        NUMBER: 1
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->warnings.empty());
  ASSERT_EQ(r->at(HookPoint::kApplyStart).size(), 1u);
  const HookCommand& start = r->at(HookPoint::kApplyStart)[0];
  EXPECT_EQ(start.command, "/bin/bash");
  EXPECT_EQ(start.workdir, "/etc/nvidia-mig-manager");
  ASSERT_EQ(start.args.size(), 3u);
  EXPECT_EQ(start.args[2], "source hooks.sh; persist-config ${MIG_PARTED_SELECTED_CONFIG}");
  EXPECT_EQ(start.pos.line, 4u);
  EXPECT_EQ(start.pos.column, 7u);
  ASSERT_EQ(r->at(HookPoint::kPreApplyMode).size(), 2u);
  EXPECT_EQ(r->at(HookPoint::kPreApplyMode)[1].args[2], "source hooks.sh; stop_driver_services");
  EXPECT_TRUE(r->at(HookPoint::kPreApplyConfig).empty());
  const HookCommand& exit = r->at(HookPoint::kApplyExit).at(0);
  EXPECT_EQ(exit.envs.at("FOO"), "bar");
  EXPECT_EQ(exit.envs.at("NUMBER"), "1");  // Go's decoding turns the number into a string; so do we.
}

TEST(HooksFile, EmptyFileAndNullsMeanNoHooks) {
  for (std::string_view text :
       {"", "version: v1\n", "version: v1\nhooks:\n", "version: v1\nhooks: {apply-start: ~}\n"}) {
    Result<HooksFile> r = Parse(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    for (HookPoint p : kHookPoints) EXPECT_TRUE(r->at(p).empty()) << text;
  }
}

TEST(HooksFile, AcceptsWhatGoDecodingAcceptsKeysInAnyCaseScalarsAsStrings) {
  Result<HooksFile> r =
      Parse("Version: v1\nHooks:\n  apply-exit:\n  - Command: echo\n    ARGS: [1, true, ~]\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const HookCommand& c = r->at(HookPoint::kApplyExit).at(0);
  EXPECT_EQ(c.command, "echo");
  EXPECT_EQ(c.args, (std::vector<std::string>{"1", "true", ""}));
}

TEST(HooksFile, WarnsAboutWhatMigPartedIgnoresSilently) {
  Result<HooksFile> r = Parse(R"(hooks:
  Apply-Start:
  - command: /bin/true
  post-apply:
  - command: /bin/true
  apply-exit:
  - command: /bin/true
    env: {FOO: bar}
)");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->at(HookPoint::kApplyStart).empty());
  ASSERT_EQ(r->at(HookPoint::kApplyExit).size(), 1u);
  EXPECT_TRUE(r->at(HookPoint::kApplyExit)[0].envs.empty());
  ASSERT_EQ(r->warnings.size(), 4u);
  EXPECT_TRUE(Contains(r->warnings[0], "hooks.yaml:1:1: no 'version'"));
  EXPECT_TRUE(Contains(r->warnings[1],
                       "hooks.yaml:2:3: unknown hook 'Apply-Start' is never run (did you "
                       "mean 'apply-start'?)"));
  EXPECT_TRUE(Contains(r->warnings[2], "hooks.yaml:4:3: unknown hook 'post-apply'"));
  EXPECT_TRUE(Contains(r->warnings[3], "hooks.yaml:8:5: unknown key 'env' ignored"));
}

TEST(HooksFile, ErrorsPointAtTheProblem) {
  EXPECT_TRUE(Contains(ErrorOf("version: v1\nhooks: [a]\n"), "hooks.yaml:2:8: 'hooks' must be a mapping"));
  EXPECT_TRUE(Contains(ErrorOf("version: v2\n"), "hooks.yaml:1:10: unknown hooks file version 'v2'"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n    command: x\n"),
                       "hooks.yaml:3:5: hook 'apply-start' must be a list of commands"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n  - args: [a]\n"),
                       "hooks.yaml:3:5: a command of hook 'apply-start' has no 'command'"));
  EXPECT_TRUE(
      Contains(ErrorOf("hooks:\n  apply-start:\n  - command: ''\n"), "hooks.yaml:3:14: 'command' is empty"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n  - command: x\n    args: -c\n"),
                       "hooks.yaml:4:11: 'args' must be a list of strings"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n  - command: x\n    args: [[a]]\n"),
                       "hooks.yaml:4:12: each of 'args' must be a string"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n  - command: x\n    envs: [FOO=bar]\n"),
                       "hooks.yaml:4:11: 'envs' must be a mapping NAME: value"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-start:\n  - command: x\n    envs: {'A=B': c}\n"),
                       "hooks.yaml:4:12: environment variable name 'A=B' is empty or contains '='"));
  EXPECT_TRUE(Contains(ErrorOf("hooks:\n  apply-exit: []\n  apply-exit: []\n"),
                       "hooks.yaml:3:3: hook 'apply-exit' is defined twice (first at line 2)"));
  EXPECT_TRUE(Contains(ErrorOf("hooks: {apply-start: [\n"), "hooks.yaml:"));
  EXPECT_TRUE(Contains(ErrorOf("- a\n- b\n"), "hooks.yaml:1:1: a hooks file is a mapping"));
}

TEST(HooksFile, LoadSaysWhenTheFileIsMissing) {
  Result<HooksFile> missing = LoadHooksFile("/nonexistent/hooks.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(missing.error().message, "/nonexistent/hooks.yaml"));

  char dir[] = "/tmp/hooks_file_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/hooks.yaml";
  std::ofstream(path) << "version: v1\nhooks:\n  apply-exit:\n  - command: /bin/true\n";
  Result<HooksFile> loaded = LoadHooksFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->path, path);
  EXPECT_EQ(loaded->at(HookPoint::kApplyExit).size(), 1u);
  std::remove(path.c_str());
  rmdir(dir);
}

TEST(HooksFile, PointNamesAreMigParteds) {
  EXPECT_STREQ(HookPointName(HookPoint::kApplyStart), "apply-start");
  EXPECT_STREQ(HookPointName(HookPoint::kPreApplyMode), "pre-apply-mode");
  EXPECT_STREQ(HookPointName(HookPoint::kPreApplyConfig), "pre-apply-config");
  EXPECT_STREQ(HookPointName(HookPoint::kApplyExit), "apply-exit");
}

}  // namespace
}  // namespace migctl::spec
