// Reading string-typed fields (OCTET STRING, PrintableString, ...) into the decoded model.
//
//   ASSIGN_OR_RETURN(Bytes v, proto::FieldOctets(tlv, ctx, pdu));
//
// Primitive: a view into the frame. Constructed (BER segmented): the segments are joined and
// kept in pdu.owned, so the view lives as long as the PsPdu. Errors from ber::StringOctets.
#pragma once

#include "absl/status/statusor.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto {

absl::StatusOr<Bytes> FieldOctets(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu);

}  // namespace tapvault::proto
