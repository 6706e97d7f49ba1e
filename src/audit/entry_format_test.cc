#include <string>

#include "audit/audit_log.h"
#include "base/hex.h"
#include "gtest/gtest.h"

namespace tapvault::audit {
namespace {

Entry Sample() {
  Entry e;
  e.index = 7;
  e.event.at_us = 1'800'000'000'000'000;  // 2027-01-15T08:00:00Z
  e.event.actor = "alice";
  e.event.role = "investigator";
  e.event.action = "read_content";
  e.event.object = "comm:42";
  e.event.outcome = "ok";
  e.event.detail = {{"liid", "NL-1"}, {"bytes", 1200}};
  return e;
}

std::string Hex(const std::string& s) { return base::ToHex(base::AsBytes(s)); }

// The worked example of docs/formats/audit.md, byte for byte.
TEST(EntryFormatTest, SpecVector) {
  auto enc = EncodeEntry(Sample());
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_EQ(Hex(*enc),
            "01"                                            // version
            "0000000000000007"                              // index 7
            "0006651728988000"                              // at_us 1800000000000000
            "0005" "616c696365"                             // "alice"
            "000c" "696e76657374696761746f72"               // "investigator"
            "000c" "726561645f636f6e74656e74"               // "read_content"
            "0007" "636f6d6d3a3432"                         // "comm:42"
            "0002" "6f6b"                                   // "ok"
            "001c" "7b226279746573223a313230302c226c696964223a224e4c2d31227d");
  // {"bytes":1200,"liid":"NL-1"}: keys sorted, no spaces.
}

TEST(EntryFormatTest, RoundTrip) {
  Entry e = Sample();
  auto enc = EncodeEntry(e);
  ASSERT_TRUE(enc.ok());
  auto dec = DecodeEntry(base::AsBytes(*enc));
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(dec->index, e.index);
  EXPECT_EQ(dec->event.at_us, e.event.at_us);
  EXPECT_EQ(dec->event.actor, e.event.actor);
  EXPECT_EQ(dec->event.role, e.event.role);
  EXPECT_EQ(dec->event.action, e.event.action);
  EXPECT_EQ(dec->event.object, e.event.object);
  EXPECT_EQ(dec->event.outcome, e.event.outcome);
  EXPECT_EQ(dec->event.detail, e.event.detail);
  // Null detail, empty optional strings, negative time, non-ASCII text.
  Entry m;
  m.event.at_us = -5;
  m.event.actor = "Zoë";
  m.event.action = "login";
  enc = EncodeEntry(m);
  ASSERT_TRUE(enc.ok());
  dec = DecodeEntry(base::AsBytes(*enc));
  ASSERT_TRUE(dec.ok()) << dec.status();
  EXPECT_EQ(dec->event.at_us, -5);
  EXPECT_EQ(dec->event.actor, "Zoë");
  EXPECT_TRUE(dec->event.detail.is_null());
}

TEST(EntryFormatTest, EncodeRejectsBadFields) {
  auto bad = [](auto mutate) {
    Entry e = Sample();
    mutate(e.event);
    return EncodeEntry(e).status().code();
  };
  EXPECT_EQ(bad([](Event& e) { e.actor = ""; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.action = ""; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.actor = std::string(kMaxActorBytes + 1, 'a'); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.object = "comm:1\n"; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.role = std::string("a\0b", 3); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.actor = "\xC3"; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.actor = "\xC0\xAF"; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.actor = "\xED\xA0\x80"; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.detail = {{"x", "\xFF"}}; }), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.detail = std::string(70000, 'x'); }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) {
              nlohmann::json deep = 1;
              for (int i = 0; i < kMaxDetailDepth + 1; ++i) deep = nlohmann::json::array({deep});
              e.detail = deep;
            }),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](Event& e) { e.detail = std::string(60000, 'x'); }), absl::StatusCode::kOk);
}

std::string Encoded(const Entry& e) { return *EncodeEntry(e); }

// Builds an entry by hand from its fields (to make non-canonical variants).
std::string Raw(uint8_t version, std::string_view detail, std::string_view trailer = "") {
  std::string out;
  out.push_back(static_cast<char>(version));
  out.append(8, '\0');
  out.append(8, '\0');
  auto str = [&](std::string_view s) {
    out.push_back(static_cast<char>(s.size() >> 8));
    out.push_back(static_cast<char>(s.size() & 0xFF));
    out.append(s);
  };
  str("bob");
  str("");
  str("login");
  str("");
  str("ok");
  str(detail);
  out.append(trailer);
  return out;
}

TEST(EntryFormatTest, DecodeIsStrict) {
  ASSERT_TRUE(DecodeEntry(base::AsBytes(Raw(1, "null"))).ok());
  ASSERT_TRUE(DecodeEntry(base::AsBytes(Raw(1, R"({"a":1,"b":[true,null]})"))).ok());
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(2, "null"))).ok());          // version
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, "null", "x"))).ok());     // trailing bytes
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, ""))).ok());              // not JSON
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, "{ }"))).ok());           // not canonical
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, R"({"b":1,"a":2})"))).ok());  // key order
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, R"({"a":1,"a":2})"))).ok());  // duplicate key
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, "1e2"))).ok());
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, R"("\u00e9")"))).ok());  // escaped non-ASCII
  EXPECT_TRUE(DecodeEntry(base::AsBytes(Raw(1, "\"\xC3\xA9\""))).ok());
  std::string deep(kMaxDetailDepth + 1, '[');
  deep += std::string(kMaxDetailDepth + 1, ']');
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, deep))).ok());
  std::string very_deep(30000, '[');
  EXPECT_FALSE(DecodeEntry(base::AsBytes(Raw(1, very_deep))).ok());
}

TEST(EntryFormatTest, EveryTruncationFails) {
  const std::string enc = Encoded(Sample());
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_FALSE(DecodeEntry(base::AsBytes(enc.substr(0, n))).ok()) << n;
  }
}

TEST(EntryFormatTest, BitFlipsNeverDecodeToTheSameEntry) {
  const std::string enc = Encoded(Sample());
  for (size_t i = 0; i < enc.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string m = enc;
      m[i] = static_cast<char>(m[i] ^ (1 << bit));
      auto dec = DecodeEntry(base::AsBytes(m));
      if (!dec.ok()) continue;
      // Whatever still decodes is another entry, and canonical.
      EXPECT_EQ(Encoded(*dec), m) << i << "/" << bit;
    }
  }
}

}  // namespace
}  // namespace tapvault::audit
