// Encoder of ETSI TS 102 232-1 PS-PDUs, for the handover simulator (`tapvault feed`), tests, and
// the replies tapvault sends (keep-aliveResponse, optionResponse, pDUAcknowledgementResponse).
// The service-specific IRIContents / CCContents element is written by a callback (e.g.
// proto::ipmm::WriteIri), so this file knows no service.
//
//   std::vector<std::byte> pdu = li_ps::EncodeIriPdu(header,
//       {.kind = proto::Kind::kIriBegin,
//        .contents = [&](ber::Writer& w) { ipmm::WriteIri(w, {.sip_message = invite}); }});
//
// Thread-compatible.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "ber/writer.h"
#include "proto/record/record.h"

namespace tapvault::proto::li_ps {

struct EncodeOptions {
  ber::LengthForm length_form = ber::LengthForm::kMinimal;  // kLong3 = OpenLI's habit
  bool microsecond_timestamp = false;  // header time as microSecondTimeStamp [7], not [5]
};

using ContentsWriter = std::function<void(ber::Writer&)>;

struct IriPayloadSpec {
  Kind kind = Kind::kIriReport;                 // kIriBegin/Continue/End/Report, or kIri (no type)
  std::optional<base::Timestamp> timestamp;     // per-item timestamp, if wanted
  Direction direction = Direction::kAbsent;     // IRIPayload payloadDirection [6]
  ContentsWriter contents;                      // writes one IRIContents alternative
};

struct CcPayloadSpec {
  Direction direction = Direction::kAbsent;     // CCPayload payloadDirection [0]
  std::optional<base::Timestamp> timestamp;
  ContentsWriter contents;                      // writes one CCContents alternative
};

// `header.domain_id` empty means the current li-psDomainId (0.4.0.2.2.5.1.43).
std::vector<std::byte> EncodeIriPdu(const PsHeader& header, const IriPayloadSpec& payload,
                                    const EncodeOptions& options = {});
std::vector<std::byte> EncodeCcPdu(const PsHeader& header, const CcPayloadSpec& payload,
                                   const EncodeOptions& options = {});
// A TRIPayload PDU carrying a NULL alternative: kKeepalive, kKeepaliveResponse, kTestPdu,
// kFirstSegment, kLastSegment, kCinReset, kOptionComplete, kAckRequest, kAckResponse.
std::vector<std::byte> EncodeTriPdu(const PsHeader& header, Kind kind,
                                    const EncodeOptions& options = {});
std::vector<std::byte> EncodeIntegrityPdu(const PsHeader& header, const IntegrityCheck& check,
                                          const EncodeOptions& options = {});
// TS 102 232-1 Option ::= CHOICE { pDUAcknowledgement [0] NULL, ... }.
enum class Option : uint8_t { kPduAcknowledgement = 0 };

// TRIPayload optionRequest [9] { requestedOptions [0] SEQUENCE OF Option }.
std::vector<std::byte> EncodeOptionRequest(const PsHeader& header,
                                           const std::vector<Option>& options,
                                           const EncodeOptions& encode = {});
// TRIPayload optionResponse [10] { acceptedOptions [0], declinedOptions [1] } (both always
// present: they are not OPTIONAL).
std::vector<std::byte> EncodeOptionResponse(const PsHeader& header,
                                            const std::vector<Option>& accepted,
                                            const std::vector<Option>& declined,
                                            const EncodeOptions& encode = {});

// The keep-aliveResponse to a received keep-alive, as TS 102 232-1 and real mediators expect it
// (same sequence number; header fields echoed).
std::vector<std::byte> EncodeKeepaliveResponse(const PsHeader& keepalive_header);
// The replies to an optionRequest and a pDUAcknowledgementRequest, shaped like the
// keep-aliveResponse: the request's header echoed (same LIID, CIN, sequence number), minimal
// lengths, the timestamp in the request's form.
std::vector<std::byte> EncodeOptionResponseTo(const PsHeader& request_header,
                                              const std::vector<Option>& accepted,
                                              const std::vector<Option>& declined);
std::vector<std::byte> EncodeAckResponse(const PsHeader& request_header);

}  // namespace tapvault::proto::li_ps
