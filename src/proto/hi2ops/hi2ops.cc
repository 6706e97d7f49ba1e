// TS 101 671 HI2Operations (version18) IRI decoder. Clause references: HI2Operations.asn in this
// folder; number formats per ITU-T Q.763 (ISUP), Q.931 (DSS1) and 3GPP TS 29.002 (MAP).
#include "proto/hi2ops/hi2ops.h"

#include "proto/record/field.h"

#include "sip/party_extractor.h"

#include <string_view>
#include <utility>

#include "base/hex.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::proto::hi2ops {
namespace {

using ber::Tlv;

uint8_t U8(std::byte b) { return static_cast<uint8_t>(b); }

absl::Status Bad(const Tlv& tlv, std::string_view what) {
  return ber::ErrorAt(tlv.offset, base::StrCat("hi2ops: ", what));
}

// Q.763 3.9 / 3.10 address signal (BCD nibble) as text.
char IsupDigit(uint8_t nibble) {
  if (nibble <= 9) return static_cast<char>('0' + nibble);
  if (nibble == 0xB) return '*';            // code 11
  if (nibble == 0xC) return '#';            // code 12
  return "0123456789ABCDEF"[nibble & 0xF];  // spare codes 1010, 1101, 1110 as received
}

// TS 29.002 TBCD-STRING digit.
char TbcdDigit(uint8_t nibble) { return "0123456789*#abc?"[nibble & 0xF]; }

// Q.763 3.9 nature of address indicator.
NumberNature IsupNature(uint8_t nai) {
  switch (nai) {
    case 1:
      return NumberNature::kSubscriber;
    case 2:
      return NumberNature::kUnknown;
    case 3:
      return NumberNature::kNational;
    case 4:
      return NumberNature::kInternational;
    case 5:
      return NumberNature::kNetworkSpecific;
    default:
      return NumberNature::kUnknown;
  }
}

// Q.931 4.5.10 type of number; TS 29.002 AddressString nature of address (same code points).
NumberNature TypeOfNumber(uint8_t ton) {
  switch (ton) {
    case 0:
      return NumberNature::kUnknown;
    case 1:
      return NumberNature::kInternational;
    case 2:
      return NumberNature::kNational;
    case 3:
      return NumberNature::kNetworkSpecific;
    case 4:
      return NumberNature::kSubscriber;
    case 6:
      return NumberNature::kAbbreviated;
    default:
      return NumberNature::kUnknown;
  }
}

PartyRole RoleOf(std::optional<int64_t> qualifier) {
  if (!qualifier) return PartyRole::kOther;
  switch (*qualifier) {
    case 0:
      return PartyRole::kOriginating;
    case 1:
      return PartyRole::kTerminating;
    case 2:
      return PartyRole::kForwardedTo;
    case 3:
      return PartyRole::kTarget;
    default:
      return PartyRole::kOther;
  }
}

// Reads an OCTET STRING-like field (primitive or segmented).
constexpr auto& Octets = FieldOctets;

absl::StatusOr<int64_t> Enum(const Tlv& tlv) { return ber::DecodeInteger(tlv); }

void Attr(PayloadItem& item, std::string_view key, std::string value) {
  item.attributes.emplace_back(key, std::move(value));
}

// Collects the identities of one PartyInformation; roles are settled once the qualifier is known
// (BER SEQUENCE order puts it first, but we do not rely on it).
struct PendingParty {
  std::optional<PartyRole> fixed_role;  // set for numbers whose parameter names the role
  bool party_role_fallback_terminating = false;
  Party party;
};

class PartyCollector {
 public:
  explicit PartyCollector(PayloadItem& item) : item_(item) {}

  void AddNumber(DecodedNumber n, std::optional<PartyRole> fixed, bool fallback_terminating) {
    if (n.digits.empty()) {
      if (n.address_not_available) Attr(item_, "hi2ops.address_not_available", "true");
      return;
    }
    if (n.presentation_restricted) Attr(item_, "hi2ops.presentation_restricted", n.digits);
    pending_.push_back(
        {fixed, fallback_terminating, Party{PartyRole::kOther, std::move(n.digits), n.nature}});
  }
  void AddText(std::string text) {
    if (text.empty()) return;
    pending_.push_back(
        {std::nullopt, false, Party{PartyRole::kOther, std::move(text), NumberNature::kNotGiven}});
  }
  void Finish(std::optional<int64_t> qualifier) {
    PartyRole party_role = RoleOf(qualifier);
    for (PendingParty& p : pending_) {
      if (p.fixed_role) {
        p.party.role = *p.fixed_role;
      } else if (party_role == PartyRole::kOther && p.party_role_fallback_terminating) {
        p.party.role = PartyRole::kTerminating;
      } else {
        p.party.role = party_role;
      }
      item_.parties.push_back(std::move(p.party));
    }
    pending_.clear();
  }

