#include "proto/stream/framer.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace tapvault::proto::stream
