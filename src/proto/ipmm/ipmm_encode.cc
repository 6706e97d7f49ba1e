#include "proto/ipmm/ipmm_encode.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace tapvault::proto::ipmm {
namespace {

// iPMultimediaPDUObjId ::= {li-ps(5) iPMultimedia(5) version17(17)} (TS 102 232-5).
constexpr std::array<uint64_t, 4> kIriObjId = {5, 5, 17, 1};
constexpr std::array<uint64_t, 4> kCcObjId = {5, 5, 17, 2};
// The same as absolute OBJECT IDENTIFIERs under {itu-t(0) identified-organization(4) etsi(0)
// securityDomain(2) lawfulIntercept(2)}, for the patched module's reading.
constexpr std::array<uint64_t, 9> kIriObjIdAbsolute = {0, 4, 0, 2, 2, 5, 5, 17, 1};

// TS 102 232-1 IPAddress, as OpenLI writes it: iP-type, iP-value iPBinaryAddress,
// iP-assignment notKnown(3), and the full mask / prefix length.
void WriteIpAddress(ber::Writer& w, ber::Tag tag, const std::string& ip) {
  w.Begin(tag);
  std::byte bin[16];
  if (inet_pton(AF_INET6, ip.c_str(), bin) == 1) {
    w.AddInteger(ber::Ctx(1), 1);  // iPV6
    w.Begin(ber::Ctx(2, true));
    w.AddPrimitive(ber::Ctx(1), base::Bytes(bin, 16));
    w.End();
    w.AddInteger(ber::Ctx(3), 3);
    w.AddInteger(ber::Ctx(4), 128);  // iPv6PrefixLength
  } else {
    bool binary = inet_pton(AF_INET, ip.empty() ? "0.0.0.0" : ip.c_str(), bin) == 1;
    w.AddInteger(ber::Ctx(1), 0);  // iPV4
    w.Begin(ber::Ctx(2, true));
    if (binary) {
      w.AddPrimitive(ber::Ctx(1), base::Bytes(bin, 4));
    } else {
      w.AddOctets(ber::Ctx(2), ip);  // iPTextAddress
    }
    w.End();
    w.AddInteger(ber::Ctx(3), 3);
    if (binary) {
      const std::byte mask[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
      w.AddPrimitive(ber::Ctx(5), base::Bytes(mask, 4));  // iPv4SubnetMask
    }
  }
  w.End();
}

}  // namespace

void WriteIri(ber::Writer& w, const IpmmIriSpec& spec) {
  w.Begin(ber::Ctx(11, true));  // IRIContents iPMMIRI [11]
  if (spec.relative_oid) {
    w.AddOid(ber::Ctx(0), kIriObjId, true);
  } else {
    w.AddOid(ber::Ctx(0), kIriObjIdAbsolute, false);
  }
  w.Begin(ber::Ctx(1, true));  // iPMMIRIContents [1] IPIRIContents (CHOICE: explicit)
  w.Begin(ber::Ctx(static_cast<uint32_t>(spec.form), true));  // SIPMessage
  WriteIpAddress(w, ber::Ctx(0, true), spec.src_ip);
  WriteIpAddress(w, ber::Ctx(1, true), spec.dst_ip);
  w.AddOctets(ber::Ctx(2), spec.sip_message);  // sIPContent
  w.End();
  w.End();
  if (!spec.additional_header_lines.empty()) {
    w.Begin(ber::Ctx(3, true));  // additionalSignalling
    for (std::string_view line : spec.additional_header_lines) w.AddOctets(ber::Ctx(0), line);
    w.End();
  }
  w.End();
}

void WriteCc(ber::Writer& w, const IpmmCcSpec& spec) {
  w.Begin(ber::Ctx(12, true));  // CCContents iPMMCC [12]
  w.AddOid(ber::Ctx(0), kCcObjId, true);
  w.AddPrimitive(ber::Ctx(1), spec.rtp);  // mMCCContents
  if (spec.frame_type >= 0) w.AddInteger(ber::Ctx(2), spec.frame_type);
  if (!spec.stream_id.empty()) w.AddOctets(ber::Ctx(3), spec.stream_id);
  if (spec.mmcc_protocol >= 0) w.AddInteger(ber::Ctx(4), spec.mmcc_protocol);
  w.End();
}

}  // namespace tapvault::proto::ipmm
