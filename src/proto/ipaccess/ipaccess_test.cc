#include "proto/ipaccess/ipaccess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/hex.h"
#include "base/time.h"
#include "ber/writer.h"
#include "proto/ipaccess/ipaccess_encode.h"

namespace tapvault::proto::ipaccess {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::byte> Hex(std::string_view hex) {
  std::optional<std::vector<std::byte>> b = base::FromHex(hex);
  EXPECT_TRUE(b.has_value()) << hex;
  return b.value_or(std::vector<std::byte>{});
}

std::string Attr(const PayloadItem& item, std::string_view key) {
  for (const auto& [k, v] : item.attributes) {
    if (k == key) return v;
  }
  return "<absent>";
}

// Decodes one IRIContents / CCContents alternative element.
absl::Status Decode(const std::vector<std::byte>& element, PsPdu& pdu, PayloadItem& item,
                    bool cc = false) {
  ber::Context ctx;
  absl::StatusOr<ber::Tlv> tlv = ber::ReadSingle(element, ctx);
  if (!tlv.ok()) return tlv.status();
  return cc ? DecodeCc(*tlv, ctx, pdu, item) : DecodeIri(*tlv, ctx, pdu, item);
}

// The iPIRI element of OpenLI's LEMFIP0001 IRI (microts_HI2 capture, PDU 0 at offset 108).
constexpr std::string_view kOpenLiIpIri =
    "a235800405030a01a12d800107810c737461746963757365723031820104830101a414810100a2068104c0a8"
    "32058301018504ffffffff";

TEST(IpAccessIri, OpenLiVector) {
  PsPdu pdu;
  PayloadItem item;
  const std::vector<std::byte> el = Hex(kOpenLiIpIri);
  ASSERT_TRUE(Decode(el, pdu, item).ok());
  EXPECT_EQ(item.service, Service::kIpAccess);
  EXPECT_THAT(item.attributes,
              ElementsAre(Pair("ip.event", "startOfInterceptionWithSessionActive"),
                          Pair("ip.username", "staticuser01"), Pair("ip.access_type", "lAN"),
                          Pair("ip.version", "ipv4"), Pair("ip.target", "192.168.50.5"),
                          Pair("ip.target_prefix", "32")));
  EXPECT_THAT(item.parties, ElementsAre(Party{.role = PartyRole::kTarget, .id = "staticuser01"}));
  EXPECT_EQ(item.content.size(), el.size() - 2);  // the contents octets of [2]
  EXPECT_EQ(pdu.skipped_unknown, 0u);
}

TEST(IpAccessIri, EncoderRoundTripAllFields) {
  ber::Writer w(ber::LengthForm::kLong3);
  WriteIri(w, {.event = AccessEvent::kAccessEnd,
               .target_username = "alice@isp",
               .access_type = InternetAccessType::kXDsl,
               .ip_version = IpVersion::kV4AndV6,
               .target_ip = "10.0.0.9",
               .target_prefix_len = 29,
               .additional_ip = "2001:db8:0:85a3::ac1f:8001",
               .pop_ip = "not-an-address",
               .pop_identifier = "bras-3",
               .target_network_id = "00:11:22:33:44:55",
               .start_time = base::ParseGeneralizedTime("20261128100000Z").value(),
               .end_time = base::ParseGeneralizedTime("20261128110000.250Z").value(),
               .end_reason = 1,
               .octets_received = 123,
               .octets_transmitted = 18446744073709551615ull});
  const std::vector<std::byte> el = w.Take();
  PsPdu pdu;
  PayloadItem item;
  absl::Status s = Decode(el, pdu, item);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(item.attributes,
              ElementsAre(Pair("ip.event", "accessEnd"), Pair("ip.username", "alice@isp"),
                          Pair("ip.access_type", "xDSL"), Pair("ip.version", "ipv4v6"),
                          Pair("ip.target", "10.0.0.9"), Pair("ip.target_prefix", "29"),
                          Pair("ip.network_id", "00:11:22:33:44:55"),
                          Pair("ip.start_time", "2026-11-28T10:00:00.000000Z"),
                          Pair("ip.end_time", "2026-11-28T11:00:00.250000Z"),
                          Pair("ip.end_reason", "regularLogoff"), Pair("ip.octets_received", "123"),
                          Pair("ip.octets_transmitted", "18446744073709551615"),
                          Pair("ip.pop_id", "bras-3"), Pair("ip.pop_ip", "not-an-address"),
                          Pair("ip.additional_ip", "2001:db8:0:85a3::ac1f:8001")));
  EXPECT_THAT(item.parties, ElementsAre(Party{.role = PartyRole::kTarget, .id = "alice@isp"}));
  EXPECT_EQ(pdu.skipped_unknown, 0u);
}

TEST(IpAccessIri, ExtensionsAndChoices) {
  // IPIRI { objId, contents { accessEventType [0] 10 (unknown), targetUsername [1] "",
  //   pOPIdentifier [18] { macAddressType [1] 00 11 22 aa bb cc },
  //   otherTargetIdentifiers [23] { iPAddress [0] { [1] 0, [2] { [2] "192.0.2.1" } } },
  //   framedRoutes [26] { [0] "10.9.0.0/16" }, [30] unknown }, [5] unknown }
  ber::Writer w;
  w.Begin(ber::Ctx(2, true));
  w.AddOid(ber::Ctx(0), std::vector<uint64_t>{5, 3, 18, 1}, true);
  w.Begin(ber::Ctx(1, true));
  w.AddInteger(ber::Ctx(0), 10);
  w.AddOctets(ber::Ctx(1), "");
  w.Begin(ber::Ctx(18, true));
  w.AddPrimitive(ber::Ctx(1), Hex("001122aabbcc"));
  w.End();
  w.Begin(ber::Ctx(23, true));
  w.Begin(ber::Ctx(0, true));
  w.AddInteger(ber::Ctx(1), 0);
  w.Begin(ber::Ctx(2, true));
  w.AddOctets(ber::Ctx(2), "192.0.2.1");
  w.End();
  w.End();
  w.End();
  w.Begin(ber::Ctx(26, true));
  w.AddOctets(ber::Ctx(0), "10.9.0.0/16");
  w.End();
  w.AddNull(ber::Ctx(30));
  w.End();
  w.AddNull(ber::Ctx(5));
  w.End();
  PsPdu pdu;
  PayloadItem item;
  absl::Status s = Decode(w.Take(), pdu, item);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(item.attributes, ElementsAre(Pair("ip.event", "unknown"), Pair("ip.username", ""),
                                           Pair("ip.pop_id", "00:11:22:aa:bb:cc"),
                                           Pair("ip.other_target", "192.0.2.1"),
                                           Pair("ip.framed_route", "10.9.0.0/16")));
  EXPECT_TRUE(item.parties.empty());  // an empty username names nobody
  EXPECT_EQ(pdu.skipped_unknown, 2u);
}

TEST(IpAccessIri, IriOnly) {
  // IPIRIOnly [3] { objId, iPInformation [1] { iPv4Information [0] { source [8], destination [9] }
  // },
  //   protocolInformation [2] { uDPInformation [2] { sourcePort [0] 0035, destinationPort [1] c350
  //   } }, iPAggregatedNbrOfPackets [3] 3, iPAggregatedNbrOfBytes [4] 300 }
  const std::vector<std::byte> el =
      Hex("a329"
          "800405031203"
          "a10e"
          "a00c"
          "8804c0000201"
          "8904c6336402"
          "a20a"
          "a208"
          "80020035"
          "8102c350"
          "830103"
          "8402012c");
  PsPdu pdu;
  PayloadItem item;
  absl::Status s = Decode(el, pdu, item);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(item.attributes,
              ElementsAre(Pair("ip.report", "iriOnly"), Pair("ip.src", "192.0.2.1"),
                          Pair("ip.dst", "198.51.100.2"), Pair("ip.protocol", "udp"),
                          Pair("ip.src_port", "53"), Pair("ip.dst_port", "50000"),
                          Pair("ip.packets", "3"), Pair("ip.bytes", "300")));
}

TEST(IpAccessIri, PacketReport) {
  // iPIRIPacketReport [20] { objId, report [1] { summary [2] { header [1] <IPv6 header>,
  //   indications [2] BIT STRING, trigger [3] flowEnd(2), packetCount [4] 7 } } }
  std::string v6 = "6000000000081140";       // version, class, flow, len, next, hop
  v6 += "20010db8000000000000000000000001";  // source
  v6 += "20010db8000000000000000000000002";  // destination
  const std::string report = "8128" + v6 +
                             "8202"
                             "0000"
                             "830102"
                             "840107";
  const std::string summary =
      "a2" + base::ToHex(std::vector<std::byte>{std::byte(report.size() / 2)}) + report;
  const std::string choice =
      "a1" + base::ToHex(std::vector<std::byte>{std::byte(summary.size() / 2)}) + summary;
  const std::string body = "800405031204" + choice;
  const std::string el =
      "b4" + base::ToHex(std::vector<std::byte>{std::byte(body.size() / 2)}) + body;
  PsPdu pdu;
  PayloadItem item;
  absl::Status s = Decode(Hex(el), pdu, item);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_THAT(item.attributes,
              ElementsAre(Pair("ip.report", "summary"), Pair("ip.src", "2001:db8::1"),
                          Pair("ip.dst", "2001:db8::2"), Pair("ip.trigger", "flowEnd"),
                          Pair("ip.packets", "7")));
}

TEST(IpAccessIri, MalformedFails) {
  PsPdu pdu;
  PayloadItem item;
  EXPECT_FALSE(Decode(Hex("82020000"), pdu, item).ok());          // primitive IPIRI
  EXPECT_FALSE(Decode(Hex("a206800405030a01"), pdu, item).ok());  // no iPIRIContents
  // IPAddress without iP-value.
  EXPECT_FALSE(Decode(Hex("a20aa108a406810100830101"), pdu, item).ok());
  // Bad GeneralizedTime in startTime.
  EXPECT_FALSE(Decode(Hex("a207a1058a03313233"), pdu, item).ok());
  // Every truncation of the OpenLI element (re-wrapped so the outer TLV stays complete).
  const std::vector<std::byte> el = Hex(kOpenLiIpIri);
  for (size_t n = 2; n < el.size(); ++n) {
    std::vector<std::byte> cut(el.begin() + 2, el.begin() + static_cast<ptrdiff_t>(n));
    std::vector<std::byte> wrapped = {std::byte{0xa2}, std::byte(cut.size())};
    wrapped.insert(wrapped.end(), cut.begin(), cut.end());
    PsPdu p;
    PayloadItem i;
    absl::Status s = Decode(wrapped, p, i);
    // A cut exactly between the two fields is a valid IPIRI without contents -> still an error.
    EXPECT_FALSE(s.ok()) << "cut at " << n;
  }
}

TEST(IpAccessCc, PacketAndTruncatedPacket) {
  const std::string packet =
      "\x45\x00\x00\x1c"
      "0123456789abcdef01234567";
  ber::Writer w(ber::LengthForm::kIndefinite);
  WriteCc(w, base::AsBytes(packet));
  const std::vector<std::byte> el = w.Take();
  PsPdu pdu;
  PayloadItem item;
  ASSERT_TRUE(Decode(el, pdu, item, /*cc=*/true).ok());
  EXPECT_EQ(item.service, Service::kIpAccess);
  EXPECT_EQ(base::AsString(item.content), packet);
  EXPECT_TRUE(item.attributes.empty());
  // The content is a view into the element (no copy).
  EXPECT_GE(item.content.data(), el.data());
  EXPECT_LE(item.content.data() + item.content.size(), el.data() + el.size());

  // iPTruncatedPacket [1] { truncatedPacket [0] 45 00, originalLength [1] 1500 }
  const std::vector<std::byte> trunc = Hex("a212800405031202a10aa10880024500810205dc");
  PayloadItem t2;
  absl::Status s = Decode(trunc, pdu, t2, true);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(base::ToHex(t2.content), "4500");
  EXPECT_EQ(Attr(t2, "ip.original_length"), "1500");
}

TEST(IpAccessCc, SegmentedPacketIsJoined) {
  // iPPackets as a constructed OCTET STRING of two segments.
  const std::vector<std::byte> el = Hex("a20da10ba009040245000403000102");
  PsPdu pdu;
  PayloadItem item;
  ASSERT_TRUE(Decode(el, pdu, item, true).ok());
  EXPECT_EQ(base::ToHex(item.content), "4500000102");
  EXPECT_EQ(pdu.owned.size(), 1u);
}

TEST(IpAccessCc, MalformedFails) {
  PsPdu pdu;
  PayloadItem item;
  EXPECT_FALSE(Decode(Hex("8200"), pdu, item, true).ok());          // primitive
  EXPECT_FALSE(Decode(Hex("a2028000"), pdu, item, true).ok());      // no contents
  EXPECT_FALSE(Decode(Hex("a202a100"), pdu, item, true).ok());      // empty CHOICE
  EXPECT_FALSE(Decode(Hex("a2028100"), pdu, item, true).ok());      // primitive iPCCContents
  EXPECT_FALSE(Decode(Hex("a2048000a100"), pdu, item, true).ok());  // empty CHOICE after objId
  // Unknown IPCCContents alternative: skipped and counted.
  PsPdu p2;
  ASSERT_TRUE(Decode(Hex("a204a1028500"), p2, item, true).ok());
  EXPECT_EQ(p2.skipped_unknown, 1u);
}

}  // namespace
}  // namespace tapvault::proto::ipaccess
