// ETSI TS 102 232-1 LI-PS-PDU decoder (module version43, DEFINITIONS IMPLICIT TAGS).
//
// Tagging reminders (X.680 31.2.7): a context tag on a CHOICE is EXPLICIT even in an IMPLICIT
// module, so `payload [2] Payload`, `iRIContents [2] IRIContents`, `cCContents [2] CCContents`,
// `tRIPayload [2] TRIPayload` and `hI1-Operation [3]` each wrap exactly one alternative TLV.
// Everything else is implicitly tagged.
//
// Hot path (an IPMM CC PDU): no heap allocation here. The PsPdu is reused: items is an
// InlinedVector with room for one item, domain_id keeps its capacity across decodes, strings are
// views into the frame (only BER-segmented strings are joined into pdu.owned).
#include "proto/li_ps/decode.h"

#include "proto/record/field.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "proto/hi2ops/hi2ops.h"
#include "proto/ipaccess/ipaccess.h"
#include "proto/ipmm/ipmm.h"
#include "proto/pstn/pstn.h"

namespace tapvault::proto::li_ps {
namespace {

using ber::Tlv;

constexpr size_t kMaxDomainIdArcs = 32;  // li-psDomainId has 8; anything far longer is junk

absl::Status Error(const Tlv& tlv, std::string_view what) {
  return ber::ErrorAt(tlv.offset, base::StrCat("li_ps: ", what));
}

// The octets of a string-typed field. Primitive: a view into the frame. Constructed (BER
// segmented): joined into pdu.owned.
absl::Status ReadText(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, std::string_view& out) {
  ASSIGN_OR_RETURN(Bytes octets, FieldOctets(tlv, ctx, pdu));
  out = base::AsString(octets);
  return absl::OkStatus();
}

absl::Status ReadBytes(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, Bytes& out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadText(tlv, ctx, pdu, s));
  out = base::AsBytes(s);
  return absl::OkStatus();
}

absl::Status ReadU32(const Tlv& tlv, uint32_t& out) {
  ASSIGN_OR_RETURN(uint64_t v, ber::DecodeUnsigned(tlv));
  if (v > std::numeric_limits<uint32_t>::max()) return Error(tlv, "INTEGER out of 0..2^32-1");
  out = static_cast<uint32_t>(v);
  return absl::OkStatus();
}

absl::Status ReadEnum(const Tlv& tlv, int64_t& out) {
  ASSIGN_OR_RETURN(out, ber::DecodeInteger(tlv));
  return absl::OkStatus();
}

absl::Status ReadGeneralizedTime(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                                 base::Timestamp& out) {
  std::string_view text;
  RETURN_IF_ERROR(ReadText(tlv, ctx, pdu, text));
  absl::StatusOr<base::Timestamp> t = base::ParseGeneralizedTime(text);
  if (!t.ok())
    return Error(tlv, base::StrCat("bad GeneralizedTime: ", base::View(t.status().message())));
  out = *t;
  return absl::OkStatus();
}

// MicroSecondTimeStamp ::= SEQUENCE { seconds [0] INTEGER, microSeconds [1] INTEGER (0..999999) }
absl::Status ReadMicroSecondTimeStamp(const ber::Reader& parent, const Tlv& tlv, PsPdu& pdu,
                                      base::Timestamp& out) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  bool have_seconds = false, have_us = false;
  uint64_t seconds = 0, us = 0;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      ASSIGN_OR_RETURN(seconds, ber::DecodeUnsigned(f));
      have_seconds = true;
    } else if (f.IsContext(1)) {
      ASSIGN_OR_RETURN(us, ber::DecodeUnsigned(f));
      if (us > 999999) return Error(f, "microSeconds out of 0..999999");
      have_us = true;
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_seconds || !have_us)
    return Error(tlv, "MicroSecondTimeStamp without seconds/microSeconds");
  constexpr uint64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000000 - 1;
  if (seconds > kMaxSeconds) return Error(tlv, "MicroSecondTimeStamp out of range");
  out.unix_us = static_cast<int64_t>(seconds * 1000000 + us);
  return absl::OkStatus();
}

// PayloadDirection ::= ENUMERATED { fromTarget(0), toTarget(1), ..., indeterminate(2),
// combined(3), notapplicable(4) }. Unknown extension values read as indeterminate.
absl::Status ReadDirection(const Tlv& tlv, PsPdu& pdu, Direction& out) {
  int64_t v;
  RETURN_IF_ERROR(ReadEnum(tlv, v));
  if (v >= 0 && v <= 4) {
    out = static_cast<Direction>(v);
  } else {
    out = Direction::kIndeterminate;
    ++pdu.skipped_unknown;
  }
  return absl::OkStatus();
}