 private:
  PayloadItem& item_;
  std::vector<PendingParty> pending_;
};

// EN 300 356 parameter TLV (code, length, value) inside an ISUP-parameters OCTET STRING.
absl::Status DecodeIsupParameter(const Tlv& tlv, Bytes octets, PartyCollector& parties) {
  if (octets.size() < 2) return Bad(tlv, "ISUP parameter shorter than code + length");
  uint8_t code = U8(octets[0]);
  size_t len = U8(octets[1]);
  if (len > octets.size() - 2) return Bad(tlv, "ISUP parameter length beyond its octets");
  Bytes value = octets.subspan(2, len);
  std::optional<PartyRole> role;
  IsupLayout layout = IsupLayout::kCalling;
  bool fallback_terminating = false;
  switch (code) {
    case 0x0A:
      role = PartyRole::kOriginating;
      break;  // 3.10
    case 0x04:
      role = PartyRole::kTerminating;
      layout = IsupLayout::kCalled;
      break;  // 3.9
    case 0x0B:
      role = PartyRole::kRedirecting;
      break;  // 3.44
    case 0x28:
      role = PartyRole::kRedirecting;
      break;  // 3.39
    case 0x0C:
      role = PartyRole::kForwardedTo;
      layout = IsupLayout::kCalled;
      break;  // 3.46
    case 0x21:
      fallback_terminating = true;
      break;  // 3.16
    case 0xC0:
      layout = IsupLayout::kGeneric;
      break;  // 3.26
    default:
      return absl::OkStatus();  // not an identity (e.g. redirection information)
  }
  absl::StatusOr<DecodedNumber> n = DecodeIsupNumber(value, layout);
  if (!n.ok())
    return Bad(tlv, base::StrCat("ISUP parameter ", code, ": ", base::View(n.status().message())));
  parties.AddNumber(*std::move(n), role, fallback_terminating);
  return absl::OkStatus();
}

// EN 300 403-1 information element (identifier, length, contents) inside a DSS1 parameters
// OCTET STRING.
absl::Status DecodeDss1Parameter(const Tlv& tlv, Bytes octets, PartyCollector& parties) {
  if (octets.size() < 2) return Bad(tlv, "DSS1 information element shorter than id + length");
  uint8_t id = U8(octets[0]);
  size_t len = U8(octets[1]);
  if (len > octets.size() - 2) return Bad(tlv, "DSS1 information element length beyond its octets");
  Bytes value = octets.subspan(2, len);
  std::optional<PartyRole> role;
  bool fallback_terminating = false;
  switch (id) {
    case 0x6C:
      role = PartyRole::kOriginating;
      break;  // calling party number (Q.931 4.5.10)
    case 0x70:
      role = PartyRole::kTerminating;
      break;  // called party number (4.5.8)
    case 0x74:
      role = PartyRole::kRedirecting;
      break;  // redirecting number (Q.952)
    case 0x76:
      role = PartyRole::kForwardedTo;
      break;  // redirection number (Q.952)
    case 0x4C:
      fallback_terminating = true;
      break;  // connected number (Q.951)
    default:
      return absl::OkStatus();
  }
  absl::StatusOr<DecodedNumber> n = DecodeDss1Number(value);
  if (!n.ok())
    return Bad(tlv, base::StrCat("DSS1 element ", id, ": ", base::View(n.status().message())));
  parties.AddNumber(*std::move(n), role, fallback_terminating);
  return absl::OkStatus();
}

enum class ParamSet { kIsup, kDss1 };

// SET OF OCTET STRING, each one parameter.
absl::Status DecodeParameterSet(const ber::Reader& from, const Tlv& set, ber::Context& ctx,
                                PsPdu& pdu, PartyCollector& parties, ParamSet kind) {
  if (!set.tag.constructed) return Bad(set, "parameter set is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, from.Enter(set));
  while (!r.AtEnd()) {
    Tlv p;
    RETURN_IF_ERROR(r.Next(p));
    if (!p.Is(ber::TagClass::kUniversal, ber::kOctetString)) {
      ++pdu.skipped_unknown;
      continue;
    }
    ASSIGN_OR_RETURN(Bytes octets, Octets(p, ctx, pdu));
    if (kind == ParamSet::kIsup) {
      RETURN_IF_ERROR(DecodeIsupParameter(p, octets, parties));
    } else {
      RETURN_IF_ERROR(DecodeDss1Parameter(p, octets, parties));
    }
  }
  return absl::OkStatus();
}

// Reader over the children of `tlv`, which must be constructed.
// `parent` is the reader that read `tlv` (it carries the nesting depth).
absl::StatusOr<ber::Reader> Children(const ber::Reader& parent, const Tlv& tlv,
                                     std::string_view what) {
  if (!tlv.tag.constructed) return Bad(tlv, base::StrCat(what, " is not constructed"));
  return parent.Enter(tlv);
}

constexpr std::string_view kSimpleIndication[] = {
    "call-waiting", "add-conf", "call-on-hold", "retrieve", "suspend", "resume", "answer"};

// Supplementary-Services (HI2Operations.asn: Supplementary-Services).
absl::Status DecodeSupplementary(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                                 PsPdu& pdu, PayloadItem& item, PartyCollector& parties) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "supplementary-Services-Information"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(1)) {  // standard-Supplementary-Services
      ASSIGN_OR_RETURN(ber::Reader s, Children(r, f, "standard-Supplementary-Services"));
      while (!s.AtEnd()) {
        Tlv p;
        RETURN_IF_ERROR(s.Next(p));
        if (p.IsContext(1)) {
          RETURN_IF_ERROR(DecodeParameterSet(s, p, ctx, pdu, parties, ParamSet::kIsup));
        } else if (p.IsContext(2)) {
          RETURN_IF_ERROR(DecodeParameterSet(s, p, ctx, pdu, parties, ParamSet::kDss1));
        } else if (p.tag.cls != ber::TagClass::kContext || p.tag.number > 9) {
          ++pdu.skipped_unknown;  // [3..9]: other codesets, ROSE / MAP components: no numbers
        }
      }
    } else if (f.IsContext(2)) {  // non-Standard-Supplementary-Services: SET OF CHOICE
      ASSIGN_OR_RETURN(ber::Reader s, Children(r, f, "non-Standard-Supplementary-Services"));
      while (!s.AtEnd()) {
        Tlv c;
        RETURN_IF_ERROR(s.Next(c));
        if (c.IsContext(1)) {
          ASSIGN_OR_RETURN(int64_t v, Enum(c));
          if (v >= 0 && v < static_cast<int64_t>(std::size(kSimpleIndication))) {
            Attr(item, "hi2ops.indication", std::string(kSimpleIndication[v]));
          } else {
            Attr(item, "hi2ops.indication", base::StrCat(v));
          }
        } else if (!c.IsContext(2)) {
          ++pdu.skipped_unknown;
        }
      }
    } else if (!f.IsContext(3)) {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// Services-Information: ISUP / DSS1 / MAP parameter sets.
absl::Status DecodeServices(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                            PartyCollector& parties) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "services-Information"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(1)) {
      RETURN_IF_ERROR(DecodeParameterSet(r, f, ctx, pdu, parties, ParamSet::kIsup));
    } else if (f.IsContext(2)) {
      RETURN_IF_ERROR(DecodeParameterSet(r, f, ctx, pdu, parties, ParamSet::kDss1));
    } else if (!f.IsContext(3)) {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// CallingPartyNumber / CalledPartyNumber: tagged CHOICE, so [4]/[5] wrap the alternative.
absl::Status DecodePartyNumber(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                               PsPdu& pdu, PartyCollector& parties, bool calling) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "party number"));
  while (!r.AtEnd()) {
    Tlv alt;
    RETURN_IF_ERROR(r.Next(alt));
    if (alt.tag.cls != ber::TagClass::kContext || alt.tag.number < 1 || alt.tag.number > 3) {
      ++pdu.skipped_unknown;
      continue;
    }
    ASSIGN_OR_RETURN(Bytes v, Octets(alt, ctx, pdu));
    absl::StatusOr<DecodedNumber> n;
    uint32_t t = alt.tag.number;
    if (t == 1) {
      n = DecodeIsupNumber(v, calling ? IsupLayout::kCalling : IsupLayout::kCalled);
    } else if ((calling && t == 2) || (!calling && t == 3)) {
      n = DecodeDss1Number(v);
    } else {
      n = DecodeAddressString(v);
    }
    if (!n.ok()) return Bad(alt, base::View(n.status().message()));
    parties.AddNumber(*std::move(n), std::nullopt, false);
  }
  return absl::OkStatus();
}

