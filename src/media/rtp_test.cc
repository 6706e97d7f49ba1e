#include "media/rtp.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "media/g711.h"
#include "media/internal/test_util.h"
#include "sim/g711.h"
#include "sim/packets.h"

namespace tapvault::media {
namespace {

using testing::AsBytes;

std::vector<uint8_t> Hex(std::initializer_list<int> v) { return {v.begin(), v.end()}; }

TEST(ParseRtp, FixedHeader) {
  const std::vector<uint8_t> p = Hex({0x80, 0x88, 0xFF, 0xFE, 0x00, 0x00, 0x01, 0x40, 0x12, 0x34,
                                      0x56, 0x78, 0xD5, 0xD5, 0x55});
  absl::StatusOr<RtpPacket> r = ParseRtp(AsBytes(p));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->marker);
  EXPECT_EQ(r->payload_type, 8);
  EXPECT_EQ(r->sequence_number, 0xFFFE);
  EXPECT_EQ(r->timestamp, 320u);
  EXPECT_EQ(r->ssrc, 0x12345678u);
  EXPECT_EQ(r->csrc_count, 0);
  EXPECT_FALSE(r->has_extension);
  EXPECT_EQ(r->padding, 0);
  ASSERT_EQ(r->payload.size(), 3u);
  EXPECT_EQ(r->payload.data(), AsBytes(p).data() + 12);
}

// V=2 P=1 X=1 CC=2: CSRCs, a one-word extension, 2 payload octets, 3 padding octets.
const std::vector<uint8_t> kFull = {
    0xB2, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0xA0, 0xAA, 0xBB, 0xCC, 0xDD,  // fixed
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,                          // CSRC x2
    0xBE, 0xDE, 0x00, 0x01, 0x10, 0x20, 0x30, 0x40,                          // extension
    0xFF, 0x7F,                                                              // payload
    0x00, 0x00, 0x03};                                                       // padding

TEST(ParseRtp, CsrcExtensionPadding) {
  absl::StatusOr<RtpPacket> r = ParseRtp(AsBytes(kFull));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->csrc_count, 2);
  EXPECT_TRUE(r->has_extension);
  EXPECT_EQ(r->extension_profile, 0xBEDE);
  ASSERT_EQ(r->extension.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(r->extension[0]), 0x10);
  EXPECT_EQ(r->padding, 3);
  ASSERT_EQ(r->payload.size(), 2u);
  EXPECT_EQ(static_cast<uint8_t>(r->payload[0]), 0xFF);
  EXPECT_EQ(static_cast<uint8_t>(r->payload[1]), 0x7F);
  EXPECT_EQ(r->ssrc, 0xAABBCCDDu);
}

