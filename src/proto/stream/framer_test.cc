#include "proto/stream/framer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "base/hex.h"

namespace tapvault::proto::stream {
namespace {

// A minimal PS-PDU-shaped TLV: 30 L a1 L 80 07 04 00 02 02 05 01 2b ... plus a payload byte.
std::vector<std::byte> FakePdu(uint8_t marker, bool long_form = false) {
  std::vector<std::byte> inner = *base::FromHex("80 07 04 00 02 02 05 01 2b 81 01");
  inner.push_back(std::byte{marker});
  std::vector<std::byte> hdr = {std::byte{0xa1}, std::byte(inner.size())};
  hdr.insert(hdr.end(), inner.begin(), inner.end());
  std::vector<std::byte> out = {std::byte{0x30}};
  if (long_form) {
    out.push_back(std::byte{0x82});
    out.push_back(std::byte{0});
  }
  out.push_back(std::byte(hdr.size()));
  out.insert(out.end(), hdr.begin(), hdr.end());
  return out;
}

struct Collected {
  std::vector<std::vector<std::byte>> frames;
  std::vector<uint64_t> offsets;
  size_t skipped = 0;
  size_t skip_events = 0;
  std::vector<std::pair<uint64_t, SkipReason>> errors;  // kSkipped other than kResync
};

Collected Drain(Framer& f, bool eof, Collected c = {}) {
  for (;;) {
    auto r = f.Next(eof);
    if (r.event == Framer::Event::kNeedMore) break;
    if (r.event == Framer::Event::kFrame) {
      c.frames.emplace_back(r.frame.begin(), r.frame.end());
      c.offsets.push_back(r.offset);
    } else {
      EXPECT_GT(r.skipped, 0u);
      c.skipped += r.skipped;
      ++c.skip_events;
      if (r.reason != SkipReason::kResync) c.errors.emplace_back(r.offset, r.reason);
    }
    if (f.buffered() == 0) break;
  }
  return c;
}

TEST(Framer, SplitsAtEveryChunkBoundary) {
  std::vector<std::byte> stream;
  for (uint8_t m = 0; m < 3; ++m) {
    auto p = FakePdu(m, m == 1);
    stream.insert(stream.end(), p.begin(), p.end());
  }
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Framer f;
    f.Append(std::span(stream).first(cut));
    Collected c = Drain(f, false);
    f.Append(std::span(stream).subspan(cut));
    c = Drain(f, true, c);
    ASSERT_EQ(c.frames.size(), 3u) << "cut " << cut;
    EXPECT_EQ(c.skipped, 0u);
    EXPECT_EQ(c.offsets[0], 0u);
    EXPECT_EQ(c.frames[2].back(), std::byte{2});
  }
}

TEST(Framer, ResynchronisesAfterGarbage) {
  std::vector<std::byte> stream = FakePdu(1);
  const std::string junk = "\x30\x84\xff\xff\xff\xffgarbage\x30\x05";
  const size_t junk_at = stream.size();
  stream.insert(stream.end(), reinterpret_cast<const std::byte*>(junk.data()),
                reinterpret_cast<const std::byte*>(junk.data()) + junk.size());
  auto second = FakePdu(2);
  stream.insert(stream.end(), second.begin(), second.end());
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    Framer f;
    f.Append(std::span(stream).first(cut));
    Collected c = Drain(f, false);
    f.Append(std::span(stream).subspan(cut));
    c = Drain(f, true, c);
    ASSERT_EQ(c.frames.size(), 2u) << "cut " << cut;
    EXPECT_EQ(c.skipped, junk.size()) << "cut " << cut;
    EXPECT_EQ(c.offsets[1], junk_at + junk.size());
  }
}

TEST(Framer, OversizedLengthIsGarbageNotAWait) {
  Framer f(1024);
  auto p = FakePdu(7);
  std::vector<std::byte> s = *base::FromHex("30 83 10 00 00 a1 05 80 07 04 00 02 02 05 01");
  s.insert(s.end(), p.begin(), p.end());
  f.Append(s);
  Collected c = Drain(f, false);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], p);
}

TEST(Framer, TruncatedTailReportedAtEof) {
  Framer f;
  auto p = FakePdu(1);
  f.Append(std::span(p).first(p.size() - 1));
  EXPECT_EQ(f.Next(false).event, Framer::Event::kNeedMore);
  auto r = f.Next(true);
  EXPECT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.skipped, p.size() - 1);
}

std::vector<std::byte> Cat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::byte> Hex(std::string_view hex) { return *base::FromHex(hex); }

// The same PS-PDU shape with an indefinite outer length: 30 80 a1 L ... 00 00.
std::vector<std::byte> FakeIndefinitePdu(uint8_t marker) {
  std::vector<std::byte> p = FakePdu(marker);
  p[1] = std::byte{0x80};
  p.push_back(std::byte{0});
  p.push_back(std::byte{0});
  return p;
}

