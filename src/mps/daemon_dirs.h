// Where an MPS control daemon and its clients meet: the pipe directory (the daemon's `control` pipe, its
// servers' sockets, the daemon's pid file) and the log directory (control.log, server.log). migctl makes both
// private to the user who runs it (0700), so MPS clients must run as that user: migctl's own workers do.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>

#include "common/result.h"

namespace migctl::mps {

struct DaemonDirs {
  std::string pipe_dir;  ///< CUDA_MPS_PIPE_DIRECTORY
  std::string log_dir;   ///< CUDA_MPS_LOG_DIRECTORY
  bool operator==(const DaemonDirs&) const = default;
};

/// `root/pipe` and `root/log`: the layout of a daemon that `migctl mps start` or `migctl run` places under
/// one directory.
DaemonDirs DirsUnder(const std::string& root);

/// Where this user's MPS daemons live unless told otherwise: $MIGCTL_MPS_DIR, else /tmp/migctl-mps-UID.
std::string DefaultRoot();

/// EnsurePrivateDir (common/private_dir.h) for `path`, then closes it to readers too (0700): the daemon's
/// pipes are for this user only. Both `migctl mps start` and `migctl run --share mps` come through here, so
/// both refuse a directory, or a directory above it, that another user owns or can write (kInvalidInput,
/// naming it and MIGCTL_MPS_DIR); kIo when the file system fails.
Status MakePrivateDirectory(const std::string& path);

/// MakePrivateDirectory for both directories of `dirs`.
Status MakeDaemonDirs(const DaemonDirs& dirs);

/// `pipe_dir/control`: the daemon creates it once it listens.
std::string ControlPipePath(const DaemonDirs& dirs);

/// `log_dir/control.log`: what the daemon logs.
std::string ControlLogPath(const DaemonDirs& dirs);

/// `log_dir/control-output.log`: where migctl sends the control program's own stdout and stderr.
std::string OutputLogPath(const DaemonDirs& dirs);

/// The last `lines` non-empty lines after byte `from` of the file at `path`, joined with " | "; "" when there
/// is no such file or nothing there: the daemon's own account of why it stopped, for one-line errors.
std::string LogTail(const std::string& path, std::size_t from = 0, std::size_t lines = 3);

/// How long both logs are now, so that a hint quotes only what a start added (the logs are appended to).
struct LogMark {
  std::size_t control = 0;
  std::size_t output = 0;
};
LogMark MarkLogs(const DaemonDirs& dirs);

/// What the daemon and the control program said since `mark`, for an error: "DIR/control.log says: ...".
std::string DaemonLogHint(const DaemonDirs& dirs, const LogMark& mark = {});

/// The pid in `pipe_dir/nvidia-cuda-mps-control.pid`, which the daemon writes (recent drivers, and our fake),
/// or nullopt when there is no such file or it holds no pid.
std::optional<pid_t> ReadDaemonPidFile(const DaemonDirs& dirs);

}  // namespace migctl::mps
