// Encoder of TS 101 671 HI2Operations IRI (module version18, as TS 102 232-1 imports it) for the
// handover simulator (`tapvault feed`), tests and the tshark cross-check. It writes the
// LI-PS-PDU IRIContents [5] eTSI671IRI element, used with li_ps::EncodeIriPdu's contents
// callback:
//
//   li_ps::EncodeIriPdu(header, {.kind = proto::Kind::kIriBegin,
//       .contents = [&](ber::Writer& w) {
//         hi2ops::WriteIri(w, {.kind = proto::Kind::kIriBegin, .liid = "LIID-7",
//             .cin = "12345678", .operator_id = "OP1",
//             .timestamp = base::Timestamp{1764362388000000},
//             .parties = {{.qualifier = hi2ops::PartyQualifier::kOriginating,
//                          .format = hi2ops::NumberFormat::kIsup,
//                          .digits = "31201234567",
//                          .nature = proto::NumberNature::kInternational}}});
//       }});
//
// Numbers are written in the format chosen per party: ISUP (Q.763 3.9/3.10 parameter field,
// BCD), DSS1 (Q.931 4.5.8/4.5.10 information element contents, IA5), MAP (3GPP TS 29.002
// AddressString, TBCD), msISDN (AddressString), e164-Format (ISUP calling party number format),
// or the sip-uri / tel-url text as given. Digits may contain 0-9, '*' and '#' (ISUP: code 11 /
// code 12; MAP: TBCD 1010 / 1011); other characters are written as 0 in BCD formats.
// Thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "ber/writer.h"
#include "proto/record/record.h"

namespace tapvault::proto::hi2ops {

// PartyInformation party-Qualifier [0]; kNone omits the field (not valid ASN.1, but peers do
// it, and the decoder must cope: such a party gets PartyRole::kOther).
enum class PartyQualifier : uint8_t {
  kOriginating = 0,
  kTerminating = 1,
  kForwardedTo = 2,
  kGprsTarget = 3,
  kNone = 255,
};

// How a party's identity is written inside partyIdentity [1].
enum class NumberFormat : uint8_t {
  kIsup,    // callingPartyNumber [4] / calledPartyNumber [5] iSUP-Format
  kDss1,    // callingPartyNumber [4] dSS1-Format [2] / calledPartyNumber [5] dSS1-Format [3]
  kMap,     // callingPartyNumber [4] mAP-Format [3] / calledPartyNumber [5] mAP-Format [2]
  kMsisdn,  // msISDN [6] (AddressString)
  kE164,    // e164-Format [7] (ISUP calling party number format)
  kSipUri,  // sip-uri [8]
  kTelUrl,  // tel-url [9]
};

// Which partyIdentity number field a kIsup/kDss1/kMap number goes into.
enum class NumberField : uint8_t {
  kAuto,     // callingPartyNumber for originating parties, calledPartyNumber for the others
  kCalling,  // callingPartyNumber [4]
  kCalled,   // calledPartyNumber [5]
};

// Extra numbers carried in the party's supplementary-Services-Information [3]
// standard-Supplementary-Services [1] as ISUP-SS-parameters (EN 300 356 parameter TLVs) or,
// for kDss1 parties, DSS1-SS-parameters-codeset-0 (EN 300 403-1 information elements).
struct SupplementaryNumbers {
  std::string_view redirecting_number;      // ISUP 0x0B / DSS1 0x74 Redirecting number
  std::string_view original_called_number;  // ISUP 0x28 Original called number (ISUP only)
  std::string_view redirection_number;      // ISUP 0x0C / DSS1 0x76 Redirection number
  NumberNature nature = NumberNature::kInternational;
};

struct PartySpec {
  PartyQualifier qualifier = PartyQualifier::kOriginating;
  NumberFormat format = NumberFormat::kIsup;
  NumberField field = NumberField::kAuto;
  std::string_view digits;  // the number's digits, or the URI for kSipUri / kTelUrl
  NumberNature nature = NumberNature::kInternational;  // kNotGiven is written as unknown
  // Calling-type numbers only (ISUP/e164 APRI = 01, DSS1 octet 3a presentation = 01, which
  // forces octet 3a to be written). The digits are still sent, as a mediator does.
  bool presentation_restricted = false;
  std::string_view imsi;  // imsi [3] (TBCD), "" = absent
  std::string_view imei;  // imei [1] (TBCD), "" = absent
  SupplementaryNumbers supplementary;
};

// TS 101 671 IRI-Parameters intercepted-Call-Direct [4].
enum class CallDirection : uint8_t {
  kNotAvailable = 0,
  kOriginatingTarget = 1,
  kTerminatingTarget = 2,
  kAbsent = 255,
};

// How the [5] eTSI671IRI CHOICE is written.
enum class Carrier : uint8_t {
  kIrisContent,    // iRIsContent [1] -> IRIContent [kind tag 1..4] (the common form)
  kIriParameters,  // iRI-Parameters [0] (no record type inside; the PS-PDU iRIType gives it)
  kIriSequence,    // iRIsContent [1] -> IRISequence (SEQUENCE OF IRIContent, one element)
};

struct Hi2IriSpec {
  Kind kind = Kind::kIriReport;  // kIriBegin / kIriEnd / kIriContinue / kIriReport
  Carrier carrier = Carrier::kIrisContent;
  std::string_view liid;                  // lawfulInterceptionIdentifier [1] (1..25 octets)
  std::string_view cin;                   // communication-Identity-Number [0]; "" = absent
  std::string_view operator_id = "OP";    // network-Identifier operator-Identifier [0]
  std::string_view network_element_e164;  // network-Element-Identifier e164-Format; "" = none
  base::Timestamp timestamp;              // timeStamp [3]
  bool utc_time = false;                  // timeStamp as utcTime [1] instead of localTime [0]
  CallDirection direction = CallDirection::kAbsent;
  std::optional<uint8_t> call_state;  // intercepted-Call-State [5] (1 idle, 2 setup, 3 connected)
  bool write_domain_id = true;        // domainID [0] = hi2OperationId (0.4.0.2.2.1.18)
  std::vector<PartySpec> parties;     // partyInformation [9]; omitted when empty
};

// Writes IRIContents [5] eTSI671IRI.
void WriteIri(ber::Writer& w, const Hi2IriSpec& spec);

// Number field encoders, exposed for tests and the pstn encoder. The Encode* functions return
// the OCTET STRING content.
std::string EncodeIsupNumber(std::string_view digits, NumberNature nature, bool calling,
                             bool presentation_restricted);
std::string EncodeDss1Number(std::string_view digits, NumberNature nature, bool calling,
                             bool presentation_restricted);
std::string EncodeAddressString(std::string_view digits, NumberNature nature);  // MAP / msISDN
std::string EncodeTbcd(std::string_view digits);                                // IMSI / IMEI

}  // namespace tapvault::proto::hi2ops
