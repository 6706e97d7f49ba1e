#include "net/server.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/resource.h>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <thread>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/log.h"
#include "base/strings.h"

namespace tapvault::net {

using asio::ip::tcp;

std::string Sha256Hex(base::Bytes der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

namespace {

// "sha256:AB:cd.." / "ABCD..." -> "abcd..." if it is a SHA-256 fingerprint, else "".
std::string NormalizeFingerprint(std::string_view entry) {
  if (entry.size() > 7 && (entry.substr(0, 7) == "sha256:" || entry.substr(0, 7) == "SHA256:")) {
    entry.remove_prefix(7);
  }
  std::string hex;
  for (char c : entry) {
    if (c == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return hex.size() == 64 ? hex : "";
}

}  // namespace

bool AllowListMatches(const std::vector<std::string>& allow, std::string_view sha256_hex,
                      std::string_view common_name) {
  if (allow.empty()) return true;
  for (const std::string& entry : allow) {
    std::string fp = NormalizeFingerprint(entry);
    if (!fp.empty()) {
      if (fp == sha256_hex) return true;
      continue;
    }
    std::string_view cn = entry;
    if (cn.substr(0, 3) == "CN=") cn.remove_prefix(3);
    if (!common_name.empty() && cn == common_name) return true;
  }
  return false;
}

namespace {

struct CertIdentity {
  std::string cn;
  std::string sha256;
};

CertIdentity IdentityOf(X509* cert) {
  CertIdentity id;
  if (cert == nullptr) return id;
  int len = i2d_X509(cert, nullptr);
  if (len > 0) {
    std::string der(static_cast<size_t>(len), '\0');
    unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert, &p);
    id.sha256 = Sha256Hex(base::AsBytes(der));
  }
  char cn[256] = {0};
  X509_NAME* subject = X509_get_subject_name(cert);
  if (subject != nullptr &&
      X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn - 1) > 0) {
    id.cn = cn;
  }
  return id;
}

class Worker;

// A connection's type-independent part, owned (shared_ptr) by its worker's set.
class ConnBase : public std::enable_shared_from_this<ConnBase> {
 public:
  virtual ~ConnBase() = default;
  virtual void Start() = 0;
  virtual void Close(std::string_view reason) = 0;
  // On the worker thread: queue bytes sent through the connection's AsyncSender.
  virtual void SendLater(std::string bytes) = 0;
};

// The AsyncSender of one connection. The io_context is only touched while `closed_` is false
// under `mu_`: the connection sets `closed_` (MarkClosed) on its worker thread when it closes,
// and the Server closes every connection before it joins and destroys its workers, so a post
// never reaches a destroyed io_context. The post holds only a weak_ptr: a connection already
// gone by the time it runs drops the bytes.
class ConnSender : public AsyncSender {
 public:
  ConnSender(asio::io_context& ctx, std::weak_ptr<ConnBase> conn)
      : ctx_(&ctx), conn_(std::move(conn)) {}

  void Send(std::string bytes) override {
    absl::MutexLock lock(&mu_);
    if (closed_) return;
    asio::post(*ctx_, [conn = conn_, bytes = std::move(bytes)]() mutable {
      if (std::shared_ptr<ConnBase> c = conn.lock()) c->SendLater(std::move(bytes));
    });
  }

  void MarkClosed() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  asio::io_context* const ctx_;
  const std::weak_ptr<ConnBase> conn_;
};

struct Listener {
  ListenerOptions options;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  metrics::Counter* accepted = nullptr;
  metrics::Counter* tls_refused = nullptr;
};

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, HandlerFactory factory)
      : options_(options), factory_(std::move(factory)) {
    metrics::Registry& r = *options_.metrics;
    open_gauge_ = &r.GetGauge("tapvault_connections_open", "Open handover connections");
    rejected_ = &r.GetCounter("tapvault_connections_rejected_total",
                              "Connections refused because max_connections was reached");
  }

  absl::StatusOr<uint16_t> AddListener(const ListenerOptions& lo);
  void Start();
  void Shutdown();
  size_t open() const { return static_cast<size_t>(open_count_.load()); }

  struct WorkerState {
    asio::io_context ctx{1};
    std::unordered_set<std::shared_ptr<ConnBase>> conns;  // touched only on this worker's thread
    std::thread thread;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  };

  void Accept(Listener& l);
  void Closed(WorkerState& w, const std::shared_ptr<ConnBase>& c, std::string_view listener,
              std::string_view reason) {
    w.conns.erase(c);
    open_count_.fetch_sub(1);
    open_gauge_->Add(-1);
    options_.metrics
        ->GetCounter("tapvault_connections_closed_total", "Closed handover connections by reason",
                     {{"listener", std::string(listener)}, {"reason", std::string(reason)}})
        .Inc();
  }

  ServerOptions options_;
  HandlerFactory factory_;
  asio::io_context accept_ctx_{1};
  std::thread accept_thread_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<std::unique_ptr<WorkerState>> workers_;
  std::atomic<size_t> next_worker_{0};
  std::atomic<uint64_t> next_id_{1};
  std::atomic<int64_t> open_count_{0};
  std::atomic<bool> stopping_{false};
  bool started_ = false;
  bool stopped_ = false;
  metrics::Gauge* open_gauge_;
  metrics::Counter* rejected_;
};

namespace {

template <typename Stream>
class Conn : public ConnBase {
 public:
  Conn(Server::Impl& server, Server::Impl::WorkerState& worker, Listener& listener,
       std::unique_ptr<Stream> stream, PeerInfo peer)
      : server_(server),
        worker_(worker),
        listener_(listener),
        stream_(std::move(stream)),
        timer_(worker.ctx),
        peer_(std::move(peer)),
        buf_(server.options_.read_buffer_bytes) {}

  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  void Start() override {
    if constexpr (kTls) {
      ArmTimer(server_.options_.tls_handshake_timeout_ms, "tls_handshake_timeout");
      auto self = shared_from_this();
      stream_->async_handshake(asio::ssl::stream_base::server,
                               [this, self](const asio::error_code& ec) {
                                 if (closed_) return;
                                 if (ec) {
                                   listener_.tls_refused->Inc();
                                   base::Log(base::LogLevel::kWarn, "net.tls_refused",
                                             {{"conn", peer_.id},
                                              {"listener", peer_.listener},
                                              {"remote", peer_.remote},
                                              {"reason", ec.message()}});
                                   Close("tls_refused");
                                   return;
                                 }
                                 X509* cert = SSL_get1_peer_certificate(stream_->native_handle());
                                 CertIdentity id = IdentityOf(cert);
                                 X509_free(cert);
                                 peer_.tls_identity = base::StrCat("CN=", id.cn, ";sha256=", id.sha256);
                                 Begin();
                               });
    } else {
      Begin();
    }
  }

