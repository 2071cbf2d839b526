#include "cli/diagnostics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace migctl {
namespace {

// Regression: arguments with control characters were echoed raw, giving multi-line errors.
TEST(ReportError, RegressionControlCharactersInAMessageStayOnOneEscapedLine) {
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  const int code =
      ReportError(MakeError(ErrorCode::kInvalidInput, "unknown command 'a\nb\x1b[31m'"), true, 2);
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 2);
  EXPECT_EQ(err, "migctl: unknown command 'a\\nb\\x1b[31m'\n");
  nlohmann::json doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["error"]["code"], "invalid_input");
  EXPECT_EQ(doc["error"]["message"], "unknown command 'a\\nb\\x1b[31m'");
}

TEST(ReportError, BytesThatAreNotUtf8StillGiveAJsonDocument) {
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  ReportError(MakeError(ErrorCode::kNotFound, "no file \xff\xfe"), true, 2);
  ::testing::internal::GetCapturedStderr();
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded()) << out;
}

TEST(PrintWarning, IsOneEscapedLine) {
  ::testing::internal::CaptureStderr();
  PrintWarning("hook\tfailed\r\nnext");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "migctl: warning: hook\\tfailed\\r\\nnext\n");
}

}  // namespace
}  // namespace migctl
