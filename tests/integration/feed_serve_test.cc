// End to end: the handover simulator (`tapvault feed`) plays scenarios to the real server
// (`tapvault serve`) over TCP and TLS on loopback, with many mediator connections at once, and
// what the server received is checked record for record against what the simulator produced
// (the same scenario written to files), both byte for byte and decoded by `tapvault inspect`.
#include <algorithm>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "harness.h"

namespace {

using namespace tapvault::itest;

fs::path Example(const std::string& name) {
  return fs::path(std::getenv("TAPVAULT_SOURCE_DIR")) / "examples" / name;
}

// Contents of every file in `dir` whose name starts with `prefix`, sorted.
std::vector<std::string> Contents(const fs::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& f : Files(dir, prefix)) out.push_back(Slurp(f));
  std::sort(out.begin(), out.end());
  return out;
}

// `tapvault inspect` of one stream: its JSON lines.
std::vector<nlohmann::json> Inspect(const std::string& stream, int* exit_code = nullptr) {
  fs::path f = TempPath("tv_inspect_");
  std::ofstream(f, std::ios::binary) << stream;
  RunResult r = RunTapvault({"inspect", f.string()});
  fs::remove(f);
  if (exit_code) *exit_code = r.exit_code;
  std::vector<nlohmann::json> lines;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

class FeedServe : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = TempPath("tv_feedserve_");
    fs::create_directories(work_ / "expected");
  }
  void TearDown() override {
    if (serve_) EXPECT_EQ(serve_->Terminate(), 0) << serve_->Stderr().substr(0, 4000);
    std::error_code ec;
    fs::remove_all(work_, ec);
  }

  // The scenario written to files, one pair per simulated mediator connection.
  void Expected(const std::string& scenario, int connections) {
    RunResult r = RunTapvault({"feed", "--scenario", Example(scenario).string(), "--out-hi2",
                               (work_ / "expected/hi2").string(), "--out-hi3",
                               (work_ / "expected/hi3").string(), "--connections",
                               std::to_string(connections)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  void StartServe(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--hi2",     "127.0.0.1:0", "--hi3", "127.0.0.1:0",
                                     "--metrics", "127.0.0.1:0", "--raw-capture",
                                     (work_ / "capture").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    serve_ = std::make_unique<ServeProcess>(args);
    ready_ = serve_->WaitReady();
    ASSERT_TRUE(ready_.is_object()) << serve_->Stderr();
  }

  RunResult Feed(const std::string& scenario, int connections, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"feed", "--scenario", Example(scenario).string(), "--hi2",
                                     ready_["hi2"], "--hi3", ready_["hi3"], "--connections",
                                     std::to_string(connections)};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunTapvault(args);
  }

  // Stops the server (closing every capture file) and compares what it received with the
  // expected streams: byte for byte, and as decoded records.
  void CheckReceivedEqualsExpected(size_t connections) {
    ASSERT_EQ(serve_->Terminate(), 0) << serve_->Stderr().substr(0, 4000);
    serve_.reset();
    for (std::string channel : {"hi2", "hi3"}) {
      std::vector<std::string> got = Contents(work_ / "capture", channel + "_");
      std::vector<std::string> want = Contents(work_ / "expected", channel);
      ASSERT_EQ(got.size(), connections) << channel;
      ASSERT_EQ(want.size(), connections) << channel;
      for (size_t i = 0; i < connections; ++i) {
        EXPECT_TRUE(got[i] == want[i]) << channel << " stream " << i << " differs ("
                                       << got[i].size() << " vs " << want[i].size() << " bytes)";
        int code = -1;
        std::vector<nlohmann::json> got_records = Inspect(got[i], &code);
        EXPECT_EQ(code, 0) << channel;
        std::vector<nlohmann::json> want_records = Inspect(want[i]);
        ASSERT_EQ(got_records.size(), want_records.size()) << channel;
        ASSERT_FALSE(got_records.empty()) << channel;
        for (size_t k = 0; k < got_records.size(); ++k) {
          ASSERT_EQ(got_records[k], want_records[k]) << channel << " record " << k;
        }
      }
    }
  }

  fs::path work_;
  std::unique_ptr<ServeProcess> serve_;
  nlohmann::json ready_;
};

TEST_F(FeedServe, DemoOverTcpWithManyConnectionsRecordForRecord) {
  constexpr int kConnections = 12;
  ASSERT_NO_FATAL_FAILURE(Expected("demo.toml", kConnections));
  ASSERT_NO_FATAL_FAILURE(StartServe());
  RunResult fed = Feed("demo.toml", kConnections);
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  // The summary line: what the simulator sent, as the server must have received it.
  std::string last = fed.out.substr(0, fed.out.find_last_not_of('\n') + 1);
  auto summary = nlohmann::json::parse(last.substr(last.rfind('\n') + 1), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << fed.out;
  EXPECT_EQ(summary["keepalive_responses"], summary["hi2"]["keepalives"].get<int>() +
                                                 summary["hi3"]["keepalives"].get<int>());
  const std::string metrics = ready_["metrics"];
  EXPECT_EQ(WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}",
                       kConnections),
            kConnections);
  EXPECT_EQ(WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi2\",reason=\"eof\"}",
                       kConnections),
            kConnections);
  // Every connection's keep-alives were answered (feed fails otherwise), nothing was dropped.
  EXPECT_GE(Metric(metrics, "tapvault_keepalives_answered_total"), 2 * kConnections);
  EXPECT_EQ(Metric(metrics, "tapvault_decode_errors_total{reason=\"invalid_argument\"}"), 0);
  EXPECT_EQ(Metric(metrics, "tapvault_pdus_total{handover=\"hi3\",kind=\"cc\"}") +
                Metric(metrics, "tapvault_pdus_total{handover=\"hi3\",kind=\"keepalive\"}"),
            summary["hi3"]["pdus"].get<double>());
  ASSERT_NO_FATAL_FAILURE(CheckReceivedEqualsExpected(kConnections));

  // The records carry what the scenario says: SIP parties with their roles, PSTN numbers with
  // their nature of address, IP access, G.711 CC.
  std::set<std::string> kinds, roles, services;
  for (std::string channel : {"hi2", "hi3"}) {
    for (const auto& rec : Inspect(Contents(work_ / "expected", channel)[0])) {
      kinds.insert(rec["kind"]);
      services.insert(rec["service"]);
      if (rec.contains("parties")) {
        for (const auto& p : rec["parties"]) roles.insert(p["role"].get<std::string>());
      }
    }
  }
  for (const char* k : {"iri-begin", "iri-continue", "iri-end", "cc", "keepalive"}) {
    EXPECT_TRUE(kinds.count(k)) << k;
  }
  for (const char* s : {"ipmm", "hi2ops", "ipaccess"}) EXPECT_TRUE(services.count(s)) << s;
  for (const char* r : {"sip-from", "sip-to", "sip-request-uri", "sip-p-asserted-identity",
                        "originating", "terminating", "forwarded-to"}) {
    EXPECT_TRUE(roles.count(r)) << r;
  }
}

