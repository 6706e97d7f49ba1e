// Extracts every party identity from one SIP message (RFC 3261) with the header it came from,
// using libosip2. The privileged-party filter depends on none being missed: Request-URI, From,
// To, P-Asserted-Identity, P-Preferred-Identity, Diversion (RFC 5806), History-Info (RFC 7044),
// Referred-By, Refer-To, Remote-Party-ID, P-Called-Party-ID, and Contact (role kSipContact).
//
//   std::vector<proto::Party> parties;
//   std::vector<std::pair<std::string_view, std::string>> facts;  // sip.method, sip.call_id, ...
//   absl::Status s = sip::ExtractParties(message, parties, facts);
//
// How: libosip2 parses the whole message (start line, Call-ID, CSeq) and every name-addr /
// addr-spec element of the identity headers (osip_from_parse). The header lines themselves are
// enumerated by our own bounded line scanner, so that repeated headers, compact forms (f t m r b),
// any letter case, folded lines and headers libosip2 does not know are all seen, also in a message
// libosip2 rejects. Elements libosip2 cannot parse are cut out by hand (angle brackets, quotes).
//
// Identities are the URIs without display name, header parameters (;tag=, ;index=, ;reason=)
// and URI headers (`?Reason=...`); URI parameters (;user=phone) stay. Examples:
// `sip:+31201234567@example.nl;user=phone`, `tel:+31201234567`. Escapes in the user part are
// decoded by libosip2 (`%2B31` -> `+31`). The message body (SDP, ...) is never read.
// Each (role, identity) pair is reported once, in the order of the message.
//
// Facts (keys are static strings): sip.method (for a response: the CSeq method), sip.status and
// sip.reason (responses), sip.call_id, sip.cseq, and sip.parser = "fallback" when libosip2 rejected
// the message and only the line scanner's results are reported.
//
// Errors (what was extracted is kept in `parties`/`facts` in every case):
//   InvalidArgument    not a SIP message at all (no SIP start line): garbage.
//   ResourceExhausted  the header section exceeds kMaxHeaderBytes / kMaxHeaderLines, or more
//                      than kMaxParties identities: only the first ones are reported.
// Thread-safe (libosip2's parser_init() runs once, under std::call_once).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "proto/record/record.h"

namespace tapvault::sip {

inline constexpr size_t kMaxHeaderBytes = 64 * 1024;  // start line + headers (UDP datagram size)
inline constexpr size_t kMaxHeaderLines = 512;        // logical header lines
inline constexpr size_t kMaxParties = 256;            // identities per message

absl::Status ExtractParties(std::string_view message, std::vector<proto::Party>& parties,
                            std::vector<std::pair<std::string_view, std::string>>& facts);

// Extracts the identities of one SIP header line ("Contact: tel:+123456789"), as carried in
// TS 102 232-5 IPMMIRI additionalSignalling sipHeaderLine. Lines of headers that name no party
// give nothing. Errors: InvalidArgument if it is not a header line.
absl::Status ExtractPartiesFromHeaderLine(std::string_view line,
                                          std::vector<proto::Party>& parties);

}  // namespace tapvault::sip
