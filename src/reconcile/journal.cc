#include "reconcile/journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file_io.h"

namespace migctl {
namespace {

Result<JournalEntry> Load(const std::string& path) {
  MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  MIGCTL_ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpoint(text, path));
  if (c.gpus.size() != 1)
    return MakeError(ErrorCode::kCorrupt, path + ": a journal entry holds exactly one GPU");
  JournalEntry entry{path, c.gpus[0], 0, ""};
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.contains("journal") && doc["journal"].is_object()) {
    const nlohmann::json& meta = doc["journal"];
    if (meta.contains("pid") && meta["pid"].is_number_integer()) entry.pid = meta["pid"].get<int>();
    if (meta.contains("command") && meta["command"].is_string())
      entry.command = meta["command"].get<std::string>();
  }
  return entry;
}

}  // namespace

std::string Journal::PathFor(const GpuUuid& uuid) const { return dir_ + "/gpu-" + uuid.value() + ".json"; }

Result<JournalEntry> Journal::Begin(const GpuCheckpoint& before, const std::string& command) {
  const std::string path = PathFor(before.uuid);
  nlohmann::json meta = {{"pid", ::getpid()}, {"command", command}};
  MIGCTL_RETURN_IF_ERROR(
      WriteFileAtomically(path, CheckpointToJson({{before}}, "journal", meta.dump()), 0600, true));
  return JournalEntry{path, before, ::getpid(), command};
}

Result<std::optional<JournalEntry>> Journal::Find(const GpuUuid& uuid, GpuIndex index) const {
  const std::string path = PathFor(uuid);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::optional<JournalEntry>();
  Result<JournalEntry> entry = Load(path);
  if (!entry.ok())
    return MakeError(
        ErrorCode::kCorrupt,
        fmt::format(
            "GPU {}'s journal entry {} cannot be read ({}): check the GPU with 'migctl status -i {}', "
            "then delete that file; GPU {} stays untouched until then",
            index.value(), path, entry.error().message, index.value(), index.value()));
  return std::optional<JournalEntry>(std::move(*entry));
}

Result<std::string> Journal::SetAside(const JournalEntry& entry) {
  const std::string to =
      fmt::format("{}/interrupted-{}-gpu-{}.json", dir_, entry.pid, entry.before.uuid.value());
  if (std::rename(entry.path.c_str(), to.c_str()) != 0)
    return MakeError(ErrorCode::kIo, fmt::format("cannot move the interrupted journal entry {} to {}: {}",
                                                 entry.path, to, std::strerror(errno)));
  return to;
}

Status Journal::End(const GpuUuid& uuid) {
  const std::string path = PathFor(uuid);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot remove journal entry {}: {}", path, std::strerror(errno)));
  return Ok();
}

}  // namespace migctl
