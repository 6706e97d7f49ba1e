// Decoder of one ETSI TS 102 232-1 PS-PDU (LI-PS-PDU module, version43; earlier versions that
// differ only by extensions decode the same): PSHeader, and every Payload alternative
// (IRI and CC sequences dispatched to the service decoders under src/proto/, TRI payloads incl.
// keep-alive / keep-aliveResponse / integrityCheck / PDU acknowledgement, HI1 operations,
// EncryptionContainer recognised).
//
//   proto::PsPdu pdu;
//   absl::Status s = li_ps::DecodePsPdu(frame, pdu);
//
// `frame` must hold exactly one complete PS-PDU (the stream framer finds the boundaries).
// Views in `out` point into `frame` and out.owned. Unknown extensions and CHOICE alternatives are
// skipped and counted (out.skipped_unknown). Errors name the byte offset. Thread-compatible.
//
// Reuse: `out` is reset on entry, but the buffers of header.domain_id and of the first item's
// parties/attributes are kept, so after warm-up a CC PDU (IP or IPMM) decodes with no heap
// allocation. On error, `out` holds what was decoded before the error (the header comes first;
// items[0].kind/service are set before the service decoder runs): useful for logging only.
// Errors from the service decoders are passed up with "li_ps: <alternative>: " prepended.
// Kinds: IRIPayload iRIType -> kIriBegin/End/Continue/Report (absent -> kIri); CCPayload ->
// kCc; each TRIPayload alternative -> its Kind (integrityCheck fills item.integrity);
// hI1-Operation -> kHi1Operation with attributes "hi1.operation" (activated, deactivated,
// modified, alarm, national), "hi1.liid", "hi1.target", "hi1.alarm", "hi1.operator_id",
// "hi1.cin"; encryptionContainer -> kEncrypted ("encryption.type", content = encryptedPayload).
// IRI/CC alternatives this library does not decode (email, UMTS, EPS, TS 33.128, ...) get their
// Service and item.content = the element's contents octets.
#pragma once

#include "absl/status/status.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto::li_ps {

struct DecodeOptions {
  ber::Limits limits;
};

absl::Status DecodePsPdu(Bytes frame, PsPdu& out, const DecodeOptions& options = {});

}  // namespace tapvault::proto::li_ps
