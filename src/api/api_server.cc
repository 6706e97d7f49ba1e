#include "api/api_server.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "access/authorize.h"
#include "access/comm_scope.h"
#include "audit/audit_log.h"
#include "base/json_time.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "gate/read_gate.h"
#include "inspect/record_json.h"
#include "media/pcap_writer.h"
#include "media/wav.h"
#include "privileged/list_store.h"
#include "privileged/version_json.h"
#include "proto/li_ps/decode.h"
#include "warrant/warrant_json.h"
#include "warrant/warrant_store.h"

namespace tapvault::api {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;
using access::Action;
using access::Principal;
using access::Role;

constexpr uint64_t kMaxListLimit = 1000;
constexpr uint64_t kDefaultListLimit = 100;
constexpr size_t kMaxSessions = 10000;
constexpr size_t kMaxPathParamBytes = 128;

// An HTTP-level failure a handler raises: status and message for the JSON error body.
struct HttpError {
  int status;
  std::string message;
};

int StatusToHttp(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

void SetError(httplib::Response& res, int status, absl::string_view message) {
  res.status = status;
  json body = {{"error", std::string(message.data(), message.size())}, {"status", status}};
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void SetJson(httplib::Response& res, const ojson& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, ojson::error_handler_t::replace), "application/json");
}

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  return Hex(d, sizeof d);
}

// Strictly decimal, 1..20 digits, fits uint64; no sign, no spaces, no leading '+'.
std::optional<uint64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// A warrant id in a path: [A-Za-z0-9._:-], not "." or "..".
bool ValidWarrantId(std::string_view s) {
  if (s.empty() || s.size() > kMaxPathParamBytes || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Valid UTF-8 without control characters: what the audit log can record (audit_log.h).
bool PrintableUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // No overlong forms, no surrogates, nothing above U+10FFFF, no C1 controls.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || (cp >= 0x80 && cp <= 0x9F)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

absl::StatusOr<int64_t> ParseTime(std::string_view name, std::string_view text) {
  auto t = base::ParseRfc3339(text);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        base::StrCat(name, ": not an RFC 3339 time: ", base::View(t.status().message())));
  }
  return t->unix_us;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string CsvField(std::string_view s) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'));
  if (!quote) return std::string(s);
  std::string out = "\"";
  // A leading formula character is defused with a quote (spreadsheet injection).
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) out += '\'';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Reads a JSON object body with exactly the allowed keys (unknown keys are an error: a typo
// must not silently drop an intended field).
absl::StatusOr<json> ParseBody(const httplib::Request& req, const std::set<std::string>& allowed) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return absl::InvalidArgumentError("body is not valid JSON");
  if (!body.is_object()) return absl::InvalidArgumentError("body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (allowed.count(k) == 0) return absl::InvalidArgumentError(base::StrCat("unknown field ", k));
  }
  return body;
}

absl::StatusOr<std::string> StringField(const json& body, const std::string& key, bool required) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) {
    if (required) return absl::InvalidArgumentError(base::StrCat("missing field ", key));
    return std::string();
  }
  if (!it->is_string()) return absl::InvalidArgumentError(base::StrCat(key, " must be a string"));
  return it->get<std::string>();
}

}  // namespace

// ------------------------------------------------------------------------------------------------

class ApiServer::Impl {
 public:
  struct Ctx {
    const httplib::Request& req;
    httplib::Response& res;
    std::map<std::string, std::string> path;   // path parameters
    std::map<std::string, std::string> query;  // validated query parameters
    std::optional<Principal> principal;
    std::string session_key;                   // sha256 of the session token, when by session
  };
  using Handler = void (Impl::*)(Ctx&);
  struct RouteDef {
    Route route;
    Handler handler;
    bool needs_auth;
  };

  explicit Impl(const ApiOptions& o) : options_(o) {}

  static const std::vector<RouteDef>& Table();

  absl::Status Init();
  void Stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  uint16_t port_ = 0;

 private:
  int64_t Now() const { return options_.clock ? options_.clock() : base::Now().unix_us; }

  void Dispatch(const httplib::Request& req, httplib::Response& res);
  std::optional<Principal> Authenticate(Ctx& ctx);

  // Records one API request in the audit log; false (and a 503 answer) when it cannot be.
  bool Audit(Ctx& ctx, Action permission, std::string_view object, bool ok,
             absl::string_view reason, const json& extra = nullptr);
  // Role precheck + Authorize (non-team scope) + audit. False when the answer is already set.
  bool Admit(Ctx& ctx, Action permission, std::string_view object);
  static std::string ActingRole(const Principal& p, Action a);

  // Visibility of one communication for `p` doing `a` (warrant covering, window, team).
  struct Visibility {
    bool visible = false;
    std::string role;  // the role it is seen in
    std::string warrant_id;
    std::string team;
  };
  Visibility See(const Principal& p, const store::CommRow& c, Action a,
                 const warrant::WarrantIndex& index, int64_t now) const;
  // The communication `id` as the gate lists it (nullopt when unknown), recorded by the gate.
  // One communication through the gate, with the caller's scope applied there (the audit record
  // names it only when it is shown): page.scanned says whether it exists, page.rows whether the
  // caller may see it.
  absl::StatusOr<gate::ListPage> LookupComm(uint64_t id, const gate::Reader& r,
                                            const gate::ListOptions& scope);
  // Looks up, checks visibility (404), audits. The comm when the handler may go on.
  std::optional<gate::Listed> VisibleComm(Ctx& ctx, Action permission, Visibility* vis);
  absl::StatusOr<std::vector<store::ContentReader::Record>> ReadContent(Ctx& ctx, uint64_t id,
                                                                        const Visibility& vis);
  gate::Reader ReaderOf(const Principal& p, std::string role) const {
    return gate::Reader{p.name, std::move(role), "api"};
  }
  bool RequireRoleFor(Ctx& ctx, Action a, std::string_view object);
  void Fail(Ctx& ctx, const absl::Status& s) { SetError(ctx.res, StatusToHttp(s), s.message()); }

  ojson CommJson(const gate::Listed& l, const Visibility& v) const;
  bool MayManageWarrants(const Principal& p) const {
    return access::Authorize(p, Action::kWarrantManage, {.now_us = Now()}).ok();
  }
  bool SeesWarrant(const Principal& p, const warrant::WarrantSpec& s) const {
    return access::Authorize(p, Action::kReadMetadata,
                             {.team = s.team, .warrant_ok = true, .now_us = Now()})
        .ok();
  }

