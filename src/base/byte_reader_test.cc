#include "base/byte_reader.h"

#include <gtest/gtest.h>

namespace tapvault::base {
namespace {

TEST(ByteReader, ReadsWithinBoundsOnly) {
  const std::byte data[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  ByteReader r(data, 10);
  uint8_t b;
  ASSERT_TRUE(r.ReadU8(b));
  EXPECT_EQ(b, 1);
  EXPECT_EQ(r.offset(), 11u);
  Bytes s;
  EXPECT_FALSE(r.ReadSpan(3, s));
  EXPECT_EQ(r.remaining(), 2u);  // unchanged by the failed read
  uint64_t v;
  ASSERT_TRUE(r.ReadBigEndian(2, v));
  EXPECT_EQ(v, 0x0203u);
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(r.ReadU8(b));
  EXPECT_FALSE(r.Skip(1));
}

}  // namespace
}  // namespace tapvault::base
