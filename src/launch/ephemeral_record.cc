#include "launch/ephemeral_record.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace migctl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kVersion = 1;
constexpr size_t kMaxRecord = 1 << 20;

std::string PathOf(const std::string& dir, const ProcStamp& owner) {
  return fmt::format("{}/ephemeral-{}-{}.json", dir, owner.pid, owner.start);
}

}  // namespace

Result<FileLock> EphemeralLock(const std::string& dir) {
  return FileLock::Acquire(dir + "/ephemeral.lock", LOCK_EX);
}

Status WriteEphemeralRecord(const std::string& dir, const EphemeralRecord& record) {
  const std::string path = PathOf(dir, record.owner);
  if (record.gis.empty()) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return MakeError(ErrorCode::kIo, fmt::format("cannot remove {}: {}", path, std::strerror(errno)));
    return Ok();
  }
  json gis = json::array();
  for (const EphemeralGi& g : record.gis)
    gis.push_back({{"gpu_uuid", g.gpu_uuid}, {"gi", g.gi}, {"profile", g.profile}, {"start", g.start}});
  const json doc = {{"version", kVersion},
                    {"pid", record.owner.pid},
                    {"start_time", record.owner.start},
                    {"gpu_instances", gis}};
  return WriteFileAtomically(path, doc.dump(2) + "\n", 0600, /*durable=*/false);
}

std::vector<EphemeralRecord> OrphanedEphemeralRecords(const std::string& dir) {
  std::vector<EphemeralRecord> out;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("ephemeral-") || !name.ends_with(".json") || entry.is_symlink(ec) ||
        !entry.is_regular_file(ec))
      continue;
    Result<std::string> text = ReadFile(entry.path().string(), kMaxRecord);
    if (!text.ok()) continue;
    const json doc = json::parse(*text, nullptr, false);
    if (!doc.is_object() || doc.value("version", 0) != kVersion || !doc.contains("gpu_instances") ||
        !doc["gpu_instances"].is_array())
      continue;
    EphemeralRecord record;
    record.owner = ProcStamp{doc.value("pid", 0), doc.value("start_time", 0ull)};
    if (record.owner.pid <= 0 || fs::path(PathOf(dir, record.owner)).filename() != name ||
        StillRuns(record.owner))
      continue;
    for (const json& g : doc["gpu_instances"]) {
      if (!g.is_object()) continue;
      record.gis.push_back(
          {g.value("gpu_uuid", ""), g.value("gi", 0u), g.value("profile", 0u), g.value("start", 0u)});
    }
    out.push_back(std::move(record));
  }
  return out;
}

}  // namespace migctl