constexpr std::string_view kValidity[] = {"trusted", "untrusted", "operator-added"};

absl::Status DecodePartyIdentity(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                                 PsPdu& pdu, PayloadItem& item, PartyCollector& parties) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "partyIdentity"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 1:    // imei
      case 3: {  // imsi
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        absl::StatusOr<std::string> d = DecodeTbcd(v);
        if (!d.ok()) return Bad(f, base::View(d.status().message()));
        Attr(item, f.tag.number == 1 ? "hi2ops.imei" : "hi2ops.imsi", *std::move(d));
        break;
      }
      case 2: {  // tei
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.tei", base::ToHex(v));
        break;
      }
      case 4:
      case 5:
        RETURN_IF_ERROR(DecodePartyNumber(r, f, ctx, pdu, parties, f.tag.number == 4));
        break;
      case 6:    // msISDN: AddressString
      case 7: {  // e164-Format: ISUP calling party number format
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        absl::StatusOr<DecodedNumber> n =
            f.tag.number == 6 ? DecodeAddressString(v) : DecodeIsupNumber(v, IsupLayout::kCalling);
        if (!n.ok()) return Bad(f, base::View(n.status().message()));
        parties.AddNumber(*std::move(n), std::nullopt, false);
        break;
      }
      case 8:    // sip-uri
      case 9: {  // tel-url
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        parties.AddText(std::string(base::AsString(v)));
        break;
      }
      case 10: {
        ASSIGN_OR_RETURN(int64_t v, Enum(f));
        Attr(item, "hi2ops.party_validity",
             v >= 0 && v < 3 ? std::string(kValidity[v]) : base::StrCat(v));
        break;
      }
      case 11: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.alphanumeric", std::string(base::AsString(v)));
        break;
      }
      default:
        ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// PartyInformation ::= SEQUENCE (any tag: universal in the SET OF, [13] serverCenterAddress).
