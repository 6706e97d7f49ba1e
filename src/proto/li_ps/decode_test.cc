#include "proto/li_ps/decode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "base/hex.h"
#include "base/status_macros.h"
#include "base/time.h"
#include "ber/writer.h"
#include "proto/ipaccess/ipaccess_encode.h"
#include "proto/li_ps/encode.h"

namespace tapvault::proto::li_ps {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::vector<std::byte> Hex(std::string_view hex) {
  std::optional<std::vector<std::byte>> b = base::FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(std::vector<std::byte>{});
}

// Keeps a frame alive for the rest of the test run (decoded views point into it).
const std::vector<std::byte>& Keep(std::vector<std::byte> frame) {
  static std::deque<std::vector<std::byte>> kept;
  return kept.emplace_back(std::move(frame));
}

base::Timestamp Gt(std::string_view text) { return base::ParseGeneralizedTime(text).value(); }

std::string Attr(const PayloadItem& item, std::string_view key) {
  for (const auto& [k, v] : item.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

// A keep-alive from the OpenLI 1.1.20 mediator (microts_HI2 capture, last PDU): pseudo-LIID,
// CIN 0, microSecondTimeStamp {0x6b0b3cdd, 0x0a027b}.
constexpr std::string_view kOpenLiKeepalive =
    "3058a150800704000202050111810d6f70656e6c692d312e312e323082024e5aa31fa016800a4c454d46544553"
    "544f5081086d65642d3630303181010082024e5a840106a70b80046b0b3cdd81030a027b880101a204a2028300";

// An IPIRI from OpenLI (microts_HI2 capture, first PDU), with OpenLI's non-minimal `82 00 9f`.
constexpr std::string_view kOpenLiIpIri =
    "3082009fa15b800704000202050111810a4c454d4649503030303182024e5aa31fa016800a4c454d4654455354"
    "4f5081086c656d66636f6c6c81010782024e5a840100851332303236313132383230333934382e3534355a8604"
    "69703031880101a240a03e303c800101a237a235800405030a01a12d800107810c737461746963757365723031"
    "820104830101a414810100a2068104c0a832058301018504ffffffff";

// An HI1 liActivated notification from OpenLI (microts_HI2 capture, PDU 15).
constexpr std::string_view kOpenLiHi1 =
    "3082009fa14b800704000202050111810a4c454d46564f4950303282024e5aa315a00c800a4c454d4654455354"
    "4f5081010082024e5a840100851332303236313132383230343031352e3432375a880101a250a34ea14c800704"
    "000202000106810a4c454d46564f49503032a209a10780054c454d4654a30f810d3236313132383230343031"
    "355a86193634323737373030303240696d732e6578616d706c652e6e7a";

// An IRI hash integrity check from OpenLI (integrity_HI2 capture, PDU 3).
constexpr std::string_view kOpenLiIntegrity =
    "30820096a158800704000202050111810a4c454d46564f4950303182024e5aa322a016800a4c454d4654455354"
    "4f5081086c656d66636f6c6c81041ba87b7a82024e5a840101851332303236313132383230343333372e353136"
    "5a880101a23aa238a036a0090201000201010201028101018201018320214c4d8d9bb91b84475ec81f6ca8406a"
    "864de1bda210a88242212221801e3ad2840102";

TEST(DecodePsPdu, OpenLiKeepalive) {
  const std::vector<std::byte> frame = Hex(kOpenLiKeepalive);
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  EXPECT_THAT(pdu.header.domain_id, ElementsAre(0, 4, 0, 2, 2, 5, 1, 17));
  EXPECT_EQ(pdu.header.liid, "openli-1.1.20");
  EXPECT_EQ(pdu.header.authorization_country_code, "NZ");
  EXPECT_EQ(pdu.header.operator_id, "LEMFTESTOP");
  EXPECT_EQ(pdu.header.network_element_id, "med-6001");
  EXPECT_EQ(pdu.header.cin, 0u);
  EXPECT_EQ(pdu.header.delivery_country_code, "NZ");
  EXPECT_EQ(pdu.header.sequence_number, 6u);
  EXPECT_TRUE(pdu.header.microsecond_timestamp);
  EXPECT_EQ(pdu.header.timestamp, base::Timestamp{0x6b0b3cddll * 1000000 + 0x0a027b});
  EXPECT_EQ(pdu.header.timestamp_qualifier, 1);
  EXPECT_EQ(pdu.header.interception_point_id, "");
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kKeepalive);
  EXPECT_EQ(pdu.items[0].service, Service::kNone);
  EXPECT_EQ(pdu.skipped_unknown, 0u);
  EXPECT_EQ(pdu.encoding.data(), frame.data());
  EXPECT_EQ(pdu.encoding.size(), frame.size());
}

TEST(DecodePsPdu, OpenLiIpIri) {
  const std::vector<std::byte> frame = Hex(kOpenLiIpIri);
  PsPdu pdu;
  absl::Status s = DecodePsPdu(frame, pdu);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(pdu.header.liid, "LEMFIP0001");
  EXPECT_EQ(pdu.header.network_element_id, "lemfcoll");
  EXPECT_EQ(pdu.header.cin, 7u);
  EXPECT_EQ(pdu.header.sequence_number, 0u);
  EXPECT_FALSE(pdu.header.microsecond_timestamp);
  EXPECT_EQ(pdu.header.timestamp, Gt("20261128203948.545Z"));
  EXPECT_EQ(pdu.header.interception_point_id, "ip01");
  ASSERT_EQ(pdu.items.size(), 1u);
  const PayloadItem& item = pdu.items[0];
  EXPECT_EQ(item.kind, Kind::kIriBegin);
  EXPECT_EQ(item.service, Service::kIpAccess);
  EXPECT_EQ(Attr(item, "ip.event"), "startOfInterceptionWithSessionActive");
  EXPECT_EQ(Attr(item, "ip.username"), "staticuser01");
  EXPECT_EQ(Attr(item, "ip.access_type"), "lAN");
  EXPECT_EQ(Attr(item, "ip.version"), "ipv4");
  EXPECT_EQ(Attr(item, "ip.target"), "192.168.50.5");
  EXPECT_EQ(Attr(item, "ip.target_prefix"), "32");
  EXPECT_THAT(item.parties, ElementsAre(Party{.role = PartyRole::kTarget, .id = "staticuser01"}));
  EXPECT_EQ(pdu.skipped_unknown, 0u);
}

TEST(DecodePsPdu, OpenLiHi1Activated) {
  const std::vector<std::byte> frame = Hex(kOpenLiHi1);
  PsPdu pdu;
  absl::Status s = DecodePsPdu(frame, pdu);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(pdu.header.liid, "LEMFVOIP02");
  EXPECT_EQ(pdu.header.cin, 0u);
  EXPECT_EQ(pdu.header.network_element_id, "");
  ASSERT_EQ(pdu.items.size(), 1u);
  const PayloadItem& item = pdu.items[0];
  EXPECT_EQ(item.kind, Kind::kHi1Operation);
  EXPECT_THAT(item.attributes,
              ElementsAre(Pair("hi1.operation", "activated"), Pair("hi1.liid", "LEMFVOIP02"),
                          Pair("hi1.operator_id", "LEMFT"),
                          Pair("hi1.target", "6427770002@ims.example.nz")));
  EXPECT_EQ(item.timestamp, Gt("20261128204015Z"));  // UTCTime 261128204015Z
}

TEST(DecodePsPdu, OpenLiIntegrityCheck) {
  const std::vector<std::byte> frame = Hex(kOpenLiIntegrity);
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  EXPECT_EQ(pdu.header.cin, 0x1ba87b7au);
  EXPECT_EQ(pdu.header.sequence_number, 1u);
  ASSERT_EQ(pdu.items.size(), 1u);
  ASSERT_EQ(pdu.items[0].kind, Kind::kIntegrityCheck);
  ASSERT_TRUE(pdu.items[0].integrity.has_value());
  const IntegrityCheck& ic = *pdu.items[0].integrity;
  EXPECT_THAT(ic.sequence_numbers, ElementsAre(0, 1, 2));
  EXPECT_EQ(ic.check_type, 1);
  EXPECT_EQ(ic.data_type, 1);
  EXPECT_EQ(ic.hash_algorithm, 2);
  EXPECT_EQ(ic.signature_algorithm, 0);
  EXPECT_EQ(base::ToHex(ic.check_value),
            "214c4d8d9bb91b84475ec81f6ca8406a864de1bda210a88242212221801e3ad2");
}

// ---------------------------------------------------------------------------------------------
// Round trips through the encoder.

PsHeader SampleHeader() {
  PsHeader h;
  h.liid = "LIID-42";
  h.authorization_country_code = "NL";
  h.operator_id = "OP1";
  h.network_element_id = "ne-7";
  h.cin = 4000000000u;
  h.delivery_country_code = "DE";
  h.sequence_number = 0xfffffffeu;
  h.timestamp = Gt("20261128203948.545Z");
  h.interception_point_id = "ip02";
  h.timestamp_qualifier = 2;
  return h;
}

void ExpectHeaderEq(const PsHeader& got, const PsHeader& want) {
  EXPECT_THAT(got.domain_id, ElementsAre(0, 4, 0, 2, 2, 5, 1, 43));
  EXPECT_EQ(got.liid, want.liid);
  EXPECT_EQ(got.authorization_country_code, want.authorization_country_code);
  EXPECT_EQ(got.operator_id, want.operator_id);
  EXPECT_EQ(got.network_element_id, want.network_element_id);
  EXPECT_EQ(got.cin, want.cin);
  EXPECT_EQ(got.delivery_country_code, want.delivery_country_code);
  EXPECT_EQ(got.sequence_number, want.sequence_number);
  EXPECT_EQ(got.timestamp, want.timestamp);
  EXPECT_EQ(got.interception_point_id, want.interception_point_id);
  EXPECT_EQ(got.timestamp_qualifier, want.timestamp_qualifier);
}

class RoundTrip : public ::testing::TestWithParam<ber::LengthForm> {
 protected:
  EncodeOptions Options(bool micro = false) {
    return {.length_form = GetParam(), .microsecond_timestamp = micro};
  }
};

TEST_P(RoundTrip, IpIri) {
  const PsHeader h = SampleHeader();
  const std::vector<std::byte> frame =
      EncodeIriPdu(h,
                   {.kind = Kind::kIriEnd,
                    .timestamp = Gt("20261128203950.000123Z"),
                    .direction = Direction::kToTarget,
                    .contents =
                        [](ber::Writer& w) {
                          ipaccess::WriteIri(w, {.event = ipaccess::AccessEvent::kAccessEnd,
                                                 .target_username = "bob",
                                                 .access_type = ipaccess::InternetAccessType::kFttx,
                                                 .ip_version = ipaccess::IpVersion::kV6,
                                                 .target_ip = "2001:db8::5",
                                                 .target_prefix_len = 64});
                        }},
                   Options());
  PsPdu pdu;
  absl::Status s = DecodePsPdu(frame, pdu);
  ASSERT_TRUE(s.ok()) << s;
  ExpectHeaderEq(pdu.header, h);
  EXPECT_FALSE(pdu.header.microsecond_timestamp);
  ASSERT_EQ(pdu.items.size(), 1u);
  const PayloadItem& item = pdu.items[0];
  EXPECT_EQ(item.kind, Kind::kIriEnd);
  EXPECT_EQ(item.direction, Direction::kToTarget);
  EXPECT_EQ(item.timestamp, Gt("20261128203950.000123Z"));
  EXPECT_EQ(Attr(item, "ip.event"), "accessEnd");
  EXPECT_EQ(Attr(item, "ip.target"), "2001:db8::5");
  EXPECT_EQ(Attr(item, "ip.target_prefix"), "64");
  EXPECT_EQ(Attr(item, "ip.version"), "ipv6");
  EXPECT_EQ(Attr(item, "ip.access_type"), "fTTx");
  EXPECT_EQ(pdu.skipped_unknown, 0u);
}

TEST_P(RoundTrip, IpCcMicrosecond) {
  PsHeader h = SampleHeader();
  h.timestamp = base::Timestamp{1795898589655995};
  const std::string packet = "\x45\x00\x00\x14 fake ip packet";
  const std::vector<std::byte> frame = EncodeCcPdu(
      h,
      {.direction = Direction::kFromTarget,
       .timestamp = base::Timestamp{1795898589000001},
       .contents = [&](ber::Writer& w) { ipaccess::WriteCc(w, base::AsBytes(packet)); }},
      Options(/*micro=*/true));
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  ExpectHeaderEq(pdu.header, h);
  EXPECT_TRUE(pdu.header.microsecond_timestamp);
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kCc);
  EXPECT_EQ(pdu.items[0].service, Service::kIpAccess);
  EXPECT_EQ(pdu.items[0].direction, Direction::kFromTarget);
  EXPECT_EQ(pdu.items[0].timestamp, base::Timestamp{1795898589000001});
  EXPECT_EQ(base::AsString(pdu.items[0].content), packet);
}

TEST_P(RoundTrip, EveryNullTriKind) {
  for (Kind k : {Kind::kKeepalive, Kind::kKeepaliveResponse, Kind::kTestPdu, Kind::kFirstSegment,
                 Kind::kLastSegment, Kind::kCinReset, Kind::kOptionComplete, Kind::kAckRequest,
                 Kind::kAckResponse}) {
    const std::vector<std::byte> frame = EncodeTriPdu(SampleHeader(), k, Options());
    PsPdu pdu;
    ASSERT_TRUE(DecodePsPdu(frame, pdu).ok()) << KindName(k);
    ExpectHeaderEq(pdu.header, SampleHeader());
    ASSERT_EQ(pdu.items.size(), 1u);
    EXPECT_EQ(pdu.items[0].kind, k) << KindName(k);
  }
}

TEST_P(RoundTrip, IntegrityCheck) {
  IntegrityCheck ic;
  ic.sequence_numbers = {0, 1, 0xffffffffu};
  ic.check_type = 2;
  ic.data_type = 2;
  ic.signature_algorithm = 2;
  const std::string sig = "signature bytes";
  ic.check_value = base::AsBytes(sig);
  const std::vector<std::byte> frame = EncodeIntegrityPdu(SampleHeader(), ic, Options());
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  ASSERT_TRUE(pdu.items[0].integrity.has_value());
  const IntegrityCheck& got = *pdu.items[0].integrity;
  EXPECT_THAT(got.sequence_numbers, ElementsAre(0, 1, 0xffffffffu));
  EXPECT_EQ(got.check_type, 2);
  EXPECT_EQ(got.data_type, 2);
  EXPECT_EQ(got.hash_algorithm, 0);
  EXPECT_EQ(got.signature_algorithm, 2);
  EXPECT_EQ(base::AsString(got.check_value), sig);
}

// kLong3 and kIndefinite lengths decode to exactly what the minimal (DER) form decodes to.
TEST_P(RoundTrip, LengthFormsDecodeIdentically) {
  auto contents = [](ber::Writer& w) {
    ipaccess::WriteIri(w, {.event = ipaccess::AccessEvent::kAccessAccept,
                           .target_username = "alice",
                           .target_ip = "10.1.2.3",
                           .target_prefix_len = 24,
                           .pop_identifier = "pop-1",
                           .start_time = Gt("20260101000000Z"),
                           .octets_received = 1ull << 40});
  };
  const PsHeader h = SampleHeader();
  const std::vector<std::byte> minimal =
      EncodeIriPdu(h, {.kind = Kind::kIriBegin, .contents = contents}, {});
  const std::vector<std::byte> other =
      EncodeIriPdu(h, {.kind = Kind::kIriBegin, .contents = contents}, Options());
  PsPdu a, b;
  ASSERT_TRUE(DecodePsPdu(minimal, a).ok());
  ASSERT_TRUE(DecodePsPdu(other, b).ok());
  ExpectHeaderEq(b.header, a.header);
  ASSERT_EQ(a.items.size(), 1u);
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(a.items[0].kind, b.items[0].kind);
  EXPECT_EQ(a.items[0].attributes, b.items[0].attributes);
  EXPECT_EQ(a.items[0].parties, b.items[0].parties);
  EXPECT_EQ(Attr(b.items[0], "ip.target"), "10.1.2.3");
  EXPECT_EQ(Attr(b.items[0], "ip.target_prefix"), "24");
  EXPECT_EQ(Attr(b.items[0], "ip.pop_id"), "pop-1");
  EXPECT_EQ(Attr(b.items[0], "ip.start_time"), "2026-01-01T00:00:00.000000Z");
  EXPECT_EQ(Attr(b.items[0], "ip.octets_received"), "1099511627776");
  if (GetParam() != ber::LengthForm::kMinimal) {
    EXPECT_NE(minimal, other);
  }
}

INSTANTIATE_TEST_SUITE_P(LengthForms, RoundTrip,
                         ::testing::Values(ber::LengthForm::kMinimal, ber::LengthForm::kLong3,
                                           ber::LengthForm::kIndefinite));

TEST(EncodeKeepaliveResponse, EchoesHeaderAndSequenceNumber) {
  PsPdu ka;
  const std::vector<std::byte> frame = Hex(kOpenLiKeepalive);
  ASSERT_TRUE(DecodePsPdu(frame, ka).ok());
  const std::vector<std::byte> resp = EncodeKeepaliveResponse(ka.header);
  PsPdu r;
  ASSERT_TRUE(DecodePsPdu(resp, r).ok());
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].kind, Kind::kKeepaliveResponse);
  EXPECT_EQ(r.header.sequence_number, 6u);
  EXPECT_EQ(r.header.liid, "openli-1.1.20");
  EXPECT_EQ(r.header.domain_id, ka.header.domain_id);
  EXPECT_EQ(r.header.cin, 0u);
  EXPECT_EQ(r.header.operator_id, "LEMFTESTOP");
  EXPECT_EQ(r.header.network_element_id, "med-6001");
  EXPECT_EQ(r.header.timestamp, ka.header.timestamp);
  EXPECT_TRUE(r.header.microsecond_timestamp);
  // Byte for byte: the keep-alive with [3] keep-alive replaced by [4] keep-aliveResponse (the
  // mediator's encoding is already minimal here).
  std::vector<std::byte> expected = frame;
  ASSERT_EQ(expected[expected.size() - 2], std::byte{0x83});
  expected[expected.size() - 2] = std::byte{0x84};
  EXPECT_EQ(base::ToHex(resp), base::ToHex(expected));
}

