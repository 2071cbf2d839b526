// How many GPU changes each command made on this host and how the last one went, kept beside the journal in
// the run directory (`changes.json`, cleared at boot with /run) for the exporter. Updated under its own
// flock, so concurrent migctl processes lose no count.
#pragma once

#include <ctime>
#include <map>
#include <string>

#include "common/result.h"

namespace migctl {

struct CommandChanges {
  unsigned long long succeeded = 0;
  unsigned long long failed = 0;
  bool last_ok = false;
  std::time_t last_time = 0;  ///< When the last one ended (Unix seconds).
  double last_seconds = 0;    ///< How long it took.
};

/// By command (`apply`, `create`, `reshape`, `slurm reshape`…).
using ChangeCounters = std::map<std::string, CommandChanges>;

/// The command a ChangeRequest's `command` text names: its first word, or its first two for `slurm …`
/// (`apply -f mig.yaml -c x` -> `apply`; `mode enable` -> `mode`; `slurm reshape` -> `slurm reshape`).
std::string CommandOf(const std::string& text);

/// Counts one change of `command` in `run_dir`/changes.json. The directory is checked (and made) as the
/// conductor does (EnsurePrivateDir): kInvalidInput when someone else could change it; kIo when the file
/// cannot be updated. A file that does not parse is started again (the counts are a convenience, not a
/// record).
Status RecordChange(const std::string& run_dir, const std::string& command, bool ok, double seconds,
                    std::time_t now);

/// The counts in `run_dir` (none when there is no file yet).
Result<ChangeCounters> ReadChangeCounters(const std::string& run_dir);

}  // namespace migctl