  void Close(std::string_view reason) override {
    if (closed_) return;
    closed_ = true;
    if (sender_) sender_->MarkClosed();
    asio::error_code ignored;
    timer_.cancel();
    Lowest().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close(ignored);
    if (handler_) handler_->OnClose(reason);
    base::Log(base::LogLevel::kInfo, "net.connection_closed",
              {{"conn", peer_.id}, {"listener", peer_.listener}, {"reason", reason}});
    server_.Closed(worker_, shared_from_this(), peer_.listener, reason);
  }

 private:
  tcp::socket::lowest_layer_type& Lowest() { return stream_->lowest_layer(); }

  void SendLater(std::string bytes) override {
    if (closed_ || bytes.empty()) return;
    Write(std::move(bytes));
  }

  void Begin() {
    sender_ = std::make_shared<ConnSender>(worker_.ctx, weak_from_this());
    peer_.sender = sender_;
    handler_ = server_.factory_(peer_);
    if (!handler_) {
      Close("no_handler");
      return;
    }
    base::Log(base::LogLevel::kInfo, "net.connection_open",
              {{"conn", peer_.id}, {"listener", peer_.listener}, {"remote", peer_.remote},
               {"tls_identity", peer_.tls_identity}});
    Read();
  }

  void ArmTimer(int64_t ms, const char* reason) {
    if (ms <= 0) return;
    timer_.expires_after(std::chrono::milliseconds(ms));
    auto self = shared_from_this();
    timer_.async_wait([this, self, reason](const asio::error_code& ec) {
      if (ec || closed_) return;
      Close(reason);
    });
  }

  void Read() {
    if (closed_) return;
    if (handler_->Paused()) {
      // Backpressure: do not read; look again shortly.
      timer_.expires_after(std::chrono::milliseconds(5));
      auto self = shared_from_this();
      timer_.async_wait([this, self](const asio::error_code& ec) {
        if (ec == asio::error::operation_aborted || closed_) return;
        Read();
      });
      return;
    }
    ArmTimer(server_.options_.idle_timeout_ms, "idle_timeout");
    auto self = shared_from_this();
    stream_->async_read_some(asio::buffer(buf_.data(), buf_.size()),
                             [this, self](const asio::error_code& ec, size_t n) {
                               if (closed_) return;
                               if (n > 0) {
                                 std::string reply;
                                 absl::Status s = handler_->OnData(
                                     base::Bytes(buf_.data(), n), reply);
                                 if (!reply.empty()) Write(std::move(reply));
                                 if (!s.ok()) {
                                   base::Log(base::LogLevel::kWarn, "net.closing",
                                             {{"conn", peer_.id},
                                              {"reason", base::View(s.message())}});
                                   Close("stream_broken");
                                   return;
                                 }
                               }
                               if (ec) {
                                 Close(ec == asio::error::eof ||
                                               ec == asio::ssl::error::stream_truncated
                                           ? "eof"
                                           : "read_error");
                                 return;
                               }
                               Read();
                             });
  }

