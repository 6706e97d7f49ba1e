// Serves a Registry over HTTP for Prometheus: GET /metrics returns the text exposition format;
// every other path is 404 and every other method 405. Runs its own thread (cpp-httplib).
//
//   ASSIGN_OR_RETURN(auto exporter, metrics::HttpExporter::Start(registry, "127.0.0.1", 0));
//   uint16_t port = exporter->port();
//   ...
//   exporter->Stop();
//
// `registry` must outlive the exporter. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "metrics/registry.h"

namespace httplib {
class Server;
}

namespace tapvault::metrics {

class HttpExporter {
 public:
  // Binds host:port (0 = a free port) and starts serving. Unavailable if the bind fails.
  static absl::StatusOr<std::unique_ptr<HttpExporter>> Start(const Registry& registry,
                                                             const std::string& host,
                                                             uint16_t port);
  ~HttpExporter();
  uint16_t port() const { return port_; }
  void Stop();

 private:
  HttpExporter() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace tapvault::metrics
