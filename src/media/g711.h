// ITU-T G.711 decoding (µ-law and A-law) to 16-bit linear PCM, for turning intercepted RTP voice
// (RTP/AVP payload types 0 PCMU and 8 PCMA, RFC 3551 4.5.14) into WAV.
//
//   std::vector<int16_t> pcm;
//   media::AppendG711(payload, media::G711Law::kAlaw, pcm);
//   int16_t s = media::UlawToLinear(0xFF);   // 0
//
// Each code decodes to the midpoint of its quantisation interval (G.711 Tables 1a/2a), scaled to
// 16 bits: A-law's 13-bit values times 8, µ-law's 14-bit values times 4 (so full scale is
// +-32256 A-law, +-32124 µ-law). Decoding goes through 256-entry tables built at compile time.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/byte_reader.h"

namespace tapvault::media {

enum class G711Law : uint8_t { kUlaw, kAlaw };

// RTP static payload types of G.711 (RFC 3551 table 4).
inline constexpr uint8_t kRtpPayloadPcmu = 0;
inline constexpr uint8_t kRtpPayloadPcma = 8;
// kUlaw for 0, kAlaw for 8, nullopt for every other payload type.
std::optional<G711Law> G711LawOfPayloadType(uint8_t payload_type);

int16_t UlawToLinear(uint8_t code);
int16_t AlawToLinear(uint8_t code);

// Appends one linear sample per code of `codes` to `out`.
void AppendG711(base::Bytes codes, G711Law law, std::vector<int16_t>& out);

}  // namespace tapvault::media