TEST_F(FeedServe, DemoOverMutualTlsRecordForRecord) {
  constexpr int kConnections = 4;
  Pki pki(work_ / "pki");
  ASSERT_TRUE(pki.ok) << "openssl CLI failed";
  ASSERT_NO_FATAL_FAILURE(Expected("demo.toml", kConnections));
  ASSERT_NO_FATAL_FAILURE(StartServe({"--tls-cert", pki.P("server.crt"), "--tls-key",
                                      pki.P("server.key"), "--tls-client-ca", pki.P("ca.crt"),
                                      "--tls-allow", "CN=med-1"}));
  RunResult fed = Feed("demo.toml", kConnections,
                       {"--tls-cert", pki.P("med1.crt"), "--tls-key", pki.P("med1.key"),
                        "--tls-ca", pki.P("ca.crt"), "--tls-server-name", "localhost"});
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  const std::string metrics = ready_["metrics"];
  WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}",
             kConnections);
  WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi2\",reason=\"eof\"}",
             kConnections);
  ASSERT_NO_FATAL_FAILURE(CheckReceivedEqualsExpected(kConnections));

  // A mediator whose certificate is not on the allow-list delivers nothing.
  ASSERT_NO_FATAL_FAILURE(StartServe({"--tls-cert", pki.P("server.crt"), "--tls-key",
                                      pki.P("server.key"), "--tls-client-ca", pki.P("ca.crt"),
                                      "--tls-allow", "CN=med-1"}));
  RunResult rogue = Feed("demo.toml", 1,
                         {"--tls-cert", pki.P("rogue.crt"), "--tls-key", pki.P("rogue.key"),
                          "--tls-ca", pki.P("ca.crt"), "--connect-timeout-ms", "500"});
  EXPECT_NE(rogue.exit_code, 0);
  EXPECT_GE(Metric(ready_["metrics"], "tapvault_tls_refused_total{listener=\"hi2\"}"), 1);
}

