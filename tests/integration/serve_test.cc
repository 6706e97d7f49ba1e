// Integration tests of `tapvault serve`: the real binary, real sockets (TCP and TLS with
// certificates made by the openssl CLI), the real OpenLI captures, ports 0, temp directories.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <httplib.h>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "harness.h"
#include "nlohmann/json.hpp"

namespace {

using namespace tapvault::itest;

std::string Capture(const std::string& name) {
  return Slurp(SharedDir() / "data/openli" / name);
}
const char kHi2[] = "microts_HI2_20261128T204233_34560.raw";
const char kHi3[] = "microts_HI3_20261128T204237_45928.raw";

// Minimal BER walking for expectations (independent of the code under test).
size_t TlvSize(const std::string& d, size_t pos, size_t* hdr = nullptr, size_t* vlen = nullptr) {
  if (pos + 2 > d.size()) return 0;
  size_t i = pos + 1;
  size_t len = static_cast<unsigned char>(d[i++]);
  if (len & 0x80) {
    size_t n = len & 0x7f;
    len = 0;
    for (size_t k = 0; k < n; ++k) len = (len << 8) | static_cast<unsigned char>(d[i++]);
  }
  if (hdr) *hdr = i - pos;
  if (vlen) *vlen = len;
  return i - pos + len;
}
std::vector<std::string> Pdus(const std::string& d) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < d.size();) {
    size_t n = TlvSize(d, pos);
    if (n == 0 || pos + n > d.size()) break;
    out.push_back(d.substr(pos, n));
    pos += n;
  }
  return out;
}
// PSHeader sequenceNumber [4] of a PS-PDU (or -1).
int64_t SeqOf(const std::string& pdu) {
  size_t h, v;
  TlvSize(pdu, 0, &h, &v);
  size_t hh, hv;
  size_t pos = h;
  TlvSize(pdu, pos, &hh, &hv);  // pSHeader [1]
  size_t end = pos + hh + hv;
  for (pos += hh; pos < end;) {
    size_t fh, fv;
    size_t n = TlvSize(pdu, pos, &fh, &fv);
    if (n == 0) return -1;
    if (static_cast<unsigned char>(pdu[pos]) == 0x84) {
      int64_t s = 0;
      for (size_t k = 0; k < fv; ++k) s = (s << 8) | static_cast<unsigned char>(pdu[pos + fh + k]);
      return s;
    }
    pos += n;
  }
  return -1;
}
bool IsKeepalive(const std::string& pdu) {
  return pdu.find("openli-1.1.20") != std::string::npos &&
         pdu.find(std::string("\xa2\x02\x83\x00", 4)) != std::string::npos;
}

class Serve : public ::testing::Test {
 protected:
  void StartServe(std::vector<std::string> extra = {}) {
    raw_ = fs::temp_directory_path() /
           ("tv_raw_" + std::to_string(getpid()) + "_" +
            std::to_string(Clock::now().time_since_epoch().count()));
    std::vector<std::string> args = {"--hi2", "127.0.0.1:0", "--hi3", "127.0.0.1:0",
                                     "--metrics", "127.0.0.1:0", "--raw-capture", raw_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<ServeProcess>(args);
    ready_ = proc_->WaitReady();
    ASSERT_TRUE(ready_.is_object()) << proc_->Stderr();
    ASSERT_EQ(ready_.size(), 3u);
    hi2_ = ready_["hi2"];
    hi3_ = ready_["hi3"];
    metrics_ = ready_["metrics"];
  }
  void TearDown() override {
    if (proc_) {
      EXPECT_EQ(proc_->Terminate(), 0) << proc_->Stderr().substr(0, 4000);
    }
    std::error_code ec;
    fs::remove_all(raw_, ec);
  }
  std::unique_ptr<ServeProcess> proc_;
  nlohmann::json ready_;
  std::string hi2_, hi3_, metrics_;
  fs::path raw_;
  asio::io_context io_;
};

TEST_F(Serve, ReadyLineAndByteExactRawCaptureOverTcp) {
  ASSERT_NO_FATAL_FAILURE(StartServe());
  EXPECT_EQ(hi2_.rfind("127.0.0.1:", 0), 0u);
  EXPECT_NE(hi2_, "127.0.0.1:0");
  std::string d2 = Capture(kHi2), d3 = Capture(kHi3);
  ASSERT_FALSE(d2.empty());
  std::thread t2([&] {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(Endpoint(hi2_));
    // In uneven chunks, as TCP may deliver them.
    for (size_t pos = 0; pos < d2.size();) {
      size_t n = std::min<size_t>(d2.size() - pos, 1 + (pos * 7919) % 3000);
      asio::write(s, asio::buffer(d2.data() + pos, n));
      pos += n;
    }
  });
  {
    tcp::socket s(io_);
    s.connect(Endpoint(hi3_));
    asio::write(s, asio::buffer(d3));
  }
  t2.join();
  EXPECT_EQ(WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}", 1), 1);
  EXPECT_EQ(WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi2\",reason=\"eof\"}", 1), 1);
  size_t cc = 0;
  for (const auto& pdu : Pdus(d3)) cc += !IsKeepalive(pdu);
  EXPECT_EQ(Metric(metrics_, "tapvault_pdus_total{handover=\"hi3\",kind=\"cc\"}"), cc);
  EXPECT_EQ(Metric(metrics_, "tapvault_decode_errors_total{reason=\"invalid_argument\"}"), 0);
  EXPECT_EQ(proc_->Terminate(), 0);
  proc_.reset();
  auto f2 = Files(raw_, "hi2_"), f3 = Files(raw_, "hi3_");
  ASSERT_EQ(f2.size(), 1u);
  ASSERT_EQ(f3.size(), 1u);
  EXPECT_TRUE(Slurp(f2[0]) == d2);
  EXPECT_TRUE(Slurp(f3[0]) == d3);
}