absl::Status DecodePartyInformation(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                                    PsPdu& pdu, PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "PartyInformation"));
  PartyCollector parties(item);
  std::optional<int64_t> qualifier;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      ASSIGN_OR_RETURN(int64_t q, Enum(f));
      qualifier = q;
    } else if (f.IsContext(1)) {
      RETURN_IF_ERROR(DecodePartyIdentity(r, f, ctx, pdu, item, parties));
    } else if (f.IsContext(2)) {
      RETURN_IF_ERROR(DecodeServices(r, f, ctx, pdu, parties));
    } else if (f.IsContext(3)) {
      RETURN_IF_ERROR(DecodeSupplementary(r, f, ctx, pdu, item, parties));
    } else if (!f.IsContext(4)) {  // services-Data-Information: GPRS, no party identity
      ++pdu.skipped_unknown;
    }
  }
  parties.Finish(qualifier);
  return absl::OkStatus();
}

// UTCTime YYMMDDhhmm[ss](Z|+hhmm|-hhmm) -> GeneralizedTime (X.680 47.3: YY < 50 is 20YY).
absl::StatusOr<base::Timestamp> ParseUtcTime(std::string_view text) {
  if (text.size() < 10 || text[0] < '0' || text[0] > '9' || text[1] < '0' || text[1] > '9') {
    return absl::InvalidArgumentError("bad UTCTime");
  }
  int yy = (text[0] - '0') * 10 + (text[1] - '0');
  return base::ParseGeneralizedTime(base::StrCat(yy < 50 ? "20" : "19", text));
}

