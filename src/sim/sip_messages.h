// RFC 3261 SIP dialogs as a target's network would carry them: INVITE (SDP offer), 100 Trying,
// 180 Ringing, 200 OK (SDP answer), ACK, optional in-dialog REFERs (transfer, RFC 3515; adding
// conference members via the focus, RFC 4579) with 202 Accepted, BYE and its 200 OK. Party
// identities appear where real networks put them: From/To/Request-URI, P-Asserted-Identity
// (RFC 3325), Privacy: id for CLIR, Diversion (RFC 5806) and History-Info (RFC 7044) for a
// forwarded call, Refer-To/Referred-By for a transfer, Contact.
//
//   sim::SipCallSpec spec{.call_id = "a84b4c76e66710", .caller = "sip:+31201111111@ims.nl",
//                         .callee = "sip:+31202222222@ims.nl"};
//   for (const sim::SipMessage& m : sim::BuildSipDialog(spec)) send(m.text);
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sim/g711.h"

namespace tapvault::sim {

struct SipCallSpec {
  std::string call_id;
  std::string domain = "ims.example.net";  // for URIs built from bare numbers and for Via hosts
  std::string caller;                      // sip:/tel: URI or a bare number (+31..., 020...)
  std::string caller_display;              // display name in From; "" = none
  std::string callee;
  std::string caller_ip = "10.1.0.10";     // signalling and media address of each side
  std::string callee_ip = "10.2.0.20";
  uint16_t caller_rtp_port = 40000;
  uint16_t callee_rtp_port = 50000;
  Codec codec = Codec::kPcmu;
  bool clir = false;                       // From anonymous + Privacy: id (presentation restricted)
  std::string p_asserted_identity;         // "" = the caller's URI
  std::string p_preferred_identity;        // "" = none
  // Call forwarding: the call to `callee` is diverted to `forwarded_to` (Request-URI), with
  // Diversion and History-Info naming `callee`.
  std::string forwarded_to;
  std::string forward_reason = "unconditional";  // Diversion reason (RFC 5806)
  // Transfer: after the answer, the callee sends REFER (Refer-To: transfer_to, Referred-By:
  // callee); "" = none.
  std::string transfer_to;
  // Conference: the callee is a conference focus; the caller adds each member with a REFER to
  // the focus (RFC 4579 5.5).
  std::vector<std::string> conference_members;
  uint32_t tag_seed = 1;                   // makes tags and branches distinct per call
};

struct SipMessage {
  std::string name;      // "INVITE", "100", "180", "200-INVITE", "ACK", "REFER", "BYE", ...
  std::string text;      // the message as on the wire (CRLF line ends)
  bool from_caller = true;
};

// A SIP or tel URI for `party`: URIs pass through; a bare number becomes
// sip:<number>@<domain>;user=phone.
std::string SipUri(std::string_view party, std::string_view domain);
// The user part of a URI (digits of a number), for tests and logs.
std::string_view UriUser(std::string_view uri);

// The messages of one call, in order (both directions).
std::vector<SipMessage> BuildSipDialog(const SipCallSpec& spec);

}  // namespace tapvault::sim
