// Builders of the packets that the simulated CC carries: RTP (RFC 3550) for IP multimedia, and
// IPv4 (RFC 791) datagrams with UDP (RFC 768), TCP (RFC 793) or ICMP echo (RFC 792) payloads,
// with correct checksums, for IP access CC and for RTP when it is delivered as IP packets.
//
//   std::vector<uint8_t> rtp = sim::BuildRtp({.payload_type = 0, .seq = 1, .timestamp = 160,
//                                             .ssrc = 0x1234}, payload);
//   std::vector<uint8_t> ip = sim::BuildUdpIpv4(src, dst, 4000, 5004, rtp);
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace tapvault::sim {

using Ipv4 = std::array<uint8_t, 4>;
// Dotted quad to bytes; nullopt if it is not one.
std::optional<Ipv4> ParseIpv4(std::string_view text);

struct RtpHeader {
  uint8_t payload_type = 0;  // 0 PCMU, 8 PCMA
  bool marker = false;
  uint16_t seq = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
};
constexpr size_t kRtpHeaderSize = 12;  // RFC 3550 5.1, no CSRC, no extension
std::vector<uint8_t> BuildRtp(const RtpHeader& header, std::span<const uint8_t> payload);

// RFC 1071 Internet checksum of `data` (folded one's-complement sum, complemented), with an
// optional initial sum (pseudo-header).
uint16_t InternetChecksum(std::span<const uint8_t> data, uint32_t initial_sum = 0);

constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;
constexpr size_t kIpv4HeaderSize = 20, kUdpHeaderSize = 8, kTcpHeaderSize = 20;

// IPv4 header (no options, TTL 64, DF) + `payload` (an already built transport segment).
std::vector<uint8_t> BuildIpv4(const Ipv4& src, const Ipv4& dst, uint8_t protocol,
                               uint16_t identification, std::span<const uint8_t> payload);
std::vector<uint8_t> BuildUdpIpv4(const Ipv4& src, const Ipv4& dst, uint16_t src_port,
                                  uint16_t dst_port, std::span<const uint8_t> payload,
                                  uint16_t identification = 0);
struct TcpFlags {
  static constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
};
std::vector<uint8_t> BuildTcpIpv4(const Ipv4& src, const Ipv4& dst, uint16_t src_port,
                                  uint16_t dst_port, uint32_t seq, uint32_t ack, uint8_t flags,
                                  std::span<const uint8_t> payload, uint16_t identification = 0);
// ICMP echo request (type 8) or reply (type 0).
std::vector<uint8_t> BuildIcmpEchoIpv4(const Ipv4& src, const Ipv4& dst, bool reply,
                                       uint16_t id, uint16_t seq, std::span<const uint8_t> data,
                                       uint16_t identification = 0);

}  // namespace tapvault::sim
