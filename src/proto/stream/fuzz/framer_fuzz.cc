// Fuzzes the stream framer: the input is cut into chunks at positions taken from its first bytes;
// every byte must come out exactly once, as part of a frame or as skipped.
#include <cstdint>
#include <cstdlib>

#include "proto/stream/framer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tapvault::proto::stream::Framer;
  if (size < 1) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  Framer f(4096);
  size_t seen = 0;
  auto drain = [&](bool eof) {
    for (;;) {
      auto r = f.Next(eof);
      if (r.event == Framer::Event::kNeedMore) return;
      if (r.offset != seen) abort();
      seen += r.event == Framer::Event::kFrame ? r.frame.size() : r.skipped;
      if (r.event == Framer::Event::kSkipped && r.skipped == 0) abort();
      if (f.buffered() == 0) return;
    }
  };
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    f.Append(bytes.subspan(i, std::min(chunk, bytes.size() - i)));
    drain(false);
  }
  drain(true);
  if (seen != bytes.size()) abort();
  return 0;
}
