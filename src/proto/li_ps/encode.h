// Encoder of ETSI TS 102 232-1 PS-PDUs, for the handover simulator (`tapvault feed`), tests, and
// the keep-aliveResponse tapvault sends. The service-specific IRIContents / CCContents element is
// written by a callback (e.g. proto::ipmm::WriteIri), so this file knows no service.
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
// The keep-aliveResponse to a received keep-alive, as TS 102 232-1 and real mediators expect it
// (same sequence number; header fields echoed).
std::vector<std::byte> EncodeKeepaliveResponse(const PsHeader& keepalive_header);

}  // namespace tapvault::proto::li_ps
