// The exporter's HTTP side: GET /metrics answers with the text its callback renders, and nothing else is
// served. A narrow wrapper over cpp-httplib (Debian's libcpp-httplib), which does the HTTP; this file keeps
// it to one route, small requests, short timeouts and a few threads, for a root process on a shared host.
#pragma once

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

  /// Listens on `host`:`port` (port 0: any free one) and serves on its own threads until Stop. kIo when it
  /// cannot bind (the port is taken, the address is not this host's).
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& host, int port, Body body);
  ~MetricsServer();

  int port() const;
  /// Stops listening and waits for the server's threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace migctl::metrics
