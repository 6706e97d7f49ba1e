#include "media/rtp.h"

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "base/strings.h"
#include "media/g711.h"

namespace tapvault::media {
namespace {

constexpr uint8_t kIpProtoUdp = 17;
constexpr size_t kIpv4MinHeader = 20;      // RFC 791 3.1, IHL = 5
constexpr size_t kIpv6Header = 40;         // RFC 8200 3
constexpr size_t kUdpHeader = 8;           // RFC 768
constexpr size_t kRtpFixedHeader = 12;     // RFC 3550 5.1
constexpr int kMaxIpv6ExtensionHeaders = 8;
constexpr int64_t kUsPerSample = 125;      // 8 kHz

absl::Status Bad(std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("media: ", what));
}

uint16_t Be16(base::Bytes b, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) |
                               static_cast<uint8_t>(b[at + 1]));
}
uint32_t Be32(base::Bytes b, size_t at) {
  return (uint32_t{Be16(b, at)} << 16) | Be16(b, at + 2);
}

void CopyAddress(base::Bytes from, std::array<uint8_t, 16>& to) {
  for (size_t i = 0; i < from.size() && i < to.size(); ++i) to[i] = static_cast<uint8_t>(from[i]);
}

}  // namespace

absl::StatusOr<base::Bytes> ParseUdp(base::Bytes datagram) {
  if (datagram.size() < kUdpHeader) return Bad("udp: shorter than its header");
  const uint16_t length = Be16(datagram, 4);
  if (length < kUdpHeader) return Bad("udp: length field below 8");
  if (length > datagram.size()) return Bad("udp: length field beyond the packet");
  return datagram.subspan(kUdpHeader, length - kUdpHeader);
}

absl::StatusOr<UdpDatagram> ParseUdpInIp(base::Bytes ip) {
  if (ip.empty()) return Bad("ip: empty");
  UdpDatagram out;
  const uint8_t version = static_cast<uint8_t>(ip[0]) >> 4;
  uint8_t protocol = 0;
  base::Bytes transport;
  if (version == 4) {
    if (ip.size() < kIpv4MinHeader) return Bad("ipv4: shorter than its header");
    const size_t header_len = size_t{static_cast<uint8_t>(ip[0]) & 0x0Fu} * 4;
    const size_t total_len = Be16(ip, 2);
    if (header_len < kIpv4MinHeader) return Bad("ipv4: IHL below 5");
    if (total_len < header_len) return Bad("ipv4: total length below the header length");
    if (total_len > ip.size()) return Bad("ipv4: total length beyond the packet");
    const uint16_t fragment = Be16(ip, 6);
    if ((fragment & 0x3FFF) != 0) {  // MF flag or a fragment offset (RFC 791 3.1)
      return absl::UnimplementedError("media: ipv4: fragment (not reassembled)");
    }
    protocol = static_cast<uint8_t>(ip[9]);
    CopyAddress(ip.subspan(12, 4), out.src);
    CopyAddress(ip.subspan(16, 4), out.dst);
    transport = ip.subspan(header_len, total_len - header_len);
  } else if (version == 6) {
    if (ip.size() < kIpv6Header) return Bad("ipv6: shorter than its header");
    const size_t payload_len = Be16(ip, 4);
    if (kIpv6Header + payload_len > ip.size()) return Bad("ipv6: payload length beyond the packet");
    protocol = static_cast<uint8_t>(ip[6]);
    CopyAddress(ip.subspan(8, 16), out.src);
    CopyAddress(ip.subspan(24, 16), out.dst);
    transport = ip.subspan(kIpv6Header, payload_len);
    // RFC 8200 4.1: hop-by-hop (0), routing (43), destination options (60) share the layout
    // {next header, length in 8-octet units not counting the first 8}.
    for (int n = 0; protocol == 0 || protocol == 43 || protocol == 60; ++n) {
      if (n == kMaxIpv6ExtensionHeaders) return Bad("ipv6: too many extension headers");
      if (transport.size() < 2) return Bad("ipv6: truncated extension header");
      const size_t len = (size_t{static_cast<uint8_t>(transport[1])} + 1) * 8;
      if (len > transport.size()) return Bad("ipv6: extension header beyond the packet");
      protocol = static_cast<uint8_t>(transport[0]);
      transport = transport.subspan(len);
    }
    if (protocol == 44) return absl::UnimplementedError("media: ipv6: fragment (not reassembled)");
  } else {
    return Bad(base::StrCat("ip: version ", int{version}));
  }
  out.ip_version = version;
  if (protocol != kIpProtoUdp) {
    return absl::NotFoundError(base::StrCat("media: ip: protocol ", int{protocol}, ", not UDP"));
  }
  if (transport.size() < kUdpHeader) return Bad("udp: shorter than its header");
  out.src_port = Be16(transport, 0);
  out.dst_port = Be16(transport, 2);
  absl::StatusOr<base::Bytes> payload = ParseUdp(transport);
  if (!payload.ok()) return payload.status();
  out.payload = *payload;
  return out;
}

