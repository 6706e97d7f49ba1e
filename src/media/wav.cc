#include "media/wav.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "base/strings.h"
#include "media/internal/cc_scan.h"

namespace tapvault::media {
namespace {

void PutLe16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>(v >> 8));
}
void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// The RTP packet a CC item carries, if any.
absl::StatusOr<RtpPacket> RtpOf(const internal::CcItem& cc) {
  switch (cc.form) {
    case internal::CcForm::kRtp:
      return ParseRtp(cc.content);
    case internal::CcForm::kIpPacket: {
      absl::StatusOr<UdpDatagram> udp = ParseUdpInIp(cc.content);
      if (!udp.ok()) return udp.status();
      return ParseRtp(udp->payload);
    }
    case internal::CcForm::kUdpDatagram: {
      absl::StatusOr<base::Bytes> payload = ParseUdp(cc.content);
      if (!payload.ok()) return payload.status();
      return ParseRtp(*payload);
    }
    default:
      return absl::NotFoundError("media: no RTP in this CC");
  }
}

struct Stream {
  uint32_t ssrc;
  proto::Direction direction;
  std::vector<ReceivedRtp> packets;
  std::vector<PcmSegment> segments;
  int channel = -1;
};

bool KnownDirection(proto::Direction d) {
  return d == proto::Direction::kFromTarget || d == proto::Direction::kToTarget;
}

// Channel of each stream with audio (header comment of wav.h).
void AssignChannels(std::vector<Stream>& streams, const WavOptions& options) {
  if (options.layout == WavLayout::kMono) {
    for (Stream& s : streams) s.channel = s.segments.empty() ? -1 : 0;
    return;
  }
  int count[2] = {0, 0};
  if (options.order == ChannelOrder::kDirection) {
    for (Stream& s : streams) {
      if (s.segments.empty() || !KnownDirection(s.direction)) continue;
      s.channel = s.direction == proto::Direction::kFromTarget ? 0 : 1;
      ++count[s.channel];
    }
    for (Stream& s : streams) {
      if (s.segments.empty() || KnownDirection(s.direction)) continue;
      s.channel = count[1] < count[0] ? 1 : 0;
      ++count[s.channel];
    }
    return;
  }
  proto::Direction channel_direction[2] = {proto::Direction::kAbsent, proto::Direction::kAbsent};
  int assigned = 0;
  for (Stream& s : streams) {
    if (s.segments.empty()) continue;
    if (assigned < 2) {
      s.channel = assigned;
    } else if (KnownDirection(s.direction) && s.direction == channel_direction[0]) {
      s.channel = 0;
    } else if (KnownDirection(s.direction) && s.direction == channel_direction[1]) {
      s.channel = 1;
    } else {
      s.channel = assigned % 2;
    }
    if (assigned < 2) channel_direction[assigned] = s.direction;
    ++assigned;
  }
}

}  // namespace

std::string WavHeader(uint16_t channels, uint32_t sample_rate_hz, uint32_t data_bytes) {
  constexpr uint16_t kBitsPerSample = 16;
  constexpr uint16_t kFormatPcm = 1;  // WAVE_FORMAT_PCM
  const uint16_t block_align = static_cast<uint16_t>(channels * kBitsPerSample / 8);
  std::string h;
  h.reserve(kWavHeaderSize);
  h.append("RIFF");
  PutLe32(h, 36 + data_bytes);  // the rest of the file: "WAVE" + fmt chunk + data chunk
  h.append("WAVE");
  h.append("fmt ");
  PutLe32(h, 16);
  PutLe16(h, kFormatPcm);
  PutLe16(h, channels);
  PutLe32(h, sample_rate_hz);
  PutLe32(h, sample_rate_hz * block_align);  // byte rate
  PutLe16(h, block_align);
  PutLe16(h, kBitsPerSample);
  h.append("data");
  PutLe32(h, data_bytes);
  return h;
}

