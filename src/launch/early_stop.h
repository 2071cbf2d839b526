// SIGINT, SIGTERM and SIGHUP while a run prepares (creates its partitions, starts its MPS daemon), before its
// supervisor takes these signals over: recorded instead of ending migctl, so that the run still stops in
// order and removes what it made (--ephemeral). The supervisor asks for the recorded signal once its own
// handlers are installed (SupervisorOptions::stopped_before) and then stops at once, running no task.
#pragma once

namespace migctl {

class EarlyStop {
 public:
  /// Installs the recording handler (SA_RESTART: a driver call in progress is not interrupted), saving the
  /// previous dispositions. One at a time in a process.
  EarlyStop();
  /// Puts the previous dispositions back.
  ~EarlyStop();
  EarlyStop(const EarlyStop&) = delete;
  EarlyStop& operator=(const EarlyStop&) = delete;

  /// The first signal received since construction; 0 for none.
  int signal() const;
};

}  // namespace migctl
