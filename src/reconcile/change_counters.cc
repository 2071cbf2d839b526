#include "reconcile/change_counters.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "common/private_dir.h"

namespace migctl {
namespace {

ChangeCounters Parse(const std::string& text) {
  ChangeCounters counters;
  const nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("commands") || !doc["commands"].is_object())
    return counters;
  for (const auto& [name, c] : doc["commands"].items()) {
    if (!c.is_object()) continue;
    CommandChanges& out = counters[name];
    out.succeeded = c.value("succeeded", 0ULL);
    out.failed = c.value("failed", 0ULL);
    out.last_ok = c.value("last_ok", false);
    out.last_time = c.value("last_time", static_cast<std::time_t>(0));
    out.last_seconds = c.value("last_seconds", 0.0);
  }
  return counters;
}

}  // namespace

std::string CommandOf(const std::string& text) {
  const size_t space = text.find(' ');
  if (text.starts_with("slurm ")) return text.substr(0, text.find(' ', space + 1));
  return text.substr(0, space);
}

Status RecordChange(const std::string& given_dir, const std::string& command, bool ok, double seconds,
                    std::time_t now) {
  // The conductor's own check of the run directory: nothing is written where someone else could interfere.
  MIGCTL_ASSIGN_OR_RETURN(const std::string run_dir,
                          EnsurePrivateDir(given_dir, "set MIGCTL_RUN_DIR to a directory of yours"));
  MIGCTL_ASSIGN_OR_RETURN(const int lock, OpenForAppend(run_dir + "/changes.lock", O_WRONLY, 0600));
  if (::flock(lock, LOCK_EX) != 0) {
    ::close(lock);
    return MakeError(ErrorCode::kIo, "cannot lock " + run_dir + "/changes.lock");
  }
  const std::string path = run_dir + "/changes.json";
  Result<std::string> text = ReadFile(path);
  ChangeCounters counters = text.ok() ? Parse(*text) : ChangeCounters{};
  CommandChanges& c = counters[command];
  ++(ok ? c.succeeded : c.failed);
  c.last_ok = ok;
  c.last_time = now;
  c.last_seconds = seconds;
  nlohmann::json doc = {{"version", 1}, {"commands", nlohmann::json::object()}};
  for (const auto& [name, v] : counters)
    doc["commands"][name] = {{"succeeded", v.succeeded},
                             {"failed", v.failed},
                             {"last_ok", v.last_ok},
                             {"last_time", v.last_time},
                             {"last_seconds", v.last_seconds}};
  Status written = WriteFileAtomically(path, doc.dump(2) + "\n", 0644);
  ::close(lock);  // releases the flock
  return written;
}

Result<ChangeCounters> ReadChangeCounters(const std::string& run_dir) {
  Result<std::string> text = ReadFile(run_dir + "/changes.json");
  if (!text.ok()) {
    if (text.error().code == ErrorCode::kNotFound) return ChangeCounters{};
    return text.error();
  }
  return Parse(*text);
}

}  // namespace migctl
