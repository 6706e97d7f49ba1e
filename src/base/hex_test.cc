#include "base/hex.h"

#include <gtest/gtest.h>

namespace tapvault::base {
namespace {

TEST(Hex, RoundTrip) {
  auto b = FromHex("30 82:00 9F");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(ToHex(*b), "3082009f");
  EXPECT_FALSE(FromHex("3").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
}

}  // namespace
}  // namespace tapvault::base