// ---------------------------------------------------------------------------------------------
// Payload alternatives built by hand.

// A PS-PDU with the given payload alternative TLV (hex) inside payload [2].
std::vector<std::byte> WithPayload(std::string_view alt_hex, const PsHeader& h = SampleHeader()) {
  const std::vector<std::byte> alt = Hex(alt_hex);
  ber::Writer w;
  w.Begin(ber::Univ(ber::kSequence, true));
  // Reuse the encoder's header by encoding a keep-alive and copying its [1] element.
  const std::vector<std::byte> ka = EncodeTriPdu(h, Kind::kKeepalive);
  ber::Context ctx;
  ber::Reader top(ka, ctx);
  ber::Tlv pdu, header;
  EXPECT_TRUE(top.Next(pdu).ok());
  ber::Reader fields = top.Enter(pdu).value();
  EXPECT_TRUE(fields.Next(header).ok());
  w.AddRaw(header.encoding);
  w.Begin(ber::Ctx(2, true));
  w.AddRaw(alt);
  w.End();
  w.End();
  return w.Take();
}

TEST(DecodePsPdu, RecognisedIriAlternativesAreNotDecoded) {
  struct Case {
    std::string_view hex;  // IRIContents alternative
    Service service;
  };
  for (const Case& c :
       {Case{"a103040101", Service::kEmail}, Case{"a403040101", Service::kUmts},
        Case{"a603040101", Service::kL2}, Case{"ae03040101", Service::kMessaging},
        Case{"af03040101", Service::kEps}, Case{"b303040101", Service::kThreeGpp33128},
        Case{"b003040101", Service::kOther}}) {
    // iRIPayloadSequence [0] { IRIPayload { iRIType [0] 4, iRIContents [2] { alt } } }
    const std::string iri = base::StrCat("a00c300a800104a205", c.hex);
    PsPdu pdu;
    absl::Status s = DecodePsPdu(Keep(WithPayload(iri)), pdu);
    ASSERT_TRUE(s.ok()) << c.hex << " " << s;
    ASSERT_EQ(pdu.items.size(), 1u);
    EXPECT_EQ(pdu.items[0].kind, Kind::kIriReport);
    EXPECT_EQ(pdu.items[0].service, c.service) << c.hex;
    EXPECT_EQ(base::ToHex(pdu.items[0].content), "040101");
    EXPECT_EQ(pdu.skipped_unknown, 0u);
  }
}