// OBJECT IDENTIFIER arcs into a vector that keeps its capacity (no allocation after warm-up).
absl::Status ReadDomainId(const Tlv& tlv, std::vector<uint64_t>& arcs) {
  if (tlv.tag.constructed || tlv.value.empty()) return Error(tlv, "bad li-psDomainId");
  arcs.clear();
  if (arcs.capacity() < 16) arcs.reserve(16);
  uint64_t v = 0;
  bool in_arc = false;
  for (std::byte byte : tlv.value) {
    const auto b = static_cast<uint8_t>(byte);
    if (!in_arc && b == 0x80) return Error(tlv, "OID subidentifier with leading zero");
    if (v >> 56) return Error(tlv, "OID arc too large");
    v = (v << 7) | (b & 0x7f);
    in_arc = (b & 0x80) != 0;
    if (in_arc) continue;
    if (arcs.size() + 2 > kMaxDomainIdArcs) return Error(tlv, "li-psDomainId has too many arcs");
    if (arcs.empty()) {  // X.690 8.19.4: the first subidentifier is 40 * X + Y
      const uint64_t first = v < 40 ? 0 : (v < 80 ? 1 : 2);
      arcs.push_back(first);
      arcs.push_back(v - first * 40);
    } else {
      arcs.push_back(v);
    }
    v = 0;
  }
  if (in_arc) return Error(tlv, "truncated OID subidentifier");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// PSHeader

// NetworkIdentifier ::= SEQUENCE { operatorIdentifier [0], networkElementIdentifier [1]
// OPTIONAL, ..., eTSI671NEID [2] OPTIONAL }
absl::Status DecodeNetworkIdentifier(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                     PsPdu& pdu) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  bool have_operator = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, pdu.header.operator_id));
      have_operator = true;
    } else if (f.IsContext(1)) {
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, pdu.header.network_element_id));
    } else if (f.IsContext(2)) {
      // eTSI671NEID: a TS 101 671 Network-Element-Identifier; not part of the record model.
    } else {
      ++pdu.skipped_unknown;
    }
  }
  // Mandatory (no OPTIONAL): a missing one is a malformed PDU, not an extension to skip.
  if (!have_operator) return Error(tlv, "networkIdentifier without operatorIdentifier");
  return absl::OkStatus();
}

// CommunicationIdentifier ::= SEQUENCE { networkIdentifier [0], communicationIdentityNumber [1]
// OPTIONAL, deliveryCountryCode [2] OPTIONAL, ..., cINExtension [3] OPTIONAL }
absl::Status DecodeCommunicationIdentifier(const ber::Reader& parent, const Tlv& tlv,
                                           ber::Context& ctx, PsPdu& pdu) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  bool have_network_id = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0) && f.tag.constructed) {
      RETURN_IF_ERROR(DecodeNetworkIdentifier(r, f, ctx, pdu));
      have_network_id = true;
    } else if (f.IsContext(1)) {
      uint32_t cin;
      RETURN_IF_ERROR(ReadU32(f, cin));
      pdu.header.cin = cin;
    } else if (f.IsContext(2)) {
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, pdu.header.delivery_country_code));
    } else if (f.IsContext(3)) {
      // cINExtension (UmtsHI2Operations.CorrelationValues): not part of the record model.
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_network_id) return Error(tlv, "communicationIdentifier without networkIdentifier");
  return absl::OkStatus();
}

absl::Status DecodeHeader(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                          PsPdu& pdu) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  PsHeader& h = pdu.header;
  bool have_domain = false, have_liid = false, have_comm_id = false, have_seq = false;
  bool have_micro = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0:  // li-psDomainId
        RETURN_IF_ERROR(ReadDomainId(f, h.domain_id));
        have_domain = true;
        break;
      case 1:  // lawfulInterceptionIdentifier
        RETURN_IF_ERROR(ReadText(f, ctx, pdu, h.liid));
        have_liid = true;
        break;
      case 2:  // authorizationCountryCode
        RETURN_IF_ERROR(ReadText(f, ctx, pdu, h.authorization_country_code));
        break;
      case 3:  // communicationIdentifier
        if (!f.tag.constructed) return Error(f, "communicationIdentifier is not constructed");
        RETURN_IF_ERROR(DecodeCommunicationIdentifier(r, f, ctx, pdu));
        have_comm_id = true;
        break;
      case 4:  // sequenceNumber
        RETURN_IF_ERROR(ReadU32(f, h.sequence_number));
        have_seq = true;
        break;
      case 5: {  // timeStamp GeneralizedTime (microSecondTimeStamp wins if both are present)
        base::Timestamp t;
        RETURN_IF_ERROR(ReadGeneralizedTime(f, ctx, pdu, t));
        if (!have_micro) h.timestamp = t;
        break;
      }
      case 6:  // interceptionPointID
        RETURN_IF_ERROR(ReadText(f, ctx, pdu, h.interception_point_id));
        break;
      case 7: {  // microSecondTimeStamp
        base::Timestamp t;
        RETURN_IF_ERROR(ReadMicroSecondTimeStamp(r, f, pdu, t));
        h.timestamp = t;
        h.microsecond_timestamp = true;
        have_micro = true;
        break;
      }
      case 8: {  // timeStampQualifier: unknown(0), timeOfInterception(1), timeOfMediation(2),
                 // ..., timeOfAggregation(3)
        int64_t q;
        RETURN_IF_ERROR(ReadEnum(f, q));
        h.timestamp_qualifier = (q >= 0 && q <= 3) ? static_cast<uint8_t>(q) : 0;
        break;
      }
      case 9:   // extendedInterceptionPointID
      case 10:  // networkFunctionIdentifier
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_domain) return Error(tlv, "PSHeader without li-psDomainId");
  if (!have_liid) return Error(tlv, "PSHeader without lawfulInterceptionIdentifier");
  if (!have_comm_id) return Error(tlv, "PSHeader without communicationIdentifier");
  if (!have_seq) return Error(tlv, "PSHeader without sequenceNumber");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// IRI and CC payloads

