#include "sim/packets.h"

#include <gtest/gtest.h>

namespace tapvault::sim {
namespace {

uint32_t Pseudo(const std::vector<uint8_t>& ip) {
  // Sum of the pseudo header of an IPv4 packet (addresses, protocol, transport length).
  uint32_t sum = 0;
  for (int i = 12; i < 20; i += 2) sum += (uint32_t{ip[i]} << 8) | ip[i + 1];
  return sum + ip[9] + static_cast<uint32_t>(ip.size() - kIpv4HeaderSize);
}

std::span<const uint8_t> Transport(const std::vector<uint8_t>& ip) {
  return std::span(ip).subspan(kIpv4HeaderSize);
}

TEST(Packets, ParseIpv4) {
  EXPECT_EQ(ParseIpv4("192.168.0.1"), (Ipv4{192, 168, 0, 1}));
  EXPECT_FALSE(ParseIpv4("192.168.0"));
  EXPECT_FALSE(ParseIpv4("192.168.0.256"));
  EXPECT_FALSE(ParseIpv4("192.168.0.1x"));
  EXPECT_FALSE(ParseIpv4(""));
}

TEST(Packets, RtpHeader) {
  const std::vector<uint8_t> payload(160, 0xFF);
  std::vector<uint8_t> rtp = BuildRtp(
      {.payload_type = 8, .marker = true, .seq = 0x1234, .timestamp = 0xA0B0C0D0,
       .ssrc = 0xDEADBEEF},
      payload);
  ASSERT_EQ(rtp.size(), 172u);
  const std::vector<uint8_t> header = {0x80, 0x88, 0x12, 0x34, 0xA0, 0xB0,
                                       0xC0, 0xD0, 0xDE, 0xAD, 0xBE, 0xEF};
  EXPECT_EQ(std::vector<uint8_t>(rtp.begin(), rtp.begin() + 12), header);
  EXPECT_EQ(rtp[12], 0xFF);
  EXPECT_EQ(BuildRtp({.payload_type = 0}, {})[1], 0x00);
}

// The IPv4 header example of RFC 1071 practice (Wikipedia "IPv4 header checksum"):
// 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7.
TEST(Packets, Ipv4HeaderChecksumKnownVector) {
  std::vector<uint8_t> payload(0x73 - 20, 0);
  std::vector<uint8_t> ip = BuildIpv4({192, 168, 0, 1}, {192, 168, 0, 199}, kProtoUdp, 0, payload);
  const std::vector<uint8_t> expected = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                                         0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                                         0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(std::vector<uint8_t>(ip.begin(), ip.begin() + 20), expected);
  EXPECT_EQ(InternetChecksum(std::span(ip).first(20)), 0);
}

TEST(Packets, UdpChecksumVerifies) {
  for (size_t len : {0u, 1u, 7u, 172u}) {
    std::vector<uint8_t> data(len);
    for (size_t i = 0; i < len; ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
    std::vector<uint8_t> ip = BuildUdpIpv4({10, 1, 0, 10}, {10, 2, 0, 20}, 40000, 50000, data, 9);
    ASSERT_EQ(ip.size(), 28 + len);
    EXPECT_EQ(ip[9], kProtoUdp);
    EXPECT_EQ(InternetChecksum(std::span(ip).first(20)), 0);
    EXPECT_EQ((ip[24] << 8) | ip[25], int(8 + len));  // UDP length
    EXPECT_NE((ip[26] << 8) | ip[27], 0);
    EXPECT_EQ(InternetChecksum(Transport(ip), Pseudo(ip)), 0) << len;
    if (len != 0) {
      ip[28 + len / 2] ^= 0x01;  // a flipped bit breaks it
      EXPECT_NE(InternetChecksum(Transport(ip), Pseudo(ip)), 0);
    }
  }
}

TEST(Packets, TcpChecksumVerifies) {
  const std::string body = "GET / HTTP/1.1\r\n\r\n";
  std::vector<uint8_t> data(body.begin(), body.end());
  std::vector<uint8_t> ip = BuildTcpIpv4({192, 168, 50, 5}, {203, 0, 113, 80}, 49153, 80, 1000,
                                         5000, TcpFlags::kPsh | TcpFlags::kAck, data);
  ASSERT_EQ(ip.size(), 40 + data.size());
  EXPECT_EQ(ip[9], kProtoTcp);
  EXPECT_EQ(ip[32], 0x50);
  EXPECT_EQ(ip[33], 0x18);
  EXPECT_EQ(InternetChecksum(Transport(ip), Pseudo(ip)), 0);
}

TEST(Packets, IcmpEcho) {
  const std::vector<uint8_t> data = {'p', 'i', 'n', 'g', '!'};
  std::vector<uint8_t> req = BuildIcmpEchoIpv4({1, 2, 3, 4}, {5, 6, 7, 8}, false, 1, 2, data);
  std::vector<uint8_t> rep = BuildIcmpEchoIpv4({5, 6, 7, 8}, {1, 2, 3, 4}, true, 1, 2, data);
  EXPECT_EQ(req[9], kProtoIcmp);
  EXPECT_EQ(req[20], 8);
  EXPECT_EQ(rep[20], 0);
  EXPECT_EQ(InternetChecksum(Transport(req)), 0);
  EXPECT_EQ(InternetChecksum(Transport(rep)), 0);
}

}  // namespace
}  // namespace tapvault::sim
