// ITU-T G.711 companding (µ-law and A-law) and a test-signal generator, for the RTP audio that
// `tapvault feed` puts in its CC: real G.711 samples of a signal a listener recognises.
//
//   std::vector<int16_t> pcm = sim::GenerateTone({.freqs_hz = {440, 1000}}, 0, 160);
//   std::vector<uint8_t> payload = sim::EncodeG711(pcm, sim::Codec::kPcmu);
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tapvault::sim {

enum class Codec : uint8_t { kPcmu = 0, kPcma = 8 };  // value = RTP payload type (RFC 3551)
std::string_view CodecName(Codec codec);              // "PCMU" / "PCMA"

// G.711 encoding of one 16-bit linear sample (the 14-bit µ-law / 13-bit A-law input is the top
// bits of it). Silence: LinearToUlaw(0) = 0xFF, LinearToAlaw(0) = 0xD5.
uint8_t LinearToUlaw(int16_t sample);
uint8_t LinearToAlaw(int16_t sample);
// Decoding to 16-bit linear (the segment's midpoint).
int16_t UlawToLinear(uint8_t code);
int16_t AlawToLinear(uint8_t code);

struct ToneSpec {
  std::vector<double> freqs_hz = {440.0, 1000.0};  // summed sines of equal amplitude
  double amplitude = 0.3;                          // peak of the sum, as a fraction of full scale
  int sample_rate_hz = 8000;
};
// `count` samples of the tone starting at sample index `first` (so consecutive calls continue
// the waveform without a click).
std::vector<int16_t> GenerateTone(const ToneSpec& spec, uint64_t first, size_t count);

std::vector<uint8_t> EncodeG711(std::span<const int16_t> pcm, Codec codec);

}  // namespace tapvault::sim