// Reads the single alternative inside an explicitly tagged CHOICE.
absl::Status ReadChoice(const ber::Reader& parent, const Tlv& tlv, Tlv& alt) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  if (r.AtEnd()) return Error(tlv, "empty CHOICE");
  RETURN_IF_ERROR(r.Next(alt));
  if (!r.AtEnd()) return Error(tlv, "more than one alternative in a CHOICE");
  return absl::OkStatus();
}

// IRIContents alternatives that are recognised but not decoded.
Service IriServiceByTag(uint32_t tag) {
  switch (tag) {
    case 1:
      return Service::kEmail;  // emailIRI
    case 4:
      return Service::kUmts;  // uMTSIRI
    case 6:
    case 7:
      return Service::kL2;  // l2IRI, l2IRIOnly
    case 8:
    case 9:
      return Service::kOther;  // TS 101 909-20 TARGETACTIVITYMONITOR
    case 14:
      return Service::kMessaging;  // messagingIRI
    case 15:
      return Service::kEps;  // ePSIRI
    case 16:
    case 17:
    case 18:
      return Service::kOther;  // confIRI, proseIRI, gcseIRI
    case 19:
      return Service::kThreeGpp33128;  // threeGPP33128DefinedIRI
    default:
      return Service::kUnknown;
  }
}

Service CcServiceByTag(uint32_t tag) {
  switch (tag) {
    case 1:
      return Service::kEmail;  // emailCC
    case 4:
    case 16:
      return Service::kUmts;  // uMTSCC, uMTSCC-CC-PDU
    case 6:
      return Service::kL2;  // l2CC
    case 7:
    case 8:
    case 9:
    case 10:
      return Service::kOther;  // TS 101 909-20 (C)TTRAFFIC
    case 14:
    case 18:
      return Service::kMessaging;  // messagingCC, messagingMMCC
    case 15:
    case 17:
      return Service::kEps;  // ePSCC, ePSCC-CC-PDU
    case 19:
    case 20:
    case 21:
    case 22:
      return Service::kOther;  // conf/voip/gcse/CSvoice CC
    case 23:
      return Service::kThreeGpp33128;  // threeGPP33128DefinedCC
    default:
      return Service::kUnknown;
  }
}

absl::Status DecodeIriContents(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                               PsPdu& pdu, PayloadItem& item) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  if (alt.tag.cls != ber::TagClass::kContext) {
    item.service = Service::kUnknown;
    item.content = alt.value;
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  switch (alt.tag.number) {
    case 2:   // iPIRI
    case 3:   // iPIRIOnly
    case 20:  // iPIRIPacketReport
      item.service = Service::kIpAccess;
      return base::Annotate(ipaccess::DecodeIri(alt, ctx, pdu, item), "li_ps: IPAccess IRI");
    case 5:  // eTSI671IRI
      item.service = Service::kHi2Ops;
      return base::Annotate(hi2ops::DecodeIri(alt, ctx, pdu, item), "li_ps: eTSI671IRI");
    case 10:  // pstnIsdnIRI
      item.service = Service::kPstn;
      return base::Annotate(pstn::DecodeIri(alt, ctx, pdu, item), "li_ps: pstnIsdnIRI");
    case 11:  // iPMMIRI
      item.service = Service::kIpmm;
      return base::Annotate(ipmm::DecodeIri(alt, ctx, pdu, item), "li_ps: iPMMIRI");
    default:
      item.service = IriServiceByTag(alt.tag.number);
      item.content = alt.value;
      if (item.service == Service::kUnknown) ++pdu.skipped_unknown;
      return absl::OkStatus();
  }
}

