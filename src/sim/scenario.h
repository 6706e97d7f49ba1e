// A handover scenario for `tapvault feed`: the warrants (LIIDs) and an ordered list of events
// (SIP calls, PSTN calls, IP sessions, keep-alives, reconnects with a resend window, malformed
// records). The TOML format is documented in docs/formats/scenario.md.
//
//   ASSIGN_OR_RETURN(sim::Scenario s, sim::LoadScenario("examples/demo.toml"));
//   for (const sim::Event& e : s.events) { ... }
//
// Errors are InvalidArgument naming the file and line ("demo.toml:12: ..."). Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "base/time.h"
#include "ber/writer.h"
#include "proto/hi2ops/hi2ops_encode.h"
#include "proto/record/record.h"
#include "sim/g711.h"

namespace tapvault::sim {

enum class Channel : uint8_t { kHi2 = 0, kHi3 = 1 };
std::string_view ChannelName(Channel c);

// Encoding habits that can be set for the whole scenario and overridden per event.
struct Encoding {
  ber::LengthForm length_form = ber::LengthForm::kLong3;  // OpenLI's habit by default
  bool microsecond_timestamp = false;                     // microSecondTimeStamp vs GeneralizedTime
};

struct Warrant {
  std::string liid;
  std::string operator_id;
  std::string network_element;
  std::string country;     // authorizationCountryCode / deliveryCountryCode (ISO 3166 alpha-2)
  std::string target;      // the intercepted identity (documentation; calls name the parties)
};

// Fields every communication has.
struct CommonFields {
  std::string liid;                  // must name a [[warrant]]
  std::optional<uint32_t> cin;       // default: a 32-bit hash of the call id, stable per call
  double gap_s = 1.0;                // starts this long after the previous event ended
  Encoding encoding;
  // Fault injection.
  bool cc_before_iri = false;        // the first CC PDUs go out before the first IRI
  uint32_t seq_gap_after = 0;        // after this many IRI and CC PDUs of the call...
  uint32_t seq_gap = 0;              // ...skip this many sequence numbers (0 = no gap)
};

// "outgoing": the target is the caller; "incoming": the target is the callee.
enum class CallDirection : uint8_t { kOutgoing, kIncoming };

struct SipCall {
  CommonFields common;
  std::string call_id;               // default: generated
  std::string domain = "ims.example.net";
  std::string caller, callee;        // URIs or numbers
  std::string caller_display;
  CallDirection direction = CallDirection::kOutgoing;
  double duration_s = 2.0;
  Codec codec = Codec::kPcmu;
  uint32_t packets = 0;              // RTP packets per direction; 0 = duration_s * 50
  bool clir = false;
  std::string p_asserted_identity, p_preferred_identity;
  std::string forwarded_to;          // Diversion + History-Info
  std::string forward_reason = "unconditional";
  std::string transfer_to;           // REFER from the callee
  std::vector<std::string> conference; // members added through the focus (the callee)
  std::string caller_ip = "10.1.0.10", callee_ip = "10.2.0.20";
  // CC form: false = IPMMCC carrying the RTP packet (TS 102 232-5, as OpenLI); true = IPCC
  // carrying the whole IPv4/UDP/RTP packet (TS 102 232-3).
  bool media_as_ip = false;
};

struct PstnParty {
  std::string number;                // digits; a leading '+' means international
  proto::NumberNature nature = proto::NumberNature::kNotGiven;  // kNotGiven: from the notation
  proto::hi2ops::NumberFormat format = proto::hi2ops::NumberFormat::kIsup;
};

struct PstnCall {
  CommonFields common;
  PstnParty caller, callee;
  std::optional<PstnParty> forwarded_to;  // forwarded-to party (and callee as redirecting)
  CallDirection direction = CallDirection::kOutgoing;
  double duration_s = 2.0;
  uint32_t packets = 0;              // CC PDUs (160 A-law bearer octets each) per direction
  bool clir = false;                 // presentation restricted on the calling number
  std::string network_element_e164;  // TS 101 671 network-Element-Identifier; "" = none
};

struct IpPacket {
  enum class Proto : uint8_t { kUdp, kTcp, kIcmp } proto = Proto::kUdp;
  bool from_target = true;
  std::string peer_ip = "192.0.2.53";
  uint16_t peer_port = 53;
  std::string data;                  // payload text
};

struct IpSession {
  CommonFields common;
  std::string username;
  std::string target_ip = "192.168.50.5";
  double duration_s = 1.0;
  std::vector<IpPacket> packets;     // default: DNS query + answer, ICMP echo, a TCP exchange
};

struct Keepalive {
  Channel channel = Channel::kHi2;
  double idle_s = 0;                 // wait this long (no sending) before the keep-alive
  uint32_t timeout_ms = 5000;        // the keep-aliveResponse must arrive within this
};

// Close and reopen the channel's connection, then re-send the last `resend` PDUs sent on it,
// byte for byte (as a mediator re-sends its unacknowledged window).
struct Reconnect {
  Channel channel = Channel::kHi2;
  uint32_t resend = 3;
};

enum class MalformKind : uint8_t { kBadLength, kBadTag, kTruncated, kGarbage };
std::string_view MalformKindName(MalformKind k);

// One broken record on `channel`: a copy of an IRI (hi2) / CC (hi3) PDU of the warrant, broken
// in the given way, or (kGarbage) `garbage_bytes` bytes that are no PDU at all.
struct Malformed {
  Channel channel = Channel::kHi2;
  MalformKind kind = MalformKind::kGarbage;
  std::string liid;                  // "" = the first warrant
  uint32_t garbage_bytes = 37;
};

using Event = std::variant<SipCall, PstnCall, IpSession, Keepalive, Reconnect, Malformed>;

struct Scenario {
  std::string name;
  std::optional<base::Timestamp> start;  // absent = the time of playing
  Encoding encoding;
  std::string keepalive_liid = "tapvault-feed";  // pseudo-LIID of keep-alives (not a warrant)
  std::string keepalive_network_element = "feed-med";
  std::string operator_id = "TAPVAULTOP";        // default for warrants
  std::string network_element = "feed-ne";
  std::string country = "NL";
  uint32_t ack_every = 0;   // pDUAcknowledgementRequest after every N PDUs (0 = none; see player.h)
  std::vector<Warrant> warrants;
  std::vector<Event> events;
  std::vector<int> event_lines;                  // source line of each event (for messages)

  const Warrant* FindWarrant(std::string_view liid) const;
};

// `source_name` names the text in error messages.
absl::StatusOr<Scenario> ParseScenario(std::string_view toml_text, std::string_view source_name);
absl::StatusOr<Scenario> LoadScenario(const std::string& path);

}  // namespace tapvault::sim
