#include "server/serve.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <thread>
#include <toml++/toml.h>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "ingest/ingest_metrics.h"
#include "access/user_store.h"
#include "api/api_server.h"
#include "filter/assignment.h"
#include "filter/canary.h"
#include "filter/filter.h"
#include "gate/store_audit.h"
#include "nlohmann/json.hpp"
#include "ingest/integrity_verifier.h"
#include "ingest/raw_capture_sink.h"
#include "ingest/record_sink.h"
#include "ingest/sequence_tracker.h"
#include "ingest/session.h"
#include "ingest/store_sink.h"
#include "metrics/http_exporter.h"
#include "metrics/registry.h"
#include "net/server.h"
#include "store/store.h"

namespace tapvault::server {
namespace {

absl::Status Bad(std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("config: ", key, ": ", what));
}

template <typename T>
absl::Status Get(const toml::table& t, std::string_view key, std::string_view full, T& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  if constexpr (std::is_same_v<T, std::string>) {
    if (!n->is_string()) return Bad(full, "must be a string");
    out = n->value<std::string>().value_or("");
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!n->is_boolean()) return Bad(full, "must be true or false");
    out = n->value<bool>().value_or(false);
  } else {
    if (!n->is_integer()) return Bad(full, "must be an integer");
    out = static_cast<T>(n->value<int64_t>().value_or(0));
  }
  return absl::OkStatus();
}

