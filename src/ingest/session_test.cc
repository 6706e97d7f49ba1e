#include "ingest/session.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "ber/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/collecting_sink.h"
#include "ingest/testing/mini_codec.h"

namespace tapvault::ingest {
namespace {

std::string ReadCapture(const std::string& name) {
  const char* dir = std::getenv("TAPVAULT_SHARED_DIR");
  std::string path = std::string(dir ? dir : "/work/shared") + "/data/openli/" + name;
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

constexpr char kHi2[] = "microts_HI2_20261128T204233_34560.raw";
constexpr char kHi3[] = "microts_HI3_20261128T204237_45928.raw";

// Splits a capture into its PDUs with the mini decoder's framing (for expectations).
std::vector<std::string> Pdus(const std::string& stream) {
  std::vector<std::string> out;
  ber::Context ctx;
  size_t pos = 0;
  while (pos < stream.size()) {
    auto n = ber::CompleteTlvLength(base::AsBytes(std::string_view(stream).substr(pos)), ctx);
    ctx.elements = 0;
    if (!n.ok() || *n == 0) break;
    out.push_back(stream.substr(pos, *n));
    pos += *n;
  }
  return out;
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : metrics_(registry_), tracker_({}) {
    ctx_.sink = &sink_;
    ctx_.tracker = &tracker_;
    ctx_.metrics = &metrics_;
    ctx_.codec = testing::MiniCodec();
  }
  ConnectionInfo Conn(uint64_t id, Handover h = Handover::kHi2) {
    ConnectionInfo c;
    c.id = id;
    c.handover = h;
    c.peer = "127.0.0.1:1";
    return c;
  }
  uint64_t Stream(std::string_view reason) {
    return registry_.CounterValue("tapvault_stream_errors_total", {{"reason", std::string(reason)}});
  }

  metrics::Registry registry_;
  IngestMetrics metrics_;
  SequenceTracker tracker_;
  CollectingSink sink_;
  IngestContext ctx_;
};

TEST_F(SessionTest, AcceptsEveryPduOfRealCaptureInOneChunk) {
  std::string data = ReadCapture(kHi3);
  ASSERT_FALSE(data.empty());
  std::vector<std::string> pdus = Pdus(data);
  ASSERT_GT(pdus.size(), 100u);
  Session s(Conn(1, Handover::kHi3), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), pdus.size());
  uint64_t offset = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].raw, pdus[i]) << i;
    EXPECT_EQ(recs[i].stream_offset, offset) << i;
    offset += pdus[i].size();
  }
  EXPECT_EQ(s.decode_errors(), 0u);
  EXPECT_EQ(s.resyncs(), 0u);
}

// The stream split at every byte boundary gives the same records as one chunk.
TEST_F(SessionTest, SplitAtEveryByteBoundary) {
  std::string data = ReadCapture(kHi2).substr(0, 4000);
  std::vector<std::string> pdus = Pdus(data);
  ASSERT_GT(pdus.size(), 3u);
  for (size_t cut = 1; cut < data.size(); ++cut) {
    SequenceTracker tracker({});
    CollectingSink sink;
    IngestContext ctx = ctx_;
    ctx.tracker = &tracker;
    ctx.sink = &sink;
    Session s(Conn(cut), ctx);
    std::string reply;
    ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(data).substr(0, cut)), reply).ok());
    ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(data).substr(cut)), reply).ok());
    auto recs = sink.Records();
    ASSERT_EQ(recs.size(), pdus.size()) << "cut " << cut;
    for (size_t i = 0; i < recs.size(); ++i) ASSERT_EQ(recs[i].raw, pdus[i]) << "cut " << cut;
  }
}

TEST_F(SessionTest, OneByteAtATime) {
  std::string data = ReadCapture(kHi2);
  std::vector<std::string> pdus = Pdus(data);
  Session s(Conn(1), ctx_);
  std::string reply;
  for (char c : data) ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(&c, 1)), reply).ok());
  EXPECT_EQ(sink_.Records().size(), pdus.size());
}

