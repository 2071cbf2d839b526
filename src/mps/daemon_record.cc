#include "mps/daemon_record.h"

#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/file_io.h"

namespace migctl::mps {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kFormat = "migctl-mps";

Error Corrupt(const std::string& why) {
  return MakeError(ErrorCode::kCorrupt, fmt::format("not a migctl-mps record: {}", why));
}

}  // namespace

std::string FormatDaemonRecord(const DaemonRecord& record) {
  Json gpus = Json::array();
  for (const GpuUuid& uuid : record.gpus) gpus.push_back(uuid.value());
  Json doc = {{"format", kFormat},
              {"version", kDaemonRecordVersion},
              {"pipe_dir", record.dirs.pipe_dir},
              {"log_dir", record.dirs.log_dir},
              {"gpus", gpus},
              {"default_thread_percentage",
               record.default_thread_percentage ? Json(*record.default_thread_percentage) : Json(nullptr)},
              {"pid", record.pid ? Json(*record.pid) : Json(nullptr)},
              {"program", record.program},
              {"started_at", record.started_at}};
  return doc.dump(2) + "\n";
}

Result<DaemonRecord> ParseDaemonRecord(std::string_view text) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Corrupt("it is not a JSON object");
  if (doc.value("format", "") != kFormat) return Corrupt("its \"format\" is not \"migctl-mps\"");
  if (!doc.contains("version") || !doc["version"].is_number_integer()) return Corrupt("it has no version");
  if (const int version = doc["version"].get<int>(); version != kDaemonRecordVersion)
    return MakeError(ErrorCode::kCorrupt,
                     fmt::format("migctl-mps record version {} is not known to this migctl (it reads version "
                                 "{}): use the migctl that wrote it, or stop the daemon by hand (echo quit | "
                                 "nvidia-cuda-mps-control with its CUDA_MPS_PIPE_DIRECTORY) and remove the "
                                 "record",
                                 version, kDaemonRecordVersion));
  try {
    DaemonRecord record;
    record.dirs.pipe_dir = doc.at("pipe_dir").get<std::string>();
    record.dirs.log_dir = doc.at("log_dir").get<std::string>();
    for (const Json& uuid : doc.at("gpus")) record.gpus.emplace_back(uuid.get<std::string>());
    if (const Json& p = doc.at("default_thread_percentage"); !p.is_null())
      record.default_thread_percentage = p.get<unsigned>();
    if (const Json& pid = doc.at("pid"); !pid.is_null()) record.pid = pid.get<pid_t>();
    record.program = doc.at("program").get<std::string>();
    record.started_at = doc.at("started_at").get<std::string>();
    return record;
  } catch (const Json::exception& e) {
    return Corrupt(e.what());
  }
}

Status WriteDaemonRecord(const std::string& path, const DaemonRecord& record) {
  return WriteFileAtomically(path, FormatDaemonRecord(record), 0600);
}

Result<DaemonRecord> ReadDaemonRecord(const std::string& path) {
  MIGCTL_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  Result<DaemonRecord> record = ParseDaemonRecord(text);
  if (!record.ok()) return record.error().WithContext(path + ": ");
  return record;
}

std::string UtcTimestamp() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace migctl::mps
