// Round trips of the option negotiation and acknowledgement PDUs through the decoder.
#include "proto/li_ps/encode.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "proto/li_ps/decode.h"

namespace tapvault::proto::li_ps {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

PsHeader Header(uint32_t seq) {
  PsHeader h;
  h.liid = "tapvault-feed";
  h.authorization_country_code = "NL";
  h.operator_id = "OP";
  h.network_element_id = "med-1";
  h.cin = 0;
  h.delivery_country_code = "NL";
  h.sequence_number = seq;
  h.timestamp = base::Timestamp{1795898589123456};
  return h;
}

bool Contains(const std::vector<std::byte>& frame, std::string_view hex) {
  return base::ToHex(frame).find(hex) != std::string::npos;
}

class OptionRoundTrip : public ::testing::TestWithParam<ber::LengthForm> {};

TEST_P(OptionRoundTrip, OptionRequest) {
  const std::vector<std::byte> frame = EncodeOptionRequest(
      Header(7), {Option::kPduAcknowledgement}, {.length_form = GetParam()});
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frame, pdu).ok());
  ASSERT_EQ(pdu.items.size(), 1u);
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionRequest);
  EXPECT_THAT(pdu.items[0].attributes, ElementsAre(Pair("option.requested", "pDUAcknowledgement")));
  EXPECT_EQ(pdu.header.sequence_number, 7u);
  EXPECT_EQ(pdu.header.liid, "tapvault-feed");
  EXPECT_EQ(pdu.skipped_unknown, 0u);
}

TEST_P(OptionRoundTrip, OptionResponseAcceptedAndDeclined) {
  PsPdu pdu;
  const std::vector<std::byte> accepted = EncodeOptionResponse(
      Header(1), {Option::kPduAcknowledgement}, {}, {.length_form = GetParam()});
  ASSERT_TRUE(DecodePsPdu(accepted, pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionResponse);
  EXPECT_THAT(pdu.items[0].attributes, ElementsAre(Pair("option.accepted", "pDUAcknowledgement")));

  const std::vector<std::byte> declined = EncodeOptionResponse(
      Header(2), {}, {Option::kPduAcknowledgement}, {.length_form = GetParam()});
  ASSERT_TRUE(DecodePsPdu(declined, pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionResponse);
  EXPECT_THAT(pdu.items[0].attributes, ElementsAre(Pair("option.declined", "pDUAcknowledgement")));
  EXPECT_EQ(pdu.header.sequence_number, 2u);

  const std::vector<std::byte> none =
      EncodeOptionResponse(Header(3), {}, {}, {.length_form = GetParam()});
  ASSERT_TRUE(DecodePsPdu(none, pdu).ok());
  EXPECT_EQ(pdu.items[0].kind, Kind::kOptionResponse);
  EXPECT_THAT(pdu.items[0].attributes, IsEmpty());
}

TEST_P(OptionRoundTrip, AckRequestAndResponse) {
  for (Kind k : {Kind::kAckRequest, Kind::kAckResponse, Kind::kOptionComplete}) {
    PsPdu pdu;
    ASSERT_TRUE(DecodePsPdu(EncodeTriPdu(Header(9), k, {.length_form = GetParam()}), pdu).ok());
    EXPECT_EQ(pdu.items[0].kind, k) << KindName(k);
    EXPECT_EQ(pdu.header.sequence_number, 9u);
  }
}

INSTANTIATE_TEST_SUITE_P(LengthForms, OptionRoundTrip,
                         ::testing::Values(ber::LengthForm::kMinimal, ber::LengthForm::kLong3,
                                           ber::LengthForm::kIndefinite));

// The exact TRIPayload bytes (TS 102 232-1 with implicit tags inside the explicit [2]).
TEST(EncodeOptions, ExactPayloadBytes) {
  // payload [2] { tRIPayload [2] { optionRequest [9] { requestedOptions [0] { [0] NULL } } } }
  EXPECT_TRUE(Contains(EncodeOptionRequest(Header(0), {Option::kPduAcknowledgement}),
                       "a208a206a904a0028000"));
  // optionResponse [10] { acceptedOptions [0] { [0] NULL }, declinedOptions [1] {} }
  EXPECT_TRUE(Contains(EncodeOptionResponse(Header(0), {Option::kPduAcknowledgement}, {}),
                       "a20aa208aa06a0028000a100"));
  // pDUAcknowledgementRequest [12] / Response [13]
  EXPECT_TRUE(Contains(EncodeTriPdu(Header(0), Kind::kAckRequest), "a204a2028c00"));
  EXPECT_TRUE(Contains(EncodeAckResponse(Header(0)), "a204a2028d00"));
}

// Replies echo the request's header, as the keep-aliveResponse does.
TEST(EncodeAckResponse, EchoesRequestHeader) {
  PsHeader h = Header(4242);
  h.cin = 17;
  h.microsecond_timestamp = true;
  const std::vector<std::byte> req =
      EncodeTriPdu(h, Kind::kAckRequest,
                   {.length_form = ber::LengthForm::kLong3, .microsecond_timestamp = true});
  PsPdu request;
  ASSERT_TRUE(DecodePsPdu(req, request).ok());
  ASSERT_EQ(request.items[0].kind, Kind::kAckRequest);
  for (const std::vector<std::byte>& resp :
       {EncodeAckResponse(request.header),
        EncodeOptionResponseTo(request.header, {}, {Option::kPduAcknowledgement})}) {
    PsPdu r;
    ASSERT_TRUE(DecodePsPdu(resp, r).ok());
    EXPECT_EQ(r.header.sequence_number, 4242u);
    EXPECT_EQ(r.header.liid, "tapvault-feed");
    EXPECT_EQ(r.header.cin, 17u);
    EXPECT_EQ(r.header.operator_id, "OP");
    EXPECT_EQ(r.header.network_element_id, "med-1");
    EXPECT_EQ(r.header.timestamp, request.header.timestamp);
    EXPECT_TRUE(r.header.microsecond_timestamp);
  }
  PsPdu r;
  ASSERT_TRUE(DecodePsPdu(EncodeAckResponse(request.header), r).ok());
  EXPECT_EQ(r.items[0].kind, Kind::kAckResponse);
}

}  // namespace
}  // namespace tapvault::proto::li_ps
