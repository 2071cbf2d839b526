// The exporter's HTTP side: GET /metrics answers with the text its callback renders, and nothing else is
// served. A narrow wrapper over cpp-httplib (Debian's libcpp-httplib), which does the HTTP; this file keeps
// it to one route, small requests, short timeouts and a few threads, for a root process on a shared host.
//
// Slow clients: cpp-httplib serves each connection on one of a few threads, and its read timeout restarts
// with every byte, so a client sending a byte every few seconds (slowloris) would hold a thread for hours,
// and a handful of them would stall /metrics. So each response closes its connection (no keep-alive: a
// scrape is one request, and Prometheus reconnects), and a watchdog shuts down any connection older than
// `max_connection_age` (5 s). A scrape takes milliseconds, so only a stalled or hostile client meets the limit.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace migctl::metrics {

class MetricsServer {
 public:
  /// What GET /metrics answers: the text, or an error (HTTP 500 with its message, so Prometheus marks the
  /// target down and shows why). Called on a server thread, one request at a time.
  using Body = std::function<Result<std::string>()>;

  struct Limits {
    int threads = 8;                                          ///< Connections served at once.
    /// Then the connection is shut down. Under Prometheus's default 10 s scrape timeout: a scrape queued
    /// behind slow clients gets a thread within this.
    std::chrono::milliseconds max_connection_age{5'000};
  };

  /// Listens on `host`:`port` (port 0: any free one) and serves on its own threads until Stop. kIo when it
  /// cannot bind (the port is taken, the address is not this host's).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port, Body body,
                                                      Limits limits);
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port, Body body) {
    return Start(host, port, std::move(body), Limits{});
  }
  ~MetricsServer();

  int port() const;
  /// Connections the watchdog has shut down for being older than the limit.
  int connections_cut() const;
  /// Stops listening and waits for the server's threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace migctl::metrics
