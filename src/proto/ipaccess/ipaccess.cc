// TS 102 232-3 IPAccessPDU decoder (module version18; DEFINITIONS IMPLICIT TAGS). The IPAddress
// type is LI-PS-PDU's (TS 102 232-1): SEQUENCE { iP-type [1], iP-value [2] IP-value (a CHOICE,
// so explicitly tagged), iP-assignment [3], ..., iPv6PrefixLength [4], iPv4SubnetMask [5],
// iP-NAT-translated [6] }.
//
// The CC path (DecodeCc) allocates nothing unless the packet comes as a BER-segmented string.
#include "proto/ipaccess/ipaccess.h"

#include "proto/record/field.h"

#include <arpa/inet.h>

#include <bit>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "base/hex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"

namespace tapvault::proto::ipaccess {
namespace {

using ber::Tlv;

absl::Status Error(const Tlv& tlv, std::string_view what) {
  return ber::ErrorAt(tlv.offset, base::StrCat("ipaccess: ", what));
}

// Depth at which LI-PS-PDU hands us the service element: PS-PDU, payload, iRIPayloadSequence,
// IRIPayload, iRIContents, the alternative (the BER depth limit counts from here).
constexpr int kServiceElementDepth = 6;

// A reader over the children of `tlv` (REQUIRES: tlv.tag.constructed), with offsets relative to
// the frame like the caller's reader.
ber::Reader Children(const Tlv& tlv, ber::Context& ctx) {
  const size_t header = tlv.encoding.size() - tlv.value.size() - (tlv.indefinite ? 2 : 0);
  return ber::Reader(tlv.value, ctx, tlv.offset + header, kServiceElementDepth);
}

absl::Status ReadText(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, std::string_view& out) {
  ASSIGN_OR_RETURN(Bytes octets, FieldOctets(tlv, ctx, pdu));
  out = base::AsString(octets);
  return absl::OkStatus();
}

std::string EnumText(int64_t v, std::initializer_list<std::string_view> names, int64_t first = 0) {
  const int64_t i = v - first;
  if (i < 0 || i >= static_cast<int64_t>(names.size())) return base::StrCat(v);
  return std::string(names.begin()[i]);
}

absl::Status AddEnum(const Tlv& f, PayloadItem& item, std::string_view key,
                     std::initializer_list<std::string_view> names, int64_t first = 0) {
  ASSIGN_OR_RETURN(int64_t v, ber::DecodeInteger(f));
  item.attributes.emplace_back(key, EnumText(v, names, first));
  return absl::OkStatus();
}

absl::Status AddText(const Tlv& f, ber::Context& ctx, PsPdu& pdu, PayloadItem& item,
                     std::string_view key) {
  std::string_view s;
  RETURN_IF_ERROR(ReadText(f, ctx, pdu, s));
  item.attributes.emplace_back(key, std::string(s));
  return absl::OkStatus();
}

absl::Status AddUnsigned(const Tlv& f, PayloadItem& item, std::string_view key) {
  ASSIGN_OR_RETURN(uint64_t v, ber::DecodeUnsigned(f));
  item.attributes.emplace_back(key, base::StrCat(v));
  return absl::OkStatus();
}

absl::Status AddTime(const Tlv& f, ber::Context& ctx, PsPdu& pdu, PayloadItem& item,
                     std::string_view key) {
  std::string_view s;
  RETURN_IF_ERROR(ReadText(f, ctx, pdu, s));
  absl::StatusOr<base::Timestamp> t = base::ParseGeneralizedTime(s);
  if (!t.ok()) return Error(f, "bad GeneralizedTime");
  item.attributes.emplace_back(key, base::FormatRfc3339(*t));
  return absl::OkStatus();
}

// Binary address octets as text: dotted IPv4, RFC 5952 IPv6, else hex.
std::string AddressText(Bytes b) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (b.size() == 4 && inet_ntop(AF_INET, b.data(), buf, sizeof buf)) return buf;
  if (b.size() == 16 && inet_ntop(AF_INET6, b.data(), buf, sizeof buf)) return buf;
  return base::ToHex(b);
}

// Reads an LI-PS-PDU IPAddress. `prefix` is -1 when neither iPv6PrefixLength nor a contiguous
// iPv4SubnetMask is given.
absl::Status ReadIpAddress(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx, PsPdu& pdu,
                           std::string& text, int& prefix) {
  if (!tlv.tag.constructed) return Error(tlv, "IPAddress is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  bool have_value = false;
  prefix = -1;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(2) && f.tag.constructed) {  // iP-value [2] IP-value (CHOICE)
      ASSIGN_OR_RETURN(ber::Reader v, r.Enter(f));
      if (v.AtEnd()) return Error(f, "empty iP-value");
      Tlv a;
      RETURN_IF_ERROR(v.Next(a));
      std::string_view s;
      RETURN_IF_ERROR(ReadText(a, ctx, pdu, s));
      if (a.IsContext(1)) {  // iPBinaryAddress OCTET STRING (SIZE(4..16))
        text = AddressText(base::AsBytes(s));
      } else if (a.IsContext(2)) {  // iPTextAddress IA5String
        text = std::string(s);
      } else {
        ++pdu.skipped_unknown;
        continue;
      }
      have_value = true;
    } else if (f.IsContext(4)) {  // iPv6PrefixLength
      ASSIGN_OR_RETURN(uint64_t p, ber::DecodeUnsigned(f));
      if (p <= 128) prefix = static_cast<int>(p);
    } else if (f.IsContext(5)) {  // iPv4SubnetMask OCTET STRING (SIZE(4))
      std::string_view m;
      RETURN_IF_ERROR(ReadText(f, ctx, pdu, m));
      if (m.size() == 4) {
        uint32_t mask = 0;
        for (char c : m) mask = (mask << 8) | static_cast<uint8_t>(c);
        const int ones = std::countl_one(mask);
        if (ones == 32 || (mask << ones) == 0) prefix = ones;  // contiguous masks only
      }
    } else if (f.IsContext(1) || f.IsContext(3) || f.IsContext(6)) {
      // iP-type, iP-assignment, iP-NAT-translated: the text form already says it all
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_value) return Error(tlv, "IPAddress without iP-value");
  return absl::OkStatus();
}

absl::Status AddIpAddress(const ber::Reader& parent, const Tlv& f, ber::Context& ctx, PsPdu& pdu,
                          PayloadItem& item, std::string_view key, std::string_view prefix_key) {
  std::string text;
  int prefix = -1;
  RETURN_IF_ERROR(ReadIpAddress(parent, f, ctx, pdu, text, prefix));
  item.attributes.emplace_back(key, std::move(text));
  if (prefix >= 0 && !prefix_key.empty()) {
    item.attributes.emplace_back(prefix_key, base::StrCat(prefix));
  }
  return absl::OkStatus();
}

// IPIRIIDType ::= CHOICE { printableIDType [0] UTF8String, macAddressType [1] OCTET STRING (6),
// ipAddressType [2] IPAddress, ... } (explicitly tagged where used: pOPIdentifier [18])
absl::Status AddPopIdentifier(const ber::Reader& parent, const Tlv& f, ber::Context& ctx,
                              PsPdu& pdu, PayloadItem& item) {
  if (!f.tag.constructed) return Error(f, "pOPIdentifier is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(f));
  if (r.AtEnd()) return Error(f, "empty pOPIdentifier");
  Tlv a;
  RETURN_IF_ERROR(r.Next(a));
  if (a.IsContext(0)) return AddText(a, ctx, pdu, item, "ip.pop_id");
  if (a.IsContext(1)) {
    std::string_view mac;
    RETURN_IF_ERROR(ReadText(a, ctx, pdu, mac));
    std::string text;
    for (size_t i = 0; i < mac.size(); ++i) {
      if (i) text.push_back(':');
      text += base::ToHex(base::AsBytes(mac.substr(i, 1)));
    }
    item.attributes.emplace_back("ip.pop_id", std::move(text));
    return absl::OkStatus();
  }
  if (a.IsContext(2)) return AddIpAddress(r, a, ctx, pdu, item, "ip.pop_id", {});
  ++pdu.skipped_unknown;
  return absl::OkStatus();
}

// IPIRIContents (clause 7 / A.1 of TS 102 232-3).
absl::Status DecodeIpIriContents(const ber::Reader& parent, const Tlv& tlv, ber::Context& ctx,
                                 PsPdu& pdu, PayloadItem& item) {
  if (!tlv.tag.constructed) return Error(tlv, "iPIRIContents is not constructed");
  ASSIGN_OR_RETURN(ber::Reader r, parent.Enter(tlv));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0:
        RETURN_IF_ERROR(AddEnum(
            f, item, "ip.event",
            {"accessAttempt", "accessAccept", "accessReject", "accessFailed", "sessionStart",
             "sessionEnd", "interimUpdate", "startOfInterceptionWithSessionActive", "accessEnd",
             "endOfInterceptionWithSessionActive", "unknown"}));
        break;
      case 1: {  // targetUsername: the target's identity at the access provider
        std::string_view user;
        RETURN_IF_ERROR(ReadText(f, ctx, pdu, user));
        item.attributes.emplace_back("ip.username", std::string(user));
        if (!user.empty()) {
          item.parties.push_back(Party{.role = PartyRole::kTarget, .id = std::string(user)});
        }
        break;
      }
      case 2:
        RETURN_IF_ERROR(AddEnum(f, item, "ip.access_type",
                                {"undefined", "dialUp", "xDSL", "cableModem", "lAN", "wirelessLAN",
                                 "fTTx", "wIMAX-HIPERMAN", "satellite", "wireless-other"}));
        break;
      case 3:
        RETURN_IF_ERROR(AddEnum(f, item, "ip.version", {"ipv4", "ipv6", "ipv4v6"}, 1));
        break;
      case 4:
        RETURN_IF_ERROR(AddIpAddress(r, f, ctx, pdu, item, "ip.target", "ip.target_prefix"));
        break;
      case 5:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.network_id"));
        break;
      case 6:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.cpe_id"));
        break;
      case 7:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.location"));
        break;
      case 8:
        RETURN_IF_ERROR(AddUnsigned(f, item, "ip.pop_port"));
        break;
      case 9:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.callback_number"));
        break;
      case 10:
        RETURN_IF_ERROR(AddTime(f, ctx, pdu, item, "ip.start_time"));
        break;
      case 11:
        RETURN_IF_ERROR(AddTime(f, ctx, pdu, item, "ip.end_time"));
        break;
      case 12:
        RETURN_IF_ERROR(AddEnum(
            f, item, "ip.end_reason",
            {"undefined", "regularLogoff", "connectionLoss", "connectionTimeout", "leaseExpired"}));
        break;
      case 13:
        RETURN_IF_ERROR(AddUnsigned(f, item, "ip.octets_received"));
        break;
      case 14:
        RETURN_IF_ERROR(AddUnsigned(f, item, "ip.octets_transmitted"));
        break;
      case 15:
        break;  // rawAAAData: opaque
      case 16:
        RETURN_IF_ERROR(AddTime(f, ctx, pdu, item, "ip.expected_end_time"));
        break;
      case 17:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.pop_phone"));
        break;
      case 18:
        RETURN_IF_ERROR(AddPopIdentifier(r, f, ctx, pdu, item));
        break;
      case 19:
        RETURN_IF_ERROR(AddIpAddress(r, f, ctx, pdu, item, "ip.pop_ip", {}));
        break;
      case 20:
        break;  // nationalIPIRIParameters
      case 21:
        RETURN_IF_ERROR(
            AddIpAddress(r, f, ctx, pdu, item, "ip.additional_ip", "ip.additional_prefix"));
        break;
      case 22:
        RETURN_IF_ERROR(AddEnum(f, item, "ip.auth_type",
                                {"unknown", "static", "radiusAAA", "dhcpAAA", "diameterAAA"}));
        break;
      case 23: {  // otherTargetIdentifiers SEQUENCE OF CHOICE { iPAddress [0] IPAddress, ... }
        if (!f.tag.constructed) return Error(f, "otherTargetIdentifiers is not constructed");
        ASSIGN_OR_RETURN(ber::Reader o, r.Enter(f));
        while (!o.AtEnd()) {
          Tlv id;
          RETURN_IF_ERROR(o.Next(id));
          if (id.IsContext(0)) {
            RETURN_IF_ERROR(AddIpAddress(o, id, ctx, pdu, item, "ip.other_target", {}));
          } else {
            ++pdu.skipped_unknown;
          }
        }
        break;
      }
      case 24:
        break;  // location (LI-PS-PDU Location): not part of the record model yet
      case 25:
        RETURN_IF_ERROR(AddText(f, ctx, pdu, item, "ip.pop_port_id"));
        break;
      case 26: {  // framedRoutes SEQUENCE OF CHOICE { framedRoute [0] OCTET STRING, ... }
        if (!f.tag.constructed) return Error(f, "framedRoutes is not constructed");
        ASSIGN_OR_RETURN(ber::Reader o, r.Enter(f));
        while (!o.AtEnd()) {
          Tlv route;
          RETURN_IF_ERROR(o.Next(route));
          if (route.IsContext(0)) {
            RETURN_IF_ERROR(AddText(route, ctx, pdu, item, "ip.framed_route"));
          } else {
            ++pdu.skipped_unknown;
          }
        }
        break;
      }
      default:
        ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// Addresses out of raw IPv4 / IPv6 header octets (IPIRIPacketReport header).
void AddPacketHeaderAddresses(Bytes h, PayloadItem& item) {
  if (h.empty()) return;
  const int version = static_cast<uint8_t>(h[0]) >> 4;
  if (version == 4 && h.size() >= 20) {
    item.attributes.emplace_back("ip.src", AddressText(h.subspan(12, 4)));
    item.attributes.emplace_back("ip.dst", AddressText(h.subspan(16, 4)));
  } else if (version == 6 && h.size() >= 40) {
    item.attributes.emplace_back("ip.src", AddressText(h.subspan(8, 16)));
    item.attributes.emplace_back("ip.dst", AddressText(h.subspan(24, 16)));
  }
}

uint32_t Port(std::string_view two) {
  return two.size() == 2 ? (static_cast<uint32_t>(static_cast<uint8_t>(two[0])) << 8) |
                               static_cast<uint8_t>(two[1])
                         : 0;
}

// IPIRIOnly ::= SEQUENCE { iPIRIOnlyObjId [0], iPInformation [1] CHOICE, protocolInformation [2]
// CHOICE, iPAggregatedNbrOfPackets [3], iPAggregatedNbrOfBytes [4], ..., pDSRInformation [5] }
absl::Status DecodeIpIriOnly(ber::Reader& fields, PsPdu& pdu, ber::Context& ctx,
                             PayloadItem& item) {
  item.attributes.emplace_back("ip.report", "iriOnly");
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.IsContext(0)) continue;  // iPIRIOnlyObjId
    if ((f.IsContext(1) || f.IsContext(2)) && f.tag.constructed) {
      ASSIGN_OR_RETURN(ber::Reader choice, fields.Enter(f));
      if (choice.AtEnd()) return Error(f, "empty CHOICE");
      Tlv alt;
      RETURN_IF_ERROR(choice.Next(alt));
      if (f.IsContext(2) && alt.IsContext(0)) {
        item.attributes.emplace_back("ip.protocol", "none");
        continue;
      }
      // IPv4Information: source [8], destination [9]; IPv6Information: source [5], destination
      // [6]; TCPInformation / UDPInformation: sourcePort [0], destinationPort [1].
      const bool ip = f.IsContext(1);
      uint32_t src_tag, dst_tag;
      if (ip && alt.IsContext(0)) {
        src_tag = 8, dst_tag = 9;
      } else if (ip && alt.IsContext(1)) {
        src_tag = 5, dst_tag = 6;
      } else if (!ip && (alt.IsContext(1) || alt.IsContext(2))) {
        item.attributes.emplace_back("ip.protocol", alt.IsContext(1) ? "tcp" : "udp");
        src_tag = 0, dst_tag = 1;
      } else {
        ++pdu.skipped_unknown;
        continue;
      }
      if (!alt.tag.constructed) return Error(alt, "IP/protocol information is not constructed");
      ASSIGN_OR_RETURN(ber::Reader info, choice.Enter(alt));
      while (!info.AtEnd()) {
        Tlv g;
        RETURN_IF_ERROR(info.Next(g));
        if (!g.IsContext(src_tag) && !g.IsContext(dst_tag)) continue;
        std::string_view v;
        RETURN_IF_ERROR(ReadText(g, ctx, pdu, v));
        const bool src = g.IsContext(src_tag);
        if (ip) {
          item.attributes.emplace_back(src ? "ip.src" : "ip.dst", AddressText(base::AsBytes(v)));
        } else {
          item.attributes.emplace_back(src ? "ip.src_port" : "ip.dst_port", base::StrCat(Port(v)));
        }
      }
    } else if (f.IsContext(3)) {
      RETURN_IF_ERROR(AddUnsigned(f, item, "ip.packets"));
    } else if (f.IsContext(4)) {
      RETURN_IF_ERROR(AddUnsigned(f, item, "ip.bytes"));
    } else if (f.IsContext(5)) {
      // pDSRInformation: superseded by IPIRIPacketReport
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

// IPIRIPacketReport ::= SEQUENCE { objId [0], report [1] PacketReport (CHOICE { header [1]
// PacketReportHeader, summary [2] PacketReportSummary, ... }), ... }
absl::Status DecodeIpIriPacketReport(ber::Reader& fields, PsPdu& pdu, ber::Context& ctx,
                                     PayloadItem& item) {
  while (!fields.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.IsContext(0)) continue;
    if (!(f.IsContext(1) && f.tag.constructed)) {
      ++pdu.skipped_unknown;
      continue;
    }
    ASSIGN_OR_RETURN(ber::Reader choice, fields.Enter(f));
    if (choice.AtEnd()) return Error(f, "empty PacketReport");
    Tlv alt;
    RETURN_IF_ERROR(choice.Next(alt));
    if (!(alt.IsContext(1) || alt.IsContext(2)) || !alt.tag.constructed) {
      ++pdu.skipped_unknown;
      continue;
    }
    const bool summary = alt.IsContext(2);
    item.attributes.emplace_back("ip.report", summary ? "summary" : "header");
    ASSIGN_OR_RETURN(ber::Reader rep, choice.Enter(alt));
    while (!rep.AtEnd()) {
      Tlv g;
      RETURN_IF_ERROR(rep.Next(g));
      if (g.IsContext(1)) {  // header OCTET STRING: the packet's IP (and L4) header
        std::string_view h;
        RETURN_IF_ERROR(ReadText(g, ctx, pdu, h));
        AddPacketHeaderAddresses(base::AsBytes(h), item);
      } else if (summary && g.IsContext(3)) {
        RETURN_IF_ERROR(AddEnum(g, item, "ip.trigger",
                                {"flowStart", "flowEnd", "flowTimeout", "flowTimerExpiration",
                                 "flowPacketCount", "flowByteCount", "sessionTimerExpiration",
                                 "sessionPacketCount", "sessionByteCount", "reportEnd"},
                                1));
      } else if (summary && g.IsContext(4)) {
        RETURN_IF_ERROR(AddUnsigned(g, item, "ip.packets"));
      } else if (summary && g.IsContext(5)) {
        RETURN_IF_ERROR(AddUnsigned(g, item, "ip.bytes"));
      } else if (summary && g.IsContext(6)) {
        RETURN_IF_ERROR(AddTime(g, ctx, pdu, item, "ip.first_time"));
      } else if (summary && g.IsContext(7)) {
        RETURN_IF_ERROR(AddTime(g, ctx, pdu, item, "ip.last_time"));
      } else if (summary && g.IsContext(2)) {
        // indications BIT STRING: which header fields were zeroed
      } else {
        ++pdu.skipped_unknown;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kIpAccess;
  item.content = tlv.value;
  if (!tlv.tag.constructed) return Error(tlv, "IPAccess IRI is not constructed");
  ber::Reader r = Children(tlv, ctx);
  if (tlv.IsContext(3)) return DecodeIpIriOnly(r, pdu, ctx, item);
  if (tlv.IsContext(20)) return DecodeIpIriPacketReport(r, pdu, ctx, item);

  // IPIRI ::= SEQUENCE { iPIRIObjId [0] RELATIVE-OID, iPIRIContents [1] IPIRIContents, ... }
  bool have_contents = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) continue;  // iPIRIObjId (RELATIVE-OID): the module version
    if (f.IsContext(1)) {
      RETURN_IF_ERROR(DecodeIpIriContents(r, f, ctx, pdu, item));
      have_contents = true;
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return Error(tlv, "IPIRI without iPIRIContents");
  return absl::OkStatus();
}

absl::Status DecodeCc(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kIpAccess;
  if (!tlv.tag.constructed) return Error(tlv, "IPCC is not constructed");
  ber::Reader r = Children(tlv, ctx);
  // IPCC ::= SEQUENCE { iPCCObjId [0] RELATIVE-OID, iPCCContents [1] IPCCContents }
  bool have_contents = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) continue;  // iPCCObjId
    if (!f.IsContext(1)) {
      ++pdu.skipped_unknown;
      continue;
    }
    // iPCCContents [1] IPCCContents: a CHOICE, so explicitly tagged.
    if (!f.tag.constructed) return Error(f, "iPCCContents is not constructed");
    ASSIGN_OR_RETURN(ber::Reader choice, r.Enter(f));
    if (choice.AtEnd()) return Error(f, "empty iPCCContents");
    Tlv alt;
    RETURN_IF_ERROR(choice.Next(alt));
    if (alt.IsContext(0)) {  // iPPackets OCTET STRING
      std::string_view packet;
      RETURN_IF_ERROR(ReadText(alt, ctx, pdu, packet));
      item.content = base::AsBytes(packet);
    } else if (alt.IsContext(1) && alt.tag.constructed) {
      // iPTruncatedPacket ::= SEQUENCE { truncatedPacket [0], originalLength [1] OPTIONAL }
      ASSIGN_OR_RETURN(ber::Reader t, choice.Enter(alt));
      while (!t.AtEnd()) {
        Tlv g;
        RETURN_IF_ERROR(t.Next(g));
        if (g.IsContext(0)) {
          std::string_view packet;
          RETURN_IF_ERROR(ReadText(g, ctx, pdu, packet));
          item.content = base::AsBytes(packet);
        } else if (g.IsContext(1)) {
          RETURN_IF_ERROR(AddUnsigned(g, item, "ip.original_length"));
        } else {
          ++pdu.skipped_unknown;
        }
      }
    } else {
      ++pdu.skipped_unknown;
    }
    have_contents = true;
  }
  if (!have_contents) return Error(tlv, "IPCC without iPCCContents");
  return absl::OkStatus();
}

}  // namespace tapvault::proto::ipaccess