TEST(DecodePsPdu, UnknownIriAlternativeIsCounted) {
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a00a3008a206bf1e03040101")), pdu).ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kIri);  // no iRIType
  EXPECT_EQ(pdu.items[0].service, Service::kUnknown);
  EXPECT_EQ(pdu.skipped_unknown, 1u);
}

TEST(DecodePsPdu, AggregatedIriPayloadsGiveOneItemEach) {
  // Two IRIPayloads: a recognised email IRI with a per-item microSecondTimeStamp and direction,
  // and a UMTS IRI with an unknown extension field [9].
  PsPdu pdu;
  absl::Status s = DecodePsPdu(WithPayload("a0273017800101a205a103040101a3088001018103000002860100"
                                           "300c800102a205a4030401018900"),
                               pdu);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(pdu.items.size(), 2u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kIriBegin);
  EXPECT_EQ(pdu.items[0].service, Service::kEmail);
  EXPECT_EQ(pdu.items[0].timestamp, base::Timestamp{1000002});
  EXPECT_EQ(pdu.items[0].direction, Direction::kFromTarget);
  EXPECT_EQ(pdu.items[1].kind, Kind::kIriEnd);
  EXPECT_EQ(pdu.items[1].service, Service::kUmts);
  EXPECT_EQ(pdu.skipped_unknown, 1u);
}

