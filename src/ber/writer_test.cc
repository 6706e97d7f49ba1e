#include "ber/writer.h"

#include <gtest/gtest.h>

#include "base/hex.h"

namespace tapvault::ber {
namespace {

TEST(Writer, MinimalAndLong3AndIndefinite) {
  for (auto form : {LengthForm::kMinimal, LengthForm::kLong3, LengthForm::kIndefinite}) {
    Writer w(form);
    w.Begin(Univ(kSequence));
    w.AddOctets(Ctx(1), "ABC");
    w.AddUnsigned(Ctx(4), 0x80);
    w.End();
    auto enc = w.Take();
    switch (form) {
      case LengthForm::kMinimal: EXPECT_EQ(base::ToHex(enc), "3009810341424384020080"); break;
      case LengthForm::kLong3: EXPECT_EQ(base::ToHex(enc), "30820009810341424384020080"); break;
      case LengthForm::kIndefinite: EXPECT_EQ(base::ToHex(enc), "3080810341424384020080" "0000"); break;
    }
    Context ctx;
    EXPECT_TRUE(ReadSingle(enc, ctx).ok());
  }
}

TEST(Writer, IntegersRoundTrip) {
  for (int64_t v : std::initializer_list<int64_t>{0, 1, 127, 128, -1, -128, -129, 4294967295, INT64_MIN, INT64_MAX}) {
    Writer w;
    w.AddInteger(Univ(kInteger), v);
    auto enc = w.Take();
    Context ctx;
    EXPECT_EQ(*DecodeInteger(*ReadSingle(enc, ctx)), v);
  }
  for (uint64_t v : std::initializer_list<uint64_t>{0, 255, 0x8000000000000000ull, ~0ull}) {
    Writer w;
    w.AddUnsigned(Univ(kInteger), v);
    auto enc = w.Take();
    Context ctx;
    EXPECT_EQ(*DecodeUnsigned(*ReadSingle(enc, ctx)), v);
  }
}

TEST(Writer, LongContent) {
  Writer w;
  std::string big(70000, 'x');
  w.Begin(Univ(kSequence));
  w.AddOctets(Univ(kOctetString), big);
  w.End();
  auto enc = w.Take();
  EXPECT_EQ(base::ToHex(std::span(enc).first(4)), "30830111");
  Context ctx;
  EXPECT_TRUE(ReadSingle(enc, ctx).ok());
}

TEST(Writer, Oids) {
  Writer w;
  const uint64_t arcs[] = {0, 4, 0, 2, 2, 5, 1, 43};
  w.AddOid(Ctx(0), arcs, false);
  EXPECT_EQ(base::ToHex(w.Take()), "80070400020205012b");
  Writer r;
  const uint64_t rel[] = {5, 5, 17};
  r.AddOid(Ctx(0), rel, true);
  EXPECT_EQ(base::ToHex(r.Take()), "8003050511");
}

}  // namespace
}  // namespace tapvault::ber
