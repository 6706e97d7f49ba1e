// Fuzzes the stream framer: the input is cut into chunks at positions taken from its first byte.
// Checks: every byte comes out exactly once, as part of a frame or as skipped, in order; no frame
// exceeds max_pdu_bytes and every frame starts like a PS-PDU; the frames, the errors and their
// offsets are the same as when the whole input is appended at once.
#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "proto/stream/framer.h"

namespace {

using tapvault::proto::stream::Framer;
using tapvault::proto::stream::SkipReason;

constexpr size_t kMaxPdu = 4096;

struct Events {
  std::vector<std::pair<uint64_t, size_t>> frames;  // offset, size
  std::vector<std::pair<uint64_t, SkipReason>> errors;
  uint64_t seen = 0;
};

void Drain(Framer& f, bool eof, Events& e) {
  for (;;) {
    const bool was_resyncing = f.resyncing();
    auto r = f.Next(eof);
    if (r.event == Framer::Event::kNeedMore) {
      if (eof && f.buffered() != 0) abort();
      return;
    }
    if (r.offset != e.seen) abort();
    if (r.event == Framer::Event::kFrame) {
      if (r.frame.empty() || r.frame.size() > kMaxPdu) abort();
      if (r.frame[0] != std::byte{0x30}) abort();
      e.frames.emplace_back(r.offset, r.frame.size());
      e.seen += r.frame.size();
    } else {
      if (r.skipped == 0) abort();
      if (r.reason == SkipReason::kNone) abort();
      if (r.reason == SkipReason::kResync && !was_resyncing) abort();
      if (r.reason != SkipReason::kResync) e.errors.emplace_back(r.offset, r.reason);
      e.seen += r.skipped;
    }
    if (f.offset() != e.seen) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  Framer f(kMaxPdu);
  Events chunked;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    f.Append(bytes.subspan(i, std::min(chunk, bytes.size() - i)));
    Drain(f, false, chunked);
  }
  Drain(f, true, chunked);
  if (chunked.seen != bytes.size()) abort();

  Framer whole(kMaxPdu);
  Events at_once;
  whole.Append(bytes);
  Drain(whole, true, at_once);
  if (at_once.frames != chunked.frames || at_once.errors != chunked.errors) abort();
  return 0;
}
