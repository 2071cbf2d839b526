// The harness of the end-to-end tests: runs the real migctl binary (MIGCTL_BINARY) against a simulated
// machine in a fresh temporary directory per test, hermetically (no MIGSIM_/MIGCTL_ variables leak in).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using Env = std::map<std::string, std::string>;
using Args = std::vector<std::string>;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kInsufficientResources = 23;  // NVML_ERROR_INSUFFICIENT_RESOURCES

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// What one run of a program did.
struct Outcome {
  int exit_code = -1;  ///< 128 + signal when it was killed.
  std::string out;
  std::string err;

  Json OutJson() const {
    Json doc = Json::parse(out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << "stdout is not JSON:\n" << out << "\nstderr:\n" << err;
    return doc;
  }
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "exit " << o.exit_code << "\n--- stdout:\n" << o.out << "--- stderr:\n" << o.err;
}

/// A started child whose stdout and stderr go to files; Wait() reaps it.
class Child {
 public:
  Child(const std::string& program, const Args& args, const Env& extra_env, const fs::path& out,
        const fs::path& err)
      : out_(out), err_(err) {
    std::vector<std::string> argv_text{program};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    // A hermetic environment: the caller's simulator settings must not leak into the child.
    std::vector<std::string> env_text;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (entry.starts_with("MIGSIM_") || entry.starts_with("MIGCTL_")) continue;
      env_text.push_back(entry);
    }
    for (const auto& [key, value] : extra_env) env_text.push_back(key + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << program << ": " << std::strerror(rc);
      pid_ = -1;
    }
  }

  pid_t pid() const { return pid_; }

  Outcome Wait() {
    Outcome o;
    if (pid_ <= 0) return o;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    o.out = ReadFile(out_);
    o.err = ReadFile(err_);
    fs::remove(out_);
    fs::remove(err_);
    return o;
  }

 private:
  pid_t pid_ = -1;
  fs::path out_, err_;
};

/// Each test gets its own directory and state file, removed afterwards.
class E2e : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "migctl-e2e-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    state_ = (dir_ / "machine.json").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  Child Start(const std::string& program, const Args& args, const Env& env = {}) {
    int n = next_output_++;
    return Child(program, args, env, dir_ / ("out." + std::to_string(n)),
                 dir_ / ("err." + std::to_string(n)));
  }
  /// migctl with exactly these arguments.
  Outcome RunRaw(const Args& args, const Env& env = {}) { return Start(MIGCTL_BINARY, args, env).Wait(); }
  /// `migctl --sim STATE --json ARGS…`
  Child StartMigctl(const Args& args, const Env& env = {}) {
    Args full{"--sim", state_, "--json"};
    full.insert(full.end(), args.begin(), args.end());
    return Start(MIGCTL_BINARY, full, env);
  }
  Outcome Migctl(const Args& args, const Env& env = {}) { return StartMigctl(args, env).Wait(); }

  /// Runs a command that must succeed and returns its JSON document.
  Json MustJson(const Args& args, const Env& env = {}) {
    Outcome o = Migctl(args, env);
    EXPECT_EQ(o.exit_code, kExitOk) << o;
    return o.OutJson();
  }

  void InitMachine(const std::string& spec) {
    Outcome o = RunRaw({"sim", "init", state_, spec, "--seed", "7"});
    ASSERT_EQ(o.exit_code, kExitOk) << o;
  }
  /// MIG on and current on `gpus` (reset where the architecture needs it).
  void EnableMig(const std::string& gpus) {
    MustJson({"mode", "enable", "-i", gpus});
    MustJson({"reset", "-i", gpus});
  }
  void InitMigMachine(const std::string& spec) {
    InitMachine(spec);
    EnableMig("all");
  }

  /// The simulator's raw state: everything the machine holds.
  Json Machine() { return MustJson({"sim", "show"}); }
  Json Status() { return MustJson({"status"}); }
  Json Instances(int gpu) { return Status()["gpus"][gpu]["instances"]; }

  fs::path dir_;
  std::string state_;
  std::atomic<int> next_output_{0};
};

/// A failed command: `exit_code`, exactly one stderr line `migctl: …` containing every one of `names`, and
/// (with --json) an error document on stdout carrying the same message.
inline void ExpectOneLineError(const Outcome& o, int exit_code, const std::vector<std::string>& names,
                               bool json_on_stdout = true) {
  EXPECT_EQ(o.exit_code, exit_code) << o;
  std::vector<std::string> lines = Lines(o.err);
  ASSERT_EQ(lines.size(), 1u) << "want one error line\n" << o;
  EXPECT_TRUE(lines[0].starts_with("migctl: ")) << lines[0];
  for (const std::string& name : names)
    EXPECT_NE(lines[0].find(name), std::string::npos) << name << "\n" << o;
  if (json_on_stdout) {
    Json doc = o.OutJson();
    ASSERT_TRUE(doc.contains("error")) << o;
    EXPECT_TRUE(doc["error"]["code"].is_string()) << o;
    EXPECT_EQ(doc["error"]["message"], lines[0].substr(std::string("migctl: ").size()));
  }
}

/// Bad input: one error line naming the problem, a non-zero exit, and no change to the machine (eight A100s,
/// MIG on GPU 0).
class E2eBadInput : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    InitMachine("a100-80gb:8");
    EnableMig("0");
  }
  /// Runs `args` and expects it refused as ExpectOneLineError says, with the machine byte-for-byte unchanged.
  void ExpectRefused(const Args& args, int exit_code, const std::vector<std::string>& names) {
    std::string text;
    for (const auto& a : args) text += a + " ";
    SCOPED_TRACE(text);
    std::string before = ReadFile(state_);
    ExpectOneLineError(Migctl(args), exit_code, names);
    EXPECT_EQ(ReadFile(state_), before) << "the state file changed";
  }
};

using Placement = std::pair<int, int>;  // start, size

inline Placement PlacementOf(const Json& j) { return {j["start"].get<int>(), j["size"].get<int>()}; }

/// Every instance sits at one of its profile's placements (per `profiles --model`), and no two overlap.
inline void ExpectValidLayout(const Json& instances, const Json& model_profiles) {
  std::map<std::string, std::set<Placement>> allowed;
  for (const Json& p : model_profiles["profiles"])
    for (const Json& at : p["placements"]) allowed[p["name"]].insert(PlacementOf(at));
  std::vector<bool> taken(8, false);
  for (const Json& gi : instances) {
    std::string profile = gi["profile"];
    Placement at = PlacementOf(gi);
    EXPECT_TRUE(allowed[profile].contains(at))
        << profile << " at " << at.first << ":" << at.second << " is not one of its placements";
    for (int slot = at.first; slot < at.first + at.second; ++slot) {
      ASSERT_TRUE(slot >= 0 && slot < 8) << profile << " reaches slot " << slot;
      EXPECT_FALSE(taken[slot]) << profile << " overlaps another instance at slot " << slot;
      taken[slot] = true;
    }
  }
}

inline std::multiset<std::string> ProfileNames(const Json& instances) {
  std::multiset<std::string> names;
  for (const Json& gi : instances) names.insert(gi["profile"].get<std::string>());
  return names;
}

}  // namespace
