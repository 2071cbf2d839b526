#include "common/stop_signals.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace migctl {
namespace {

volatile sig_atomic_t g_signal = 0;
volatile sig_atomic_t g_wake_fd = -1;
int g_depth = 0;  // scopes installed

void OnSignal(int signal) {
  const int saved = errno;
  if (signal != SIGCHLD && g_signal == 0) g_signal = signal;
  if (g_wake_fd >= 0) {
    const char c = 0;
    [[maybe_unused]] ssize_t n = ::write(g_wake_fd, &c, 1);
  }
  errno = saved;
}

}  // namespace

Status StopSignals::Install(bool sigchld) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot make a pipe: {}", std::strerror(errno)));
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  if (g_depth++ == 0) g_signal = 0;
  outer_wake_fd_ = g_wake_fd;
  g_wake_fd = write_fd_;
  struct sigaction action {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < kSignals.size(); ++i) {
    set_[i] = kSignals[i] != SIGCHLD || sigchld;
    if (set_[i]) ::sigaction(kSignals[i], &action, &saved_[i]);
  }
  installed_ = true;
  if (g_signal != 0) {  // recorded by an outer scope: this loop must see it too
    const char c = 0;
    [[maybe_unused]] ssize_t n = ::write(write_fd_, &c, 1);
  }
  return Ok();
}

StopSignals::~StopSignals() {
  if (!installed_) return;
  for (size_t i = 0; i < kSignals.size(); ++i)
    if (set_[i]) ::sigaction(kSignals[i], &saved_[i], nullptr);
  g_wake_fd = outer_wake_fd_;
  --g_depth;
  ::close(read_fd_);
  ::close(write_fd_);
}

int StopSignals::signal() const { return g_signal; }

void StopSignals::Drain() const {
  char buf[256];
  while (::read(read_fd_, buf, sizeof buf) > 0) {
  }
}

}  // namespace migctl
