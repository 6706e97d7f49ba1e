#include "ingest/session.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "ber/reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ingest/collecting_sink.h"
#include "proto/li_ps/decode.h"
#include "proto/li_ps/encode.h"

namespace tapvault::ingest {
namespace {

std::string ReadCapture(const std::string& name) {
  const char* dir = std::getenv("TAPVAULT_SHARED_DIR");
  std::string path = std::string(dir ? dir : TAPVAULT_TEST_SHARED_DIR) + "/data/openli/" + name;
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

constexpr char kHi2[] = "microts_HI2_20261128T204233_34560.raw";
constexpr char kHi3[] = "microts_HI3_20261128T204237_45928.raw";

// Splits a capture into its PDUs by BER lengths alone (for expectations).
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

// A keep-alive as OpenLI sends it (3-octet lengths) with the given sequence number.
std::vector<std::byte> Keepalive(uint32_t seq) {
  proto::PsHeader h;
  h.liid = "openli-1.1.20";
  h.operator_id = "LEMFTESTOP";
  h.network_element_id = "med-6001";
  h.cin = 0;
  h.sequence_number = seq;
  return proto::li_ps::EncodeTriPdu(h, proto::Kind::kKeepalive,
                                    {.length_form = ber::LengthForm::kLong3});
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : metrics_(registry_), tracker_({}) {
    ctx_.sink = &sink_;
    ctx_.tracker = &tracker_;
    ctx_.metrics = &metrics_;
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
  std::vector<std::byte> ka = Keepalive(4242);
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(ka, reply).ok());
  ASSERT_FALSE(reply.empty());
  proto::PsPdu resp;
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(reply), resp).ok());
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
    ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(p), pdu).ok());
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

// What the sink did not keep is not remembered as seen: the mediator's re-send is taken.
TEST_F(SessionTest, PduTheSinkRefusedIsTakenWhenResent) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string reply;
  sink_.SetFailForTest(true);
  {
    Session s(Conn(1), ctx_);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[0]), reply).ok());
  }
  sink_.SetFailForTest(false);
  {
    Session s(Conn(2), ctx_);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[0]), reply).ok());
  }
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), 2u);  // offered twice, kept the second time
  EXPECT_NE(recs[1].verdict, SequenceVerdict::kDuplicate);
  EXPECT_EQ(registry_.CounterValue("tapvault_sequence_verdicts_total", {{"verdict", "duplicate"}}),
            0u);
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

// A garbage run spread over many OnBytes calls is one resync, and every byte after the failed
// one is counted as skipped.
TEST_F(SessionTest, GarbageAcrossManyChunksIsOneResync) {
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string garbage(1000, '\x01');
  std::string data = pdus[0] + garbage + pdus[1];
  Session s(Conn(1), ctx_);
  std::string reply;
  for (size_t pos = 0; pos < data.size(); pos += 7) {
    ASSERT_TRUE(s.OnBytes(base::AsBytes(std::string_view(data).substr(pos, 7)), reply).ok());
  }
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].stream_offset, pdus[0].size() + garbage.size());
  EXPECT_EQ(s.resyncs(), 1u);
  EXPECT_EQ(Stream("bad_tag"), 1u);
  EXPECT_EQ(registry_.CounterValue("tapvault_stream_resync_skipped_bytes_total"),
            garbage.size() - 1);
}

TEST_F(SessionTest, EachFramingErrorIsCountedByReason) {
  ctx_.options.max_pdu_bytes = 256;
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string not_ps_pdu("\x30\x03\x02\x01\x00", 5);
  // Each begins like a PS-PDU (indefinite length), so the resync after the previous error stops
  // there.
  std::string start("\x30\x80\xa1\x09\x80\x07\x04\x00\x02\x02\x05\x01\x2b", 13);
  std::string malformed = start + std::string("\x02\x85\x00\x00\x00\x00\x01", 7);
  std::string too_large = start + std::string("\x04\x82\x01\x00", 4) + std::string(256, 'x');
  std::string data = not_ps_pdu + malformed + too_large + pdus[0];
  Session s(Conn(1), ctx_);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  EXPECT_EQ(Stream("not_ps_pdu"), 1u);
  EXPECT_EQ(Stream("malformed_tlv"), 1u);
  EXPECT_EQ(Stream("pdu_too_large"), 1u);
  EXPECT_EQ(s.resyncs(), 3u);
  ASSERT_EQ(sink_.Records().size(), 1u);
  EXPECT_EQ(sink_.Records()[0].stream_offset, data.size() - pdus[0].size());
}

