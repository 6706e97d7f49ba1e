// TS 102 232-3 IPAccessPDU (version18): IPIRI (target identity, addresses, session events) and
// IPCC (IP packets). The encoder for the simulator is in ipaccess_encode.h.
//
// Decoders take the context-tagged element of LI-PS-PDU that carries this module
// (IRIContents [2] iPIRI, [3] iPIRIOnly, [20] iPIRIPacketReport; CCContents [2] iPCC), with its
// IMPLICIT tag as read, and fill one PayloadItem. Views in the item point into the frame or into
// pdu.owned. Unknown extensions and CHOICE alternatives are
// skipped and counted in pdu.skipped_unknown. Errors: InvalidArgument / OutOfRange /
// ResourceExhausted from the BER layer, with the offset. Thread-compatible (no shared state).
//
// What DecodeIri fills (item.content = the contents octets of the element):
//   IPIRI: "ip.event" (AccessEventType name, e.g. accessAttempt, accessEnd,
//   startOfInterceptionWithSessionActive), "ip.username" (also a Party with role kTarget when
//   non-empty), "ip.access_type", "ip.version" (ipv4, ipv6, ipv4v6), "ip.target" (dotted IPv4,
//   RFC 5952 IPv6, or the text address as sent), "ip.target_prefix" (from iPv6PrefixLength or a
//   contiguous iPv4SubnetMask), "ip.additional_ip"/"ip.additional_prefix", "ip.other_target",
//   "ip.pop_id", "ip.pop_ip", "ip.network_id", "ip.cpe_id", "ip.location", "ip.pop_port",
//   "ip.callback_number", "ip.pop_phone", "ip.pop_port_id", "ip.framed_route", "ip.start_time",
//   "ip.end_time", "ip.expected_end_time" (RFC 3339), "ip.end_reason", "ip.auth_type",
//   "ip.octets_received", "ip.octets_transmitted".
//   IPIRIOnly: "ip.report" = iriOnly, "ip.src", "ip.dst", "ip.protocol", "ip.src_port",
//   "ip.dst_port", "ip.packets", "ip.bytes". IPIRIPacketReport: "ip.report" = header|summary,
//   "ip.src"/"ip.dst" (from the reported IP header), "ip.trigger", "ip.packets", "ip.bytes",
//   "ip.first_time", "ip.last_time".
// DecodeCc: item.content = the IP packet (iPPackets, or iPTruncatedPacket's truncatedPacket with
// "ip.original_length"); a view into the frame, no allocation unless the packet is segmented.
#pragma once

#include "absl/status/status.h"
#include "ber/reader.h"
#include "proto/record/record.h"

namespace tapvault::proto::ipaccess {

absl::Status DecodeIri(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);
absl::Status DecodeCc(const ber::Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item);

}  // namespace tapvault::proto::ipaccess
