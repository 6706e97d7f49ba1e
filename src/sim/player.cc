#include "sim/player.h"

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "ber/reader.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"
#include "sim/generator.h"

namespace tapvault::sim {
namespace {

using base::StrCat;
using Clock = std::chrono::steady_clock;

constexpr size_t kFlushBytes = 256 * 1024;   // write buffer per channel
constexpr int kRetryMs = 100;                // between connection attempts

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

struct SslCtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

absl::StatusOr<SslCtxPtr> MakeTlsContext(const TlsOptions& tls) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return absl::InternalError(StrCat("tls: ", OpenSslError()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          StrCat("tls: client certificate ", tls.cert_file, ": ", OpenSslError()));
    }
    const std::string& key = tls.key_file.empty() ? tls.cert_file : tls.key_file;
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      return absl::InvalidArgumentError(StrCat("tls: client key ", key, ": ", OpenSslError()));
    }
  }
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(StrCat("tls: CA file ", tls.ca_file, ": ", OpenSslError()));
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  return ctx;
}

// One side of a mediator connection: a file, or a TCP / TLS socket.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual absl::Status Write(base::Bytes data) = 0;
  // Up to buf.size() bytes, waiting at most timeout_ms; 0 = nothing arrived in time.
  virtual absl::StatusOr<size_t> Read(std::span<std::byte> buf, int timeout_ms) = 0;
  virtual absl::Status Reconnect() = 0;
  virtual bool interactive() const = 0;  // false: nobody answers (a file)
};

class FileTransport : public Transport {
 public:
  static absl::StatusOr<std::unique_ptr<FileTransport>> Open(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
      return absl::NotFoundError(StrCat("cannot create ", path, ": ", std::strerror(errno)));
    }
    return std::unique_ptr<FileTransport>(new FileTransport(f, path));
  }
  ~FileTransport() override { std::fclose(f_); }
  absl::Status Write(base::Bytes data) override {
    if (std::fwrite(data.data(), 1, data.size(), f_) != data.size() || std::fflush(f_) != 0) {
      return absl::UnavailableError(StrCat("write ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  absl::StatusOr<size_t> Read(std::span<std::byte>, int) override { return 0; }
  absl::Status Reconnect() override { return absl::OkStatus(); }
  bool interactive() const override { return false; }

 private:
  FileTransport(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  std::FILE* f_;
  std::string path_;
};

class SocketTransport : public Transport {
 public:
  SocketTransport(std::string name, std::string host, uint16_t port, SSL_CTX* tls,
                  std::string server_name, uint32_t connect_timeout_ms)
      : name_(std::move(name)), host_(std::move(host)), port_(port), tls_(tls),
        server_name_(std::move(server_name)), connect_timeout_ms_(connect_timeout_ms) {}
  ~SocketTransport() override { Close(); }

  absl::Status Connect() {
    const auto deadline = Clock::now() + std::chrono::milliseconds(connect_timeout_ms_);
    absl::Status last;
    do {
      last = ConnectOnce();
      if (last.ok()) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryMs));
    } while (Clock::now() < deadline);
    return last;
  }

  absl::Status Write(base::Bytes data) override {
    size_t done = 0;
    while (done < data.size()) {
      if (ssl_) {
        size_t n = 0;
        if (SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n) != 1) {
          return absl::UnavailableError(StrCat(name_, ": TLS send failed: ", OpenSslError()));
        }
        done += n;
        continue;
      }
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError(StrCat(name_, ": send failed: ", std::strerror(errno)));
      }
      done += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(std::span<std::byte> buf, int timeout_ms) override {
    if (!(ssl_ && SSL_pending(ssl_) > 0)) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      int r = ::poll(&p, 1, std::max(0, timeout_ms));
      if (r < 0 && errno != EINTR) {
        return absl::UnavailableError(StrCat(name_, ": poll: ", std::strerror(errno)));
      }
      if (r <= 0) return 0;
    }
    ssize_t n;
    if (ssl_) {
      size_t got = 0;
      if (SSL_read_ex(ssl_, buf.data(), buf.size(), &got) != 1) {
        int err = SSL_get_error(ssl_, 0);
        if (err == SSL_ERROR_WANT_READ) return 0;
        return absl::UnavailableError(StrCat(name_, ": the LEMF closed the TLS connection"));
      }
      n = static_cast<ssize_t>(got);
    } else {
      n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) return 0;
      if (n < 0) return absl::UnavailableError(StrCat(name_, ": recv: ", std::strerror(errno)));
      if (n == 0) return absl::UnavailableError(StrCat(name_, ": the LEMF closed the connection"));
    }
    return static_cast<size_t>(n);
  }

  absl::Status Reconnect() override {
    Close();
    return Connect();
  }
  bool interactive() const override { return true; }

 private:
  void Close() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
      ssl_ = nullptr;
    }
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  absl::Status ConnectOnce() {
    Close();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = StrCat(static_cast<int>(port_));
    int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
      return absl::UnavailableError(
          StrCat(name_, ": cannot resolve ", host_, ": ", ::gai_strerror(rc)));
    }
    std::string error = "no address";
    for (addrinfo* a = res; a; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
        fd_ = fd;
        break;
      }
      error = std::strerror(errno);
      ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) {
      return absl::UnavailableError(
          StrCat(name_, ": cannot connect to ", host_, ":", static_cast<int>(port_), ": ", error));
    }
    if (tls_) {
      ssl_ = SSL_new(tls_);
      SSL_set_fd(ssl_, fd_);
      // SNI names a host, never an address (RFC 6066 3).
      std::string sni = server_name_.empty() ? host_ : server_name_;
      if (sni.find_first_not_of("0123456789.:") != std::string::npos) {
        SSL_set_tlsext_host_name(ssl_, const_cast<char*>(sni.c_str()));
      }
      if (!server_name_.empty()) SSL_set1_host(ssl_, server_name_.c_str());
      if (SSL_connect(ssl_) != 1) {
        std::string why = OpenSslError();
        long verify = SSL_get_verify_result(ssl_);
        if (verify != X509_V_OK) why = StrCat(why, " (", X509_verify_cert_error_string(verify), ")");
        Close();
        return absl::UnavailableError(StrCat(name_, ": TLS handshake with ", host_, ":",
                                             static_cast<int>(port_), " failed: ", why));
      }
    }
    return absl::OkStatus();
  }

  std::string name_, host_;
  uint16_t port_;
  SSL_CTX* tls_;
  std::string server_name_;
  uint32_t connect_timeout_ms_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