TEST(DecodePsPdu, RecognisedCcAlternatives) {
  for (auto [hex, service] :
       {std::pair{"a103040101", Service::kEmail}, std::pair{"8403010203", Service::kUmts},
        std::pair{"8f03010203", Service::kEps}, std::pair{"b703040101", Service::kThreeGpp33128}}) {
    // cCPayloadSequence [1] { CCPayload { payloadDirection [0] 1, cCContents [2] { alt } } }
    PsPdu pdu;
    ASSERT_TRUE(DecodePsPdu(Keep(WithPayload(base::StrCat("a10c300a800101a205", hex))), pdu).ok())
        << hex;
    ASSERT_EQ(pdu.items.size(), 1u);
    EXPECT_EQ(pdu.items[0].kind, Kind::kCc);
    EXPECT_EQ(pdu.items[0].service, service);
    EXPECT_EQ(pdu.items[0].direction, Direction::kToTarget);
    EXPECT_EQ(pdu.items[0].content.size(), 3u);
  }
}

TEST(DecodePsPdu, ServiceDecoderErrorsFailThePduWithContext) {
  // Primitive alternatives where the service modules want a SEQUENCE: whatever state those
  // decoders are in, the PDU fails and the message names the alternative.
  struct Case {
    std::string_view payload;
    std::string_view context;
  };
  for (const Case& c : {Case{"a0083006a2048b020000", "li_ps: iPMMIRI"},
                        Case{"a0083006a20485020000", "li_ps: eTSI671IRI"},
                        Case{"a0083006a2048a020000", "li_ps: pstnIsdnIRI"},
                        Case{"a0083006a20482020000", "li_ps: IPAccess IRI"},
                        Case{"a1083006a2048c020000", "li_ps: iPMMCC"},
                        Case{"a1083006a2048b020000", "li_ps: pstnIsdnCC"},
                        Case{"a1083006a20482020000", "li_ps: iPCC"}}) {
    PsPdu pdu;
    absl::Status s = DecodePsPdu(Keep(WithPayload(c.payload)), pdu);
    EXPECT_FALSE(s.ok()) << c.payload;
    EXPECT_THAT(std::string(base::View(s.message())), HasSubstr(std::string(c.context)));
  }
}

