#include "reconcile/hooks.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/fake_process_host.h"
#include "common/temp_dir.h"

namespace migctl {
namespace {

using namespace std::chrono_literals;
using spec::HookPoint;

::testing::AssertionResult Contains(const std::string& text, std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << text << "' does not contain '" << part << "'";
}

/// The test's directory, and what the hooks wrote in it.
class HookDir : public TempDir {
 public:
  HookDir() : TempDir("hooks_test") {}
  std::string Read(const std::string& name) const {
    std::ifstream in(File(name));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

spec::HooksFile Parse(const std::string& text) {
  Result<spec::HooksFile> file = spec::ParseHooksFile(text, "hooks.yaml");
  EXPECT_TRUE(file.ok()) << file.error().message;
  return file.ok() ? std::move(file).value() : spec::HooksFile{};
}

std::map<std::string, std::string> Variables() {
  return ApplyHookVariables({"/etc/migctl/mig.yaml", "custom", "/etc/migctl/hooks.yaml", false, true});
}

HookRunOptions Options(std::chrono::milliseconds timeout = 10s, std::chrono::milliseconds grace = 1s) {
  HookRunOptions options;
  options.timeout = timeout;
  options.grace = grace;
  options.path = "/usr/bin:/bin";
  options.only_root_files = false;  // The tests below that want it turn it on.
  return options;
}

TEST(ApplyHookVariables, CarriesMigPartedsNamesAndOurs) {
  std::map<std::string, std::string> v = Variables();
  EXPECT_EQ(v.at("MIG_PARTED_CONFIG_FILE"), "/etc/migctl/mig.yaml");
  EXPECT_EQ(v.at("MIG_PARTED_SELECTED_CONFIG"), "custom");
  EXPECT_EQ(v.at("MIG_PARTED_HOOKS_FILE"), "/etc/migctl/hooks.yaml");
  EXPECT_EQ(v.at("MIG_PARTED_SKIP_RESET"), "false");
  EXPECT_EQ(v.at("MIG_PARTED_MODE_CHANGE_ONLY"), "true");
  EXPECT_EQ(v.at("MIGCTL_CONFIG_FILE"), "/etc/migctl/mig.yaml");
  EXPECT_EQ(v.at("MIGCTL_SELECTED_CONFIG"), "custom");
  EXPECT_EQ(v.at("MIGCTL_HOOKS_FILE"), "/etc/migctl/hooks.yaml");
  EXPECT_EQ(v.at("MIGCTL_SKIP_RESET"), "false");
  EXPECT_EQ(v.at("MIGCTL_MODE_ONLY"), "true");
  EXPECT_EQ(v.size(), 10u);
}

TEST(HookRunner, ChildGetsArgvAndAnEnvironmentWhereTheApplyWins) {
  spec::HooksFile file = Parse(R"(version: v1
hooks:
  pre-apply-config:
  - command: /usr/bin/systemctl
    args: [stop, kubelet.service]
    workdir: /etc
    envs: {PATH: /opt/bin, FOO: from-hook, MIG_PARTED_SELECTED_CONFIG: from-hook}
)");
  FakeProcessHost host;
  ChildOptions seen;
  host.Script("/usr/bin/systemctl", [&](pid_t, const ChildOptions& options) {
    seen = options;
    return FakeProgram{};
  });
  HookRunner runner(file, Variables(), host, Options(42s, 3s));
  ASSERT_TRUE(runner.Run(HookPoint::kPreApplyConfig).ok());
  ASSERT_EQ(host.starts().size(), 1u);
  EXPECT_EQ(seen.argv, (std::vector<std::string>{"/usr/bin/systemctl", "stop", "kubelet.service"}));
  EXPECT_EQ(seen.workdir, "/etc");
  EXPECT_EQ(seen.env, (std::vector<std::string>{
                          "FOO=from-hook",
                          "MIGCTL_CONFIG_FILE=/etc/migctl/mig.yaml",
                          "MIGCTL_HOOK=pre-apply-config",
                          "MIGCTL_HOOKS_FILE=/etc/migctl/hooks.yaml",
                          "MIGCTL_MODE_ONLY=true",
                          "MIGCTL_SELECTED_CONFIG=custom",
                          "MIGCTL_SKIP_RESET=false",
                          "MIG_PARTED_CONFIG_FILE=/etc/migctl/mig.yaml",
                          "MIG_PARTED_HOOKS_FILE=/etc/migctl/hooks.yaml",
                          "MIG_PARTED_MODE_CHANGE_ONLY=true",
                          "MIG_PARTED_SELECTED_CONFIG=custom",
                          "MIG_PARTED_SKIP_RESET=false",
                          "PATH=/opt/bin",
                      }));
  // stdin /dev/null, stdout and stderr to migctl's stderr, in migctl's process group, nothing inherited.
  EXPECT_EQ(seen.stdin_fd, -1);
  EXPECT_EQ(seen.stdout_fd, STDERR_FILENO);
  EXPECT_EQ(seen.stderr_fd, -1);
  EXPECT_FALSE(seen.own_process_group);
  EXPECT_FALSE(seen.die_with_parent);
  EXPECT_TRUE(seen.inherit_fds.empty());
}

TEST(HookRunner, PointWithoutCommandsRunsNothing) {
  spec::HooksFile file = Parse("version: v1\nhooks:\n  apply-start:\n  - command: /bin/true\n");
  FakeProcessHost host;
  HookRunner runner(file, Variables(), host, Options());
  EXPECT_TRUE(runner.Run(HookPoint::kApplyExit).ok());
  EXPECT_TRUE(host.starts().empty());
}

TEST(HookRunner, RealChildrenRunInOrderWithOnlyTheEnvironmentWeBuild) {
  HookDir dir;
  setenv("MIGCTL_TEST_MUST_NOT_LEAK", "1", 1);
  spec::HooksFile file = Parse(fmt::format(R"(version: v1
hooks:
  apply-start:
  - command: /bin/sh
    args: [-c, 'env | sort > "$OUT/env"; echo one >> "$OUT/order"']
    envs: {{OUT: '{0}'}}
  - command: sh
    args: [-c, 'echo two >> "$OUT/order"']
    envs: {{OUT: '{0}'}}
)",
                                           dir.path()));
  HookRunner runner(file, Variables(), RealProcessHost(), Options());
  Status status = runner.Run(HookPoint::kApplyStart);
  unsetenv("MIGCTL_TEST_MUST_NOT_LEAK");
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(dir.Read("order"), "one\ntwo\n");
  std::string env = dir.Read("env");
  EXPECT_TRUE(Contains(env, "\nPATH=/usr/bin:/bin\n"));
  EXPECT_TRUE(Contains(env, "MIG_PARTED_SELECTED_CONFIG=custom\n"));
  EXPECT_TRUE(Contains(env, "MIGCTL_HOOK=apply-start\n"));
  EXPECT_TRUE(Contains(env, fmt::format("OUT={}\n", dir.path())));
  EXPECT_EQ(env.find("MIGCTL_TEST_MUST_NOT_LEAK"), std::string::npos) << env;
  EXPECT_EQ(env.find("HOME="), std::string::npos) << env;
}

TEST(HookRunner, FirstFailureStopsTheListAndNamesHookCommandAndStatus) {
  HookDir dir;
  spec::HooksFile file = Parse(fmt::format(R"(version: v1
hooks:
  pre-apply-mode:
  - command: /bin/sh
    args: [-c, 'exit 3']
  - command: /bin/sh
    args: [-c, 'touch "{}/ran"']
)",
                                           dir.path()));
  HookRunner runner(file, Variables(), RealProcessHost(), Options());
  Status status = runner.Run(HookPoint::kPreApplyMode);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_TRUE(Contains(status.error().message,
                       "hook pre-apply-mode (hooks.yaml:4:5) '/bin/sh -c exit 3' failed: exit status 3"));
  EXPECT_FALSE(std::filesystem::exists(dir.File("ran")));
}

TEST(HookRunner, ReportsASignal) {
  spec::HooksFile file = Parse("hooks:\n  apply-exit:\n  - {command: /bin/sh, args: [-c, 'kill -9 $$']}\n");
  HookRunner runner(file, Variables(), RealProcessHost(), Options());
  Status status = runner.Run(HookPoint::kApplyExit);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.error().message, "failed: killed by SIGKILL"));
}