TEST_F(Serve, KeepaliveGetsExactlyOneResponseWithSameSequenceNumber) {
  ASSERT_NO_FATAL_FAILURE(StartServe());
  std::string keepalive;
  for (const auto& pdu : Pdus(Capture(kHi3))) {
    if (IsKeepalive(pdu)) keepalive = pdu;
  }
  ASSERT_FALSE(keepalive.empty());
  tcp::socket s(io_);
  s.connect(Endpoint(hi3_));
  asio::write(s, asio::buffer(keepalive));
  std::string got;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    if (s.available() > 0) {
      std::string chunk(s.available(), '\0');
      s.read_some(asio::buffer(chunk.data(), chunk.size()));
      got += chunk;
      if (TlvSize(got, 0) == got.size()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(got.empty());
  ASSERT_EQ(TlvSize(got, 0), got.size());  // exactly one PDU
  EXPECT_EQ(SeqOf(got), SeqOf(keepalive));
  EXPECT_NE(got.find(std::string("\xa2\x02\x84\x00", 4)), std::string::npos);  // keep-aliveResponse
  // Nothing else follows, even after more data.
  asio::write(s, asio::buffer(Pdus(Capture(kHi3))[0]));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(s.available(), 0u);
  EXPECT_EQ(Metric(metrics_, "tapvault_keepalives_answered_total"), 1);
}

TEST_F(Serve, GarbageIsResyncedAndCountedWhileParallelConnectionIsUnaffected) {
  ASSERT_NO_FATAL_FAILURE(StartServe());
  std::vector<std::string> p2 = Pdus(Capture(kHi2));
  std::string d3 = Capture(kHi3);
  std::mt19937 rng(12345);  // seed printed by name: 12345
  std::string garbage(5000, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  std::string bad = p2[0] + p2[1] + garbage + p2[2] + p2[3];
  std::thread good([&] {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(Endpoint(hi3_));
    for (size_t pos = 0; pos < d3.size(); pos += 1000) {
      asio::write(s, asio::buffer(d3.data() + pos, std::min<size_t>(1000, d3.size() - pos)));
    }
  });
  {
    tcp::socket s(io_);
    s.connect(Endpoint(hi2_));
    asio::write(s, asio::buffer(bad));
  }
  good.join();
  WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}", 1);
  WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi2\",reason=\"eof\"}", 1);
  size_t cc = 0;
  for (const auto& pdu : Pdus(d3)) cc += !IsKeepalive(pdu);
  EXPECT_EQ(Metric(metrics_, "tapvault_pdus_total{handover=\"hi3\",kind=\"cc\"}"), cc);
  EXPECT_GE(Metric(metrics_, "tapvault_stream_resyncs_total"), 1);
  // The four good PDUs around the garbage were all accepted.
  double hi2_pdus = 0;
  for (const char* kind : {"iri-begin", "iri-continue", "iri-end", "iri-report", "iri", "hi1-operation", "keepalive"}) {
    hi2_pdus += Metric(metrics_, std::string("tapvault_pdus_total{handover=\"hi2\",kind=\"") + kind + "\"}");
  }
  EXPECT_EQ(hi2_pdus, 4);
}

TEST_F(Serve, ResentPdusOnNewConnectionAreCountedAsDuplicates) {
  ASSERT_NO_FATAL_FAILURE(StartServe());
  std::string d3 = Capture(kHi3);
  size_t tracked = 0;
  for (const auto& pdu : Pdus(d3)) tracked += !IsKeepalive(pdu);
  for (int i = 0; i < 2; ++i) {
    tcp::socket s(io_);
    s.connect(Endpoint(hi3_));
    asio::write(s, asio::buffer(d3));
    s.close();
    WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}", i + 1);
  }
  EXPECT_EQ(Metric(metrics_, "tapvault_sequence_verdicts_total{verdict=\"duplicate\"}"), tracked);
}

