// Fuzzes the BER reader: walks every TLV of the input recursively, decodes every primitive in
// every way, and checks that the framer agrees with the reader on complete values.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ber/reader.h"

namespace {
using namespace tapvault::ber;

void Walk(Reader& r, Context& ctx, int budget) {
  while (!r.AtEnd() && budget-- > 0) {
    Tlv t;
    if (!r.Next(t).ok()) return;
    if (t.tag.constructed) {
      auto inner = r.Enter(t);
      if (inner.ok()) Walk(*inner, ctx, budget);
      std::string scratch;
      (void)StringOctets(t, ctx, &scratch);
    } else {
      (void)DecodeBoolean(t);
      (void)DecodeNull(t);
      (void)DecodeInteger(t);
      (void)DecodeUnsigned(t);
      (void)DecodeOid(t, false);
      (void)DecodeOid(t, true);
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto bytes = std::span(reinterpret_cast<const std::byte*>(data), size);
  Context ctx;
  ctx.limits.max_elements = 100000;
  Reader r(bytes, ctx);
  Walk(r, ctx, 100000);
  Context framing;
  auto len = CompleteTlvLength(bytes, framing);
  if (len.ok() && *len > 0) {
    Context again;
    Reader one(bytes.first(*len), again);
    Tlv t;
    if (!one.Next(t).ok() || t.encoding.size() != *len) abort();
  }
  return 0;
}