TEST(HookRunner, RunsInWorkdirWhereARelativeProgramIsFound) {
  HookDir dir;
  std::ofstream(dir.File("script.sh")) << "#!/bin/sh\npwd > out\n";
  std::filesystem::permissions(dir.File("script.sh"), std::filesystem::perms::owner_all);
  spec::HooksFile file =
      Parse(fmt::format("hooks:\n  apply-start:\n  - {{command: ./script.sh, workdir: '{}'}}\n", dir.path()));
  HookRunner runner(file, Variables(), RealProcessHost(), Options());
  Status status = runner.Run(HookPoint::kApplyStart);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(dir.Read("out"), dir.path() + "\n");
}

TEST(HookRunner, MissingProgramOrWorkdirIsNotFound) {
  struct Case {
    std::string yaml;
    std::string says;
  };
  for (const Case& c : {
           Case{"{command: /nonexistent/prog}", "program /nonexistent/prog not found"},
           Case{"{command: no-such-program-migctl}", "program no-such-program-migctl not found in PATH"},
           Case{"{command: /bin/true, workdir: /nonexistent/dir}",
                "working directory /nonexistent/dir does not exist"},
       }) {
    spec::HooksFile file = Parse("hooks:\n  apply-start:\n  - " + c.yaml + "\n");
    HookRunner runner(file, Variables(), RealProcessHost(), Options());
    Status status = runner.Run(HookPoint::kApplyStart);
    ASSERT_FALSE(status.ok()) << c.yaml;
    EXPECT_EQ(status.error().code, ErrorCode::kNotFound) << c.yaml;
    EXPECT_TRUE(Contains(status.error().message, "hook apply-start (hooks.yaml:3:5)"));
    EXPECT_TRUE(Contains(status.error().message, c.says));
  }
}

