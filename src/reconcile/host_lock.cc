#include "reconcile/host_lock.h"

#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

namespace migctl {
namespace {

int HolderPid(const std::string& path) {
  Result<std::string> text = ReadFile(path);
  return text.ok() ? std::atoi(text->c_str()) : 0;
}

}  // namespace

Result<HostLock> HostLock::Acquire(const std::string& run_dir, std::chrono::milliseconds timeout,
                                   const std::function<void(int)>& on_wait) {
  const std::string path = run_dir + "/apply.lock";
  const std::string owner = run_dir + "/apply.owner";
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  for (;;) {
    Result<FileLock> lock = FileLock::TryAcquire(path, LOCK_EX);
    if (lock.ok()) {
      // Best effort: who holds it, for the messages of those who wait.
      (void)WriteFileAtomically(owner, std::to_string(::getpid()) + "\n", 0644);
      return HostLock(std::move(*lock));
    }
    if (lock.error().code != ErrorCode::kBusy) return lock.error();
    const int holder = HolderPid(owner);
    if (std::chrono::steady_clock::now() >= deadline)
      return MakeError(
          ErrorCode::kBusy,
          fmt::format("another migctl{} is changing this host's GPUs (lock {}); wait for it to finish "
                      "or raise --lock-timeout",
                      holder > 0 ? fmt::format(" (pid {})", holder) : "", path));
    if (!told && on_wait) on_wait(holder);
    told = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace migctl
