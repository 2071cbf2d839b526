#include "metrics/http_server.h"

#include <sys/socket.h>

#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "metrics/exposition.h"

namespace migctl::metrics {

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::mutex body_mutex;  // one render at a time, whichever thread the request came in on
  int port = 0;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { Stop(); }

int MetricsServer::port() const { return impl_->port; }

void MetricsServer::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  impl_->server.stop();
  impl_->thread.join();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port, Body body) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& server = impl->server;
  // Scrapers send small GETs: anything with a body, slow or long, is cut short.
  server.set_payload_max_length(4096);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(10, 0);
  server.set_keep_alive_max_count(100);
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second exporter (of the same
  // user) would share the port silently instead of failing to bind.
  server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  Impl* raw = impl.get();
  server.Get("/metrics", [raw, body = std::move(body)](const httplib::Request&, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(raw->body_mutex);
    Result<std::string> text = body();
    if (!text.ok()) {
      res.status = 500;
      res.set_content("migctl exporter: " + text.error().message + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(*text, std::string(kContentType));
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("migctl exporter: metrics are at /metrics\n", "text/plain; charset=utf-8");
  });
  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0)
    return MakeError(ErrorCode::kIo,
                     fmt::format("cannot listen on {}:{}: the port is taken, or the address is "
                                 "not one of this host's; choose another with --listen",
                                 host, port));
  impl->port = bound;
  impl->thread = std::thread([raw] { raw->server.listen_after_bind(); });
  // Until the loop runs, stop() would find nothing to stop and the join would wait forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!raw->server.is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

}  // namespace migctl::metrics