TEST(ParseRtp, Malformed) {
  // Every truncation of kFull: before the payload the header is cut; after it the padding count
  // (the last octet) no longer says 3, except where it reads 0 or too much.
  for (size_t n = 0; n < 30; ++n) {
    std::vector<uint8_t> cut(kFull.begin(), kFull.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(ParseRtp(AsBytes(cut)).ok()) << n;
  }
  std::vector<uint8_t> p = kFull;
  p[0] = 0x72;  // version 1
  EXPECT_EQ(ParseRtp(AsBytes(p)).status().code(), absl::StatusCode::kInvalidArgument);
  p[0] = 0x00;  // version 0
  EXPECT_FALSE(ParseRtp(AsBytes(p)).ok());
  p = kFull;
  p.back() = 0;  // padding count 0
  EXPECT_FALSE(ParseRtp(AsBytes(p)).ok());
  p.back() = 4;  // 4 of the 5 octets after the header: valid, 1 payload octet left
  EXPECT_TRUE(ParseRtp(AsBytes(p)).ok());
  p.back() = 6;  // more than payload + padding
  EXPECT_FALSE(ParseRtp(AsBytes(p)).ok());
  p = kFull;
  p[23] = 0x05;  // extension length 5 words: beyond the packet
  EXPECT_FALSE(ParseRtp(AsBytes(p)).ok());
  p = kFull;
  p[0] = 0x8F;  // 15 CSRCs: beyond the packet
  EXPECT_FALSE(ParseRtp(AsBytes(p)).ok());
}

TEST(ParseUdpInIp, Ipv4) {
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  std::vector<uint8_t> ip = sim::BuildUdpIpv4({10, 1, 0, 10}, {10, 2, 0, 20}, 4000, 5004, payload);
  ip.push_back(0xEE);  // link padding after the total length: ignored
  absl::StatusOr<UdpDatagram> u = ParseUdpInIp(AsBytes(ip));
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->ip_version, 4);
  EXPECT_EQ(u->src[0], 10);
  EXPECT_EQ(u->src[3], 10);
  EXPECT_EQ(u->dst[3], 20);
  EXPECT_EQ(u->src_port, 4000);
  EXPECT_EQ(u->dst_port, 5004);
  ASSERT_EQ(u->payload.size(), 5u);
  EXPECT_EQ(static_cast<uint8_t>(u->payload[4]), 5);

  for (size_t n = 0; n + 1 < ip.size(); ++n) {  // every truncation before the padding
    std::vector<uint8_t> cut(ip.begin(), ip.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_FALSE(ParseUdpInIp(AsBytes(cut)).ok()) << n;
  }
  std::vector<uint8_t> frag = ip;
  frag[6] |= 0x20;  // MF
  EXPECT_EQ(ParseUdpInIp(AsBytes(frag)).status().code(), absl::StatusCode::kUnimplemented);
  std::vector<uint8_t> bad_ihl = ip;
  bad_ihl[0] = 0x44;
  EXPECT_EQ(ParseUdpInIp(AsBytes(bad_ihl)).status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<uint8_t> bad_udp_len = ip;
  bad_udp_len[24] = 0;
  bad_udp_len[25] = 7;
  EXPECT_FALSE(ParseUdpInIp(AsBytes(bad_udp_len)).ok());

  const std::vector<uint8_t> tcp =
      sim::BuildTcpIpv4({10, 0, 0, 1}, {10, 0, 0, 2}, 1, 2, 0, 0, sim::TcpFlags::kSyn, {});
  EXPECT_EQ(ParseUdpInIp(AsBytes(tcp)).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ParseUdpInIp(AsBytes(Hex({0x80, 0, 0, 0}))).ok());  // RTP is not IP
  EXPECT_FALSE(ParseUdpInIp({}).ok());
}

TEST(ParseUdpInIp, Ipv6WithHopByHop) {
  const std::vector<uint8_t> payload = {9, 8, 7};
  for (bool hbh : {false, true}) {
    const std::vector<uint8_t> ip = testing::UdpIpv6(1, 2, 1234, 5678, payload, hbh);
    absl::StatusOr<UdpDatagram> u = ParseUdpInIp(AsBytes(ip));
    ASSERT_TRUE(u.ok()) << u.status();
    EXPECT_EQ(u->ip_version, 6);
    EXPECT_EQ(u->src[0], 0x20);
    EXPECT_EQ(u->src[15], 1);
    EXPECT_EQ(u->dst[15], 2);
    EXPECT_EQ(u->src_port, 1234);
    EXPECT_EQ(u->dst_port, 5678);
    EXPECT_EQ(u->payload.size(), 3u);
    for (size_t n = 0; n < ip.size(); ++n) {
      std::vector<uint8_t> cut(ip.begin(), ip.begin() + static_cast<ptrdiff_t>(n));
      EXPECT_FALSE(ParseUdpInIp(AsBytes(cut)).ok()) << n;
    }
  }
  std::vector<uint8_t> frag = testing::UdpIpv6(1, 2, 1, 2, payload);
  frag[6] = 44;
  EXPECT_EQ(ParseUdpInIp(AsBytes(frag)).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(ParseUdp, Bare) {
  const std::vector<uint8_t> d = {0, 1, 0, 2, 0, 10, 0, 0, 0xAB, 0xCD, 0xEE};
  absl::StatusOr<base::Bytes> p = ParseUdp(AsBytes(d));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->size(), 2u);
  EXPECT_FALSE(ParseUdp(AsBytes(std::vector<uint8_t>(d.begin(), d.begin() + 7))).ok());
}

// --- stream assembly ---

constexpr size_t kFrame = 160;

// A packet of constant code `code` (A-law), so the output shows where each packet landed.
ReceivedRtp Pkt(uint16_t seq, uint32_t ts, uint8_t code, int64_t capture_us = 0,
                uint8_t pt = kRtpPayloadPcma, size_t n = kFrame) {
  return {.sequence_number = seq, .timestamp = ts, .payload_type = pt, .capture_us = capture_us,
          .payload = std::string(n, static_cast<char>(code))};
}

// The codes whose samples make up `pcm`, one per run of `kFrame` samples (0 for silence).
std::vector<int> Runs(const std::vector<int16_t>& pcm) {
  std::vector<int> out;
  for (size_t i = 0; i < pcm.size(); i += kFrame) {
    int code = -1;
    for (int c = 0; c < 256; ++c) {
      if (AlawToLinear(static_cast<uint8_t>(c)) == pcm[i]) code = c;
    }
    out.push_back(pcm[i] == 0 ? 0 : code);
    for (size_t j = i; j < std::min(pcm.size(), i + kFrame); ++j) EXPECT_EQ(pcm[j], pcm[i]) << j;
  }
  return out;
}

TEST(AssembleRtpStream, ReorderWrapDuplicate) {
  // seq 65534, 65535, 0, 1 across the wrap, arriving 65535, 65534, 0, 0 (dup), 1.
  std::vector<ReceivedRtp> in = {Pkt(65535, 1160, 0x02), Pkt(65534, 1000, 0x01),
                                 Pkt(0, 1320, 0x03), Pkt(0, 1320, 0x7E), Pkt(1, 1480, 0x04)};
  RtpStreamStats st;
  absl::StatusOr<std::vector<PcmSegment>> out = AssembleRtpStream(in, {}, &st);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(Runs((*out)[0].samples), (std::vector<int>{0x01, 0x02, 0x03, 0x04}));
  EXPECT_EQ(st.packets, 5u);
  EXPECT_EQ(st.duplicates, 1u);  // the second seq 0 (code 0x7E) is dropped
  EXPECT_EQ(st.reordered, 1u);
  EXPECT_EQ(st.lost, 0u);
  EXPECT_EQ(st.segments, 1u);
  EXPECT_EQ(st.samples, 4 * kFrame);
  EXPECT_EQ(st.first_payload_type, 8);
}

TEST(AssembleRtpStream, GapFilledWithSilenceAndTimestampWrap) {
  // Seq 11 lost; timestamps wrap past 2^32 between the packets.
  const uint32_t ts0 = 0xFFFFFFFFu - 200;
  std::vector<ReceivedRtp> in = {Pkt(10, ts0, 0x01, 1'000'000),
                                 Pkt(12, static_cast<uint32_t>(ts0 + 2 * kFrame), 0x03, 1'040'000),
                                 Pkt(13, static_cast<uint32_t>(ts0 + 3 * kFrame), 0x04, 1'060'000)};
  RtpStreamStats st;
  absl::StatusOr<std::vector<PcmSegment>> out = AssembleRtpStream(in, {}, &st);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(Runs((*out)[0].samples), (std::vector<int>{0x01, 0, 0x03, 0x04}));
  EXPECT_EQ((*out)[0].start_us, 1'000'000);
  EXPECT_EQ(st.lost, 1u);
  EXPECT_EQ(st.gap_samples, kFrame);
}

TEST(AssembleRtpStream, LargeGapStartsASegmentPlacedByCaptureTime) {
  std::vector<ReceivedRtp> in = {Pkt(1, 0, 0x01, 5'000'000), Pkt(2, 160, 0x02, 5'020'000),
                                 Pkt(3, 80000, 0x03, 15'000'000),
                                 Pkt(4, 80160, 0x04, 15'021'000)};  // late by 1 ms
  RtpStreamStats st;
  absl::StatusOr<std::vector<PcmSegment>> out =
      AssembleRtpStream(in, {.max_gap_samples = 8000}, &st);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(Runs((*out)[0].samples), (std::vector<int>{0x01, 0x02}));
  EXPECT_EQ(Runs((*out)[1].samples), (std::vector<int>{0x03, 0x04}));
  EXPECT_EQ((*out)[0].start_us, 5'000'000);
  EXPECT_EQ((*out)[1].start_us, 15'000'000);  // from the least-delayed packet
  EXPECT_EQ(st.segments, 2u);
  EXPECT_EQ(st.gap_samples, 0u);
}

TEST(AssembleRtpStream, OverlapNonG711AndMixedLaws) {
  std::vector<ReceivedRtp> in = {
      Pkt(1, 0, 0x01),
      Pkt(2, 80, 0x02),                          // starts half-way into packet 1: 80 dropped
      Pkt(3, 240, 0x00, 0, /*pt=*/101, 4),       // telephone-event: skipped
      Pkt(4, 240, 0xFF, 0, kRtpPayloadPcmu),     // µ-law 0xFF = 0: silence-valued
      Pkt(5, 400, 0x80, 0, kRtpPayloadPcmu, 1)};
  RtpStreamStats st;
  absl::StatusOr<std::vector<PcmSegment>> out = AssembleRtpStream(in, {}, &st);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  const std::vector<int16_t>& s = (*out)[0].samples;
  ASSERT_EQ(s.size(), 401u);
  EXPECT_EQ(s[0], AlawToLinear(0x01));
  EXPECT_EQ(s[159], AlawToLinear(0x01));
  EXPECT_EQ(s[160], AlawToLinear(0x02));
  EXPECT_EQ(s[239], AlawToLinear(0x02));
  EXPECT_EQ(s[240], 0);
  EXPECT_EQ(s[400], 32124);
  EXPECT_EQ(st.overlap_samples, 80u);
  EXPECT_EQ(st.non_g711, 1u);
}

TEST(AssembleRtpStream, LimitAndEmpty) {
  std::vector<ReceivedRtp> in = {Pkt(1, 0, 0x01), Pkt(2, 160, 0x02)};
  EXPECT_EQ(AssembleRtpStream(in, {.max_samples = 300}, nullptr).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(AssembleRtpStream(in, {.max_samples = 320}, nullptr).ok());
  absl::StatusOr<std::vector<PcmSegment>> none = AssembleRtpStream({}, {}, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace tapvault::media
