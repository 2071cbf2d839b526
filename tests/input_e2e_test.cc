// End-to-end tests of bad input (issue 10): whatever a user or a file gives migctl, it answers with one line
// and the exit code of the table (2 for bad input, 1 for a failure), never a crash, and changes nothing: the
// simulated machine's state file is byte-identical afterwards.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_harness.h"

namespace {

class InputE2e : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    InitMachine("a100-80gb:2");
    before_ = ReadFile(state_);
  }
  /// The machine is exactly as it was before the test's bad input.
  void ExpectUnchanged() { EXPECT_EQ(ReadFile(state_), before_) << "the state file changed"; }
  /// `migctl --sim STATE --json ARGS` fails with `exit_code` in one line holding `names`, changing nothing.
  void ExpectRefused(const Args& args, int exit_code, const std::vector<std::string>& names = {}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    ExpectOneLineError(Migctl(args), exit_code, names);
    ExpectUnchanged();
  }
  /// A mig-parted config with one layout, `off`, that turns MIG off everywhere.
  std::string ConfigFile() {
    const std::string path = (dir_ / "config.yaml").string();
    WriteFile(path, "version: v1\nmig-configs:\n  off:\n    - devices: all\n      mig-enabled: false\n");
    return path;
  }

  std::string before_;
};

// ---------------------------------------------------------------------------------------------------------------
// Defect 1: the state loader trusts nothing.

void EditState(const std::string& path, const std::function<void(Json&)>& edit) {
  Json state = Json::parse(ReadFile(path));
  edit(state);
  WriteFile(path, state.dump());
}

TEST_F(InputE2e, RegressionStateWithGiOfSizeZeroIsRefusedInOneLineNamingFileGpuAndField) {
  EditState(state_, [](Json& s) {
    s["gpus"][0]["mig_mode"] = {{"current", 1}, {"pending", 1}};
    s["gpus"][0]["gpu_instances"] =
        Json::parse(R"([{"id": 3, "profile_id": 19, "start": 2, "size": 0, "compute_instances": []}])");
  });
  const std::string bad = ReadFile(state_);
  for (const Args& args :
       {Args{"--sim", state_, "--json", "status"}, Args{"--json", "sim", "show", state_}}) {
    Outcome o = RunRaw(args);
    ExpectOneLineError(o, kExitFailed,
                       {state_ + ": GPU 0: GI 3 at start 2 size 0: a placement needs a size of 1 or more"});
    EXPECT_LT(o.out.size() + o.err.size(), 2000u);
  }
  EXPECT_EQ(ReadFile(state_), bad);
}