// The --acked-log file, shared by the connection threads. Each response's lines are written
// and flushed together, so the file never holds a line that was not acknowledged.
class AckedLog {
 public:
  static absl::StatusOr<std::unique_ptr<AckedLog>> Open(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) return absl::NotFoundError(StrCat("cannot open ", path, ": ", std::strerror(errno)));
    return std::unique_ptr<AckedLog>(new AckedLog(f, path));
  }
  ~AckedLog() { std::fclose(f_); }
  absl::Status Append(std::string_view lines) {
    absl::MutexLock lock(&mu_);
    if (std::fwrite(lines.data(), 1, lines.size(), f_) != lines.size() || std::fflush(f_) != 0) {
      return absl::UnavailableError(StrCat("write ", path_, ": ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }

 private:
  AckedLog(std::FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  absl::Mutex mu_;
  std::FILE* f_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

// What the option / acknowledgement PDUs of a connection carry (like its keep-alives).
struct ControlPdus {
  proto::PsHeader header;       // views into the Scenario
  proto::li_ps::EncodeOptions encoding;
  uint32_t timeout_ms = 0;      // optionResponse and final acknowledgement
  AckedLog* log = nullptr;
};

// A PDU sent, as the resend window keeps it.
struct SentPdu {
  std::vector<std::byte> bytes;
  std::string line;             // its acked-log line ("" when not acknowledging)
};

// One channel (HI2 or HI3) of one mediator connection.
struct ChannelState {
  std::string name;
  std::unique_ptr<Transport> transport;
  std::vector<std::byte> pending;              // not yet written
  std::deque<SentPdu> window;                  // the last PDUs sent (resend window)
  size_t window_capacity = 0;
  std::vector<std::byte> rx;                   // bytes from the LEMF not yet framed
  ChannelStats stats;
  std::optional<uint32_t> awaited_keepalive;   // sequence number of the keep-alive being awaited

  // PDU acknowledgement; all unused while ack_every == 0.
  uint32_t ack_every = 0;
  const ControlPdus* control = nullptr;
  uint32_t control_seq = 0;                    // sequence numbers of our option / ack PDUs
  std::optional<uint32_t> awaited_option;      // sequence number of our optionRequest
  bool ack_accepted = false;
  uint32_t since_request = 0;                  // PDUs sent since the last ack request
  uint64_t sent_pos = 0;                       // PDUs sent on the current connection
  bool skip_next = false;                      // after a malformed record: the next PDU is lost
  struct Unacked {
    uint64_t pos;
    std::string line;
  };
  std::deque<Unacked> unacked;                 // loggable PDUs not yet acknowledged
  std::deque<std::pair<uint32_t, uint64_t>> outstanding;  // (request seq, PDUs sent before it)

  bool acking() const { return ack_every > 0; }

  absl::Status Flush() {
    if (pending.empty()) return absl::OkStatus();
    absl::Status s = transport->Write(pending);
    pending.clear();
    return s;
  }
  absl::Status Send(base::Bytes bytes) {
    pending.insert(pending.end(), bytes.begin(), bytes.end());
    stats.bytes += bytes.size();
    return pending.size() >= kFlushBytes ? Flush() : absl::OkStatus();
  }
  void Remember(const std::vector<std::byte>& pdu, const std::string& line) {
    if (window_capacity == 0) return;
    if (window.size() == window_capacity) window.pop_front();
    window.push_back({pdu, line});
  }

  // An IRI/CC PDU went out: track it for acknowledgement, and ask for one every ack_every PDUs.
  absl::Status Sent(const std::string& line) {
    if (!acking()) return absl::OkStatus();
    if (skip_next) {
      skip_next = false;
    } else if (!line.empty()) {
      unacked.push_back({sent_pos, line});
    }
    ++sent_pos;
    if (++since_request >= ack_every) return RequestAck();
    return absl::OkStatus();
  }

  proto::PsHeader ControlHeader(uint32_t seq) const {
    proto::PsHeader h = control->header;
    h.sequence_number = seq;
    h.timestamp = base::Now();
    return h;
  }
  absl::Status SendControl(const std::vector<std::byte>& pdu) {
    ++stats.pdus;
    return Send(pdu);
  }

  // Option negotiation on a fresh connection (TS 102 232-1 optionRequest / optionResponse /
  // optionComplete). No optionResponse in time counts as declined.
  absl::Status Negotiate() {
    ack_accepted = false;
    since_request = 0;
    sent_pos = 0;
    skip_next = false;
    unacked.clear();
    outstanding.clear();
    const uint32_t seq = control_seq++;
    awaited_option = seq;
    RETURN_IF_ERROR(SendControl(proto::li_ps::EncodeOptionRequest(
        ControlHeader(seq), {proto::li_ps::Option::kPduAcknowledgement}, control->encoding)));
    RETURN_IF_ERROR(Flush());
    ASSIGN_OR_RETURN(bool answered,
                     WaitFor([this] { return !awaited_option.has_value(); }, control->timeout_ms));
    if (!answered) {
      awaited_option.reset();
      ++stats.acks_declined;
    }
    return SendControl(proto::li_ps::EncodeTriPdu(
        ControlHeader(control_seq++), proto::Kind::kOptionComplete, control->encoding));
  }

  absl::Status RequestAck() {
    const uint32_t seq = control_seq++;
    outstanding.emplace_back(seq, sent_pos);
    since_request = 0;
    RETURN_IF_ERROR(SendControl(proto::li_ps::EncodeTriPdu(
        ControlHeader(seq), proto::Kind::kAckRequest, control->encoding)));
    ++stats.ack_requests;
    RETURN_IF_ERROR(Flush());
    return Drain();
  }

  // A pDUAcknowledgementResponse: every PDU sent before the matching request (and so before
  // any earlier request) is acknowledged.
  absl::Status Acknowledged(uint32_t seq) {
    ++stats.ack_responses;
    auto it = std::find_if(outstanding.begin(), outstanding.end(),
                           [seq](const auto& o) { return o.first == seq; });
    if (it == outstanding.end()) return absl::OkStatus();  // late, or for an old connection
    const uint64_t upto = it->second;
    outstanding.erase(outstanding.begin(), it + 1);
    std::string lines;
    uint64_t n = 0;
    while (!unacked.empty() && unacked.front().pos < upto) {
      lines += unacked.front().line;
      unacked.pop_front();
      ++n;
    }
    if (n == 0) return absl::OkStatus();
    stats.pdus_acked += n;
    return control->log != nullptr ? control->log->Append(lines) : absl::OkStatus();
  }

  // One PDU from the LEMF.
  absl::Status Process(const proto::PsPdu& pdu) {
    const proto::Kind kind = pdu.items.empty() ? proto::Kind::kUnknown : pdu.items[0].kind;
    const uint32_t seq = pdu.header.sequence_number;
    switch (kind) {
      case proto::Kind::kKeepaliveResponse:
        // TS 102 232-1 5.2.12: the LEMF answers a keep-alive with the same sequence number; a
        // late response to an earlier keep-alive is ignored.
        if (awaited_keepalive == seq) {
          ++stats.keepalive_responses;
          awaited_keepalive.reset();
        }
        return absl::OkStatus();
      case proto::Kind::kOptionResponse:
        if (awaited_option == seq) {
          awaited_option.reset();
          for (const auto& [key, value] : pdu.items[0].attributes) {
            if (key == "option.accepted" && value == "pDUAcknowledgement") ack_accepted = true;
          }
          if (!ack_accepted) ++stats.acks_declined;
        }
        return absl::OkStatus();
      case proto::Kind::kAckResponse:
        return Acknowledged(seq);
      default:
        return absl::InvalidArgumentError(
            StrCat(name, ": unexpected PDU from the LEMF (a mediator drops the connection)"));
    }
  }

  // Processes every complete PDU in `rx`.
  absl::Status ProcessBuffered() {
    proto::PsPdu pdu;
    for (;;) {
      ber::Context ctx;
      absl::StatusOr<size_t> len = ber::CompleteTlvLength(rx, ctx);
      if (!len.ok()) {
        return absl::InvalidArgumentError(
            StrCat(name, ": undecodable bytes from the LEMF: ",
                   base::View(len.status().message())));
      }
      if (*len == 0) return absl::OkStatus();
      absl::Status s = proto::li_ps::DecodePsPdu(base::Bytes(rx).first(*len), pdu);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            StrCat(name, ": undecodable PDU from the LEMF: ", base::View(s.message())));
      }
      absl::Status p = Process(pdu);
      rx.erase(rx.begin(), rx.begin() + static_cast<std::ptrdiff_t>(*len));
      RETURN_IF_ERROR(p);
    }
  }

  // Reads and processes what the LEMF sent until `done()` holds (true) or `timeout_ms` passed
  // (false).
  absl::StatusOr<bool> WaitFor(const std::function<bool()>& done, uint32_t timeout_ms) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::byte buf[4096];
    for (;;) {
      RETURN_IF_ERROR(ProcessBuffered());
      if (done()) return true;
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      ASSIGN_OR_RETURN(size_t n, transport->Read(buf, static_cast<int>(left)));
      rx.insert(rx.end(), buf, buf + n);
    }
  }

  // Processes whatever has already arrived, without waiting.
  absl::Status Drain() {
    std::byte buf[4096];
    for (;;) {
      RETURN_IF_ERROR(ProcessBuffered());
      ASSIGN_OR_RETURN(size_t n, transport->Read(buf, 0));
      if (n == 0) return absl::OkStatus();
      rx.insert(rx.end(), buf, buf + n);
    }
  }

  absl::Status AwaitKeepaliveResponse(uint32_t seq, uint32_t timeout_ms) {
    awaited_keepalive = seq;
    ASSIGN_OR_RETURN(bool answered,
                     WaitFor([this] { return !awaited_keepalive.has_value(); }, timeout_ms));
    if (answered) return absl::OkStatus();
    awaited_keepalive.reset();
    return absl::DeadlineExceededError(StrCat(name, ": no keep-aliveResponse with sequence ",
                                              "number ", seq, " within ", timeout_ms, " ms"));
  }
};

// Spaces PDUs at `rate` per second (0 = unpaced).
class Pacer {
 public:
  explicit Pacer(double rate) : rate_(rate), start_(Clock::now()) {}
  // True if the caller must flush and sleep until the returned time first.
  bool Due(Clock::time_point& when) {
    if (rate_ <= 0) return false;
    when = start_ + std::chrono::nanoseconds(static_cast<int64_t>(sent_ * 1e9 / rate_));
    ++sent_;
    return when > Clock::now() + std::chrono::microseconds(200);
  }

 private:
  double rate_;
  Clock::time_point start_;
  uint64_t sent_ = 0;
};

struct ConnectionResult {
  absl::Status status;
  ChannelStats stats[2];
};

// "<operator>/<element>" of each warrant's LIID, for the acked log.
using Origins = std::map<std::string, std::string, std::less<>>;

std::string AckedLine(const Origins& origins, const Action& a) {
  auto it = origins.find(a.liid);
  return StrCat(a.liid, "\t", it == origins.end() ? "" : it->second, "\t", a.cin, "\t", a.seq,
                "\t", proto::KindName(a.kind), "\n");
}

void RunConnection(const Scenario& scenario, const PlayerOptions& o, uint32_t index,
                   base::Timestamp start, SSL_CTX* tls, const ControlPdus& control,
                   const Origins& origins, ConnectionResult& result) {
  ChannelState ch[2];
  const uint32_t ack_every = o.ack_every.value_or(scenario.ack_every);
  size_t window = 0;
  for (const Event& e : scenario.events) {
    if (const auto* r = std::get_if<Reconnect>(&e)) window = std::max<size_t>(window, r->resend);
  }
  auto run = [&]() -> absl::Status {
    for (int c = 0; c < 2; ++c) {
      ch[c].name = StrCat(ChannelName(static_cast<Channel>(c)),
                          o.connections > 1 ? StrCat("#", index) : "");
      ch[c].window_capacity = window;
      const std::string& file = c == 0 ? o.out_hi2 : o.out_hi3;
      if (!file.empty()) {
        ASSIGN_OR_RETURN(ch[c].transport,
                         FileTransport::Open(index == 0 ? file : StrCat(file, ".", index)));
      } else {
        std::string host;
        uint16_t port = 0;
        RETURN_IF_ERROR(SplitHostPort(c == 0 ? o.hi2 : o.hi3, host, port));
        auto t = std::make_unique<SocketTransport>(ch[c].name, host, port, tls,
                                                   o.tls.server_name, o.connect_timeout_ms);
        RETURN_IF_ERROR(t->Connect());
        ch[c].transport = std::move(t);
        ch[c].ack_every = ack_every;  // acknowledgements only where someone answers
        ch[c].control = &control;
      }
    }
    for (ChannelState& c : ch) {
      if (c.acking()) RETURN_IF_ERROR(c.Negotiate());
    }
    Generator gen(scenario, start);
    Pacer pacer(o.rate / std::max<uint32_t>(1, o.connections));
    std::vector<Action> actions;
    for (uint32_t r = 0; r < o.repeat; ++r) {
      actions.clear();
      gen.Play(index * o.repeat + r, actions);
      for (Action& a : actions) {
        ChannelState& c = ch[static_cast<int>(a.channel)];
        Clock::time_point when;
        if (a.type != Action::Type::kReconnect && pacer.Due(when)) {
          RETURN_IF_ERROR(ch[0].Flush());
          RETURN_IF_ERROR(ch[1].Flush());
          std::this_thread::sleep_until(when);
        }
        switch (a.type) {
          case Action::Type::kPdu: {
            RETURN_IF_ERROR(c.Send(a.bytes));
            ++c.stats.pdus;
            const std::string line = c.acking() ? AckedLine(origins, a) : std::string();
            c.Remember(a.bytes, line);
            RETURN_IF_ERROR(c.Sent(line));
            break;
          }
          case Action::Type::kRaw:
            RETURN_IF_ERROR(c.Send(a.bytes));
            ++c.stats.malformed;
            c.skip_next = c.acking();
            break;
          case Action::Type::kKeepalive:
            RETURN_IF_ERROR(ch[0].Flush());
            RETURN_IF_ERROR(ch[1].Flush());
            if (c.transport->interactive() && a.idle_s > 0) {
              std::this_thread::sleep_for(std::chrono::duration<double>(a.idle_s));
            }
            RETURN_IF_ERROR(c.Send(a.bytes));
            RETURN_IF_ERROR(c.Flush());
            ++c.stats.pdus;
            ++c.stats.keepalives;
            if (c.transport->interactive()) {
              RETURN_IF_ERROR(c.AwaitKeepaliveResponse(a.seq, a.timeout_ms));
            }
            break;
          case Action::Type::kReconnect: {
            RETURN_IF_ERROR(c.Flush());
            RETURN_IF_ERROR(c.transport->Reconnect());
            c.rx.clear();
            ++c.stats.reconnects;
            if (c.acking()) RETURN_IF_ERROR(c.Negotiate());
            const size_t n = std::min<size_t>(a.resend, c.window.size());
            for (size_t i = c.window.size() - n; i < c.window.size(); ++i) {
              RETURN_IF_ERROR(c.Send(c.window[i].bytes));
              ++c.stats.pdus;
              ++c.stats.resent_pdus;
              RETURN_IF_ERROR(c.Sent(c.window[i].line));
            }
            break;
          }
        }
      }
    }
    RETURN_IF_ERROR(ch[0].Flush());
    RETURN_IF_ERROR(ch[1].Flush());
    // A final request on each connection, awaited where the LEMF accepted acknowledgements.
    for (ChannelState& c : ch) {
      if (c.acking()) RETURN_IF_ERROR(c.RequestAck());
    }
    for (ChannelState& c : ch) {
      if (!c.acking() || !c.ack_accepted) continue;
      ASSIGN_OR_RETURN(bool answered,
                       c.WaitFor([&c] { return c.outstanding.empty(); }, control.timeout_ms));
      if (!answered) ++c.stats.ack_timeouts;
    }
    return absl::OkStatus();
  };
  result.status = run();
  if (!result.status.ok()) {
    // The LEMF may have acknowledged more before it went away: take what already arrived, so
    // that the acked log is complete for what was acknowledged.
    for (ChannelState& c : ch) {
      if (c.acking() && c.transport) c.Drain().IgnoreError();
    }
  }
  result.stats[0] = ch[0].stats;
  result.stats[1] = ch[1].stats;
}

void Add(ChannelStats& to, const ChannelStats& s) {
  to.pdus += s.pdus;
  to.bytes += s.bytes;
  to.keepalives += s.keepalives;
  to.keepalive_responses += s.keepalive_responses;
  to.reconnects += s.reconnects;
  to.resent_pdus += s.resent_pdus;
  to.malformed += s.malformed;
  to.ack_requests += s.ack_requests;
  to.ack_responses += s.ack_responses;
  to.pdus_acked += s.pdus_acked;
  to.acks_declined += s.acks_declined;
  to.ack_timeouts += s.ack_timeouts;
}

nlohmann::json StatsJson(const ChannelStats& s) {
  return {{"pdus", s.pdus},
          {"bytes", s.bytes},
          {"keepalives", s.keepalives},
          {"keepalive_responses", s.keepalive_responses},
          {"reconnects", s.reconnects},
          {"resent_pdus", s.resent_pdus},
          {"malformed", s.malformed},
          {"ack_requests", s.ack_requests},
          {"ack_responses", s.ack_responses},
          {"pdus_acked", s.pdus_acked},
          {"acks_declined", s.acks_declined},
          {"ack_timeouts", s.ack_timeouts}};
}

}  // namespace

absl::Status SplitHostPort(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not HOST:PORT"));
  }
  std::string_view h = text.substr(0, colon), p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535 || h.empty()) {
    return absl::InvalidArgumentError(StrCat("'", text, "' is not HOST:PORT"));
  }
  host = std::string(h);
  port = static_cast<uint16_t>(v);
  return absl::OkStatus();
}

