#include "reconcile/hooks.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "spec/quote.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

std::string Seconds(milliseconds d) { return fmt::format("{:g} s", static_cast<double>(d.count()) / 1000); }

/// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

class PosixSpawner final : public ProcessSpawner {
 public:
  Result<ChildExit> Run(const ChildSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty())
      return MakeError(ErrorCode::kInternal, "no program to run");
    if (!spec.workdir.empty()) {
      struct stat st {};
      if (::stat(spec.workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return MakeError(ErrorCode::kNotFound,
                         fmt::format("working directory {} does not exist", spec.workdir));
    }
    SpawnSetup setup;
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, STDERR_FILENO, STDOUT_FILENO);
    // Descriptors migctl holds (a lock file, a journal) must not outlive it in a hook's background child.
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, STDERR_FILENO + 1);
    if (!spec.workdir.empty()) posix_spawn_file_actions_addchdir_np(&setup.actions, spec.workdir.c_str());
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &all);
    posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv, envp;
    for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);

    pid_t pid = 0;
    const bool search = spec.argv[0].find('/') == std::string::npos;
    int rc = search ? posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data())
                    : posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
    if (rc == ENOENT)
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("program {} not found{}", spec.argv[0], search ? " in PATH" : ""));
    if (rc != 0)
      return MakeError(ErrorCode::kIo, fmt::format("cannot start {}: {}", spec.argv[0], strerror(rc)));
    return Wait(pid, spec);
  }

 private:
  /// Waits for `pid`, stopping it when its time is up. Polls: a portable wait with a timeout for one child
  /// that neither blocks signals process-wide nor needs pidfd support.
  static Result<ChildExit> Wait(pid_t pid, const ChildSpec& spec) {
    enum class Stage { kRunning, kTerminated, kKilled } stage = Stage::kRunning;
    ChildExit exit;
    steady_clock::time_point deadline = steady_clock::now() + spec.timeout;
    const bool limited = spec.timeout.count() > 0;
    int status = 0;
    for (;;) {
      const bool block = !limited || stage == Stage::kKilled;
      pid_t r = ::waitpid(pid, &status, block ? 0 : WNOHANG);
      if (r == pid) break;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0)
        return MakeError(ErrorCode::kIo, fmt::format("cannot wait for pid {}: {}", pid, strerror(errno)));
      steady_clock::time_point now = steady_clock::now();
      if (now >= deadline) {
        exit.timed_out = true;
        ::kill(pid, stage == Stage::kRunning ? SIGTERM : SIGKILL);
        stage = stage == Stage::kRunning ? Stage::kTerminated : Stage::kKilled;
        deadline = now + spec.grace;
        continue;
      }
      std::this_thread::sleep_for(std::min<steady_clock::duration>(deadline - now, milliseconds(20)));
    }
    if (WIFEXITED(status)) exit.exit_status = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
    return exit;
  }
};

std::string CommandLine(const spec::HookCommand& command) {
  std::string line = command.command;
  for (const std::string& arg : command.args) line += " " + arg;
  return line;
}

}  // namespace

std::string ChildExit::Describe() const {
  if (timed_out)
    return signal != 0 ? fmt::format("timed out, stopped by {}", SignalName(signal)) : "timed out";
  if (signal != 0) return fmt::format("killed by {}", SignalName(signal));
  return fmt::format("exit status {}", exit_status);
}

ProcessSpawner& RealProcessSpawner() {
  static PosixSpawner spawner;
  return spawner;
}

std::map<std::string, std::string> ApplyHookVariables(const ApplyHookSettings& s) {
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  return {
      {"MIG_PARTED_CONFIG_FILE", s.config_file},
      {"MIG_PARTED_SELECTED_CONFIG", s.selected_config},
      {"MIG_PARTED_HOOKS_FILE", s.hooks_file},
      {"MIG_PARTED_SKIP_RESET", flag(s.skip_reset)},
      {"MIG_PARTED_MODE_CHANGE_ONLY", flag(s.mode_only)},
      {"MIGCTL_CONFIG_FILE", s.config_file},
      {"MIGCTL_SELECTED_CONFIG", s.selected_config},
      {"MIGCTL_HOOKS_FILE", s.hooks_file},
      {"MIGCTL_SKIP_RESET", flag(s.skip_reset)},
      {"MIGCTL_MODE_ONLY", flag(s.mode_only)},
  };
}

HookRunner::HookRunner(const spec::HooksFile& file, std::map<std::string, std::string> variables,
                       ProcessSpawner& spawner, HookRunOptions options)
    : file_(file), variables_(std::move(variables)), spawner_(spawner), options_(std::move(options)) {
  if (options_.path.empty()) {
    const char* path = std::getenv("PATH");
    options_.path = path != nullptr && *path != '\0' ? path : kSystemPath;
  }
}

std::vector<std::string> HookRunner::Environment(const spec::HookCommand& command,
                                                 spec::HookPoint point) const {
  std::map<std::string, std::string> env = {{"PATH", options_.path}};
  for (const auto& [name, value] : command.envs) env[name] = value;
  for (const auto& [name, value] : variables_) env[name] = value;
  env["MIGCTL_HOOK"] = spec::HookPointName(point);
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

Status HookRunner::Run(spec::HookPoint point) const {
  for (const spec::HookCommand& command : file_.at(point)) {
    ChildSpec child;
    child.argv.push_back(command.command);
    child.argv.insert(child.argv.end(), command.args.begin(), command.args.end());
    child.env = Environment(command, point);
    child.workdir = command.workdir;
    child.timeout = options_.timeout;
    child.grace = options_.grace;
    const std::string where =
        fmt::format("hook {} ({}:{}:{}) {}", spec::HookPointName(point), file_.path, command.pos.line,
                    command.pos.column, spec::Quote(CommandLine(command)));
    Result<ChildExit> exit = spawner_.Run(child);
    if (!exit.ok()) return exit.error().WithContext(where + ": ");
    if (exit->timed_out)
      return MakeError(ErrorCode::kIo, fmt::format("{} did not finish within {}: {}", where,
                                                   Seconds(options_.timeout), exit->Describe()));
    if (!exit->success())
      return MakeError(ErrorCode::kIo, fmt::format("{} failed: {}", where, exit->Describe()));
  }
  return Ok();
}

}  // namespace migctl
