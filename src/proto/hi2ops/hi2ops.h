// TS 101 671 HI2Operations IRI (IRI-Begin/Continue/End/Report; partyInformation with ISUP/DSS1/BCD
// numbers and nature of address, sip-uri, tel-url, forwarded-to parties).
//
// Decoders take the context-tagged element of LI-PS-PDU that carries this module
// (IRIContents [5] eTSI671IRI), with its IMPLICIT tag as read, and fill one PayloadItem. Views in
// the item point into the frame or into pdu.owned. Unknown extensions and CHOICE alternatives are
// skipped and counted in pdu.skipped_unknown. Errors: InvalidArgument / OutOfRange /
// ResourceExhausted from the BER layer, with the offset. Thread-compatible (no shared state).
//
//   ber::Tlv iri_contents;  // [5] eTSI671IRI, read by the PS-PDU decoder
//   item.kind = Kind::kIri; // or the IRIPayload iRIType
//   RETURN_IF_ERROR(hi2ops::DecodeIri(iri_contents, ctx, pdu, item));
//   for (const Party& p : item.parties) ...   // every identity, with its role
//
// The schema followed is HI2Operations version18 (HI2Operations.asn in this folder, as TS 102
// 232-1 provides it). What DecodeIri fills:
// - item.service = kHi2Ops; item.kind from the HI2 record tag (iRI-Begin-record [1] ...
//   iRI-Report-record [4]) when the caller left kIri or kUnknown; item.timestamp from timeStamp
//   [3] when the caller left it unset; item.content = the whole [5] element.
// - item.parties: each identity of each PartyInformation (partyInformation [9],
//   serverCenterAddress [13]) with the role of its party-Qualifier (originating -> kOriginating,
//   terminating -> kTerminating, forwarded-to -> kForwardedTo, gPRS-Target -> kTarget, absent or
//   unknown -> kOther): callingPartyNumber / calledPartyNumber (ISUP, DSS1, MAP formats), msISDN,
//   e164-Format (digits, with their nature of address), sip-uri / tel-url (text as received).
//   Numbers in the party's ISUP / DSS1 parameters (services-Information [2],
//   supplementary-Services-Information [3]) are added too: redirecting and original called
//   numbers as kRedirecting, redirection numbers as kForwardedTo, calling / called numbers as
//   kOriginating / kTerminating, connected and generic numbers in the party's role.
//   Presentation-restricted (CLIR) numbers are kept and also listed in the attribute
//   "hi2ops.presentation_restricted" (value: the digits).
// - item.attributes "hi2ops.*": liid, cin, operator_id, network_element, timestamp (RFC 3339),
//   call_direction, call_state, imsi, imei, tei, party_validity, indication (e.g. add-conf), ...
// Also accepted: the 3GPP TS 33.108 tagging of IRIsContent ([0] iRIContent / [1] iRISequence)
// that Wireshark uses.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto::hi2ops {

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);

// Decodes one HI2 IRI-Parameters SEQUENCE (whatever its tag) into `item` (parties, attributes,
// timestamp). For modules that embed TS 101 671 IRI-Parameters.
absl::Status DecodeIriParameters(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                                 PayloadItem& item);

// A decoded address (telephone number) field.
struct DecodedNumber {
  std::string digits;  // '0'-'9', '*', '#'; other codes as hex letters
  NumberNature nature = NumberNature::kNotGiven;
  uint8_t numbering_plan = 0;  // NPI as coded
  bool presentation_restricted = false;
  bool address_not_available = false;
};

// Which Q.763 parameter layout an ISUP number has.
enum class IsupLayout : uint8_t {
  kCalling,  // 3.10 calling party number (also redirecting, original called, connected, e164)
  kCalled,   // 3.9 called party number (also redirection number)
  kGeneric,  // 3.26 generic number (number qualifier octet first, then the calling layout)
};

// Q.763 number parameter field: O/E + nature of address, NPI (+ APRI/screening), BCD digits.
absl::StatusOr<DecodedNumber> DecodeIsupNumber(base::Bytes value, IsupLayout layout);
// Q.931 4.5.x number information element contents (without identifier and length): octet 3
// (type of number, numbering plan), optional octets 3a.. (presentation), IA5 digits.
absl::StatusOr<DecodedNumber> DecodeDss1Number(base::Bytes value);
// 3GPP TS 29.002 AddressString: nature of address / numbering plan octet, then TBCD digits.
absl::StatusOr<DecodedNumber> DecodeAddressString(base::Bytes value);
// 3GPP TS 29.002 TBCD-STRING (IMSI, IMEI): low nibble first, 0xF filler.
absl::StatusOr<std::string> DecodeTbcd(base::Bytes value);

}  // namespace tapvault::proto::hi2ops
