// TS 102 232-5 IPMultimediaPDU: IPMMIRI (the SIP message and every party identity in it, via src/sip) and IPMMCC (RTP).
//
//   // inside the PS-PDU decoder, for IRIContents [11] / CCContents [12]:
//   RETURN_IF_ERROR(ipmm::DecodeIri(tlv, ctx, pdu, item));
//   // item.content = the SIP message; item.parties = every identity with its SIP header role
//
// Decoders take the context-tagged element of LI-PS-PDU that carries this module
// (IRIContents [11] iPMMIRI; CCContents [12] iPMMCC), with its IMPLICIT tag as read, and fill one PayloadItem. Views in
// the item point into the frame or into pdu.owned. Unknown extensions and CHOICE alternatives are
// skipped and counted in pdu.skipped_unknown. Errors: InvalidArgument / OutOfRange /
// ResourceExhausted from the BER layer, with the offset. Thread-compatible (no shared state).
//
// The ObjId fields are read as RELATIVE-OID (the standard) or OBJECT IDENTIFIER (the patched
// module) alike: their value is not needed, so neither form is an error.
//
// DecodeIri sets item.service = kIpmm and, by IPIRIContents alternative:
//   sIPMessage [1] / iRIOnlySIPMessage [6]: content = sIPContent; attributes ip.src / ip.dst
//     (text), then sip::ExtractParties fills parties and sip.* attributes;
//   originalIPMMMessage [0] / iRIOnlyOriginalIPMMMessage [5]: content = the IP packet; the SIP
//     payload after its IPv4/IPv6 + UDP/TCP header is extracted the same way;
//   h323Message [2], nationalIPMMIRIParameters [3], xCAPMessage [4], iRIOnlyRTPPacket [7]:
//     content = the octets; attribute ipmm.signalling = h323 / national / xcap / rtp-event.
// additionalSignalling [3] sipHeaderLine values are scanned for identities too.
// A SIP message that is garbage does not fail the decode (the IRI is well-formed BER): the item
// keeps what was extracted and an attribute sip.error says what was wrong.
//
// DecodeCc sets item.service = kIpmm, content = mMCCContents, and attributes only for fields
// present: cc.frame_type (ipFrame, udpFrame, rtpFrame, audioFrame, tcpFrame, artificialRtpFrame,
// udptlFrame, msrpFrame, or the number), cc.protocol (rtp, msrp, udptl, or the number),
// cc.stream_id. Hot path: no heap allocation without optional fields; exactly one (the attribute
// vector; values fit std::string's inline buffer) with OpenLI's frameType + mMCCprotocol.
#pragma once

#include "absl/status/status.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto::ipmm {

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);
absl::Status DecodeCc(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);

}  // namespace tapvault::proto::ipmm