TEST(HookRunner, HungHookIsStoppedWithSigtermThenSigkillAfterItsOwnTimeout) {
  spec::HooksFile file = Parse("hooks:\n  apply-start:\n  - {command: slow}\n  - {command: hung}\n");
  for (bool ignores_sigterm : {false, true}) {
    FakeProcessHost host;
    const auto t0 = host.epoch();
    host.Script("slow", FakeProgram{.runs_for = 5s});
    host.Script("hung", FakeProgram{.runs_for = FakeProgram::kForever, .ignores_sigterm = ignores_sigterm});
    HookRunner runner(file, Variables(), host, Options(42s, 3s));
    Status status = runner.Run(HookPoint::kApplyStart);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kIo);
    EXPECT_TRUE(Contains(status.error().message,
                         fmt::format("hook apply-start (hooks.yaml:4:5) 'hung' did not finish within 42 s: "
                                     "timed out, stopped by {}",
                                     ignores_sigterm ? "SIGKILL" : "SIGTERM")));
    ASSERT_EQ(host.StartsOf("hung").size(), 1u);
    EXPECT_EQ(host.StartsOf("hung")[0].at, t0 + 5s) << "after the first hook";
    // The timeout counts from the hook's own start; the grace from the SIGTERM.
    ASSERT_EQ(host.signals().size(), ignores_sigterm ? 2u : 1u);
    EXPECT_EQ(host.signals()[0].signal, SIGTERM);
    EXPECT_EQ(host.signals()[0].at, t0 + 47s);
    if (ignores_sigterm) {
      EXPECT_EQ(host.signals()[1].signal, SIGKILL);
      EXPECT_EQ(host.signals()[1].at, t0 + 50s);
    }
  }
}

