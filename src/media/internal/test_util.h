// Test-only helpers of media/: stored records built the way ingest stores them (the raw PS-PDU as
// encoded by the repository's li_ps / ipmm / ipaccess encoders), and small packet builders.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/byte_reader.h"
#include "proto/ipaccess/ipaccess_encode.h"
#include "proto/ipmm/ipmm_encode.h"
#include "proto/li_ps/encode.h"
#include "sim/packets.h"
#include "store/store.h"

namespace tapvault::media::testing {

using Record = store::ContentReader::Record;

inline base::Bytes AsBytes(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

inline Record MakeRecord(const std::vector<std::byte>& pdu, int64_t received_us, uint8_t hi = 1) {
  Record r;
  r.header.type = store::RecordType::kPdu;
  r.header.received_us = received_us;
  r.header.handover = hi;
  r.header.liid = "LIID-MEDIA";
  r.pdu.assign(reinterpret_cast<const char*>(pdu.data()), pdu.size());
  return r;
}

inline proto::PsHeader Header(uint32_t seq, int64_t t_us) {
  proto::PsHeader h;
  h.liid = "LIID-MEDIA";
  h.operator_id = "OP";
  h.network_element_id = "NE";
  h.cin = 77;
  h.sequence_number = seq;
  h.timestamp = base::Timestamp{t_us};
  return h;
}

// A CC record with microsecond timeStamp.
inline Record CcRecord(uint32_t seq, int64_t t_us, proto::Direction direction,
                       proto::li_ps::ContentsWriter contents) {
  return MakeRecord(proto::li_ps::EncodeCcPdu(Header(seq, t_us),
                                              {.direction = direction,
                                               .contents = std::move(contents)},
                                              {.microsecond_timestamp = true}),
                    t_us + 1000);
}

// IPMMCC rtpFrame (as the simulator and OpenLI send it).
inline Record RtpCcRecord(uint32_t seq, int64_t t_us, proto::Direction d,
                          const std::vector<uint8_t>& rtp, int frame_type = 2) {
  return CcRecord(seq, t_us, d, [rtp, frame_type](ber::Writer& w) {
    proto::ipmm::WriteCc(w, {.rtp = AsBytes(rtp), .frame_type = frame_type, .mmcc_protocol = 0});
  });
}

// IPCC carrying an IP packet.
inline Record IpCcRecord(uint32_t seq, int64_t t_us, proto::Direction d,
                         const std::vector<uint8_t>& ip) {
  return CcRecord(seq, t_us, d, [ip](ber::Writer& w) { proto::ipaccess::WriteCc(w, AsBytes(ip)); });
}

inline Record IriRecord(uint32_t seq, int64_t t_us) {
  return MakeRecord(
      proto::li_ps::EncodeIriPdu(Header(seq, t_us),
                                 {.kind = proto::Kind::kIriBegin,
                                  .contents =
                                      [](ber::Writer& w) {
                                        proto::ipmm::WriteIri(
                                            w, {.sip_message = "BYE sip:a@b SIP/2.0\r\n\r\n",
                                                .src_ip = "10.0.0.1",
                                                .dst_ip = "10.0.0.2"});
                                      }}),
      t_us, 0);
}

// IPv6 + UDP (checksum 0: not verified by the parser), with an optional hop-by-hop header.
inline std::vector<uint8_t> UdpIpv6(uint8_t src_last, uint8_t dst_last, uint16_t sport,
                                    uint16_t dport, const std::vector<uint8_t>& payload,
                                    bool hop_by_hop = false) {
  std::vector<uint8_t> udp = {static_cast<uint8_t>(sport >> 8), static_cast<uint8_t>(sport),
                              static_cast<uint8_t>(dport >> 8), static_cast<uint8_t>(dport),
                              static_cast<uint8_t>((payload.size() + 8) >> 8),
                              static_cast<uint8_t>(payload.size() + 8), 0, 0};
  udp.insert(udp.end(), payload.begin(), payload.end());
  std::vector<uint8_t> ext;
  if (hop_by_hop) ext = {17, 0, 1, 4, 0, 0, 0, 0};  // next UDP, 8 octets, PadN
  const size_t plen = ext.size() + udp.size();
  std::vector<uint8_t> ip = {0x60, 0, 0, 0, static_cast<uint8_t>(plen >> 8),
                             static_cast<uint8_t>(plen), static_cast<uint8_t>(hop_by_hop ? 0 : 17),
                             64};
  for (int side = 0; side < 2; ++side) {
    const uint8_t addr[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                              side == 0 ? src_last : dst_last};
    ip.insert(ip.end(), addr, addr + 16);
  }
  ip.insert(ip.end(), ext.begin(), ext.end());
  ip.insert(ip.end(), udp.begin(), udp.end());
  return ip;
}

}  // namespace tapvault::media::testing
