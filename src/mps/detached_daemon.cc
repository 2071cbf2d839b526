#include "mps/detached_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "common/file_io.h"
#include "mps/control_client.h"

namespace migctl::mps {
namespace {

using std::chrono::milliseconds;
using Clock = ProcessHost::Clock;

constexpr milliseconds kPollInterval(50);

std::string LockPath(const std::string& root) { return root + "/migctl-mps.lock"; }

/// True when `pid` has ended: no such process, or a zombie nobody has reaped yet.
bool ProcessGone(ProcessHost& host, pid_t pid) { return !host.CommandLine(pid).has_value(); }

/// Whether a command line is an MPS control program's (`nvidia-cuda-mps-control`, or a stand-in for it).
bool IsControlDaemon(const std::string& cmdline) { return cmdline.find("mps-control") != std::string::npos; }

/// The pid of a control daemon that lives but may not answer (it quits, and waits for its clients): its pid
/// file names a process whose command line is a control program's (not another that reused a stale pid).
std::optional<pid_t> LivingDaemon(ProcessHost& host, const DaemonDirs& dirs) {
  std::optional<pid_t> pid = ReadDaemonPidFile(dirs);
  if (!pid) return std::nullopt;
  std::optional<std::string> cmdline = host.CommandLine(*pid);
  if (!cmdline || !IsControlDaemon(*cmdline)) return std::nullopt;
  return pid;
}

/// Waits until `done` holds or `deadline` passes; returns `done()` at the end.
template <typename Predicate>
bool PollUntil(ProcessHost& host, Clock::time_point deadline, Predicate done) {
  for (;;) {
    if (done()) return true;
    const Clock::time_point now = host.Now();
    if (now >= deadline) return false;
    host.SleepUntil(std::min(deadline, now + kPollInterval));
  }
}

std::string Described(const std::optional<pid_t>& pid) {
  return pid ? fmt::format(" (pid {})", *pid) : std::string();
}

/// Runs `program -d`; its output is appended to control-output.log.
Status Daemonize(ProcessHost& host, const std::string& program, const DetachedOptions& options,
                 const DaemonDirs& dirs, const LogMark& mark) {
  const std::string output = OutputLogPath(dirs);
  MIGCTL_ASSIGN_OR_RETURN(const int output_fd, OpenForAppend(output, O_WRONLY, 0600));
  ChildOptions child;
  child.argv = {program, "-d"};
  child.env = ControlEnvironment(dirs, options.gpus);
  child.stdout_fd = output_fd;
  child.stderr_fd = output_fd;
  child.own_process_group = true;
  child.die_with_parent = false;  // the daemon is meant to outlive migctl
  Result<ChildExit> exit = RunProcess(host, child, options.start_timeout, milliseconds(1000));
  ::close(output_fd);
  if (!exit.ok())
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot start the MPS control daemon: {}", exit.error().message));
  if (!exit->success())
    return MakeError(ErrorCode::kIo, fmt::format("{} -d failed ({}); {}", program, exit->Describe(),
                                                 DaemonLogHint(dirs, mark)));
  return Ok();
}

}  // namespace

std::string RecordPath(const std::string& root) { return root + "/migctl-mps.json"; }

Result<DaemonRecord> StartDetached(const DetachedOptions& options, ProcessHost& host) {
  MIGCTL_ASSIGN_OR_RETURN(std::string program, FindControlProgram());
  MIGCTL_RETURN_IF_ERROR(MakePrivateDirectory(options.root));
  const DaemonDirs dirs = DirsUnder(options.root);
  MIGCTL_RETURN_IF_ERROR(MakeDaemonDirs(dirs));
  MIGCTL_ASSIGN_OR_RETURN(FileLock lock, FileLock::Acquire(LockPath(options.root), LOCK_EX));
  ControlClient client(program, dirs, host);
  if (client.Answering())
    return MakeError(ErrorCode::kBusy,
                     fmt::format("an MPS control daemon{} already runs in {}: stop it with 'migctl mps stop "
                                 "--dir {}', or choose another --dir",
                                 Described(ReadDaemonPidFile(dirs)), options.root, options.root));

  const LogMark mark = MarkLogs(dirs);
  MIGCTL_RETURN_IF_ERROR(Daemonize(host, program, options, dirs, mark));
  const Clock::time_point deadline = host.Now() + options.start_timeout;
  if (!PollUntil(host, deadline, [&] { return client.Answering(); })) {
    std::optional<pid_t> pid = ReadDaemonPidFile(dirs);
    const bool stopped = pid && host.Kill(*pid, SIGTERM, IsControlDaemon);
    return MakeError(ErrorCode::kIo,
                     fmt::format("the MPS control daemon{} started by {} -d did not answer "
                                 "within {} ms{}; {}",
                                 Described(pid), program, options.start_timeout.count(),
                                 stopped ? ", so it was sent SIGTERM" : "", DaemonLogHint(dirs, mark)));
  }

  DaemonRecord record{dirs,    options.gpus,  options.default_thread_percentage, ReadDaemonPidFile(dirs),
                      program, UtcTimestamp()};
  Status ready = Ok();
  if (options.default_thread_percentage) {
    Result<std::string> set = client.Send(
        fmt::format("set_default_active_thread_percentage {}", *options.default_thread_percentage));
    if (!set.ok())
      ready = set.error().WithContext(fmt::format("the MPS control daemon refused thread percentage {}: ",
                                                  *options.default_thread_percentage));
  }
  if (ready.ok()) ready = WriteDaemonRecord(RecordPath(options.root), record);
  if (!ready.ok()) {
    (void)client.Send("quit");  // the error being returned is the one that matters
    return MakeError(ErrorCode::kIo, ready.error().message + "; the daemon was told to quit");
  }
  return record;
}

Result<DetachedStatus> QueryDetached(const std::string& root, ProcessHost& host) {
  MIGCTL_ASSIGN_OR_RETURN(std::string program, FindControlProgram());
  DetachedStatus status;
  status.dirs = DirsUnder(root);
  Result<DaemonRecord> record = ReadDaemonRecord(RecordPath(root));
  if (record.ok()) {
    status.record = std::move(record).value();
  } else if (record.error().code != ErrorCode::kNotFound) {
    return std::move(record).error();
  }
  ControlClient client(program, status.dirs, host);
  if (client.Answering()) {
    Result<std::vector<unsigned>> servers = client.ServerList();
    if (servers.ok()) {
      status.answering = true;
      status.servers = std::move(servers).value();
      status.pid = ReadDaemonPidFile(status.dirs);
      // Informational: a daemon too old to report its default leaves it unknown.
      if (Result<std::string> reply = client.Send("get_default_active_thread_percentage"); reply.ok()) {
        char* end = nullptr;
        double value = std::strtod(reply->c_str(), &end);
        if (end != reply->c_str()) status.default_thread_percentage = value;
      }
      return status;
    }
    if (servers.error().code != ErrorCode::kNotFound) return std::move(servers).error();
  }
  status.pid = LivingDaemon(host, status.dirs);
  status.quitting = status.pid.has_value();
  return status;
}

Result<std::optional<pid_t>> StopDetached(const std::string& root, milliseconds timeout, ProcessHost& host) {
  MIGCTL_ASSIGN_OR_RETURN(std::string program, FindControlProgram());
  const DaemonDirs dirs = DirsUnder(root);
  Result<FileLock> lock = FileLock::Acquire(LockPath(root), LOCK_EX);
  if (!lock.ok() && lock.error().code == ErrorCode::kNotFound)  // no DIR: nothing was ever started there
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no MPS control daemon runs in {}: nothing to stop", root));
  if (!lock.ok()) return std::move(lock).error();

  const std::string record_path = RecordPath(root);
  Result<DaemonRecord> record = ReadDaemonRecord(record_path);
  if (!record.ok() && record.error().code != ErrorCode::kNotFound) return std::move(record).error();
  ControlClient client(program, dirs, host);
  const bool answering = client.Answering();
  const std::optional<pid_t> pid = answering ? ReadDaemonPidFile(dirs) : LivingDaemon(host, dirs);
  if (!answering && !pid) {
    std::string stale;
    if (record.ok() && ::unlink(record_path.c_str()) == 0)
      stale = fmt::format(" (removed the record of the daemon{} started at {}, which has gone)",
                          Described(record->pid), record->started_at);
    return MakeError(ErrorCode::kNotFound,
                     fmt::format("no MPS control daemon runs in {}: nothing to stop{}", root, stale));
  }
  const Clock::time_point deadline = host.Now() + timeout;
  // The real client does not return from `quit` until the daemon has shut down, which waits for the daemon's
  // clients: a timeout here means "told, still quitting", and no daemon at all means it has just gone.
  // Whether it has gone is what the poll decides: by its pid when known (a quitting daemon answers no one),
  // else by whether it still answers. A daemon that quits already is not told again.
  Result<std::string> told = answering ? client.Send("quit", timeout) : Result<std::string>(std::string());
  if (!PollUntil(host, deadline, [&] { return pid ? ProcessGone(host, *pid) : !client.Answering(); }))
    return MakeError(
        ErrorCode::kBusy,
        fmt::format("the MPS control daemon{} in {} still runs {} ms after it was told to quit{}: it "
                    "quits once its clients have finished (see {}); stop them, or wait and run this "
                    "again",
                    Described(pid), root, timeout.count(),
                    told.ok() ? "" : fmt::format(" ({})", told.error().message), ControlLogPath(dirs)));
  if (::unlink(record_path.c_str()) != 0 && errno != ENOENT)
    return MakeError(ErrorCode::kIo,
                     fmt::format("the MPS control daemon{} quit, but {} cannot be removed: {}",
                                 Described(pid), record_path, std::strerror(errno)));
  return pid;
}

}  // namespace migctl::mps