TEST_F(SessionTest, KeepaliveIsAnsweredWithSameSequenceNumberAndNotTracked) {
  std::vector<std::byte> ka = testing::MiniKeepalive(4242);
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(ka, reply).ok());
  ASSERT_FALSE(reply.empty());
  proto::PsPdu resp;
  ASSERT_TRUE(testing::MiniDecode(base::AsBytes(reply), resp).ok());
  EXPECT_EQ(resp.header.sequence_number, 4242u);
  ASSERT_EQ(resp.items.size(), 1u);
  EXPECT_EQ(resp.items[0].kind, proto::Kind::kKeepaliveResponse);
  EXPECT_EQ(resp.encoding.size(), reply.size());  // exactly one PDU, nothing else
  EXPECT_EQ(registry_.CounterValue("tapvault_keepalives_answered_total"), 1u);
  // A second keep-alive with the same number is answered again, never called a duplicate.
  reply.clear();
  ASSERT_TRUE(s.OnBytes(ka, reply).ok());
  EXPECT_FALSE(reply.empty());
  for (const auto& r : sink_.Records()) EXPECT_EQ(r.verdict, SequenceVerdict::kUntracked);
}

TEST_F(SessionTest, NothingButKeepaliveResponsesIsSent) {
  std::string data = ReadCapture(kHi3);
  Session s(Conn(1, Handover::kHi3), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  // Every reply PDU is a keep-aliveResponse.
  for (const std::string& p : Pdus(reply)) {
    proto::PsPdu pdu;
    ASSERT_TRUE(testing::MiniDecode(base::AsBytes(p), pdu).ok());
    EXPECT_EQ(pdu.items[0].kind, proto::Kind::kKeepaliveResponse);
  }
}

TEST_F(SessionTest, GarbageBetweenPdusIsResyncedAndCounted) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  ASSERT_GT(pdus.size(), 4u);
  std::string garbage = "\x01\x02garbage\x30\x05\xff\xff";  // includes a false 0x30 start
  std::string data = pdus[0] + pdus[1] + garbage + pdus[2] + pdus[3];
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[2].raw, pdus[2]);
  EXPECT_EQ(recs[2].stream_offset, pdus[0].size() + pdus[1].size() + garbage.size());
  EXPECT_EQ(s.resyncs(), 1u);
  EXPECT_EQ(registry_.CounterValue("tapvault_stream_resyncs_total"), 1u);
  EXPECT_EQ(registry_.CounterValue("tapvault_stream_resync_skipped_bytes_total"), garbage.size() - 1);
  EXPECT_EQ(Stream("bad_tag"), 1u);
}

TEST_F(SessionTest, ResyncAcrossChunksAtEverySplit) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string garbage(100, '\x30');  // worst case: every byte looks like a start
  std::string data = pdus[0] + garbage + pdus[1] + pdus[2];
  for (size_t cut = 1; cut < data.size(); cut += 7) {
    SequenceTracker tracker({});
    CollectingSink sink;
    IngestContext ctx = ctx_;
    ctx.tracker = &tracker;
    ctx.sink = &sink;
    Session s(Conn(cut), ctx);
    std::string reply;
    ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(data).substr(0, cut)), reply).ok());
    ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(data).substr(cut)), reply).ok());
    auto recs = sink.Records();
    ASSERT_EQ(recs.size(), 3u) << "cut " << cut;
    EXPECT_EQ(recs[1].raw, pdus[1]);
    EXPECT_EQ(recs[2].raw, pdus[2]);
  }
}

TEST_F(SessionTest, AbsurdLengthIsBrokenStream) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string bad = "\x30\x84\x7f\xff\xff\xff\xa1\x00";  // claims 2 GiB
  std::string data = bad + pdus[0];
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  EXPECT_EQ(sink_.Records().size(), 1u);
  EXPECT_EQ(Stream("absurd_length"), 1u);
}