nlohmann::json PlaySummary::ToJson() const {
  const uint64_t pdus = hi2.pdus + hi3.pdus;
  const uint64_t bytes = hi2.bytes + hi3.bytes;
  const double secs = elapsed_s > 0 ? elapsed_s : 1e-9;
  return {{"hi2", StatsJson(hi2)},
          {"hi3", StatsJson(hi3)},
          {"connections", connections},
          {"pdus", pdus},
          {"bytes", bytes},
          {"keepalive_responses", hi2.keepalive_responses + hi3.keepalive_responses},
          {"pdus_acked", hi2.pdus_acked + hi3.pdus_acked},
          {"elapsed_s", elapsed_s},
          {"pdus_per_s", static_cast<double>(pdus) / secs},
          {"mbytes_per_s", static_cast<double>(bytes) / secs / 1e6}};
}

absl::StatusOr<PlaySummary> PlayScenario(const Scenario& scenario, const PlayerOptions& o) {
  const bool to_files = !o.out_hi2.empty() || !o.out_hi3.empty();
  if (to_files && (o.out_hi2.empty() || o.out_hi3.empty())) {
    return absl::InvalidArgumentError("give both --out-hi2 and --out-hi3");
  }
  if (!to_files && (o.hi2.empty() || o.hi3.empty())) {
    return absl::InvalidArgumentError("give --hi2 and --hi3 (or --out-hi2 and --out-hi3)");
  }
  if (o.connections == 0 || o.repeat == 0) {
    return absl::InvalidArgumentError("--connections and --repeat must be at least 1");
  }
  if (o.rate < 0) return absl::InvalidArgumentError("--rate must not be negative");
  SslCtxPtr tls;
  if (!to_files && o.tls.enabled()) {
    ASSIGN_OR_RETURN(tls, MakeTlsContext(o.tls));
  }
  ::signal(SIGPIPE, SIG_IGN);  // a closed peer is an error Status, not a signal
  const base::Timestamp start = o.start ? *o.start : scenario.start ? *scenario.start : base::Now();

  std::unique_ptr<AckedLog> acked_log;
  if (!o.acked_log.empty()) {
    ASSIGN_OR_RETURN(acked_log, AckedLog::Open(o.acked_log));
  }
  ControlPdus control;
  control.header.liid = scenario.keepalive_liid;
  control.header.authorization_country_code = scenario.country;
  control.header.operator_id = scenario.operator_id;
  control.header.network_element_id = scenario.keepalive_network_element;
  control.header.cin = 0;
  control.header.delivery_country_code = scenario.country;
  control.encoding = {.length_form = scenario.encoding.length_form,
                      .microsecond_timestamp = scenario.encoding.microsecond_timestamp};
  control.timeout_ms = o.ack_timeout_ms;
  control.log = acked_log.get();
  Origins origins;
  for (const Warrant& w : scenario.warrants) {
    origins[w.liid] = StrCat(w.operator_id, "/", w.network_element);
  }

  std::vector<ConnectionResult> results(o.connections);
  const auto t0 = Clock::now();
  if (o.connections == 1) {
    RunConnection(scenario, o, 0, start, tls.get(), control, origins, results[0]);
  } else {
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < o.connections; ++i) {
      threads.emplace_back(RunConnection, std::cref(scenario), std::cref(o), i, start, tls.get(),
                           std::cref(control), std::cref(origins), std::ref(results[i]));
    }
    for (std::thread& t : threads) t.join();
  }
  PlaySummary summary;
  summary.connections = o.connections;
  summary.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (const ConnectionResult& r : results) {
    if (!r.status.ok()) return r.status;
    Add(summary.hi2, r.stats[0]);
    Add(summary.hi3, r.stats[1]);
  }
  return summary;
}

}  // namespace tapvault::sim