// After a fatal framing error the session takes no more bytes, and the bytes left over are not
// also reported as a truncated PDU at close.
TEST_F(SessionTest, AfterFatalErrorNoMoreBytesAndNoTruncation) {
  ctx_.options.resync = false;
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  std::string data = pdus[0] + "junk" + pdus[1].substr(0, 10);
  Session s(Conn(1), ctx_);
  std::string reply;
  EXPECT_EQ(s.OnBytes(base::AsBytes(data), reply).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.OnBytes(base::AsBytes(pdus[2]), reply).code(), absl::StatusCode::kFailedPrecondition);
  s.OnClose("broken");
  EXPECT_EQ(Stream("bad_tag"), 1u);
  EXPECT_EQ(Stream("truncated_at_close"), 0u);
  EXPECT_EQ(sink_.Records().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// TS 102 232-1 option negotiation and PDU acknowledgement.

proto::PsHeader AckHeader(uint32_t seq) {
  proto::PsHeader h;
  h.liid = "tapvault-feed";
  h.operator_id = "OP";
  h.network_element_id = "med-1";
  h.cin = 0;
  h.sequence_number = seq;
  return h;
}

std::string AsString(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string AckRequest(uint32_t seq) {
  return AsString(proto::li_ps::EncodeTriPdu(AckHeader(seq), proto::Kind::kAckRequest,
                                             {.length_form = ber::LengthForm::kLong3}));
}

std::string OptionRequest(uint32_t seq) {
  return AsString(proto::li_ps::EncodeOptionRequest(
      AckHeader(seq), {proto::li_ps::Option::kPduAcknowledgement}));
}

// Collects what a Session sends later (the connection's AsyncSender in `serve`).
struct SentLater {
  std::vector<std::string> sent;
  SendLater Sender() {
    return [this](std::string bytes) { sent.push_back(std::move(bytes)); };
  }
};

class AckTest : public SessionTest {
 protected:
  uint64_t Counter(const char* name) { return registry_.CounterValue(name, {}); }
};

TEST_F(AckTest, AnsweredOnlyAfterWhenDurableFires) {
  sink_.SetDurableForTest(true);
  SentLater later;
  Session s(Conn(1), ctx_, later.Sender());
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  ASSERT_GT(pdus.size(), 3u);
  std::string data = pdus[0] + pdus[1] + pdus[2] + AckRequest(77);
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(data), reply).ok());
  EXPECT_TRUE(reply.empty());  // never synchronously
  EXPECT_TRUE(later.sent.empty());
  // The request itself went to the sink, before WhenDurable was called.
  auto recs = sink_.Records();
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs.back().kind, proto::Kind::kAckRequest);
  EXPECT_EQ(sink_.WaitingForTest(), std::vector<size_t>{4});
  EXPECT_EQ(Counter("tapvault_ack_requests_total"), 1u);
  EXPECT_EQ(Counter("tapvault_acks_sent_total"), 0u);

  ASSERT_EQ(sink_.MakeDurableForTest(), 1u);
  ASSERT_EQ(later.sent.size(), 1u);
  proto::PsPdu resp;
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(later.sent[0]), resp).ok());
  ASSERT_EQ(resp.items.size(), 1u);
  EXPECT_EQ(resp.items[0].kind, proto::Kind::kAckResponse);
  EXPECT_EQ(resp.header.sequence_number, 77u);
  EXPECT_EQ(resp.header.liid, "tapvault-feed");
  EXPECT_EQ(resp.header.cin, 0u);
  EXPECT_EQ(resp.header.operator_id, "OP");
  EXPECT_EQ(resp.encoding.size(), later.sent[0].size());  // one PDU, nothing else
  EXPECT_EQ(Counter("tapvault_acks_sent_total"), 1u);
  EXPECT_EQ(Counter("tapvault_acks_unsupported_total"), 0u);
}

// The callback holds no reference to the Session: it may fire after the connection is gone.
TEST_F(AckTest, CallbackMayFireAfterTheSessionIsGone) {
  sink_.SetDurableForTest(true);
  SentLater later;
  {
    Session s(Conn(1), ctx_, later.Sender());
    std::string reply;
    ASSERT_TRUE(s.OnBytes(base::AsBytes(AckRequest(1) + AckRequest(2)), reply).ok());
  }
  ASSERT_EQ(sink_.MakeDurableForTest(), 2u);
  ASSERT_EQ(later.sent.size(), 2u);
  proto::PsPdu resp;
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(later.sent[1]), resp).ok());
  EXPECT_EQ(resp.header.sequence_number, 2u);
}

