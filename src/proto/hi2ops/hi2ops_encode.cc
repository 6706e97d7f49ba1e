// TS 101 671 HI2Operations (version18) IRI encoder; see hi2ops_encode.h.
#include "proto/hi2ops/hi2ops_encode.h"

#include <array>

namespace tapvault::proto::hi2ops {
namespace {

using ber::Ctx;

// hi2OperationId = {0 4 0 2 2 1 18} (HI2Operations.asn).
constexpr std::array<uint64_t, 7> kHi2OperationId = {0, 4, 0, 2, 2, 1, 18};

// Q.763 3.9 nature of address indicator.
uint8_t IsupNai(NumberNature n) {
  switch (n) {
    case NumberNature::kSubscriber:
      return 1;
    case NumberNature::kNational:
      return 3;
    case NumberNature::kInternational:
      return 4;
    case NumberNature::kNetworkSpecific:
      return 5;
    default:
      return 2;  // unknown (there is no abbreviated NAI in ISUP)
  }
}

// Q.931 type of number / TS 29.002 nature of address indicator.
uint8_t TypeOfNumber(NumberNature n) {
  switch (n) {
    case NumberNature::kInternational:
      return 1;
    case NumberNature::kNational:
      return 2;
    case NumberNature::kNetworkSpecific:
      return 3;
    case NumberNature::kSubscriber:
      return 4;
    case NumberNature::kAbbreviated:
      return 6;
    default:
      return 0;
  }
}

uint8_t IsupNibble(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  if (c == '*') return 0xB;
  if (c == '#') return 0xC;
  if (c == 'A' || c == 'D' || c == 'E') return static_cast<uint8_t>(c - 'A' + 10);
  return 0;
}

uint8_t TbcdNibble(char c) {
  if (c >= '0' && c <= '9') return static_cast<uint8_t>(c - '0');
  switch (c) {
    case '*':
      return 0xA;
    case '#':
      return 0xB;
    case 'a':
      return 0xC;
    case 'b':
      return 0xD;
    case 'c':
      return 0xE;
    default:
      return 0;
  }
}

// BCD digits, low nibble first; `filler` pads an odd count.
void AppendBcd(std::string& out, std::string_view digits, uint8_t (*nibble)(char), uint8_t filler) {
  for (size_t i = 0; i < digits.size(); i += 2) {
    uint8_t lo = nibble(digits[i]);
    uint8_t hi = i + 1 < digits.size() ? nibble(digits[i + 1]) : filler;
    out.push_back(static_cast<char>(lo | (hi << 4)));
  }
}

std::string IsupParameter(uint8_t code, const std::string& value) {
  std::string p;
  p.push_back(static_cast<char>(code));
  p.push_back(static_cast<char>(value.size()));
  p += value;
  return p;
}

bool IsBcdFormat(NumberFormat f) {
  return f == NumberFormat::kIsup || f == NumberFormat::kDss1 || f == NumberFormat::kMap;
}

void WriteParty(ber::Writer& w, const PartySpec& p) {
  w.Begin(ber::Univ(ber::kSequence, true));  // PartyInformation
  if (p.qualifier != PartyQualifier::kNone) {
    w.AddInteger(Ctx(0), static_cast<int64_t>(p.qualifier));
  }
  w.Begin(Ctx(1, true));  // partyIdentity
  if (!p.imei.empty()) w.AddOctets(Ctx(1), EncodeTbcd(p.imei));
  if (!p.imsi.empty()) w.AddOctets(Ctx(3), EncodeTbcd(p.imsi));
  if (IsBcdFormat(p.format)) {
    bool calling = p.field == NumberField::kCalling ||
                   (p.field == NumberField::kAuto && p.qualifier == PartyQualifier::kOriginating);
    w.Begin(Ctx(calling ? 4 : 5, true));
    switch (p.format) {
      case NumberFormat::kIsup:
        w.AddOctets(Ctx(1),
                    EncodeIsupNumber(p.digits, p.nature, calling, p.presentation_restricted));
        break;
      case NumberFormat::kDss1:
        w.AddOctets(Ctx(calling ? 2 : 3),
                    EncodeDss1Number(p.digits, p.nature, calling, p.presentation_restricted));
        break;
      default:  // kMap
        w.AddOctets(Ctx(calling ? 3 : 2), EncodeAddressString(p.digits, p.nature));
        break;
    }
    w.End();
  } else {
    switch (p.format) {
      case NumberFormat::kMsisdn:
        w.AddOctets(Ctx(6), EncodeAddressString(p.digits, p.nature));
        break;
      case NumberFormat::kE164:
        w.AddOctets(Ctx(7), EncodeIsupNumber(p.digits, p.nature, true, p.presentation_restricted));
        break;
      case NumberFormat::kSipUri:
        w.AddOctets(Ctx(8), p.digits);
        break;
      default:  // kTelUrl
        w.AddOctets(Ctx(9), p.digits);
        break;
    }
  }
  w.End();  // partyIdentity

  const SupplementaryNumbers& s = p.supplementary;
  if (!s.redirecting_number.empty() || !s.original_called_number.empty() ||
      !s.redirection_number.empty()) {
    w.Begin(Ctx(3, true));  // supplementary-Services-Information
    w.Begin(Ctx(1, true));  // standard-Supplementary-Services
    if (p.format == NumberFormat::kDss1) {
      w.Begin(Ctx(2, true));  // dSS1-SS-parameters-codeset-0: EN 300 403-1 elements
      if (!s.redirecting_number.empty()) {
        w.AddOctets(
            ber::Univ(ber::kOctetString),
            IsupParameter(0x74, EncodeDss1Number(s.redirecting_number, s.nature, true, false)));
      }
      if (!s.redirection_number.empty()) {
        w.AddOctets(
            ber::Univ(ber::kOctetString),
            IsupParameter(0x76, EncodeDss1Number(s.redirection_number, s.nature, false, false)));
      }
      w.End();
    } else {
      w.Begin(Ctx(1, true));  // iSUP-SS-parameters: EN 300 356 parameter TLVs
      if (!s.redirecting_number.empty()) {
        w.AddOctets(
            ber::Univ(ber::kOctetString),
            IsupParameter(0x0B, EncodeIsupNumber(s.redirecting_number, s.nature, true, false)));
      }
      if (!s.original_called_number.empty()) {
        w.AddOctets(
            ber::Univ(ber::kOctetString),
            IsupParameter(0x28, EncodeIsupNumber(s.original_called_number, s.nature, true, false)));
      }
      if (!s.redirection_number.empty()) {
        w.AddOctets(
            ber::Univ(ber::kOctetString),
            IsupParameter(0x0C, EncodeIsupNumber(s.redirection_number, s.nature, false, false)));
      }
      w.End();
    }
    w.End();
    w.End();
  }
  w.End();  // PartyInformation
}

void WriteParameters(ber::Writer& w, ber::Tag tag, const Hi2IriSpec& spec) {
  w.Begin(tag);
  if (spec.write_domain_id) w.AddOid(Ctx(0), kHi2OperationId, false);
  w.AddOctets(Ctx(1), spec.liid);
  w.Begin(Ctx(2, true));  // communicationIdentifier
  if (!spec.cin.empty()) w.AddOctets(Ctx(0), spec.cin);
  w.Begin(Ctx(1, true));  // network-Identifier
  w.AddOctets(Ctx(0), spec.operator_id);
  if (!spec.network_element_e164.empty()) {
    w.Begin(Ctx(1, true));
    w.AddOctets(Ctx(1), EncodeIsupNumber(spec.network_element_e164, NumberNature::kInternational,
                                         true, false));
    w.End();
  }
  w.End();
  w.End();
  w.Begin(Ctx(3, true));                                         // timeStamp: CHOICE, explicit
  std::string gt = base::FormatGeneralizedTime(spec.timestamp);  // YYYYMMDDhhmmss.mmmZ
  if (spec.utc_time) {
    w.AddOctets(Ctx(1), gt.substr(2, 12) + "Z");  // YYMMDDhhmmssZ
  } else {
    w.Begin(Ctx(0, true));
    w.AddOctets(Ctx(0), gt);
    w.AddInteger(Ctx(1), 0);  // winterSummerIndication notProvided
    w.End();
  }
  w.End();
  if (spec.direction != CallDirection::kAbsent) {
    w.AddInteger(Ctx(4), static_cast<int64_t>(spec.direction));
  }
  if (spec.call_state) w.AddInteger(Ctx(5), *spec.call_state);
  if (!spec.parties.empty()) {
    w.Begin(Ctx(9, true));
    for (const PartySpec& p : spec.parties) WriteParty(w, p);
    w.End();
  }
  w.End();
}

uint32_t RecordTag(Kind kind) {
  switch (kind) {
    case Kind::kIriBegin:
      return 1;
    case Kind::kIriEnd:
      return 2;
    case Kind::kIriContinue:
      return 3;
    default:
      return 4;
  }
}

}  // namespace

std::string EncodeIsupNumber(std::string_view digits, NumberNature nature, bool calling,
                             bool presentation_restricted) {
  std::string out;
  bool odd = digits.size() % 2 == 1;
  out.push_back(static_cast<char>((odd ? 0x80 : 0) | IsupNai(nature)));
  // Octet 2: NI/INN 0, numbering plan 001 (E.164); calling: APRI, screening 01 (network
  // provided would be 11; 01 = user provided, verified and passed).
  uint8_t o2 = 0x10;
  if (calling) o2 |= (presentation_restricted ? 0x04 : 0x00) | 0x01;
  out.push_back(static_cast<char>(o2));
  AppendBcd(out, digits, IsupNibble, 0x0);  // Q.763 3.9 e): filler 0000
  return out;
}

std::string EncodeDss1Number(std::string_view digits, NumberNature nature, bool calling,
                             bool presentation_restricted) {
  std::string out;
  uint8_t o3 = static_cast<uint8_t>((TypeOfNumber(nature) << 4) | 0x01);  // plan E.164
  if (calling && presentation_restricted) {
    out.push_back(static_cast<char>(o3));           // ext 0: octet 3a follows
    out.push_back(static_cast<char>(0x80 | 0x20));  // presentation restricted, user provided
  } else {
    out.push_back(static_cast<char>(0x80 | o3));
  }
  for (char c : digits) out.push_back(static_cast<char>(c & 0x7F));
  return out;
}

std::string EncodeAddressString(std::string_view digits, NumberNature nature) {
  std::string out;
  out.push_back(static_cast<char>(0x80 | (TypeOfNumber(nature) << 4) | 0x01));
  AppendBcd(out, digits, TbcdNibble, 0xF);
  return out;
}

std::string EncodeTbcd(std::string_view digits) {
  std::string out;
  AppendBcd(out, digits, TbcdNibble, 0xF);
  return out;
}

void WriteIri(ber::Writer& w, const Hi2IriSpec& spec) {
  w.Begin(Ctx(5, true));  // IRIContents eTSI671IRI: CHOICE, explicit
  switch (spec.carrier) {
    case Carrier::kIriParameters:
      WriteParameters(w, Ctx(0, true), spec);
      break;
    case Carrier::kIrisContent:
      w.Begin(Ctx(1, true));  // iRIsContent (CHOICE, explicit) -> iRIContent (untagged CHOICE)
      WriteParameters(w, Ctx(RecordTag(spec.kind), true), spec);
      w.End();
      break;
    case Carrier::kIriSequence:
      w.Begin(Ctx(1, true));
      w.Begin(ber::Univ(ber::kSequence, true));  // iRISequence
      WriteParameters(w, Ctx(RecordTag(spec.kind), true), spec);
      w.End();
      w.End();
      break;
  }
  w.End();
}

}  // namespace tapvault::proto::hi2ops