// TimeStamp ::= CHOICE { localTime [0] LocalTimeStamp, utcTime [1] UTCTime }; [3] wraps it.
absl::Status DecodeTimeStamp(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                             PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "timeStamp"));
  while (!r.AtEnd()) {
    Tlv alt;
    RETURN_IF_ERROR(r.Next(alt));
    std::optional<base::Timestamp> t;
    if (alt.IsContext(0)) {
      ASSIGN_OR_RETURN(ber::Reader l, Children(r, alt, "localTime"));
      while (!l.AtEnd()) {
        Tlv g;
        RETURN_IF_ERROR(l.Next(g));
        if (g.IsContext(0)) {
          ASSIGN_OR_RETURN(Bytes v, Octets(g, ctx, pdu));
          absl::StatusOr<base::Timestamp> ts = base::ParseGeneralizedTime(base::AsString(v));
          if (!ts.ok()) return Bad(g, base::View(ts.status().message()));
          t = *ts;
        } else if (!g.IsContext(1)) {
          ++pdu.skipped_unknown;
        }
      }
    } else if (alt.IsContext(1)) {
      ASSIGN_OR_RETURN(Bytes v, Octets(alt, ctx, pdu));
      absl::StatusOr<base::Timestamp> ts = ParseUtcTime(base::AsString(v));
      if (!ts.ok()) return Bad(alt, base::View(ts.status().message()));
      t = *ts;
    } else {
      ++pdu.skipped_unknown;
    }
    if (t) {
      if (!item.timestamp) item.timestamp = t;
      Attr(item, "hi2ops.timestamp", base::FormatRfc3339(*t));
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeCommunicationIdentifier(const ber::Reader& from, const Tlv& tlv,
                                           ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "communicationIdentifier"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
      Attr(item, "hi2ops.cin", std::string(base::AsString(v)));
    } else if (f.IsContext(1)) {  // Network-Identifier
      ASSIGN_OR_RETURN(ber::Reader n, Children(r, f, "network-Identifier"));
      while (!n.AtEnd()) {
        Tlv g;
        RETURN_IF_ERROR(n.Next(g));
        if (g.IsContext(0)) {
          ASSIGN_OR_RETURN(Bytes v, Octets(g, ctx, pdu));
          Attr(item, "hi2ops.operator_id", std::string(base::AsString(v)));
        } else if (g.IsContext(1)) {  // Network-Element-Identifier CHOICE (explicit)
          ASSIGN_OR_RETURN(ber::Reader e, Children(n, g, "network-Element-Identifier"));
          while (!e.AtEnd()) {
            Tlv alt;
            RETURN_IF_ERROR(e.Next(alt));
            if (alt.IsContext(1) && !alt.tag.constructed) {  // e164: ISUP calling format
              ASSIGN_OR_RETURN(Bytes v, Octets(alt, ctx, pdu));
              absl::StatusOr<DecodedNumber> num = DecodeIsupNumber(v, IsupLayout::kCalling);
              if (!num.ok()) return Bad(alt, base::View(num.status().message()));
              Attr(item, "hi2ops.network_element", std::move(num->digits));
            } else if (alt.tag.cls == ber::TagClass::kContext && alt.tag.number >= 2 &&
                       alt.tag.number <= 4 && !alt.tag.constructed) {
              ASSIGN_OR_RETURN(Bytes v, Octets(alt, ctx, pdu));
              Attr(item, "hi2ops.network_element",
                   alt.tag.number == 3 ? base::ToHex(v) : std::string(base::AsString(v)));
            } else {
              ++pdu.skipped_unknown;  // iP-Address [5] and unknown alternatives
            }
          }
        } else {
          ++pdu.skipped_unknown;
        }
      }
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// OCTET STRING (SIZE (3)) BCD HHMMSS -> seconds.
absl::StatusOr<int> BcdDuration(Bytes v) {
  if (v.size() != 3) return absl::InvalidArgumentError("duration is not 3 octets");
  int parts[3];
  for (int i = 0; i < 3; ++i) {
    uint8_t b = U8(v[i]);
    if ((b >> 4) > 9 || (b & 0xF) > 9) return absl::InvalidArgumentError("duration is not BCD");
    parts[i] = (b >> 4) * 10 + (b & 0xF);
  }
  return parts[0] * 3600 + parts[1] * 60 + parts[2];
}

constexpr std::string_view kCallDirect[] = {"not-available", "originating-target",
                                            "terminating-target"};
constexpr std::string_view kCallState[] = {"", "idle", "setup-in-process", "connected"};

// Kind of an IRIContent alternative tag.
std::optional<Kind> RecordKind(uint32_t tag) {
  switch (tag) {
    case 1:
      return Kind::kIriBegin;
    case 2:
      return Kind::kIriEnd;
    case 3:
      return Kind::kIriContinue;
    case 4:
      return Kind::kIriReport;
    default:
      return std::nullopt;
  }
}

absl::Status DecodeParams(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                          PayloadItem& item);

// One IRIContent alternative (iRI-*-record [1..4] HI2-IRI-Parameters).
absl::Status DecodeRecord(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                          PayloadItem& item, bool& kind_set) {
  std::optional<Kind> k = tlv.tag.cls == ber::TagClass::kContext && tlv.tag.constructed
                              ? RecordKind(tlv.tag.number)
                              : std::nullopt;
  if (!k) {
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  if (!kind_set && (item.kind == Kind::kIri || item.kind == Kind::kUnknown)) item.kind = *k;
  kind_set = true;
  return DecodeParams(from, tlv, ctx, pdu, item);
}

// IRISequence ::= SEQUENCE OF IRIContent.
absl::Status DecodeSequence(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                            PayloadItem& item, bool& kind_set) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "iRISequence"));
  while (!r.AtEnd()) {
    Tlv c;
    RETURN_IF_ERROR(r.Next(c));
    RETURN_IF_ERROR(DecodeRecord(r, c, ctx, pdu, item, kind_set));
  }
  return absl::OkStatus();
}

// Whether the children of [1] look like IRI-Parameters (first field primitive: domainID [0],
// iRIversion [23] or lawfulInterceptionIdentifier [1]) rather than a TS 33.108-style tagged
// iRISequence (whose elements are constructed records).
absl::StatusOr<bool> LooksLikeParameters(const ber::Reader& from, const Tlv& tlv) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "iRIsContent"));
  if (r.AtEnd()) return true;
  Tlv first;
  RETURN_IF_ERROR(r.Next(first));
  return !first.tag.constructed;
}