TEST_F(InputE2e, RegressionStateWithOverlapNegativeStartDuplicateUuidOrMigMode7IsRefused) {
  const std::vector<std::pair<std::function<void(Json&)>, std::string>> cases = {
      {[](Json& s) { s["gpus"][1]["uuid"] = s["gpus"][0]["uuid"]; }, "GPU 1: uuid"},
      {[](Json& s) { s["gpus"][0]["mig_mode"]["current"] = 7; }, "GPU 0: mig_mode current is 7"},
      {[](Json& s) {
         s["gpus"][0]["mig_mode"] = {{"current", 1}, {"pending", 1}};
         s["gpus"][0]["gpu_instances"] =
             Json::parse(R"([{"id": 1, "profile_id": 19, "start": -1, "size": 1, "compute_instances": []}])");
       },
       "GPU 0: GI 1: 'start' is -1"},
      {[](Json& s) {
         s["gpus"][0]["mig_mode"] = {{"current", 1}, {"pending", 1}};
         s["gpus"][0]["gpu_instances"] = Json::parse(
             R"([{"id": 1, "profile_id": 9, "start": 4, "size": 4, "compute_instances": []},
                 {"id": 2, "profile_id": 19, "start": 5, "size": 1, "compute_instances": []}])");
       },
       "GPU 0: GI 2 at start 5 size 1: it overlaps GI 1"},
  };
  const std::string good = ReadFile(state_);
  for (const auto& [edit, needle] : cases) {
    WriteFile(state_, good);
    EditState(state_, edit);
    const std::string bad = ReadFile(state_);
    ExpectOneLineError(Migctl({"status"}), kExitFailed, {state_, needle});
    EXPECT_EQ(ReadFile(state_), bad);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Defect 2: /dev/zero is refused at the read cap, for every reader.

TEST_F(InputE2e, RegressionDevZeroAsAnyInputFileIsRefusedWithExit2) {
  const std::string config = ConfigFile();
  const std::vector<Args> cases = {
      {"restore", "/dev/zero"},
      {"run", "--resume", "/dev/zero", "--dry-run", "--", "true"},
      {"run", "--tasks", "/dev/zero", "--dry-run"},
      {"plan", "--fleet", "a100-80gb:1", "--need-file", "/dev/zero"},
      {"apply", "-f", config, "-c", "off", "--hooks", "/dev/zero"},
      {"sim", "show", "/dev/zero"},
  };
  for (const Args& args : cases) ExpectRefused(args, kExitUsage, {"/dev/zero"});
  ExpectOneLineError(RunRaw({"--sim", "/dev/zero", "--json", "status"}), kExitUsage, {"/dev/zero"});
  EXPECT_FALSE(fs::exists("/dev/zero.lock")) << "a bad --sim path must not get a lock file";
  ExpectUnchanged();
}

TEST_F(InputE2e, RegressionDevZeroOnStdinForTasksIsRefusedWithExit2) {
  Outcome o = Start("/bin/sh", {"-c", std::string(MIGCTL_BINARY) + " --sim '" + state_ +
                                          "' --json run --tasks - --dry-run < /dev/zero"})
                  .Wait();
  ExpectOneLineError(o, kExitUsage, {"stdin"});
  ExpectUnchanged();
}

// ---------------------------------------------------------------------------------------------------------------
// Defect 3: numbers no one could mean.

TEST_F(InputE2e, RegressionNonsenseSecondsSeedAndPidAreRefusedWithExit2) {
  const std::string config = ConfigFile();
  const std::vector<std::pair<Args, std::string>> cases = {
      {{"apply", "-f", config, "-c", "off", "--lock-timeout", "nan"}, "--lock-timeout"},
      {{"apply", "-f", config, "-c", "off", "--lock-timeout", "-1"}, "--lock-timeout"},
      {{"restore", config, "--lock-timeout", "-inf"}, "--lock-timeout"},
      {{"run", "--lock-timeout", "nan", "--", "true"}, "--lock-timeout"},
      {{"run", "--grace", "inf", "--", "true"}, "--grace"},
      {{"run", "--grace", "nan", "--", "true"}, "--grace"},
      {{"run", "--timeout", "0.0001", "--", "true"}, "--timeout"},
      {{"run", "--timeout", "nan", "--", "true"}, "--timeout"},
      {{"plan", "--fleet", "a100-80gb:1", "--demand", "1g.10gb:1", "--time-limit", "inf"}, "--time-limit"},
      {{"sim", "attach", "-i", "0", "--pid", "0"}, "--pid"},
      {{"sim", "detach", "0"}, "pid"},
  };
  for (const auto& [args, option] : cases) ExpectRefused(args, kExitUsage, {option});
  Outcome seed = RunRaw({"--json", "sim", "init", (dir_ / "new.json").string(), "a100-80gb:1", "--seed",
                         "99999999999999999999999"});
  ExpectOneLineError(seed, kExitUsage, {"--seed"});
  EXPECT_FALSE(fs::exists(dir_ / "new.json"));
}

// ---------------------------------------------------------------------------------------------------------------
// Defect 4: control characters never reach the terminal raw.

TEST_F(InputE2e, RegressionControlCharactersInArgumentsAreEscapedInOneLine) {
  for (const Args& args : {Args{"status", "-i", "0\nGPU 1\x1b[31m"}, Args{"no\nsuch\x1b[31mcommand"},
                           Args{"restore", (dir_ / "missing\n\x1b[31m.json").string()}}) {
    Outcome o = Migctl(args);
    ExpectOneLineError(o, kExitUsage, {"\\n", "\\x1b[31m"});
    EXPECT_EQ(o.err.find('\x1b'), std::string::npos) << o;
  }
  ExpectUnchanged();
}

// ---------------------------------------------------------------------------------------------------------------
// Defect 5: a directory where a file belongs is bad input, like a missing file.

TEST_F(InputE2e, RegressionDirectoryWhereAFileBelongsExits2LikeAMissingFile) {
  const std::string d = dir_.string();
  const std::string missing = (dir_ / "missing.json").string();
  for (const std::string& path : {d, missing}) {
    SCOPED_TRACE(path);
    ExpectRefused({"restore", path}, kExitUsage, {path});
    ExpectRefused({"run", "--tasks", path, "--dry-run"}, kExitUsage, {path});
    ExpectRefused({"plan", "--fleet", "a100-80gb:1", "--need-file", path}, kExitUsage, {path});
    ExpectRefused({"sim", "show", path}, kExitUsage, {path});
    ExpectOneLineError(RunRaw({"--sim", path, "--json", "status"}), kExitUsage, {path});
  }
  EXPECT_FALSE(fs::exists(d + ".lock"));
  EXPECT_FALSE(fs::exists(missing + ".lock"));
}

// ---------------------------------------------------------------------------------------------------------------
// Defect 6: restore trusts no checkpoint it cannot.

TEST_F(InputE2e, RegressionCheckpointListingAGpuTwiceIsRefusedAndNothingIsDestroyed) {
  EnableMig("0");
  MustJson({"create", "-i", "0", "3g.40gb", "1g.10gb"});
  const std::string saved = (dir_ / "saved.json").string();
  MustJson({"checkpoint", "-o", saved});
  Json checkpoint = Json::parse(ReadFile(saved));
  Json twin = checkpoint["gpus"][0];
  twin["gpu_instances"] = Json::array();
  checkpoint["gpus"].push_back(twin);
  WriteFile(saved, checkpoint.dump());
  before_ = ReadFile(state_);
  ExpectRefused({"restore", saved}, kExitFailed, {saved, "listed twice"});
}

}  // namespace
