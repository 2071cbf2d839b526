// What `migctl mps start` started, kept beside the daemon in DIR/migctl-mps.json so that `status` and `stop`
// (later migctl processes) know it. Versioned JSON: {"format": "migctl-mps", "version": 1, ...}; a version
// this migctl does not know is refused, never guessed at.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "mps/daemon_dirs.h"

namespace migctl::mps {

inline constexpr int kDaemonRecordVersion = 1;

struct DaemonRecord {
  DaemonDirs dirs;
  std::vector<GpuUuid> gpus;                          ///< Its CUDA_VISIBLE_DEVICES; empty: every GPU.
  std::optional<unsigned> default_thread_percentage;  ///< As set at start.
  std::optional<pid_t> pid;                           ///< The daemon's, when it wrote a pid file.
  std::string program;                                ///< The control program that started it.
  std::string started_at;                             ///< UTC, ISO 8601 (`2025-01-31T12:00:00Z`).
  bool operator==(const DaemonRecord&) const = default;
};

/// The record as JSON text (one document, ending in a newline).
std::string FormatDaemonRecord(const DaemonRecord& record);

/// Parses FormatDaemonRecord's output. kCorrupt for text that is not such a record, or of another version
/// (the message names both versions and what to do).
Result<DaemonRecord> ParseDaemonRecord(std::string_view text);

/// Writes `record` to `path` atomically (readers see the old file or the new one). kIo on failure.
Status WriteDaemonRecord(const std::string& path, const DaemonRecord& record);

/// Reads the record at `path`. kNotFound when there is none; kCorrupt (prefixed with the path) when it is
/// unreadable; kIo otherwise.
Result<DaemonRecord> ReadDaemonRecord(const std::string& path);

/// Now, as DaemonRecord::started_at writes it.
std::string UtcTimestamp();

}  // namespace migctl::mps
