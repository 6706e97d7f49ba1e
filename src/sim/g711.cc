#include "sim/g711.h"

#include <cmath>
#include <numbers>

namespace tapvault::sim {

std::string_view CodecName(Codec codec) { return codec == Codec::kPcmu ? "PCMU" : "PCMA"; }

// G.711 µ-law (Table 2a/G.711, the classic Sun/CCITT reference algorithm): bias 0x84 (132) on the
// 14-bit magnitude, segment = position of the highest set bit, 4 mantissa bits, all bits inverted.
uint8_t LinearToUlaw(int16_t sample) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int pcm = sample;
  uint8_t sign = 0;
  if (pcm < 0) {
    pcm = -pcm;
    sign = 0x80;
  }
  if (pcm > kClip) pcm = kClip;
  pcm += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (pcm & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  int mantissa = (pcm >> (exponent + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int16_t UlawToLinear(uint8_t code) {
  code = static_cast<uint8_t>(~code);
  int sign = code & 0x80;
  int exponent = (code >> 4) & 0x07;
  int mantissa = code & 0x0F;
  int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return static_cast<int16_t>(sign ? -magnitude : magnitude);
}

// G.711 A-law (Table 1a/G.711): 13-bit magnitude, segment 0 is linear, even bits inverted
// (XOR 0x55); the sign bit is 1 for positive values.
uint8_t LinearToAlaw(int16_t sample) {
  int pcm = sample >> 3;  // 13-bit
  uint8_t sign_mask;
  if (pcm >= 0) {
    sign_mask = 0xD5;  // sign bit set, then XOR 0x55
  } else {
    sign_mask = 0x55;
    pcm = -pcm - 1;
  }
  if (pcm > 0xFFF) pcm = 0xFFF;
  uint8_t code;
  if (pcm < 32) {
    code = static_cast<uint8_t>(pcm >> 1);
  } else {
    int segment = 1;
    for (int v = pcm >> 6; v != 0; v >>= 1) ++segment;
    code = static_cast<uint8_t>((segment << 4) | ((pcm >> segment) & 0x0F));
  }
  return code ^ sign_mask;
}

int16_t AlawToLinear(uint8_t code) {
  code ^= 0x55;
  int segment = (code >> 4) & 0x07;
  int mantissa = code & 0x0F;
  int magnitude = segment == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  return static_cast<int16_t>((code & 0x80) ? magnitude : -magnitude);
}

std::vector<int16_t> GenerateTone(const ToneSpec& spec, uint64_t first, size_t count) {
  std::vector<int16_t> out(count);
  const double n = spec.freqs_hz.empty() ? 1.0 : static_cast<double>(spec.freqs_hz.size());
  const double scale = spec.amplitude * 32767.0 / n;
  for (size_t i = 0; i < count; ++i) {
    const double t = static_cast<double>(first + i) / spec.sample_rate_hz;
    double v = 0;
    for (double f : spec.freqs_hz) v += std::sin(2.0 * std::numbers::pi * f * t);
    out[i] = static_cast<int16_t>(std::lround(v * scale));
  }
  return out;
}

std::vector<uint8_t> EncodeG711(std::span<const int16_t> pcm, Codec codec) {
  std::vector<uint8_t> out(pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) {
    out[i] = codec == Codec::kPcmu ? LinearToUlaw(pcm[i]) : LinearToAlaw(pcm[i]);
  }
  return out;
}

}  // namespace tapvault::sim
