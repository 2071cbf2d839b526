// An MPS control daemon the user manages (`migctl mps start|status|stop`): it outlives migctl, so it is
// started with `nvidia-cuda-mps-control -d` under one directory DIR (pipe DIR/pipe, logs DIR/log) and what
// was started is recorded in DIR/migctl-mps.json. Whether it runs is always asked of the daemon itself
// (does it answer through its pipe?); the record only says what migctl started there. Start and stop hold
// DIR/migctl-mps.lock, so two of them on one DIR take turns. Every process is started, watched, waited for
// and timed on `host` (common/process_host.h): the real one, or a FakeProcessHost in tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/process_host.h"
#include "common/result.h"
#include "mps/daemon_dirs.h"
#include "mps/daemon_record.h"

namespace migctl::mps {

/// DIR/migctl-mps.json.
std::string RecordPath(const std::string& root);

struct DetachedOptions {
  std::string root;                                   ///< DIR; created (0700) when missing.
  std::vector<GpuUuid> gpus;                          ///< CUDA_VISIBLE_DEVICES of the daemon; empty: all.
  std::optional<unsigned> default_thread_percentage;  ///< set_default_active_thread_percentage N.
  std::chrono::milliseconds start_timeout = std::chrono::seconds(10);
};

/// Starts a daemon under `options.root`, waits until it answers, sets the thread percentage and writes the
/// record (replacing a stale one whose daemon has gone). Errors:
/// - kUnsupported: no control program (FindControlProgram);
/// - kBusy: a daemon already answers in DIR/pipe (the message says how to stop it);
/// - kIo: DIR cannot be made private, `-d` fails (its message and control.log are quoted), the daemon does
///   not answer within `start_timeout`, or the record cannot be written (then the daemon is told to quit).
Result<DaemonRecord> StartDetached(const DetachedOptions& options, ProcessHost& host = RealProcessHost());

/// What runs under DIR now.
struct DetachedStatus {
  DaemonDirs dirs;
  std::optional<DaemonRecord> record;  ///< What migctl started there; nullopt: none recorded.
  bool answering = false;              ///< A daemon answers through DIR/pipe.
  /// It no longer answers but its process lives: told to quit, it waits for its MPS clients to finish.
  bool quitting = false;
  std::optional<pid_t> pid;       ///< From the daemon's pid file, while it answers or quits.
  std::vector<unsigned> servers;  ///< Its MPS servers' pids, while it answers.
  /// Its default thread percentage as it reports it (get_default_active_thread_percentage), while it answers.
  std::optional<double> default_thread_percentage;
};

/// Asks the daemon under `root` (if any) how it is. Not answering is a status, not an error. Errors:
/// kUnsupported (no control program), kCorrupt (an unreadable record), kIo.
Result<DetachedStatus> QueryDetached(const std::string& root, ProcessHost& host = RealProcessHost());

/// Tells the daemon under `root` to quit, waits up to `timeout` until it has ended (its pid, when its pid
/// file names one; else until it no longer answers), then removes the record. Returns the daemon's pid when
/// known. Errors:
/// - kNotFound: no daemon answers there (a stale record is removed; the message says so);
/// - kBusy: it still runs after `timeout`: the real daemon waits for its clients to finish, then quits by
///   itself (the record stays until a later stop finds it gone);
/// - kUnsupported, kCorrupt, kIo as QueryDetached.
Result<std::optional<pid_t>> StopDetached(const std::string& root, std::chrono::milliseconds timeout,
                                          ProcessHost& host = RealProcessHost());

}  // namespace migctl::mps
