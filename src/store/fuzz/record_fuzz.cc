// Segment files are outside input for `tapvault verify` and recovery (a tampered or damaged disk):
// the record and segment header parsers must reject anything malformed without crashing, and what
// they accept must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "store/record_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tapvault;
  base::Bytes in(reinterpret_cast<const std::byte*>(data), size);
  if (auto seg = store::DecodeSegmentHeader(in); seg.ok()) {
    if (store::EncodeSegmentHeader(seg->first).size() != seg->second) std::abort();
  }
  size_t pos = 0;
  while (pos < in.size()) {
    auto rec = store::ParseRecord(in.subspan(pos));
    if (!rec.ok()) break;
    if (store::EncodeRecordHeader(rec->header) != base::AsString(rec->header_bytes)) std::abort();
    (void)store::LeafEntry(rec->header_bytes, rec->body);
    pos += rec->framed_size;
  }
  if (auto h = store::DecodeRecordHeader(in); h.ok()) {
    if (store::EncodeRecordHeader(*h) != base::AsString(in)) std::abort();
  }
  return 0;
}