TEST(DecodePsPdu, OperatorMessageAndOptions) {
  PsPdu pdu;
  // tRIPayload { operatorLeaMessage [8] { messagePriority [0] 1, message [1] "disk full" } }
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a210a80e80010181096469736b2066756c6c")), pdu).ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kOperatorMessage);
  EXPECT_EQ(Attr(pdu.items[0], "operator.priority"), "error");
  EXPECT_EQ(base::AsString(pdu.items[0].content), "disk full");
  EXPECT_EQ(Attr(pdu.items[0], "operator.message"), "disk full");

  // optionRequest [9] { requestedOptions [0] { pDUAcknowledgement [0] NULL } }
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a206a904a0028000")), pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionRequest);
  EXPECT_EQ(Attr(pdu.items[0], "option.requested"), "pDUAcknowledgement");

  // optionResponse [10] { acceptedOptions [0] {}, declinedOptions [1] { [0] NULL } }
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a208aa06a000a1028000")), pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionResponse);
  EXPECT_THAT(pdu.items[0].attributes, ElementsAre(Pair("option.declined", "pDUAcknowledgement")));

  // paddingPDU [2]
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a2048202abcd")), pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kPadding);
  EXPECT_EQ(base::ToHex(pdu.items[0].content), "abcd");

  // Unknown TRI alternative [20]: counted, not fatal.
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a2029400")), pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kUnknown);
  EXPECT_EQ(pdu.skipped_unknown, 1u);

  // A NULL alternative with content is malformed.
  EXPECT_FALSE(DecodePsPdu(Keep(WithPayload("a203830100")), pdu).ok());
}

