// TCP and TLS listeners for the handover interfaces (HI2, HI3): N worker threads, each running
// its own asio::io_context that owns its connections (no locks on connection state). An
// acceptor thread hands each new socket to the next worker. Each connection gets a
// ConnectionHandler (the ingest Session in `serve`) that sees the bytes and may answer.
//
//   ASSIGN_OR_RETURN(auto server, net::Server::Create({.threads = 4, .metrics = &registry},
//                                                     [&](const net::PeerInfo& p) { ... }));
//   ASSIGN_OR_RETURN(uint16_t port, server->AddListener({.name = "hi2", .host = "0.0.0.0"}));
//   server->Start();
//   ...
//   server->Shutdown();   // stop accepting, close every connection (OnClose), join threads
//
// TLS: TLS 1.2 and 1.3 only, mutual authentication (the client must present a certificate that
// chains to the configured CA), plus an optional allow-list of client certificates by SHA-256
// fingerprint of the DER certificate or by subject CN. Refused handshakes are counted and logged.
// Backpressure: while ConnectionHandler::Paused() is true the connection stops reading.
// Late replies: PeerInfo::sender lets a handler send bytes later from any thread (e.g. a
// pDUAcknowledgementResponse once the store has made the PDUs durable), through the same write
// queue and backlog limit as OnData's replies.
// Thread-safety: Create/AddListener/Start/Shutdown from one controlling thread; handlers are
// called on the connection's worker thread only; the factory is called from worker threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "metrics/registry.h"

namespace tapvault::net {

struct TlsOptions {
  std::string cert_file;       // PEM server certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA(s) that client certificates must chain to
  // Allowed client certificates: "sha256:<hex>" or 64 hex digits (colons allowed) match the
  // SHA-256 fingerprint of the DER certificate; "CN=<name>" or any other text matches the
  // subject CN. Empty: every certificate from the CA is allowed.
  std::vector<std::string> allow;
};

struct ListenerOptions {
  std::string name;            // "hi2" / "hi3": metrics label and PeerInfo::listener
  std::string host = "127.0.0.1";
  uint16_t port = 0;           // 0: any free port (AddListener returns it)
  std::optional<TlsOptions> tls;
};

// Sends bytes on one connection later, from any thread. The bytes are posted to the
// connection's worker thread and go through the same write queue and max_write_backlog_bytes
// limit as the replies of OnData (exceeding it closes the connection); they follow whatever was
// queued on that thread before the post runs.
// Lifetime: the object may be kept (shared_ptr) and Send() called at any time, even after the
// connection is closed and the Server destroyed: once the connection is closed (OnClose has
// run, which Server::Shutdown does for every connection) Send() is a no-op that drops the bytes.
// Thread-safe.
class AsyncSender {
 public:
  virtual ~AsyncSender() = default;
  virtual void Send(std::string bytes) = 0;
};

struct PeerInfo {
  uint64_t id = 0;
  std::string listener;
  std::string remote;          // "ip:port"
  std::string tls_identity;    // "" for TCP; "CN=<cn>;sha256=<hex>" for TLS
  std::shared_ptr<AsyncSender> sender;  // never null in a HandlerFactory call
};

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Received bytes. Bytes appended to `reply` are sent. An error closes the connection; its
  // message is logged.
  virtual absl::Status OnData(base::Bytes data, std::string& reply) = 0;
  // While true, the connection does not read (re-checked every few milliseconds).
  virtual bool Paused() const { return false; }
  // Called once when the connection is gone, with a short reason ("eof", "idle_timeout", ...).
  virtual void OnClose(std::string_view reason) = 0;
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(const PeerInfo&)>;

struct ServerOptions {
  int threads = 2;                          // worker threads (>= 1)
  int64_t idle_timeout_ms = 10 * 60 * 1000; // close a connection silent this long; 0 = never
  int64_t tls_handshake_timeout_ms = 10000;
  size_t read_buffer_bytes = 64 * 1024;     // per connection
  size_t max_write_backlog_bytes = 1 << 20; // unsent reply bytes before the connection is closed
  size_t max_connections = 20000;
  metrics::Registry* metrics = nullptr;     // required
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Create(ServerOptions options,
                                                        HandlerFactory factory);
  ~Server();

  // Binds and listens; returns the bound port. InvalidArgument for bad TLS files or host,
  // Unavailable if the address cannot be bound. REQUIRES: before Start().
  absl::StatusOr<uint16_t> AddListener(const ListenerOptions& options);
  void Start();
  // Stops accepting, closes every connection (handlers get OnClose("shutdown")) and joins the
  // threads. Idempotent.
  void Shutdown();

  size_t open_connections() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns the new soft limit.
absl::StatusOr<uint64_t> RaiseFileLimit();

// SHA-256 of `der` as lowercase hex, and the allow-list matcher (exposed for tests).
std::string Sha256Hex(base::Bytes der);
bool AllowListMatches(const std::vector<std::string>& allow, std::string_view sha256_hex,
                      std::string_view common_name);

}  // namespace tapvault::net
