#include "proto/hi2ops/hi2ops.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "base/time.h"
#include "ber/writer.h"
#include "proto/hi2ops/hi2ops_encode.h"

namespace tapvault::proto::hi2ops {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::byte> Hex(std::string_view hex) {
  auto b = base::FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(std::vector<std::byte>{});
}
std::string HexOf(std::string_view s) { return base::ToHex(base::AsBytes(s)); }

Party P(PartyRole role, std::string id, NumberNature n = NumberNature::kNotGiven) {
  return Party{role, std::move(id), n};
}

// ---- Number formats: hand-computed vectors ----

TEST(IsupNumber, InternationalOddCalled) {
  // Q.763 3.9: O/E=1, NAI=4 -> 0x84; INN=0, NPI=001 -> 0x10; digits 3,1 -> 0x13 ... 7+filler.
  EXPECT_EQ(HexOf(EncodeIsupNumber("31201234567", NumberNature::kInternational, false, false)),
            "8410130221436507");
  auto n = DecodeIsupNumber(Hex("8410130221436507"), IsupLayout::kCalled);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->digits, "31201234567");
  EXPECT_EQ(n->nature, NumberNature::kInternational);
  EXPECT_EQ(n->numbering_plan, 1);
  EXPECT_FALSE(n->presentation_restricted);
}

TEST(IsupNumber, EveryNature) {
  struct V {
    std::string_view hex, digits;
    NumberNature nature;
  } vectors[] = {
      {"0310022143", "201234", NumberNature::kNational},  // NAI 3, even
      {"0210602143658"
       "7",
       "0612345678", NumberNature::kUnknown},                // NAI 2, even
      {"05102133", "1233", NumberNature::kNetworkSpecific},  // NAI 5
      {"8110214365"
       "07",
       "1234567", NumberNature::kSubscriber},  // NAI 1, odd: filler 0
  };
  for (const V& v : vectors) {
    auto n = DecodeIsupNumber(Hex(v.hex), IsupLayout::kCalled);
    ASSERT_TRUE(n.ok()) << v.hex << ": " << n.status();
    EXPECT_EQ(n->digits, v.digits) << v.hex;
    EXPECT_EQ(n->nature, v.nature) << v.hex;
    EXPECT_EQ(HexOf(EncodeIsupNumber(v.digits, v.nature, false, false)), v.hex);
  }
}

TEST(IsupNumber, Code11And12AndEndOfPulsing) {
  // "*31#": nibbles B,3,1,C -> 0x3B 0xC1 (even).
  EXPECT_EQ(HexOf(EncodeIsupNumber("*31#", NumberNature::kUnknown, false, false)), "02103bc1");
  auto n = DecodeIsupNumber(Hex("02103bc1"), IsupLayout::kCalled);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "*31#");
  // "123" then ST (1111): four signals, even.
  n = DecodeIsupNumber(Hex("041021f3"), IsupLayout::kCalled);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "123");
}

TEST(IsupNumber, CallingPresentationRestrictedKeepsDigits) {
  // Calling: octet 2 = NI 0, NPI 001, APRI 01, screening 01 -> 0x15.
  EXPECT_EQ(HexOf(EncodeIsupNumber("201234", NumberNature::kNational, true, true)), "0315022143");
  auto n = DecodeIsupNumber(Hex("0315022143"), IsupLayout::kCalling);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "201234");
  EXPECT_TRUE(n->presentation_restricted);
  // The same octet read as a called party number (INN/spare): no APRI.
  n = DecodeIsupNumber(Hex("0315022143"), IsupLayout::kCalled);
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->presentation_restricted);
}

TEST(IsupNumber, AddressNotAvailableAndGeneric) {
  auto n = DecodeIsupNumber(Hex("0218"), IsupLayout::kCalling);  // APRI 10, no digits
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->address_not_available);
  EXPECT_EQ(n->digits, "");
  n = DecodeIsupNumber(Hex("06841113022143650"
                           "7"),
                       IsupLayout::kGeneric);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "31201234567");
}