TEST(DecodePsPdu, Hi1AlarmAndDeactivation) {
  PsPdu pdu;
  // hI1-Operation [3] { alarms-indicator [4] { timeStamp [2] { utcTime [1] "991231235959Z" },
  //   alarm-information [3] "link down", lawfulInterceptionIdentifier [4] "L1" } }
  ASSERT_TRUE(
      DecodePsPdu(Keep(WithPayload("a322a420a20f810d3939313233313233353935395a83096c696e6b2064"
                                   "6f776e84024c31")),
                  pdu)
          .ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kHi1Operation);
  EXPECT_THAT(pdu.items[0].attributes,
              ElementsAre(Pair("hi1.operation", "alarm"), Pair("hi1.alarm", "link down"),
                          Pair("hi1.liid", "L1")));
  EXPECT_EQ(pdu.items[0].timestamp, Gt("19991231235959Z"));

  // liDeactivated [2] { LIID [1] "L2", timeStamp [3] { localTime [0] { [0] GeneralizedTime } } }
  ASSERT_TRUE(
      DecodePsPdu(Keep(WithPayload("a31ba21981024c32a313a011800f32303236303130313030303030305a")),
                  pdu)
          .ok());
  EXPECT_THAT(pdu.items[0].attributes,
              ElementsAre(Pair("hi1.operation", "deactivated"), Pair("hi1.liid", "L2")));
  EXPECT_EQ(pdu.items[0].timestamp, Gt("20260101000000Z"));
}

TEST(DecodePsPdu, EncryptionContainerAndOtherPayloads) {
  PsPdu pdu;
  // encryptionContainer [4] { encryptionType [0] aES-256-CBC(4), encryptedPayload [1] 0xdeadbeef,
  //   encryptedPayloadType [2] part5(5) }
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a40c8001048104deadbeef820105")), pdu).ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kEncrypted);
  EXPECT_EQ(base::ToHex(pdu.items[0].content), "deadbeef");
  EXPECT_EQ(Attr(pdu.items[0], "encryption.type"), "aES-256-CBC");
  EXPECT_EQ(Attr(pdu.items[0], "encryption.payload_type"), "part5");

  for (auto [hex, kind] : {std::pair{"a5028000", Kind::kThreeGppHi1Operation},
                           std::pair{"a6028000", Kind::kIlhi}, std::pair{"a7028000", Kind::kHi4}}) {
    ASSERT_TRUE(DecodePsPdu(Keep(WithPayload(hex)), pdu).ok()) << hex;
    ASSERT_EQ(pdu.items.size(), 1u);
    EXPECT_EQ(pdu.items[0].kind, kind);
    EXPECT_EQ(base::ToHex(pdu.items[0].content), "8000");
    EXPECT_EQ(pdu.skipped_unknown, 0u);
  }
  ASSERT_TRUE(DecodePsPdu(Keep(WithPayload("a8028000")), pdu).ok());  // unknown Payload [8]
  EXPECT_EQ(pdu.items[0].kind, Kind::kUnknown);
  EXPECT_EQ(pdu.skipped_unknown, 1u);
}

TEST(DecodePsPdu, UnknownHeaderExtensionsAreSkippedAndCounted) {
  // The keep-alive with two unknown header fields [20] and [21] (constructed) appended.
  ber::Writer w;
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{0, 4, 0, 2, 2, 5, 1, 43}, false);
  w.AddOctets(ber::Ctx(1), "X");
  w.Begin(ber::Ctx(3, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(0), "OP");
  w.AddOctets(ber::Ctx(2), "eTSI671NEID, known, skipped");
  w.AddOctets(ber::Ctx(9), "unknown");
  w.End();
  w.AddUnsigned(ber::Ctx(1), 5);
  w.End();
  w.AddUnsigned(ber::Ctx(4), 9);
  w.AddOctets(ber::Ctx(20), "future");
  w.Begin(ber::Ctx(21, true));
  w.AddNull(ber::Ctx(0));
  w.End();
  w.End();
  w.Begin(ber::Ctx(2, true));
  w.Begin(ber::Ctx(2, true));
  w.AddNull(ber::Ctx(3));
  w.End();
  w.End();
  w.End();
  const std::vector<std::byte> frame = w.Take();
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  EXPECT_EQ(pdu.header.liid, "X");
  EXPECT_EQ(pdu.header.cin, 5u);
  EXPECT_EQ(pdu.header.sequence_number, 9u);
  EXPECT_FALSE(pdu.header.timestamp.has_value());
  EXPECT_EQ(pdu.skipped_unknown, 3u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kKeepalive);
}

