#include "mps/scripted_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mps/daemon_dirs.h"

namespace migctl::mps::testing {
namespace {

using std::chrono::milliseconds;

constexpr const char* kServerProgram = "nvidia-cuda-mps-server";
constexpr milliseconds kClientPatience(5000);  ///< How long the fake client waits for an answer.

std::string EnvOf(const ChildOptions& options, const std::string& name) {
  for (const std::string& e : options.env)
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  return "";
}

std::string PidFile(const std::string& pipe_dir) { return pipe_dir + "/nvidia-cuda-mps-control.pid"; }

/// What the client has on its stdin (a file: ControlClient gives it a memory file).
std::string ReadStdin(int fd) {
  std::string text;
  if (fd < 0) return text;
  char buffer[4096];
  off_t offset = 0;
  for (ssize_t n; (n = ::pread(fd, buffer, sizeof buffer, offset)) > 0; offset += n)
    text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

ScriptedControl::ScriptedControl(FakeProcessHost& host, std::string program)
    : host_(host), program_(std::move(program)) {
  host_.Script(program_, [this](pid_t pid, const ChildOptions& options) { return Behave(pid, options); });
  host_.Script(kServerProgram, FakeProgram{.runs_for = FakeProgram::kForever});
}

std::optional<pid_t> ScriptedControl::Daemon(const std::string& pipe_dir) {
  const Served* daemon = Alive(pipe_dir);
  return daemon != nullptr ? std::optional<pid_t>(daemon->pid) : std::nullopt;
}

std::vector<pid_t> ScriptedControl::Servers(const std::string& pipe_dir) const {
  auto it = daemons_.find(pipe_dir);
  return it != daemons_.end() ? it->second.servers : std::vector<pid_t>();
}

FakeProgram ScriptedControl::Behave(pid_t pid, const ChildOptions& options) {
  if (options.argv.size() == 1) return Client(options);
  if (options.argv[1] == "-f") return Serve(pid, options);
  if (options.argv[1] == "-d") return Detach(options);
  return FakeProgram{.exit_status = 2, .stderr_text = "usage: nvidia-cuda-mps-control [-d | -f]\n"};
}

FakeProgram ScriptedControl::Serve(pid_t pid, const ChildOptions& options) {
  const std::string pipe_dir = EnvOf(options, "CUDA_MPS_PIPE_DIRECTORY");
  if (Alive(pipe_dir) != nullptr)
    return FakeProgram{.exit_status = 1, .stderr_text = "An instance of this daemon is already running\n"};
  Served daemon;
  daemon.pid = pid;
  daemon.log_dir = EnvOf(options, "CUDA_MPS_LOG_DIRECTORY");
  daemon.detached = !EnvOf(options, "FAKE_MPS_DETACHED").empty();
  if (!daemon.detached && options.stdout_fd >= 0)
    daemon.log_fd = ::fcntl(options.stdout_fd, F_DUPFD_CLOEXEC, 3);
  if (!fail_start.empty()) {
    Log(daemon, fail_start);
    if (daemon.log_fd >= 0) ::close(daemon.log_fd);
    return FakeProgram{.exit_status = 1};
  }
  const std::string control = ControlPipePath({pipe_dir, daemon.log_dir});
  ::unlink(control.c_str());
  ::mkfifo(control.c_str(), 0600);
  std::ofstream(PidFile(pipe_dir)) << pid << "\n";
  Log(daemon, "Starting control daemon using socket " + control);
  Log(daemon, "To connect CUDA applications to this daemon, set env CUDA_MPS_PIPE_DIRECTORY=" + pipe_dir);
  Log(daemon, "CUDA_VISIBLE_DEVICES=" + EnvOf(options, "CUDA_VISIBLE_DEVICES"));
  daemons_[pipe_dir] = daemon;
  // SIGTERM and quit shut it down properly; SIGKILL leaves its pid file and pipe behind.
  return FakeProgram{.runs_for = FakeProgram::kForever,
                     .on_exit = [this, pipe_dir, pid](const ChildExit& exit) {
                       Served& served = daemons_[pipe_dir];
                       if (served.pid != pid) return;
                       if (exit.signal != SIGKILL) ShutDown(pipe_dir);
                       if (served.log_fd >= 0) ::close(served.log_fd);
                       served.log_fd = -1;
                     }};
}

FakeProgram ScriptedControl::Detach(const ChildOptions& options) {
  const std::string pipe_dir = EnvOf(options, "CUDA_MPS_PIPE_DIRECTORY");
  if (Alive(pipe_dir) != nullptr)
    return FakeProgram{.exit_status = 1, .stderr_text = "An instance of this daemon is already running\n"};
  ChildOptions daemon;
  daemon.argv = {program_, "-f"};
  daemon.env = options.env;
  daemon.env.push_back("FAKE_MPS_DETACHED=1");
  daemon.die_with_parent = false;
  // Its handle is dropped at once: like the real one (setsid), the daemon is nobody's child.
  Result<std::unique_ptr<Process>> started = host_.Start(daemon);
  return FakeProgram{.exit_status = started.ok() && Alive(pipe_dir) != nullptr ? 0 : 1};
}

FakeProgram ScriptedControl::Client(const ChildOptions& options) {
  const std::string pipe_dir = EnvOf(options, "CUDA_MPS_PIPE_DIRECTORY");
  Served* daemon = Alive(pipe_dir);
  if (daemon == nullptr)
    return FakeProgram{.exit_status = 1, .stderr_text = "Cannot find MPS control daemon process\n"};
  if (daemon->quitting_until && *daemon->quitting_until > host_.Now())  // it answers no one until it has quit
    return FakeProgram{.runs_for = kClientPatience,
                       .exit_status = 1,
                       .stderr_text = "Cannot find MPS control daemon process (no answer in 5 s)\n"};
  FakeProgram client;
  std::istringstream lines(ReadStdin(options.stdin_fd));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    if (line == "quit") {
      client.runs_for = quit_delay;  // its reply comes once the daemon has quit
      Quit(pipe_dir, *daemon);
      break;
    }
    if (std::string reply = Handle(pipe_dir, *daemon, line); !reply.empty())
      client.stdout_text += reply + "\n";
  }
  return client;
}

std::string ScriptedControl::Handle(const std::string& pipe_dir, Served& daemon, const std::string& line) {
  std::istringstream words(line);
  std::string command, arg1, arg2;
  words >> command >> arg1 >> arg2;
  if (command == "get_server_list") {
    std::string out;
    for (pid_t server : daemon.servers)
      if (host_.CommandLine(server)) out += (out.empty() ? "" : "\n") + std::to_string(server);
    return out;
  }
  if (command == "start_server") {
    ChildOptions server;
    server.argv = {kServerProgram};
    server.env = {"CUDA_MPS_PIPE_DIRECTORY=" + pipe_dir};
    Result<std::unique_ptr<Process>> started = host_.Start(server);
    if (started.ok()) {
      daemon.servers.push_back((*started)->pid());
      Log(daemon, fmt::format("Starting new server {} for user {}", (*started)->pid(), arg2));
    }
    return "";
  }
  if (command == "get_default_active_thread_percentage") return fmt::format("{}.0", daemon.percentage);
  if (command == "set_default_active_thread_percentage") {
    daemon.percentage = static_cast<unsigned>(std::stoul(arg1));
    return fmt::format("{}.0", daemon.percentage);
  }
  return "Unknown command " + command;
}

void ScriptedControl::Quit(const std::string& pipe_dir, Served& daemon) {
  Log(daemon, "Cmd:quit");
  auto finish = [this, pipe_dir, pid = daemon.pid] {
    Served* served = Alive(pipe_dir);
    if (served == nullptr || served->pid != pid) return;
    served->quitting_until.reset();
    if (ignore_quit) {
      Log(*served, "ignoring quit");
      return;
    }
    host_.Exit(pid, 0);
  };
  if (quit_delay.count() == 0) {
    finish();
    return;
  }
  daemon.quitting_until = host_.Now() + quit_delay;
  host_.At(*daemon.quitting_until, finish);
}

void ScriptedControl::ShutDown(const std::string& pipe_dir) {
  Served& daemon = daemons_[pipe_dir];
  for (pid_t server : daemon.servers) host_.Kill(server, SIGTERM, [](const std::string&) { return true; });
  ::unlink(PidFile(pipe_dir).c_str());
  Log(daemon, "Exit with status 0");
}

void ScriptedControl::Log(const Served& daemon, const std::string& line) const {
  const std::string text = fmt::format("[Control {}] {}\n", daemon.pid, line);
  if (daemon.detached) {
    std::ofstream(daemon.log_dir + "/control.log", std::ios::app) << text;
  } else if (daemon.log_fd >= 0) {
    [[maybe_unused]] ssize_t n = ::write(daemon.log_fd, text.data(), text.size());
  }
}

ScriptedControl::Served* ScriptedControl::Alive(const std::string& pipe_dir) {
  auto it = daemons_.find(pipe_dir);
  if (it == daemons_.end() || !host_.CommandLine(it->second.pid)) return nullptr;
  struct stat st {};
  if (::stat(ControlPipePath({pipe_dir, it->second.log_dir}).c_str(), &st) != 0) return nullptr;
  std::ifstream in(PidFile(pipe_dir));
  pid_t pid = 0;
  return in >> pid && pid == it->second.pid ? &it->second : nullptr;
}

}  // namespace migctl::mps::testing
