// A real Slurm cluster on 127.0.0.1 for a whole test binary (tests/slurm/cluster.sh): Debian's slurmctld, one
// slurmd per node and munged, each node a simulated MIG machine of its own. Started once, in the suite's
// SetUpTestSuite, and stopped by PID in TearDownTestSuite. Needs root and the Slurm packages (./dev.sh
// installs them); without them a test is skipped, except under CI=true, where it fails.
#pragma once

#include <chrono>
#include <thread>

#include "e2e_harness.h"

namespace {

/// One node: its simulated machine and the migctl commands (after `--sim STATE`) that partition it.
struct ClusterNode {
  std::string name;
  std::string spec;  ///< `h100-80gb:1`
  std::vector<Args> setup;
};

class SlurmE2e : public E2e {
 protected:
  /// Starts the cluster for the suite; on failure every test of it fails (or skips, see above).
  static void StartCluster(const std::vector<ClusterNode>& nodes) {
    if (::geteuid() != 0 || ::access("/usr/sbin/slurmctld", X_OK) != 0 || ::access("/usr/sbin/munged", X_OK) != 0) {
      missing_ = "needs root and slurmctld, slurmd, slurm-client and munge (./dev.sh installs them)";
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "migctl-slurm-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      start_error_ = "mkdtemp failed";
      return;
    }
    cluster_ = pattern;
    for (const ClusterNode& n : nodes) {
      fs::create_directories(cluster_ / "nodes" / n.name);
      const std::string state = (cluster_ / "nodes" / n.name / "sim.json").string();
      Outcome o = Run(MIGCTL_BINARY, {"sim", "init", state, n.spec, "--seed", std::to_string(100 + seed_++)});
      if (o.exit_code != 0) {
        start_error_ = "sim init: " + o.err;
        return;
      }
      for (Args a : n.setup) {
        a.insert(a.begin(), {"--sim", state});
        o = Run(MIGCTL_BINARY, a);
        if (o.exit_code != 0) {
          start_error_ = "node " + n.name + " setup: " + o.err;
          return;
        }
      }
    }
    Outcome o = Run("/bin/bash", {ClusterScript(), "start", cluster_.string()});
    if (o.exit_code != 0) start_error_ = "cluster.sh start: " + o.err + o.out;
  }

  static void StopCluster() {
    if (cluster_.empty()) return;
    Run("/bin/bash", {ClusterScript(), "stop", cluster_.string()});
    std::error_code ec;
    if (std::getenv("MIGCTL_KEEP_CLUSTER") == nullptr) fs::remove_all(cluster_, ec);
    cluster_.clear();
  }

  void SetUp() override {
    E2e::SetUp();
    if (!missing_.empty()) {
      if (std::getenv("CI") != nullptr && std::string(std::getenv("CI")) == "true") FAIL() << missing_;
      GTEST_SKIP() << missing_;
    }
    ASSERT_TRUE(start_error_.empty()) << start_error_;
  }

  static std::string ClusterScript() { return std::string(MIGCTL_SOURCE_DIR) + "/tests/slurm/cluster.sh"; }
  static std::string SimOf(const std::string& node) { return (cluster_ / "nodes" / node / "sim.json").string(); }
  static std::string RootOf(const std::string& node) { return (cluster_ / "nodes" / node / "root").string(); }
  static std::string SlurmConf() { return (cluster_ / "etc" / "slurm.conf").string(); }

  /// What Slurm's commands and migctl need: SLURM_CONF, and migctl's directory on PATH.
  static Env ClusterEnv() {
    const std::string bin = fs::path(MIGCTL_BINARY).parent_path().string();
    const char* path = std::getenv("PATH");
    return {{"SLURM_CONF", SlurmConf()}, {"PATH", bin + ":" + (path ? path : "/usr/bin:/bin")}};
  }

  /// A program with the cluster's environment (plus `env`), run to completion.
  static Outcome Run(const std::string& program, const Args& args, const Env& env = {}) {
    Env all = cluster_.empty() ? Env{} : ClusterEnv();
    for (const auto& [k, v] : env) all[k] = v;
    static std::atomic<int> n{0};
    const int k = n++;
    const fs::path base = fs::temp_directory_path() / ("migctl-slurm-run-" + std::to_string(::getpid()) + "-" + std::to_string(k));
    return Child(program, args, all, base.string() + ".out", base.string() + ".err").Wait();
  }

  /// `srun ARGS` / `sbatch ARGS` / `squeue ARGS` ... through PATH.
  static Outcome Slurm(const std::string& command, const Args& args, const Env& env = {}) {
    return Run("/usr/bin/" + command, args, env);
  }

  /// `migctl --sim <node's state> --json ARGS`.
  static Outcome OnNode(const std::string& node, const Args& args, const Env& env = {}) {
    Args full{"--sim", SimOf(node), "--json"};
    full.insert(full.end(), args.begin(), args.end());
    return Run(MIGCTL_BINARY, full, env);
  }

  /// Polls `done` every 100 ms for up to `seconds`.
  template <typename F>
  static bool WaitFor(F done, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  /// Jobs Slurm still has (pending, running, completing), by job id.
  static std::vector<std::string> QueuedJobs() {
    Outcome o = Slurm("squeue", {"-h", "-o", "%i"});
    return Lines(o.out);
  }

  static inline fs::path cluster_;
  static inline std::string missing_;
  static inline std::string start_error_;
  static inline int seed_ = 0;
};

}  // namespace