  void Write(std::string data) {
    backlog_ += data.size();
    if (backlog_ > server_.options_.max_write_backlog_bytes) {
      Close("write_backlog");
      return;
    }
    out_.push_back(std::move(data));
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    if (out_.empty() || closed_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(*stream_, asio::buffer(out_.front()),
                      [this, self](const asio::error_code& ec, size_t n) {
                        if (closed_) return;
                        if (ec) {
                          Close("write_error");
                          return;
                        }
                        backlog_ -= std::min(backlog_, n);
                        out_.pop_front();
                        DoWrite();
                      });
  }

  Server::Impl& server_;
  Server::Impl::WorkerState& worker_;
  Listener& listener_;
  std::unique_ptr<Stream> stream_;
  asio::steady_timer timer_;
  PeerInfo peer_;
  std::vector<std::byte> buf_;
  std::unique_ptr<ConnectionHandler> handler_;
  std::shared_ptr<ConnSender> sender_;  // created with the handler; marked closed in Close()
  std::deque<std::string> out_;
  size_t backlog_ = 0;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

absl::StatusOr<uint16_t> Server::Impl::AddListener(const ListenerOptions& lo) {
  auto l = std::make_unique<Listener>();
  l->options = lo;
  metrics::Registry& r = *options_.metrics;
  l->accepted = &r.GetCounter("tapvault_connections_total", "Accepted handover connections",
                              {{"listener", lo.name}});
  l->tls_refused = &r.GetCounter("tapvault_tls_refused_total",
                                 "TLS handshakes refused (no/invalid/not allowed client cert)",
                                 {{"listener", lo.name}});
  asio::error_code ec;
  asio::ip::address addr = asio::ip::make_address(lo.host, ec);
  if (ec) return absl::InvalidArgumentError(base::StrCat("net: bad listen address '", lo.host, "'"));
  if (lo.tls.has_value()) {
    const TlsOptions& t = *lo.tls;
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use,
                     ec);
    auto check = [&](std::string_view what, const std::string& file) -> absl::Status {
      if (ec) {
        return absl::InvalidArgumentError(
            base::StrCat("net: TLS ", what, " '", file, "': ", ec.message()));
      }
      return absl::OkStatus();
    };
    ctx->use_certificate_chain_file(t.cert_file, ec);
    if (auto s = check("certificate", t.cert_file); !s.ok()) return s;
    ctx->use_private_key_file(t.key_file, asio::ssl::context::pem, ec);
    if (auto s = check("key", t.key_file); !s.ok()) return s;
    ctx->load_verify_file(t.client_ca_file, ec);
    if (auto s = check("client CA", t.client_ca_file); !s.ok()) return s;
    ctx->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
    std::vector<std::string> allow = t.allow;
    std::string name = lo.name;
    ctx->set_verify_callback(
        [allow, name](bool preverified, asio::ssl::verify_context& vctx) {
          if (!preverified) return false;
          X509_STORE_CTX* sctx = vctx.native_handle();
          if (X509_STORE_CTX_get_error_depth(sctx) != 0) return true;
          CertIdentity id = IdentityOf(X509_STORE_CTX_get_current_cert(sctx));
          if (AllowListMatches(allow, id.sha256, id.cn)) return true;
          base::Log(base::LogLevel::kWarn, "net.tls_not_allowed",
                    {{"listener", name}, {"cn", id.cn}, {"sha256", id.sha256}});
          return false;
        },
        ec);
    l->tls = std::move(ctx);
  }
  l->acceptor = std::make_unique<tcp::acceptor>(accept_ctx_);
  tcp::endpoint ep(addr, lo.port);
  l->acceptor->open(ep.protocol(), ec);
  if (!ec) l->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) l->acceptor->bind(ep, ec);
  if (!ec) l->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        base::StrCat("net: cannot listen on ", lo.host, ":", lo.port, ": ", ec.message()));
  }
  uint16_t port = l->acceptor->local_endpoint().port();
  listeners_.push_back(std::move(l));
  return port;
}

