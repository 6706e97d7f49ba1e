#include "media/g711.h"

#include <array>

namespace tapvault::media {
namespace {

// G.711 Table 2a (µ-law): the code is transmitted inverted; after inversion bit 7 is the sign
// (1 = negative), bits 6..4 the segment, bits 3..0 the step. The decoder output of segment s,
// step m is (2^(s+1)) * (m + 16.5) - 33 in 14-bit units; times 4 for 16 bits that is
// ((m << 3) + 132) << s) - 132.
constexpr int16_t UlawFormula(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(~code);
  const int segment = (c >> 4) & 0x07;
  const int step = c & 0x0F;
  const int magnitude = (((step << 3) + 132) << segment) - 132;
  return static_cast<int16_t>((c & 0x80) ? -magnitude : magnitude);
}

// G.711 Table 1a (A-law): even bits are inverted on the line (XOR 0x55); then bit 7 is the sign
// (1 = positive), bits 6..4 the segment, bits 3..0 the step. Decoder output in 12-bit units:
// segment 0: 2m + 1; segment s >= 1: 2^s * (m + 16.5). Times 8 for 16 bits.
constexpr int16_t AlawFormula(uint8_t code) {
  const uint8_t c = static_cast<uint8_t>(code ^ 0x55);
  const int segment = (c >> 4) & 0x07;
  const int step = c & 0x0F;
  const int magnitude =
      segment == 0 ? (step << 4) + 8 : ((step << 4) + 264) << (segment - 1);
  return static_cast<int16_t>((c & 0x80) ? magnitude : -magnitude);
}

template <int16_t (*Formula)(uint8_t)>
constexpr std::array<int16_t, 256> BuildTable() {
  std::array<int16_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[i] = Formula(static_cast<uint8_t>(i));
  return t;
}

constexpr std::array<int16_t, 256> kUlaw = BuildTable<UlawFormula>();
constexpr std::array<int16_t, 256> kAlaw = BuildTable<AlawFormula>();

static_assert(kUlaw[0xFF] == 0 && kUlaw[0x00] == -32124 && kUlaw[0x80] == 32124);
static_assert(kAlaw[0xD5] == 8 && kAlaw[0x55] == -8 && kAlaw[0xAA] == 32256);

}  // namespace

std::optional<G711Law> G711LawOfPayloadType(uint8_t payload_type) {
  if (payload_type == kRtpPayloadPcmu) return G711Law::kUlaw;
  if (payload_type == kRtpPayloadPcma) return G711Law::kAlaw;
  return std::nullopt;
}

int16_t UlawToLinear(uint8_t code) { return kUlaw[code]; }
int16_t AlawToLinear(uint8_t code) { return kAlaw[code]; }

void AppendG711(base::Bytes codes, G711Law law, std::vector<int16_t>& out) {
  const std::array<int16_t, 256>& table = law == G711Law::kUlaw ? kUlaw : kAlaw;
  out.reserve(out.size() + codes.size());
  for (std::byte b : codes) out.push_back(table[static_cast<uint8_t>(b)]);
}

}  // namespace tapvault::media