// IRIsContent ::= CHOICE { iRIContent IRIContent, iRISequence IRISequence } (untagged, TS 101
// 671); Wireshark / TS 33.108 style: CHOICE { [0] IRIContent, [1] IRISequence }.
absl::Status DecodeIrisContent(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                               PsPdu& pdu, PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "iRIsContent"));
  bool kind_set = false;
  while (!r.AtEnd()) {
    Tlv c;
    RETURN_IF_ERROR(r.Next(c));
    if (c.Is(ber::TagClass::kUniversal, ber::kSequence) && c.tag.constructed) {
      RETURN_IF_ERROR(DecodeSequence(r, c, ctx, pdu, item, kind_set));
    } else if (c.IsContext(0) && c.tag.constructed) {  // TS 33.108 style [0] iRIContent
      ASSIGN_OR_RETURN(ber::Reader w, Children(r, c, "iRIContent"));
      while (!w.AtEnd()) {
        Tlv rec;
        RETURN_IF_ERROR(w.Next(rec));
        RETURN_IF_ERROR(DecodeRecord(w, rec, ctx, pdu, item, kind_set));
      }
    } else if (c.IsContext(1) && c.tag.constructed) {
      ASSIGN_OR_RETURN(bool params, LooksLikeParameters(r, c));
      if (params) {
        RETURN_IF_ERROR(DecodeRecord(r, c, ctx, pdu, item, kind_set));
      } else {
        RETURN_IF_ERROR(DecodeSequence(r, c, ctx, pdu, item, kind_set));
      }
    } else {
      RETURN_IF_ERROR(DecodeRecord(r, c, ctx, pdu, item, kind_set));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DecodedNumber> DecodeIsupNumber(Bytes value, IsupLayout layout) {
  base::ByteReader in(value);
  DecodedNumber n;
  uint8_t b;
  if (layout == IsupLayout::kGeneric && !in.ReadU8(b)) {
    return absl::InvalidArgumentError("ISUP generic number: no number qualifier");
  }
  uint8_t oe_nai, plan;
  if (!in.ReadU8(oe_nai) || !in.ReadU8(plan)) {
    return absl::InvalidArgumentError("ISUP number shorter than 2 octets");
  }
  bool odd = (oe_nai & 0x80) != 0;
  n.nature = IsupNature(oe_nai & 0x7F);
  n.numbering_plan = (plan >> 4) & 0x7;
  if (layout != IsupLayout::kCalled) {
    uint8_t apri = (plan >> 2) & 0x3;  // Q.763 3.10 e)
    n.presentation_restricted = apri == 1;
    n.address_not_available = apri == 2;
  }
  Bytes digits = in.rest();
  if (digits.empty() && odd) return absl::InvalidArgumentError("ISUP number: odd with no digits");
  n.digits.reserve(digits.size() * 2);
  for (size_t i = 0; i < digits.size(); ++i) {
    uint8_t d = U8(digits[i]);
    uint8_t lo = d & 0xF, hi = d >> 4;
    if (lo == 0xF) break;  // ST: end of pulsing
    n.digits.push_back(IsupDigit(lo));
    bool last = i + 1 == digits.size();
    if (last && odd) break;  // filler
    if (hi == 0xF) break;
    n.digits.push_back(IsupDigit(hi));
  }
  return n;
}

absl::StatusOr<DecodedNumber> DecodeDss1Number(Bytes value) {
  base::ByteReader in(value);
  DecodedNumber n;
  uint8_t o3;
  if (!in.ReadU8(o3)) return absl::InvalidArgumentError("DSS1 number: empty");
  n.nature = TypeOfNumber((o3 >> 4) & 0x7);
  n.numbering_plan = o3 & 0xF;
  bool ext = (o3 & 0x80) != 0;
  bool first_ext = true;
  while (!ext) {  // octets 3a, 3b, ...: extension bit 0 means another octet follows
    uint8_t o;
    if (!in.ReadU8(o)) return absl::InvalidArgumentError("DSS1 number: truncated octet 3a");
    if (first_ext) {  // 3a: presentation indicator bits 7-6 (Q.931 4.5.10)
      uint8_t pi = (o >> 5) & 0x3;
      n.presentation_restricted = pi == 1;
      n.address_not_available = pi == 2;
      first_ext = false;
    }
    ext = (o & 0x80) != 0;
  }
  Bytes digits = in.rest();
  n.digits.reserve(digits.size());
  for (std::byte d : digits) {
    char c = static_cast<char>(U8(d) & 0x7F);  // IA5, bit 8 spare
    if (c < 0x20 || c > 0x7E) return absl::InvalidArgumentError("DSS1 number: non-IA5 digit");
    n.digits.push_back(c);
  }
  return n;
}

absl::StatusOr<std::string> DecodeTbcd(Bytes value) {
  std::string out;
  out.reserve(value.size() * 2);
  for (size_t i = 0; i < value.size(); ++i) {
    uint8_t d = U8(value[i]);
    if ((d & 0xF) == 0xF) {
      if (i + 1 != value.size()) return absl::InvalidArgumentError("TBCD: filler before the end");
      break;
    }
    out.push_back(TbcdDigit(d & 0xF));
    if ((d >> 4) == 0xF) {
      if (i + 1 != value.size()) return absl::InvalidArgumentError("TBCD: filler before the end");
      break;
    }
    out.push_back(TbcdDigit(d >> 4));
  }
  return out;
}

absl::StatusOr<DecodedNumber> DecodeAddressString(Bytes value) {
  if (value.empty()) return absl::InvalidArgumentError("AddressString: empty");
  uint8_t o = U8(value[0]);
  DecodedNumber n;
  n.nature = TypeOfNumber((o >> 4) & 0x7);
  n.numbering_plan = o & 0xF;
  ASSIGN_OR_RETURN(n.digits, DecodeTbcd(value.subspan(1)));
  return n;
}

namespace {

absl::Status DecodeParams(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                          PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "IRI-Parameters"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0: {  // domainID
        absl::StatusOr<std::vector<uint64_t>> arcs = ber::DecodeOid(f, false);
        if (!arcs.ok()) return Bad(f, base::View(arcs.status().message()));
        Attr(item, "hi2ops.domain_id", ber::OidToString(*arcs));
        break;
      }
      case 23: {
        ASSIGN_OR_RETURN(int64_t v, Enum(f));
        Attr(item, "hi2ops.iri_version", base::StrCat(v));
        break;
      }
      case 1: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.liid", std::string(base::AsString(v)));
        break;
      }
      case 2:
        RETURN_IF_ERROR(DecodeCommunicationIdentifier(r, f, ctx, pdu, item));
        break;
      case 3:
        RETURN_IF_ERROR(DecodeTimeStamp(r, f, ctx, pdu, item));
        break;
      case 4: {
        ASSIGN_OR_RETURN(int64_t v, Enum(f));
        Attr(item, "hi2ops.call_direction",
             v >= 0 && v < 3 ? std::string(kCallDirect[v]) : base::StrCat(v));
        break;
      }
      case 5: {
        ASSIGN_OR_RETURN(int64_t v, Enum(f));
        Attr(item, "hi2ops.call_state",
             v >= 1 && v <= 3 ? std::string(kCallState[v]) : base::StrCat(v));
        break;
      }
      case 6:
      case 7: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        absl::StatusOr<int> s = BcdDuration(v);
        if (!s.ok()) return Bad(f, base::View(s.status().message()));
        Attr(item,
             f.tag.number == 6 ? "hi2ops.ringing_duration_s" : "hi2ops.conversation_duration_s",
             base::StrCat(*s));
        break;
      }
      case 9: {  // partyInformation: SET OF PartyInformation
        ASSIGN_OR_RETURN(ber::Reader s, Children(r, f, "partyInformation"));
        while (!s.AtEnd()) {
          Tlv p;
          RETURN_IF_ERROR(s.Next(p));
          if (!p.Is(ber::TagClass::kUniversal, ber::kSequence)) {
            ++pdu.skipped_unknown;
            continue;
          }
          RETURN_IF_ERROR(DecodePartyInformation(s, p, ctx, pdu, item));
        }
        break;
      }
      case 11: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.release_reason", base::ToHex(v));
        break;
      }
      case 12: {
        ASSIGN_OR_RETURN(int64_t v, Enum(f));
        Attr(item, "hi2ops.nature_of_call", base::StrCat(v));
        break;
      }
      case 13:  // serverCenterAddress
        RETURN_IF_ERROR(DecodePartyInformation(r, f, ctx, pdu, item));
        break;
      case 15: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.cc_link_id", std::string(base::AsString(v)));
        break;
      }
      case 30: {  // sIPMessage (TS 33.108 duplicate): its SIP headers name parties too
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        Attr(item, "hi2ops.sip_message", std::string(base::AsString(v)));
        // A SIP message the extractor cannot fully parse still yields what it could read; the
        // error is recorded, never a reason to drop the IRI or its other parties.
        absl::Status sip = sip::ExtractParties(base::AsString(v), item.parties, item.attributes);
        if (!sip.ok()) Attr(item, "sip.error", std::string(base::View(sip.message())));
        break;
      }
      // Known, without identities: location, CC link info, SMS, national parameters, GPRS,
      // QoS, IMS event, EN 301 040 / TS 101 909 monitors, national ASN.1 parameters.
      case 8:
      case 10:
      case 14:
      case 16:
      case 18:
      case 20:
      case 21:
      case 22:
      case 24:
      case 25:
      case 26:
      case 27:
      case 28:
      case 29:
      case 31:
      case 32:
      case 33:
      case 34:
      case 35:
      case 36:
      case 37:
      case 38:
      case 39:
      case 40:
      case 255:
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// A reader positioned as the one that read an element at depth `kElementDepth` of a PS-PDU
// (PS-PDU / payload [2] / iRIPayloadSequence / IRIPayload / iRIContents [2] / [5]), so that the
// depth limit counts the levels above us.
constexpr int kElementDepth = 5;
ber::Reader ParentOf(const Tlv& tlv, ber::Context& ctx) {
  return ber::Reader(tlv.encoding, ctx, tlv.offset, kElementDepth);
}

}  // namespace

absl::Status DecodeIriParameters(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  return DecodeParams(ParentOf(tlv, ctx), tlv, ctx, pdu, item);
}

absl::Status DecodeIri(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kHi2Ops;
  item.content = tlv.encoding;
  // ETSI671IRI ::= CHOICE { iRI-Parameters [0], iRIsContent [1], ... }: [5] wraps it.
  ASSIGN_OR_RETURN(ber::Reader r, Children(ParentOf(tlv, ctx), tlv, "eTSI671IRI"));
  while (!r.AtEnd()) {
    Tlv c;
    RETURN_IF_ERROR(r.Next(c));
    if (c.IsContext(0)) {
      RETURN_IF_ERROR(DecodeParams(r, c, ctx, pdu, item));
    } else if (c.IsContext(1)) {
      RETURN_IF_ERROR(DecodeIrisContent(r, c, ctx, pdu, item));
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

}  // namespace tapvault::proto::hi2ops
