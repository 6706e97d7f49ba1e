// Encoder of TS 102 232-5 IPMultimediaPDU elements as they sit inside an LI-PS-PDU, for the
// handover simulator (`tapvault feed`) and tests: the IRIContents [11] iPMMIRI and
// CCContents [12] iPMMCC alternatives, written with li_ps::EncodeIriPdu / EncodeCcPdu's contents
// callback. The layout is OpenLI's: iPMMIRIContents is sIPMessage [1] with binary IP addresses.
//
//   li_ps::EncodeIriPdu(header, {.kind = proto::Kind::kIriBegin,
//       .contents = [&](ber::Writer& w) {
//         ipmm::WriteIri(w, {.sip_message = invite, .src_ip = "10.0.0.1", .dst_ip = "10.0.0.2"});
//       }});
//   li_ps::EncodeCcPdu(header, {.direction = proto::Direction::kFromTarget,
//       .contents = [&](ber::Writer& w) {
//         ipmm::WriteCc(w, {.rtp = rtp_packet, .frame_type = 2, .mmcc_protocol = 0});
//       }});
//
// Thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ber/writer.h"

namespace tapvault::proto::ipmm {

// Which IPIRIContents alternative carries the SIP message.
enum class IriForm : uint8_t {
  kSipMessage = 1,         // sIPMessage [1] (OpenLI, the normal case)
  kIriOnlySipMessage = 6,  // iRIOnlySIPMessage [6]
};

struct IpmmIriSpec {
  std::string_view sip_message;  // sIPContent [2]: the SIP message as sent on the wire
  // iPSourceAddress [0] / iPDestinationAddress [1]: dotted IPv4 or IPv6 text, written as
  // iP-type + iPBinaryAddress (as OpenLI does) when it parses, else as iPTextAddress.
  std::string src_ip;
  std::string dst_ip;
  IriForm form = IriForm::kSipMessage;
  // Extra SIP header lines for additionalSignalling [3] (sipHeaderLine), e.g. "Contact: tel:+1".
  std::vector<std::string_view> additional_header_lines;
  bool relative_oid = true;  // iPMMIRIObjId as RELATIVE-OID (standard); false: OBJECT IDENTIFIER
};

struct IpmmCcSpec {
  base::Bytes rtp;               // mMCCContents [1]
  int frame_type = -1;     // frameType [2] (FrameType, 2 = rtpFrame); -1 = absent
  int mmcc_protocol = -1;  // mMCCprotocol [4] (0 = rTP, 1 = mSRP, 2 = uDPTL); -1 = absent
  std::string_view stream_id;  // streamIdentifier [3]; "" = absent
};

// Writes IRIContents [11] iPMMIRI (IPMMIRI ::= SEQUENCE {iPMMIRIObjId [0], iPMMIRIContents [1]}).
void WriteIri(ber::Writer& w, const IpmmIriSpec& spec);
// Writes CCContents [12] iPMMCC (IPMMCC ::= SEQUENCE {iPMMCCObjId [0], mMCCContents [1], ...}).
void WriteCc(ber::Writer& w, const IpmmCcSpec& spec);

}  // namespace tapvault::proto::ipmm