TEST(IsupNumber, Malformed) {
  EXPECT_FALSE(DecodeIsupNumber(Hex(""), IsupLayout::kCalling).ok());
  EXPECT_FALSE(DecodeIsupNumber(Hex("84"), IsupLayout::kCalling).ok());
  EXPECT_FALSE(DecodeIsupNumber(Hex("8410"), IsupLayout::kCalling).ok());  // odd, no digits
  EXPECT_FALSE(DecodeIsupNumber(Hex("8410"), IsupLayout::kGeneric).ok());
}

TEST(Dss1Number, TypesOfNumber) {
  struct V {
    std::string_view hex;
    NumberNature nature;
  } vectors[] = {
      {"81313132", NumberNature::kUnknown},    {"91313132", NumberNature::kInternational},
      {"a1313132", NumberNature::kNational},   {"b1313132", NumberNature::kNetworkSpecific},
      {"c1313132", NumberNature::kSubscriber}, {"e1313132", NumberNature::kAbbreviated},
  };
  for (const V& v : vectors) {
    auto n = DecodeDss1Number(Hex(v.hex));
    ASSERT_TRUE(n.ok()) << v.hex;
    EXPECT_EQ(n->digits, "112");
    EXPECT_EQ(n->nature, v.nature) << v.hex;
    EXPECT_EQ(HexOf(EncodeDss1Number("112", v.nature, false, false)), v.hex);
  }
}

