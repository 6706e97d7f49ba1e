#include "crypto/secret_bytes.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace tapvault::crypto {
namespace {

TEST(SecretBytesTest, ZeroedRandomAndCopy) {
  SecretBytes z(8);
  ASSERT_EQ(z.size(), 8u);
  for (size_t i = 0; i < z.size(); ++i) EXPECT_EQ(z.data()[i], 0);
  SecretBytes a = SecretBytes::Random(32), b = SecretBytes::Random(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a.Equals(b));
  SecretBytes c = SecretBytes::CopyFrom(a.bytes());
  EXPECT_TRUE(a.Equals(c));
  EXPECT_EQ(std::memcmp(a.data(), c.data(), 32), 0);
  c.data()[31] ^= 1;
  EXPECT_FALSE(a.Equals(c));
  EXPECT_FALSE(a.Equals(SecretBytes::CopyFrom(a.bytes().first(31))));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes(0)));
  EXPECT_TRUE(SecretBytes().empty());
}

TEST(SecretBytesTest, MoveTransfersAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::Random(16);
  SecretBytes copy = SecretBytes::CopyFrom(a.bytes());
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented moved-from state
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_TRUE(b.Equals(copy));
  SecretBytes c = SecretBytes::Random(4);
  c = std::move(b);
  EXPECT_TRUE(c.Equals(copy));
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace tapvault::crypto
