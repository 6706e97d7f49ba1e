#include "sim/scenario.h"

#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tapvault::sim {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimal[] = R"(
[scenario]
name = "t"
start = "2026-03-01T10:00:00Z"
ber_length = "minimal"

[[warrant]]
liid = "LIID-A"
country = "DE"

[[event]]
type = "sip-call"
liid = "LIID-A"
caller = "+31201111111"
callee = "+31202222222"
)";

std::string Error(std::string_view text) {
  absl::StatusOr<Scenario> s = ParseScenario(text, "t.toml");
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : std::string(s.status().message());
}

TEST(Scenario, Minimal) {
  absl::StatusOr<Scenario> s = ParseScenario(kMinimal, "t.toml");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "t");
  ASSERT_TRUE(s->start);
  EXPECT_EQ(s->start->unix_us, 1772359200000000);
  EXPECT_EQ(s->encoding.length_form, ber::LengthForm::kMinimal);
  ASSERT_EQ(s->warrants.size(), 1u);
  EXPECT_EQ(s->warrants[0].country, "DE");
  EXPECT_EQ(s->warrants[0].operator_id, "TAPVAULTOP");  // scenario default
  ASSERT_EQ(s->events.size(), 1u);
  const SipCall& c = std::get<SipCall>(s->events[0]);
  EXPECT_EQ(c.caller, "+31201111111");
  EXPECT_EQ(c.common.encoding.length_form, ber::LengthForm::kMinimal);  // inherited
  EXPECT_EQ(c.codec, Codec::kPcmu);
  EXPECT_EQ(s->event_lines[0], 11);
}

TEST(Scenario, ErrorsNameTheLine) {
  EXPECT_THAT(Error("[scenario\nname = 1\n"), HasSubstr("t.toml:1:"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"sip-call\"\nliid = \"B\"\n"
                    "caller = \"1\"\ncallee = \"2\"\n"),
              HasSubstr("t.toml:5: [[event]]: liid 'B' names no [[warrant]]"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"sip-call\"\nliid = \"A\"\n"
                    "caller = \"1\"\ncallee = \"2\"\ncodec = \"G729\"\n"),
              HasSubstr("t.toml:8: [[event]]: 'codec' must be one of: PCMU, PCMA"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"sip-call\"\nliid = \"A\"\n"
                    "caller = \"1\"\ncallee = \"2\"\ncalee = \"3\"\n"),
              HasSubstr("t.toml:8: [[event]]: unknown key 'calee'"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"fax\"\n"),
              HasSubstr("t.toml:4: [[event]]: unknown type 'fax'"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"keepalive\"\n"
                    "timeout_ms = -5\n"),
              HasSubstr("t.toml:5:"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[warrant]]\nliid = \"A\"\n"),
              HasSubstr("t.toml:4: [[warrant]]: duplicate liid 'A'"));
  EXPECT_THAT(Error("[scenario]\nname = \"x\"\n"), HasSubstr("at least one [[warrant]]"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"ip-session\"\nliid = \"A\"\n"
                    "target_ip = \"300.1.1.1\"\n"),
              HasSubstr("t.toml:6:"));
  EXPECT_THAT(Error("[[warrant]]\nliid = \"A\"\n[[event]]\ntype = \"pstn-call\"\nliid = \"A\"\n"
                    "caller = \"+31\"\ncallee = {number = \"1\", nature = \"galactic\"}\n"),
              HasSubstr("t.toml:7:"));
  EXPECT_THAT(Error("[scenario]\nstart = \"yesterday\"\n[[warrant]]\nliid = \"A\"\n"),
              HasSubstr("t.toml:2:"));
  EXPECT_THAT(Error("bogus = 1\n[[warrant]]\nliid = \"A\"\n"),
              HasSubstr("t.toml:1: scenario file: unknown key 'bogus'"));
}

TEST(Scenario, PstnPartiesAndFaults) {
  absl::StatusOr<Scenario> s = ParseScenario(R"(
[[warrant]]
liid = "P"
[[event]]
type = "pstn-call"
liid = "P"
caller = "+31201234567"
callee = { number = "0201234568", format = "dss1" }
forwarded_to = { number = "612345678", nature = "national", format = "isup" }
clir = true
cc_before_iri = true
seq_gap_after = 2
seq_gap = 10
timestamp = "microseconds"
ber_length = "indefinite"
[[event]]
type = "reconnect"
channel = "hi3"
resend = 4
[[event]]
type = "malformed"
kind = "bad-tag"
channel = "hi2"
[[event]]
type = "keepalive"
idle_s = 0.5
)", "p.toml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->events.size(), 4u);
  const PstnCall& p = std::get<PstnCall>(s->events[0]);
  EXPECT_EQ(p.callee.format, proto::hi2ops::NumberFormat::kDss1);
  ASSERT_TRUE(p.forwarded_to);
  EXPECT_EQ(p.forwarded_to->nature, proto::NumberNature::kNational);
  EXPECT_TRUE(p.clir);
  EXPECT_TRUE(p.common.cc_before_iri);
  EXPECT_EQ(p.common.seq_gap, 10u);
  EXPECT_TRUE(p.common.encoding.microsecond_timestamp);
  EXPECT_EQ(p.common.encoding.length_form, ber::LengthForm::kIndefinite);
  EXPECT_EQ(std::get<Reconnect>(s->events[1]).channel, Channel::kHi3);
  EXPECT_EQ(std::get<Reconnect>(s->events[1]).resend, 4u);
  EXPECT_EQ(std::get<Malformed>(s->events[2]).kind, MalformKind::kBadTag);
  EXPECT_DOUBLE_EQ(std::get<Keepalive>(s->events[3]).idle_s, 0.5);
}

TEST(Scenario, ExamplesParse) {
  const char* env = std::getenv("TAPVAULT_SOURCE_DIR");
  const std::string dir = env ? env : ".";
  for (const char* name : {"demo.toml", "faults.toml", "load.toml"}) {
    absl::StatusOr<Scenario> s = LoadScenario(std::string(dir) + "/examples/" + name);
    EXPECT_TRUE(s.ok()) << name << ": " << s.status();
  }
  EXPECT_EQ(LoadScenario("/nonexistent.toml").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace tapvault::sim