absl::StatusOr<std::string> VoiceContentToWav(
    const std::vector<store::ContentReader::Record>& records, const WavOptions& options,
    VoiceStats* stats) {
  VoiceStats local;
  VoiceStats& st = stats ? *stats : local;
  st = VoiceStats{};

  // 1. Collect RTP packets by SSRC, in arrival order.
  std::vector<Stream> streams;
  absl::flat_hash_map<uint32_t, size_t> by_ssrc;
  internal::CcScanCounts counts;
  internal::ScanCc(records, counts, [&](const internal::CcItem& cc) {
    absl::StatusOr<RtpPacket> rtp = RtpOf(cc);
    if (!rtp.ok()) {
      ++st.non_rtp_cc;
      return;
    }
    ++st.rtp_packets;
    auto [it, inserted] = by_ssrc.try_emplace(rtp->ssrc, streams.size());
    if (inserted) streams.push_back({.ssrc = rtp->ssrc, .direction = cc.direction, .packets = {}});
    streams[it->second].packets.push_back(ReceivedRtp::From(*rtp, cc.time_us));
  });
  st.records = counts.records;
  st.cc = counts.cc;
  st.iri = counts.iri;
  st.other = counts.other;
  st.undecodable = counts.undecodable;

  // 2. Each stream to PCM segments.
  const uint64_t max_samples = uint64_t{options.max_duration_s} * kVoiceSampleRateHz;
  const AssembleOptions assemble{
      .max_gap_samples = static_cast<uint32_t>(
          std::min<uint64_t>(uint64_t{options.max_gap_ms} * kVoiceSampleRateHz / 1000,
                             std::numeric_limits<uint32_t>::max())),
      .max_samples = max_samples};
  st.streams.reserve(streams.size());
  bool any_audio = false;
  for (Stream& s : streams) {
    VoiceStreamStats& ss = st.streams.emplace_back();
    ss.ssrc = s.ssrc;
    ss.direction = s.direction;
    absl::StatusOr<std::vector<PcmSegment>> segments =
        AssembleRtpStream(s.packets, assemble, &ss.rtp);
    if (!segments.ok()) return segments.status();
    s.segments = *std::move(segments);
    s.packets = {};
    ss.payload_type = ss.rtp.first_payload_type;
    if (!s.segments.empty()) {
      any_audio = true;
      ss.start_us = s.segments.front().start_us;
      for (const PcmSegment& seg : s.segments) ss.start_us = std::min(ss.start_us, seg.start_us);
    }
  }
  if (!any_audio) return absl::FailedPreconditionError("no G.711 RTP in this communication");

  // 3. Channels and the common timeline.
  AssignChannels(streams, options);
  const int channels = options.layout == WavLayout::kMono ? 1 : 2;
  int64_t t0 = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < streams.size(); ++i) {
    st.streams[i].channel = streams[i].channel;
    if (!streams[i].segments.empty()) t0 = std::min(t0, st.streams[i].start_us);
  }
  // In samples, rounded to the nearest. seg.start_us >= t0; the span is checked against the
  // limit before it is multiplied (capture times are whatever the mediator sent).
  auto offset_of = [&](const PcmSegment& seg) {
    return (static_cast<uint64_t>(seg.start_us - t0) * (kVoiceSampleRateHz / 1000) + 500) / 1000;
  };
  const uint64_t max_span_us = uint64_t{options.max_duration_s} * 1'000'000;
  uint64_t length = 0;
  for (const Stream& s : streams) {
    for (const PcmSegment& seg : s.segments) {
      const bool span_ok = static_cast<uint64_t>(seg.start_us - t0) <= max_span_us;
      const uint64_t offset = span_ok ? offset_of(seg) : 0;
      if (!span_ok || offset > max_samples || seg.samples.size() > max_samples - offset) {
        return absl::ResourceExhaustedError(base::StrCat(
            "media: voice longer than ", options.max_duration_s, " s (capture times span ",
            (seg.start_us - t0) / 1'000'000, " s)"));
      }
      length = std::max<uint64_t>(length, offset + seg.samples.size());
    }
  }
  const uint64_t data_bytes = length * static_cast<uint64_t>(channels) * 2;
  if (data_bytes > 0xFFFFFFFFull - 36) {
    return absl::ResourceExhaustedError("media: voice too long for a WAV file (4 GiB)");
  }

  // 4. Mix straight into the output (one buffer of the file's size): overlapping audio of a
  // channel is added with saturation.
  std::string out = WavHeader(static_cast<uint16_t>(channels), kVoiceSampleRateHz,
                              static_cast<uint32_t>(data_bytes));
  out.resize(kWavHeaderSize + data_bytes, '\0');
  for (const Stream& s : streams) {
    for (const PcmSegment& seg : s.segments) {
      const size_t frame = static_cast<size_t>(offset_of(seg));
      size_t at = kWavHeaderSize + (frame * channels + static_cast<size_t>(s.channel)) * 2;
      for (int16_t v : seg.samples) {
        const int16_t old = static_cast<int16_t>(static_cast<uint8_t>(out[at]) |
                                                 (static_cast<uint8_t>(out[at + 1]) << 8));
        const auto sum = static_cast<uint16_t>(
            static_cast<int16_t>(std::clamp<int32_t>(int32_t{old} + v, -32768, 32767)));
        out[at] = static_cast<char>(sum & 0xFF);
        out[at + 1] = static_cast<char>(sum >> 8);
        at += static_cast<size_t>(channels) * 2;
      }
    }
  }
  st.channels = channels;
  st.start_us = t0;
  st.samples_per_channel = length;
  return out;
}

}  // namespace tapvault::media
