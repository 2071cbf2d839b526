// One GPU change (any command: reconcile/conductor.h) at a time per host: an exclusive flock on `<run
// dir>/apply.lock`. The kernel releases it when the holder dies, so a killed migctl never leaves the host
// locked.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/file_io.h"
#include "common/result.h"

namespace migctl {

class HostLock {
 public:
  /// Takes the lock in `run_dir` (which exists and is private: common/private_dir.h), waiting up to `timeout`
  /// (zero: do not wait). `on_wait` is called once, with the holder's
  /// pid (0 when unknown), when the lock is busy. Errors: kBusy naming the holder when the wait times out;
  /// kIo when the lock file cannot be created.
  static Result<HostLock> Acquire(const std::string& run_dir, std::chrono::milliseconds timeout,
                                  const std::function<void(int holder_pid)>& on_wait);

 private:
  explicit HostLock(FileLock lock) : lock_(std::move(lock)) {}
  FileLock lock_;
};

}  // namespace migctl