// Every fault of examples/faults.toml (re-sent window after a reconnect, CC before its IRI,
// sequence gaps, malformed records, garbage between PDUs): the server keeps everything it was
// sent, stores nothing twice, counts each fault, and loses no valid record.
TEST_F(FeedServe, FaultsAreCountedAndNoValidRecordIsLost) {
  ASSERT_NO_FATAL_FAILURE(Expected("faults.toml", 1));
  ASSERT_NO_FATAL_FAILURE(StartServe());
  RunResult fed = Feed("faults.toml", 1);
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  std::string last = fed.out.substr(0, fed.out.find_last_not_of('\n') + 1);
  auto summary = nlohmann::json::parse(last.substr(last.rfind('\n') + 1), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << fed.out;
  ASSERT_GT(summary["hi2"]["reconnects"].get<int>(), 0);
  ASSERT_GT(summary["hi2"]["malformed"].get<int>() + summary["hi3"]["malformed"].get<int>(), 0);
  const std::string metrics = ready_["metrics"];
  const int connections = 1 + summary["hi3"]["reconnects"].get<int>();
  WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}",
             connections);
  WaitMetric(metrics, "tapvault_connections_closed_total{listener=\"hi2\",reason=\"eof\"}",
             1 + summary["hi2"]["reconnects"].get<int>());

  // The re-sent window is recognised, not stored twice.
  const double resent = summary["hi2"]["resent_pdus"].get<double>() +
                        summary["hi3"]["resent_pdus"].get<double>();
  EXPECT_EQ(Metric(metrics, "tapvault_sequence_verdicts_total{verdict=\"duplicate\"}"), resent);
  EXPECT_GT(Metric(metrics, "tapvault_sequence_verdicts_total{verdict=\"gap\"}"), 0);
  // Every malformed record is counted somewhere: as a decode error or as a stream error.
  double faults = 0;
  for (const char* series :
       {"tapvault_decode_errors_total{reason=\"out_of_range\"}",
        "tapvault_decode_errors_total{reason=\"invalid_argument\"}",
        "tapvault_stream_errors_total{reason=\"bad_tag\"}",
        "tapvault_stream_errors_total{reason=\"not_ps_pdu\"}",
        "tapvault_stream_errors_total{reason=\"absurd_length\"}",
        "tapvault_stream_errors_total{reason=\"malformed_tlv\"}",
        "tapvault_stream_errors_total{reason=\"truncated_at_close\"}"}) {
    faults += Metric(metrics, series);
  }
  EXPECT_GE(faults, 1);
  EXPECT_EQ(serve_->Terminate(), 0);
  serve_.reset();

  // Everything sent was kept verbatim (the connections of a channel, in order, are the stream).
  for (std::string channel : {"hi2", "hi3"}) {
    auto files = Files(work_ / "capture", channel + "_");
    std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
      auto id = [](const fs::path& p) {
        std::string n = p.stem().string();
        return std::stoull(n.substr(n.rfind('_') + 1));
      };
      return id(a) < id(b);
    });
    std::string received;
    for (const auto& f : files) received += Slurp(f);
    const std::string sent = Slurp(work_ / "expected" / channel);
    ASSERT_TRUE(received == sent) << channel;
    // And every valid record in it decodes: as many as the simulator sent as valid PDUs.
    int code = 0;
    std::vector<nlohmann::json> records = Inspect(received, &code);
    EXPECT_EQ(code, 1) << "inspect reports the malformed records";
    EXPECT_EQ(records.size(), summary[channel]["pdus"].get<size_t>()) << channel;
  }
}

// PDU acknowledgement against a server that keeps nothing durably (no --data): the option is
// declined, every request is counted as unsupported and none is answered (tapvault never claims
// durability it does not have), and feed reports 0 acknowledged without waiting.
TEST_F(FeedServe, AcksRefusedWithoutDurableSink) {
  ASSERT_NO_FATAL_FAILURE(StartServe());
  const fs::path log = work_ / "acked.log";
  RunResult fed = Feed("demo.toml", 2,
                       {"--ack-every", "5", "--acked-log", log.string(), "--ack-timeout-ms",
                        "20000"});
  ASSERT_EQ(fed.exit_code, 0) << fed.err;
  std::string last = fed.out.substr(0, fed.out.find_last_not_of('\n') + 1);
  auto summary = nlohmann::json::parse(last.substr(last.rfind('\n') + 1), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << fed.out;
  EXPECT_EQ(summary["pdus_acked"], 0);
  EXPECT_LT(summary["elapsed_s"].get<double>(), 15.0);  // declined: no final wait
  EXPECT_EQ(summary["hi2"]["acks_declined"].get<int>() + summary["hi3"]["acks_declined"].get<int>(),
            4);  // 2 connections x HI2/HI3
  const double requests = summary["hi2"]["ack_requests"].get<double>() +
                          summary["hi3"]["ack_requests"].get<double>();
  ASSERT_GT(requests, 4);
  const std::string metrics = ready_["metrics"];
  EXPECT_EQ(WaitMetric(metrics, "tapvault_acks_unsupported_total", requests), requests);
  EXPECT_EQ(Metric(metrics, "tapvault_ack_requests_total"), requests);
  EXPECT_EQ(Metric(metrics, "tapvault_acks_sent_total"), 0);
  EXPECT_EQ(Metric(metrics, "tapvault_option_requests_answered_total"), 4);
  EXPECT_TRUE(fs::exists(log));
  EXPECT_EQ(fs::file_size(log), 0u);
}

}  // namespace
