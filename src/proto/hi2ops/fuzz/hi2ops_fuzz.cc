// Fuzz target: any input decoded as the LI-PS-PDU IRIContents [5] eTSI671IRI element (whatever
// tag it has), then as bare HI2 IRI-Parameters, and each number field decoder on the raw bytes.
// No I/O; work per input is capped by the BER limits.
#include <cstddef>
#include <cstdint>

#include "proto/hi2ops/hi2ops.h"

using namespace tapvault;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  base::Bytes in(reinterpret_cast<const std::byte*>(data), size);
  ber::Context ctx;
  ctx.limits.max_elements = 4096;
  absl::StatusOr<ber::Tlv> tlv = ber::ReadSingle(in, ctx);
  if (tlv.ok()) {
    proto::PsPdu pdu;
    proto::PayloadItem item;
    item.kind = proto::Kind::kIri;
    (void)proto::hi2ops::DecodeIri(*tlv, ctx, pdu, item);
    proto::PayloadItem params;
    (void)proto::hi2ops::DecodeIriParameters(*tlv, ctx, pdu, params);
  }
  (void)proto::hi2ops::DecodeIsupNumber(in, proto::hi2ops::IsupLayout::kGeneric);
  (void)proto::hi2ops::DecodeIsupNumber(in, proto::hi2ops::IsupLayout::kCalled);
  (void)proto::hi2ops::DecodeDss1Number(in);
  (void)proto::hi2ops::DecodeAddressString(in);
  return 0;
}