TEST_F(Serve, ThousandConcurrentConnections) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  ASSERT_GE(rl.rlim_cur, 2200u) << "RLIMIT_NOFILE hard limit too low for this test";
  ASSERT_NO_FATAL_FAILURE(StartServe({"--threads", "2"}));
  std::string keepalive;
  for (const auto& pdu : Pdus(Capture(kHi3))) {
    if (IsKeepalive(pdu)) keepalive = pdu;
  }
  auto start = Clock::now();
  std::vector<tcp::socket> socks;
  socks.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    socks.emplace_back(io_);
    socks.back().connect(Endpoint(i % 2 ? hi3_ : hi2_));
  }
  EXPECT_EQ(WaitMetric(metrics_, "tapvault_connections_open", 1000), 1000);
  for (auto& s : socks) asio::write(s, asio::buffer(keepalive));
  for (auto& s : socks) {
    std::string got(90, '\0');
    size_t n = 0;
    while (n == 0 || TlvSize(got.substr(0, n), 0) != n) {
      n += s.read_some(asio::buffer(got.data() + n, got.size() - n));
      if (n >= 2 && TlvSize(got, 0) <= n) break;
    }
    ASSERT_EQ(SeqOf(got.substr(0, n)), SeqOf(keepalive));
  }
  EXPECT_EQ(Metric(metrics_, "tapvault_keepalives_answered_total"), 1000);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(60));
}

// --- TLS ---------------------------------------------------------------------------------------

using TlsSocket = asio::ssl::stream<tcp::socket>;

// Connects, handshakes with the given client cert ("" = none), sends `data`, then reads until
// EOF/error or the deadline; returns false if the server refused (handshake or later).
bool TlsSend(const std::string& addr, const Pki& pki, const std::string& client,
             const std::string& data, bool tls12 = false) {
  asio::io_context io;
  asio::ssl::context ctx(tls12 ? asio::ssl::context::tlsv12_client : asio::ssl::context::tls_client);
  asio::error_code ec;
  ctx.load_verify_file(pki.P("ca.crt"), ec);
  if (!client.empty()) {
    ctx.use_certificate_file(pki.P(client + ".crt"), asio::ssl::context::pem, ec);
    ctx.use_private_key_file(pki.P(client + ".key"), asio::ssl::context::pem, ec);
  }
  TlsSocket s(io, ctx);
  s.lowest_layer().connect(Endpoint(addr), ec);
  if (ec) return false;
  s.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return false;
  asio::write(s, asio::buffer(data), ec);
  if (ec) return false;
  // TLS 1.3: a refused client certificate shows up as an alert on the first read.
  s.lowest_layer().non_blocking(false);
  struct timeval tv = {0, 300000};
  setsockopt(s.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  s.read_some(asio::buffer(&c, 1), ec);
  // A timeout (EAGAIN) means the server kept the connection open: accepted.
  return ec == asio::error::would_block || ec == asio::error::try_again || !ec;
}

TEST_F(Serve, TlsMutualAuthWithAllowList) {
  Pki pki(fs::temp_directory_path() / ("tv_pki_" + std::to_string(getpid())));
  ASSERT_TRUE(pki.ok) << "openssl CLI failed";
  StartServe({"--tls-cert", pki.P("server.crt"), "--tls-key", pki.P("server.key"),
              "--tls-client-ca", pki.P("ca.crt"), "--tls-allow", "CN=med-1"});
  ASSERT_FALSE(HasFatalFailure());
  std::string d2 = Capture(kHi2);
  EXPECT_TRUE(TlsSend(hi2_, pki, "med1", d2));            // TLS 1.3, allowed
  EXPECT_TRUE(TlsSend(hi3_, pki, "med1", Capture(kHi3), /*tls12=*/true));
  EXPECT_FALSE(TlsSend(hi2_, pki, "", d2));                // no client certificate
  EXPECT_FALSE(TlsSend(hi2_, pki, "rogue", d2));           // valid chain, not on the allow-list
  EXPECT_GE(WaitMetric(metrics_, "tapvault_tls_refused_total{listener=\"hi2\"}", 2), 2);
  WaitMetric(metrics_, "tapvault_connections_closed_total{listener=\"hi3\",reason=\"eof\"}", 1);
  EXPECT_EQ(proc_->Terminate(), 0);
  proc_.reset();
  // Only the allowed connection delivered anything, byte for byte.
  auto f2 = Files(raw_, "hi2_");
  ASSERT_EQ(f2.size(), 1u);
  EXPECT_TRUE(Slurp(f2[0]) == d2);
  auto f3 = Files(raw_, "hi3_");
  ASSERT_EQ(f3.size(), 1u);
  EXPECT_TRUE(Slurp(f3[0]) == Capture(kHi3));
  fs::remove_all(pki.dir);
}

}  // namespace