TEST(FindPduStartTest, FindsOpenLiStartWithNonMinimalLengths) {
  const auto d = Hex("00 30 82 00 9f a1 5b 80 07 04 00 02 02 05 01 11");
  auto s = FindPduStart(d, 0);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->index, 1u);
  EXPECT_TRUE(s->complete);
  auto partial = FindPduStart(std::span(d).first(9), 0);
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->index, 1u);
  EXPECT_FALSE(partial->complete);
  EXPECT_FALSE(FindPduStart(Hex("30 03 02 01 00"), 0).has_value());
  EXPECT_FALSE(FindPduStart(d, 2).has_value());
  // Wrong domain OID length, reserved length octet: no start.
  EXPECT_FALSE(FindPduStart(Hex("30 10 a1 0e 80 06 04 00 02 02 05 01 11"), 0).has_value());
  EXPECT_FALSE(FindPduStart(Hex("30 ff a1 0e 80 07 04 00 02 02 05 01 11"), 0).has_value());
}

// Each kind of framing error is reported with its reason at the offset of the failed byte, and
// the stream resumes at the next PDU.
TEST(Framer, ReportsEachErrorWithItsReason) {
  struct Case {
    const char* name;
    std::vector<std::byte> bad;
    SkipReason reason;
  };
  const std::vector<Case> cases = {
      {"bad tag", Hex("31 05 a1 03 80 01 00"), SkipReason::kBadTag},
      {"5 length octets", Hex("30 85 01 00 00 00 00 a1"), SkipReason::kAbsurdLength},
      {"above max", Hex("30 82 10 00 a1 00"), SkipReason::kAbsurdLength},
      {"no pSHeader", Hex("30 03 02 01 00"), SkipReason::kNotPsPdu},
      {"inner length octets", Hex("30 80 a1 85 01 00 00 00 00"), SkipReason::kMalformedTlv},
  };
  for (const Case& c : cases) {
    Framer f(1024);
    const auto first = FakePdu(1), second = FakePdu(2);
    const auto stream = Cat({first, c.bad, second});
    f.Append(stream);
    Collected got = Drain(f, false);
    ASSERT_EQ(got.frames.size(), 2u) << c.name;
    EXPECT_EQ(got.frames[1], second) << c.name;
    ASSERT_EQ(got.errors.size(), 1u) << c.name;
    EXPECT_EQ(got.errors[0].first, first.size()) << c.name;
    EXPECT_EQ(got.errors[0].second, c.reason) << c.name;
    EXPECT_EQ(got.skipped, c.bad.size()) << c.name;
    EXPECT_FALSE(f.resyncing()) << c.name;
  }
  EXPECT_EQ(SkipReasonName(SkipReason::kBadTag), "bad_tag");
  EXPECT_EQ(SkipReasonName(SkipReason::kMalformedTlv), "malformed_tlv");
}

TEST(Framer, MalformedTlvCarriesTheBerError) {
  const auto bad = Hex("30 80 a1 85 01 00 00 00 00");  // Append does not copy: keep it alive
  Framer f;
  f.Append(bad);
  auto r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.reason, SkipReason::kMalformedTlv);
  EXPECT_FALSE(r.detail.empty());
}

TEST(Framer, IndefiniteLengthPduTooLarge) {
  Framer f(64);
  std::vector<std::byte> big = Hex("30 80 a1 80 04 7f");
  big.resize(big.size() + 0x7f, std::byte{0x55});
  const auto next = FakePdu(3);
  const auto stream = Cat({big, next});
  f.Append(stream);
  Collected c = Drain(f, false);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].second, SkipReason::kPduTooLarge);
  ASSERT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(c.frames[0], next);
}

TEST(Framer, IndefiniteLengthPdusTrickledByteByByte) {
  const auto a = FakeIndefinitePdu(1), b = FakePdu(2), c3 = FakeIndefinitePdu(3);
  const auto stream = Cat({a, b, c3});
  Framer f;
  Collected c;
  for (const std::byte& x : stream) {
    f.Append(std::span(&x, 1));
    c = Drain(f, false, c);
  }
  c = Drain(f, true, c);
  ASSERT_EQ(c.frames.size(), 3u);
  EXPECT_EQ(c.frames[0], a);
  EXPECT_EQ(c.frames[2], c3);
  EXPECT_EQ(c.offsets[2], a.size() + b.size());
  EXPECT_EQ(c.skipped, 0u);
}