absl::StatusOr<RtpPacket> ParseRtp(base::Bytes packet) {
  if (packet.size() < kRtpFixedHeader) return Bad("rtp: shorter than the fixed header");
  const uint8_t b0 = static_cast<uint8_t>(packet[0]);
  const uint8_t b1 = static_cast<uint8_t>(packet[1]);
  if ((b0 >> 6) != 2) return Bad(base::StrCat("rtp: version ", b0 >> 6));
  RtpPacket out;
  const bool padding = (b0 & 0x20) != 0;
  out.has_extension = (b0 & 0x10) != 0;
  out.csrc_count = b0 & 0x0F;
  out.marker = (b1 & 0x80) != 0;
  out.payload_type = b1 & 0x7F;
  out.sequence_number = Be16(packet, 2);
  out.timestamp = Be32(packet, 4);
  out.ssrc = Be32(packet, 8);
  size_t pos = kRtpFixedHeader + size_t{out.csrc_count} * 4;
  if (pos > packet.size()) return Bad("rtp: CSRC list beyond the packet");
  if (out.has_extension) {  // RFC 3550 5.3.1: profile (16), length in 32-bit words (16), data
    if (pos + 4 > packet.size()) return Bad("rtp: extension header beyond the packet");
    out.extension_profile = Be16(packet, pos);
    const size_t words = Be16(packet, pos + 2);
    pos += 4;
    if (words * 4 > packet.size() - pos) return Bad("rtp: extension beyond the packet");
    out.extension = packet.subspan(pos, words * 4);
    pos += words * 4;
  }
  size_t end = packet.size();
  if (padding) {  // RFC 3550 5.1 P: the last octet counts the padding, itself included
    const uint8_t count = static_cast<uint8_t>(packet[end - 1]);
    if (count == 0) return Bad("rtp: padding count 0");
    if (count > end - pos) return Bad("rtp: padding longer than the payload");
    out.padding = count;
    end -= count;
  }
  out.payload = packet.subspan(pos, end - pos);
  return out;
}

ReceivedRtp ReceivedRtp::From(const RtpPacket& p, int64_t capture_us) {
  return {.sequence_number = p.sequence_number,
          .timestamp = p.timestamp,
          .payload_type = p.payload_type,
          .capture_us = capture_us,
          .payload = std::string(base::AsString(p.payload))};
}

