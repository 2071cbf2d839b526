#include "common/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/file_io.h"
#include "common/task_tree.h"

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

std::vector<std::string> OwnEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

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
  if (start_error) return "could not start: " + *start_error;
  if (timed_out)
    return signal != 0 ? fmt::format("timed out, stopped by {}", SignalName(signal))
                       : fmt::format("timed out, exit status {}", exit_status);
  if (signal != 0) return fmt::format("killed by {}", SignalName(signal));
  return fmt::format("exit status {}", exit_status);
}

namespace {

struct SpawnArgs {
  const ChildOptions* options;
  const char* program;
  char* const* argv;
  char* const* envp;
  int status_fd, status_read_fd;
  pid_t parent;
  long max_fd;
};

int SpawnEntry(void* p) {
  const SpawnArgs* a = static_cast<const SpawnArgs*>(p);
  ::close(a->status_read_fd);
  BecomeChild(*a->options, a->program, a->argv, a->envp, a->status_fd, a->parent, a->max_fd);
}

/// Starts a child that execs `program`; reads the status pipe until exec succeeded (it closes) or failed.
/// Returns the pid, or -1 with `*failure` filled in (the child has been reaped then). Stage 3: fork/pipe.
pid_t ForkExec(const ChildOptions& options, const char* program, char* const* argv, char* const* envp,
               long max_fd, ExecFailure* failure) {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    *failure = {3, errno};
    return -1;
  }
  // As posix_spawn does: the child borrows this process's memory (CLONE_VM) on a stack of its own until it
  // execs, while this thread waits (CLONE_VFORK), so no page table is copied. BecomeChild only makes system
  // calls; its descriptor table and signal handlers are its own.
  SpawnArgs args{&options, program, argv, envp, status_pipe[1], status_pipe[0], ::getpid(), max_fd};
  alignas(64) char stack[64 * 1024];
  const pid_t pid = ::clone(SpawnEntry, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  if (pid < 0) {
    *failure = {3, errno};
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    return -1;
  }
  ::close(status_pipe[1]);
  // Also set the group from this side, so a signal sent right after Start reaches it (no race with exec).
  if (options.own_process_group) ::setpgid(pid, pid);
  ssize_t n;
  do {
    n = ::read(status_pipe[0], failure, sizeof *failure);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  if (n != static_cast<ssize_t>(sizeof *failure)) return pid;  // exec succeeded: the pipe closed.
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return -1;
}

Error StartError(const std::string& program, const ExecFailure& failure) {
  if (failure.stage == 1 && failure.error == ENOENT)
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} not found", program));
  if (failure.stage == 1 && (failure.error == EACCES || failure.error == ENOEXEC))
    return MakeError(ErrorCode::kNotFound, fmt::format("program {} is not an executable file: {}", program,
                                                       strerror(failure.error)));
  const char* what = failure.stage == 0   ? "chdir"
                     : failure.stage == 1 ? "exec"
                     : failure.stage == 2 ? "set up descriptors"
                     : failure.stage == 3 ? "fork"
                                          : "start its keeper";
  return MakeError(ErrorCode::kIo,
                   fmt::format("cannot start {}: {}: {}", program, what, strerror(failure.error)));
}

/// clone3's arguments (linux/sched.h, spelled out here: that header clashes with <sched.h>).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
      cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

/// What a keeper tells migctl, through its report pipe.
struct KeeperMessage {
  enum Kind : int { kStarted = 1, kFailed = 2, kExited = 3 } kind;
  int a = 0;  ///< kStarted: the task's pid; kFailed: the ExecFailure stage; kExited: its wait status.
  int b = 0;  ///< kFailed: errno.
};

void Report(int fd, const KeeperMessage& m) {
  while (::write(fd, &m, sizeof m) < 0 && errno == EINTR) {
  }
}

long long MonotonicMs() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

constexpr size_t kMaxTree = 4096;
pid_t g_tree[kMaxTree];
pid_t g_members[kMaxTree];
ProcStamp g_stamps[kMaxTree];

/// The keeper's state: a fork of migctl that never execs, so only async-signal-safe calls and no allocation.
struct Keeper {
  const KeeperOptions* options;
  int report_fd;
  const char* cgroup;  ///< Empty when the keeper could not join it.
  pid_t self;
  pid_t task = -1;