// An error whose resync scan runs past the buffered bytes: one error, then kResync events.
TEST(Framer, ResyncRunAcrossAppendsIsOneError) {
  const auto junk = Hex("01 02 03 04 05 06 07 08");
  const auto pdu = FakePdu(9);
  Framer f;
  f.Append(junk);  // (not copied: junk outlives its use)
  auto r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.reason, SkipReason::kBadTag);
  EXPECT_EQ(r.skipped, junk.size());
  EXPECT_TRUE(f.resyncing());
  EXPECT_EQ(f.Next(false).event, Framer::Event::kNeedMore);
  f.Append(junk);
  r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.reason, SkipReason::kResync);
  EXPECT_EQ(r.offset, junk.size());
  // The next start split after its first 5 bytes is kept, not skipped.
  const auto junk_and_start = Cat({junk, std::vector<std::byte>(pdu.begin(), pdu.begin() + 5)});
  f.Append(junk_and_start);
  r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.reason, SkipReason::kResync);
  EXPECT_EQ(r.skipped, junk.size());
  EXPECT_EQ(f.Next(false).event, Framer::Event::kNeedMore);
  EXPECT_TRUE(f.resyncing());
  EXPECT_EQ(f.buffered(), 5u);
  f.Append(std::span(pdu).subspan(5));
  r = f.Next(false);
  EXPECT_FALSE(f.resyncing());
  ASSERT_EQ(r.event, Framer::Event::kFrame);
  EXPECT_EQ(r.offset, 3 * junk.size());
  EXPECT_EQ(std::vector<std::byte>(r.frame.begin(), r.frame.end()), pdu);
}

TEST(Framer, OpenResyncRunAtEofIsSkippedNotTruncated) {
  const auto pdu = FakePdu(1);
  const auto data = Cat({Hex("05"), std::vector<std::byte>(pdu.begin(), pdu.begin() + 6)});
  Framer f;
  f.Append(data);
  auto r = f.Next(false);
  EXPECT_EQ(r.reason, SkipReason::kBadTag);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(f.Next(false).event, Framer::Event::kNeedMore);
  r = f.Next(true);
  ASSERT_EQ(r.event, Framer::Event::kSkipped);
  EXPECT_EQ(r.reason, SkipReason::kResync);
  EXPECT_EQ(r.skipped, 6u);
  EXPECT_EQ(f.Next(true).event, Framer::Event::kNeedMore);
}

// Frames are views into the appended bytes when nothing was buffered; an incomplete tail is
// copied at kNeedMore, so the caller may then reuse its buffer.
TEST(Framer, FramesFromAppendedBytesWithoutCopyAndKeepsTail) {
  const auto a = FakePdu(1), b = FakePdu(2);
  std::vector<std::byte> chunk = Cat({a, std::vector<std::byte>(b.begin(), b.begin() + 4)});
  Framer f;
  f.Append(chunk);
  auto r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kFrame);
  EXPECT_EQ(r.frame.data(), chunk.data());
  EXPECT_EQ(f.Next(false).event, Framer::Event::kNeedMore);
  std::fill(chunk.begin(), chunk.end(), std::byte{0xee});  // the caller reuses its buffer
  chunk.assign(b.begin() + 4, b.end());
  f.Append(chunk);
  r = f.Next(false);
  ASSERT_EQ(r.event, Framer::Event::kFrame);
  EXPECT_EQ(std::vector<std::byte>(r.frame.begin(), r.frame.end()), b);
  EXPECT_EQ(r.offset, a.size());
}

// Frames, errors and their offsets do not depend on where the stream is cut (random streams of
// PDUs, indefinite PDUs and garbage; the seed is printed on failure).
TEST(Framer, EventsDoNotDependOnChunking) {
  const uint32_t seed = std::random_device{}();
  SCOPED_TRACE(::testing::Message() << "seed " << seed);
  std::mt19937 rng(seed);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::byte> stream;
    for (int i = 0; i < 8; ++i) {
      std::vector<std::byte> part;
      switch (rng() % 4) {
        case 0: part = FakePdu(static_cast<uint8_t>(i)); break;
        case 1: part = FakeIndefinitePdu(static_cast<uint8_t>(i)); break;
        case 2:  // a cut-off PDU
          part = FakePdu(static_cast<uint8_t>(i), true);
          part.resize(rng() % part.size());
          break;
        default:
          part.resize(rng() % 12);
          for (auto& x : part) x = std::byte(rng() % 3 == 0 ? 0x30 : rng() & 0xff);
      }
      stream.insert(stream.end(), part.begin(), part.end());
    }
    Framer whole(64);
    whole.Append(stream);
    const Collected want = Drain(whole, true);
    Framer chunked(64);
    Collected got;
    for (size_t pos = 0; pos < stream.size();) {
      const size_t n = std::min<size_t>(1 + rng() % 9, stream.size() - pos);
      chunked.Append(std::span(stream).subspan(pos, n));
      got = Drain(chunked, false, got);
      pos += n;
    }
    got = Drain(chunked, true, got);
    ASSERT_EQ(got.frames, want.frames) << "round " << round;
    ASSERT_EQ(got.offsets, want.offsets) << "round " << round;
    ASSERT_EQ(got.errors, want.errors) << "round " << round;
    ASSERT_EQ(got.skipped, want.skipped) << "round " << round;
  }
}

}  // namespace
}  // namespace tapvault::proto::stream
