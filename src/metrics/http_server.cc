#include "metrics/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "metrics/exposition.h"

namespace migctl::metrics {

namespace {

/// The local port of socket `fd` when it is a connected TCP socket (getpeername answers), else -1.
int ConnectedLocalPort(int fd) {
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return -1;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return -1;
  if (local.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&local)->sin_port);
  if (local.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  return -1;
}

/// `socket:[INODE]` for a socket descriptor, "" otherwise.
std::string SocketIdentity(int fd) {
  char target[64];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return "";
  std::string text(target, static_cast<size_t>(n));
  return text.starts_with("socket:") ? text : "";
}

}  // namespace

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::mutex body_mutex;  // one render at a time, whichever thread the request came in on
  int port = 0;

  // The watchdog: finds this process's connections on `port` (the accepted ones: they have a peer) and
  // shuts down each one older than the limit, so that its thread reads EOF and moves on.
  std::thread watchdog;
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  std::atomic<int> cut{0};

  void Watch(std::chrono::milliseconds max_age) {
    std::map<std::string, std::chrono::steady_clock::time_point> first_seen;  // by socket identity
    const auto tick = std::clamp(max_age / 4, std::chrono::milliseconds(50), std::chrono::milliseconds(1000));
    std::unique_lock<std::mutex> lock(stop_mutex);
    while (!stop_cv.wait_for(lock, tick, [this] { return stopping; })) {
      const auto now = std::chrono::steady_clock::now();
      std::map<std::string, std::chrono::steady_clock::time_point> seen;
      std::error_code ec;
      for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        const int fd = std::atoi(entry.path().filename().c_str());
        const std::string id = SocketIdentity(fd);
        if (id.empty() || ConnectedLocalPort(fd) != port) continue;
        const auto it = first_seen.find(id);
        const auto since = it == first_seen.end() ? now : it->second;
        if (now - since < max_age) {
          seen.emplace(id, since);
        } else if (SocketIdentity(fd) == id) {  // still the same socket: not closed and reused meanwhile
          ::shutdown(fd, SHUT_RDWR);
          ++cut;
        }
      }
      first_seen = std::move(seen);
    }
  }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { Stop(); }

int MetricsServer::port() const { return impl_->port; }

int MetricsServer::connections_cut() const { return impl_->cut.load(); }

void MetricsServer::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->stop_mutex);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  if (impl_->watchdog.joinable()) impl_->watchdog.join();
  impl_->server.stop();
  impl_->thread.join();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& host, int port, Body body,
                                                            Limits limits) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& server = impl->server;
  // Scrapers send small GETs: anything with a body, slow or long, is cut short.
  server.set_payload_max_length(4096);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(10, 0);
  server.set_keep_alive_max_count(1);  // one request a connection: no idle connection holds a thread
  const size_t threads = static_cast<size_t>(std::max(1, limits.threads));
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
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
  impl->watchdog = std::thread([raw, age = limits.max_connection_age] { raw->Watch(age); });
  // Until the loop runs, stop() would find nothing to stop and the join would wait forever.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!raw->server.is_running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

}  // namespace migctl::metrics