absl::Status CheckKeys(const toml::table& t, std::string_view section,
                       std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (std::string_view n : known) ok |= (k.str() == n);
    if (!ok) {
      return Bad(base::StrCat(section, section.empty() ? "" : ".", k.str()), "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::Status FromTable(const toml::table& root, ServeConfig& c) {
  RETURN_IF_ERROR(CheckKeys(root, "", {"data", "hi2", "hi3", "raw_capture", "metrics", "threads",
                                       "idle_timeout_s", "max_connections", "tls", "ingest",
                                       "integrity", "privileged", "api"}));
  RETURN_IF_ERROR(Get(root, "data", "data", c.data_dir));
  RETURN_IF_ERROR(Get(root, "hi2", "hi2", c.hi2));
  RETURN_IF_ERROR(Get(root, "hi3", "hi3", c.hi3));
  RETURN_IF_ERROR(Get(root, "raw_capture", "raw_capture", c.raw_capture_dir));
  RETURN_IF_ERROR(Get(root, "metrics", "metrics", c.metrics));
  RETURN_IF_ERROR(Get(root, "threads", "threads", c.threads));
  RETURN_IF_ERROR(Get(root, "idle_timeout_s", "idle_timeout_s", c.idle_timeout_s));
  RETURN_IF_ERROR(Get(root, "max_connections", "max_connections", c.max_connections));
  if (const toml::node* n = root.get("tls")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return Bad("tls", "must be a table");
    RETURN_IF_ERROR(CheckKeys(*t, "tls", {"cert", "key", "client_ca", "allow"}));
    RETURN_IF_ERROR(Get(*t, "cert", "tls.cert", c.tls_cert));
    RETURN_IF_ERROR(Get(*t, "key", "tls.key", c.tls_key));
    RETURN_IF_ERROR(Get(*t, "client_ca", "tls.client_ca", c.tls_client_ca));
    if (const toml::node* a = t->get("allow")) {
      const toml::array* arr = a->as_array();
      if (arr == nullptr) return Bad("tls.allow", "must be an array of strings");
      c.tls_allow.clear();
      for (const toml::node& e : *arr) {
        if (!e.is_string()) return Bad("tls.allow", "must be an array of strings");
        c.tls_allow.push_back(e.value<std::string>().value_or(""));
      }
    }
  }
  if (const toml::node* n = root.get("ingest")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return Bad("ingest", "must be a table");
    RETURN_IF_ERROR(CheckKeys(*t, "ingest", {"resync", "max_pdu_bytes", "sequence_window"}));
    RETURN_IF_ERROR(Get(*t, "resync", "ingest.resync", c.resync));
    RETURN_IF_ERROR(Get(*t, "max_pdu_bytes", "ingest.max_pdu_bytes", c.max_pdu_bytes));
    RETURN_IF_ERROR(Get(*t, "sequence_window", "ingest.sequence_window", c.sequence_window));
  }
  if (const toml::node* n = root.get("privileged")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return Bad("privileged", "must be a table");
    RETURN_IF_ERROR(CheckKeys(*t, "privileged", {"region", "max_age_h", "review_after_s", "canary",
                                                 "canary_interval_s"}));
    RETURN_IF_ERROR(Get(*t, "region", "privileged.region", c.privileged_region));
    RETURN_IF_ERROR(Get(*t, "max_age_h", "privileged.max_age_h", c.privileged_max_age_h));
    RETURN_IF_ERROR(Get(*t, "review_after_s", "privileged.review_after_s", c.privileged_review_after_s));
    RETURN_IF_ERROR(Get(*t, "canary", "privileged.canary", c.canary));
    RETURN_IF_ERROR(Get(*t, "canary_interval_s", "privileged.canary_interval_s", c.canary_interval_s));
  }
  if (const toml::node* n = root.get("api")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return Bad("api", "must be a table");
    RETURN_IF_ERROR(CheckKeys(*t, "api", {"listen", "cert", "key", "client_ca", "threads",
                                          "default_retention_days"}));
    RETURN_IF_ERROR(Get(*t, "listen", "api.listen", c.api_listen));
    RETURN_IF_ERROR(Get(*t, "cert", "api.cert", c.api_cert));
    RETURN_IF_ERROR(Get(*t, "key", "api.key", c.api_key));
    RETURN_IF_ERROR(Get(*t, "client_ca", "api.client_ca", c.api_client_ca));
    RETURN_IF_ERROR(Get(*t, "threads", "api.threads", c.api_threads));
    RETURN_IF_ERROR(Get(*t, "default_retention_days", "api.default_retention_days",
                        c.default_retention_days));
  }
  if (const toml::node* n = root.get("integrity")) {
    const toml::table* t = n->as_table();
    if (t == nullptr) return Bad("integrity", "must be a table");
    RETURN_IF_ERROR(CheckKeys(*t, "integrity",
                              {"enabled", "pending_timeout_s", "buffer_bytes", "signature_keys"}));
    RETURN_IF_ERROR(Get(*t, "enabled", "integrity.enabled", c.integrity));
    RETURN_IF_ERROR(Get(*t, "pending_timeout_s", "integrity.pending_timeout_s",
                        c.integrity_pending_timeout_s));
    RETURN_IF_ERROR(Get(*t, "buffer_bytes", "integrity.buffer_bytes", c.integrity_buffer_bytes));
    if (const toml::node* k = t->get("signature_keys")) {
      const toml::table* kt = k->as_table();
      if (kt == nullptr) return Bad("integrity.signature_keys", "must be a table");
      for (const auto& [name, file] : *kt) {
        if (!file.is_string()) return Bad("integrity.signature_keys", "values must be file names");
        c.signature_keys[std::string(name.str())] = file.value<std::string>().value_or("");
      }
    }
  }
  return absl::OkStatus();
}

// The ingest side of one connection, as net sees it.
class SessionHandler : public net::ConnectionHandler {
 public:
  SessionHandler(ingest::ConnectionInfo info, const ingest::IngestContext& ctx,
                 std::shared_ptr<net::AsyncSender> sender)
      : session_(std::move(info), ctx,
                 [sender = std::move(sender)](std::string bytes) { sender->Send(std::move(bytes)); }),
        sink_(ctx.sink) {}
  absl::Status OnData(base::Bytes data, std::string& reply) override {
    return session_.OnBytes(data, reply);
  }
  bool Paused() const override { return sink_->Saturated(); }
  void OnClose(std::string_view reason) override { session_.OnClose(reason); }

 private:
  ingest::Session session_;
  ingest::RecordSink* sink_;
};

// Without a data directory (tests, capture-only runs): accepts and forgets (raw capture, if on,
// is the record of what was received). Such a sink is not durable: acknowledgements are refused.
class DiscardSink : public ingest::RecordSink {
 public:
  absl::Status Accept(const ingest::ReceivedPdu&) override { return absl::OkStatus(); }
};

// `serve --data DIR` on a directory without a store creates one with the embedded default (a
// key file in DIR/keys); a non-empty directory that is not a store is refused, never taken over.
absl::Status EnsureStore(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(store::CatalogPath(dir), ec)) return absl::OkStatus();
  // A privileged list imported before the first start (`privileged import --data DIR`) is the
  // only thing allowed to be there already.
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("privileged.db", 0) == 0) continue;
    return absl::FailedPreconditionError(base::StrCat(
        "data dir ", dir, " is not empty and holds no store; run `tapvault init --data DIR` on an "
        "empty directory"));
  }
  return store::InitStore({.dir = dir});
}

