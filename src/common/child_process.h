// Child processes, explicitly: the caller builds the whole environment and the argv (no shell), chooses
// where stdin/stdout/stderr go and which descriptors the child inherits; the child gets its own process group
// (so a stop reaches its whole tree) and, optionally, SIGTERM when migctl dies. With a keeper (KeeperOptions)
// the child is a whole task tree, however it forks. A Child is reaped by whoever waits for it.
//
// This is the real side of the process seam (common/process_host.h: RealProcessHost, and RunProcess for a
// child run to completion with a timeout); code that must be testable on a virtual clock uses that seam.
// Thread-safety: none; one thread starts, waits for and signals its children.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace migctl {

/// How a child ended.
struct ChildExit {
  int exit_status = 0;     ///< When it exited: its status.
  int signal = 0;          ///< When a signal ended it: the signal, else 0.
  bool timed_out = false;  ///< We stopped it because its time was up.

  /// With a keeper: the task could not be started (exec failed), and why; the exit is the keeper's.
  std::optional<std::string> start_error;

  bool success() const { return exit_status == 0 && signal == 0 && !timed_out && !start_error; }
  /// `exit status 3`, `killed by SIGKILL`, `timed out, stopped by SIGTERM`.
  std::string Describe() const;
};

/// migctl's own PATH, or the usual system PATH when it has none.
std::string OwnPath();

/// migctl's own environment (`NAME=value` entries), which children start from.
std::vector<std::string> OwnEnvironment();

/// `program` itself when it has a '/' and is an executable file, else its first executable match in the
/// colon-separated `path` (an empty entry is the working directory); nullopt when there is none.
std::optional<std::string> FindProgram(const std::string& program, const std::string& path);

/// `SIGTERM`, `SIGKILL`, or `signal 99` for one without a name.
std::string SignalName(int signal);

/// A keeper between migctl and a task, which makes the task's whole process tree one thing to hold a lease
/// for and to stop. Start forks the keeper first: a copy of migctl (no exec, named `migctl-keeper`) that
/// becomes a child subreaper (PR_SET_CHILD_SUBREAPER), joins `cgroup`, holds `hold_fds`, and starts the task
/// as its own child. Whatever the task does (closes its descriptors, calls setsid, double-forks), its
/// processes stay in the keeper's tree: an orphan is re-parented to the keeper. The keeper exits only when
/// the last of them has ended, so what it holds is held exactly as long as any process of the task lives.
/// SIGTERM, SIGINT or SIGHUP to the keeper, or migctl's death (parent-death signal), make it send SIGTERM
/// (and SIGCONT) to every process of the tree and, `grace` later, SIGKILL to whatever is left. It cannot see
/// a process the task has someone else start (a daemon asked over a socket), nor one that moves itself out
/// of the cgroup, and it dies with SIGKILL like any process (then the record says what still runs).
struct KeeperOptions {
  bool enabled = false;
  /// Descriptors the keeper holds for the tree's whole life and the task does not get (a lease's flock).
  std::vector<int> hold_fds;
  /// One of `hold_fds` (or -1): the keeper writes the tree's record (common/task_tree.h) into it, and
  /// rewrites it with the processes that outlive the task's first one.
  int record_fd = -1;
  std::string cgroup;  ///< A cgroup directory (common/task_cgroup.h) the tree is put in; empty: none.
  std::chrono::milliseconds grace{10000};
};

struct ChildOptions {
  /// argv[0] is the program: with a '/', a path (relative to `workdir` when relative); without, looked up in
  /// the PATH of `env` (else migctl's own PATH).
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< `NAME=value` entries: the child's whole environment.
  std::string workdir;           ///< Empty: migctl's working directory.
  int stdin_fd = -1;             ///< -1: /dev/null. Else this descriptor becomes the child's stdin.
  int stdout_fd = -1;            ///< -1: migctl's stdout. Else this descriptor becomes the child's stdout.
  int stderr_fd = -1;            ///< -1: migctl's stderr. Else this descriptor becomes the child's stderr.
  /// Descriptors the child keeps open under the same numbers (e.g. a lease's flock). Every other descriptor
  /// except 0-2 is closed in the child.
  std::vector<int> inherit_fds;
  bool own_process_group =
      true;                     ///< setpgid(0, 0): terminal Ctrl-C does not reach it; Stop reaches its tree.
  bool die_with_parent = true;  ///< SIGTERM when migctl dies (Linux PR_SET_PDEATHSIG), even by SIGKILL.
  /// Run the child under a keeper (KeeperOptions). Then the child stays in the keeper's process group.
  KeeperOptions keeper;
};

/// A started child. Move-only; destroying a Child that still runs does not stop it (call Stop and Wait).
class Child {
 public:
  /// Starts a child. Errors, with nothing left running: kNotFound when the program or the workdir does not
  /// exist (or is not executable), kIo for any other failure to start (fork, exec).
  static Result<Child> Start(const ChildOptions& options);

  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  /// The process migctl waits for: the child, or its keeper.
  pid_t pid() const { return pid_; }

  bool running() const { return !exit_.has_value(); }
  /// How it ended, once reaped.
  const std::optional<ChildExit>& exit() const { return exit_; }

  /// With a keeper: the wait status of the task's first process once it has ended (its tree may live on),
  /// without blocking; nullopt before, and always without a keeper.
  std::optional<int> FirstProcessExit();
  /// Reaps the child if it has ended, without blocking. Returns its exit once reaped, else nullopt.
  std::optional<ChildExit> Poll();
  /// Blocks until the child ends and reaps it.
  ChildExit Wait();
  /// Records `status` from a waitpid the caller made itself (a supervisor that reaps with waitpid(-1)).
  void Reaped(int status);
  /// Sends `signal` to the child's process group (or the child alone without one); with a keeper, to the
  /// keeper (which stops the tree), and SIGKILL also to its group. No effect once reaped.
  void Signal(int signal) const;
  /// Once the child is reaped: SIGKILLs what is left of its process group (its background grandchildren)
  /// and waits, up to `timeout`, until each of them has exited, so that a stopped task leaves nothing
  /// running. No effect for a child without a group of its own, or with a keeper (its tree has ended).
  void EndGroup(std::chrono::milliseconds timeout) const;
  /// Marks the run as stopped for running past its time, so the exit reads `timed out`.
  void MarkTimedOut() { timed_out_ = true; }

 private:
  Child(pid_t pid, bool group) : pid_(pid), group_(group) {}
  static Result<Child> StartWithKeeper(const ChildOptions& options, const char* program, char* const* argv,
                                       char* const* envp, long max_fd);
  /// With a keeper: reads what it has reported (the task's pid, its wait status, a failed exec).
  void ReadReports();
  pid_t pid_ = -1;
  bool group_ = false;
  bool keeper_ = false;
  std::string program_;  ///< With a keeper: argv[0], for a start error.
  pid_t task_pid_ = -1;  ///< With a keeper: the task's first process, once reported.
  int report_fd_ = -1;   ///< With a keeper: what it reports (KeeperMessage).
  std::optional<int> task_status_;
  std::optional<std::string> start_failure_;
  bool timed_out_ = false;
  std::optional<ChildExit> exit_;
};

}  // namespace migctl
