#include "sim/packets.h"

#include <charconv>

namespace tapvault::sim {
namespace {

void Put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void Put32(std::vector<uint8_t>& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void Set16(std::vector<uint8_t>& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}

uint32_t Sum16(std::span<const uint8_t> data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < data.size()) sum += uint32_t{data[i]} << 8;  // odd length: pad with a zero octet
  return sum;
}

// RFC 768 / RFC 793 pseudo-header sum: source, destination, zero, protocol, transport length.
uint32_t PseudoHeaderSum(const Ipv4& src, const Ipv4& dst, uint8_t protocol, size_t length) {
  uint32_t sum = Sum16(src, 0);
  sum = Sum16(dst, sum);
  return sum + protocol + static_cast<uint32_t>(length);
}

}  // namespace

std::optional<Ipv4> ParseIpv4(std::string_view text) {
  Ipv4 out{};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    unsigned v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || next == p || v > 255) return std::nullopt;
    out[i] = static_cast<uint8_t>(v);
    p = next;
    if (i < 3) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
  }
  if (p != end) return std::nullopt;
  return out;
}

std::vector<uint8_t> BuildRtp(const RtpHeader& h, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out;
  out.reserve(kRtpHeaderSize + payload.size());
  out.push_back(0x80);  // V=2, P=0, X=0, CC=0
  out.push_back(static_cast<uint8_t>((h.marker ? 0x80 : 0) | (h.payload_type & 0x7F)));
  Put16(out, h.seq);
  Put32(out, h.timestamp);
  Put32(out, h.ssrc);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

uint16_t InternetChecksum(std::span<const uint8_t> data, uint32_t initial_sum) {
  uint32_t sum = Sum16(data, initial_sum);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> BuildIpv4(const Ipv4& src, const Ipv4& dst, uint8_t protocol,
                               uint16_t identification, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out;
  out.reserve(kIpv4HeaderSize + payload.size());
  out.push_back(0x45);  // version 4, IHL 5 words
  out.push_back(0);     // DSCP/ECN
  Put16(out, static_cast<uint16_t>(kIpv4HeaderSize + payload.size()));
  Put16(out, identification);
  Put16(out, 0x4000);  // DF, fragment offset 0
  out.push_back(64);   // TTL
  out.push_back(protocol);
  Put16(out, 0);  // checksum, below
  out.insert(out.end(), src.begin(), src.end());
  out.insert(out.end(), dst.begin(), dst.end());
  Set16(out, 10, InternetChecksum(std::span(out).first(kIpv4HeaderSize)));
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<uint8_t> BuildUdpIpv4(const Ipv4& src, const Ipv4& dst, uint16_t src_port,
                                  uint16_t dst_port, std::span<const uint8_t> payload,
                                  uint16_t identification) {
  std::vector<uint8_t> udp;
  udp.reserve(kUdpHeaderSize + payload.size());
  Put16(udp, src_port);
  Put16(udp, dst_port);
  Put16(udp, static_cast<uint16_t>(kUdpHeaderSize + payload.size()));
  Put16(udp, 0);
  udp.insert(udp.end(), payload.begin(), payload.end());
  uint16_t sum = InternetChecksum(udp, PseudoHeaderSum(src, dst, kProtoUdp, udp.size()));
  Set16(udp, 6, sum == 0 ? 0xFFFF : sum);  // RFC 768: a computed 0 is sent as all ones
  return BuildIpv4(src, dst, kProtoUdp, identification, udp);
}

std::vector<uint8_t> BuildTcpIpv4(const Ipv4& src, const Ipv4& dst, uint16_t src_port,
                                  uint16_t dst_port, uint32_t seq, uint32_t ack, uint8_t flags,
                                  std::span<const uint8_t> payload, uint16_t identification) {
  std::vector<uint8_t> tcp;
  tcp.reserve(kTcpHeaderSize + payload.size());
  Put16(tcp, src_port);
  Put16(tcp, dst_port);
  Put32(tcp, seq);
  Put32(tcp, ack);
  tcp.push_back(0x50);  // data offset 5 words
  tcp.push_back(flags);
  Put16(tcp, 65535);  // window
  Put16(tcp, 0);      // checksum, below
  Put16(tcp, 0);      // urgent pointer
  tcp.insert(tcp.end(), payload.begin(), payload.end());
  Set16(tcp, 16, InternetChecksum(tcp, PseudoHeaderSum(src, dst, kProtoTcp, tcp.size())));
  return BuildIpv4(src, dst, kProtoTcp, identification, tcp);
}

std::vector<uint8_t> BuildIcmpEchoIpv4(const Ipv4& src, const Ipv4& dst, bool reply, uint16_t id,
                                       uint16_t seq, std::span<const uint8_t> data,
                                       uint16_t identification) {
  std::vector<uint8_t> icmp;
  icmp.push_back(reply ? 0 : 8);
  icmp.push_back(0);
  Put16(icmp, 0);
  Put16(icmp, id);
  Put16(icmp, seq);
  icmp.insert(icmp.end(), data.begin(), data.end());
  Set16(icmp, 2, InternetChecksum(icmp));
  return BuildIpv4(src, dst, kProtoIcmp, identification, icmp);
}

}  // namespace tapvault::sim
