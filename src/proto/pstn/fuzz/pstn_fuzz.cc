// Fuzz target: any input decoded as the LI-PS-PDU IRIContents [10] pstnIsdnIRI and CCContents
// [11] pstnIsdnCC elements (whatever tag it has). No I/O; work capped by the BER limits.
#include <cstddef>
#include <cstdint>

#include "proto/pstn/pstn.h"

using namespace tapvault;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  base::Bytes in(reinterpret_cast<const std::byte*>(data), size);
  ber::Context ctx;
  ctx.limits.max_elements = 4096;
  absl::StatusOr<ber::Tlv> tlv = ber::ReadSingle(in, ctx);
  if (!tlv.ok()) return 0;
  proto::PsPdu pdu;
  proto::PayloadItem iri;
  (void)proto::pstn::DecodeIri(*tlv, ctx, pdu, iri);
  proto::PayloadItem cc;
  (void)proto::pstn::DecodeCc(*tlv, ctx, pdu, cc);
  return 0;
}
