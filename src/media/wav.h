// The voice content of a stored communication as a WAV file: the RTP G.711 (PCMU / PCMA) it
// carries, decoded to 16-bit linear PCM at 8000 Hz, one direction per stereo channel (or mixed
// to mono), the channels aligned by capture time.
//
//   media::VoiceStats stats;
//   ASSIGN_OR_RETURN(std::string wav, media::VoiceContentToWav(records, {}, &stats));
//
// Where the RTP comes from (CC payload items of the records' PS-PDUs, decoded by li_ps):
//   IPMMCC (TS 102 232-5) frameType rtpFrame / artificialRtpFrame: the RTP packet;
//   IPMMCC ipFrame and IPCC (TS 102 232-3): an IPv4/IPv6 packet whose UDP payload is RTP;
//   IPMMCC udpFrame: a UDP datagram whose payload is RTP;
//   IPMMCC without frameType: IP or RTP, told apart by the first octet.
// Other CC (PSTN bearer, TCP, MSRP, non-RTP UDP, non-G.711 payload types) is counted, not played.
//
// Streams are RTP SSRCs. Each is ordered and gap-filled by rtp.h's AssembleRtpStream, and its
// segments are placed on a common timeline by capture time (the PDU timeStamp), sample 0 being
// the earliest audio of the communication. Channel assignment (kStereo):
//   kFirstAppearance: the first SSRC seen goes left, the second right; a later SSRC joins the
//     channel whose stream had the same CC payloadDirection, else alternates (mixed in).
//   kDirection: fromTarget left, toTarget right; a stream without a direction takes the channel
//     with fewer streams (left on a tie), in order of first appearance.
// Overlapping audio on one channel is added with 16-bit saturation. Memory: the output plus the
// decoded samples (about twice the file size; a 4 h stereo call is a 460 MB file).
//
// Errors: FailedPrecondition("no G.711 RTP in this communication") when nothing decodes to audio;
// ResourceExhausted when the audio would be longer than options.max_duration_s.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "media/rtp.h"
#include "proto/record/record.h"
#include "store/store.h"

namespace tapvault::media {

inline constexpr uint32_t kVoiceSampleRateHz = 8000;
inline constexpr size_t kWavHeaderSize = 44;  // RIFF(12) + fmt chunk(8 + 16) + data header(8)

enum class WavLayout : uint8_t { kStereo, kMono };
enum class ChannelOrder : uint8_t { kFirstAppearance, kDirection };

struct WavOptions {
  WavLayout layout = WavLayout::kStereo;
  ChannelOrder order = ChannelOrder::kFirstAppearance;
  uint32_t max_gap_ms = 5000;                 // longer timestamp gaps: new segment (rtp.h)
  uint32_t max_duration_s = 4 * 3600;         // of the output timeline
};

struct VoiceStreamStats {
  uint32_t ssrc = 0;
  proto::Direction direction = proto::Direction::kAbsent;  // of its first packet's CC
  int channel = -1;                   // 0 left / mono, 1 right; -1: no audio
  int payload_type = -1;              // first G.711 payload type (0 PCMU, 8 PCMA)
  int64_t start_us = 0;               // capture time of its first sample
  RtpStreamStats rtp;
};

struct VoiceStats {
  uint64_t records = 0;
  uint64_t cc = 0;                    // CC payload items
  uint64_t rtp_packets = 0;           // CC items that parsed as RTP
  uint64_t non_rtp_cc = 0;            // CC items without RTP (see the header comment)
  uint64_t iri = 0;
  uint64_t other = 0;                 // TRI/HI1 items, system records
  uint64_t undecodable = 0;           // records whose PDU did not decode (skipped)
  std::vector<VoiceStreamStats> streams;  // in order of first appearance
  int channels = 0;
  int64_t start_us = 0;               // capture time of sample 0
  uint64_t samples_per_channel = 0;
};

absl::StatusOr<std::string> VoiceContentToWav(
    const std::vector<store::ContentReader::Record>& records, const WavOptions& options,
    VoiceStats* stats);

// The 44-byte canonical header of a 16-bit PCM WAV (format tag 1) at `sample_rate_hz`, for
// `data_bytes` of interleaved little-endian samples. REQUIRES: data_bytes <= 0xFFFFFFFF - 36.
std::string WavHeader(uint16_t channels, uint32_t sample_rate_hz, uint32_t data_bytes);

}  // namespace tapvault::media
