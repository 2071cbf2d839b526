#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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

/// A TCP connection to 127.0.0.1:`port`, or -1.
int SlowClient(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(MetricsServer, SlowClientsHoldingEveryThreadAreCutSoScrapesGetThrough) {
  MetricsServer::Limits limits;
  limits.threads = 2;
  limits.max_connection_age = std::chrono::milliseconds(600);
  auto server = MetricsServer::Start("127.0.0.1", 0, []() -> Result<std::string> { return std::string("m 1\n"); },
                                     limits);
  ASSERT_TRUE(server.ok()) << server.error().message;
  const int port = (*server)->port();
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) slow.push_back(SlowClient(port));
  std::atomic<bool> done{false};
  std::thread dribble([&] {
    const std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a');
    for (size_t at = 0; !done && at < request.size(); ++at) {
      for (int fd : slow) ::send(fd, &request[at], 1, MSG_NOSIGNAL);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // both threads are now held
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5, 0);
  const auto start = std::chrono::steady_clock::now();
  auto res = client.Get("/metrics");
  const auto waited = std::chrono::steady_clock::now() - start;
  done = true;
  dribble.join();
  for (int fd : slow) ::close(fd);
  ASSERT_TRUE(res) << "the scrape never got a thread";
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(waited, std::chrono::seconds(3));
  EXPECT_GE((*server)->connections_cut(), 2);
  EXPECT_EQ(res->get_header_value("Connection"), "close");
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
