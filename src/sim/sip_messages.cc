#include "sim/sip_messages.h"

#include <cstdio>

#include "base/strings.h"

namespace tapvault::sim {
namespace {

using base::StrCat;

std::string Hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

std::string Sdp(std::string_view ip, uint16_t port, Codec codec, uint32_t session_id) {
  const int pt = static_cast<int>(codec);
  return StrCat("v=0\r\n", "o=- ", session_id, " 1 IN IP4 ", ip, "\r\n", "s=-\r\n",
                "c=IN IP4 ", ip, "\r\n", "t=0 0\r\n", "m=audio ", static_cast<int>(port),
                " RTP/AVP ", pt, " 101\r\n", "a=rtpmap:", pt, " ", CodecName(codec),
                "/8000\r\n", "a=rtpmap:101 telephone-event/8000\r\n", "a=fmtp:101 0-15\r\n",
                "a=ptime:20\r\n", "a=sendrecv\r\n");
}

// One message: start line, header lines (each without CRLF), optional body.
std::string Message(std::string_view start_line, const std::vector<std::string>& headers,
                    std::string_view content_type, std::string_view body) {
  std::string out = StrCat(start_line, "\r\n");
  for (const std::string& h : headers) out += StrCat(h, "\r\n");
  if (!body.empty()) out += StrCat("Content-Type: ", content_type, "\r\n");
  out += StrCat("Content-Length: ", body.size(), "\r\n\r\n", body);
  return out;
}

}  // namespace

std::string SipUri(std::string_view party, std::string_view domain) {
  if (party.starts_with("sip:") || party.starts_with("sips:") || party.starts_with("tel:")) {
    return std::string(party);
  }
  return StrCat("sip:", party, "@", domain, ";user=phone");
}

std::string_view UriUser(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon != std::string_view::npos) uri.remove_prefix(colon + 1);
  size_t end = uri.find_first_of("@;>");
  return uri.substr(0, end);
}