TEST(HookRunner, OutputGoesToStderrStdinIsEmptyAndOurDescriptorsAreClosed) {
  HookDir dir;
  int leaked =
      ::open(dir.File("lock").c_str(), O_CREAT | O_RDWR, 0600);  // no O_CLOEXEC, like a careless lock
  ASSERT_GE(leaked, 0);
  ASSERT_EQ(::dup2(leaked, 50), 50);
  spec::HooksFile file = Parse(R"(hooks:
  apply-exit:
  - command: /bin/sh
    args: [-c, 'echo to-stdout; echo to-stderr >&2; if read line; then exit 7; fi; test ! -e /proc/self/fd/50']
)");
  HookRunner runner(file, Variables(), RealProcessHost(), Options());
  std::fflush(stdout);
  std::fflush(stderr);
  int saved_out = ::dup(1), saved_err = ::dup(2);
  int out = ::open(dir.File("stdout").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  int err = ::open(dir.File("stderr").c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ::dup2(out, 1);
  ::dup2(err, 2);
  Status status = runner.Run(HookPoint::kApplyExit);
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  for (int fd : {saved_out, saved_err, out, err, leaked, 50}) ::close(fd);
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(dir.Read("stdout"), "");
  EXPECT_EQ(dir.Read("stderr"), "to-stdout\nto-stderr\n");
}

}  // namespace
}  // namespace migctl

namespace migctl {
namespace {

/// As root: a hooks file in a private directory whose hooks run `program` (written there) with `args`.
class RootHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the ownership checks need root (CI runs as root)";
    host_.Script("true", FakeProgram{});
  }
  void Write(const std::string& name, const std::string& text, std::filesystem::perms perms) {
    std::ofstream(dir_.File(name)) << text;
    std::filesystem::permissions(dir_.File(name), perms);
  }
  /// Runs apply-start of `yaml` (written as hooks.yaml) with the check on; what it started is in `host_`.
  Status RunHooks(const std::string& yaml, const std::string& path = "/usr/bin:/bin") {
    Write("hooks.yaml", yaml, std::filesystem::perms(0644));
    Result<spec::HooksFile> file = spec::LoadHooksFile(dir_.File("hooks.yaml"));
    EXPECT_TRUE(file.ok()) << file.error().message;
    if (!file.ok()) return file.error();
    file_ = std::move(file).value();
    HookRunOptions options = Options();
    options.only_root_files = true;
    options.path = path;
    starts_before_ = host_.starts().size();
    HookRunner runner(file_, Variables(), host_, options);
    return runner.Run(HookPoint::kApplyStart);
  }
  void ExpectRefused(const Status& status, const std::vector<std::string>& parts) {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidInput);
    for (const std::string& part : parts) EXPECT_TRUE(Contains(status.error().message, part));
    EXPECT_EQ(status.error().message.find('\n'), std::string::npos);
    EXPECT_EQ(host_.starts().size(), starts_before_) << "nothing may run once a file is refused";
  }

  HookDir dir_;
  spec::HooksFile file_;
  FakeProcessHost host_;
  std::size_t starts_before_ = 0;
};

constexpr auto kExecutable = std::filesystem::perms(0755);

TEST_F(RootHooks, FilesOnlyRootCanChangeRun) {
  Write("hook.sh", "#!/bin/sh\n", kExecutable);
  Write("data", "x", std::filesystem::perms(0644));
  host_.Script(dir_.File("hook.sh"), FakeProgram{});
  Status status =
      RunHooks(fmt::format("hooks:\n  apply-start:\n  - {{command: {}, args: [{}]}}\n  - {{command: "
                           "true}}\n",
                           dir_.File("hook.sh"), dir_.File("data")));
  ASSERT_TRUE(status.ok()) << status.error().message;
  EXPECT_EQ(host_.starts().size(), 2u);
}