absl::Status DecodeCcContents(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                              PsPdu& pdu, PayloadItem& item) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  if (alt.tag.cls != ber::TagClass::kContext) {
    item.service = Service::kUnknown;
    item.content = alt.value;
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  switch (alt.tag.number) {
    case 2:  // iPCC
      item.service = Service::kIpAccess;
      return base::Annotate(ipaccess::DecodeCc(alt, ctx, pdu, item), "li_ps: iPCC");
    case 11:  // pstnIsdnCC
      item.service = Service::kPstn;
      return base::Annotate(pstn::DecodeCc(alt, ctx, pdu, item), "li_ps: pstnIsdnCC");
    case 12:  // iPMMCC
      item.service = Service::kIpmm;
      return base::Annotate(ipmm::DecodeCc(alt, ctx, pdu, item), "li_ps: iPMMCC");
    default:
      item.service = CcServiceByTag(alt.tag.number);
      item.content = alt.value;
      if (item.service == Service::kUnknown) ++pdu.skipped_unknown;
      return absl::OkStatus();
  }
}

// IRIPayload ::= SEQUENCE { iRIType [0] OPTIONAL, timeStamp [1] OPTIONAL, iRIContents [2], ...,
// microSecondTimeStamp [3], timeStampQualifier [4], sessionDirection [5], payloadDirection [6] }
absl::Status DecodeIriPayload(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                              PsPdu& pdu, PayloadItem& item) {
  if (!(tlv.tag.cls == ber::TagClass::kUniversal && tlv.tag.number == ber::kSequence &&
        tlv.tag.constructed)) {
    return Error(tlv, "IRIPayload is not a SEQUENCE");
  }
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  item.kind = Kind::kIri;
  bool have_contents = false, have_micro = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0: {  // iRIType: iRI-Begin(1), iRI-End(2), iRI-Continue(3), iRI-Report(4)
        int64_t t;
        RETURN_IF_ERROR(ReadEnum(f, t));
        switch (t) {
          case 1:
            item.kind = Kind::kIriBegin;
            break;
          case 2:
            item.kind = Kind::kIriEnd;
            break;
          case 3:
            item.kind = Kind::kIriContinue;
            break;
          case 4:
            item.kind = Kind::kIriReport;
            break;
          default:
            item.kind = Kind::kIri;
            ++pdu.skipped_unknown;
        }
        break;
      }
      case 1: {
        base::Timestamp t;
        RETURN_IF_ERROR(ReadGeneralizedTime(f, ctx, pdu, t));
        if (!have_micro) item.timestamp = t;
        break;
      }
      case 2:
        if (have_contents) return Error(f, "IRIPayload with two iRIContents");
        RETURN_IF_ERROR(DecodeIriContents(r, f, ctx, pdu, item));
        have_contents = true;
        break;
      case 3: {
        base::Timestamp t;
        RETURN_IF_ERROR(ReadMicroSecondTimeStamp(r, f, pdu, t));
        item.timestamp = t;
        have_micro = true;
        break;
      }
      case 4:  // timeStampQualifier
      case 5:  // sessionDirection
        break;
      case 6:
        RETURN_IF_ERROR(ReadDirection(f, pdu, item.direction));
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return Error(tlv, "IRIPayload without iRIContents");
  return absl::OkStatus();
}

// CCPayload ::= SEQUENCE { payloadDirection [0] OPTIONAL, timeStamp [1] OPTIONAL,
// cCContents [2], ..., microSecondTimeStamp [3], timeStampQualifier [4] }
absl::Status DecodeCcPayload(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                             PsPdu& pdu, PayloadItem& item) {
  if (!(tlv.tag.cls == ber::TagClass::kUniversal && tlv.tag.number == ber::kSequence &&
        tlv.tag.constructed)) {
    return Error(tlv, "CCPayload is not a SEQUENCE");
  }
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  item.kind = Kind::kCc;
  bool have_contents = false, have_micro = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0:
        RETURN_IF_ERROR(ReadDirection(f, pdu, item.direction));
        break;
      case 1: {
        base::Timestamp t;
        RETURN_IF_ERROR(ReadGeneralizedTime(f, ctx, pdu, t));
        if (!have_micro) item.timestamp = t;
        break;
      }
      case 2:
        if (have_contents) return Error(f, "CCPayload with two cCContents");
        RETURN_IF_ERROR(DecodeCcContents(r, f, ctx, pdu, item));
        have_contents = true;
        break;
      case 3: {
        base::Timestamp t;
        RETURN_IF_ERROR(ReadMicroSecondTimeStamp(r, f, pdu, t));
        item.timestamp = t;
        have_micro = true;
        break;
      }
      case 4:  // timeStampQualifier
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return Error(tlv, "CCPayload without cCContents");
  return absl::OkStatus();
}