TEST(Dss1Number, Octet3aPresentationRestricted) {
  // Octet 3: ext 0, TON 001, NPI 0001 -> 0x11; 3a: ext 1, PI 01, screening 00 -> 0xa0.
  EXPECT_EQ(HexOf(EncodeDss1Number("3120", NumberNature::kInternational, true, true)),
            "11a033313230");
  auto n = DecodeDss1Number(Hex("11a033313230"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "3120");
  EXPECT_EQ(n->nature, NumberNature::kInternational);
  EXPECT_TRUE(n->presentation_restricted);
  // Redirecting number (Q.952): 3, 3a, 3b (reason) before the digits.
  n = DecodeDss1Number(Hex("2100813132"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "12");
  EXPECT_FALSE(n->presentation_restricted);
  EXPECT_FALSE(DecodeDss1Number(Hex("11")).ok());  // 3a missing
  EXPECT_FALSE(DecodeDss1Number(Hex("")).ok());
  EXPECT_FALSE(DecodeDss1Number(Hex("9131ff")).ok());  // not IA5 text
}

TEST(MapNumber, AddressStringAndTbcd) {
  EXPECT_EQ(HexOf(EncodeAddressString("31201234567", NumberNature::kInternational)),
            "9113022143"
            "65f7");
  auto n = DecodeAddressString(Hex("911302214365f7"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "31201234567");
  EXPECT_EQ(n->nature, NumberNature::kInternational);
  n = DecodeAddressString(Hex("a16021436587"));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->digits, "0612345678");
  EXPECT_EQ(n->nature, NumberNature::kNational);
  // IMSI 204080123456789: (2,0)(4,0)(8,0)(1,2)(3,4)(5,6)(7,8)(9,F).
  EXPECT_EQ(HexOf(EncodeTbcd("204080123456789")),
            "0204082143658"
            "7f9");
  auto d =
      DecodeTbcd(Hex("020408214365"
                     "87f9"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "204080123456789");
  d = DecodeTbcd(Hex("1a2b"));  // '*' = 1010, '#' = 1011, low nibble first
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, "*1#2");
  EXPECT_FALSE(DecodeTbcd(Hex("f121")).ok());  // filler before the end
  EXPECT_FALSE(DecodeAddressString(Hex("")).ok());
}

// ---- Whole IRI ----

base::Timestamp T(std::string_view rfc3339) { return base::ParseRfc3339(rfc3339).value(); }

struct Decoded {
  absl::Status status;
  PsPdu pdu;
  PayloadItem item;
};

Decoded DecodeBytes(const std::vector<std::byte>& bytes, Kind kind = Kind::kIri) {
  Decoded d;
  ber::Context ctx;
  auto tlv = ber::ReadSingle(bytes, ctx);
  if (!tlv.ok()) {
    d.status = tlv.status();
    return d;
  }
  d.item.kind = kind;
  d.status = DecodeIri(*tlv, ctx, d.pdu, d.item);
  return d;
}

std::vector<std::byte> Encode(const Hi2IriSpec& spec,
                              ber::LengthForm form = ber::LengthForm::kMinimal) {
  ber::Writer w(form);
  WriteIri(w, spec);
  return w.Take();
}

TEST(Hi2IriEncode, HandComputedVector) {
  Hi2IriSpec spec{.kind = Kind::kIriReport,
                  .carrier = Carrier::kIriParameters,
                  .liid = "L",
                  .operator_id = "OP",
                  .timestamp = T("2026-11-28T20:39:48Z"),
                  .utc_time = true,
                  .write_domain_id = false};
  // a5 1e { a0 1c { 81 01 'L'  a2 06 { a1 04 { 80 02 'OP' } }  a3 0f { 81 0d "261128203948Z" } } }
  EXPECT_EQ(base::ToHex(Encode(spec)),
            "a51ea01c81014ca206a10480024f50a30f810d" + HexOf("261128203948Z"));
  Decoded d = DecodeBytes(Encode(spec), Kind::kIriReport);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.item.service, Service::kHi2Ops);
  EXPECT_EQ(d.item.kind, Kind::kIriReport);
  EXPECT_EQ(d.item.timestamp, T("2026-11-28T20:39:48Z"));
  EXPECT_THAT(d.item.attributes, Contains(Pair("hi2ops.liid", "L")));
  EXPECT_THAT(d.item.attributes, Contains(Pair("hi2ops.operator_id", "OP")));
  EXPECT_TRUE(d.item.parties.empty());
  EXPECT_EQ(d.pdu.skipped_unknown, 0u);
}

Hi2IriSpec FullSpec() {
  Hi2IriSpec spec{.kind = Kind::kIriBegin,
                  .liid = "LIID-7",
                  .cin = "12345678",
                  .operator_id = "OP1",
                  .network_element_e164 = "31201110000",
                  .timestamp = T("2026-11-28T20:39:48.545Z"),
                  .direction = CallDirection::kOriginatingTarget,
                  .call_state = 2};
  spec.parties = {
      {.qualifier = PartyQualifier::kOriginating,
       .format = NumberFormat::kIsup,
       .digits = "31201234567",
       .nature = NumberNature::kInternational,
       .presentation_restricted = true,
       .imsi = "204080123456789"},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kIsup,
       .digits = "201234",
       .nature = NumberNature::kNational,
       .supplementary = {.redirecting_number = "0201234000",
                         .original_called_number = "0201234001",
                         .nature = NumberNature::kUnknown}},
      {.qualifier = PartyQualifier::kForwardedTo,
       .format = NumberFormat::kDss1,
       .digits = "0612345678",
       .nature = NumberNature::kNational,
       .supplementary = {.redirecting_number = "201234",
                         .redirection_number = "0612345678",
                         .nature = NumberNature::kNational}},
      {.qualifier = PartyQualifier::kOriginating,
       .format = NumberFormat::kDss1,
       .digits = "112",
       .nature = NumberNature::kSubscriber,
       .presentation_restricted = true},
      {.qualifier = PartyQualifier::kGprsTarget,
       .format = NumberFormat::kMsisdn,
       .digits = "31611223344",
       .nature = NumberNature::kInternational,
       .imei = "3520990017614823"},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kMap,
       .digits = "31611000000",
       .nature = NumberNature::kInternational},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kE164,
       .digits = "3120555",
       .nature = NumberNature::kInternational},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kSipUri,
       .digits = "sip:+31201234567@ims.example;user=phone"},
      {.qualifier = PartyQualifier::kNone,
       .format = NumberFormat::kTelUrl,
       .digits = "tel:+31-20-123"},
      {.qualifier = PartyQualifier::kForwardedTo,
       .format = NumberFormat::kIsup,
       .field = NumberField::kCalling,
       .digits = "*31#",
       .nature = NumberNature::kUnknown,
       .supplementary = {.redirection_number = "31207777777"}},
  };
  return spec;
}

