// Encoder of TS 102 232-3 IPAccessPDU elements as they sit inside an LI-PS-PDU, for the handover
// simulator (`tapvault feed`) and tests: the IRIContents [2] iPIRI and CCContents [2] iPCC
// alternatives, written with li_ps::EncodeIriPdu / EncodeCcPdu's contents callback.
//
//   li_ps::EncodeIriPdu(header, {.kind = proto::Kind::kIriBegin,
//       .contents = [&](ber::Writer& w) {
//         ipaccess::WriteIri(w, {.event = ipaccess::AccessEvent::kAccessAccept,
//                                .target_username = "alice", .target_ip = "192.168.50.5"});
//       }});
//
// Thread-compatible (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/time.h"
#include "ber/writer.h"

namespace tapvault::proto::ipaccess {

// IPIRIContents accessEventType [0] (TS 102 232-3 AccessEventType).
enum class AccessEvent : uint8_t {
  kAccessAttempt = 0,
  kAccessAccept = 1,
  kAccessReject = 2,
  kAccessFailed = 3,
  kSessionStart = 4,
  kSessionEnd = 5,
  kInterimUpdate = 6,
  kStartOfInterceptionWithSessionActive = 7,
  kAccessEnd = 8,
  kEndOfInterceptionWithSessionActive = 9,
  kUnknown = 10,
};

// IPIRIContents internetAccessType [2].
enum class InternetAccessType : uint8_t {
  kUndefined = 0,
  kDialUp = 1,
  kXDsl = 2,
  kCableModem = 3,
  kLan = 4,
  kWirelessLan = 5,
  kFttx = 6,
  kWimax = 7,
  kSatellite = 8,
  kWirelessOther = 9,
};

// IPIRIContents iPVersion [3].
enum class IpVersion : uint8_t { kV4 = 1, kV6 = 2, kV4AndV6 = 3 };

struct IpIriSpec {
  AccessEvent event = AccessEvent::kAccessAccept;
  std::string_view target_username;  // targetUsername [1] (mandatory; may be "")
  InternetAccessType access_type = InternetAccessType::kUndefined;
  IpVersion ip_version = IpVersion::kV4;
  // targetIPAddress [4] / additionalIPAddress [21] / pOPIPAddress [19]: dotted IPv4 or IPv6 text,
  // written as binary (iPBinaryAddress) when it parses, else as iPTextAddress; "" = absent.
  std::string_view target_ip;
  uint8_t target_prefix_len = 0;  // iP-assignment/subnet-mask omitted when 0
  std::string_view additional_ip;
  std::string_view pop_ip;
  std::string_view pop_identifier;             // pOPIdentifier [18] printableIDType; "" = absent
  std::string_view target_network_id;          // targetNetworkID [5]; "" = absent
  std::optional<base::Timestamp> start_time;   // startTime [10]
  std::optional<base::Timestamp> end_time;     // endTime [11]
  std::optional<uint8_t> end_reason;           // endReason [12]
  std::optional<uint64_t> octets_received;     // octetsReceived [13]
  std::optional<uint64_t> octets_transmitted;  // octetsTransmitted [14]
};

// Writes IRIContents [2] iPIRI (IPIRI ::= SEQUENCE {iPIRIObjId, iPIRIContents}).
void WriteIri(ber::Writer& w, const IpIriSpec& spec);
// Writes CCContents [2] iPCC (IPCC ::= SEQUENCE {iPCCObjId, iPCCContents [1] IPCCContents}).
void WriteCc(ber::Writer& w, base::Bytes ip_packet);

}  // namespace tapvault::proto::ipaccess