// SEQUENCE OF IRIPayload / CCPayload: one item each.
template <typename DecodeOne>
absl::Status DecodePayloadSequence(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                   PsPdu& pdu, DecodeOne decode_one) {
  if (!tlv.tag.constructed) return Error(tlv, "payload sequence is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  if (r.AtEnd()) return Error(tlv, "empty payload sequence");
  for (bool first = true; !r.AtEnd(); first = false) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    PayloadItem& item = first ? pdu.items.front() : pdu.items.emplace_back();
    RETURN_IF_ERROR(decode_one(r, f, ctx, pdu, item));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// TRIPayload

std::string_view EnumName(int64_t v, std::initializer_list<std::string_view> names, int64_t first) {
  const int64_t i = v - first;
  if (i < 0 || i >= static_cast<int64_t>(names.size())) return {};
  return names.begin()[i];
}

// IntegrityCheck ::= SEQUENCE { includedSequenceNumbers [0] SEQUENCE OF INTEGER, checkType [1],
// dataType [2] OPTIONAL, checkValue [3], ..., hashAlgorithm [4], signatureAlgorithm [5] }
absl::Status DecodeIntegrityCheck(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                  PsPdu& pdu, PayloadItem& item) {
  if (!tlv.tag.constructed) return Error(tlv, "integrityCheck is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  IntegrityCheck& ic = item.integrity.emplace();
  bool have_seqs = false, have_type = false, have_value = false;
  auto small_enum = [&](const Tlv& f, uint8_t& out) -> absl::Status {
    int64_t v;
    RETURN_IF_ERROR(ReadEnum(f, v));
    if (v < 0 || v > 255) return Error(f, "enumerated value out of range");
    out = static_cast<uint8_t>(v);
    return absl::OkStatus();
  };
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0: {
        ASSIGN_OR_RETURN(ber::Reader seqs, r.Enter(f));
        while (!seqs.AtEnd()) {
          Tlv n;
          RETURN_IF_ERROR(seqs.Next(n));
          if (!(n.tag.cls == ber::TagClass::kUniversal && n.tag.number == ber::kInteger)) {
            return Error(n, "includedSequenceNumbers element is not an INTEGER");
          }
          uint32_t seq;
          RETURN_IF_ERROR(ReadU32(n, seq));
          ic.sequence_numbers.push_back(seq);
        }
        have_seqs = true;
        break;
      }
      case 1:
        RETURN_IF_ERROR(small_enum(f, ic.check_type));
        have_type = true;
        break;
      case 2:
        RETURN_IF_ERROR(small_enum(f, ic.data_type));
        break;
      case 3:
        RETURN_IF_ERROR(ReadBytes(f, ctx, pdu, ic.check_value));
        have_value = true;
        break;
      case 4:
        RETURN_IF_ERROR(small_enum(f, ic.hash_algorithm));
        break;
      case 5:
        RETURN_IF_ERROR(small_enum(f, ic.signature_algorithm));
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_seqs || !have_type || !have_value) {
    return Error(tlv, "integrityCheck without includedSequenceNumbers/checkType/checkValue");
  }
  return absl::OkStatus();
}

// SEQUENCE OF Option; Option ::= CHOICE { pDUAcknowledgement [0] NULL, ... }
absl::Status DecodeOptionList(const ber::Reader& parent, const Tlv& tlv, PsPdu& pdu,
                              PayloadItem& item, std::string_view key) {
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  while (!r.AtEnd()) {
    Tlv o;
    RETURN_IF_ERROR(r.Next(o));
    if (o.IsContext(0)) {
      item.attributes.emplace_back(key, "pDUAcknowledgement");
    } else {
      item.attributes.emplace_back(key, "unknown");
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeTri(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  PayloadItem& item = pdu.items.front();
  item.service = Service::kNone;
  if (alt.tag.cls != ber::TagClass::kContext) {
    item.kind = Kind::kUnknown;
    item.content = alt.value;
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(ber::Reader inner, parent.Enter(tlv));
  auto null_kind = [&](Kind k) -> absl::Status {
    item.kind = k;
    if (alt.tag.constructed || !alt.value.empty())
      return Error(alt, "TRIPayload NULL with content");
    return absl::OkStatus();
  };
  switch (alt.tag.number) {
    case 0:
      item.kind = Kind::kIntegrityCheck;
      return DecodeIntegrityCheck(inner, alt, ctx, pdu, item);
    case 1:
      return null_kind(Kind::kTestPdu);
    case 2:
      item.kind = Kind::kPadding;
      return ReadBytes(alt, ctx, pdu, item.content);
    case 3:
      return null_kind(Kind::kKeepalive);
    case 4:
      return null_kind(Kind::kKeepaliveResponse);
    case 5:
      return null_kind(Kind::kFirstSegment);
    case 6:
      return null_kind(Kind::kLastSegment);
    case 7:
      return null_kind(Kind::kCinReset);
    case 8: {  // OperatorLeaMessage ::= SEQUENCE { messagePriority [0], message [1], ... }
      item.kind = Kind::kOperatorMessage;
      if (!alt.tag.constructed) return Error(alt, "operatorLeaMessage is not constructed");
      ASSIGN_OR_RETURN(ber::Reader r, inner.Enter(alt));
      while (!r.AtEnd()) {
        Tlv f;
        RETURN_IF_ERROR(r.Next(f));
        if (f.IsContext(0)) {
          int64_t p;
          RETURN_IF_ERROR(ReadEnum(f, p));
          std::string_view name = EnumName(p, {"error", "informational"}, 1);
          item.attributes.emplace_back("operator.priority",
                                       name.empty() ? base::StrCat(p) : std::string(name));
        } else if (f.IsContext(1)) {
          RETURN_IF_ERROR(ReadBytes(f, ctx, pdu, item.content));
          item.attributes.emplace_back("operator.message",
                                       std::string(base::AsString(item.content)));
        } else {
          ++pdu.skipped_unknown;
        }
      }
      return absl::OkStatus();
    }
    case 9: {  // OptionRequest ::= SEQUENCE { requestedOptions [0] SEQUENCE OF Option, ... }
      item.kind = Kind::kOptionRequest;
      if (!alt.tag.constructed) return Error(alt, "optionRequest is not constructed");
      ASSIGN_OR_RETURN(ber::Reader r, inner.Enter(alt));
      while (!r.AtEnd()) {
        Tlv f;
        RETURN_IF_ERROR(r.Next(f));
        if (f.IsContext(0) && f.tag.constructed) {
          RETURN_IF_ERROR(DecodeOptionList(r, f, pdu, item, "option.requested"));
        } else {
          ++pdu.skipped_unknown;
        }
      }
      return absl::OkStatus();
    }
    case 10: {  // OptionResponse ::= SEQUENCE { acceptedOptions [0], declinedOptions [1], ... }
      item.kind = Kind::kOptionResponse;
      if (!alt.tag.constructed) return Error(alt, "optionResponse is not constructed");
      ASSIGN_OR_RETURN(ber::Reader r, inner.Enter(alt));
      while (!r.AtEnd()) {
        Tlv f;
        RETURN_IF_ERROR(r.Next(f));
        if (f.IsContext(0) && f.tag.constructed) {
          RETURN_IF_ERROR(DecodeOptionList(r, f, pdu, item, "option.accepted"));
        } else if (f.IsContext(1) && f.tag.constructed) {
          RETURN_IF_ERROR(DecodeOptionList(r, f, pdu, item, "option.declined"));
        } else {
          ++pdu.skipped_unknown;
        }
      }
      return absl::OkStatus();
    }
    case 11:
      return null_kind(Kind::kOptionComplete);
    case 12:
      return null_kind(Kind::kAckRequest);
    case 13:
      return null_kind(Kind::kAckResponse);
    default:
      item.kind = Kind::kUnknown;
      item.content = alt.value;
      ++pdu.skipped_unknown;
      return absl::OkStatus();
  }
}

// ---------------------------------------------------------------------------------------------
// HI1-Operation (HI1NotificationOperations version7)

// TS 101 671 TimeStamp ::= CHOICE { localTime [0] LocalTimeStamp, utcTime [1] UTCTime };
// LocalTimeStamp ::= SEQUENCE { generalizedTime [0] GeneralizedTime, winterSummerIndication [1] }
absl::Status DecodeHi2TimeStamp(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                PsPdu& pdu, PayloadItem& item) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  ASSIGN_OR_RETURN(ber::Reader inner, parent.Enter(tlv));
  if (alt.IsContext(1)) {  // UTCTime YYMMDDhhmm[ss]Z: X.680 47.3, years 50..99 are 19xx
    std::string_view text;
    RETURN_IF_ERROR(ReadText(alt, ctx, pdu, text));
    if (text.size() < 10) return Error(alt, "bad UTCTime");
    const bool nineteen = text[0] >= '5';
    absl::StatusOr<base::Timestamp> t =
        base::ParseGeneralizedTime(base::StrCat(nineteen ? "19" : "20", text));
    if (!t.ok()) return Error(alt, "bad UTCTime");
    item.timestamp = *t;
  } else if (alt.IsContext(0) && alt.tag.constructed) {
    ASSIGN_OR_RETURN(ber::Reader r, inner.Enter(alt));
    while (!r.AtEnd()) {
      Tlv f;
      RETURN_IF_ERROR(r.Next(f));
      if (f.IsContext(0)) {
        base::Timestamp t;
        RETURN_IF_ERROR(ReadGeneralizedTime(f, ctx, pdu, t));
        item.timestamp = t;
      }
    }
  } else {
    ++pdu.skipped_unknown;
  }
  return absl::OkStatus();
}

// HI2Operations CommunicationIdentifier ::= SEQUENCE { communication-Identity-Number [0]
// OCTET STRING OPTIONAL, network-Identifier [1] Network-Identifier, ... };
// Network-Identifier ::= SEQUENCE { operator-Identifier [0] OCTET STRING, ... }
absl::Status DecodeHi2CommunicationIdentifier(const ber::Reader& parent, const Tlv& tlv,
                                              ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  if (!tlv.tag.constructed) return Error(tlv, "communicationIdentifier is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0) && !f.tag.constructed) {
      std::string_view cin;
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, cin));
      item.attributes.emplace_back("hi1.cin", std::string(cin));
    } else if (f.IsContext(1) && f.tag.constructed) {
      ASSIGN_OR_RETURN(ber::Reader n, r.Enter(f));
      while (!n.AtEnd()) {
        Tlv g;
        RETURN_IF_ERROR(n.Next(g));
        if (g.IsContext(0)) {
          std::string_view op;
          RETURN_IF_ERROR(ReadText(g, ctx, pdu, op));
          item.attributes.emplace_back("hi1.operator_id", std::string(op));
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeHi1(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  ASSIGN_OR_RETURN(ber::Reader inner, parent.Enter(tlv));
  PayloadItem& item = pdu.items.front();
  item.kind = Kind::kHi1Operation;
  item.service = Service::kNone;
  item.content = alt.value;
  std::string_view op;
  if (alt.tag.cls == ber::TagClass::kContext) {
    switch (alt.tag.number) {
      case 1:
        op = "activated";
        break;
      case 2:
        op = "deactivated";
        break;
      case 3:
        op = "modified";
        break;
      case 4:
        op = "alarm";
        break;
      case 5:
        op = "national";
        break;
      default:
        break;
    }
  }
  if (op.empty()) {
    item.attributes.emplace_back("hi1.operation", "unknown");
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  item.attributes.emplace_back("hi1.operation", std::string(op));
  if (!alt.tag.constructed) return Error(alt, "HI1 operation is not constructed");
  if (alt.tag.number == 5) return absl::OkStatus();  // national parameters: country code only

  // Notification ::= SEQUENCE { domainID [0], lawfulInterceptionIdentifier [1],
  //   communicationIdentifier [2], timeStamp [3], ..., national [5], target-Information [6] }
  // Alarm-Indicator ::= SEQUENCE { domainID [0], communicationIdentifier [1], timeStamp [2],
  //   alarm-information [3], ..., lawfulInterceptionIdentifier [4], national [5] }
  const bool alarm = alt.tag.number == 4;
  ASSIGN_OR_RETURN(ber::Reader r, inner.Enter(alt));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    const uint32_t n = f.tag.number;
    if (n == 0 || n == 5) continue;  // domainID, national parameters
    if (n == (alarm ? 4u : 1u)) {
      std::string_view liid;
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, liid));
      item.attributes.emplace_back("hi1.liid", std::string(liid));
    } else if (n == (alarm ? 1u : 2u)) {
      RETURN_IF_ERROR(DecodeHi2CommunicationIdentifier(r, f, ctx, pdu, item));
    } else if (n == (alarm ? 2u : 3u)) {
      RETURN_IF_ERROR(DecodeHi2TimeStamp(r, f, ctx, pdu, item));
    } else if (alarm && n == 3) {
      std::string_view info;
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, info));
      item.attributes.emplace_back("hi1.alarm", std::string(info));
    } else if (!alarm && n == 6) {
      std::string_view target;
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, target));
      item.attributes.emplace_back("hi1.target", std::string(target));
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// EncryptionContainer ::= SEQUENCE { encryptionType [0], encryptedPayload [1] OCTET STRING, ...,
// encryptedPayloadType [2] OPTIONAL }
absl::Status DecodeEncryptionContainer(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                       PsPdu& pdu) {
  if (!tlv.tag.constructed) return Error(tlv, "encryptionContainer is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  PayloadItem& item = pdu.items.front();
  item.kind = Kind::kEncrypted;
  item.service = Service::kNone;
  bool have_payload = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      int64_t t;
      RETURN_IF_ERROR(ReadEnum(f, t));
      std::string_view name = EnumName(t,
                                       {"none", "national-option", "aES-192-CBC", "aES-256-CBC",
                                        "blowfish-192-CBC", "blowfish-256-CBC", "threedes-cbc"},
                                       1);
      item.attributes.emplace_back("encryption.type",
                                   name.empty() ? base::StrCat(t) : std::string(name));
    } else if (f.IsContext(1)) {
      RETURN_IF_ERROR(ReadBytes(f, ctx, pdu, item.content));
      have_payload = true;
    } else if (f.IsContext(2)) {
      int64_t t;
      RETURN_IF_ERROR(ReadEnum(f, t));
      std::string_view name = EnumName(
          t, {"unknown", "part2", "part3", "part4", "part5", "part6", "part7", "part1"}, 1);
      item.attributes.emplace_back("encryption.payload_type",
                                   name.empty() ? base::StrCat(t) : std::string(name));
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_payload) return Error(tlv, "encryptionContainer without encryptedPayload");
  return absl::OkStatus();
}

// REQUIRES: pdu.items holds exactly one fresh item, which the payload's first item fills.
absl::Status DecodePayload(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                           PsPdu& pdu) {
  Tlv alt;
  RETURN_IF_ERROR(ReadChoice(parent, tlv, alt));
  ASSIGN_OR_RETURN(ber::Reader inner, parent.Enter(tlv));
  auto recognised = [&](Kind kind) {
    PayloadItem& item = pdu.items.front();
    item.kind = kind;
    item.service = Service::kNone;
    item.content = alt.value;
    return absl::OkStatus();
  };
  if (alt.tag.cls != ber::TagClass::kContext) {
    ++pdu.skipped_unknown;
    return recognised(Kind::kUnknown);
  }
  switch (alt.tag.number) {
    case 0:
      return DecodePayloadSequence(inner, alt, ctx, pdu, DecodeIriPayload);
    case 1:
      return DecodePayloadSequence(inner, alt, ctx, pdu, DecodeCcPayload);
    case 2:
      if (!alt.tag.constructed) return Error(alt, "tRIPayload is not constructed");
      return DecodeTri(inner, alt, ctx, pdu);
    case 3:
      if (!alt.tag.constructed) return Error(alt, "hI1-Operation is not constructed");
      return DecodeHi1(inner, alt, ctx, pdu);
    case 4:
      return DecodeEncryptionContainer(inner, alt, ctx, pdu);
    case 5:
      return recognised(Kind::kThreeGppHi1Operation);
    case 6:
      return recognised(Kind::kIlhi);
    case 7:
      return recognised(Kind::kHi4);
    default:
      ++pdu.skipped_unknown;
      return recognised(Kind::kUnknown);
  }
}

}  // namespace

absl::Status DecodePsPdu(Bytes frame, PsPdu& out, const DecodeOptions& options) {
  // Reset, keeping the buffers of domain_id and of the first item's parties and attributes
  // (PsPdu::Clear would free them): after the first PDU, a CC PDU decodes without allocating.
  std::vector<uint64_t> arcs = std::move(out.header.domain_id);
  std::vector<Party> parties;
  std::vector<std::pair<std::string_view, std::string>> attributes;
  if (!out.items.empty()) {
    parties = std::move(out.items.front().parties);
    attributes = std::move(out.items.front().attributes);
  }
  out.Clear();
  arcs.clear();
  parties.clear();
  attributes.clear();
  out.header.domain_id = std::move(arcs);
  PayloadItem& first = out.items.emplace_back();
  first.parties = std::move(parties);
  first.attributes = std::move(attributes);
  out.encoding = frame;

  ber::Context ctx{.limits = options.limits};
  ber::Reader top(frame, ctx);
  Tlv pdu;
  RETURN_IF_ERROR(top.Next(pdu));
  if (!(pdu.tag.cls == ber::TagClass::kUniversal && pdu.tag.number == ber::kSequence &&
        pdu.tag.constructed)) {
    return Error(pdu, "PS-PDU is not a SEQUENCE");
  }
  if (!top.AtEnd()) return ber::ErrorAt(top.offset(), "li_ps: bytes after the PS-PDU");

  // PS-PDU ::= SEQUENCE { pSHeader [1] PSHeader, payload [2] Payload }
  ASSIGN_OR_RETURN(ber::Reader r, top.Enter(pdu));
  bool have_header = false, have_payload = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(1) && f.tag.constructed && !have_header) {
      RETURN_IF_ERROR(DecodeHeader(r, f, ctx, out));
      have_header = true;
    } else if (f.IsContext(2) && f.tag.constructed && !have_payload) {
      RETURN_IF_ERROR(DecodePayload(r, f, ctx, out));
      have_payload = true;
    } else if (f.IsContext(1) || f.IsContext(2)) {
      return Error(f, "duplicate or primitive pSHeader/payload");
    } else {
      ++out.skipped_unknown;
    }
  }
  if (!have_header) return Error(pdu, "PS-PDU without pSHeader");
  if (!have_payload) return Error(pdu, "PS-PDU without payload");
  return absl::OkStatus();
}

}  // namespace tapvault::proto::li_ps