std::vector<Party> FullSpecParties() {
  using R = PartyRole;
  using N = NumberNature;
  return {
      P(R::kOriginating, "31201234567", N::kInternational),
      P(R::kTerminating, "201234", N::kNational),
      P(R::kRedirecting, "0201234000", N::kUnknown),
      P(R::kRedirecting, "0201234001", N::kUnknown),
      P(R::kForwardedTo, "0612345678", N::kNational),
      P(R::kRedirecting, "201234", N::kNational),
      P(R::kForwardedTo, "0612345678", N::kNational),
      P(R::kOriginating, "112", N::kSubscriber),
      P(R::kTarget, "31611223344", N::kInternational),
      P(R::kTerminating, "31611000000", N::kInternational),
      P(R::kTerminating, "3120555", N::kInternational),
      P(R::kTerminating, "sip:+31201234567@ims.example;user=phone"),
      P(R::kOther, "tel:+31-20-123"),
      P(R::kForwardedTo, "*31#", N::kUnknown),
      P(R::kForwardedTo, "31207777777", N::kInternational),
  };
}

TEST(Hi2Iri, RoundTripEveryFormatAndRole) {
  for (ber::LengthForm form :
       {ber::LengthForm::kMinimal, ber::LengthForm::kLong3, ber::LengthForm::kIndefinite}) {
    Decoded d = DecodeBytes(Encode(FullSpec(), form));
    ASSERT_TRUE(d.status.ok()) << d.status;
    EXPECT_EQ(d.item.kind, Kind::kIriBegin);
    EXPECT_EQ(d.item.service, Service::kHi2Ops);
    EXPECT_EQ(d.item.timestamp, T("2026-11-28T20:39:48.545Z"));
    EXPECT_EQ(d.item.parties, FullSpecParties());
    EXPECT_EQ(d.pdu.skipped_unknown, 0u);
    const auto& a = d.item.attributes;
    EXPECT_THAT(a, Contains(Pair("hi2ops.liid", "LIID-7")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.cin", "12345678")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.operator_id", "OP1")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.network_element", "31201110000")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.domain_id", "0.4.0.2.2.1.18")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.timestamp", "2026-11-28T20:39:48.545000Z")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.call_direction", "originating-target")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.call_state", "setup-in-process")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.imsi", "204080123456789")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.imei", "3520990017614823")));
    // CLIR: the number stays a party and is flagged.
    EXPECT_THAT(a, Contains(Pair("hi2ops.presentation_restricted", "31201234567")));
    EXPECT_THAT(a, Contains(Pair("hi2ops.presentation_restricted", "112")));
  }
}

TEST(Hi2Iri, KindFromRecordOnlyWhenCallerLeftIri) {
  for (Kind k : {Kind::kIriBegin, Kind::kIriEnd, Kind::kIriContinue, Kind::kIriReport}) {
    Hi2IriSpec spec = FullSpec();
    spec.kind = k;
    EXPECT_EQ(DecodeBytes(Encode(spec), Kind::kIri).item.kind, k);
    EXPECT_EQ(DecodeBytes(Encode(spec), Kind::kUnknown).item.kind, k);
    // The PS-PDU iRIType wins.
    EXPECT_EQ(DecodeBytes(Encode(spec), Kind::kIriReport).item.kind, Kind::kIriReport);
  }
  Hi2IriSpec spec = FullSpec();
  spec.carrier = Carrier::kIriParameters;  // no record type inside
  Decoded d = DecodeBytes(Encode(spec), Kind::kIri);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.item.kind, Kind::kIri);
  EXPECT_EQ(d.item.parties, FullSpecParties());
  spec.carrier = Carrier::kIriSequence;
  spec.kind = Kind::kIriEnd;
  d = DecodeBytes(Encode(spec), Kind::kIri);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.item.kind, Kind::kIriEnd);
  EXPECT_EQ(d.item.parties, FullSpecParties());
}

