// The HTTPS JSON API of tapvault (issue 5): investigators, prosecutors, administrators, auditors
// and operators reach warrants, communications, decisions, the privileged-list versions, the
// audit log and metrics over TLS 1.3, each request authenticated (session, API token or client
// certificate), authorized (access::Authorize with the warrant and team of the communication)
// and recorded in the store's audit log BEFORE the answer is produced. Content goes only through
// the one read gate (gate::ReadGate). The routes and their parameters are in Routes() and, for
// clients, in docs/api/openapi.json (a test keeps both equal).
//
//   api::ApiOptions o;
//   o.listen = "0.0.0.0:8443";
//   o.cert_file = "/etc/tapvault/api.crt";  o.key_file = "/etc/tapvault/api.key";
//   o.data_dir = dir;  o.users = users.get();  o.audit = audit.get();  o.screener = &filter;
//   o.warrants = [&] { return current_index.load(); };
//   ASSIGN_OR_RETURN(std::unique_ptr<api::ApiServer> srv, api::ApiServer::Start(o));
//   ... srv->port() ...
//   srv->Stop();
//
// Decisions taken here (why):
// - A communication the caller may not see (no warrant covering its start, warrant of another
//   team, warrant window over for the role) is answered 404 exactly like an unknown id: its
//   existence is itself information. A visible one that the gate refuses (quarantined,
//   privileged, destroyed) is 403, since the caller already knows it exists from the listing.
//   A caller whose roles can never do the action gets 403 before any lookup.
// - Downloads (/content, /content.pcap, /content.wav) need read_content; they are "reads", not
//   "exports" (export, four eyes, is a separate workflow that hands out files).
// - Every authenticated request is recorded ("api_request", outcome ok or refused) before its
//   answer; when that record fails the answer is 503 and nothing else. Requests without valid
//   credentials are not recorded (an anonymous peer could otherwise fill the log), except login
//   attempts, which always are ("login" ok / "login_failed" refused; never the password).
// - Decisions: release and confirm go to store::Store::Decide (or SubmitOrRunDecide); the store
//   enforces four eyes for both (the first person's request waits for a second, different one).
//
// Thread-safety: Start/Stop from one thread; requests run on a bounded pool of threads.
// Errors (Start): InvalidArgument (bad options), Unavailable (cannot listen), and those of
// loading the certificate or key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "access/user_store.h"
#include "gate/store_audit.h"
#include "metrics/registry.h"
#include "store/screen.h"
#include "store/store.h"
#include "warrant/warrant_index.h"

namespace tapvault::api {

struct ApiOptions {
  std::string listen = "127.0.0.1:8443";  // host:port; port 0 = an ephemeral port (see port())
  std::string cert_file;                  // PEM server certificate (chain)
  std::string key_file;                   // PEM private key
  // PEM CA certificates for client certificates; "" = no client certificates. A verified peer
  // certificate is mapped by the SHA-256 of its DER to UserStore::AuthenticateCertificate.
  std::string client_ca_file;
  std::string data_dir;                   // the store (catalog, audit, warrants.db, privileged.db)
  std::string master_key;                 // "" = the store's recorded master key spec

  access::UserStore* users = nullptr;                                   // required
  std::function<std::shared_ptr<const warrant::WarrantIndex>()> warrants;  // required
  store::Screener* screener = nullptr;  // the filter asked again at each read (gate recheck)
  gate::StoreAudit* audit = nullptr;    // required: nothing is answered that is not recorded
  metrics::Registry* metrics = nullptr;  // GET /api/v1/metrics; nullptr = empty page
  // When this process owns the store, decisions go through it; nullptr =
  // store::SubmitOrRunDecide(data_dir, ...).
  store::Store* store = nullptr;
  int default_retention_days = 180;     // for the prosecutor's window (warrant::CheckAccess)

  // Hardening against hostile clients.
  size_t max_body_bytes = 1 << 20;      // larger bodies: 413
  int io_timeout_ms = 10000;            // read/write timeout per socket operation
  size_t threads = 8;                   // worker threads (connections handled at once)
  int64_t session_idle_us = int64_t{30} * 60 * 1'000'000;
  int64_t session_max_us = int64_t{8} * 3600 * 1'000'000;
  // Communications read from the catalog per page while filtering a listing, and pages per
  // request at most (then next_after says where to continue).
  uint64_t scan_page = 1000;
  int max_scan_pages = 20;
  // The clock (µs since the epoch); nullptr = base::Now(). Tests move it for session expiry.
  std::function<int64_t()> clock;
};

// A registered route: method, path template ("/api/v1/comms/{id}") and its query parameters.
struct Route {
  std::string method;
  std::string path;
  std::vector<std::string> query;
};

class ApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(const ApiOptions& options);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stops accepting, finishes the requests in flight, joins the threads. Idempotent.
  void Stop();
  uint16_t port() const;

  // Every route the server answers (besides 404/405), in registration order.
  static const std::vector<Route>& Routes();

  class Impl;

 private:
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapvault::api