void Server::Impl::Accept(Listener& l) {
  size_t wi = next_worker_.fetch_add(1) % workers_.size();
  WorkerState& w = *workers_[wi];
  l.acceptor->async_accept(w.ctx, [this, &l, &w](const asio::error_code& ec, tcp::socket sock) {
    if (stopping_.load()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      base::Log(base::LogLevel::kWarn, "net.accept_failed",
                {{"listener", l.options.name}, {"reason", ec.message()}});
      // EMFILE and friends: back off a little instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      Accept(l);
      return;
    }
    if (static_cast<size_t>(open_count_.load()) >= options_.max_connections) {
      rejected_->Inc();
      asio::error_code ignored;
      sock.close(ignored);
      Accept(l);
      return;
    }
    l.accepted->Inc();
    open_count_.fetch_add(1);
    open_gauge_->Add(1);
    PeerInfo peer;
    peer.id = next_id_.fetch_add(1);
    peer.listener = l.options.name;
    asio::error_code rec;
    tcp::endpoint remote = sock.remote_endpoint(rec);
    peer.remote = rec ? "?" : base::StrCat(remote.address().to_string(), ":", remote.port());
    sock.set_option(tcp::no_delay(true), rec);
    // The socket belongs to w.ctx: build the connection on that worker's thread.
    auto sock_ptr = std::make_shared<tcp::socket>(std::move(sock));
    asio::post(w.ctx, [this, &l, &w, sock_ptr, peer = std::move(peer)]() mutable {
      std::shared_ptr<ConnBase> c;
      if (stopping_.load()) {
        asio::error_code ignored;
        sock_ptr->close(ignored);
        open_count_.fetch_sub(1);
        open_gauge_->Add(-1);
        return;
      }
      if (l.tls) {
        using TlsStream = asio::ssl::stream<tcp::socket>;
        auto stream = std::make_unique<TlsStream>(std::move(*sock_ptr), *l.tls);
        c = std::make_shared<Conn<TlsStream>>(*this, w, l, std::move(stream), std::move(peer));
      } else {
        auto stream = std::make_unique<tcp::socket>(std::move(*sock_ptr));
        c = std::make_shared<Conn<tcp::socket>>(*this, w, l, std::move(stream), std::move(peer));
      }
      w.conns.insert(c);
      c->Start();
    });
    Accept(l);
  });
}

void Server::Impl::Start() {
  if (started_) return;
  started_ = true;
  int n = options_.threads < 1 ? 1 : options_.threads;
  for (int i = 0; i < n; ++i) {
    auto w = std::make_unique<WorkerState>();
    w->guard.emplace(asio::make_work_guard(w->ctx));
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    WorkerState* wp = w.get();
    wp->thread = std::thread([wp] { wp->ctx.run(); });
  }
  for (auto& l : listeners_) Accept(*l);
  accept_thread_ = std::thread([this] { accept_ctx_.run(); });
}

void Server::Impl::Shutdown() {
  if (stopped_ || !started_) return;
  stopped_ = true;
  stopping_.store(true);
  // 1. Stop accepting.
  asio::post(accept_ctx_, [this] {
    for (auto& l : listeners_) {
      asio::error_code ignored;
      l->acceptor->close(ignored);
    }
  });
  accept_thread_.join();
  // 2. Close every connection on its own thread (handlers flush in OnClose), then let the
  //    workers run out of work.
  for (auto& w : workers_) {
    WorkerState* wp = w.get();
    asio::post(wp->ctx, [this, wp] {
      std::vector<std::shared_ptr<ConnBase>> all(wp->conns.begin(), wp->conns.end());
      for (auto& c : all) c->Close("shutdown");
    });
    wp->guard.reset();
  }
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerOptions options,
                                                       HandlerFactory factory) {
  if (options.metrics == nullptr) return absl::InvalidArgumentError("net: metrics registry required");
  if (!factory) return absl::InvalidArgumentError("net: handler factory required");
  if (options.read_buffer_bytes == 0) options.read_buffer_bytes = 4096;
  return std::unique_ptr<Server>(new Server(std::make_unique<Impl>(options, std::move(factory))));
}

absl::StatusOr<uint16_t> Server::AddListener(const ListenerOptions& options) {
  return impl_->AddListener(options);
}
void Server::Start() { impl_->Start(); }
void Server::Shutdown() { impl_->Shutdown(); }
size_t Server::open_connections() const { return impl_->open(); }

absl::StatusOr<uint64_t> RaiseFileLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return absl::InternalError("getrlimit failed");
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return absl::InternalError("setrlimit failed");
  }
  return static_cast<uint64_t>(rl.rlim_cur);
}

}  // namespace tapvault::net
