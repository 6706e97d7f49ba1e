#include "base/time.h"

#include <gtest/gtest.h>

namespace tapvault::base {
namespace {

TEST(GeneralizedTime, ParsesMediatorForm) {
  auto t = ParseGeneralizedTime("20261128203948.545Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-28T20:39:48.545000Z");
  EXPECT_EQ(FormatGeneralizedTime(*t), "20261128203948.545Z");
}

TEST(GeneralizedTime, AcceptsOffsetsAndShortForms) {
  EXPECT_EQ(FormatRfc3339(*ParseGeneralizedTime("2026112821Z")), "2026-11-28T21:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(*ParseGeneralizedTime("20261128210000+0100")),
            "2026-11-28T20:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(*ParseGeneralizedTime("20261128210000.1234567")),
            "2026-11-28T21:00:00.123456Z");
}

TEST(GeneralizedTime, RejectsGarbage) {
  for (const char* bad : {"", "2026", "20261328000000Z", "20260230000000Z", "20261128250000Z",
                          "20261128203948.Z", "20261128203948.545ZZ", "2026112820394x"}) {
    EXPECT_FALSE(ParseGeneralizedTime(bad).ok()) << bad;
  }
}

TEST(Rfc3339, RoundTripsAndOffsets) {
  auto t = ParseRfc3339("2026-11-28T20:39:48.000123Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-28T20:39:48.000123Z");
  EXPECT_EQ(*ParseRfc3339("2026-11-28T21:39:48+01:00"), *ParseRfc3339("2026-11-28T20:39:48Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-28T20:39:48").ok());  // zone is required
  EXPECT_EQ(FormatRfc3339(Timestamp{0}), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(Timestamp{-1}), "1969-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace tapvault::base