  /// Rewrites the record: the keeper, `n` processes (the task's first, or what outlived it), the cgroup.
  void WriteRecord(const pid_t* pids, size_t n) const {
    if (options->record_fd < 0) return;
    size_t live = 0;
    for (size_t i = 0; i < n && live < kMaxTree; ++i)
      if (const unsigned long long start = ProcessStartTime(pids[i]); start != 0) g_stamps[live++] = {pids[i], start};
    const ProcStamp keeper{self, ProcessStartTime(self)};
    char buf[8192];
    size_t at = FormatTreeRecord(buf, sizeof buf, &keeper, g_stamps, live, cgroup);
    // Blank lines up to the file's old length rather than a truncate: cheaper, and readers skip them.
    struct stat st {};
    if (::fstat(options->record_fd, &st) == 0 && st.st_size > static_cast<off_t>(at) &&
        st.st_size < static_cast<off_t>(sizeof buf)) {
      std::memset(buf + at, '\n', static_cast<size_t>(st.st_size) - at);
      at = static_cast<size_t>(st.st_size);
    }
    [[maybe_unused]] ssize_t w = ::pwrite(options->record_fd, buf, at, 0);
    if (static_cast<off_t>(at) < st.st_size) {  // too long to pad: cut it
      [[maybe_unused]] const int t = ::ftruncate(options->record_fd, static_cast<off_t>(at));
    }
  }

  /// Every live process of the tree but the keeper: its descendants and its cgroup's members.
  size_t Tree() const {
    size_t n = std::min(Descendants(self, g_tree, kMaxTree), kMaxTree);
    if (cgroup[0] != '\0') {
      const size_t m = std::min(CgroupMembers(cgroup, g_members, kMaxTree), kMaxTree);
      for (size_t i = 0; i < m && n < kMaxTree; ++i) {
        bool known = g_members[i] == self;
        for (size_t j = 0; !known && j < n; ++j) known = g_tree[j] == g_members[i];
        if (!known) g_tree[n++] = g_members[i];
      }
    }
    return n;
  }

  void SignalTree(int signal) const {
    const size_t n = Tree();
    for (size_t i = 0; i < n; ++i) {
      ::kill(g_tree[i], signal);
      if (signal == SIGTERM) ::kill(g_tree[i], SIGCONT);  // a stopped process acts on SIGTERM only when woken
    }
  }

  [[noreturn]] void Run(const ChildOptions& task_options, const char* program, char* const* argv,
                        char* const* envp, long max_fd) {
    ExecFailure failure;
    task = ForkExec(task_options, program, argv, envp, max_fd, &failure);
    if (task < 0) {
      Report(report_fd, {KeeperMessage::kFailed, failure.stage, failure.error});
      ::_exit(127);
    }
    Report(report_fd, {KeeperMessage::kStarted, task, 0});
    WriteRecord(&task, 1);
    // The task has its descriptors now; the keeper keeps none of them, nor migctl's terminal.
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0)
      for (int fd = 0; fd <= 2; ++fd) ::dup2(null_fd, fd);
    for (int fd : {task_options.stdin_fd, task_options.stdout_fd, task_options.stderr_fd, null_fd})
      if (fd > 2) ::close(fd);

    sigset_t waited;
    sigemptyset(&waited);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&waited, s);
    bool stopping = ::getppid() != parent;  // migctl is gone already
    long long kill_at = 0, next_record = 0;
    bool task_done = false;
    if (stopping) {
      SignalTree(SIGTERM);
      kill_at = MonotonicMs() + options->grace.count();
    }
    for (;;) {
      int status = 0;
      pid_t reaped;
      while ((reaped = ::waitpid(-1, &status, WNOHANG)) > 0)
        if (reaped == task) {
          Report(report_fd, {KeeperMessage::kExited, status, 0});
          task_done = true;
        }
      if (reaped < 0 && errno == ECHILD) ::_exit(0);  // the last process of the tree has ended
      const long long now = MonotonicMs();
      if (stopping && now >= kill_at) {
        SignalTree(SIGKILL);
        kill_at = now + 100;
      }
      if (task_done && !stopping && now >= next_record) {
        WriteRecord(g_tree, Tree());  // what outlives the task's first process
        next_record = now + 1000;
      }
      const long long wait_ms = stopping ? kill_at - now : task_done ? next_record - now : 60000;
      timespec timeout{static_cast<time_t>(wait_ms / 1000), static_cast<long>(wait_ms % 1000) * 1000000};
      siginfo_t info;
      const int signal = ::sigtimedwait(&waited, &info, &timeout);
      if ((signal == SIGTERM || signal == SIGINT || signal == SIGHUP) && !stopping) {
        stopping = true;
        SignalTree(SIGTERM);
        kill_at = MonotonicMs() + options->grace.count();
      }
    }
  }

  pid_t parent = 0;
};

