#include "ber/reader.h"

#include <gtest/gtest.h>

#include "base/hex.h"
#include "ber/writer.h"

namespace tapvault::ber {
namespace {

std::vector<std::byte> Hex(std::string_view h) { return *base::FromHex(h); }

TEST(Reader, ReadsNonMinimalLongFormLength) {
  // OpenLI writes constructed lengths as 82 hh ll even when short.
  const auto in = Hex("30 82 00 05 81 03 41 42 43");
  Context ctx;
  auto top = ReadSingle(in, ctx);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_EQ(top->tag, Univ(kSequence, true));
  EXPECT_EQ(top->value.size(), 5u);
  auto r = Reader(in, ctx).Enter(*top);
  ASSERT_TRUE(r.ok());
  Tlv f;
  ASSERT_TRUE(r->Next(f).ok());
  EXPECT_TRUE(f.IsContext(1));
  EXPECT_EQ(base::AsString(f.value), "ABC");
  EXPECT_EQ(f.offset, 4u);
  EXPECT_TRUE(r->AtEnd());
}

TEST(Reader, ReadsIndefiniteLength) {
  const auto in = Hex("30 80 a1 80 80 01 07 00 00 82 01 01 00 00");
  Context ctx;
  auto top = ReadSingle(in, ctx);
  ASSERT_TRUE(top.ok()) << top.status();
  EXPECT_TRUE(top->indefinite);
  EXPECT_EQ(top->encoding.size(), in.size());
  EXPECT_EQ(top->value.size(), in.size() - 4);
  Reader r(in, ctx);
  Tlv t;
  ASSERT_TRUE(r.Next(t).ok());
  auto inner = r.Enter(t);
  ASSERT_TRUE(inner.ok());
  Tlv a, b;
  ASSERT_TRUE(inner->Next(a).ok());
  ASSERT_TRUE(inner->Next(b).ok());
  EXPECT_TRUE(a.indefinite);
  EXPECT_EQ(b.offset, 9u);
  EXPECT_EQ(*DecodeUnsigned(b), 1u);
}

TEST(Reader, HighTagNumbers) {
  Writer w;
  w.AddUnsigned(Ctx(300), 5);
  auto enc = w.Take();
  EXPECT_EQ(base::ToHex(enc), "9f822c0105");
  Context ctx;
  auto t = ReadSingle(enc, ctx);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->tag.number, 300u);
}

TEST(Reader, EveryTruncationIsOutOfRangeNeverACrash) {
  const auto in = Hex("30 80 a1 80 80 01 07 00 00 82 82 00 01 01 00 00");
  for (size_t n = 0; n < in.size(); ++n) {
    Context ctx;
    auto len = CompleteTlvLength(std::span(in).first(n), ctx);
    ASSERT_TRUE(len.ok()) << n << ": " << len.status();
    EXPECT_EQ(*len, 0u) << n;
    Context ctx2;
    auto t = ReadSingle(std::span(in).first(n), ctx2);
    EXPECT_TRUE(absl::IsOutOfRange(t.status())) << n << ": " << t.status();
  }
  Context ctx;
  EXPECT_EQ(*CompleteTlvLength(in, ctx), in.size());
}

TEST(Reader, RejectsMalformed) {
  for (const char* bad : {"02 ff", "04 80 00 00", "30 85 01 00 00 00 00 00", "1f 80 01 00"}) {
    Context ctx;
    auto t = ReadSingle(Hex(bad), ctx);
    EXPECT_FALSE(t.ok()) << bad;
    EXPECT_FALSE(absl::IsOutOfRange(t.status())) << bad << ": " << t.status();
  }
  Context ctx;
  EXPECT_FALSE(ReadSingle(Hex("05 00 05"), ctx).ok()) << "trailing bytes";
}

TEST(Reader, BoundsDepthAndElements) {
  std::vector<std::byte> deep;
  for (int i = 0; i < 100; ++i) {
    deep.push_back(std::byte{0x30});
    deep.push_back(std::byte{0x80});
  }
  for (int i = 0; i < 100; ++i) {
    deep.push_back(std::byte{0});
    deep.push_back(std::byte{0});
  }
  Context ctx;
  auto t = ReadSingle(deep, ctx);
  EXPECT_TRUE(absl::IsResourceExhausted(t.status())) << t.status();

  std::vector<std::byte> many = Hex("30 82 0b b8");
  for (int i = 0; i < 1500; ++i) {
    many.push_back(std::byte{0x05});
    many.push_back(std::byte{0x00});
  }
  Context small;
  small.limits.max_elements = 1000;
  auto top = ReadSingle(many, small);
  ASSERT_TRUE(top.ok());
  auto r = Reader(many, small).Enter(*top);
  ASSERT_TRUE(r.ok());
  absl::Status s;
  while (s.ok() && !r->AtEnd()) {
    Tlv x;
    s = r->Next(x);
  }
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
}

TEST(Primitives, Integers) {
  Context ctx;
  EXPECT_EQ(*DecodeUnsigned(*ReadSingle(Hex("02 05 00 ff ff ff ff"), ctx)), 0xffffffffu);
  EXPECT_EQ(*DecodeUnsigned(*ReadSingle(Hex("02 09 00 ff ff ff ff ff ff ff ff"), ctx)),
            0xffffffffffffffffull);
  EXPECT_FALSE(DecodeUnsigned(*ReadSingle(Hex("02 01 80"), ctx)).ok());
  EXPECT_EQ(*DecodeInteger(*ReadSingle(Hex("02 01 80"), ctx)), -128);
  EXPECT_EQ(*DecodeInteger(*ReadSingle(Hex("02 02 00 80"), ctx)), 128);
  EXPECT_FALSE(DecodeInteger(*ReadSingle(Hex("02 00"), ctx)).ok());
  EXPECT_FALSE(DecodeUnsigned(*ReadSingle(Hex("02 0a 01 00 00 00 00 00 00 00 00 00"), ctx)).ok());
}

TEST(Primitives, OidAndRelativeOid) {
  Context ctx;
  auto oid = DecodeOid(*ReadSingle(Hex("06 07 04 00 02 02 05 01 11"), ctx), false);
  ASSERT_TRUE(oid.ok());
  EXPECT_EQ(OidToString(*oid), "0.4.0.2.2.5.1.17");
  auto rel = DecodeOid(*ReadSingle(Hex("0d 04 05 05 06 02"), ctx), true);
  ASSERT_TRUE(rel.ok());
  EXPECT_EQ(OidToString(*rel), "5.5.6.2");
  EXPECT_FALSE(DecodeOid(*ReadSingle(Hex("06 02 04 81"), ctx), false).ok());
}

TEST(Primitives, ConstructedOctetString) {
  const auto in = Hex("24 80 04 02 41 42 04 01 43 00 00");
  Context ctx;
  auto t = ReadSingle(in, ctx);
  ASSERT_TRUE(t.ok());
  std::string scratch;
  auto v = StringOctets(*t, ctx, &scratch);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(base::AsString(*v), "ABC");
}

}  // namespace
}  // namespace tapvault::ber
