#include "common/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "common/file_io.h"

namespace migctl {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* kSystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bool IsExecutableFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

/// The program execve should run: argv[0] itself when it has a '/' (exec reports what is wrong with it),
/// else the first executable match in the PATH of the child's environment, or migctl's own (OwnPath).
std::optional<std::string> ResolveProgram(const ChildOptions& options) {
  const std::string& program = options.argv[0];
  if (program.find('/') != std::string::npos) return program;
  std::optional<std::string> path;
  for (const std::string& e : options.env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  return FindProgram(program, path.value_or(OwnPath()));
}

/// What a child that could not exec reports through the status pipe.
struct ExecFailure {
  int stage = 0;  ///< 0 chdir, 1 exec, 2 descriptors.
  int error = 0;
};

/// In the forked child: only async-signal-safe calls from here until execve.
[[noreturn]] void BecomeChild(const ChildOptions& options, const char* program, char* const* argv,
                              char* const* envp, int status_fd, pid_t parent, long max_fd) {
  auto fail = [status_fd](int stage) {
    ExecFailure failure{stage, errno};
    [[maybe_unused]] ssize_t n = ::write(status_fd, &failure, sizeof failure);
    ::_exit(127);
  };
  if (options.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // migctl died before the line above took effect.
  }
  if (options.own_process_group) ::setpgid(0, 0);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  int in = options.stdin_fd;
  if (in < 0) {
    in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0) fail(2);
  }
  if (::dup2(in, STDIN_FILENO) < 0) fail(2);
  if (options.stdout_fd >= 0 && ::dup2(options.stdout_fd, STDOUT_FILENO) < 0) fail(2);
  if (options.stderr_fd >= 0 && ::dup2(options.stderr_fd, STDERR_FILENO) < 0) fail(2);
  // Everything but 0-2 and the inherited descriptors closes at exec (the status pipe included).
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    for (long fd = 3; fd < max_fd; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  for (int fd : options.inherit_fds)
    if (::fcntl(fd, F_SETFD, 0) != 0) fail(2);
  if (!options.workdir.empty() && ::chdir(options.workdir.c_str()) != 0) fail(0);
  ::execve(program, argv, envp);
  fail(1);
  ::_exit(127);
}

ChildExit ExitOf(int status, bool timed_out) {
  ChildExit exit;
  if (WIFEXITED(status)) exit.exit_status = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit.signal = WTERMSIG(status);
  exit.timed_out = timed_out;
  return exit;
}

}  // namespace

std::string OwnPath() {
  const char* path = std::getenv("PATH");
  return path != nullptr && *path != '\0' ? path : kSystemPath;
}

std::optional<std::string> FindProgram(const std::string& program, const std::string& path) {
  if (program.find('/') != std::string::npos)
    return IsExecutableFile(program) ? std::optional<std::string>(program) : std::nullopt;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    // Built by appending: GCC 12 warns falsely (-Wrestrict) on `dir + "/" + program` at -O2.
    std::string candidate = end > begin ? path.substr(begin, end - begin) : std::string(".");
    candidate.append("/").append(program);
    if (IsExecutableFile(candidate)) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

std::string SignalName(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

std::string ChildExit::Describe() const {
  if (timed_out)
    return signal != 0 ? fmt::format("timed out, stopped by {}", SignalName(signal))
                       : fmt::format("timed out, exit status {}", exit_status);
  if (signal != 0) return fmt::format("killed by {}", SignalName(signal));
  return fmt::format("exit status {}", exit_status);
}

Result<Child> Child::Start(const ChildOptions& options) {
  if (options.argv.empty() || options.argv[0].empty())
    return MakeError(ErrorCode::kInternal, "no program to run");
  if (!options.workdir.empty()) {
    struct stat st {};
    if (::stat(options.workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return MakeError(ErrorCode::kNotFound,
                       fmt::format("working directory {} does not exist", options.workdir));
  }
  std::optional<std::string> program = ResolveProgram(options);
  if (!program)
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} not found in PATH", options.argv[0]));

  // Everything the child needs is built before fork: after it, the child may only call async-signal-safe
  // functions.
  std::vector<char*> argv, envp;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const long max_fd = std::max(256L, ::sysconf(_SC_OPEN_MAX));

  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot start {}: pipe: {}", options.argv[0], strerror(errno)));
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot start {}: fork: {}", options.argv[0], strerror(error)));
  }
  if (pid == 0) {
    ::close(status_pipe[0]);
    BecomeChild(options, program->c_str(), argv.data(), envp.data(), status_pipe[1], parent, max_fd);
  }
  ::close(status_pipe[1]);
  // Also set the group from this side, so a signal sent right after Start reaches it (no race with exec).
  if (options.own_process_group) ::setpgid(pid, pid);
  ExecFailure failure;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  Child child(pid, options.own_process_group);
  if (n != static_cast<ssize_t>(sizeof failure)) return child;  // exec succeeded: the pipe closed.
  child.Wait();
  if (failure.stage == 1 && failure.error == ENOENT)
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} not found", options.argv[0]));
  if (failure.stage == 1 && (failure.error == EACCES || failure.error == ENOEXEC))
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} is not an executable file: {}",
                                                       options.argv[0], strerror(failure.error)));
  const char* what = failure.stage == 0 ? "chdir" : failure.stage == 1 ? "exec" : "set up descriptors";
  return MakeError(ErrorCode::kIo,
                   fmt::format("cannot start {}: {}: {}", options.argv[0], what, strerror(failure.error)));
}

