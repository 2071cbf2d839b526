// Device leases: a worker may run a task on a device only while it holds that device's lease, an exclusive
// flock on DIR/KEY.lock. The lease belongs to the task, not to a descriptor the task could close: migctl
// hands its locked descriptor to the task's keeper (common/child_process.h, KeeperOptions), which holds it
// until the last process of the task's tree has ended, whatever the task does (closes its descriptors,
// setsid, double-forks), and migctl then lets go of its own copy. The keeper also writes the tree's record
// into the lock file (common/task_tree.h: its own pid and start time, the task's processes, its cgroup).
//
// A lease is free only when the flock is free *and* no process the record names still runs (same pid, same
// start time) *and* the record's cgroup is empty: should the keeper itself be killed (SIGKILL, the OOM
// killer), a later migctl still sees the task's surviving processes and waits for them instead of putting a
// second task on the slice. Two `migctl run` on one host therefore never share a slice.
//
// Thread-safety: none.
//
// Leases live in a private directory of the user who runs migctl (see common/private_dir.h): a shared,
// world-writable one let anyone plant a link as a lock file and have root change and overwrite its target.
// Lock files are opened without following links, created 0600, must be the user's own, and are only written
// through the locked descriptor. Runs of different users therefore have separate leases; runs of one user,
// root included, exclude each other.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "common/result.h"

namespace migctl {

/// One held lease. Move-only; destroying it (or Release) closes migctl's descriptor.
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  /// The locked descriptor (close-on-exec): give it to the task's keeper (KeeperOptions::hold_fds and
  /// record_fd), then Release migctl's copy.
  int fd() const { return fd_; }
  const std::string& key() const { return key_; }
  /// Closes migctl's descriptor. After a keeper took it, the keeper alone holds the lease.
  void Release();

 private:
  friend class LeaseTable;
  Lease(int fd, std::string key) : fd_(fd), key_(std::move(key)) {}
  int fd_ = -1;
  std::string key_;
};

class LeaseTable {
 public:
  /// `dir` is created and checked with EnsurePrivateDir on first use.
  explicit LeaseTable(std::string dir) : dir_(std::move(dir)) {}

  /// Creates and checks the directory (EnsurePrivateDir), which TryAcquire otherwise does on first use:
  /// call it before starting anything, so that a refused directory is one error, not a stopped run.
  /// kInvalidInput naming the directory and MIGCTL_LEASE_DIR when it is not private; kIo otherwise.
  Status Prepare();

  /// Takes the lease on `key` (a MIG UUID, or `GPU-…/slotN`-like keys with '/' mapped to '.'), or nullopt
  /// when it is held: its flock is taken (by another run, or by a keeper of ours whose tree still lives), or
  /// the tree its record names still has a live process (a stale record stays until the next keeper writes
  /// over it: it names only processes that have ended). kInvalidInput when the
  /// directory is not private (EnsurePrivateDir) or the lock file is a link, not a regular file or not ours;
  /// kIo when it cannot be made or opened.
  Result<std::optional<Lease>> TryAcquire(const std::string& key);
  /// A live process of whoever holds `key`, from its record (the keeper first), when there is one.
  std::optional<pid_t> Holder(const std::string& key) const;
  /// Every held key with a live process of its holder (as Holder), from one pass over the directory; keys
  /// as their files name them ('/' read as '.': `GPU-…/slot0` is `GPU-….slot0`). Empty when the directory
  /// does not exist or cannot be read.
  std::map<std::string, pid_t> Holders() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string PathOf(const std::string& key) const;
  std::string dir_;
  bool dir_ready_ = false;
};

/// Where leases live: MIGCTL_LEASE_DIR, else `leases/` in `run_dir` for a simulated machine, else
/// DefaultPrivateDir("leases") (/run/migctl/leases for root). Checked by LeaseTable on first use.
std::string DefaultLeaseDir(bool simulated, const std::string& run_dir);

}  // namespace migctl
