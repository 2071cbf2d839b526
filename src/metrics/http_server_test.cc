#include "metrics/http_server.h"

#include <atomic>

#include <gtest/gtest.h>
#include <httplib.h>

namespace migctl::metrics {
namespace {

TEST(MetricsServer, ServesMetricsAndNothingElse) {
  std::atomic<int> calls{0};
  auto server = MetricsServer::Start("127.0.0.1", 0, [&]() -> Result<std::string> {
    ++calls;
    return std::string("m 1\n");
  });
  ASSERT_TRUE(server.ok()) << server.error().message;
  httplib::Client client("127.0.0.1", (*server)->port());
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "m 1\n");
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(calls.load(), 1);
  res = client.Get("/other");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client.Post("/metrics", std::string(100000, 'x'), "text/plain");
  ASSERT_TRUE(res);
  EXPECT_NE(res->status, 200);
  EXPECT_EQ(calls.load(), 1) << "only GET /metrics renders";
  (*server)->Stop();
  (*server)->Stop();  // idempotent
  EXPECT_FALSE(httplib::Client("127.0.0.1", (*server)->port()).Get("/metrics"));
}

TEST(MetricsServer, ARenderErrorIsA500WithTheMessage) {
  auto server = MetricsServer::Start(
      "127.0.0.1", 0, []() -> Result<std::string> { return MakeError(ErrorCode::kIo, "NVML: GPU is lost"); });
  ASSERT_TRUE(server.ok());
  auto res = httplib::Client("127.0.0.1", (*server)->port()).Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("GPU is lost"), std::string::npos) << res->body;
}

TEST(MetricsServer, APortInUseIsOneClearError) {
  auto first = MetricsServer::Start("127.0.0.1", 0, []() -> Result<std::string> { return std::string(); });
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::Start("127.0.0.1", (*first)->port(),
                                     []() -> Result<std::string> { return std::string(); });
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("--listen"), std::string::npos) << second.error().message;
}

}  // namespace
}  // namespace migctl::metrics
