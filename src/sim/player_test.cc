#include "sim/player.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"
#include "proto/stream/framer.h"

namespace tapvault::sim {
namespace {

namespace fs = std::filesystem;

Scenario Load(const char* name) {
  const char* dir = std::getenv("TAPVAULT_SOURCE_DIR");
  absl::StatusOr<Scenario> s = LoadScenario(std::string(dir ? dir : ".") + "/examples/" + name);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : Scenario{};
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Split {
  std::vector<std::string> frames;
  size_t skipped_bytes = 0;
};

Split Frames(const std::string& stream) {
  proto::stream::Framer f;
  f.Append(base::AsBytes(stream));
  Split out;
  for (;;) {
    auto r = f.Next(/*eof=*/true);
    if (r.event == proto::stream::Framer::Event::kNeedMore) break;
    if (r.event == proto::stream::Framer::Event::kFrame) {
      out.frames.emplace_back(base::AsString(r.frame));
    } else {
      out.skipped_bytes += r.skipped;
    }
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sim_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path operator/(const char* name) const { return path_ / name; }

 private:
  fs::path path_;
};

TEST(Player, DemoToFilesDecodes) {
  TempDir dir;
  Scenario s = Load("demo.toml");
  PlayerOptions o{.out_hi2 = dir / "hi2.raw", .out_hi3 = dir / "hi3.raw"};
  absl::StatusOr<PlaySummary> sum = PlayScenario(s, o);
  ASSERT_TRUE(sum.ok()) << sum.status();
  const std::string hi2 = ReadFile(dir / "hi2.raw"), hi3 = ReadFile(dir / "hi3.raw");
  EXPECT_EQ(sum->hi2.bytes, hi2.size());
  EXPECT_EQ(sum->hi3.bytes, hi3.size());
  Split f2 = Frames(hi2), f3 = Frames(hi3);
  EXPECT_EQ(f2.skipped_bytes + f3.skipped_bytes, 0u);
  EXPECT_EQ(f2.frames.size(), sum->hi2.pdus);
  EXPECT_EQ(f3.frames.size(), sum->hi3.pdus);
  EXPECT_EQ(sum->hi2.keepalives, 1u);
  EXPECT_EQ(sum->hi3.keepalives, 1u);
  std::set<std::string> liids;
  proto::PsPdu pdu;
  for (const auto* frames : {&f2.frames, &f3.frames}) {
    for (const std::string& fr : *frames) {
      ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(fr), pdu).ok());
      liids.insert(std::string(pdu.header.liid));
      if (frames == &f3.frames && pdu.items[0].kind != proto::Kind::kKeepalive) {
        EXPECT_EQ(pdu.items[0].kind, proto::Kind::kCc);
      }
    }
  }
  EXPECT_EQ(liids, (std::set<std::string>{"NLPOL-2026-0001", "NLPOL-2026-0002", "tapvault-feed"}));
  nlohmann::json j = sum->ToJson();
  EXPECT_EQ(j["pdus"], sum->hi2.pdus + sum->hi3.pdus);
  EXPECT_EQ(j["hi3"]["bytes"], hi3.size());
}

TEST(Player, FaultsResendWindowByteForByte) {
  TempDir dir;
  Scenario s = Load("faults.toml");
  PlayerOptions o{.out_hi2 = dir / "hi2.raw", .out_hi3 = dir / "hi3.raw"};
  absl::StatusOr<PlaySummary> sum = PlayScenario(s, o);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->hi2.reconnects, 1u);
  EXPECT_EQ(sum->hi2.resent_pdus, 4u);
  EXPECT_EQ(sum->hi3.resent_pdus, 6u);
  EXPECT_EQ(sum->hi2.malformed + sum->hi3.malformed, 6u);
  // The resent PDUs repeat the last ones before the reconnect exactly: in the HI3 stream,
  // after the 40 CC PDUs of two calls (10 packets each way), frames 40..45 repeat 34..39.
  Split f3 = Frames(ReadFile(dir / "hi3.raw"));
  ASSERT_GE(f3.frames.size(), 46u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(f3.frames[34 + i], f3.frames[40 + i]) << i;
  EXPECT_NE(f3.frames[33], f3.frames[40]);
  EXPECT_GT(f3.skipped_bytes, 0u);  // garbage and bad tag were skipped by the framer
}

TEST(Player, ConnectionsWriteSeparateFilesWithDistinctCins) {
  TempDir dir;
  Scenario s = Load("load.toml");
  PlayerOptions o{.out_hi2 = dir / "hi2.raw", .out_hi3 = dir / "hi3.raw", .repeat = 2,
                  .connections = 2};
  absl::StatusOr<PlaySummary> sum = PlayScenario(s, o);
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->hi3.pdus, 2u * 2u * 1000u);
  std::set<uint32_t> cins;
  proto::PsPdu pdu;
  for (const char* name : {"hi2.raw", "hi2.raw.1"}) {
    for (const std::string& fr : Frames(ReadFile(dir / name)).frames) {
      ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(fr), pdu).ok());
      cins.insert(*pdu.header.cin);
    }
  }
  EXPECT_EQ(cins.size(), 4u);  // 2 connections x 2 repetitions
}