Child::Child(Child&& other) noexcept
    : pid_(other.pid_), group_(other.group_), timed_out_(other.timed_out_), exit_(other.exit_) {
  other.pid_ = -1;
  other.exit_ = ChildExit{};
}

Child& Child::operator=(Child&& other) noexcept {
  pid_ = other.pid_;
  group_ = other.group_;
  timed_out_ = other.timed_out_;
  exit_ = other.exit_;
  other.pid_ = -1;
  other.exit_ = ChildExit{};
  return *this;
}

std::optional<ChildExit> Child::Poll() {
  if (exit_) return exit_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) Reaped(status);
  if (r < 0) exit_ = ExitOf(0, timed_out_);  // ECHILD: someone else reaped it; treat as gone.
  return exit_;
}

ChildExit Child::Wait() {
  while (!exit_) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, 0);
    if (r == pid_)
      Reaped(status);
    else if (r < 0 && errno != EINTR)
      exit_ = ExitOf(0, timed_out_);
  }
  return *exit_;
}

void Child::Reaped(int status) { exit_ = ExitOf(status, timed_out_); }

void Child::Signal(int signal) const {
  if (exit_ || pid_ <= 0) return;
  if (group_ && ::kill(-pid_, signal) == 0) return;
  ::kill(pid_, signal);
}

namespace {

/// The processes of group `pgid` that have not exited (zombies left out), from /proc.
std::vector<pid_t> GroupMembers(pid_t pgid) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    Result<std::string> stat = ReadFile(fmt::format("/proc/{}/stat", pid), 4096);
    if (!stat.ok()) continue;
    // After the command name in parentheses: state, ppid, pgrp.
    const std::size_t paren = stat->rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(stat->c_str() + paren + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z') out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return out;
}

}  // namespace

void Child::EndGroup(milliseconds timeout) const {
  if (!group_ || pid_ <= 0) return;
  // A pidfd per member, taken before the kill, tells when each has exited even though it is not our child.
  std::vector<int> pidfds;
  for (pid_t member : GroupMembers(pid_)) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, member, 0));
    if (fd >= 0) pidfds.push_back(fd);
  }
  ::kill(-pid_, SIGKILL);
  const steady_clock::time_point deadline = steady_clock::now() + timeout;
  for (int fd : pidfds) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    while (left.count() > 0 && ::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno == EINTR) {
    }
    ::close(fd);
  }
}

Result<ChildExit> RunChild(const ChildOptions& options, milliseconds timeout, milliseconds grace) {
  MIGCTL_ASSIGN_OR_RETURN(Child child, Child::Start(options));
  if (timeout.count() <= 0) return child.Wait();
  steady_clock::time_point deadline = steady_clock::now() + timeout;
  int stage = 0;  // 0 running, 1 sent SIGTERM, 2 sent SIGKILL
  for (;;) {
    if (std::optional<ChildExit> exit = child.Poll()) return *exit;
    steady_clock::time_point now = steady_clock::now();
    if (now >= deadline && stage < 2) {
      child.MarkTimedOut();
      child.Signal(stage == 0 ? SIGTERM : SIGKILL);
      ++stage;
      deadline = now + grace;
      continue;
    }
    if (stage == 2) return child.Wait();
    std::this_thread::sleep_for(std::min<steady_clock::duration>(deadline - now, milliseconds(10)));
  }
}

}  // namespace migctl