TEST_F(AckTest, OptionDeclinedAndAckUnsupportedForNonDurableSink) {
  SentLater later;
  Session s(Conn(1), ctx_, later.Sender());
  std::string reply;
  ASSERT_TRUE(s.OnBytes(base::AsBytes(OptionRequest(3)), reply).ok());
  proto::PsPdu resp;
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(reply), resp).ok());
  EXPECT_EQ(resp.encoding.size(), reply.size());
  EXPECT_EQ(resp.items[0].kind, proto::Kind::kOptionResponse);
  EXPECT_THAT(resp.items[0].attributes,
              ::testing::ElementsAre(::testing::Pair("option.declined", "pDUAcknowledgement")));
  EXPECT_EQ(resp.header.sequence_number, 3u);

  reply.clear();
  ASSERT_TRUE(s.OnBytes(base::AsBytes(AckRequest(4) + AckRequest(5)), reply).ok());
  EXPECT_TRUE(reply.empty());
  EXPECT_TRUE(later.sent.empty());
  EXPECT_EQ(Counter("tapvault_ack_requests_total"), 2u);
  EXPECT_EQ(Counter("tapvault_acks_unsupported_total"), 2u);
  EXPECT_EQ(Counter("tapvault_acks_sent_total"), 0u);
  EXPECT_EQ(sink_.Records().size(), 3u);  // option request and both ack requests still stored
}

TEST_F(AckTest, OptionAcceptedForDurableSinkButNotWithoutSender) {
  sink_.SetDurableForTest(true);
  for (bool with_sender : {true, false}) {
    SentLater later;
    Session s(Conn(1), ctx_, with_sender ? later.Sender() : nullptr);
    std::string reply;
    ASSERT_TRUE(s.OnBytes(base::AsBytes(OptionRequest(0)), reply).ok());
    proto::PsPdu resp;
    ASSERT_TRUE(proto::li_ps::DecodePsPdu(base::AsBytes(reply), resp).ok());
    EXPECT_EQ(resp.items[0].kind, proto::Kind::kOptionResponse);
    EXPECT_THAT(resp.items[0].attributes,
                ::testing::ElementsAre(::testing::Pair(
                    with_sender ? "option.accepted" : "option.declined", "pDUAcknowledgement")));
  }
}

// A lost PDU (undecodable, or refused by the sink) must never be covered by an acknowledgement.
TEST_F(AckTest, WithheldOnceAPduOfTheConnectionWasLost) {
  sink_.SetDurableForTest(true);
  std::vector<std::string> pdus = Pdus(ReadCapture(kHi2));
  {
    SentLater later;
    Session s(Conn(1), ctx_, later.Sender());
    // Well framed, a PS-PDU start, but an empty header: decode fails.
    std::string bad = std::string("\x30\x0a\xa1\x08\x80\x06\x04\x00\x02\x02\x05\x01", 12);
    std::string reply;
    ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[0] + bad), reply).ok());
    ASSERT_EQ(s.decode_errors(), 1u);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(AckRequest(1)), reply).ok());
    EXPECT_EQ(sink_.MakeDurableForTest(), 0u);
    EXPECT_TRUE(later.sent.empty());
    EXPECT_EQ(Counter("tapvault_acks_withheld_total"), 1u);
  }
  {
    SequenceTracker tracker({});
    IngestContext ctx = ctx_;
    ctx.tracker = &tracker;
    SentLater later;
    Session s(Conn(2), ctx, later.Sender());
    std::string reply;
    sink_.SetFailForTest(true);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(pdus[2]), reply).ok());
    sink_.SetFailForTest(false);
    ASSERT_TRUE(s.OnBytes(base::AsBytes(AckRequest(2)), reply).ok());
    EXPECT_EQ(sink_.MakeDurableForTest(), 0u);
    EXPECT_TRUE(later.sent.empty());
    EXPECT_EQ(Counter("tapvault_acks_withheld_total"), 2u);
  }
}

TEST(FanoutSinkTest, DurableIfAnyAndDoneOnceAllSinksReport) {
  CollectingSink plain, durable_a, durable_b;
  FanoutSink none({&plain});
  EXPECT_FALSE(none.Durable());
  int calls = 0;
  none.WhenDurable([&] { ++calls; });
  EXPECT_EQ(calls, 1);  // nothing durable to wait for

  durable_a.SetDurableForTest(true);
  durable_b.SetDurableForTest(true);
  FanoutSink fan({&plain, &durable_a, &durable_b});
  EXPECT_TRUE(fan.Durable());
  calls = 0;
  fan.WhenDurable([&] { ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(durable_b.MakeDurableForTest(), 1u);
  EXPECT_EQ(calls, 0);
  std::thread([&] { EXPECT_EQ(durable_a.MakeDurableForTest(), 1u); }).join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(durable_a.MakeDurableForTest(), 0u);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace tapvault::ingest
