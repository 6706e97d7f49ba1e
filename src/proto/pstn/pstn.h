// TS 102 232-6 PstnIsdnPDU: PstnIsdnIRI (the TS 101 671 IRI content it carries, with every party
// number) and PstnIsdnCC (bearer octets).
//
// Decoders take the context-tagged element of LI-PS-PDU that carries this module
// (IRIContents [10] pstnIsdnIRI; CCContents [11] pstnIsdnCC), with its IMPLICIT tag as read, and
// fill one PayloadItem. Views in the item point into the frame or into pdu.owned. Unknown
// extensions and CHOICE alternatives are skipped and counted in pdu.skipped_unknown. Errors:
// InvalidArgument / OutOfRange / ResourceExhausted from the BER layer, with the offset.
// Thread-compatible (no shared state).
#pragma once

#include "absl/status/status.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto::pstn {

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);
absl::Status DecodeCc(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);

}  // namespace tapvault::proto::pstn
