// The decoded form of one handover PDU (ETSI TS 102 232-1 PS-PDU), as every decoder under
// src/proto/ fills it and everything downstream (ingest, store, filter, inspect) reads it.
//
//   proto::PsPdu pdu;                               // reuse across frames: no allocation churn
//   RETURN_IF_ERROR(li_ps::DecodePsPdu(frame, pdu));
//   for (const proto::PayloadItem& item : pdu.items) { ... item.kind, item.parties ... }
//
// Lifetime: string_view / Bytes members point into the decoded frame or into PsPdu::owned; they
// stay valid while both live and until the PsPdu is cleared or decoded into again.
// Party identities are owned strings: they are few, and some are built (BCD digits, SIP URIs).
// Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "base/byte_reader.h"
#include "base/time.h"

namespace tapvault::proto {

using base::Bytes;

// What one payload item is. Names (KindName) are the `kind` strings of `tapvault inspect`.
enum class Kind : uint8_t {
  kUnknown,
  kIriBegin, kIriContinue, kIriEnd, kIriReport,
  kIri,                 // IRIPayload without iRIType
  kCc,
  // TRIPayload (TS 102 232-1 5.2.12 / A.2)
  kKeepalive, kKeepaliveResponse, kIntegrityCheck, kTestPdu, kPadding, kFirstSegment,
  kLastSegment, kCinReset, kOperatorMessage, kOptionRequest, kOptionResponse, kOptionComplete,
  kAckRequest, kAckResponse,
  // other Payload alternatives
  kHi1Operation, kEncrypted, kThreeGppHi1Operation, kIlhi, kHi4,
};
std::string_view KindName(Kind kind);
inline bool IsIri(Kind k) { return k >= Kind::kIriBegin && k <= Kind::kIri; }

// Which service-specific module carried the IRI or CC. Names are `inspect`'s `service` strings.
enum class Service : uint8_t {
  kNone,       // TRI, HI1, ...: no service part
  kUnknown,    // an alternative we recognise by tag only, or an unknown extension
  kIpmm,       // TS 102 232-5 IPMultimediaPDU
  kIpAccess,   // TS 102 232-3 IPAccessPDU
  kPstn,       // TS 102 232-6 PstnIsdnPDU
  kHi2Ops,     // TS 101 671 HI2Operations (ETSI671IRI)
  kEmail,      // TS 102 232-2 (recognised, not decoded)
  kMessaging,  // TS 102 232-2 messaging (recognised, not decoded)
  kL2,         // TS 102 232-4 (recognised, not decoded)
  kUmts, kEps, kThreeGpp33128, kOther,
};
std::string_view ServiceName(Service service);

// TS 102 232-1 PayloadDirection.
enum class Direction : uint8_t {
  kFromTarget = 0, kToTarget = 1, kIndeterminate = 2, kCombined = 3, kNotApplicable = 4,
  kAbsent = 255,
};
std::string_view DirectionName(Direction d);

// The role in which an identity took part. Every identity the privileged-party filter must see
// is one of these; names are `inspect`'s `role` strings.
enum class PartyRole : uint8_t {
  kTarget,            // the intercepted identity as the IRI names it
  kOriginating,       // calling party (HI2 partyQualifier originating-Party, CallingPartyNumber)
  kTerminating,       // called party (terminating-Party, CalledPartyNumber)
  kForwardedTo,       // forwarded-to / diverted-to party
  kRedirecting,       // redirecting / original called number
  kConferenceMember,
  kOther,             // a party whose qualifier the IRI does not give or we do not know
  // SIP (TS 102 232-5 IPMMIRI carrying SIP): the header it came from
  kSipRequestUri, kSipFrom, kSipTo, kSipPAssertedIdentity, kSipPPreferredIdentity,
  kSipDiversion, kSipHistoryInfo, kSipReferredBy, kSipReferTo, kSipContact,
  kSipRemotePartyId, kSipPCalledPartyId,
};
std::string_view PartyRoleName(PartyRole role);

// Nature of address of a number (ISUP Q.763 3.9 / DSS1 Q.931 type of number), where the IRI
// gives one. The filter reads the digits in this light (national numbers get the country code).
enum class NumberNature : uint8_t {
  kNotGiven, kUnknown, kSubscriber, kNational, kInternational, kNetworkSpecific, kAbbreviated,
};
std::string_view NumberNatureName(NumberNature n);

struct Party {
  PartyRole role = PartyRole::kOther;
  std::string id;  // as received: "sip:+3120...@host", "tel:+31...", or the digits of a number
  NumberNature nature = NumberNature::kNotGiven;
  friend bool operator==(const Party&, const Party&) = default;
};

// TS 102 232-1 IntegrityCheck (TRIPayload [0]).
struct IntegrityCheck {
  std::vector<uint32_t> sequence_numbers;  // the PDUs covered, in the order hashed
  uint8_t check_type = 0;                  // 1 hash, 2 signature
  uint8_t data_type = 0;                   // 1 IRI, 2 CC, 3 ILHI; 0 absent
  uint8_t hash_algorithm = 0;              // 1 SHA-1, 2 SHA-256, 3 SHA-384, 4 SHA-512; 0 absent
  uint8_t signature_algorithm = 0;         // 1 DSA, 2 ECDSA, 3 EdDSA; 0 absent
  Bytes check_value;
};

struct PayloadItem {
  Kind kind = Kind::kUnknown;
  Service service = Service::kNone;
  Direction direction = Direction::kAbsent;     // CC payloadDirection / IRI payloadDirection
  std::optional<base::Timestamp> timestamp;     // per-item (aggregated payloads), if given
  // CC: the intercepted user data (RTP packet, IP packet, PSTN bearer octets).
  // IPMM IRI: the SIP message. Other IRI: the encoding of the service-specific IRI.
  Bytes content;
  std::vector<Party> parties;                   // IRI: every identity, with its role
  // Service facts that are not identities, e.g. {"sip.method","INVITE"}, {"sip.call_id",...},
  // {"ip.target","192.168.50.5"}, {"cc.protocol","rtp"}, {"hi1.operation","activated"}.
  std::vector<std::pair<std::string_view, std::string>> attributes;
  std::optional<IntegrityCheck> integrity;      // TRI integrityCheck only
};

// TS 102 232-1 PSHeader.
struct PsHeader {
  std::vector<uint64_t> domain_id;                // li-psDomainId arcs (module version last)
  std::string_view liid;
  std::string_view authorization_country_code;    // "" if absent
  std::string_view operator_id;
  std::string_view network_element_id;            // "" if absent
  std::optional<uint32_t> cin;                    // communicationIdentityNumber
  std::string_view delivery_country_code;         // "" if absent
  uint32_t sequence_number = 0;
  std::optional<base::Timestamp> timestamp;       // timeStamp or microSecondTimeStamp
  bool microsecond_timestamp = false;             // which of the two it came from
  std::string_view interception_point_id;         // "" if absent
  uint8_t timestamp_qualifier = 0;                // 0 absent/unknown, 1 interception, 2 mediation
};

struct PsPdu {
  PsHeader header;
  absl::InlinedVector<PayloadItem, 1> items;
  Bytes encoding;                  // the whole PDU as received (what integrity hashes cover)
  uint32_t skipped_unknown = 0;    // unknown extensions / CHOICE alternatives skipped
  std::deque<std::string> owned;   // backing store for joined segmented strings and built text

  void Clear() {
    header = PsHeader{};
    items.clear();
    encoding = {};
    skipped_unknown = 0;
    owned.clear();
  }
  // Keeps `text` alive as long as this PDU and returns a view of it.
  std::string_view Own(std::string text) { return owned.emplace_back(std::move(text)); }
};

}  // namespace tapvault::proto
