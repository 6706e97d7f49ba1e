#include "metrics/http_exporter.h"

#include <httplib.h>

#include <chrono>
#include <thread>

#include "base/strings.h"

namespace tapvault::metrics {

absl::StatusOr<std::unique_ptr<HttpExporter>> HttpExporter::Start(const Registry& registry,
                                                                  const std::string& host,
                                                                  uint16_t port) {
  std::unique_ptr<HttpExporter> exporter(new HttpExporter());
  exporter->server_ = std::make_unique<httplib::Server>();
  httplib::Server& srv = *exporter->server_;
  const Registry* reg = &registry;
  srv.Get("/metrics", [reg](const httplib::Request&, httplib::Response& res) {
    res.set_content(reg->RenderPrometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_content("method not allowed\n", "text/plain");
  };
  srv.Post(".*", not_allowed);
  srv.Put(".*", not_allowed);
  srv.Delete(".*", not_allowed);
  srv.Patch(".*", not_allowed);
  int bound;
  if (port == 0) {
    bound = srv.bind_to_any_port(host.c_str());
  } else {
    bound = srv.bind_to_port(host.c_str(), port) ? port : -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(base::StrCat("metrics: cannot listen on ", host, ":", port));
  }
  exporter->port_ = static_cast<uint16_t>(bound);
  exporter->thread_ = std::thread([&srv] { srv.listen_after_bind(); });
  // This cpp-httplib has no wait_until_ready(): poll until the accept loop runs.
  for (int i = 0; i < 5000 && !srv.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return exporter;
}

HttpExporter::~HttpExporter() { Stop(); }

void HttpExporter::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace tapvault::metrics