TEST(DecodePsPdu, SegmentedLiidIsJoined) {
  // LIID [1] as a constructed string of two OCTET STRING segments ("LEMF" + "IP01").
  ber::Writer w;
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{0, 4, 0, 2, 2, 5, 1, 43}, false);
  w.Begin(ber::Ctx(1, true));
  w.AddOctets(ber::Univ(ber::kOctetString), "LEMF");
  w.AddOctets(ber::Univ(ber::kOctetString), "IP01");
  w.End();
  w.Begin(ber::Ctx(3, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(0), "OP");
  w.End();
  w.End();
  w.AddUnsigned(ber::Ctx(4), 1);
  w.End();
  w.Begin(ber::Ctx(2, true));
  w.Begin(ber::Ctx(2, true));
  w.AddNull(ber::Ctx(4));
  w.End();
  w.End();
  w.End();
  const std::vector<std::byte> frame = w.Take();
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  EXPECT_EQ(pdu.header.liid, "LEMFIP01");
  EXPECT_EQ(pdu.items[0].kind, Kind::kKeepaliveResponse);
}

TEST(DecodePsPdu, SequenceNumberAbove32BitsFails) {
  ber::Writer w;
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  const uint64_t domain[] = {0, 4, 0, 2, 2, 5, 1, 43};
  w.AddOid(ber::Ctx(0), domain, /*relative=*/false);
  w.AddOctets(ber::Ctx(1), "X");
  w.Begin(ber::Ctx(3, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(0), "OP");
  w.End();
  w.End();
  w.AddUnsigned(ber::Ctx(4), 1ull << 32);
  w.End();
  w.Begin(ber::Ctx(2, true));
  w.Begin(ber::Ctx(2, true));
  w.AddNull(ber::Ctx(3));
  w.End();
  w.End();
  w.End();
  std::vector<std::byte> frame = w.Take();
  PsPdu pdu;
  EXPECT_FALSE(DecodePsPdu(frame, pdu).ok());
  // 2^32 - 1 (`84 05 00 ff ff ff ff`) is fine.
  std::string hex = base::ToHex(frame);
  const size_t at = hex.find("84050100000000");
  ASSERT_NE(at, std::string::npos);
  hex.replace(at, 14, "840500ffffffff");
  ASSERT_TRUE(DecodePsPdu(Keep(Hex(hex)), pdu).ok());
  EXPECT_EQ(pdu.header.sequence_number, 0xffffffffu);
}

TEST(DecodePsPdu, MalformedPdusFail) {
  PsPdu pdu;
  EXPECT_FALSE(DecodePsPdu({}, pdu).ok());
  // Not a SEQUENCE.
  EXPECT_FALSE(DecodePsPdu(Keep(Hex("a000")), pdu).ok());
  // Trailing bytes after the PS-PDU.
  std::vector<std::byte> two = Hex(kOpenLiKeepalive);
  two.push_back(std::byte{0});
  EXPECT_FALSE(DecodePsPdu(two, pdu).ok());
  // No payload.
  EXPECT_FALSE(DecodePsPdu(Keep(Hex("3000")), pdu).ok());
  // microSeconds out of range: {seconds 1, microSeconds 1000000}.
  EXPECT_FALSE(
      DecodePsPdu(Keep(WithPayload("a0133011a205a103040101a30880010181030f4240")), pdu).ok());
  // The same with 999999 decodes.
  EXPECT_TRUE(
      DecodePsPdu(Keep(WithPayload("a0133011a205a103040101a30880010181030f423f")), pdu).ok());
  // Empty iRIPayloadSequence.
  EXPECT_FALSE(DecodePsPdu(Keep(WithPayload("a000")), pdu).ok());
  // IRIPayload without iRIContents.
  EXPECT_FALSE(DecodePsPdu(Keep(WithPayload("a0053003800101")), pdu).ok());
  // CHOICE with two alternatives.
  EXPECT_FALSE(DecodePsPdu(Keep(WithPayload("a20483008400")), pdu).ok());
  // Bad GeneralizedTime in an item.
  EXPECT_FALSE(DecodePsPdu(Keep(WithPayload("a00d300b8103323032a204a1020400")), pdu).ok());
}

TEST(DecodePsPdu, ErrorsNameTheOffset) {
  // The IPIRI's iPBinaryAddress [1] (`81 04 c0a83205`) turned into a constructed SEQUENCE
  // whose "segments" are junk.
  std::string hex(kOpenLiIpIri);
  const size_t at = hex.find("a2068104c0a83205");
  ASSERT_NE(at, std::string::npos);
  hex.replace(at, 16, "a2063004c0a83205");
  PsPdu pdu;
  absl::Status s = DecodePsPdu(Keep(Hex(hex)), pdu);
  ASSERT_FALSE(s.ok());
  // The junk "segment" starts at 150, inside the SEQUENCE at 148.
  EXPECT_THAT(std::string(base::View(s.message())), HasSubstr("at offset 150"));
  EXPECT_THAT(std::string(base::View(s.message())), HasSubstr("li_ps: IPAccess IRI"));
}

// ---------------------------------------------------------------------------------------------
// Robustness: truncation and bit flips.

std::vector<std::vector<std::byte>> Samples() {
  std::vector<std::vector<std::byte>> v = {Hex(kOpenLiKeepalive), Hex(kOpenLiIpIri),
                                           Hex(kOpenLiHi1), Hex(kOpenLiIntegrity)};
  v.push_back(EncodeCcPdu(
      SampleHeader(),
      {.direction = Direction::kToTarget,
       .contents =
           [](ber::Writer& w) { ipaccess::WriteCc(w, base::AsBytes(std::string_view("packet"))); }},
      {.length_form = ber::LengthForm::kIndefinite}));
  return v;
}

TEST(Robustness, EveryTruncationFails) {
  for (const std::vector<std::byte>& frame : Samples()) {
    PsPdu pdu;
    ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
    for (size_t n = 0; n < frame.size(); ++n) {
      absl::Status s = DecodePsPdu(std::span(frame).first(n), pdu);
      EXPECT_FALSE(s.ok()) << "prefix " << n << " of " << frame.size();
    }
  }
}

TEST(Robustness, EveryBitFlipIsHandled) {
  for (const std::vector<std::byte>& original : Samples()) {
    std::vector<std::byte> frame = original;
    PsPdu pdu;
    for (size_t i = 0; i < frame.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        frame[i] ^= std::byte(1 << bit);
        absl::Status s = DecodePsPdu(frame, pdu);  // must not crash (ASan/UBSan builds check)
        if (i < 2) {
          EXPECT_FALSE(s.ok()) << "top-level header byte " << i << " bit " << bit;
        }
        frame[i] ^= std::byte(1 << bit);
      }
    }
  }
}

