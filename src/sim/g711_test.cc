#include "sim/g711.h"

#include <cmath>

#include <gtest/gtest.h>

namespace tapvault::sim {
namespace {

TEST(G711, UlawKnownValues) {
  EXPECT_EQ(LinearToUlaw(0), 0xFF);
  EXPECT_EQ(LinearToUlaw(-1), 0x7F);
  EXPECT_EQ(LinearToUlaw(32767), 0x80);
  EXPECT_EQ(LinearToUlaw(-32768), 0x00);
  EXPECT_EQ(LinearToUlaw(1000), 0xCE);  // 1000+132=1132: exponent 3, mantissa 1, inverted
  EXPECT_EQ(UlawToLinear(0xFF), 0);
  EXPECT_EQ(UlawToLinear(0x80), 32124);
  EXPECT_EQ(UlawToLinear(0x00), -32124);
  EXPECT_EQ(UlawToLinear(0xCE), 988);  // midpoint of 956..1019
}

TEST(G711, AlawKnownValues) {
  EXPECT_EQ(LinearToAlaw(0), 0xD5);
  EXPECT_EQ(LinearToAlaw(-1), 0x55);
  EXPECT_EQ(LinearToAlaw(32767), 0xAA);
  EXPECT_EQ(LinearToAlaw(-32768), 0x2A);
  EXPECT_EQ(LinearToAlaw(1000), 0xFA);  // 125 -> segment 2, mantissa 15, XOR 0xD5
  EXPECT_EQ(AlawToLinear(0xD5), 8);
  EXPECT_EQ(AlawToLinear(0x55), -8);
  EXPECT_EQ(AlawToLinear(0xAA), 32256);
  EXPECT_EQ(AlawToLinear(0x2A), -32256);
}

TEST(G711, EveryCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t code = static_cast<uint8_t>(c);
    EXPECT_EQ(LinearToAlaw(AlawToLinear(code)), code) << c;
    if (code != 0x7F) {  // 0x7F is -0, which encodes as +0 (0xFF)
      EXPECT_EQ(LinearToUlaw(UlawToLinear(code)), code) << c;
    }
  }
}

TEST(G711, EncodingIsMonotonic) {
  int prev_u = UlawToLinear(LinearToUlaw(-32768));
  int prev_a = AlawToLinear(LinearToAlaw(-32768));
  for (int v = -32767; v <= 32767; ++v) {
    int u = UlawToLinear(LinearToUlaw(static_cast<int16_t>(v)));
    int a = AlawToLinear(LinearToAlaw(static_cast<int16_t>(v)));
    ASSERT_GE(u, prev_u) << v;
    ASSERT_GE(a, prev_a) << v;
    prev_u = u;
    prev_a = a;
  }
}

TEST(G711, ToneSurvivesCompanding) {
  const std::vector<int16_t> pcm = GenerateTone({.freqs_hz = {440, 1000}}, 0, 8000);
  ASSERT_EQ(pcm.size(), 8000u);
  for (Codec codec : {Codec::kPcmu, Codec::kPcma}) {
    std::vector<uint8_t> enc = EncodeG711(pcm, codec);
    double signal = 0, noise = 0;
    for (size_t i = 0; i < pcm.size(); ++i) {
      int dec = codec == Codec::kPcmu ? UlawToLinear(enc[i]) : AlawToLinear(enc[i]);
      signal += double(pcm[i]) * pcm[i];
      noise += double(dec - pcm[i]) * (dec - pcm[i]);
    }
    EXPECT_GT(10 * std::log10(signal / noise), 30.0) << CodecName(codec);  // G.711 SQNR ~ 38 dB
  }
}

TEST(G711, ToneContinuesAcrossCalls) {
  std::vector<int16_t> whole = GenerateTone({}, 0, 320);
  std::vector<int16_t> second = GenerateTone({}, 160, 160);
  EXPECT_EQ(std::vector<int16_t>(whole.begin() + 160, whole.end()), second);
  // 1 kHz + 440 Hz at 0.3 full scale: peaks reach a good part of it.
  int peak = 0;
  for (int16_t s : whole) peak = std::max(peak, std::abs(int{s}));
  EXPECT_GT(peak, 5000);
  EXPECT_LE(peak, 9831);
}

}  // namespace
}  // namespace tapvault::sim
