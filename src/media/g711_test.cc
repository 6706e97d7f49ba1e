#include "media/g711.h"

#include <cmath>
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>

#include "sim/g711.h"

namespace tapvault::media {
namespace {

// G.711 Table 2a / 1a decoder outputs written from the tables' definition (2^k * (m + 16.5)),
// in floating point, independently of the integer shifts in g711.cc.
double UlawReference(uint8_t code) {
  const int c = static_cast<uint8_t>(~code);
  const int s = (c >> 4) & 7, m = c & 15;
  const double v = 4.0 * (std::pow(2.0, s + 1) * (m + 16.5) - 33.0);  // 14-bit units * 4
  return (c & 0x80) ? -v : v;
}
double AlawReference(uint8_t code) {
  const int c = code ^ 0x55;
  const int s = (c >> 4) & 7, m = c & 15;
  const double v = 8.0 * (s == 0 ? 2.0 * m + 1.0 : std::pow(2.0, s) * (m + 16.5));  // 12-bit * 8
  return (c & 0x80) ? v : -v;
}

TEST(G711, KnownPoints) {
  EXPECT_EQ(UlawToLinear(0xFF), 0);
  EXPECT_EQ(UlawToLinear(0x7F), 0);  // "negative zero"
  EXPECT_EQ(UlawToLinear(0x00), -32124);
  EXPECT_EQ(UlawToLinear(0x80), 32124);
  EXPECT_EQ(UlawToLinear(0xFE), 8);
  EXPECT_EQ(UlawToLinear(0xEF), 132);  // segment 1, step 0: 4 * (4 * 16.5 - 33)
  EXPECT_EQ(AlawToLinear(0xD5), 8);
  EXPECT_EQ(AlawToLinear(0x55), -8);
  EXPECT_EQ(AlawToLinear(0xAA), 32256);
  EXPECT_EQ(AlawToLinear(0x2A), -32256);
  EXPECT_EQ(AlawToLinear(0xD4), 24);
}

TEST(G711, AllCodesMatchTheStandardsFormula) {
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(UlawToLinear(static_cast<uint8_t>(c)), UlawReference(static_cast<uint8_t>(c))) << c;
    EXPECT_EQ(AlawToLinear(static_cast<uint8_t>(c)), AlawReference(static_cast<uint8_t>(c))) << c;
  }
}

TEST(G711, SignBitIsSymmetric) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t code = static_cast<uint8_t>(c);
    EXPECT_EQ(UlawToLinear(code), -UlawToLinear(code ^ 0x80)) << c;
    EXPECT_EQ(AlawToLinear(code), -AlawToLinear(code ^ 0x80)) << c;
  }
}

TEST(G711, MagnitudeIsStrictlyMonotonicInTheCode) {
  // µ-law: inverted 7-bit magnitude index; A-law: magnitude index after XOR 0x55.
  int prev_u = -1, prev_a = -1;
  for (int i = 0; i < 128; ++i) {
    const int u = std::abs(UlawToLinear(static_cast<uint8_t>(~i & 0x7F)));
    const int a = std::abs(AlawToLinear(static_cast<uint8_t>((i | 0x80) ^ 0x55)));
    EXPECT_GT(u, prev_u) << i;
    EXPECT_GT(a, prev_a) << i;
    prev_u = u;
    prev_a = a;
  }
}

TEST(G711, RoundTripsWithTheSimulatorsEncoder) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t code = static_cast<uint8_t>(c);
    EXPECT_EQ(sim::LinearToAlaw(AlawToLinear(code)), code) << c;
    if (code != 0x7F) {  // µ-law's negative zero encodes back as 0xFF
      EXPECT_EQ(sim::LinearToUlaw(UlawToLinear(code)), code) << c;
    }
  }
  // Quantisation error of encode+decode: half a step, a step being about |x| / 16.
  for (int x = -32768; x <= 32767; x += 7) {
    const int16_t s = static_cast<int16_t>(x);
    const int bound = std::abs(x) > 32000 ? 800 : std::abs(x) / 16 + 16;
    EXPECT_LE(std::abs(UlawToLinear(sim::LinearToUlaw(s)) - x), bound) << x;
    EXPECT_LE(std::abs(AlawToLinear(sim::LinearToAlaw(s)) - x), bound) << x;
  }
}

TEST(G711, AppendAndPayloadTypes) {
  std::vector<int16_t> out = {42};
  const std::byte codes[] = {std::byte{0xFF}, std::byte{0x00}};
  AppendG711(codes, G711Law::kUlaw, out);
  AppendG711(codes, G711Law::kAlaw, out);
  EXPECT_EQ(out, (std::vector<int16_t>{42, 0, -32124, AlawToLinear(0xFF), AlawToLinear(0x00)}));
  EXPECT_EQ(G711LawOfPayloadType(0), G711Law::kUlaw);
  EXPECT_EQ(G711LawOfPayloadType(8), G711Law::kAlaw);
  EXPECT_EQ(G711LawOfPayloadType(9), std::nullopt);
  EXPECT_EQ(G711LawOfPayloadType(101), std::nullopt);
}

}  // namespace
}  // namespace tapvault::media
