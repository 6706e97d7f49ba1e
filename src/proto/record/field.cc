#include "proto/record/field.h"

#include "base/status_macros.h"

namespace tapvault::proto {

absl::StatusOr<Bytes> FieldOctets(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu) {
  if (!tlv.tag.constructed) return tlv.value;
  std::string scratch;
  RETURN_IF_ERROR(ber::StringOctets(tlv, ctx, &scratch).status());
  // Not the view StringOctets returned: it points into `scratch`, whose (short-string) buffer
  // moves with it.
  return base::AsBytes(pdu.Own(std::move(scratch)));
}

}  // namespace tapvault::proto