  // Handlers.
  void Health(Ctx& ctx);
  void Metrics(Ctx& ctx);
  void Login(Ctx& ctx);
  void Logout(Ctx& ctx);
  void ListWarrants(Ctx& ctx);
  void GetWarrant(Ctx& ctx);
  void AddWarrant(Ctx& ctx);
  void ExtendWarrant(Ctx& ctx);
  void EndWarrant(Ctx& ctx);
  void ListComms(Ctx& ctx);
  void GetComm(Ctx& ctx);
  void Content(Ctx& ctx);
  void ContentPcap(Ctx& ctx);
  void ContentWav(Ctx& ctx);
  void Flag(Ctx& ctx);
  void Decision(Ctx& ctx);
  void PrivilegedVersions(Ctx& ctx);
  void AuditQuery(Ctx& ctx);
  void AuditCheckpoint(Ctx& ctx);
  void RunDecision(Ctx& ctx, const store::DecisionOrder& order);

  ApiOptions options_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;

  absl::Mutex gate_mu_;  // the gate is thread-compatible
  std::unique_ptr<gate::ReadGate> gate_ ABSL_GUARDED_BY(gate_mu_);
  std::unique_ptr<warrant::WarrantStore> warrants_;

  struct Session {
    Principal principal;
    int64_t created_us = 0;
    int64_t last_us = 0;
  };
  absl::Mutex sessions_mu_;
  absl::flat_hash_map<std::string, Session> sessions_ ABSL_GUARDED_BY(sessions_mu_);
};

const std::vector<ApiServer::Impl::RouteDef>& ApiServer::Impl::Table() {
  static const auto* table = new std::vector<RouteDef>{
      {{"GET", "/api/v1/health", {}}, &Impl::Health, false},
      {{"GET", "/api/v1/metrics", {}}, &Impl::Metrics, true},
      {{"POST", "/api/v1/login", {}}, &Impl::Login, false},
      {{"POST", "/api/v1/logout", {}}, &Impl::Logout, true},
      {{"GET", "/api/v1/warrants", {"liid", "team", "at"}}, &Impl::ListWarrants, true},
      {{"POST", "/api/v1/warrants", {}}, &Impl::AddWarrant, true},
      {{"GET", "/api/v1/warrants/{id}", {}}, &Impl::GetWarrant, true},
      {{"POST", "/api/v1/warrants/{id}/extend", {}}, &Impl::ExtendWarrant, true},
      {{"POST", "/api/v1/warrants/{id}/end", {}}, &Impl::EndWarrant, true},
      {{"GET", "/api/v1/comms", {"liid", "state", "from", "to", "party", "after", "limit"}},
       &Impl::ListComms, true},
      {{"GET", "/api/v1/comms/{id}", {}}, &Impl::GetComm, true},
      {{"GET", "/api/v1/comms/{id}/content", {}}, &Impl::Content, true},
      {{"GET", "/api/v1/comms/{id}/content.pcap", {}}, &Impl::ContentPcap, true},
      {{"GET", "/api/v1/comms/{id}/content.wav", {}}, &Impl::ContentWav, true},
      {{"POST", "/api/v1/comms/{id}/flag", {}}, &Impl::Flag, true},
      {{"POST", "/api/v1/comms/{id}/decision", {}}, &Impl::Decision, true},
      {{"GET", "/api/v1/privileged/versions", {}}, &Impl::PrivilegedVersions, true},
      {{"GET", "/api/v1/audit",
        {"actor", "action", "object", "from", "to", "contains", "after", "limit", "format"}},
       &Impl::AuditQuery, true},
      {{"GET", "/api/v1/audit/checkpoint", {}}, &Impl::AuditCheckpoint, true},
  };
  return *table;
}

absl::Status ApiServer::Impl::Init() {
  if (options_.users == nullptr || options_.audit == nullptr || !options_.warrants) {
    return absl::InvalidArgumentError("api: users, audit and warrants are required");
  }
  if (options_.cert_file.empty() || options_.key_file.empty()) {
    return absl::InvalidArgumentError("api: cert_file and key_file are required (TLS only)");
  }
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(base::StrCat("api: listen must be host:port, not ",
                                                   options_.listen));
  }
  std::string host = options_.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::optional<uint64_t> port = ParseId(std::string_view(options_.listen).substr(colon + 1));
  if (!port || *port > 65535) {
    return absl::InvalidArgumentError(base::StrCat("api: bad port in ", options_.listen));
  }

  ASSIGN_OR_RETURN(gate_, gate::ReadGate::Open({.dir = options_.data_dir,
                                                .master_key = options_.master_key,
                                                .recheck = options_.screener,
                                                .audit = options_.audit}));
  ASSIGN_OR_RETURN(warrants_, warrant::WarrantStore::Open(options_.data_dir, /*create=*/true));

  const std::string cert = options_.cert_file, key = options_.key_file,
                    ca = options_.client_ca_file;
  server_ = std::make_unique<httplib::SSLServer>([cert, key, ca](SSL_CTX& ctx) -> bool {
    // TLS 1.3 only: no downgrade, no legacy renegotiation, forward secrecy always.
    if (SSL_CTX_set_min_proto_version(&ctx, TLS1_3_VERSION) != 1) return false;
    if (SSL_CTX_use_certificate_chain_file(&ctx, cert.c_str()) != 1) return false;
    if (SSL_CTX_use_PrivateKey_file(&ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) return false;
    if (SSL_CTX_check_private_key(&ctx) != 1) return false;
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (!ca.empty()) {
      if (SSL_CTX_load_verify_locations(&ctx, ca.c_str(), nullptr) != 1) return false;
      // Asked for, not required: a client without a certificate may still use a bearer token.
      // A certificate that is presented must verify against the CA.
      SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, nullptr);
    }
    return true;
  });
  if (!server_->is_valid()) {
    return absl::InvalidArgumentError(
        base::StrCat("api: cannot load TLS certificate ", cert, " / key ", key,
                     ca.empty() ? "" : " / client CA ", ca));
  }
  httplib::SSLServer& srv = *server_;
  const size_t threads = std::max<size_t>(1, options_.threads);
  srv.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  const time_t sec = options_.io_timeout_ms / 1000;
  const time_t usec = (options_.io_timeout_ms % 1000) * 1000;
  srv.set_read_timeout(sec, usec);
  srv.set_write_timeout(sec, usec);
  srv.set_keep_alive_timeout(std::max<time_t>(1, sec));
  srv.set_keep_alive_max_count(100);
  srv.set_payload_max_length(options_.max_body_bytes);
  srv.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Compressed request bodies are refused before they are read (no decompression bombs).
    if (req.has_header("Content-Encoding") &&
        req.get_header_value("Content-Encoding") != "identity") {
      SetError(res, 415, "compressed request bodies are not accepted");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.get_header_value_count("Content-Length") > 1) {
      SetError(res, 400, "more than one Content-Length");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    try {
      Dispatch(req, res);
    } catch (const std::bad_alloc&) {
      throw;  // STYLE: bad_alloc is fatal
    } catch (const std::exception& e) {
      base::Log(base::LogLevel::kError, "api.exception", {{"what", e.what()}});
      SetError(res, 500, "internal error");
    }
  };
  srv.Get(".*", dispatch);
  srv.Post(".*", dispatch);
  srv.Put(".*", dispatch);
  srv.Delete(".*", dispatch);
  srv.Patch(".*", dispatch);
  srv.Options(".*", dispatch);
  srv.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SetError(res, 500, "internal error");
  });
  srv.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> httplib::Server::HandlerResponse {
    if (res.body.empty()) {
      SetError(res, res.status, res.status == 413 ? "payload too large" : "request refused");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }));

  int bound;
  if (*port == 0) {
    bound = srv.bind_to_any_port(host.c_str());
  } else {
    bound = srv.bind_to_port(host.c_str(), static_cast<int>(*port)) ? static_cast<int>(*port) : -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(base::StrCat("api: cannot listen on ", options_.listen));
  }
  port_ = static_cast<uint16_t>(bound);
  thread_ = std::thread([&srv] { srv.listen_after_bind(); });
  for (int i = 0; i < 5000 && !srv.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  base::Log(base::LogLevel::kInfo, "api.listening", {{"port", port_}});
  return absl::OkStatus();
}

