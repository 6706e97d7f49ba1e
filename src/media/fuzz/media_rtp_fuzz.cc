// libFuzzer target: media/ RTP and IP/UDP parsing and stream assembly. Input: the bytes of one
// IP packet, UDP datagram or RTP packet (all three parsers run on it), then, split at 0xFF 0x00
// markers, a sequence of RTP packets assembled as one stream. Checks: no crash, payload views
// inside the input, assembly bounded by the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "media/rtp.h"

namespace {
bool Inside(tapvault::base::Bytes view, tapvault::base::Bytes input) {
  return view.empty() ||
         (view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tapvault::media;
  if (size > 64 * 1024) return 0;
  tapvault::base::Bytes input(reinterpret_cast<const std::byte*>(data), size);

  absl::StatusOr<UdpDatagram> udp = ParseUdpInIp(input);
  if (udp.ok() && !Inside(udp->payload, input)) std::abort();
  absl::StatusOr<tapvault::base::Bytes> bare = ParseUdp(input);
  if (bare.ok() && !Inside(*bare, input)) std::abort();
  absl::StatusOr<RtpPacket> rtp = ParseRtp(input);
  if (rtp.ok() && (!Inside(rtp->payload, input) || !Inside(rtp->extension, input))) std::abort();

  std::vector<ReceivedRtp> packets;
  size_t start = 0;
  for (size_t i = 0; i <= size; ++i) {
    if (i == size || (i + 1 < size && data[i] == 0xFF && data[i + 1] == 0x00)) {
      absl::StatusOr<RtpPacket> p = ParseRtp(input.subspan(start, i - start));
      if (p.ok()) packets.push_back(ReceivedRtp::From(*p, static_cast<int64_t>(i) * 20'000));
      start = i + 2;
      ++i;
    }
  }
  const AssembleOptions options{.max_gap_samples = 16000, .max_samples = 200'000};
  RtpStreamStats stats;
  absl::StatusOr<std::vector<PcmSegment>> segments = AssembleRtpStream(packets, options, &stats);
  if (segments.ok()) {
    uint64_t total = 0;
    for (const PcmSegment& s : *segments) total += s.samples.size();
    if (total != stats.samples || total > options.max_samples) std::abort();
  }
  return 0;
}
