// TS 102 232-5 IPMultimediaPDU version17 (asn1_viewer-patched/IPMultimediaPDU.asn with the ObjId
// fields back to RELATIVE-OID). DEFINITIONS IMPLICIT TAGS: SEQUENCE components are implicitly
// tagged, CHOICE-typed components (iPMMIRIContents, IP-value) keep an explicit wrapper
// (X.680 31.2.7).
#include "proto/ipmm/ipmm.h"

#include "proto/record/field.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "base/status_macros.h"
#include "sip/party_extractor.h"

namespace tapvault::proto::ipmm {
namespace {

using ber::Tlv;

constexpr size_t kMaxAdditionalSignalling = 64;  // sipHeaderLine elements looked at

// The octets of a string-typed TLV; a segmented (constructed) one is joined into pdu.owned.
absl::Status Octets(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, Bytes& out) {
  ASSIGN_OR_RETURN(out, FieldOctets(tlv, ctx, pdu));
  return absl::OkStatus();
}

// TS 102 232-1 IPAddress ::= SEQUENCE { iP-type [1], iP-value [2] IP-value, ... } as text.
absl::Status DecodeIpAddress(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                             PsPdu& pdu, std::string& out) {
  if (!tlv.tag.constructed) return ber::ErrorAt(tlv.offset, "ipmm: IPAddress is not constructed");
  ASSIGN_OR_RETURN(ber::Reader fields, parent.Enter(tlv));
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (!f.IsContext(2)) continue;  // iP-type, iP-assignment, prefix, mask, NAT: not needed
    if (!f.tag.constructed) return ber::ErrorAt(f.offset, "ipmm: iP-value is not constructed");
    ASSIGN_OR_RETURN(ber::Reader choice, fields.Enter(f));
    if (choice.AtEnd()) return ber::ErrorAt(f.offset, "ipmm: empty iP-value");
    Tlv v;
    RETURN_IF_ERROR(choice.Next(v));
    Bytes octets;
    RETURN_IF_ERROR(Octets(v, ctx, pdu, octets));
    if (v.IsContext(1)) {  // iPBinaryAddress OCTET STRING (SIZE(4..16))
      char text[INET6_ADDRSTRLEN] = {};
      if (octets.size() == 4) {
        inet_ntop(AF_INET, octets.data(), text, sizeof text);
      } else if (octets.size() == 16) {
        inet_ntop(AF_INET6, octets.data(), text, sizeof text);
      } else {
        return ber::ErrorAt(v.offset, "ipmm: iPBinaryAddress is neither 4 nor 16 octets");
      }
      out = text;
    } else if (v.IsContext(2)) {  // iPTextAddress IA5String (SIZE(7..45))
      out = base::AsString(octets.first(std::min<size_t>(octets.size(), 64)));
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// The SIP payload of an IPv4/IPv6 packet with a UDP or TCP header (originalIPMMMessage: "Copy of
// the IP MM signalling packet including the original IP and UDP/TCP headers"), plus the
// addresses. Returns false if it is not such a packet.
bool SplitIpPacket(Bytes packet, std::string& src, std::string& dst, Bytes& payload) {
  base::ByteReader r(packet);
  uint8_t vihl;
  if (!r.PeekU8(vihl)) return false;
  uint8_t proto = 0;
  char text[INET6_ADDRSTRLEN] = {};
  if ((vihl >> 4) == 4) {  // RFC 791
    size_t ihl = (vihl & 0x0f) * 4u;
    if (ihl < 20 || packet.size() < ihl) return false;
    proto = static_cast<uint8_t>(packet[9]);
    inet_ntop(AF_INET, packet.data() + 12, text, sizeof text);
    src = text;
    inet_ntop(AF_INET, packet.data() + 16, text, sizeof text);
    dst = text;
    r.Skip(ihl);
  } else if ((vihl >> 4) == 6) {  // RFC 8200, no extension headers
    if (packet.size() < 40) return false;
    proto = static_cast<uint8_t>(packet[6]);
    inet_ntop(AF_INET6, packet.data() + 8, text, sizeof text);
    src = text;
    inet_ntop(AF_INET6, packet.data() + 24, text, sizeof text);
    dst = text;
    r.Skip(40);
  } else {
    return false;
  }
  if (proto == 17) {  // UDP, RFC 768: 8-byte header
    if (!r.Skip(8)) return false;
  } else if (proto == 6) {  // TCP, RFC 9293: data offset in 32-bit words
    Bytes header = r.rest();
    if (header.size() < 20) return false;
    size_t data_offset = (static_cast<uint8_t>(header[12]) >> 4) * 4u;
    if (data_offset < 20 || !r.Skip(data_offset)) return false;
  } else {
    return false;
  }
  payload = r.rest();
  return true;
}

void ExtractSip(Bytes sip, PayloadItem& item) {
  absl::Status s = sip::ExtractParties(base::AsString(sip), item.parties, item.attributes);
  // The IRI itself is well-formed: keep it with what was extracted, and say what went wrong.
  if (!s.ok()) item.attributes.emplace_back("sip.error", std::string(base::View(s.message())));
}

// SIPMessage ::= SEQUENCE { iPSourceAddress [0], iPDestinationAddress [1], sIPContent [2], ... }
absl::Status DecodeSipMessage(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                              PsPdu& pdu, PayloadItem& item) {
  if (!tlv.tag.constructed) return ber::ErrorAt(tlv.offset, "ipmm: SIPMessage is not constructed");
  ASSIGN_OR_RETURN(ber::Reader fields, parent.Enter(tlv));
  std::string src, dst;
  bool have_content = false;
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.IsContext(0)) {
      RETURN_IF_ERROR(DecodeIpAddress(fields, f, ctx, pdu, src));
    } else if (f.IsContext(1)) {
      RETURN_IF_ERROR(DecodeIpAddress(fields, f, ctx, pdu, dst));
    } else if (f.IsContext(2)) {
      RETURN_IF_ERROR(Octets(f, ctx, pdu, item.content));
      have_content = true;
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_content) return ber::ErrorAt(tlv.offset, "ipmm: SIPMessage without sIPContent");
  if (!src.empty()) item.attributes.emplace_back("ip.src", std::move(src));
  if (!dst.empty()) item.attributes.emplace_back("ip.dst", std::move(dst));
  ExtractSip(item.content, item);
  return absl::OkStatus();
}

// IPIRIContents CHOICE (inside the explicit [1] wrapper).
absl::Status DecodeIriContents(const ber::Reader& parent, const Tlv& wrapper, ber::Context& ctx,
                               PsPdu& pdu, PayloadItem& item) {
  if (!wrapper.tag.constructed) {
    return ber::ErrorAt(wrapper.offset, "ipmm: iPMMIRIContents is not constructed");
  }
  ASSIGN_OR_RETURN(ber::Reader choice, parent.Enter(wrapper));
  if (choice.AtEnd()) return ber::ErrorAt(wrapper.offset, "ipmm: empty iPMMIRIContents");
  Tlv alt;
  RETURN_IF_ERROR(choice.Next(alt));
  if (alt.tag.cls != ber::TagClass::kContext) {
    ++pdu.skipped_unknown;
    return absl::OkStatus();
  }
  switch (alt.tag.number) {
    case 0:    // originalIPMMMessage
    case 5: {  // iRIOnlyOriginalIPMMMessage
      RETURN_IF_ERROR(Octets(alt, ctx, pdu, item.content));
      std::string src, dst;
      Bytes sip;
      if (SplitIpPacket(item.content, src, dst, sip)) {
        item.attributes.emplace_back("ip.src", std::move(src));
        item.attributes.emplace_back("ip.dst", std::move(dst));
        ExtractSip(sip, item);
      } else {
        item.attributes.emplace_back("ipmm.error", "originalIPMMMessage is not IP/UDP or IP/TCP");
      }
      return absl::OkStatus();
    }
    case 1:  // sIPMessage
    case 6:  // iRIOnlySIPMessage
      return DecodeSipMessage(choice, alt, ctx, pdu, item);
    case 2: {  // h323Message: SEQUENCE { src [0], dst [1], h323Content [2] CHOICE }
      item.attributes.emplace_back("ipmm.signalling", "h323");
      if (!alt.tag.constructed) return ber::ErrorAt(alt.offset, "ipmm: H323Message is not constructed");
      ASSIGN_OR_RETURN(ber::Reader fields, choice.Enter(alt));
      while (!fields.AtEnd()) {
        Tlv f;
        RETURN_IF_ERROR(fields.Next(f));
        std::string ip;
        if (f.IsContext(0) || f.IsContext(1)) {
          RETURN_IF_ERROR(DecodeIpAddress(fields, f, ctx, pdu, ip));
          if (!ip.empty()) item.attributes.emplace_back(f.IsContext(0) ? "ip.src" : "ip.dst", std::move(ip));
        } else if (f.IsContext(2) && f.tag.constructed) {
          ASSIGN_OR_RETURN(ber::Reader content, fields.Enter(f));
          if (!content.AtEnd()) {
            Tlv c;
            RETURN_IF_ERROR(content.Next(c));
            RETURN_IF_ERROR(Octets(c, ctx, pdu, item.content));
          }
        } else {
          ++pdu.skipped_unknown;
        }
      }
      return absl::OkStatus();
    }
    case 3:  // nationalIPMMIRIParameters: national content, kept as its encoding
      item.attributes.emplace_back("ipmm.signalling", "national");
      item.content = alt.encoding;
      return absl::OkStatus();
    case 4:  // xCAPMessage (HTTP)
      item.attributes.emplace_back("ipmm.signalling", "xcap");
      return Octets(alt, ctx, pdu, item.content);
    case 7:  // iRIOnlyRTPPacket (telephony events, with IP/UDP headers)
      item.attributes.emplace_back("ipmm.signalling", "rtp-event");
      return Octets(alt, ctx, pdu, item.content);
    default:
      ++pdu.skipped_unknown;
      return absl::OkStatus();
  }
}

// additionalSignalling [3] SEQUENCE OF AdditionalSignalling CHOICE { sipHeaderLine [0], ... }
absl::Status DecodeAdditionalSignalling(const ber::Reader& parent, const Tlv& tlv,
                                        ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  if (!tlv.tag.constructed) {
    return ber::ErrorAt(tlv.offset, "ipmm: additionalSignalling is not constructed");
  }
  ASSIGN_OR_RETURN(ber::Reader lines, parent.Enter(tlv));
  size_t count = 0;
  while (!lines.AtEnd()) {
    Tlv line;
    RETURN_IF_ERROR(lines.Next(line));
    if (!line.IsContext(0)) {
      ++pdu.skipped_unknown;
      continue;
    }
    if (++count > kMaxAdditionalSignalling) continue;
    Bytes text;
    RETURN_IF_ERROR(Octets(line, ctx, pdu, text));
    absl::Status s = sip::ExtractPartiesFromHeaderLine(base::AsString(text), item.parties);
    if (!s.ok()) item.attributes.emplace_back("sip.error", std::string(base::View(s.message())));
  }
  return absl::OkStatus();
}

std::string_view FrameTypeName(int64_t v) {
  static constexpr std::array<std::string_view, 8> kNames = {
      "ipFrame", "udpFrame", "rtpFrame", "audioFrame", "tcpFrame", "artificialRtpFrame",
      "udptlFrame", "msrpFrame"};
  return v >= 0 && v < static_cast<int64_t>(kNames.size()) ? kNames[v] : std::string_view();
}

std::string_view ProtocolName(int64_t v) {
  static constexpr std::array<std::string_view, 3> kNames = {"rtp", "msrp", "udptl"};
  return v >= 0 && v < static_cast<int64_t>(kNames.size()) ? kNames[v] : std::string_view();
}

// An unknown enumeration value (an extension) as its number, without allocating for known ones.
std::string EnumText(std::string_view name, int64_t v) {
  return name.empty() ? base::StrCat(v) : std::string(name);
}

}  // namespace

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kIpmm;
  if (!tlv.tag.constructed) return ber::ErrorAt(tlv.offset, "ipmm: IPMMIRI is not constructed");
  // Our own reader over the IPMMIRI's contents; offsets stay absolute.
  ber::Reader fields(tlv.value, ctx, tlv.offset + (tlv.encoding.size() - tlv.value.size()) -
                                         (tlv.indefinite ? 2 : 0));
  bool have_contents = false;
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0:  // iPMMIRIObjId: RELATIVE-OID (OBJECT IDENTIFIER in the patched module); not needed
        break;
      case 1:
        RETURN_IF_ERROR(DecodeIriContents(fields, f, ctx, pdu, item));
        have_contents = true;
        break;
      case 2:  // targetLocation (TS 102 232-1 Location): not decoded
        item.attributes.emplace_back("ipmm.target_location", "present");
        break;
      case 3:
        RETURN_IF_ERROR(DecodeAdditionalSignalling(fields, f, ctx, pdu, item));
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return ber::ErrorAt(tlv.offset, "ipmm: IPMMIRI without iPMMIRIContents");
  return absl::OkStatus();
}

absl::Status DecodeCc(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kIpmm;
  if (!tlv.tag.constructed) return ber::ErrorAt(tlv.offset, "ipmm: IPMMCC is not constructed");
  ber::Reader fields(tlv.value, ctx, tlv.offset + (tlv.encoding.size() - tlv.value.size()) -
                                         (tlv.indefinite ? 2 : 0));
  bool have_contents = false;
  int64_t frame_type = -1;
  int64_t protocol = -1;
  Bytes stream_id;
  bool have_stream_id = false;
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0:  // iPMMCCObjId: not needed
        break;
      case 1:  // mMCCContents
        RETURN_IF_ERROR(Octets(f, ctx, pdu, item.content));
        have_contents = true;
        break;
      case 2: {  // frameType ENUMERATED
        ASSIGN_OR_RETURN(frame_type, ber::DecodeInteger(f));
        if (frame_type < 0) return ber::ErrorAt(f.offset, "ipmm: negative frameType");
        break;
      }
      case 3:  // streamIdentifier
        RETURN_IF_ERROR(Octets(f, ctx, pdu, stream_id));
        have_stream_id = true;
        break;
      case 4: {  // mMCCprotocol ENUMERATED
        ASSIGN_OR_RETURN(protocol, ber::DecodeInteger(f));
        if (protocol < 0) return ber::ErrorAt(f.offset, "ipmm: negative mMCCprotocol");
        break;
      }
      default:
        ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return ber::ErrorAt(tlv.offset, "ipmm: IPMMCC without mMCCContents");
  // One allocation (the vector) when either enumeration is present; the values fit the
  // short-string buffer.
  size_t n = (frame_type >= 0) + (protocol >= 0) + have_stream_id;
  if (n > 0) {
    item.attributes.reserve(item.attributes.size() + n);
    if (frame_type >= 0) {
      item.attributes.emplace_back("cc.frame_type", EnumText(FrameTypeName(frame_type), frame_type));
    }
    if (protocol >= 0) {
      item.attributes.emplace_back("cc.protocol", EnumText(ProtocolName(protocol), protocol));
    }
    if (have_stream_id) {
      item.attributes.emplace_back("cc.stream_id",
                                   std::string(base::AsString(stream_id.first(std::min<size_t>(stream_id.size(), 256)))));
    }
  }
  return absl::OkStatus();
}

}  // namespace tapvault::proto::ipmm