TEST(Hi2Iri, UtcTimeAndCallerTimestampWins) {
  Hi2IriSpec spec = FullSpec();
  spec.utc_time = true;
  Decoded d = DecodeBytes(Encode(spec));
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.item.timestamp, T("2026-11-28T20:39:48Z"));
  ber::Context ctx;
  std::vector<std::byte> bytes = Encode(spec);
  auto tlv = ber::ReadSingle(bytes, ctx);
  PsPdu pdu;
  PayloadItem item{.kind = Kind::kIri, .timestamp = T("2030-01-01T00:00:00Z")};
  ASSERT_TRUE(DecodeIri(*tlv, ctx, pdu, item).ok());
  EXPECT_EQ(item.timestamp, T("2030-01-01T00:00:00Z"));
}

TEST(Hi2Iri, WiresharkStyleTaggedIrisContent) {
  // TS 33.108 / Wireshark tagging: iRIsContent [1] { [0] iRIContent { [1] record } }, and
  // [1] { [1] iRISequence { [1] record } }.
  Hi2IriSpec spec = FullSpec();
  ber::Writer inner;
  {
    ber::Writer w;
    WriteIri(w, spec);
    std::vector<std::byte> std_form = w.Take();
    ber::Context ctx;
    auto five = ber::ReadSingle(std_form, ctx).value();
    auto one = ber::ReadSingle(five.value, ctx).value();
    auto record = ber::ReadSingle(one.value, ctx).value();
    for (uint32_t tag : {0u, 1u}) {
      ber::Writer t;
      t.Begin(ber::Ctx(5, true));
      t.Begin(ber::Ctx(1, true));
      t.Begin(ber::Ctx(tag, true));
      t.AddRaw(record.encoding);
      t.End();
      t.End();
      t.End();
      Decoded d = DecodeBytes(t.Take());
      ASSERT_TRUE(d.status.ok()) << d.status;
      EXPECT_EQ(d.item.kind, Kind::kIriBegin);
      EXPECT_EQ(d.item.parties, FullSpecParties());
    }
  }
}

TEST(Hi2Iri, UnknownFieldsAreSkippedAndCounted) {
  // [5] { [1] { [1] { 81 01 'L'  bf 63 01 00 ([99] unknown)  a9 { 30 { 80 01 00  a1 { 94 01 00
  // ([20] unknown)  88 03 "s:x" } } } } } }
  std::string hex = "8101" + HexOf("L") + "9f630100" + "a90f" + "300d" + "800100" + "a108" +
                    "940100" + "8803" + HexOf("s:x");
  std::string rec = "a1" + base::ToHex(std::vector<std::byte>{std::byte(hex.size() / 2)}) + hex;
  std::string one = "a1" + base::ToHex(std::vector<std::byte>{std::byte(rec.size() / 2)}) + rec;
  std::string five = "a5" + base::ToHex(std::vector<std::byte>{std::byte(one.size() / 2)}) + one;
  Decoded d = DecodeBytes(Hex(five));
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.pdu.skipped_unknown, 2u);
  EXPECT_THAT(d.item.parties, ElementsAre(P(PartyRole::kOriginating, "s:x")));
}