/// Closes every descriptor from 3 up except those in `keep` (sorted). Allocates nothing.
void CloseAllBut(const std::vector<int>& keep) {
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(fd) > from) ::syscall(SYS_close_range, from, static_cast<unsigned>(fd) - 1, 0U);
    from = static_cast<unsigned>(fd) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0U);
}

}  // namespace

Result<Child> Child::StartWithKeeper(const ChildOptions& options, const char* program, char* const* argv,
                                     char* const* envp, long max_fd) {
  // A cgroup v2 directory: the keeper is born in it (clone3 CLONE_INTO_CGROUP). Else (v1, an old kernel) it
  // joins by writing its pid into cgroup.procs, a migration that can take milliseconds (an RCU grace period).
  int cgroup_dir = -1, cgroup_fd = -1;
  if (!options.keeper.cgroup.empty()) {
    cgroup_dir = ::open(options.keeper.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cgroup_fd = ::open((options.keeper.cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  }
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) {
    const int error = errno;
    if (cgroup_fd >= 0) ::close(cgroup_fd);
    return StartError(options.argv[0], {4, error});
  }
  // Everything the keeper needs is built before fork: it must not allocate (migctl may have other
  // threads with locks held).
  ChildOptions task = options;
  task.keeper = {};
  task.own_process_group = false;  // in the keeper's group
  task.die_with_parent = true;     // SIGTERM should the keeper itself be killed
  std::vector<int> keep = options.keeper.hold_fds;
  for (int fd : {report[1], cgroup_fd, options.stdin_fd, options.stdout_fd, options.stderr_fd})
    if (fd >= 0) keep.push_back(fd);
  for (int fd : options.inherit_fds) keep.push_back(fd);
  std::sort(keep.begin(), keep.end());
  const std::string cgroup = cgroup_fd >= 0 ? options.keeper.cgroup : std::string();
  const pid_t parent = ::getpid();
  bool born_in_cgroup = false;
  pid_t pid = -1;
  if (cgroup_dir >= 0 && cgroup_fd >= 0) {
    CloneArgs args{};
    args.flags = kCloneIntoCgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(cgroup_dir);
    pid = static_cast<pid_t>(::syscall(SYS_clone3, &args, sizeof args));
    born_in_cgroup = pid >= 0;
  }
  if (!born_in_cgroup) pid = ::fork();
  if (cgroup_dir >= 0 && pid != 0) ::close(cgroup_dir);
  if (pid < 0) {
    const int error = errno;
    for (int fd : {report[0], report[1], cgroup_fd})
      if (fd >= 0) ::close(fd);
    return StartError(options.argv[0], {4, error});
  }
  if (pid == 0) {
    ::close(report[0]);
    ::prctl(PR_SET_NAME, "migctl-keeper");
    // migctl's handlers are not the keeper's (the task, which execs, resets every signal itself). migctl
    // handles standard signals only, and the four the keeper waits for are blocked below.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < SIGRTMIN; ++s)
      if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
    // Reports to a migctl that has died must fail with EPIPE, not end the keeper (the task resets it).
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, nullptr);
    sigset_t blocked;
    sigemptyset(&blocked);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&blocked, s);
    ::sigprocmask(SIG_SETMASK, &blocked, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::setpgid(0, 0);
    CloseAllBut(keep);
    const char* joined = born_in_cgroup ? cgroup.c_str() : "";
    if (cgroup_fd >= 0 && !born_in_cgroup) {
      char digits[24];
      const size_t n = AppendDecimal(digits, 0, static_cast<unsigned long long>(::getpid()));
      if (::write(cgroup_fd, digits, n) == static_cast<ssize_t>(n)) joined = cgroup.c_str();
      }
    if (cgroup_fd >= 0) ::close(cgroup_fd);
    Keeper keeper{&options.keeper, report[1], joined, ::getpid()};
    keeper.parent = parent;
    keeper.Run(task, program, argv, envp, max_fd);
  }
  ::close(report[1]);
  if (cgroup_fd >= 0) ::close(cgroup_fd);
  ::setpgid(pid, pid);
  // Not waiting for the keeper to say the task started: a run starts many tasks from one thread, and a
  // keeper just forked on a busy host may take milliseconds to be scheduled. What it reports is read when
  // it is reaped (a task that could not exec ends with ChildExit::start_error).
  ::fcntl(report[0], F_SETFL, O_NONBLOCK);
  Child child(pid, true);
  child.keeper_ = true;
  child.program_ = options.argv[0];
  child.report_fd_ = report[0];
  return child;
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
  if (options.keeper.enabled) {
    // What exec would refuse at once is refused here, as without a keeper (it reports the rest later).
    if (options.argv[0].find('/') != std::string::npos) {  // (a PATH match is executable already)
      std::string path = *program;
      if (path[0] != '/' && !options.workdir.empty()) path = options.workdir + "/" + path;
      if (!FindProgram(path, ""))
        return StartError(options.argv[0], {1, ::access(path.c_str(), F_OK) == 0 ? EACCES : ENOENT});
    }
    return StartWithKeeper(options, program->c_str(), argv.data(), envp.data(), max_fd);
  }

  ExecFailure failure;
  const pid_t pid = ForkExec(options, program->c_str(), argv.data(), envp.data(), max_fd, &failure);
  if (pid < 0) return StartError(options.argv[0], failure);
  return Child(pid, options.own_process_group);
}

Child::Child(Child&& other) noexcept { *this = std::move(other); }

Child& Child::operator=(Child&& other) noexcept {
  if (this == &other) return *this;
  if (report_fd_ >= 0) ::close(report_fd_);
  pid_ = other.pid_;
  group_ = other.group_;
  timed_out_ = other.timed_out_;
  exit_ = other.exit_;
  keeper_ = other.keeper_;
  task_pid_ = other.task_pid_;
  report_fd_ = other.report_fd_;
  task_status_ = other.task_status_;
  start_failure_ = other.start_failure_;
  other.pid_ = -1;
  other.exit_ = ChildExit{};
  other.report_fd_ = -1;
  return *this;
}

Child::~Child() {
  if (report_fd_ >= 0) ::close(report_fd_);
}

std::optional<int> Child::FirstProcessExit() {
  ReadReports();
  return task_status_;
}

void Child::ReadReports() {
  while (report_fd_ >= 0) {
    KeeperMessage m{};
    const ssize_t n = ::read(report_fd_, &m, sizeof m);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof m)) break;
    if (m.kind == KeeperMessage::kStarted) task_pid_ = m.a;
    if (m.kind == KeeperMessage::kExited) task_status_ = m.a;
    if (m.kind == KeeperMessage::kFailed) start_failure_ = StartError(program_, {m.a, m.b}).message;
  }
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

void Child::Reaped(int status) {
  // With a keeper, the task's own status (sent before the keeper exits); the keeper's only when it was
  // killed before the task ended.
  if (report_fd_ >= 0) {
    ReadReports();
    ::close(report_fd_);
    report_fd_ = -1;
    if (task_status_) status = *task_status_;
  }
  exit_ = ExitOf(status, timed_out_);
  exit_->start_error = start_failure_;
}

void Child::Signal(int signal) const {
  if (exit_ || pid_ <= 0) return;
  if (keeper_) {  // a keeper stops its tree itself; SIGKILL ends its group too
    ::kill(pid_, signal);
    if (signal == SIGKILL) ::kill(-pid_, SIGKILL);
    return;
  }
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
  if (!group_ || pid_ <= 0 || keeper_) return;
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

}  // namespace migctl
