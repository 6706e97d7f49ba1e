// RTP (RFC 3550) voice from intercepted content: finding the UDP payload in an IPv4/IPv6 packet,
// parsing the RTP header, and turning one stream's packets (one SSRC, in arrival order) into
// 8 kHz linear PCM: ordered by sequence number across wrap-around, duplicates dropped, gaps filled
// with silence from the RTP timestamps, G.711 (PT 0 / 8) decoded.
//
//   ASSIGN_OR_RETURN(media::UdpDatagram udp, media::ParseUdpInIp(ip_packet));
//   ASSIGN_OR_RETURN(media::RtpPacket rtp, media::ParseRtp(udp.payload));
//   packets.push_back(media::ReceivedRtp::From(rtp, capture_us));
//   ...
//   media::RtpStreamStats stats;
//   ASSIGN_OR_RETURN(auto segments, media::AssembleRtpStream(packets, {}, &stats));
//
// Parsers take untrusted bytes and never read outside them; views in their results point into
// the input and live as long as it does. Errors: InvalidArgument (malformed: short, bad version,
// lengths that do not fit), NotFound (a valid IP packet that is not UDP), Unimplemented (an IP
// fragment: reassembly is not done). AssembleRtpStream: ResourceExhausted past max_samples.
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"

namespace tapvault::media {

struct UdpDatagram {
  uint8_t ip_version = 0;             // 4 or 6
  std::array<uint8_t, 16> src{};      // IPv4: first 4 bytes
  std::array<uint8_t, 16> dst{};
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  base::Bytes payload;                // the UDP payload (by the UDP length field)
};

// IPv4 (RFC 791; options skipped) or IPv6 (RFC 8200; hop-by-hop, routing and destination
// options extension headers skipped, at most 8) carrying UDP (RFC 768). Bytes after the IP total
// length (link padding) are ignored. The UDP checksum is not verified: intercepted content is
// evidence as captured, and the mediator may have rewritten headers.
absl::StatusOr<UdpDatagram> ParseUdpInIp(base::Bytes ip_packet);
// A bare UDP datagram (header + payload), e.g. TS 102 232-5 udpFrame: the payload.
absl::StatusOr<base::Bytes> ParseUdp(base::Bytes datagram);

struct RtpPacket {
  bool marker = false;
  uint8_t payload_type = 0;
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint32_t ssrc = 0;
  uint8_t csrc_count = 0;
  bool has_extension = false;
  uint16_t extension_profile = 0;     // RFC 3550 5.3.1 "defined by profile"
  base::Bytes extension;              // the extension's data words (without its 4-byte header)
  uint8_t padding = 0;                // padding octets removed from the end (P bit), else 0
  base::Bytes payload;                // after CSRCs and extension, without padding
};

// RFC 3550 5.1: version must be 2; the CSRC list, the header extension (5.3.1) and the padding
// (count in the last octet, at least 1, not more than what follows the header) must fit.
absl::StatusOr<RtpPacket> ParseRtp(base::Bytes packet);

// What the assembler keeps of one packet (payload copied: the source buffer is usually reused).
struct ReceivedRtp {
  uint16_t sequence_number = 0;
  uint32_t timestamp = 0;
  uint8_t payload_type = 0;
  int64_t capture_us = 0;             // when the packet was intercepted (PDU timestamp)
  std::string payload;
  static ReceivedRtp From(const RtpPacket& p, int64_t capture_us);
};

struct AssembleOptions {
  // Gaps in the RTP timestamps up to this many samples (8 kHz) are filled with silence; a larger
  // jump forward, or a jump backward by more than the packet, starts a new segment that is placed
  // by its capture time instead (a timestamp reset, or bogus timestamps, cannot allocate hours).
  uint32_t max_gap_samples = 5 * 8000;
  // ResourceExhausted when the stream's segments hold more samples than this in total.
  uint64_t max_samples = uint64_t{4} * 3600 * 8000;
};

// A run of contiguous audio. start_us: the capture time of its first sample, estimated as the
// earliest (capture time - position in the run), i.e. from the least-delayed packet.
struct PcmSegment {
  int64_t start_us = 0;
  std::vector<int16_t> samples;       // 8 kHz, 16-bit linear
};

struct RtpStreamStats {
  uint64_t packets = 0;               // given
  uint64_t duplicates = 0;            // same (extended) sequence number again: dropped
  uint64_t reordered = 0;             // arrived after a packet with a higher sequence number
  uint64_t lost = 0;                  // sequence numbers missing between first and last
  uint64_t non_g711 = 0;              // payload type other than 0/8 (DTMF events, CN, ...): skipped
  uint64_t gap_samples = 0;           // silence inserted for timestamp gaps
  uint64_t overlap_samples = 0;       // samples dropped where a packet overlapped the previous
  uint64_t segments = 0;
  uint64_t samples = 0;               // total in the segments
  int first_payload_type = -1;        // of the first G.711 packet in sequence order; -1: none
};

// `packets`: one SSRC's packets in arrival order. Sequence numbers are extended to 64 bits
// against the highest seen so far (RFC 3550 A.1), so wrap-around from 65535 to 0 orders right
// as long as reordering spans less than 32768 packets. Each packet's law comes from its own
// payload type (a stream may switch PCMU <-> PCMA). Segments are in sequence order.
absl::StatusOr<std::vector<PcmSegment>> AssembleRtpStream(const std::vector<ReceivedRtp>& packets,
                                                          const AssembleOptions& options,
                                                          RtpStreamStats* stats);

}  // namespace tapvault::media