std::vector<SipMessage> BuildSipDialog(const SipCallSpec& spec) {
  const std::string caller = SipUri(spec.caller, spec.domain);
  const std::string callee = SipUri(spec.callee, spec.domain);
  const std::string request_uri =
      spec.forwarded_to.empty() ? callee : SipUri(spec.forwarded_to, spec.domain);
  const std::string from_tag = Hex32(spec.tag_seed * 2654435761u);
  const std::string to_tag = Hex32(spec.tag_seed * 2246822519u + 7);
  const std::string branch_base = StrCat("z9hG4bK", Hex32(spec.tag_seed * 3266489917u));
  const std::string caller_via =
      StrCat("Via: SIP/2.0/UDP ", spec.caller_ip, ":5060;branch=", branch_base);
  const std::string callee_via =
      StrCat("Via: SIP/2.0/UDP ", spec.callee_ip, ":5060;branch=", branch_base, "c");
  const std::string call_id = StrCat("Call-ID: ", spec.call_id);
  const std::string from_value =
      spec.clir ? StrCat("\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=", from_tag)
                : StrCat(spec.caller_display.empty() ? "" : StrCat("\"", spec.caller_display, "\" "),
                         "<", caller, ">;tag=", from_tag);
  const std::string from = StrCat("From: ", from_value);
  const std::string to_no_tag = StrCat("To: <", callee, ">");
  const std::string to = StrCat(to_no_tag, ";tag=", to_tag);
  const std::string caller_contact = StrCat("Contact: <sip:", UriUser(caller), "@",
                                            spec.caller_ip, ":5060>");
  const bool conference = !spec.conference_members.empty();
  const std::string callee_contact =
      StrCat("Contact: <sip:", UriUser(request_uri), "@", spec.callee_ip, ":5060>",
             conference ? ";isfocus" : "");
  const std::string sdp_offer = Sdp(spec.caller_ip, spec.caller_rtp_port, spec.codec,
                                    spec.tag_seed);
  const std::string sdp_answer = Sdp(spec.callee_ip, spec.callee_rtp_port, spec.codec,
                                     spec.tag_seed + 1);

  std::vector<SipMessage> out;
  // INVITE
  std::vector<std::string> h = {caller_via, "Max-Forwards: 70", from, to_no_tag, call_id,
                                "CSeq: 1 INVITE", caller_contact};
  h.push_back(StrCat("P-Asserted-Identity: <",
                     spec.p_asserted_identity.empty()
                         ? caller
                         : SipUri(spec.p_asserted_identity, spec.domain),
                     ">"));
  if (!spec.p_preferred_identity.empty()) {
    h.push_back(StrCat("P-Preferred-Identity: <", SipUri(spec.p_preferred_identity, spec.domain),
                       ">"));
  }
  if (spec.clir) h.push_back("Privacy: id");
  if (!spec.forwarded_to.empty()) {
    h.push_back(StrCat("Diversion: <", callee, ">;reason=", spec.forward_reason, ";counter=1"));
    h.push_back(StrCat("History-Info: <", callee, ">;index=1, <", request_uri,
                       ";cause=302>;index=1.1"));
  }
  h.push_back("Allow: INVITE, ACK, CANCEL, BYE, REFER, NOTIFY, OPTIONS");
  h.push_back("User-Agent: tapvault-feed");
  out.push_back({"INVITE",
                 Message(StrCat("INVITE ", request_uri, " SIP/2.0"), h, "application/sdp",
                         sdp_offer),
                 true});

  auto response = [&](std::string_view status, std::string_view cseq, bool with_tag,
                      bool contact, std::string_view body) {
    std::vector<std::string> rh = {caller_via, from, with_tag ? to : to_no_tag, call_id,
                                   StrCat("CSeq: ", cseq)};
    if (contact) rh.push_back(callee_contact);
    return Message(StrCat("SIP/2.0 ", status), rh, "application/sdp", body);
  };
  out.push_back({"100", response("100 Trying", "1 INVITE", false, false, ""), false});
  out.push_back({"180", response("180 Ringing", "1 INVITE", true, true, ""), false});
  out.push_back({"200-INVITE", response("200 OK", "1 INVITE", true, true, sdp_answer), false});
  out.push_back({"ACK",
                 Message(StrCat("ACK sip:", UriUser(request_uri), "@", spec.callee_ip,
                                ":5060 SIP/2.0"),
                         {StrCat(caller_via, "a"), "Max-Forwards: 70", from, to, call_id,
                          "CSeq: 1 ACK"},
                         "", ""),
                 true});

  int caller_cseq = 2;
  for (const std::string& member : spec.conference_members) {
    const std::string member_uri = SipUri(member, spec.domain);
    const int cseq = caller_cseq++;
    out.push_back({"REFER",
                   Message(StrCat("REFER sip:", UriUser(request_uri), "@", spec.callee_ip,
                                  ":5060 SIP/2.0"),
                           {StrCat(caller_via, "r", cseq), "Max-Forwards: 70", from, to, call_id,
                            StrCat("CSeq: ", cseq, " REFER"), caller_contact,
                            StrCat("Refer-To: <", member_uri,
                                   member_uri.starts_with("sip") ? ";method=INVITE>" : ">"),
                            StrCat("Referred-By: <", caller, ">")},
                           "", ""),
                   true});
    out.push_back({"202-REFER",
                   Message("SIP/2.0 202 Accepted",
                           {StrCat(caller_via, "r", cseq), from, to, call_id,
                            StrCat("CSeq: ", cseq, " REFER"), callee_contact},
                           "", ""),
                   false});
  }
  // Requests from the callee side of the dialog: From and To swap (RFC 3261 12.2.1.1).
  const std::string callee_from = StrCat("From: <", callee, ">;tag=", to_tag);
  const std::string callee_to = StrCat("To: ", from_value);
  const std::string caller_target = StrCat("sip:", UriUser(caller), "@", spec.caller_ip, ":5060");
  if (!spec.transfer_to.empty()) {
    out.push_back({"REFER",
                   Message(StrCat("REFER ", caller_target, " SIP/2.0"),
                           {StrCat(callee_via, "r"), "Max-Forwards: 70", callee_from, callee_to,
                            call_id, "CSeq: 1 REFER", callee_contact,
                            StrCat("Refer-To: <", SipUri(spec.transfer_to, spec.domain), ">"),
                            StrCat("Referred-By: <", callee, ">")},
                           "", ""),
                   false});
    out.push_back({"202-REFER",
                   Message("SIP/2.0 202 Accepted",
                           {StrCat(callee_via, "r"), callee_from, callee_to, call_id,
                            "CSeq: 1 REFER", caller_contact},
                           "", ""),
                   true});
  }
  const std::string bye_cseq = StrCat("CSeq: ", caller_cseq, " BYE");
  out.push_back({"BYE",
                 Message(StrCat("BYE sip:", UriUser(request_uri), "@", spec.callee_ip,
                                ":5060 SIP/2.0"),
                         {StrCat(caller_via, "b"), "Max-Forwards: 70", from, to, call_id, bye_cseq},
                         "", ""),
                 true});
  out.push_back({"200-BYE",
                 Message("SIP/2.0 200 OK",
                         {StrCat(caller_via, "b"), from, to, call_id, bye_cseq}, "", ""),
                 false});
  return out;
}

}  // namespace tapvault::sim