TEST_F(RootHooks, HooksWritableByOthersAreRefusedAsRoot) {
  // The hooks file itself, writable by everyone.
  std::ofstream(dir_.File("hooks.yaml")) << "";
  Status status = RunHooks("hooks:\n  apply-start:\n  - {command: true}\n");
  ASSERT_TRUE(status.ok()) << status.error().message;
  std::filesystem::permissions(dir_.File("hooks.yaml"), std::filesystem::perms(0666));
  HookRunOptions options = Options();
  options.only_root_files = true;
  starts_before_ = host_.starts().size();
  ExpectRefused(HookRunner(file_, Variables(), host_, options).Run(HookPoint::kApplyExit),
                {"hooks file " + dir_.File("hooks.yaml"), "everyone (mode 0666)",
                 "chmod go-w " + dir_.File("hooks.yaml")});
}

TEST_F(RootHooks, ProgramWritableByOthersIsRefused) {
  Write("hook.sh", "#!/bin/sh\n", std::filesystem::perms(0777));
  ExpectRefused(
      RunHooks(fmt::format("hooks:\n  pre-apply-config:\n  - {{command: {}}}\n", dir_.File("hook.sh"))),
      {"hook pre-apply-config (" + dir_.File("hooks.yaml") + ":3:5) program", dir_.File("hook.sh"),
       "everyone (mode 0777)"});
}

TEST_F(RootHooks, ProgramOfAnotherUserOrInTheirDirectoryIsRefused) {
  Write("hook.sh", "#!/bin/sh\n", kExecutable);
  ASSERT_EQ(::chown(dir_.File("hook.sh").c_str(), 65534, 65534), 0);
  ExpectRefused(RunHooks(fmt::format("hooks:\n  apply-start:\n  - {{command: {}}}\n", dir_.File("hook.sh"))),
                {"writable by uid 65534 (its owner)", "chown root " + dir_.File("hook.sh")});
  std::filesystem::create_directory(dir_.File("theirs"));
  Write("theirs/hook.sh", "#!/bin/sh\n", kExecutable);
  ASSERT_EQ(::chown(dir_.File("theirs").c_str(), 65534, 65534), 0);
  ExpectRefused(
      RunHooks(fmt::format("hooks:\n  apply-start:\n  - {{command: {}}}\n", dir_.File("theirs/hook.sh"))),
      {dir_.File("theirs") + " is writable by uid 65534 (its owner)"});
}

TEST_F(RootHooks, WritableDirectoryEarlierInPathIsRefused) {
  // `true` is found in /usr/bin, but anyone could drop a `true` into the open directory searched first.
  std::filesystem::create_directory(dir_.File("open"));
  std::filesystem::permissions(dir_.File("open"), std::filesystem::perms(0777));
  ExpectRefused(
      RunHooks("hooks:\n  apply-start:\n  - {command: true}\n", dir_.File("open") + ":/usr/bin:/bin"),
      {"PATH directory", dir_.File("open") + " is writable by", "everyone (mode 0777)"});
}

TEST_F(RootHooks, ScriptArgumentAndInterpreterWritableByOthersAreRefused) {
  Write("script.sh", "echo hi\n", std::filesystem::perms(0646));
  ExpectRefused(RunHooks(fmt::format("hooks:\n  apply-start:\n  - {{command: /bin/sh, args: [{}]}}\n",
                                     dir_.File("script.sh"))),
                {"argument", dir_.File("script.sh") + " is writable by everyone (mode 0646)"});
  Write("interp", "#!/bin/sh\n", std::filesystem::perms(0777));
  Write("hook", fmt::format("#!{} -e\n", dir_.File("interp")), kExecutable);
  ExpectRefused(RunHooks(fmt::format("hooks:\n  apply-start:\n  - {{command: {}}}\n", dir_.File("hook"))),
                {"interpreter", dir_.File("interp") + " is writable by", "everyone"});
}

}  // namespace
}  // namespace migctl