// ---- routing ---------------------------------------------------------------------------------

void ApiServer::Impl::Dispatch(const httplib::Request& req, httplib::Response& res) {
  const std::vector<std::string> segs = Split(req.path);
  // The path as decoded by httplib: "." and ".." segments or an encoded '/' that produced extra
  // segments never name anything.
  for (const std::string& s : segs) {
    if (s == "." || s == ".." || s.find('\0') != std::string::npos || s.find('\\') != std::string::npos) {
      return SetError(res, 400, "invalid path");
    }
  }
  const RouteDef* found = nullptr;
  bool other_method = false;
  std::map<std::string, std::string> params;
  for (const RouteDef& def : Table()) {
    const std::vector<std::string> tmpl = Split(def.route.path);
    if (tmpl.size() != segs.size()) continue;
    std::map<std::string, std::string> p;
    bool match = true;
    for (size_t i = 0; i < tmpl.size() && match; ++i) {
      if (tmpl[i].size() > 2 && tmpl[i].front() == '{' && tmpl[i].back() == '}') {
        p[tmpl[i].substr(1, tmpl[i].size() - 2)] = segs[i];
      } else {
        match = tmpl[i] == segs[i];
      }
    }
    if (!match) continue;
    if (def.route.method != req.method) {
      other_method = true;
      continue;
    }
    found = &def;
    params = std::move(p);
    break;
  }
  if (found == nullptr) {
    if (other_method) return SetError(res, 405, "method not allowed");
    return SetError(res, 404, "not found");
  }
  // Path parameters: communication ids are decimal numbers, warrant ids a safe alphabet.
  if (auto it = params.find("id"); it != params.end()) {
    const bool comm = found->route.path.rfind("/api/v1/comms/", 0) == 0;
    if (comm ? !ParseId(it->second).has_value() : !ValidWarrantId(it->second)) {
      return SetError(res, 400, "invalid id in path");
    }
  }
  Ctx ctx{req, res, std::move(params), {}, {}, {}};
  // Query: only the route's parameters, each at most once.
  for (const auto& [k, v] : req.params) {
    const auto& allowed = found->route.query;
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      return SetError(res, 400, base::StrCat("unknown query parameter ", k));
    }
    if (ctx.query.count(k) != 0) {
      return SetError(res, 400, base::StrCat("query parameter given twice: ", k));
    }
    if (v.size() > 1024) return SetError(res, 400, base::StrCat("query parameter too long: ", k));
    if (!PrintableUtf8(v)) {
      return SetError(res, 400, base::StrCat("query parameter ", k, ": not printable UTF-8"));
    }
    ctx.query[k] = v;
  }
  if (found->needs_auth) {
    ctx.principal = Authenticate(ctx);
    if (!ctx.principal) {
      res.set_header("WWW-Authenticate", "Bearer");
      return SetError(res, 401, "authentication required");
    }
  }
  (this->*(found->handler))(ctx);
}

