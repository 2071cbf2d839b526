// Device leases: a worker may run a task on a device only while it holds that device's lease, an exclusive
// flock on DIR/KEY.lock. The descriptor is handed to the task's child process, and migctl then lets go of its
// own copy, so the lease lives exactly as long as the child (and whatever inherits the descriptor from it):
// it ends by itself when the child dies, even when migctl is killed, and a worker whose previous child still
// lives cannot take the device again. Two `migctl run` on one host therefore never share a slice.
//
// The lock file also holds the pid of the last holder, as a hint for "waiting for ..." messages only; the
// flock alone decides. Thread-safety: none.
//
// Leases live in a private directory of the user who runs migctl (see common/private_dir.h): a shared,
// world-writable one let anyone plant a link as a lock file and have root change and overwrite its target.
// Lock files are opened without following links, created 0600, and only ever written in place (the pid hint),
// never chmod'ed or truncated. Runs of different users therefore have separate leases; runs of one user,
// root included, exclude each other.
#pragma once

#include <sys/types.h>

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

  /// The locked descriptor (close-on-exec): give it to the child through ChildOptions::inherit_fds.
  int fd() const { return fd_; }
  const std::string& key() const { return key_; }
  /// Records `pid` as the holder (the hint readers get from LeaseTable::Holder).
  void SetHolder(pid_t pid) const;
  /// Closes migctl's descriptor. After a child inherited it, the child alone holds the lease.
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
  /// when it is held (by another run, or by a child of ours that has not died yet). kInvalidInput when the
  /// directory is not private (EnsurePrivateDir) or the lock file is a link, not a regular file or not ours;
  /// kIo when it cannot be made or opened.
  Result<std::optional<Lease>> TryAcquire(const std::string& key);
  /// The pid last recorded on `key`, when there is one. A hint: it may have exited since.
  std::optional<pid_t> Holder(const std::string& key) const;
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
