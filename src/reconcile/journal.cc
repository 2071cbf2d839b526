#include "reconcile/journal.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
    entry.pid = doc["journal"].value("pid", 0);
    entry.command = doc["journal"].value("command", "");
  }
  return entry;
}

}  // namespace

std::string Journal::PathFor(const GpuUuid& uuid) const { return dir_ + "/gpu-" + uuid.value() + ".json"; }

Result<JournalEntry> Journal::Begin(const GpuCheckpoint& before, const std::string& command) {
  MIGCTL_ASSIGN_OR_RETURN(std::optional<JournalEntry> existing, Find(before.uuid));
  if (existing) return *existing;
  MIGCTL_RETURN_IF_ERROR(MakeDirectories(dir_));
  const std::string path = PathFor(before.uuid);
  nlohmann::json meta = {{"pid", ::getpid()}, {"command", command}};
  MIGCTL_RETURN_IF_ERROR(
      WriteFileAtomically(path, CheckpointToJson({{before}}, "journal", meta.dump()), true));
  return JournalEntry{path, before, ::getpid(), command};
}

Result<std::optional<JournalEntry>> Journal::Find(const GpuUuid& uuid) const {
  const std::string path = PathFor(uuid);
  if (::access(path.c_str(), F_OK) != 0) return std::optional<JournalEntry>();
  MIGCTL_ASSIGN_OR_RETURN(JournalEntry entry, Load(path));
  return std::optional<JournalEntry>(std::move(entry));
}

Result<std::vector<JournalEntry>> Journal::Entries() const {
  std::vector<JournalEntry> out;
  DIR* dir = ::opendir(dir_.c_str());
  if (dir == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name.rfind("gpu-", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".json")
      names.push_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    MIGCTL_ASSIGN_OR_RETURN(JournalEntry entry, Load(dir_ + "/" + name));
    out.push_back(std::move(entry));
  }
  return out;
}

Status Journal::End(const GpuUuid& uuid) {
  const std::string path = PathFor(uuid);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot remove journal entry {}: {}", path, std::strerror(errno)));
  return Ok();
}

}  // namespace migctl