// A minimal LEMF on loopback: accepts connections on two ports, records what arrives, answers
// keep-alives (unless told not to).
// With acks: kAccept / kDecline answer optionRequests so (kIgnore: not at all); kAccept answers
// every pDUAcknowledgementRequest at once, and closes the connection of a channel after
// close_after_acks of them (a LEMF that dies).
enum class AckMode { kIgnore, kDecline, kAccept };

class FakeLemf {
 public:
  explicit FakeLemf(bool answer, AckMode acks = AckMode::kIgnore, int close_after_acks = -1)
      : answer_(answer), acks_(acks), close_after_acks_(close_after_acks) {
    for (int c = 0; c < 2; ++c) {
      fd_[c] = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bind(fd_[c], reinterpret_cast<sockaddr*>(&a), sizeof a);
      listen(fd_[c], 16);
      socklen_t len = sizeof a;
      getsockname(fd_[c], reinterpret_cast<sockaddr*>(&a), &len);
      port_[c] = ntohs(a.sin_port);
      threads_[c] = std::thread([this, c] { Serve(c); });
    }
  }
  ~FakeLemf() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    for (int fd : fd_) close(fd);
  }
  std::string addr(int c) const { return "127.0.0.1:" + std::to_string(port_[c]); }
  std::string received(int c) {
    std::lock_guard<std::mutex> l(mu_);
    return data_[c];
  }
  int connections(int c) {
    std::lock_guard<std::mutex> l(mu_);
    return accepted_[c];
  }
  // IRI/CC PDUs received, as acked-log lines.
  std::vector<std::string> lines(int c) {
    std::lock_guard<std::mutex> l(mu_);
    return lines_[c];
  }
  // How many of lines(c) had arrived when the last acknowledgement was sent.
  size_t lines_acked(int c) {
    std::lock_guard<std::mutex> l(mu_);
    return lines_acked_[c];
  }
  int ack_requests(int c) {
    std::lock_guard<std::mutex> l(mu_);
    return ack_requests_[c];
  }

 private:
  void Serve(int c) {
    while (!stop_) {
      pollfd p{fd_[c], POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept(fd_[c], nullptr, nullptr);
      if (conn < 0) continue;
      {
        std::lock_guard<std::mutex> l(mu_);
        ++accepted_[c];
      }
      proto::stream::Framer framer;
      char buf[65536];
      int acks_sent = 0;
      bool dead = false;
      while (!stop_ && !dead) {
        pollfd q{conn, POLLIN, 0};
        if (poll(&q, 1, 50) <= 0) continue;
        ssize_t n = recv(conn, buf, sizeof buf, 0);
        if (n <= 0) break;
        {
          std::lock_guard<std::mutex> l(mu_);
          data_[c].append(buf, n);
        }
        framer.Append(base::AsBytes(std::string_view(buf, n)));
        for (;;) {
          auto r = framer.Next();
          if (r.event != proto::stream::Framer::Event::kFrame) {
            if (r.event == proto::stream::Framer::Event::kNeedMore) break;
            continue;
          }
          proto::PsPdu pdu;
          if (!proto::li_ps::DecodePsPdu(r.frame, pdu).ok() || pdu.items.empty()) continue;
          const proto::Kind kind = pdu.items[0].kind;
          if (answer_ && kind == proto::Kind::kKeepalive) {
            std::vector<std::byte> resp = proto::li_ps::EncodeKeepaliveResponse(pdu.header);
            send(conn, resp.data(), resp.size(), MSG_NOSIGNAL);
          }
          if (proto::IsIri(kind) || kind == proto::Kind::kCc) {
            std::lock_guard<std::mutex> l(mu_);
            lines_[c].push_back(std::string(pdu.header.liid) + "\t" +
                                std::string(pdu.header.operator_id) + "/" +
                                std::string(pdu.header.network_element_id) + "\t" +
                                std::to_string(*pdu.header.cin) + "\t" +
                                std::to_string(pdu.header.sequence_number) + "\t" +
                                std::string(proto::KindName(kind)));
          }
          using proto::li_ps::Option;
          if (kind == proto::Kind::kOptionRequest && acks_ != AckMode::kIgnore) {
            const bool accept = acks_ == AckMode::kAccept;
            std::vector<std::byte> resp = proto::li_ps::EncodeOptionResponseTo(
                pdu.header, accept ? std::vector<Option>{Option::kPduAcknowledgement}
                                   : std::vector<Option>{},
                accept ? std::vector<Option>{} : std::vector<Option>{Option::kPduAcknowledgement});
            send(conn, resp.data(), resp.size(), MSG_NOSIGNAL);
          }
          if (kind == proto::Kind::kAckRequest) {
            std::lock_guard<std::mutex> l(mu_);
            ++ack_requests_[c];
            if (acks_ == AckMode::kAccept) {
              std::vector<std::byte> resp = proto::li_ps::EncodeAckResponse(pdu.header);
              send(conn, resp.data(), resp.size(), MSG_NOSIGNAL);
              lines_acked_[c] = lines_[c].size();
              if (++acks_sent == close_after_acks_) {
                dead = true;
                break;
              }
            }
          }
        }
      }
      if (dead) {
        // Die like a process that exits after answering: FIN after the last response, and read
        // on until the feeder goes away. A close() with unread bytes would send a RST instead,
        // and a RST makes the peer's kernel drop the responses it has not read yet.
        shutdown(conn, SHUT_WR);
        char sink[4096];
        pollfd p{.fd = conn, .events = POLLIN, .revents = 0};
        while (poll(&p, 1, 5000) > 0 && recv(conn, sink, sizeof sink, 0) > 0) {
        }
      }
      close(conn);
    }
  }

  bool answer_;
  AckMode acks_;
  int close_after_acks_;
  int fd_[2];
  uint16_t port_[2];
  std::thread threads_[2];
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string data_[2];
  int accepted_[2] = {0, 0};
  std::vector<std::string> lines_[2];
  size_t lines_acked_[2] = {0, 0};
  int ack_requests_[2] = {0, 0};
};

