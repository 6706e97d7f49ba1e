#include "proto/pstn/pstn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "ber/writer.h"
#include "proto/pstn/pstn_encode.h"

namespace tapvault::proto::pstn {
namespace {

using ::testing::Contains;
using ::testing::Pair;

std::vector<std::byte> Hex(std::string_view hex) { return base::FromHex(hex).value(); }

struct Decoded {
  absl::Status status;
  PsPdu pdu;
  PayloadItem item;
};

Decoded Decode(const std::vector<std::byte>& bytes, bool cc) {
  Decoded d;
  ber::Context ctx;
  auto tlv = ber::ReadSingle(bytes, ctx);
  if (!tlv.ok()) {
    d.status = tlv.status();
    return d;
  }
  d.status = cc ? DecodeCc(*tlv, ctx, d.pdu, d.item) : DecodeIri(*tlv, ctx, d.pdu, d.item);
  return d;
}

std::vector<std::byte> EncodeCc(const PstnCcSpec& spec) {
  ber::Writer w;
  WriteCc(w, spec);
  return w.Take();
}
std::vector<std::byte> EncodeIri(const SupplementaryInfoSpec& spec) {
  ber::Writer w;
  WriteIri(w, spec);
  return w.Take();
}

const std::vector<std::byte> kBearer = {std::byte{0xd5}, std::byte{0xd5}};

TEST(PstnCc, HandComputedVector) {
  // ab 0d { 80 04 05 06 06 02 (RELATIVE-OID 5.6.6.2)  81 02 d5 d5  82 01 01 }
  std::vector<std::byte> bytes = EncodeCc({.bearer = kBearer, .cc_link_id = 1});
  EXPECT_EQ(base::ToHex(bytes),
            "ab0d800405060602"
            "8102d5d5"
            "820101");
  Decoded d = Decode(bytes, true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.item.service, Service::kPstn);
  EXPECT_EQ(d.item.kind, Kind::kCc);
  EXPECT_EQ(base::ToHex(d.item.content), "d5d5");
  EXPECT_THAT(d.item.attributes, Contains(Pair("pstn.obj_id", "5.6.6.2")));
  EXPECT_THAT(d.item.attributes, Contains(Pair("pstn.cc_link_id", "1")));
}

TEST(PstnCc, SupplementaryInfoAndSegmentedContents) {
  PstnCcSpec spec{.bearer = kBearer,
                  .supplementary = SupplementaryInfoSpec{.cc_link_id = 2,
                                                         .first_pdu_number = 7,
                                                         .media_format = 0,
                                                         .copy_of_sdp = "v=0",
                                                         .frame_type = 3}};
  Decoded d = Decode(EncodeCc(spec), true);
  ASSERT_TRUE(d.status.ok()) << d.status;
  const auto& a = d.item.attributes;
  EXPECT_THAT(a, Contains(Pair("pstn.applies_to", "combined")));
  EXPECT_THAT(a, Contains(Pair("pstn.cc_link_id", "2")));
  EXPECT_THAT(a, Contains(Pair("pstn.first_pdu_number", "7")));
  EXPECT_THAT(a, Contains(Pair("pstn.media_format", "0")));
  EXPECT_THAT(a, Contains(Pair("pstn.sdp", "v=0")));
  EXPECT_THAT(a, Contains(Pair("pstn.frame_type", "3")));
  // Segmented pstnIsdnCCContents [1] and a full OBJECT IDENTIFIER objId (as the patched schema
  // would write it) are accepted; an unknown extension is counted.
  Decoded s = Decode(Hex("ab17"
                         "8007"
                         "04000202050606"
                         "a108"
                         "0402d5d5"
                         "0402abcd"
                         "9f630100"),
                     true);
  ASSERT_TRUE(s.status.ok()) << s.status;
  EXPECT_EQ(base::ToHex(s.item.content), "d5d5abcd");
  EXPECT_EQ(s.pdu.skipped_unknown, 1u);
}

TEST(PstnCc, MissingContentsIsAnError) {
  EXPECT_FALSE(Decode(Hex("ab06800405060602"), true).status.ok());
  EXPECT_FALSE(Decode(Hex("8b00"), true).status.ok());
}

TEST(PstnIri, RoundTrip) {
  Decoded d = Decode(EncodeIri({.applies_to = Direction::kToTarget,
                                .media_format = 8,
                                .media_attributes = "a=rtpmap:8 PCMA/8000",
                                .session_name = "call"}),
                     false);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.item.service, Service::kPstn);
  const auto& a = d.item.attributes;
  EXPECT_THAT(a, Contains(Pair("pstn.obj_id", "5.6.6.1")));
  EXPECT_THAT(a, Contains(Pair("pstn.applies_to", "to-target")));
  EXPECT_THAT(a, Contains(Pair("pstn.media_format", "8")));
  EXPECT_THAT(a, Contains(Pair("pstn.media_attributes", "a=rtpmap:8 PCMA/8000")));
  EXPECT_THAT(a, Contains(Pair("pstn.session_name", "call")));
  EXPECT_EQ(d.pdu.skipped_unknown, 0u);
}

TEST(Pstn, TruncationsAndBitFlips) {
  for (const std::vector<std::byte>& bytes :
       {EncodeIri({.cc_link_id = 3, .copy_of_sdp = "v=0"}),
        EncodeCc({.bearer = kBearer,
        .cc_link_id = 1,
        .supplementary = SupplementaryInfoSpec{.frame_type = 3}})}) {
    for (size_t n = 0; n < bytes.size(); ++n) {
      std::vector<std::byte> cut(bytes.begin(), bytes.begin() + n);
      EXPECT_FALSE(Decode(cut, true).status.ok()) << n;
      EXPECT_FALSE(Decode(cut, false).status.ok()) << n;
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t mask : {0x01, 0x20, 0x80}) {
        std::vector<std::byte> f = bytes;
        f[i] ^= std::byte{mask};
        (void)Decode(f, true);
        (void)Decode(f, false);
      }
    }
  }
}

}  // namespace
}  // namespace tapvault::proto::pstn
