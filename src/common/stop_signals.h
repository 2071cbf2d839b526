// SIGINT, SIGTERM and SIGHUP recorded instead of ending migctl, for as long as a StopSignals lives, with a
// self-pipe whose read end wakes a poll loop (also on SIGCHLD, when asked). One mechanism for every loop that
// must stop in order (`run`'s supervisor, `run --slurm`'s follower, `slurm reshape --watch`) and for the
// stretch before them where a signal must not kill migctl half-way (`run` creating slices).
//
// Scopes nest: an inner one keeps a signal the outer one recorded (a Ctrl-C while `run` created its slices
// stops the supervisor that follows at once), wakes its own pipe, and on its end the outer one's handlers and
// pipe are back. The first signal wins. Handlers use SA_RESTART, so a driver call in progress is not
// interrupted. Not thread-safe: install and remove from one thread.
#pragma once

#include <signal.h>

#include <array>

#include "common/result.h"

namespace migctl {

class StopSignals {
 public:
  StopSignals() = default;
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  /// Restores the dispositions and the wake pipe that were in place before Install.
  ~StopSignals();

  /// Installs the handlers (and, with `sigchld`, one that only wakes the pipe on SIGCHLD). kIo when the pipe
  /// cannot be made. The recorded signal is cleared only by an outermost scope.
  Status Install(bool sigchld = false);

  /// The first stop signal recorded since the outermost scope was installed; 0 for none.
  int signal() const;
  /// The pipe's read end: readable after a signal.
  int read_fd() const { return read_fd_; }
  /// Empties the pipe.
  void Drain() const;

 private:
  static constexpr std::array<int, 4> kSignals = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};
  int read_fd_ = -1, write_fd_ = -1;
  int outer_wake_fd_ = -1;
  bool installed_ = false;
  std::array<struct sigaction, 4> saved_{};
  std::array<bool, 4> set_{};
};

}  // namespace migctl