std::optional<Principal> ApiServer::Impl::Authenticate(Ctx& ctx) {
  const int64_t now = Now();
  const std::string auth = ctx.req.get_header_value("Authorization");
  if (!auth.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) {
      return std::nullopt;
    }
    const std::string token = auth.substr(kBearer.size());
    if (token.rfind(access::kTokenPrefix, 0) == 0) {
      auto p = options_.users->AuthenticateToken(token, now);
      if (!p.ok()) return std::nullopt;
      return *p;
    }
    const std::string key = Sha256Hex(token);
    absl::MutexLock lock(&sessions_mu_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return std::nullopt;
    Session& s = it->second;
    if (now - s.last_us >= options_.session_idle_us || now - s.created_us >= options_.session_max_us) {
      sessions_.erase(it);
      return std::nullopt;
    }
    s.last_us = now;
    ctx.session_key = key;
    return s.principal;
  }
  if (!options_.client_ca_file.empty() && ctx.req.ssl != nullptr) {
    X509* cert = SSL_get_peer_certificate(ctx.req.ssl);
    if (cert == nullptr) return std::nullopt;
    if (SSL_get_verify_result(ctx.req.ssl) != X509_V_OK) {
      X509_free(cert);
      return std::nullopt;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    const bool ok = X509_digest(cert, EVP_sha256(), md, &len) == 1;
    X509_free(cert);
    if (!ok) return std::nullopt;
    auto p = options_.users->AuthenticateCertificate(Hex(md, len), now);
    if (!p.ok()) return std::nullopt;
    return *p;
  }
  return std::nullopt;
}

std::string ApiServer::Impl::ActingRole(const Principal& p, Action a) {
  for (Role r : p.roles) {
    if (access::RoleMay(r, a)) return std::string(access::RoleName(r));
  }
  return p.roles.empty() ? std::string() : std::string(access::RoleName(*p.roles.begin()));
}

bool ApiServer::Impl::Audit(Ctx& ctx, Action permission, std::string_view object, bool ok,
                            absl::string_view reason, const json& extra) {
  const Principal& p = *ctx.principal;
  audit::Event e;
  e.actor = p.name;
  e.role = ActingRole(p, permission);
  e.action = "api_request";
  e.object = std::string(object.substr(0, audit::kMaxObjectBytes));
  e.outcome = ok ? "ok" : "refused";
  json detail = {{"method", ctx.req.method},
                 {"path", ctx.req.path.substr(0, 512)},
                 {"permission", std::string(access::ActionName(permission))},
                 {"auth", std::string(access::AuthMethodName(p.method))}};
  if (!ctx.query.empty()) detail["query"] = ctx.query;
  if (!reason.empty()) detail["reason"] = std::string(reason.data(), reason.size());
  if (!extra.is_null()) detail["extra"] = extra;
  // Path and query come from the peer: invalid UTF-8 is replaced so that the entry encodes.
  e.detail = json::parse(detail.dump(-1, ' ', false, json::error_handler_t::replace));
  auto idx = options_.audit->Record(e);
  if (!idx.ok()) {
    base::Log(base::LogLevel::kError, "api.audit_failed",
              {{"who", p.name}, {"error", base::View(idx.status().message())}});
    SetError(ctx.res, 503, "the request could not be recorded in the audit log");
    return false;
  }
  return true;
}

bool ApiServer::Impl::RequireRoleFor(Ctx& ctx, Action a, std::string_view object) {
  for (Role r : ctx.principal->roles) {
    if (access::RoleMay(r, a)) return true;
  }
  const std::string why = base::StrCat("no role of ", ctx.principal->name, " may ",
                                       access::ActionName(a));
  if (Audit(ctx, a, object, false, why)) SetError(ctx.res, 403, why);
  return false;
}

bool ApiServer::Impl::Admit(Ctx& ctx, Action permission, std::string_view object) {
  absl::Status s = access::Authorize(*ctx.principal, permission, {.now_us = Now()});
  if (!s.ok()) {
    if (Audit(ctx, permission, object, false, s.message())) SetError(ctx.res, 403, s.message());
    return false;
  }
  return Audit(ctx, permission, object, true, "");
}

// ---- communications: who may see which -------------------------------------------------------

ApiServer::Impl::Visibility ApiServer::Impl::See(const Principal& p, const store::CommRow& c,
                                                 Action a, const warrant::WarrantIndex& index,
                                                 int64_t now) const {
  const access::CommAccess ca = access::CommScope(index, p, a, c.liid, c.start_us, now,
                                                  options_.default_retention_days);
  if (!ca.role.empty() && access::Authorize(p, a, ca.scope).ok()) {
    return Visibility{true, ca.role, ca.warrant_id, ca.scope.team.value_or("")};
  }
  return Visibility{};
}

absl::StatusOr<gate::ListPage> ApiServer::Impl::LookupComm(uint64_t id, const gate::Reader& r,
                                                           const gate::ListOptions& scope) {
  store::CommFilter f;
  f.comm_id = id;
  absl::MutexLock lock(&gate_mu_);
  return gate_->ListVisible(f, r, scope);
}

std::optional<gate::Listed> ApiServer::Impl::VisibleComm(Ctx& ctx, Action permission,
                                                         Visibility* vis) {
  const uint64_t id = *ParseId(ctx.path.at("id"));
  const std::string object = base::StrCat("comm:", id);
  if (!RequireRoleFor(ctx, permission, object)) return std::nullopt;
  const Principal& p = *ctx.principal;
  std::shared_ptr<const warrant::WarrantIndex> index = options_.warrants();
  const int64_t now = Now();
  auto comm = LookupComm(id, ReaderOf(p, ActingRole(p, permission)),
                         {.visible = [&](const store::CommRow& c) {
                           if (index == nullptr) return false;
                           *vis = See(p, c, permission, *index, now);
                           return vis->visible;
                         }});
  if (!comm.ok()) {
    // The gate could not record the lookup (or the catalog failed): nothing is answered.
    if (Audit(ctx, permission, object, false, comm.status().message())) {
      SetError(ctx.res, 503, "the communication could not be looked up");
    }
    return std::nullopt;
  }
  if (comm->rows.empty()) {
    *vis = Visibility{};
    // Unknown and not visible look the same to the caller; the audit log tells them apart.
    if (Audit(ctx, permission, object, false,
              comm->scanned > 0 ? "not visible: no warrant of the caller's teams covers it"
                                : "unknown communication")) {
      SetError(ctx.res, 404, "no such communication");
    }
    return std::nullopt;
  }
  if (!Audit(ctx, permission, object, true, "",
             {{"warrant", vis->warrant_id}, {"team", vis->team}, {"as", vis->role}})) {
    return std::nullopt;
  }
  return std::move(comm->rows.front());
}

absl::StatusOr<std::vector<store::ContentReader::Record>> ApiServer::Impl::ReadContent(
    Ctx& ctx, uint64_t id, const Visibility& vis) {
  absl::MutexLock lock(&gate_mu_);
  return gate_->ReadComm(id, ReaderOf(*ctx.principal, vis.role));
}

ojson ApiServer::Impl::CommJson(const gate::Listed& l, const Visibility& v) const {
  const store::CommRow& c = l.comm;
  ojson j;
  j["id"] = c.id;
  j["liid"] = c.liid;
  j["network_id"] = c.network_id;
  j["cin"] = c.cin ? ojson(*c.cin) : ojson(nullptr);
  j["start"] = base::JsonTimeOrNull(c.start_us);
  j["end"] = base::JsonTimeOrNull(c.end_us);
  j["state"] = std::string(store::CommStateName(c.state));
  j["state_reason"] = c.state_reason;
  j["country"] = c.country;
  j["records"] = c.records;
  j["bytes"] = c.bytes;
  j["readable"] = l.readable;
  ojson parties = ojson::array();
  for (const store::PartyRow& p : c.parties) {
    parties.push_back({{"role", p.role}, {"id", p.id}, {"nature", p.nature}});
  }
  j["parties"] = std::move(parties);
  j["parties_withheld"] = l.parties_withheld;
  j["warrant"] = v.warrant_id;
  j["team"] = v.team;
  return j;
}

// ---- handlers ----------------------------------------------------------------------------------

void ApiServer::Impl::Health(Ctx& ctx) { SetJson(ctx.res, {{"status", "ok"}}); }

void ApiServer::Impl::Metrics(Ctx& ctx) {
  if (!Admit(ctx, Action::kMetricsRead, "metrics")) return;
  ctx.res.status = 200;
  ctx.res.set_content(options_.metrics ? options_.metrics->RenderPrometheus() : std::string(),
                      "text/plain; version=0.0.4; charset=utf-8");
}

void ApiServer::Impl::Login(Ctx& ctx) {
  auto body = ParseBody(ctx.req, {"user", "password", "totp"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  auto user = StringField(*body, "user", true);
  auto password = StringField(*body, "password", true);
  auto totp = StringField(*body, "totp", false);
  if (!user.ok() || !password.ok() || !totp.ok()) {
    return SetError(ctx.res, 400, "login needs user and password (strings) and optionally totp");
  }
  const int64_t now = Now();
  absl::StatusOr<Principal> p = options_.users->Authenticate(*user, *password, *totp, now);
  OPENSSL_cleanse(password->data(), password->size());
  audit::Event e;
  // The name as given (when it is a possible user name; anything else is not echoed into the log).
  e.actor = access::ValidUserName(*user) ? *user : "(invalid user name)";
  e.role = p.ok() && !p->roles.empty() ? std::string(access::RoleName(*p->roles.begin())) : "";
  e.action = p.ok() ? "login" : "login_failed";
  e.object = "api";
  e.outcome = p.ok() ? "ok" : "refused";
  e.detail = {{"method", "password"},
              {"remote", ctx.req.remote_addr},
              {"totp_given", !totp->empty()}};
  if (!p.ok()) e.detail["reason"] = std::string(p.status().message());
  if (auto idx = options_.audit->Record(e); !idx.ok()) {
    return SetError(ctx.res, 503, "the login could not be recorded in the audit log");
  }
  if (!p.ok()) return SetError(ctx.res, 401, "invalid credentials");
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) return SetError(ctx.res, 500, "no randomness");
  const std::string token = Hex(raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  int64_t expires = now + options_.session_idle_us;
  {
    absl::MutexLock lock(&sessions_mu_);
    if (sessions_.size() >= kMaxSessions) {
      // Drop expired sessions; if still full, refuse rather than grow without bound.
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (now - it->second.last_us >= options_.session_idle_us ||
            now - it->second.created_us >= options_.session_max_us) {
          sessions_.erase(it++);
        } else {
          ++it;
        }
      }
      if (sessions_.size() >= kMaxSessions) return SetError(ctx.res, 503, "too many sessions");
    }
    sessions_[Sha256Hex(token)] = Session{*p, now, now};
  }
  SetJson(ctx.res, {{"token", token},
                    {"expires", base::JsonTimeOrNull(expires)},
                    {"absolute_expires", base::JsonTimeOrNull(now + options_.session_max_us)}});
}

void ApiServer::Impl::Logout(Ctx& ctx) {
  if (ctx.session_key.empty()) return SetError(ctx.res, 400, "not a session (token or certificate)");
  if (!Audit(ctx, Action::kHealth, "api", true, "logout")) return;
  {
    absl::MutexLock lock(&sessions_mu_);
    sessions_.erase(ctx.session_key);
  }
  SetJson(ctx.res, {{"status", "logged_out"}});
}

// ---- warrants ----------------------------------------------------------------------------------


void ApiServer::Impl::ListWarrants(Ctx& ctx) {
  warrant::ListFilter f;
  f.include_ended = true;
  if (auto it = ctx.query.find("liid"); it != ctx.query.end()) f.liid = it->second;
  if (auto it = ctx.query.find("team"); it != ctx.query.end()) f.team = it->second;
  if (auto it = ctx.query.find("at"); it != ctx.query.end()) {
    auto t = ParseTime("at", it->second);
    if (!t.ok()) return SetError(ctx.res, 400, t.status().message());
    f.valid_at_us = *t;
  }
  const Principal& p = *ctx.principal;
  const bool manager = MayManageWarrants(p);
  if (!manager && !p.Has(Role::kInvestigator) && !p.Has(Role::kProsecutor)) {
    if (Audit(ctx, Action::kWarrantManage, "warrants", false, "may not see warrants")) {
      SetError(ctx.res, 403, "may not see warrants");
    }
    return;
  }
  const Action perm = manager ? Action::kWarrantManage : Action::kReadMetadata;
  if (!Audit(ctx, perm, "warrants", true, manager ? "" : "own teams only")) return;
  auto list = warrants_->List(f);
  if (!list.ok()) return Fail(ctx, list.status());
  ojson items = ojson::array();
  for (const warrant::Warrant& w : *list) {
    if (manager || SeesWarrant(p, w.spec)) items.push_back(warrant::WarrantJson(w));
  }
  SetJson(ctx.res, {{"items", std::move(items)}});
}

void ApiServer::Impl::GetWarrant(Ctx& ctx) {
  const std::string& id = ctx.path.at("id");
  const std::string object = base::StrCat("warrant:", id);
  const Principal& p = *ctx.principal;
  const bool manager = MayManageWarrants(p);
  if (!manager && !p.Has(Role::kInvestigator) && !p.Has(Role::kProsecutor)) {
    if (Audit(ctx, Action::kWarrantManage, object, false, "may not see warrants")) {
      SetError(ctx.res, 403, "may not see warrants");
    }
    return;
  }
  auto versions = warrants_->Versions(id);
  const bool visible = versions.ok() && !versions->empty() &&
                       (manager || SeesWarrant(p, versions->back().spec));
  const Action perm = manager ? Action::kWarrantManage : Action::kReadMetadata;
  if (!visible) {
    if (!versions.ok() && versions.status().code() != absl::StatusCode::kNotFound) {
      return Fail(ctx, versions.status());
    }
    if (Audit(ctx, perm, object, false, "unknown or not visible")) {
      SetError(ctx.res, 404, "no such warrant");
    }
    return;
  }
  if (!Audit(ctx, perm, object, true, "")) return;
  ojson out = ojson::array();
  for (const warrant::Warrant& w : *versions) out.push_back(warrant::WarrantJson(w));
  SetJson(ctx.res, {{"id", id}, {"versions", std::move(out)}});
}

void ApiServer::Impl::AddWarrant(Ctx& ctx) {
  auto body = ParseBody(ctx.req, {"id", "liid", "targets", "valid_from", "valid_to", "team",
                                  "legal_basis", "prosecutor", "prosecutor_reference",
                                  "authority", "authority_reference", "issued", "retention_days"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  warrant::WarrantSpec s;
  s.source = "api";
  auto str = [&](const char* k, std::string& out, bool required) -> absl::Status {
    ASSIGN_OR_RETURN(out, StringField(*body, k, required));
    return absl::OkStatus();
  };
  auto time = [&](const char* k, int64_t& out, bool required) -> absl::Status {
    std::string t;
    RETURN_IF_ERROR(str(k, t, required));
    if (t.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(out, ParseTime(k, t));
    return absl::OkStatus();
  };
  absl::Status st = str("id", s.id, true);
  if (st.ok()) st = str("liid", s.liid, true);
  if (st.ok()) st = str("team", s.team, true);
  if (st.ok()) st = str("legal_basis", s.legal_basis, false);
  if (st.ok()) st = str("prosecutor", s.prosecutor, false);
  if (st.ok()) st = str("prosecutor_reference", s.prosecutor_reference, false);
  if (st.ok()) st = str("authority", s.authority, false);
  if (st.ok()) st = str("authority_reference", s.authority_reference, false);
  if (st.ok()) st = time("valid_from", s.valid_from_us, true);
  if (st.ok()) st = time("valid_to", s.valid_to_us, true);
  if (st.ok()) st = time("issued", s.issued_us, false);
  if (st.ok()) {
    auto t = body->find("targets");
    if (t == body->end() || !t->is_array()) {
      st = absl::InvalidArgumentError("targets must be an array of strings");
    } else {
      for (const json& x : *t) {
        if (!x.is_string()) {
          st = absl::InvalidArgumentError("targets must be an array of strings");
          break;
        }
        s.targets.push_back(x.get<std::string>());
      }
    }
  }
  if (st.ok()) {
    if (auto r = body->find("retention_days"); r != body->end()) {
      if (!r->is_number_integer()) {
        st = absl::InvalidArgumentError("retention_days must be an integer");
      } else {
        const int64_t d = r->get<int64_t>();
        if (d < 0 || d > warrant::kMaxRetentionDays) {
          st = absl::InvalidArgumentError("retention_days out of range");
        } else {
          s.retention_days = static_cast<int>(d);
        }
      }
    }
  }
  if (st.ok() && !ValidWarrantId(s.id)) {
    st = absl::InvalidArgumentError("id: 1..128 of [A-Za-z0-9._:-]");
  }
  if (!st.ok()) return SetError(ctx.res, 400, st.message());
  if (!Admit(ctx, Action::kWarrantManage, base::StrCat("warrant:", s.id))) return;
  auto w = warrants_->Add(s, ctx.principal->name, Now());
  if (!w.ok()) return Fail(ctx, w.status());
  SetJson(ctx.res, warrant::WarrantJson(*w), 201);
}

void ApiServer::Impl::ExtendWarrant(Ctx& ctx) {
  const std::string& id = ctx.path.at("id");
  auto body = ParseBody(ctx.req, {"valid_to", "reference"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  auto to = StringField(*body, "valid_to", true);
  auto ref = StringField(*body, "reference", false);
  if (!to.ok()) return SetError(ctx.res, 400, to.status().message());
  if (!ref.ok()) return SetError(ctx.res, 400, ref.status().message());
  auto to_us = ParseTime("valid_to", *to);
  if (!to_us.ok()) return SetError(ctx.res, 400, to_us.status().message());
  if (!Admit(ctx, Action::kWarrantManage, base::StrCat("warrant:", id))) return;
  auto w = warrants_->Extend(id, *to_us, *ref, ctx.principal->name, Now());
  if (!w.ok()) return Fail(ctx, w.status());
  SetJson(ctx.res, warrant::WarrantJson(*w));
}

void ApiServer::Impl::EndWarrant(Ctx& ctx) {
  const std::string& id = ctx.path.at("id");
  auto body = ParseBody(ctx.req, {"end", "reason"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  auto end = StringField(*body, "end", false);
  auto reason = StringField(*body, "reason", true);
  if (!end.ok()) return SetError(ctx.res, 400, end.status().message());
  if (!reason.ok()) return SetError(ctx.res, 400, reason.status().message());
  int64_t end_us = Now();
  if (!end->empty()) {
    auto t = ParseTime("end", *end);
    if (!t.ok()) return SetError(ctx.res, 400, t.status().message());
    end_us = *t;
  }
  if (!Admit(ctx, Action::kWarrantManage, base::StrCat("warrant:", id))) return;
  auto w = warrants_->End(id, end_us, *reason, ctx.principal->name, Now());
  if (!w.ok()) return Fail(ctx, w.status());
  SetJson(ctx.res, warrant::WarrantJson(*w));
}

// ---- communications ---------------------------------------------------------------------------

void ApiServer::Impl::ListComms(Ctx& ctx) {
  store::CommFilter f;
  uint64_t limit = kDefaultListLimit;
  for (const auto& [k, v] : ctx.query) {
    if (k == "liid") {
      f.liid = v;
    } else if (k == "party") {
      f.party = v;
    } else if (k == "state") {
      f.state = store::ParseCommState(v);
      if (!f.state) return SetError(ctx.res, 400, "state: not a communication state");
    } else if (k == "from" || k == "to") {
      auto t = ParseTime(k, v);
      if (!t.ok()) return SetError(ctx.res, 400, t.status().message());
      (k == "from" ? f.from_us : f.to_us) = *t;
    } else if (k == "after") {
      auto id = ParseId(v);
      if (!id) return SetError(ctx.res, 400, "after: not a communication id");
      f.after_id = *id;
    } else if (k == "limit") {
      auto n = ParseId(v);
      if (!n || *n == 0 || *n > kMaxListLimit) {
        return SetError(ctx.res, 400, base::StrCat("limit: 1..", kMaxListLimit));
      }
      limit = *n;
    }
  }
  const Action perm = f.party ? Action::kSearch : Action::kReadMetadata;
  if (!RequireRoleFor(ctx, perm, "comms")) return;
  if (!Audit(ctx, perm, "comms", true, "")) return;
  const Principal& p = *ctx.principal;
  std::shared_ptr<const warrant::WarrantIndex> index = options_.warrants();
  const int64_t now = Now();
  const gate::Reader reader = ReaderOf(p, ActingRole(p, perm));

  // Page through the catalog, keeping only what the caller may see (decided inside the gate, so
  // that its audit record names exactly what is shown); bounded work per request.
  ojson items = ojson::array();
  uint64_t cursor = f.after_id;
  bool exhausted = false;
  for (int page = 0; page < options_.max_scan_pages && items.size() < limit; ++page) {
    store::CommFilter pf = f;
    pf.after_id = cursor;
    pf.limit = options_.scan_page;
    std::vector<Visibility> seen;
    absl::StatusOr<gate::ListPage> rows;
    {
      absl::MutexLock lock(&gate_mu_);
      rows = gate_->ListVisible(pf, reader,
                                {.visible =
                                     [&](const store::CommRow& c) {
                                       if (index == nullptr) return false;
                                       Visibility v = See(p, c, perm, *index, now);
                                       if (v.visible) seen.push_back(v);
                                       return v.visible;
                                     },
                                 .max_rows = static_cast<size_t>(limit - items.size())});
    }
    if (!rows.ok()) return Fail(ctx, rows.status());
    for (size_t i = 0; i < rows->rows.size(); ++i) items.push_back(CommJson(rows->rows[i], seen[i]));
    if (rows->scanned > 0) cursor = rows->last_scanned_id;
    if (!rows->stopped_at_max && rows->scanned < options_.scan_page) {
      exhausted = true;
      break;
    }
  }
  SetJson(ctx.res, {{"items", std::move(items)},
                    {"next_after", exhausted ? ojson(nullptr) : ojson(cursor)}});
}

void ApiServer::Impl::GetComm(Ctx& ctx) {
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, Action::kReadMetadata, &vis);
  if (!comm) return;
  ojson out = CommJson(*comm, vis);
  // The IRI timeline: decoded IRI of the stored PDUs, only when the gate lets the content be read.
  if (comm->readable) {
    auto records = ReadContent(ctx, comm->comm.id, vis);
    if (records.ok()) {
      ojson timeline = ojson::array();
      proto::PsPdu pdu;
      for (const store::ContentReader::Record& r : *records) {
        if (!proto::li_ps::DecodePsPdu(base::AsBytes(r.pdu), pdu).ok()) continue;
        for (const proto::PayloadItem& item : pdu.items) {
          if (proto::IsIri(item.kind)) timeline.push_back(inspect::ItemToJson(pdu, item));
        }
      }
      out["iri"] = std::move(timeline);
    } else {
      out["readable"] = false;
      out["iri"] = nullptr;
    }
  } else {
    out["iri"] = nullptr;
  }
  SetJson(ctx.res, out);
}

void ApiServer::Impl::Content(Ctx& ctx) {
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, Action::kReadContent, &vis);
  if (!comm) return;
  auto records = ReadContent(ctx, comm->comm.id, vis);
  if (!records.ok()) return Fail(ctx, records.status());
  std::string body;
  for (const auto& r : *records) body += r.pdu;
  ctx.res.status = 200;
  ctx.res.set_content(std::move(body), "application/octet-stream");
}

void ApiServer::Impl::ContentPcap(Ctx& ctx) {
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, Action::kReadContent, &vis);
  if (!comm) return;
  auto records = ReadContent(ctx, comm->comm.id, vis);
  if (!records.ok()) return Fail(ctx, records.status());
  media::PcapStats stats;
  auto pcap = media::IpContentToPcap(*records, &stats);
  if (!pcap.ok()) return SetError(ctx.res, 422, pcap.status().message());
  ctx.res.status = 200;
  ctx.res.set_content(std::move(*pcap), "application/vnd.tcpdump.pcap");
}

void ApiServer::Impl::ContentWav(Ctx& ctx) {
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, Action::kReadContent, &vis);
  if (!comm) return;
  auto records = ReadContent(ctx, comm->comm.id, vis);
  if (!records.ok()) return Fail(ctx, records.status());
  media::VoiceStats stats;
  auto wav = media::VoiceContentToWav(*records, {}, &stats);
  if (!wav.ok()) {
    return SetError(ctx.res, wav.status().code() == absl::StatusCode::kResourceExhausted ? 413 : 422,
                    wav.status().message());
  }
  ctx.res.status = 200;
  ctx.res.set_content(std::move(*wav), "audio/wav");
}

void ApiServer::Impl::RunDecision(Ctx& ctx, const store::DecisionOrder& order) {
  absl::StatusOr<store::DecisionResult> r =
      options_.store != nullptr ? options_.store->Decide(order)
                                : store::SubmitOrRunDecide(options_.data_dir, order);
  if (!r.ok()) return Fail(ctx, r.status());
  ctx.res.status = 200;
  ctx.res.set_content(store::DecisionResultJson(*r), "application/json");
}

void ApiServer::Impl::Flag(Ctx& ctx) {
  auto body = ParseBody(ctx.req, {"reason"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  auto reason = StringField(*body, "reason", true);
  if (!reason.ok() || reason->empty()) return SetError(ctx.res, 400, "flag needs a reason");
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, Action::kFlag, &vis);
  if (!comm) return;
  RunDecision(ctx, {.act = store::DecisionOrder::Act::kFlag,
                    .comm_id = comm->comm.id,
                    .reason = *reason,
                    .by = ctx.principal->name});
}

void ApiServer::Impl::Decision(Ctx& ctx) {
  auto body = ParseBody(ctx.req, {"act", "order", "reason"});
  if (!body.ok()) return SetError(ctx.res, 400, body.status().message());
  auto act = StringField(*body, "act", true);
  auto order = StringField(*body, "order", true);
  auto reason = StringField(*body, "reason", false);
  if (!act.ok() || !order.ok() || !reason.ok() || order->empty()) {
    return SetError(ctx.res, 400, "decision needs act, order (strings) and optionally reason");
  }
  store::DecisionOrder o;
  Action perm;
  if (*act == "confirm") {
    o.act = store::DecisionOrder::Act::kConfirm;
    perm = Action::kConfirmDestruction;
  } else if (*act == "release") {
    o.act = store::DecisionOrder::Act::kRelease;
    perm = Action::kApproveRelease;
    if (reason->empty()) return SetError(ctx.res, 400, "release needs a reason");
  } else {
    return SetError(ctx.res, 400, "act must be confirm or release");
  }
  Visibility vis;
  std::optional<gate::Listed> comm = VisibleComm(ctx, perm, &vis);
  if (!comm) return;
  o.comm_id = comm->comm.id;
  o.order_ref = *order;
  o.reason = *reason;
  o.by = ctx.principal->name;
  RunDecision(ctx, o);
}

// ---- privileged list, audit -------------------------------------------------------------------

void ApiServer::Impl::PrivilegedVersions(Ctx& ctx) {
  const int64_t now = Now();
  const Principal& p = *ctx.principal;
  const bool may = access::Authorize(p, Action::kListConfirm, {.now_us = now}).ok() ||
                   access::Authorize(p, Action::kReportRead, {.now_us = now}).ok();
  const Action perm = p.Has(Role::kAuditor) ? Action::kReportRead : Action::kListConfirm;
  if (!may) {
    if (Audit(ctx, perm, "privileged:versions", false, "needs list_confirm or report_read")) {
      SetError(ctx.res, 403, "needs list_confirm or report_read");
    }
    return;
  }
  if (!Audit(ctx, perm, "privileged:versions", true, "")) return;
  ojson items = ojson::array();
  auto list = privileged::ListStore::Open(privileged::ListPath(options_.data_dir), false, true);
  if (list.ok()) {
    auto versions = (*list)->Versions();
    if (!versions.ok()) return Fail(ctx, versions.status());
    for (const privileged::VersionInfo& v : *versions) items.push_back(privileged::VersionJson(v));
  } else if (list.status().code() != absl::StatusCode::kNotFound) {
    return Fail(ctx, list.status());
  }
  SetJson(ctx.res, {{"items", std::move(items)}});
}

void ApiServer::Impl::AuditQuery(Ctx& ctx) {
  audit::Query q;
  q.limit = kDefaultListLimit;
  bool csv = false;
  for (const auto& [k, v] : ctx.query) {
    if (k == "actor") {
      q.actor = v;
    } else if (k == "action") {
      q.actions = {v};
    } else if (k == "object") {
      q.object = v;
    } else if (k == "contains") {
      q.contains = v;
    } else if (k == "from" || k == "to") {
      auto t = ParseTime(k, v);
      if (!t.ok()) return SetError(ctx.res, 400, t.status().message());
      (k == "from" ? q.from_us : q.to_us) = *t;
    } else if (k == "after") {
      auto id = ParseId(v);
      if (!id) return SetError(ctx.res, 400, "after: not an entry index");
      q.after_index = *id;
    } else if (k == "limit") {
      auto n = ParseId(v);
      if (!n || *n == 0 || *n > kMaxListLimit) {
        return SetError(ctx.res, 400, base::StrCat("limit: 1..", kMaxListLimit));
      }
      q.limit = *n;
    } else if (k == "format") {
      if (v != "json" && v != "csv") return SetError(ctx.res, 400, "format: json or csv");
      csv = v == "csv";
    }
  }
  if (!Admit(ctx, Action::kAuditRead, "audit")) return;
  auto entries = options_.audit->log().Query(q);
  if (!entries.ok()) return Fail(ctx, entries.status());
  // A full page may have more after it: the index to continue after.
  ojson next = nullptr;
  if (!entries->empty() && entries->size() == q.limit) next = entries->back().index;
  if (csv) {
    std::string out = "index,at,actor,role,action,object,outcome,detail\r\n";
    for (const audit::Entry& e : *entries) {
      out += base::StrCat(e.index, ",", base::FormatRfc3339({e.event.at_us}), ",",
                          CsvField(e.event.actor), ",", CsvField(e.event.role), ",",
                          CsvField(e.event.action), ",", CsvField(e.event.object), ",",
                          CsvField(e.event.outcome), ",", CsvField(e.event.detail.dump()), "\r\n");
    }
    ctx.res.status = 200;
    ctx.res.set_content(std::move(out), "text/csv; charset=utf-8");
    return;
  }
  ojson items = ojson::array();
  for (const audit::Entry& e : *entries) {
    ojson j;
    j["index"] = e.index;
    j["at"] = base::JsonTimeOrNull(e.event.at_us);
    j["actor"] = e.event.actor;
    j["role"] = e.event.role;
    j["action"] = e.event.action;
    j["object"] = e.event.object;
    j["outcome"] = e.event.outcome;
    j["detail"] = ojson::parse(e.event.detail.dump());
    items.push_back(std::move(j));
  }
  SetJson(ctx.res, {{"items", std::move(items)}, {"next_after", std::move(next)}});
}

void ApiServer::Impl::AuditCheckpoint(Ctx& ctx) {
  if (!Admit(ctx, Action::kAuditRead, "audit:checkpoint")) return;
  auto note = options_.audit->log().Checkpoint();
  if (!note.ok()) return Fail(ctx, note.status());
  SetJson(ctx.res, {{"checkpoint", *note},
                    {"origin", options_.audit->log().origin()},
                    {"verifier_key", options_.audit->log().verifier_key()}});
}

// ------------------------------------------------------------------------------------------------

ApiServer::ApiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ApiServer::~ApiServer() { Stop(); }
void ApiServer::Stop() { impl_->Stop(); }
uint16_t ApiServer::port() const { return impl_->port_; }

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(const ApiOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<ApiServer>(new ApiServer(std::move(impl)));
}

const std::vector<Route>& ApiServer::Routes() {
  static const auto* routes = [] {
    auto* v = new std::vector<Route>();
    for (const Impl::RouteDef& d : Impl::Table()) v->push_back(d.route);
    return v;
  }();
  return *routes;
}

}  // namespace tapvault::api