absl::StatusOr<std::vector<PcmSegment>> AssembleRtpStream(const std::vector<ReceivedRtp>& packets,
                                                          const AssembleOptions& options,
                                                          RtpStreamStats* stats) {
  RtpStreamStats local;
  RtpStreamStats& st = stats ? *stats : local;
  st = RtpStreamStats{};
  st.packets = packets.size();
  std::vector<PcmSegment> segments;
  if (packets.empty()) return segments;

  // RFC 3550 A.1: extend the 16-bit sequence number against the highest one seen so far.
  struct Entry {
    int64_t ext_seq;
    size_t index;  // arrival order
  };
  std::vector<Entry> order;
  order.reserve(packets.size());
  int64_t max_seq = packets[0].sequence_number;
  for (size_t i = 0; i < packets.size(); ++i) {
    const int16_t delta =
        static_cast<int16_t>(packets[i].sequence_number - static_cast<uint16_t>(max_seq));
    const int64_t ext = max_seq + delta;
    if (ext < max_seq) ++st.reordered;
    max_seq = std::max(max_seq, ext);
    order.push_back({ext, i});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry& a, const Entry& b) { return a.ext_seq < b.ext_seq; });
  // Keep the first arrival of each sequence number.
  std::vector<Entry> unique;
  unique.reserve(order.size());
  for (const Entry& e : order) {
    if (!unique.empty() && unique.back().ext_seq == e.ext_seq) {
      ++st.duplicates;
      continue;
    }
    unique.push_back(e);
  }
  st.lost = static_cast<uint64_t>(unique.back().ext_seq - unique.front().ext_seq + 1) -
            unique.size();

  // Walk in sequence order; within a segment, a packet's position is its RTP timestamp minus
  // the segment's first (timestamps extended across 2^32 like the sequence numbers).
  PcmSegment* seg = nullptr;
  int64_t seg_ts0 = 0;    // extended timestamp of the segment's sample 0
  int64_t prev_ts = 0;    // extended timestamp of the previous G.711 packet
  std::vector<int16_t> pcm;
  for (const Entry& e : unique) {
    const ReceivedRtp& p = packets[e.index];
    std::optional<G711Law> law = G711LawOfPayloadType(p.payload_type);
    if (!law) {
      ++st.non_g711;
      continue;
    }
    if (p.payload.empty()) continue;
    const int64_t ts = seg ? prev_ts + static_cast<int32_t>(p.timestamp -
                                                            static_cast<uint32_t>(prev_ts))
                           : int64_t{p.timestamp};
    const int64_t n = static_cast<int64_t>(p.payload.size());
    int64_t pos = seg ? ts - seg_ts0 : 0;
    const int64_t cursor = seg ? static_cast<int64_t>(seg->samples.size()) : 0;
    if (seg == nullptr || pos - cursor > int64_t{options.max_gap_samples} || pos < cursor - n) {
      seg = &segments.emplace_back();
      seg->start_us = std::numeric_limits<int64_t>::max();
      seg_ts0 = ts;
      pos = 0;
      ++st.segments;
      if (st.first_payload_type < 0) st.first_payload_type = p.payload_type;
    }
    prev_ts = ts;
    const int64_t at = static_cast<int64_t>(seg->samples.size());
    pcm.clear();
    AppendG711(base::AsBytes(p.payload), *law, pcm);
    size_t skip = 0;
    if (pos > at) {
      st.gap_samples += static_cast<uint64_t>(pos - at);
    } else if (pos < at) {
      skip = static_cast<size_t>(at - pos);  // <= n by the segment test above
      st.overlap_samples += skip;
    }
    const uint64_t grow = static_cast<uint64_t>(std::max<int64_t>(pos - at, 0)) + pcm.size() - skip;
    if (st.samples + grow > options.max_samples) {
      return absl::ResourceExhaustedError(base::StrCat(
          "media: rtp stream longer than ", options.max_samples, " samples"));
    }
    st.samples += grow;
    if (pos > at) seg->samples.resize(static_cast<size_t>(pos), 0);
    seg->samples.insert(seg->samples.end(), pcm.begin() + static_cast<ptrdiff_t>(skip), pcm.end());
    seg->start_us = std::min(seg->start_us, p.capture_us - pos * kUsPerSample);
  }
  return segments;
}

}  // namespace tapvault::media
