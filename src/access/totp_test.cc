#include "access/totp.h"

#include <gtest/gtest.h>

namespace tapvault::access {
namespace {

std::span<const uint8_t> Key(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr std::string_view kRfcSecret = "12345678901234567890";

// RFC 6238 Appendix B, SHA-1 column (8 digits).
TEST(TotpTest, Rfc6238Vectors) {
  struct V {
    int64_t t;
    const char* code;
  };
  for (V v : {V{59, "94287082"}, V{1111111109, "07081804"}, V{1111111111, "14050471"},
              V{1234567890, "89005924"}, V{2000000000, "69279037"}, V{20000000000, "65353130"}}) {
    EXPECT_EQ(TotpCode(Key(kRfcSecret), v.t, 8), v.code) << v.t;
  }
}

// RFC 4226 Appendix D.
TEST(TotpTest, Rfc4226HotpVectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t c = 0; c < 10; ++c) EXPECT_EQ(Hotp(Key(kRfcSecret), c), expected[c]) << c;
}

TEST(TotpTest, WindowAcceptsOneStepEitherSide) {
  int64_t t = 1111111111;
  int64_t step = TotpStep(t);
  std::string prev = TotpCode(Key(kRfcSecret), t - 30);
  std::string next = TotpCode(Key(kRfcSecret), t + 30);
  std::string far = TotpCode(Key(kRfcSecret), t + 60);
  EXPECT_EQ(MatchTotp(Key(kRfcSecret), TotpCode(Key(kRfcSecret), t), t), step);
  EXPECT_EQ(MatchTotp(Key(kRfcSecret), prev, t), step - 1);
  EXPECT_EQ(MatchTotp(Key(kRfcSecret), next, t), step + 1);
  EXPECT_FALSE(MatchTotp(Key(kRfcSecret), far, t).has_value());
  EXPECT_FALSE(MatchTotp(Key(kRfcSecret), "12345", t).has_value());
  EXPECT_FALSE(MatchTotp(Key(kRfcSecret), "", t).has_value());
}

TEST(TotpTest, Base32AndUri) {
  // RFC 4648 10 test vectors (without padding).
  EXPECT_EQ(Base32Encode(Key("")), "");
  EXPECT_EQ(Base32Encode(Key("f")), "MY");
  EXPECT_EQ(Base32Encode(Key("fo")), "MZXQ");
  EXPECT_EQ(Base32Encode(Key("foo")), "MZXW6");
  EXPECT_EQ(Base32Encode(Key("foob")), "MZXW6YQ");
  EXPECT_EQ(Base32Encode(Key("fooba")), "MZXW6YTB");
  EXPECT_EQ(Base32Encode(Key("foobar")), "MZXW6YTBOI");
  EXPECT_EQ(TotpUri("alice", Key(kRfcSecret)),
            "otpauth://totp/tapvault:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=tapvault");
}

}  // namespace
}  // namespace tapvault::access
