// ETSI TS 102 232-1 PS-PDU encoder. Field order follows the ASN.1 (X.690 8.9.2 for SEQUENCE);
// explicitly tagged CHOICEs (payload [2], iRIContents [2], cCContents [2], tRIPayload [2]) wrap
// their alternative, as the decoder expects.
#include "proto/li_ps/encode.h"

#include <array>
#include <string>

#include "base/time.h"

namespace tapvault::proto::li_ps {
namespace {

using ber::Ctx;
using ber::Univ;

// li-psDomainId ::= {itu-t(0) identified-organization(4) etsi(0) securityDomain(2)
// lawfulIntercept(2) li-ps(5) genHeader(1) version43(43)}
constexpr std::array<uint64_t, 8> kDomainIdV43 = {0, 4, 0, 2, 2, 5, 1, 43};

// GeneralizedTime in UTC: millisecond fraction as mediators send it, or six digits when the
// time has sub-millisecond precision (so nothing is lost in a round trip).
std::string GeneralizedTime(base::Timestamp t) {
  std::string s = base::FormatGeneralizedTime(t);
  const int64_t us_in_ms = ((t.unix_us % 1000) + 1000) % 1000;
  if (us_in_ms != 0 && !s.empty() && s.back() == 'Z') {
    const char digits[3] = {static_cast<char>('0' + us_in_ms / 100),
                            static_cast<char>('0' + us_in_ms / 10 % 10),
                            static_cast<char>('0' + us_in_ms % 10)};
    s.insert(s.size() - 1, digits, 3);
  }
  return s;
}

// MicroSecondTimeStamp ::= SEQUENCE { seconds [0], microSeconds [1] }. Times before 1970 (which
// it cannot express) are written as the epoch.
void WriteMicroSecondTimeStamp(ber::Writer& w, ber::Tag tag, base::Timestamp t) {
  const int64_t us = t.unix_us < 0 ? 0 : t.unix_us;
  w.Begin(tag);
  w.AddUnsigned(Ctx(0), static_cast<uint64_t>(us / 1000000));
  w.AddUnsigned(Ctx(1), static_cast<uint64_t>(us % 1000000));
  w.End();
}

void WriteHeader(ber::Writer& w, const PsHeader& h, bool microsecond) {
  w.Begin(Ctx(1, true));  // pSHeader [1]
  if (h.domain_id.empty()) {
    w.AddOid(Ctx(0), kDomainIdV43, /*relative=*/false);
  } else {
    w.AddOid(Ctx(0), h.domain_id, /*relative=*/false);
  }
  w.AddOctets(Ctx(1), h.liid);
  if (!h.authorization_country_code.empty()) w.AddOctets(Ctx(2), h.authorization_country_code);
  w.Begin(Ctx(3, true));  // communicationIdentifier
  w.Begin(Ctx(0, true));  //   networkIdentifier
  w.AddOctets(Ctx(0), h.operator_id);
  if (!h.network_element_id.empty()) w.AddOctets(Ctx(1), h.network_element_id);
  w.End();
  if (h.cin) w.AddUnsigned(Ctx(1), *h.cin);
  if (!h.delivery_country_code.empty()) w.AddOctets(Ctx(2), h.delivery_country_code);
  w.End();
  w.AddUnsigned(Ctx(4), h.sequence_number);
  if (h.timestamp && !microsecond) w.AddOctets(Ctx(5), GeneralizedTime(*h.timestamp));
  if (!h.interception_point_id.empty()) w.AddOctets(Ctx(6), h.interception_point_id);
  if (h.timestamp && microsecond) WriteMicroSecondTimeStamp(w, Ctx(7, true), *h.timestamp);
  if (h.timestamp_qualifier != 0) w.AddInteger(Ctx(8), h.timestamp_qualifier);
  w.End();
}

// Opens PS-PDU and its payload [2] and writes the header; the caller writes one Payload
// alternative and calls Finish().
ber::Writer Start(const PsHeader& header, const EncodeOptions& options) {
  ber::Writer w(options.length_form);
  w.Begin(Univ(ber::kSequence, true));
  WriteHeader(w, header, options.microsecond_timestamp);
  w.Begin(Ctx(2, true));  // payload [2] (explicit: Payload is a CHOICE)
  return w;
}

std::vector<std::byte> Finish(ber::Writer& w) {
  w.End();  // payload
  w.End();  // PS-PDU
  return w.Take();
}

int IriTypeValue(Kind kind) {  // IRIType: iRI-Begin(1), iRI-End(2), iRI-Continue(3), iRI-Report(4)
  switch (kind) {
    case Kind::kIriBegin:
      return 1;
    case Kind::kIriEnd:
      return 2;
    case Kind::kIriContinue:
      return 3;
    case Kind::kIriReport:
      return 4;
    default:
      return 0;
  }
}

}  // namespace

std::vector<std::byte> EncodeIriPdu(const PsHeader& header, const IriPayloadSpec& payload,
                                    const EncodeOptions& options) {
  ber::Writer w = Start(header, options);
  w.Begin(Ctx(0, true));                // iRIPayloadSequence [0]
  w.Begin(Univ(ber::kSequence, true));  // IRIPayload
  if (int t = IriTypeValue(payload.kind)) w.AddInteger(Ctx(0), t);
  if (payload.timestamp && !options.microsecond_timestamp) {
    w.AddOctets(Ctx(1), GeneralizedTime(*payload.timestamp));
  }
  w.Begin(Ctx(2, true));  // iRIContents [2] (explicit: IRIContents is a CHOICE)
  if (payload.contents) payload.contents(w);
  w.End();
  if (payload.timestamp && options.microsecond_timestamp) {
    WriteMicroSecondTimeStamp(w, Ctx(3, true), *payload.timestamp);
  }
  if (payload.direction != Direction::kAbsent) {
    w.AddInteger(Ctx(6), static_cast<int64_t>(payload.direction));
  }
  w.End();
  w.End();
  return Finish(w);
}

std::vector<std::byte> EncodeCcPdu(const PsHeader& header, const CcPayloadSpec& payload,
                                   const EncodeOptions& options) {
  ber::Writer w = Start(header, options);
  w.Begin(Ctx(1, true));                // cCPayloadSequence [1]
  w.Begin(Univ(ber::kSequence, true));  // CCPayload
  if (payload.direction != Direction::kAbsent) {
    w.AddInteger(Ctx(0), static_cast<int64_t>(payload.direction));
  }
  if (payload.timestamp && !options.microsecond_timestamp) {
    w.AddOctets(Ctx(1), GeneralizedTime(*payload.timestamp));
  }
  w.Begin(Ctx(2, true));  // cCContents [2] (explicit: CCContents is a CHOICE)
  if (payload.contents) payload.contents(w);
  w.End();
  if (payload.timestamp && options.microsecond_timestamp) {
    WriteMicroSecondTimeStamp(w, Ctx(3, true), *payload.timestamp);
  }
  w.End();
  w.End();
  return Finish(w);
}

std::vector<std::byte> EncodeTriPdu(const PsHeader& header, Kind kind,
                                    const EncodeOptions& options) {
  ber::Writer w = Start(header, options);
  w.Begin(Ctx(2, true));  // tRIPayload [2] (explicit: TRIPayload is a CHOICE)
  uint32_t tag;
  switch (kind) {
    case Kind::kTestPdu:
      tag = 1;
      break;
    case Kind::kKeepalive:
      tag = 3;
      break;
    case Kind::kKeepaliveResponse:
      tag = 4;
      break;
    case Kind::kFirstSegment:
      tag = 5;
      break;
    case Kind::kLastSegment:
      tag = 6;
      break;
    case Kind::kCinReset:
      tag = 7;
      break;
    case Kind::kOptionComplete:
      tag = 11;
      break;
    case Kind::kAckRequest:
      tag = 12;
      break;
    case Kind::kAckResponse:
      tag = 13;
      break;
    default:
      tag = 2;
      break;  // not a NULL alternative: an empty paddingPDU [2] OCTET STRING
  }
  if (tag == 2) {
    w.AddOctets(Ctx(2), "");
  } else {
    w.AddNull(Ctx(tag));
  }
  w.End();
  return Finish(w);
}

std::vector<std::byte> EncodeIntegrityPdu(const PsHeader& header, const IntegrityCheck& check,
                                          const EncodeOptions& options) {
  ber::Writer w = Start(header, options);
  w.Begin(Ctx(2, true));  // tRIPayload [2]
  w.Begin(Ctx(0, true));  //   integrityCheck [0]
  w.Begin(Ctx(0, true));  //     includedSequenceNumbers [0] SEQUENCE OF INTEGER
  for (uint32_t seq : check.sequence_numbers) w.AddUnsigned(Univ(ber::kInteger), seq);
  w.End();
  w.AddInteger(Ctx(1), check.check_type);
  if (check.data_type != 0) w.AddInteger(Ctx(2), check.data_type);
  w.AddPrimitive(Ctx(3), check.check_value);
  if (check.hash_algorithm != 0) w.AddInteger(Ctx(4), check.hash_algorithm);
  if (check.signature_algorithm != 0) w.AddInteger(Ctx(5), check.signature_algorithm);
  w.End();
  w.End();
  return Finish(w);
}

namespace {

// SEQUENCE OF Option under `tag`; every Option we know is a NULL alternative.
void WriteOptionList(ber::Writer& w, ber::Tag tag, const std::vector<Option>& options) {
  w.Begin(tag);
  for (Option o : options) w.AddNull(Ctx(static_cast<uint32_t>(o)));
  w.End();
}

}  // namespace

std::vector<std::byte> EncodeOptionRequest(const PsHeader& header,
                                           const std::vector<Option>& options,
                                           const EncodeOptions& encode) {
  ber::Writer w = Start(header, encode);
  w.Begin(Ctx(2, true));  // tRIPayload [2]
  w.Begin(Ctx(9, true));  //   optionRequest [9] OptionRequest (SEQUENCE, implicitly tagged)
  WriteOptionList(w, Ctx(0, true), options);  // requestedOptions [0]
  w.End();
  w.End();
  return Finish(w);
}

std::vector<std::byte> EncodeOptionResponse(const PsHeader& header,
                                            const std::vector<Option>& accepted,
                                            const std::vector<Option>& declined,
                                            const EncodeOptions& encode) {
  ber::Writer w = Start(header, encode);
  w.Begin(Ctx(2, true));   // tRIPayload [2]
  w.Begin(Ctx(10, true));  //   optionResponse [10] OptionResponse (SEQUENCE, implicitly tagged)
  WriteOptionList(w, Ctx(0, true), accepted);  // acceptedOptions [0]
  WriteOptionList(w, Ctx(1, true), declined);  // declinedOptions [1]
  w.End();
  w.End();
  return Finish(w);
}

// What a mediator expects back. TS 102 232-1 (keep-alive, TRIPayload [3]/[4]) asks for a
// keep-aliveResponse carrying the keep-alive's sequence number. The open-source OpenLI mediator
// (src/mediator/handover.c with libwandder's etsili decoder) is strict about the shape: it reads
// the reply as a PS-PDU whose payload [2] holds tRIPayload [2] holding keep-aliveResponse [4];
// it takes the sequence number by walking pSHeader's fields in order until the one tagged [4];
// a different sequence number, or any PDU that is not a keep-aliveResponse, makes it drop the
// connection. So we echo the keep-alive's header (domain id, pseudo-LIID, country codes,
// operator/element ids, CIN, sequence number, timestamp in the same form) with fields in ASN.1
// order and minimal (DER) lengths, and nothing else.
std::vector<std::byte> EncodeKeepaliveResponse(const PsHeader& keepalive_header) {
  return EncodeTriPdu(keepalive_header, Kind::kKeepaliveResponse,
                      {.length_form = ber::LengthForm::kMinimal,
                       .microsecond_timestamp = keepalive_header.microsecond_timestamp});
}

// Replies echo the request's header as the keep-aliveResponse does (see above), so a mediator
// can match them by sequence number.
std::vector<std::byte> EncodeOptionResponseTo(const PsHeader& request_header,
                                              const std::vector<Option>& accepted,
                                              const std::vector<Option>& declined) {
  return EncodeOptionResponse(request_header, accepted, declined,
                              {.length_form = ber::LengthForm::kMinimal,
                               .microsecond_timestamp = request_header.microsecond_timestamp});
}

std::vector<std::byte> EncodeAckResponse(const PsHeader& request_header) {
  return EncodeTriPdu(request_header, Kind::kAckResponse,
                      {.length_form = ber::LengthForm::kMinimal,
                       .microsecond_timestamp = request_header.microsecond_timestamp});
}

}  // namespace tapvault::proto::li_ps