TEST(Hi2Iri, SegmentedSipUri) {
  // partyIdentity sip-uri [8] as a constructed (segmented) OCTET STRING.
  ber::Writer w;
  w.Begin(ber::Ctx(5, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(1), "L");
  w.Begin(ber::Ctx(9, true));
  w.Begin(ber::Univ(ber::kSequence, true));
  w.AddInteger(ber::Ctx(0), 1);
  w.Begin(ber::Ctx(1, true));
  w.Begin(ber::Ctx(8, true));
  w.AddOctets(ber::Univ(ber::kOctetString), "sip:bob@");
  w.AddOctets(ber::Univ(ber::kOctetString), "example.com");
  w.End();
  w.End();
  w.End();
  w.End();
  w.End();
  w.End();
  Decoded d = DecodeBytes(w.Take());
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_THAT(d.item.parties, ElementsAre(P(PartyRole::kTerminating, "sip:bob@example.com")));
}

// IRI-Parameters sIPMessage [30]: the SIP headers name parties too, and the filter must see them.
TEST(Hi2Iri, SipMessagePartiesAreExtracted) {
  const std::string sip =
      "INVITE sip:+31201234567@ims.example.nl SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n"
      "From: <sip:+31612345678@ims.example.nl>;tag=1\r\n"
      "To: <tel:+31201234567>\r\n"
      "P-Asserted-Identity: <tel:+31612345678>\r\n"
      "Call-ID: abc@10.0.0.1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
  ber::Writer w;
  w.Begin(ber::Ctx(5, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(1), "L");
  w.AddOctets(ber::Ctx(30), sip);
  w.End();
  w.End();
  Decoded d = DecodeBytes(w.Take());
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_THAT(d.item.parties,
              ::testing::IsSupersetOf({P(PartyRole::kSipRequestUri, "sip:+31201234567@ims.example.nl"),
                                       P(PartyRole::kSipFrom, "sip:+31612345678@ims.example.nl"),
                                       P(PartyRole::kSipTo, "tel:+31201234567"),
                                       P(PartyRole::kSipPAssertedIdentity, "tel:+31612345678")}));
}

TEST(Hi2Iri, MalformedNumberIsAnError) {
  // callingPartyNumber { iSUP-Format = 84 }: one octet, where Q.763 needs two.
  ber::Writer w;
  w.Begin(ber::Ctx(5, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(1), "L");
  w.Begin(ber::Ctx(9, true));
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  w.Begin(ber::Ctx(4, true));
  w.AddOctets(ber::Ctx(1), "\x84");
  for (int i = 0; i < 6; ++i) w.End();
  Decoded d = DecodeBytes(w.Take());
  EXPECT_EQ(d.status.code(), absl::StatusCode::kInvalidArgument) << d.status;
  EXPECT_NE(d.status.message().find("hi2ops"), absl::string_view::npos) << d.status;
}

TEST(Hi2Iri, NotConstructedIsAnError) {
  EXPECT_FALSE(DecodeBytes(Hex("8500")).status.ok());
  EXPECT_FALSE(DecodeBytes(Hex("a5028000")).status.ok());  // [0] primitive: not IRI-Parameters
}

TEST(Hi2Iri, EveryTruncationFails) {
  std::vector<std::byte> bytes = Encode(FullSpec());
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<std::byte> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_FALSE(DecodeBytes(cut).status.ok()) << n;
  }
  // Truncations inside: every inner prefix of the IRI-Parameters content, re-wrapped with correct
  // outer lengths, decodes or fails cleanly.
  ber::Context ctx;
  auto five = ber::ReadSingle(bytes, ctx).value();
  auto one = ber::ReadSingle(five.value, ctx).value();
  auto record = ber::ReadSingle(one.value, ctx).value();
  int failures = 0;
  for (size_t n = 0; n < record.value.size(); ++n) {
    ber::Writer w;
    w.Begin(ber::Ctx(5, true));
    w.Begin(ber::Ctx(1, true));
    w.Begin(ber::Ctx(1, true));
    w.AddRaw(record.value.subspan(0, n));
    w.End();
    w.End();
    w.End();
    Decoded d = DecodeBytes(w.Take());
    if (!d.status.ok()) ++failures;
  }
  // Most cuts end inside an element (OutOfRange); cuts on an element boundary decode.
  EXPECT_GT(failures, static_cast<int>(record.value.size()) / 2);
}

TEST(Hi2Iri, BitFlipInEveryByteNeverCrashes) {
  std::vector<std::byte> bytes = Encode(FullSpec());
  int ok = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x20, 0x80}) {
      std::vector<std::byte> flipped = bytes;
      flipped[i] ^= std::byte{mask};
      Decoded d = DecodeBytes(flipped);
      if (d.status.ok()) {
        ++ok;
        for (const Party& p : d.item.parties) EXPECT_FALSE(p.id.empty());
      }
    }
  }
  EXPECT_GT(ok, 0);  // flips inside digits decode to other digits
}

TEST(Hi2Iri, DepthLimit) {
  std::vector<std::byte> bytes = Encode(FullSpec());
  ber::Context ctx;
  ctx.limits.max_depth = 7;  // the parties sit deeper than 7 levels below the PS-PDU
  auto tlv = ber::ReadSingle(bytes, ctx);
  ASSERT_TRUE(tlv.ok());
  PsPdu pdu;
  PayloadItem item;
  EXPECT_EQ(DecodeIri(*tlv, ctx, pdu, item).code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace tapvault::proto::hi2ops
