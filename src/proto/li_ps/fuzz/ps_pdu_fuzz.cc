// Fuzz target: decode any input as one PS-PDU (all service decoders reachable). The PsPdu is
// reused across inputs, as ingest reuses it, so stale state from one input cannot leak.
#include <cstddef>
#include <cstdint>

#include "proto/li_ps/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static tapvault::proto::PsPdu pdu;
  tapvault::proto::li_ps::DecodeOptions options;
  options.limits.max_elements = 1u << 14;  // cap the work per input
  const tapvault::base::Bytes frame(reinterpret_cast<const std::byte*>(data), size);
  (void)tapvault::proto::li_ps::DecodePsPdu(frame, pdu, options);
  return 0;
}