// A flip in the tag number or class of a mandatory header field (li-psDomainId [0], LIID [1],
// communicationIdentifier [3], sequenceNumber [4]) removes that field: the PDU must fail.
TEST(Robustness, FlippedMandatoryHeaderTagsFail) {
  for (const std::vector<std::byte>& original : Samples()) {
    ber::Context ctx;
    ber::Reader top(original, ctx);
    ber::Tlv pdu_tlv, header;
    ASSERT_TRUE(top.Next(pdu_tlv).ok());
    ber::Reader fields = top.Enter(pdu_tlv).value();
    ASSERT_TRUE(fields.Next(header).ok());
    ber::Reader hf = fields.Enter(header).value();
    int checked = 0;
    while (!hf.AtEnd()) {
      ber::Tlv f;
      ASSERT_TRUE(hf.Next(f).ok());
      if (!(f.IsContext(0) || f.IsContext(1) || f.IsContext(3) || f.IsContext(4))) continue;
      for (int bit : {0, 1, 2, 3, 4, 6, 7}) {
        std::vector<std::byte> frame = original;
        frame[f.offset] ^= std::byte(1 << bit);
        PsPdu pdu;
        EXPECT_FALSE(DecodePsPdu(frame, pdu).ok()) << "tag at " << f.offset << " bit " << bit;
      }
      ++checked;
    }
    EXPECT_EQ(checked, 4);
  }
}

// In the 82 hh ll form (OpenLI's habit) of a PDU shorter than 256 bytes, raising any bit of the
// high length octet makes the element overrun its parent: the PDU must fail.
TEST(Robustness, GrownLongFormLengthsFail) {
  const std::vector<std::byte> original =
      EncodeTriPdu(SampleHeader(), Kind::kKeepalive, {.length_form = ber::LengthForm::kLong3});
  ASSERT_LT(original.size(), 256u);
  int checked = 0;
  for (size_t i = 0; i + 2 < original.size(); ++i) {
    if (original[i] != std::byte{0x82} || original[i + 1] != std::byte{0x00}) continue;
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::byte> frame = original;
      frame[i + 1] ^= std::byte(1 << bit);
      PsPdu pdu;
      EXPECT_FALSE(DecodePsPdu(frame, pdu).ok()) << "length at " << i << " bit " << bit;
    }
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(Robustness, DepthAndElementLimitsHold) {
  PsPdu pdu;
  DecodeOptions tight;
  tight.limits.max_elements = 10;
  absl::Status s = DecodePsPdu(Keep(Hex(kOpenLiIpIri)), pdu, tight);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  DecodeOptions shallow;
  shallow.limits.max_depth = 3;
  s = DecodePsPdu(Keep(Hex(kOpenLiIpIri)), pdu, shallow);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
}

TEST(DecodePsPdu, ReusedPduIsReset) {
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(Keep(Hex(kOpenLiIpIri)), pdu).ok());
  ASSERT_TRUE(DecodePsPdu(Keep(Hex(kOpenLiKeepalive)), pdu).ok());
  EXPECT_EQ(pdu.header.interception_point_id, "");
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_TRUE(pdu.items[0].attributes.empty());
  EXPECT_TRUE(pdu.items[0].parties.empty());
  EXPECT_EQ(pdu.items[0].service, Service::kNone);
  EXPECT_EQ(pdu.header.domain_id.size(), 8u);
}

}  // namespace
}  // namespace tapvault::proto::li_ps