TEST_F(SessionTest, WithoutResyncTheConnectionIsClosed) {
  ctx_.options.resync = false;
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string data = pdus[0] + "junk" + pdus[1];
  Session s(Conn(1), ctx_);
  std::string reply;
  absl::Status st = s.OnBytes(base::AsBytes(data), reply);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("bad_tag"));
  EXPECT_EQ(sink_.Records().size(), 1u);  // what came before stays accepted
}

TEST_F(SessionTest, TooManyResyncsCloses) {
  ctx_.options.max_resyncs = 2;
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string data = pdus[0] + "x" + pdus[1] + "y" + pdus[2] + "z" + pdus[3];
  Session s(Conn(1), ctx_);
  std::string reply;
  EXPECT_FALSE(s.OnBytes(base::AsBytes(data), reply).ok());
  EXPECT_EQ(sink_.Records().size(), 3u);
}

TEST_F(SessionTest, WellFramedUndecodablePduIsDroppedOthersContinue) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  // A well-framed SEQUENCE that is a PS-PDU start but whose header is empty: decode fails.
  std::string bad = std::string("\x30\x0a\xa1\x08\x80\x06\x04\x00\x02\x02\x05\x01", 12);
  std::string data = pdus[0] + bad + pdus[1];
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].raw, pdus[1]);
  EXPECT_EQ(s.decode_errors(), 1u);
  EXPECT_EQ(registry_.CounterSum("tapvault_decode_errors_total"), 1u);
  EXPECT_EQ(s.resyncs(), 0u);
}

TEST_F(SessionTest, ResentPdusOnNewConnectionAreDuplicatesNotPassedOn) {
  std::string data = ReadCapture(kHi3);
  size_t n = Pdus(data).size();
  std::string reply;
  {
    Session s(Conn(1, Handover::kHi3), ctx_);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  }
  size_t first = sink_.Records().size();
  EXPECT_EQ(first, n);
  {
    Session s(Conn(2, Handover::kHi3), ctx_);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  }
  // Only untracked PDUs (keep-alives) come through a second time.
  size_t untracked = 0;
  for (const auto& r : sink_.Records()) untracked += r.verdict == SequenceVerdict::kUntracked;
  EXPECT_EQ(sink_.Records().size(), first + untracked / 2);
  EXPECT_EQ(registry_.CounterValue("tapvault_sequence_verdicts_total", {{"verdict", "duplicate"}}),
            n - untracked / 2);
}

TEST_F(SessionTest, SinkErrorIsCountedAndStreamContinues) {
  sink_.SetFailForTest(true);
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[0] + pdus[1]), reply).ok());
  EXPECT_EQ(registry_.CounterValue("tapvault_sink_errors_total"), 2u);
}

TEST_F(SessionTest, TruncatedAtCloseIsCounted) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[0].substr(0, 10)), reply).ok());
  s.OnClose("peer closed");
  EXPECT_EQ(Stream("truncated_at_close"), 1u);
  EXPECT_THAT(sink_.CloseReasons(), ::testing::ElementsAre("peer closed"));
}

TEST(FindPduStartTest, FindsOpenLiStartWithNonMinimalLengths) {
  std::string d = std::string("\x00\x30\x82\x00\x9f\xa1\x5b\x80\x07\x04\x00\x02\x02\x05\x01\x11", 16);
  auto s = FindPduStart(base::AsBytes(d), 0);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->index, 1u);
  EXPECT_TRUE(s->complete);
  auto partial = FindPduStart(base::AsBytes(std::string_view(d).substr(0, 9)), 0);
  ASSERT_TRUE(partial.has_value());
  EXPECT_FALSE(partial->complete);
  EXPECT_FALSE(FindPduStart(base::AsBytes(std::string_view("\x30\x03\x02\x01\x00", 5)), 0));
}

}  // namespace
}  // namespace tapvault::ingest