TEST(Player, OverTcpMatchesFilesAndGetsKeepaliveResponses) {
  Scenario s = Load("faults.toml");
  TempDir dir;
  ASSERT_TRUE(PlayScenario(s, {.out_hi2 = dir / "hi2.raw", .out_hi3 = dir / "hi3.raw"}).ok());
  FakeLemf lemf(/*answer=*/true);
  absl::StatusOr<PlaySummary> sum = PlayScenario(s, {.hi2 = lemf.addr(0), .hi3 = lemf.addr(1)});
  ASSERT_TRUE(sum.ok()) << sum.status();
  EXPECT_EQ(sum->hi3.keepalive_responses, 1u);
  EXPECT_EQ(sum->hi2.reconnects, 1u);
  // Wait until the LEMF has read everything, then compare with the file output.
  for (int i = 0; i < 100 && lemf.received(0).size() < sum->hi2.bytes; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (int i = 0; i < 100 && lemf.received(1).size() < sum->hi3.bytes; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(lemf.received(0), ReadFile(dir / "hi2.raw"));
  EXPECT_EQ(lemf.received(1), ReadFile(dir / "hi3.raw"));
  EXPECT_EQ(lemf.connections(0), 2);  // reconnected once
}

TEST(Player, MissingKeepaliveResponseFails) {
  absl::StatusOr<Scenario> s = ParseScenario(R"(
[[warrant]]
liid = "A"
[[event]]
type = "keepalive"
channel = "hi2"
timeout_ms = 200
)", "ka.toml");
  ASSERT_TRUE(s.ok());
  FakeLemf lemf(/*answer=*/false);
  absl::StatusOr<PlaySummary> sum = PlayScenario(*s, {.hi2 = lemf.addr(0), .hi3 = lemf.addr(1)});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(sum.status().message().find("no keep-aliveResponse with sequence number 0"),
            std::string::npos);
}

TEST(Player, ConnectionRefusedIsUnavailable) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string addr = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  close(fd);  // nobody listens there now
  Scenario s = Load("load.toml");
  absl::StatusOr<PlaySummary> sum =
      PlayScenario(s, {.hi2 = addr, .hi3 = addr, .connect_timeout_ms = 200});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(sum.status().message().find("cannot connect"), std::string::npos);
}

TEST(Player, RateLimits) {
  Scenario s = Load("load.toml");
  TempDir dir;
  absl::StatusOr<PlaySummary> sum = PlayScenario(
      s, {.out_hi2 = dir / "a", .out_hi3 = dir / "b", .rate = 5000});
  ASSERT_TRUE(sum.ok());
  // ~1007 PDUs at 5000/s take about 0.2 s.
  EXPECT_GT(sum->elapsed_s, 0.15);
  EXPECT_LT(sum->elapsed_s, 2.0);
}

TEST(Player, BadOptions) {
  Scenario s = Load("load.toml");
  EXPECT_FALSE(PlayScenario(s, {.hi2 = "nohostport", .hi3 = "x:1"}).ok());
  EXPECT_FALSE(PlayScenario(s, {.out_hi2 = "/tmp/x"}).ok());
  EXPECT_FALSE(PlayScenario(s, {}).ok());
  std::string host;
  uint16_t port;
  ASSERT_TRUE(SplitHostPort("[::1]:9000", host, port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 9000);
  EXPECT_FALSE(SplitHostPort("h:70000", host, port).ok());
}

// ---------------------------------------------------------------------------------------------
// PDU acknowledgement.

constexpr char kAckScenario[] = R"(
[scenario]
ack_every = 4
[[warrant]]
liid = "ACK-1"
operator_id = "OPX"
network_element = "ne-7"
[[event]]
type = "sip-call"
liid = "ACK-1"
caller = "+31612345678"
callee = "+31207654321"
packets = 6
[[event]]
type = "keepalive"
channel = "hi3"
[[event]]
type = "ip-session"
liid = "ACK-1"
)";

std::vector<std::string> Lines(const fs::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

TEST(PlayerAck, EveryPduAcknowledgedAndLogged) {
  absl::StatusOr<Scenario> s = ParseScenario(kAckScenario, "ack.toml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->ack_every, 4u);
  TempDir dir;
  FakeLemf lemf(/*answer=*/true, AckMode::kAccept);
  absl::StatusOr<PlaySummary> sum = PlayScenario(
      *s, {.hi2 = lemf.addr(0), .hi3 = lemf.addr(1), .acked_log = dir / "acked.log"});
  ASSERT_TRUE(sum.ok()) << sum.status();
  std::vector<std::string> logged = Lines(dir / "acked.log");
  std::vector<std::string> expected = lemf.lines(0);
  for (const std::string& l : lemf.lines(1)) expected.push_back(l);
  ASSERT_GT(expected.size(), 20u);
  EXPECT_EQ(std::multiset<std::string>(logged.begin(), logged.end()),
            std::multiset<std::string>(expected.begin(), expected.end()));
  EXPECT_EQ(sum->hi2.pdus_acked + sum->hi3.pdus_acked, expected.size());
  EXPECT_EQ(sum->ToJson()["pdus_acked"], expected.size());
  EXPECT_EQ(sum->hi3.keepalive_responses, 1u);
  EXPECT_EQ(sum->hi2.acks_declined + sum->hi3.acks_declined, 0u);
  EXPECT_EQ(sum->hi2.ack_timeouts + sum->hi3.ack_timeouts, 0u);
  // A request every 4 PDUs, plus the final one.
  EXPECT_EQ(sum->hi3.ack_requests, lemf.lines(1).size() / 4 + 1);
  EXPECT_EQ(logged[0].substr(0, 14), "ACK-1\tOPX/ne-7");
}

TEST(PlayerAck, DeclinedOrUnansweredNothingAckedNoWait) {
  absl::StatusOr<Scenario> s = ParseScenario(kAckScenario, "ack.toml");
  ASSERT_TRUE(s.ok());
  for (AckMode mode : {AckMode::kDecline, AckMode::kIgnore}) {
    TempDir dir;
    FakeLemf lemf(/*answer=*/true, mode);
    const auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<PlaySummary> sum =
        PlayScenario(*s, {.hi2 = lemf.addr(0), .hi3 = lemf.addr(1), .ack_every = 2,
                          .acked_log = dir / "acked.log", .ack_timeout_ms = 300});
    ASSERT_TRUE(sum.ok()) << sum.status();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(secs, 2.0);  // at most the two option waits when unanswered
    EXPECT_EQ(sum->hi2.pdus_acked + sum->hi3.pdus_acked, 0u);
    EXPECT_EQ(sum->hi2.acks_declined + sum->hi3.acks_declined, 2u);
    EXPECT_GT(sum->hi2.ack_requests, 1u);  // still asked: the LEMF must stay silent
    EXPECT_TRUE(Lines(dir / "acked.log").empty());
    const int want = static_cast<int>(sum->hi3.ack_requests);
    for (int i = 0; i < 100 && lemf.ack_requests(1) < want; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(lemf.ack_requests(1), static_cast<int>(sum->hi3.ack_requests));
  }
}

TEST(PlayerAck, LemfDiesLogHoldsExactlyWhatWasAcknowledged) {
  absl::StatusOr<Scenario> s = ParseScenario(R"(
[[warrant]]
liid = "ACK-2"
[[event]]
type = "sip-call"
liid = "ACK-2"
caller = "+31612345678"
callee = "+31207654321"
packets = 400
)", "die.toml");
  ASSERT_TRUE(s.ok());
  TempDir dir;
  // HI3 dies after its 3rd acknowledgement (PDUs 0..29 of 800 acknowledged).
  FakeLemf lemf(/*answer=*/true, AckMode::kAccept, /*close_after_acks=*/3);
  absl::StatusOr<PlaySummary> sum =
      PlayScenario(*s, {.hi2 = lemf.addr(0), .hi3 = lemf.addr(1), .rate = 4000, .ack_every = 10,
                        .acked_log = dir / "acked.log"});
  ASSERT_FALSE(sum.ok());
  EXPECT_EQ(sum.status().code(), absl::StatusCode::kUnavailable) << sum.status();
  std::vector<std::string> logged = Lines(dir / "acked.log");
  std::vector<std::string> hi3 = lemf.lines(1);
  ASSERT_EQ(lemf.lines_acked(1), 30u);
  std::vector<std::string> acked_cc;
  for (const std::string& l : logged) {
    if (l.find("\tcc") != std::string::npos) acked_cc.push_back(l);
  }
  EXPECT_EQ(acked_cc, std::vector<std::string>(hi3.begin(), hi3.begin() + 30));
}

}  // namespace
}  // namespace tapvault::sim