std::string FormatAddr(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return base::StrCat("[", host, "]:", port);
  return base::StrCat(host, ":", port);
}

}  // namespace

absl::StatusOr<HostPort> ParseHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(base::StrCat("address '", text, "': expected HOST:PORT"));
  }
  HostPort hp;
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  hp.host = host.empty() ? "0.0.0.0" : std::string(host);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return absl::InvalidArgumentError(base::StrCat("address '", text, "': bad port"));
  }
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

absl::Status LoadConfigString(std::string_view text, ServeConfig& config) {
  // This toml++ is built with exceptions: parse errors are thrown (caught here, per STYLE).
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(base::StrCat("config: line ", e.source().begin.line,
                                                   ", column ", e.source().begin.column, ": ",
                                                   std::string(e.description())));
  }
  return FromTable(table, config);
}

absl::Status LoadConfigFile(const std::string& path, ServeConfig& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(base::StrCat("config: cannot read ", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return base::Annotate(LoadConfigString(text, config), path);
}

absl::Status Validate(const ServeConfig& c) {
  RETURN_IF_ERROR(ParseHostPort(c.hi2).status());
  RETURN_IF_ERROR(ParseHostPort(c.hi3).status());
  if (!c.metrics.empty() && c.metrics != "off") RETURN_IF_ERROR(ParseHostPort(c.metrics).status());
  int tls_parts = !c.tls_cert.empty() + !c.tls_key.empty() + !c.tls_client_ca.empty();
  if (tls_parts != 0 && tls_parts != 3) {
    return Bad("tls", "cert, key and client_ca must be given together");
  }
  if (!c.tls_allow.empty() && tls_parts == 0) return Bad("tls.allow", "needs TLS");
  if (c.threads < 1 || c.threads > 256) return Bad("threads", "must be 1..256");
  if (c.idle_timeout_s < 0) return Bad("idle_timeout_s", "must be >= 0");
  if (c.max_connections < 1) return Bad("max_connections", "must be >= 1");
  if (c.max_pdu_bytes < 64 || c.max_pdu_bytes > (1ll << 30)) {
    return Bad("ingest.max_pdu_bytes", "must be 64..2^30");
  }
  if (c.sequence_window < 1 || c.sequence_window > (1 << 20)) {
    return Bad("ingest.sequence_window", "must be 1..2^20");
  }
  if (!c.data_dir.empty() && !c.raw_capture_dir.empty()) {
    // Raw capture writes every received byte in clear, privileged communications included: it
    // would bypass the read gate. It is for capture-only runs without a store.
    return Bad("raw_capture", "cannot be combined with a store (data): it would keep privileged "
                              "content in clear, outside the read gate");
  }
  if (!c.api_listen.empty() && c.api_listen != "off") {
    RETURN_IF_ERROR(ParseHostPort(c.api_listen).status());
    if (c.data_dir.empty()) return Bad("api.listen", "the API needs a store (data)");
    if (c.api_cert.empty() || c.api_key.empty()) return Bad("api", "cert and key are required");
    if (c.api_threads < 1 || c.api_threads > 256) return Bad("api.threads", "must be within 1..256");
  }
  if (c.default_retention_days < 0) return Bad("api.default_retention_days", "must be >= 0");
  if (c.privileged_max_age_h < 1) return Bad("privileged.max_age_h", "must be >= 1");
  if (c.privileged_review_after_s < 1) return Bad("privileged.review_after_s", "must be >= 1");
  if (c.canary_interval_s < 1) return Bad("privileged.canary_interval_s", "must be >= 1");
  if (!c.canary.empty() && (c.canary.size() < 4 || c.canary[0] != '+' ||
                            c.canary.find_first_not_of("0123456789", 1) != std::string::npos)) {
    return Bad("privileged.canary", "must be a number in E.164 (+ and digits)");
  }
  return absl::OkStatus();
}

int RunServe(const ServeConfig& config) {
  auto fail = [](const absl::Status& s) {
    base::Log(base::LogLevel::kError, "serve.failed", {{"reason", base::View(s.message())}});
    std::fprintf(stderr, "tapvault serve: %s\n", std::string(s.message()).c_str());
    return 1;
  };
  if (absl::Status s = Validate(config); !s.ok()) return fail(s);

  // Signals are taken synchronously by this thread (sigtimedwait): block them before any
  // thread starts so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<uint64_t> nofile = net::RaiseFileLimit();
  if (nofile.ok()) {
    base::Log(base::LogLevel::kInfo, "serve.file_limit", {{"nofile", *nofile}});
  }
  metrics::Registry registry;
  // Declared before the store: acknowledgement callbacks the store runs while closing count here.
  ingest::IngestMetrics ingest_metrics(registry);
  // The cold store: opened before any listener, so nothing is accepted that cannot be kept.
  // The privileged-party filter decides every communication the store keeps; it outlives the store.
  std::unique_ptr<filter::Filter> privileged_filter;
  // ... and no communication becomes readable without a warrant covering it.
  std::unique_ptr<filter::AssignedScreener> assignment;
  std::unique_ptr<store::Store> cold_store;
  // The audit log: every read (the canary's too) and every action is recorded before it happens.
  std::unique_ptr<gate::StoreAudit> audit_log;
  std::unique_ptr<ingest::StoreSink> store_sink;
  if (!config.data_dir.empty()) {
    absl::Status ready = EnsureStore(config.data_dir);
    if (!ready.ok()) return fail(ready);
    auto fl = filter::Filter::Open({.dir = config.data_dir,
                                    .default_region = config.privileged_region,
                                    .max_age_us = config.privileged_max_age_h * 3600LL * 1000000,
                                    .review_after_us = config.privileged_review_after_s * 1000000LL,
                                    .metrics = &registry});
    if (!fl.ok()) return fail(fl.status());
    privileged_filter = std::move(*fl);
    auto as = filter::AssignedScreener::Open({.dir = config.data_dir, .metrics = &registry},
                                             *privileged_filter);
    if (!as.ok()) return fail(as.status());
    assignment = std::move(*as);
    store::StoreOptions so;
    so.dir = config.data_dir;
    so.metrics = &registry;
    so.screener = assignment.get();
    auto st = store::Store::Open(so);
    if (!st.ok()) return fail(st.status());
    cold_store = std::move(*st);
    auto al = gate::StoreAudit::Open(config.data_dir, "");
    if (!al.ok()) return fail(al.status());
    audit_log = std::move(*al);
    // The configuration in force, on record at every start: a change shows as the difference
    // between two starts. Nothing secret is in it (key files by path only, no PINs).
    nlohmann::json cfg = {{"hi2", config.hi2},
                          {"hi3", config.hi3},
                          {"metrics", config.metrics},
                          {"tls", !config.tls_cert.empty()},
                          {"tls_allow", config.tls_allow},
                          {"integrity", config.integrity},
                          {"signature_keys", config.signature_keys.size()},
                          {"privileged_region", config.privileged_region},
                          {"privileged_max_age_h", config.privileged_max_age_h},
                          {"privileged_review_after_s", config.privileged_review_after_s},
                          {"canary", !config.canary.empty()},
                          {"canary_interval_s", config.canary_interval_s}};
    auto started = audit_log->Record({.actor = "system", .role = "system", .action = "serve_started",
                                      .object = "config", .outcome = "ok", .detail = cfg});
    if (!started.ok()) return fail(started.status());
    store_sink = std::make_unique<ingest::StoreSink>(*cold_store);
    // Keys are in this process's memory now: no core dumps, no ptrace by other users.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  }

  ingest::SequenceTracker tracker({.window = static_cast<uint32_t>(config.sequence_window)});

  std::unique_ptr<ingest::RawCaptureSink> raw;
  if (!config.raw_capture_dir.empty()) {
    auto r = ingest::RawCaptureSink::Create(config.raw_capture_dir);
    if (!r.ok()) return fail(r.status());
    raw = std::move(*r);
  }
  DiscardSink discard;
  std::vector<ingest::RecordSink*> sinks;
  if (raw) sinks.push_back(raw.get());
  if (store_sink) {
    sinks.push_back(store_sink.get());
  } else {
    sinks.push_back(&discard);
  }
  ingest::FanoutSink sink(sinks);

  std::unique_ptr<ingest::IntegrityVerifier> verifier;
  if (config.integrity) {
    ingest::IntegrityVerifierOptions vo;
    vo.pending_timeout_us = config.integrity_pending_timeout_s * 1000000;
    vo.max_buffered_bytes = static_cast<size_t>(config.integrity_buffer_bytes);
    for (const auto& [element, file] : config.signature_keys) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return fail(absl::InvalidArgumentError(base::StrCat("signature key: cannot read ", file)));
      vo.signature_keys[element] =
          std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    auto v = ingest::IntegrityVerifier::Create(vo, [&](const ingest::IntegrityResult& r) {
      ingest_metrics.Integrity(r.outcome, r.check_type).Inc();
      base::Log(r.outcome == ingest::IntegrityOutcome::kMismatch ? base::LogLevel::kWarn
                                                                 : base::LogLevel::kInfo,
                "ingest.integrity",
                {{"liid", r.liid},
                 {"cin", r.cin},
                 {"data_type", r.data_type == 1 ? "iri" : "cc"},
                 {"check", r.check_type == 2 ? "signature" : "hash"},
                 {"check_seq", r.check_sequence_number},
                 {"covered", r.covered.size()},
                 {"outcome", ingest::IntegrityOutcomeName(r.outcome)},
                 {"conn", r.connection_id}});
      sink.OnIntegrityResult(r);
    });
    if (!v.ok()) return fail(v.status());
    verifier = std::move(*v);
  }

  ingest::IngestContext ictx;
  ictx.sink = &sink;
  ictx.tracker = &tracker;
  ictx.verifier = verifier.get();
  ictx.metrics = &ingest_metrics;
  ictx.options.resync = config.resync;
  ictx.options.max_pdu_bytes = static_cast<size_t>(config.max_pdu_bytes);

  net::ServerOptions so;
  so.threads = config.threads;
  so.idle_timeout_ms = config.idle_timeout_s * 1000;
  so.max_connections = static_cast<size_t>(config.max_connections);
  so.metrics = &registry;
  auto server = net::Server::Create(so, [&ictx](const net::PeerInfo& p) {
    ingest::ConnectionInfo info;
    info.id = p.id;
    info.handover = p.listener == "hi3" ? ingest::Handover::kHi3 : ingest::Handover::kHi2;
    info.peer = p.remote;
    info.tls_identity = p.tls_identity;
    info.opened = base::Now();
    return std::make_unique<SessionHandler>(std::move(info), ictx, p.sender);
  });
  if (!server.ok()) return fail(server.status());

  std::optional<net::TlsOptions> tls;
  if (!config.tls_cert.empty()) {
    tls = net::TlsOptions{.cert_file = config.tls_cert,
                          .key_file = config.tls_key,
                          .client_ca_file = config.tls_client_ca,
                          .allow = config.tls_allow};
  }
  std::string ready = "{";
  for (const char* name : {"hi2", "hi3"}) {
    HostPort hp = *ParseHostPort(std::string_view(name) == "hi2" ? config.hi2 : config.hi3);
    auto port = (*server)->AddListener({.name = name, .host = hp.host, .port = hp.port, .tls = tls});
    if (!port.ok()) return fail(port.status());
    ready += base::StrCat(ready.size() > 1 ? ", " : "", "\"", name, "\": \"",
                          FormatAddr(hp.host, *port), "\"");
  }
  std::unique_ptr<metrics::HttpExporter> exporter;
  if (!config.metrics.empty() && config.metrics != "off") {
    HostPort hp = *ParseHostPort(config.metrics);
    auto e = metrics::HttpExporter::Start(registry, hp.host, hp.port);
    if (!e.ok()) return fail(e.status());
    exporter = std::move(*e);
    ready += base::StrCat(", \"metrics\": \"", FormatAddr(hp.host, exporter->port()), "\"");
  }
  // The HTTPS API: people log in, and read through the same gate with their warrants and teams.
  std::unique_ptr<access::UserStore> users;
  std::unique_ptr<api::ApiServer> api_server;
  if (cold_store && !config.api_listen.empty() && config.api_listen != "off") {
    auto us = access::UserStore::Open(config.data_dir, /*create=*/true);
    if (!us.ok()) return fail(us.status());
    users = std::move(*us);
    api::ApiOptions ao;
    ao.listen = config.api_listen;
    ao.cert_file = config.api_cert;
    ao.key_file = config.api_key;
    ao.client_ca_file = config.api_client_ca;
    ao.data_dir = config.data_dir;
    ao.users = users.get();
    filter::AssignedScreener* warrants = assignment.get();
    ao.warrants = [warrants] { return warrants->warrants(); };
    ao.screener = assignment.get();
    ao.audit = audit_log.get();
    ao.metrics = &registry;
    ao.store = cold_store.get();
    ao.default_retention_days = static_cast<int>(config.default_retention_days);
    ao.threads = static_cast<size_t>(config.api_threads);
    auto a = api::ApiServer::Start(ao);
    if (!a.ok()) return fail(a.status());
    api_server = std::move(*a);
    HostPort hp = *ParseHostPort(config.api_listen);
    ready += base::StrCat(", \"api\": \"", FormatAddr(hp.host, api_server->port()), "\"");
  }
  ready += "}";
  // The filter's own thread: a new list version is in force within a second (polled every
  // 200 ms; retroactive decisions follow from the store's control thread), staleness is watched,
  // and the canary runs on its schedule.
  std::atomic<bool> filter_stop{false};
  std::thread filter_thread;
  if (privileged_filter) {
    filter_thread = std::thread([&] {
      pthread_setname_np(pthread_self(), "tv-filter");
      std::optional<filter::Canary> canary;
      if (!config.canary.empty()) {
        canary.emplace(filter::CanaryOptions{.number = config.canary,
                                             .dir = config.data_dir,
                                             .country = config.privileged_region,
                                             .metrics = &registry,
                                             .audit = audit_log.get()},
                       *cold_store, *privileged_filter);
      }
      int64_t next_canary = base::Now().unix_us + 5LL * 1000000;   // first run soon after start
      while (!filter_stop.load()) {
        (void)privileged_filter->Refresh();
        (void)assignment->Refresh();
        const int64_t now = base::Now().unix_us;
        if (canary && now >= next_canary) {
          (void)canary->RunOnce();
          next_canary = now + config.canary_interval_s * 1000000LL;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }
  (*server)->Start();
  base::Log(base::LogLevel::kInfo, "serve.ready",
            {{"hi2", config.hi2}, {"hi3", config.hi3}, {"tls", tls.has_value()},
             {"threads", config.threads}, {"raw_capture", config.raw_capture_dir}});
  std::fprintf(stdout, "%s\n", ready.c_str());
  std::fflush(stdout);

  // Main loop: wait for a signal, doing housekeeping once a second.
  int sig = 0;
  for (;;) {
    struct timespec one_second = {1, 0};
    sig = sigtimedwait(&sigs, nullptr, &one_second);
    if (sig == SIGTERM || sig == SIGINT) break;
    base::Timestamp now = base::Now();
    if (verifier) verifier->ExpirePending(now);
    tracker.EvictIdle(now);
  }
  base::Log(base::LogLevel::kInfo, "serve.draining", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  // Drain: stop accepting, close connections (sessions flush to the sinks), flush the sinks.
  if (api_server) api_server->Stop();
  (*server)->Shutdown();
  if (verifier) verifier->ExpireAll();
  absl::Status flushed = sink.Flush();
  filter_stop = true;
  if (filter_thread.joinable()) filter_thread.join();
  if (cold_store) {
    absl::Status closed = cold_store->Close();
    if (flushed.ok()) flushed = closed;
  }
  if (exporter) exporter->Stop();
  if (!flushed.ok()) return fail(flushed);
  base::Log(base::LogLevel::kInfo, "serve.stopped");
  return 0;
}

}  // namespace tapvault::server
