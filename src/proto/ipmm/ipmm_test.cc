#include "proto/ipmm/ipmm.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/ipmm/ipmm_encode.h"

// Counts heap allocations, to hold DecodeCc (the hot path) to its allocation budget.
namespace {
std::atomic<bool> g_counting{false};
std::atomic<size_t> g_allocations{0};
}  // namespace
void* operator new(size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace tapvault::proto {
void PrintTo(const Party& p, std::ostream* os) { *os << PartyRoleName(p.role) << "=" << p.id; }
}  // namespace tapvault::proto

namespace tapvault::proto::ipmm {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

Party P(PartyRole role, std::string id) { return {.role = role, .id = std::move(id)}; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SharedDir() {
  const char* d = std::getenv("TAPVAULT_SHARED_DIR");
  return d ? d : TAPVAULT_TEST_SHARED_DIR;
}

// Splits a raw handover stream into PS-PDUs.
std::vector<Bytes> Frames(const std::string& stream) {
  std::vector<Bytes> out;
  Bytes rest = base::AsBytes(stream);
  while (!rest.empty()) {
    ber::Context ctx;
    absl::StatusOr<size_t> n = ber::CompleteTlvLength(rest, ctx);
    if (!n.ok() || *n == 0) break;
    out.push_back(rest.first(*n));
    rest = rest.subspan(*n);
  }
  return out;
}

// Follows `path` (one tag per level, first match) from the PS-PDU down; false if absent.
bool Find(Bytes frame, std::initializer_list<ber::Tag> path, ber::Context& ctx, ber::Tlv& out) {
  absl::StatusOr<ber::Tlv> top = ber::ReadSingle(frame, ctx);
  if (!top.ok()) return false;
  ber::Tlv cur = *top;
  ber::Reader parent(frame, ctx);
  for (ber::Tag tag : path) {
    absl::StatusOr<ber::Reader> r = ber::Reader(frame, ctx).Enter(cur);
    if (!r.ok()) return false;
    bool found = false;
    while (!r->AtEnd()) {
      ber::Tlv t;
      if (!r->Next(t).ok()) return false;
      if (t.tag == tag) {
        cur = t;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  out = cur;
  return true;
}

constexpr std::initializer_list<ber::Tag> kIriPath = {
    ber::Ctx(2, true), ber::Ctx(0, true), ber::Univ(ber::kSequence, true), ber::Ctx(2, true),
    ber::Ctx(11, true)};
constexpr std::initializer_list<ber::Tag> kCcPath = {
    ber::Ctx(2, true), ber::Ctx(1, true), ber::Univ(ber::kSequence, true), ber::Ctx(2, true),
    ber::Ctx(12, true)};

std::string Attr(const PayloadItem& item, std::string_view key) {
  for (const auto& [k, v] : item.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

struct Decoded {
  absl::Status status;
  PsPdu pdu;
  PayloadItem item;
};

// Decodes one IRIContents/CCContents element given as its complete encoding.
Decoded Decode(Bytes element, bool iri) {
  Decoded d;
  ber::Context ctx;
  absl::StatusOr<ber::Tlv> tlv = ber::ReadSingle(element, ctx);
  if (!tlv.ok()) {
    d.status = tlv.status();
    return d;
  }
  d.status = iri ? DecodeIri(*tlv, ctx, d.pdu, d.item) : DecodeCc(*tlv, ctx, d.pdu, d.item);
  return d;
}

std::vector<std::byte> EncodeIri(const IpmmIriSpec& spec,
                                 ber::LengthForm form = ber::LengthForm::kMinimal) {
  ber::Writer w(form);
  WriteIri(w, spec);
  return w.Take();
}
std::vector<std::byte> EncodeCc(const IpmmCcSpec& spec,
                                ber::LengthForm form = ber::LengthForm::kMinimal) {
  ber::Writer w(form);
  WriteCc(w, spec);
  return w.Take();
}

struct OpenLiIri {
  std::string call_id;
  std::string start_line;
  PayloadItem item;
  std::vector<std::byte> encoding;  // of the [11] element
};

std::vector<OpenLiIri> OpenLiIris() {
  static const std::string stream =
      ReadFile(SharedDir() + "/data/openli/microts_HI2_20261128T204233_34560.raw");
  std::vector<OpenLiIri> out;
  for (Bytes frame : Frames(stream)) {
    ber::Context ctx;
    ber::Tlv tlv;
    if (!Find(frame, kIriPath, ctx, tlv)) continue;
    Decoded d = Decode(tlv.encoding, true);
    EXPECT_TRUE(d.status.ok()) << d.status;
    OpenLiIri iri;
    iri.call_id = Attr(d.item, "sip.call_id");
    std::string_view content = base::AsString(d.item.content);
    iri.start_line = std::string(content.substr(0, content.find("\r\n")));
    iri.item = std::move(d.item);
    iri.encoding.assign(tlv.encoding.begin(), tlv.encoding.end());
    out.push_back(std::move(iri));
  }
  return out;
}

const OpenLiIri* FindIri(const std::vector<OpenLiIri>& iris, std::string_view call_id,
                         std::string_view start_line) {
  for (const OpenLiIri& i : iris) {
    if (i.call_id == call_id && i.start_line == start_line) return &i;
  }
  return nullptr;
}

// microts HI2: four calls of 7 messages; the target sip:6421555001@ims.example.nz is callee
// (To) on calls c1a2..., caller (P-Asserted-Identity) on calls d9e8... calling 6493330000.
TEST(OpenLi, Hi2SipMessagesAndParties) {
  std::vector<OpenLiIri> iris = OpenLiIris();
  ASSERT_EQ(iris.size(), 28u);
  for (const OpenLiIri& i : iris) {
    EXPECT_EQ(i.item.service, Service::kIpmm);
    EXPECT_EQ(Attr(i.item, "sip.parser"), "<absent>") << i.start_line;  // libosip2 took them all
    EXPECT_EQ(Attr(i.item, "sip.error"), "<absent>");
  }
  const std::string target = "sip:6421555001@ims.example.nz";

  const OpenLiIri* in = FindIri(iris, "c1a2b3c4d5e6f7@ims.example.nz",
                                "INVITE sip:6421555001@ims.example.nz SIP/2.0");
  ASSERT_NE(in, nullptr);
  EXPECT_THAT(in->item.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, target),
                          P(PartyRole::kSipFrom, "sip:6499990000@ims.example.nz"),
                          P(PartyRole::kSipTo, target),
                          P(PartyRole::kSipContact, "sip:6499990000@10.0.0.1:5060")));
  EXPECT_THAT(in->item.attributes,
              ElementsAre(Pair("ip.src", "10.0.0.1"), Pair("ip.dst", "10.0.0.10"),
                          Pair("sip.method", "INVITE"),
                          Pair("sip.call_id", "c1a2b3c4d5e6f7@ims.example.nz"),
                          Pair("sip.cseq", "1 INVITE")));
  EXPECT_EQ(in->item.content.size(), 558u);  // sIPContent 82 82 02 2e

  const OpenLiIri* ok = FindIri(iris, "c1a2b3c4d5e6f7@ims.example.nz", "SIP/2.0 200 OK");
  ASSERT_NE(ok, nullptr);
  EXPECT_THAT(ok->item.parties,
              ElementsAre(P(PartyRole::kSipFrom, "sip:6499990000@ims.example.nz"),
                          P(PartyRole::kSipTo, target),
                          P(PartyRole::kSipContact, "sip:6421555001@10.0.0.10:5060")));
  EXPECT_THAT(ok->item.attributes, Contains(Pair("sip.status", "200")));
  EXPECT_THAT(ok->item.attributes, Contains(Pair("sip.method", "INVITE")));

  const OpenLiIri* out = FindIri(iris, "d9e8f7a6b5c4@ims.example.nz",
                                 "INVITE sip:6493330000@ims.example.nz SIP/2.0");
  ASSERT_NE(out, nullptr);
  EXPECT_THAT(out->item.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:6493330000@ims.example.nz"),
                          P(PartyRole::kSipFrom, target),
                          P(PartyRole::kSipTo, "sip:6493330000@ims.example.nz"),
                          P(PartyRole::kSipPAssertedIdentity, target),
                          P(PartyRole::kSipContact, "sip:6421555001@10.0.0.10:5060")));
  EXPECT_THAT(out->item.attributes, Contains(Pair("ip.src", "10.0.0.10")));

  // Every message of every call names both parties.
  for (const OpenLiIri& i : iris) {
    bool inbound = i.call_id.rfind("c1a2", 0) == 0;
    std::string other = inbound ? "sip:6499990000@ims.example.nz" : "sip:6493330000@ims.example.nz";
    EXPECT_THAT(i.item.parties, Contains(P(inbound ? PartyRole::kSipTo : PartyRole::kSipFrom, target)));
    EXPECT_THAT(i.item.parties, Contains(P(inbound ? PartyRole::kSipFrom : PartyRole::kSipTo, other)));
  }
}

TEST(OpenLi, Hi3RtpCc) {
  std::string stream = ReadFile(SharedDir() + "/data/openli/microts_HI3_20261128T204237_45928.raw");
  size_t count = 0;
  for (Bytes frame : Frames(stream)) {
    ber::Context ctx;
    ber::Tlv tlv;
    if (!Find(frame, kCcPath, ctx, tlv)) continue;
    PsPdu pdu;
    PayloadItem item;
    ASSERT_TRUE(DecodeCc(tlv, ctx, pdu, item).ok());
    ++count;
    EXPECT_EQ(item.service, Service::kIpmm);
    ASSERT_EQ(item.content.size(), 200u);  // IPv4 + UDP + RTP (12) + 160 bytes PCMU
    EXPECT_EQ(item.content[0], std::byte{0x45});
    EXPECT_EQ(item.content[28], std::byte{0x80});  // RTP version 2
    EXPECT_THAT(item.attributes, ElementsAre(Pair("cc.frame_type", "ipFrame"), Pair("cc.protocol", "rtp")));
    EXPECT_EQ(pdu.skipped_unknown, 0u);
  }
  EXPECT_EQ(count, 400u);  // 4 calls x 50 packets x 2 directions
}

TEST(OpenLi, EveryTruncationAndBitFlipOfAnIri) {
  std::vector<OpenLiIri> iris = OpenLiIris();
  ASSERT_FALSE(iris.empty());
  const std::vector<std::byte>& enc = iris.front().encoding;
  for (size_t n = 0; n < enc.size(); ++n) {
    Decoded d = Decode(Bytes(enc).first(n), true);
    EXPECT_FALSE(d.status.ok()) << n;
  }
  for (size_t i = 0; i < enc.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::byte> f = enc;
      f[i] ^= std::byte(1 << bit);
      (void)Decode(f, true);
    }
  }
}

TEST(OpenLi, EveryTruncationAndBitFlipOfACc) {
  std::string stream = ReadFile(SharedDir() + "/data/openli/microts_HI3_20261128T204237_45928.raw");
  std::vector<std::byte> enc;
  for (Bytes frame : Frames(stream)) {
    ber::Context ctx;
    ber::Tlv tlv;
    if (Find(frame, kCcPath, ctx, tlv)) {
      enc.assign(tlv.encoding.begin(), tlv.encoding.end());
      break;
    }
  }
  ASSERT_FALSE(enc.empty());
  for (size_t n = 0; n < enc.size(); ++n) EXPECT_FALSE(Decode(Bytes(enc).first(n), false).status.ok());
  for (size_t i = 0; i < enc.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::byte> f = enc;
      f[i] ^= std::byte(1 << bit);
      (void)Decode(f, false);
    }
  }
}

constexpr std::string_view kInvite =
    "INVITE sip:+31201234567@example.nl;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"
    "From: \"A, B\" <sip:alice@example.nl>;tag=1\r\n"
    "To: <tel:+31201234567>\r\n"
    "Diversion: <tel:+31209999999>;reason=unconditional\r\n"
    "Call-ID: rt@example.nl\r\nCSeq: 7 INVITE\r\n\r\n";

TEST(RoundTrip, IriAllLengthFormsAndOidForms) {
  for (ber::LengthForm form :
       {ber::LengthForm::kMinimal, ber::LengthForm::kLong3, ber::LengthForm::kIndefinite}) {
    for (bool relative : {true, false}) {
      std::vector<std::byte> enc = EncodeIri(
          {.sip_message = kInvite, .src_ip = "192.0.2.1", .dst_ip = "2001:db8::5",
           .relative_oid = relative},
          form);
      Decoded d = Decode(enc, true);
      ASSERT_TRUE(d.status.ok()) << d.status;
      EXPECT_EQ(base::AsString(d.item.content), kInvite);
      EXPECT_EQ(d.item.service, Service::kIpmm);
      EXPECT_THAT(d.item.parties,
                  ElementsAre(P(PartyRole::kSipRequestUri, "sip:+31201234567@example.nl;user=phone"),
                              P(PartyRole::kSipFrom, "sip:alice@example.nl"),
                              P(PartyRole::kSipTo, "tel:+31201234567"),
                              P(PartyRole::kSipDiversion, "tel:+31209999999")));
      EXPECT_THAT(d.item.attributes,
                  ElementsAre(Pair("ip.src", "192.0.2.1"), Pair("ip.dst", "2001:db8::5"),
                              Pair("sip.method", "INVITE"), Pair("sip.call_id", "rt@example.nl"),
                              Pair("sip.cseq", "7 INVITE")));
      EXPECT_EQ(d.pdu.skipped_unknown, 0u);
    }
  }
}

TEST(RoundTrip, IriOnlySipMessageTextAddressAndAdditionalSignalling) {
  std::vector<std::byte> enc =
      EncodeIri({.sip_message = kInvite, .src_ip = "pcscf.example.nl", .dst_ip = "10.1.2.3",
                 .form = IriForm::kIriOnlySipMessage,
                 .additional_header_lines = {"Contact: tel:+123456789", "Subject: hi",
                                             "P-Asserted-Identity: <sip:x@y>"}});
  Decoded d = Decode(enc, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_THAT(d.item.attributes, Contains(Pair("ip.src", "pcscf.example.nl")));
  EXPECT_THAT(d.item.parties, Contains(P(PartyRole::kSipContact, "tel:+123456789")));
  EXPECT_THAT(d.item.parties, Contains(P(PartyRole::kSipPAssertedIdentity, "sip:x@y")));
  EXPECT_EQ(d.item.parties.size(), 6u);
}

TEST(RoundTrip, CcFieldsAndAbsence) {
  std::string rtp(172, '\x7f');
  rtp[0] = '\x80';
  std::vector<std::byte> enc = EncodeCc(
      {.rtp = base::AsBytes(rtp), .frame_type = 2, .mmcc_protocol = 2, .stream_id = "m=audio 4000"});
  Decoded full = Decode(enc, false);
  ASSERT_TRUE(full.status.ok()) << full.status;
  EXPECT_EQ(base::AsString(full.item.content), rtp);
  EXPECT_THAT(full.item.attributes,
              ElementsAre(Pair("cc.frame_type", "rtpFrame"), Pair("cc.protocol", "udptl"),
                          Pair("cc.stream_id", "m=audio 4000")));

  Decoded bare = Decode(EncodeCc({.rtp = base::AsBytes(rtp)}), false);
  ASSERT_TRUE(bare.status.ok());
  EXPECT_THAT(bare.item.attributes, IsEmpty());

  // Enumeration values added by later versions of the module: kept as numbers.
  Decoded ext = Decode(EncodeCc({.rtp = base::AsBytes(rtp), .frame_type = 9, .mmcc_protocol = 7}), false);
  ASSERT_TRUE(ext.status.ok());
  EXPECT_THAT(ext.item.attributes, ElementsAre(Pair("cc.frame_type", "9"), Pair("cc.protocol", "7")));
}

// The hot path: no allocation without optional fields, exactly one (the attribute vector) with
// OpenLI's frameType + mMCCprotocol.
TEST(DecodeCc, AllocationBudget) {
  std::string rtp(172, '\x11');
  std::vector<std::byte> bare = EncodeCc({.rtp = base::AsBytes(rtp)});
  std::vector<std::byte> openli = EncodeCc({.rtp = base::AsBytes(rtp), .frame_type = 0, .mmcc_protocol = 0});
  for (auto [enc, budget] : {std::pair{&bare, 0u}, std::pair{&openli, 1u}}) {
    PsPdu pdu;
    ber::Context ctx;
    absl::StatusOr<ber::Tlv> tlv = ber::ReadSingle(*enc, ctx);
    ASSERT_TRUE(tlv.ok());
    {
      PayloadItem item;
      g_allocations = 0;
      g_counting = true;
      absl::Status s = DecodeCc(*tlv, ctx, pdu, item);
      g_counting = false;
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(g_allocations.load(), budget);
    }
  }
}

TEST(DecodeIri, OriginalIpmmMessageIpv4Udp) {
  std::string sip(kInvite);
  std::string packet(28, '\0');
  packet[0] = '\x45';
  packet[9] = 17;  // UDP
  const char src[4] = {10, 0, 0, 1}, dst[4] = {10, 0, 0, 2};
  packet.replace(12, 4, src, 4);
  packet.replace(16, 4, dst, 4);
  packet += sip;
  ber::Writer w;
  w.Begin(ber::Ctx(11, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{5, 5, 17, 1}, true);
  w.Begin(ber::Ctx(1, true));
  w.AddOctets(ber::Ctx(0), packet);
  w.End();
  w.End();
  const std::vector<std::byte> element = w.Take();  // the decoded views point into it
  Decoded d = Decode(element, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(base::AsString(d.item.content), packet);
  EXPECT_THAT(d.item.attributes, Contains(Pair("ip.src", "10.0.0.1")));
  EXPECT_THAT(d.item.attributes, Contains(Pair("ip.dst", "10.0.0.2")));
  EXPECT_THAT(d.item.parties, Contains(P(PartyRole::kSipTo, "tel:+31201234567")));
}

TEST(DecodeIri, SegmentedSipContent) {
  ber::Writer w;
  w.Begin(ber::Ctx(11, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{5, 5, 17, 1}, true);
  w.Begin(ber::Ctx(1, true));
  w.Begin(ber::Ctx(1, true));
  for (int i = 0; i < 2; ++i) {
    w.Begin(ber::Ctx(i, true));
    w.AddInteger(ber::Ctx(1), 0);
    w.Begin(ber::Ctx(2, true));
    w.AddOctets(ber::Ctx(1), std::string_view("\x0a\x00\x00\x01", 4));
    w.End();
    w.End();
  }
  w.Begin(ber::Ctx(2, true));  // sIPContent as a constructed OCTET STRING of two segments
  w.AddOctets(ber::Univ(ber::kOctetString), kInvite.substr(0, 40));
  w.AddOctets(ber::Univ(ber::kOctetString), kInvite.substr(40));
  w.End();
  w.End();
  w.End();
  w.End();
  const std::vector<std::byte> element = w.Take();  // the decoded views point into it
  Decoded d = Decode(element, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(base::AsString(d.item.content), kInvite);
  EXPECT_EQ(d.item.parties.size(), 4u);
}

TEST(DecodeIri, UnknownAlternativesAndExtensionsAreSkipped) {
  ber::Writer w;
  w.Begin(ber::Ctx(11, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{5, 5, 17, 1}, true);
  w.Begin(ber::Ctx(1, true));
  w.AddOctets(ber::Ctx(30), "future");  // an IPIRIContents alternative we do not know
  w.End();
  w.AddOctets(ber::Ctx(40), "extension");
  w.End();
  const std::vector<std::byte> element = w.Take();  // the decoded views point into it
  Decoded d = Decode(element, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.pdu.skipped_unknown, 2u);
  EXPECT_THAT(d.item.parties, IsEmpty());
}

TEST(DecodeIri, GarbageSipIsKeptWithAnError) {
  std::vector<std::byte> enc = EncodeIri({.sip_message = "\x01\x02garbage", .src_ip = "10.0.0.1",
                                          .dst_ip = "10.0.0.2"});
  Decoded d = Decode(enc, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(base::AsString(d.item.content), "\x01\x02garbage");
  EXPECT_NE(Attr(d.item, "sip.error"), "<absent>");
}

TEST(Decode, MissingMandatoryFields) {
  ber::Writer w;
  w.Begin(ber::Ctx(11, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{5, 5, 17, 1}, true);
  w.End();
  EXPECT_EQ(Decode(w.Take(), true).status.code(), absl::StatusCode::kInvalidArgument);
  ber::Writer c;
  c.Begin(ber::Ctx(12, true));
  c.AddInteger(ber::Ctx(2), 2);
  c.End();
  EXPECT_EQ(Decode(c.Take(), false).status.code(), absl::StatusCode::kInvalidArgument);
  ber::Writer p;
  p.AddOctets(ber::Ctx(12), "primitive");
  EXPECT_EQ(Decode(p.Take(), false).status.code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tapvault::proto::ipmm
