#include "proto/ipaccess/ipaccess_encode.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <string>

namespace tapvault::proto::ipaccess {
namespace {

using ber::Ctx;

// iPAccessPDUObjId ::= {li-ps(5) iPAccess(3) version18(18)}; IRI(1), CC(2). RELATIVE-OIDs.
constexpr std::array<uint64_t, 4> kIpIriObjId = {5, 3, 18, 1};
constexpr std::array<uint64_t, 4> kIpCcObjId = {5, 3, 18, 2};

// LI-PS-PDU IPAddress: binary when the text parses as IPv4/IPv6, else iPTextAddress.
// `prefix_len` (0 = none): iPv4SubnetMask for IPv4, iPv6PrefixLength for IPv6.
void WriteIpAddress(ber::Writer& w, ber::Tag tag, std::string_view text, uint8_t prefix_len) {
  const std::string s(text);
  unsigned char bin[16];
  int type;  // iP-type: iPV4(0), iPV6(1)
  size_t bin_len = 0;
  if (inet_pton(AF_INET, s.c_str(), bin) == 1) {
    type = 0;
    bin_len = 4;
  } else if (inet_pton(AF_INET6, s.c_str(), bin) == 1) {
    type = 1;
    bin_len = 16;
  } else {
    type = s.find(':') != std::string::npos ? 1 : 0;
  }
  w.Begin(tag);
  w.AddInteger(Ctx(1), type);
  w.Begin(Ctx(2, true));  // iP-value [2] (explicit: IP-value is a CHOICE)
  if (bin_len) {
    w.AddPrimitive(Ctx(1), base::Bytes(reinterpret_cast<const std::byte*>(bin), bin_len));
  } else {
    w.AddOctets(Ctx(2), text);
  }
  w.End();
  if (prefix_len != 0) {
    if (type == 1) {
      w.AddInteger(Ctx(4), prefix_len > 128 ? 128 : prefix_len);
    } else {
      const int bits = prefix_len > 32 ? 32 : prefix_len;
      const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
      const std::byte m[4] = {std::byte(mask >> 24), std::byte(mask >> 16), std::byte(mask >> 8),
                              std::byte(mask)};
      w.AddPrimitive(Ctx(5), base::Bytes(m, 4));
    }
  }
  w.End();
}

}  // namespace

void WriteIri(ber::Writer& w, const IpIriSpec& spec) {
  w.Begin(Ctx(2, true));  // IRIContents iPIRI [2] IPIRI
  w.AddOid(Ctx(0), kIpIriObjId, /*relative=*/true);
  w.Begin(Ctx(1, true));  // iPIRIContents
  w.AddInteger(Ctx(0), static_cast<int64_t>(spec.event));
  w.AddOctets(Ctx(1), spec.target_username);
  w.AddInteger(Ctx(2), static_cast<int64_t>(spec.access_type));
  w.AddInteger(Ctx(3), static_cast<int64_t>(spec.ip_version));
  if (!spec.target_ip.empty()) {
    WriteIpAddress(w, Ctx(4, true), spec.target_ip, spec.target_prefix_len);
  }
  if (!spec.target_network_id.empty()) w.AddOctets(Ctx(5), spec.target_network_id);
  if (spec.start_time) w.AddOctets(Ctx(10), base::FormatGeneralizedTime(*spec.start_time));
  if (spec.end_time) w.AddOctets(Ctx(11), base::FormatGeneralizedTime(*spec.end_time));
  if (spec.end_reason) w.AddInteger(Ctx(12), *spec.end_reason);
  if (spec.octets_received) w.AddUnsigned(Ctx(13), *spec.octets_received);
  if (spec.octets_transmitted) w.AddUnsigned(Ctx(14), *spec.octets_transmitted);
  if (!spec.pop_identifier.empty()) {
    w.Begin(Ctx(18, true));  // pOPIdentifier [18] IPIRIIDType (CHOICE: explicit)
    w.AddOctets(Ctx(0), spec.pop_identifier);
    w.End();
  }
  if (!spec.pop_ip.empty()) WriteIpAddress(w, Ctx(19, true), spec.pop_ip, 0);
  if (!spec.additional_ip.empty()) WriteIpAddress(w, Ctx(21, true), spec.additional_ip, 0);
  w.End();
  w.End();
}

void WriteCc(ber::Writer& w, base::Bytes ip_packet) {
  w.Begin(Ctx(2, true));  // CCContents iPCC [2] IPCC
  w.AddOid(Ctx(0), kIpCcObjId, /*relative=*/true);
  w.Begin(Ctx(1, true));              // iPCCContents [1] (explicit: IPCCContents is a CHOICE)
  w.AddPrimitive(Ctx(0), ip_packet);  // iPPackets
  w.End();
  w.End();
}

}  // namespace tapvault::proto::ipaccess
