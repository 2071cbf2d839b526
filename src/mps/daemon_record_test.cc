#include "mps/daemon_record.h"

#include <unistd.h>

#include <filesystem>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/file_io.h"

namespace migctl::mps {
namespace {

DaemonRecord Sample() {
  return {{"/tmp/m/pipe", "/tmp/m/log"},
          {GpuUuid("GPU-aaaaaaaa-0000-0000-0000-000000000001"),
           GpuUuid("GPU-aaaaaaaa-0000-0000-0000-000000000002")},
          25,
          4242,
          "/usr/bin/nvidia-cuda-mps-control",
          "2025-01-31T12:00:00Z"};
}

TEST(DaemonRecord, RoundTripsThroughText) {
  DaemonRecord record = Sample();
  Result<DaemonRecord> back = ParseDaemonRecord(FormatDaemonRecord(record));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, record);
}

TEST(DaemonRecord, RoundTripsWithoutOptionalFields) {
  DaemonRecord record = Sample();
  record.gpus.clear();
  record.default_thread_percentage.reset();
  record.pid.reset();
  Result<DaemonRecord> back = ParseDaemonRecord(FormatDaemonRecord(record));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, record);
}

TEST(DaemonRecord, SaysItsFormatAndVersion) {
  nlohmann::json doc = nlohmann::json::parse(FormatDaemonRecord(Sample()));
  EXPECT_EQ(doc["format"], "migctl-mps");
  EXPECT_EQ(doc["version"], 1);
  EXPECT_EQ(doc["pid"], 4242);
}

TEST(DaemonRecord, UnknownVersionIsRefusedWithBothVersionsNamed) {
  nlohmann::json doc = nlohmann::json::parse(FormatDaemonRecord(Sample()));
  doc["version"] = 2;
  Result<DaemonRecord> r = ParseDaemonRecord(doc.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message.find("version 2 is not known"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("reads version 1"), std::string::npos) << r.error().message;
}

TEST(DaemonRecord, OtherDocumentsAreCorrupt) {
  nlohmann::json missing = nlohmann::json::parse(FormatDaemonRecord(Sample()));
  missing.erase("pipe_dir");
  nlohmann::json wrong_type = nlohmann::json::parse(FormatDaemonRecord(Sample()));
  wrong_type["gpus"] = 3;
  for (const std::string& text :
       {std::string("not json"), std::string("[]"), std::string(R"({"format":"other"})"),
        std::string(R"({"format":"migctl-mps"})"), missing.dump(), wrong_type.dump()}) {
    Result<DaemonRecord> r = ParseDaemonRecord(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kCorrupt) << text;
  }
}

TEST(DaemonRecord, FileRoundTripAndMissingFile) {
  std::string dir = std::filesystem::temp_directory_path() / ("mps-record." + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/migctl-mps.json";
  EXPECT_EQ(ReadDaemonRecord(path).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(WriteDaemonRecord(path, Sample()).ok());
  Result<DaemonRecord> back = ReadDaemonRecord(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, Sample());
  ASSERT_TRUE(WriteFileAtomically(path, "{", 0600).ok());
  Result<DaemonRecord> bad = ReadDaemonRecord(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kCorrupt);
  EXPECT_TRUE(bad.error().message.starts_with(path + ": ")) << bad.error().message;
  std::filesystem::remove_all(dir);
}

TEST(DaemonRecord, TimestampIsUtcIso8601) {
  EXPECT_TRUE(std::regex_match(UtcTimestamp(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << UtcTimestamp();
}

}  // namespace
}  // namespace migctl::mps
