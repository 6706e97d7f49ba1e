// Encoder of TS 102 232-6 PstnIsdnPDU (module version6) elements as they sit inside an
// LI-PS-PDU, for the handover simulator (`tapvault feed`) and tests: IRIContents [10]
// pstnIsdnIRI and CCContents [11] pstnIsdnCC, written through li_ps::EncodeIriPdu /
// EncodeCcPdu's contents callback.
//
//   li_ps::EncodeCcPdu(header, {.direction = proto::Direction::kFromTarget,
//       .contents = [&](ber::Writer& w) {
//         pstn::WriteCc(w, {.bearer = alaw_octets, .cc_link_id = 1});
//       }});
//
// Note: in version6, PstnIsdnIRI carries only SupplementaryInfo (media format, SDP, ...); the
// call's parties travel in a TS 101 671 IRI (IRIContents [5] eTSI671IRI, see
// proto/hi2ops/hi2ops_encode.h), as TS 102 232-6 clause 6 prescribes.
// The ObjId fields are written as RELATIVE-OID {5 6 6 1} / {5 6 6 2} (the standard's type).
// Thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/byte_reader.h"
#include "ber/writer.h"
#include "proto/record/record.h"

namespace tapvault::proto::pstn {

// SupplementaryInfo (TS 102 232-6 6.3).
struct SupplementaryInfoSpec {
  Direction applies_to = Direction::kCombined;  // informationAppliesTo payloadDirection [0]
  std::optional<uint16_t> cc_link_id;           // informationAppliesTo cCLinkID [1]
  std::optional<uint32_t> first_pdu_number;     // informationAppliesTo firstPDUNumber [2]
  uint8_t media_format = 8;                     // mediaFormat [1]: RTP payload type (8 = PCMA)
  std::string_view media_attributes;            // [2] "" = absent
  std::string_view session_name;                // [4] "" = absent
  std::string_view copy_of_sdp;                 // [6] "" = absent
  std::optional<uint8_t> frame_type;            // [7] FrameType (3 = audioFrame)
};

// Writes IRIContents [10] pstnIsdnIRI (contents: supplementaryInfo [0]).
void WriteIri(ber::Writer& w, const SupplementaryInfoSpec& spec);

struct PstnCcSpec {
  Bytes bearer;                                        // pstnIsdnCCContents [1]
  std::optional<uint16_t> cc_link_id;                  // cCLinkID [2]
  std::optional<SupplementaryInfoSpec> supplementary;  // supplementaryInfo [3]
};

// Writes CCContents [11] pstnIsdnCC.
void WriteCc(ber::Writer& w, const PstnCcSpec& spec);

}  // namespace tapvault::proto::pstn
