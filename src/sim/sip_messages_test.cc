#include "sim/sip_messages.h"

#include <osipparser2/osip_parser.h>
#include <osipparser2/sdp_message.h>

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace tapvault::sim {
namespace {

// A message parsed with libosip2 (a real SIP stack's parser), freed on scope exit.
struct Parsed {
  osip_message_t* msg = nullptr;
  ~Parsed() { osip_message_free(msg); }
};

std::unique_ptr<Parsed> Parse(const std::string& text) {
  static bool init = [] {
    parser_init();
    return true;
  }();
  (void)init;
  auto p = std::make_unique<Parsed>();
  if (osip_message_init(&p->msg) != 0) return nullptr;
  if (osip_message_parse(p->msg, text.data(), text.size()) != 0) return nullptr;
  return p;
}

std::string Header(osip_message_t* msg, const char* name) {
  osip_header_t* h = nullptr;
  if (osip_message_header_get_byname(msg, name, 0, &h) < 0 || h == nullptr || !h->hvalue) {
    return "";
  }
  return h->hvalue;
}

std::string UriText(osip_uri_t* uri) {
  char* s = nullptr;
  if (uri == nullptr || osip_uri_to_str(uri, &s) != 0) return "";
  std::string out = s;
  osip_free(s);
  return out;
}

SipCallSpec FullSpec() {
  return {.call_id = "abc123@10.1.0.10",
          .domain = "ims.example.nl",
          .caller = "+31201111111",
          .caller_display = "Alice",
          .callee = "sip:+31202222222@ims.example.nl",
          .codec = Codec::kPcma,
          .p_preferred_identity = "tel:+31201111111",
          .forwarded_to = "+31203333333",
          .transfer_to = "sip:+31204444444@ims.example.nl",
          .conference_members = {"+31205555555", "tel:+31206666666"},
          .tag_seed = 77};
}

TEST(SipMessages, DialogParsesWithLibosip) {
  const SipCallSpec spec = FullSpec();
  const std::vector<SipMessage> msgs = BuildSipDialog(spec);
  std::vector<std::string> names;
  for (const SipMessage& m : msgs) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string>{"INVITE", "100", "180", "200-INVITE", "ACK", "REFER",
                                             "202-REFER", "REFER", "202-REFER", "REFER",
                                             "202-REFER", "BYE", "200-BYE"}));
  for (const SipMessage& m : msgs) {
    SCOPED_TRACE(m.name);
    auto p = Parse(m.text);
    ASSERT_NE(p, nullptr) << m.text;
    osip_message_t* msg = p->msg;
    ASSERT_NE(osip_message_get_call_id(msg), nullptr);
    EXPECT_STREQ(osip_message_get_call_id(msg)->number, "abc123");
    EXPECT_STREQ(osip_message_get_call_id(msg)->host, "10.1.0.10");
    ASSERT_NE(msg->cseq, nullptr);
    ASSERT_NE(msg->from, nullptr);
    ASSERT_NE(msg->to, nullptr);
    osip_generic_param_t* tag = nullptr;
    EXPECT_EQ(osip_from_get_tag(msg->from, &tag), 0);  // a From tag is required
    EXPECT_NE(tag, nullptr);
    // Content-Length equals the body (RFC 3261 20.14).
    const size_t blank = m.text.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos);
    ASSERT_NE(msg->content_length, nullptr);
    EXPECT_EQ(std::stoul(msg->content_length->value), m.text.size() - blank - 4);
    if (MSG_IS_REQUEST(msg)) {
      EXPECT_STREQ(msg->sip_method, msg->cseq->method);
      EXPECT_EQ(Header(msg, "max-forwards"), "70");
    }
  }
}

TEST(SipMessages, InviteCarriesEveryIdentityAndSdp) {
  const std::vector<SipMessage> msgs = BuildSipDialog(FullSpec());
  auto p = Parse(msgs[0].text);
  ASSERT_NE(p, nullptr);
  osip_message_t* msg = p->msg;
  EXPECT_STREQ(msg->sip_method, "INVITE");
  // Forwarded: the Request-URI is the forwarded-to party; To stays the original callee.
  EXPECT_EQ(UriText(msg->req_uri), "sip:+31203333333@ims.example.nl;user=phone");
  EXPECT_EQ(UriText(osip_to_get_url(msg->to)), "sip:+31202222222@ims.example.nl");
  EXPECT_EQ(UriText(osip_from_get_url(msg->from)), "sip:+31201111111@ims.example.nl;user=phone");
  EXPECT_STREQ(msg->from->displayname, "\"Alice\"");
  EXPECT_EQ(Header(msg, "p-asserted-identity"), "<sip:+31201111111@ims.example.nl;user=phone>");
  EXPECT_EQ(Header(msg, "p-preferred-identity"), "<tel:+31201111111>");
  EXPECT_EQ(Header(msg, "diversion"),
            "<sip:+31202222222@ims.example.nl>;reason=unconditional;counter=1");
  // History-Info (RFC 7044): the original target, then the diverted-to one.
  EXPECT_NE(msgs[0].text.find("\r\nHistory-Info: <sip:+31202222222@ims.example.nl>;index=1, "
                              "<sip:+31203333333@ims.example.nl;user=phone;cause=302>;index=1.1"
                              "\r\n"),
            std::string::npos);
  EXPECT_NE(Header(msg, "history-info").find("index=1"), std::string::npos);
  EXPECT_EQ(Header(msg, "privacy"), "");

  osip_body_t* body = nullptr;
  ASSERT_EQ(osip_message_get_body(msg, 0, &body), 0);
  sdp_message_t* sdp = nullptr;
  ASSERT_EQ(sdp_message_init(&sdp), 0);
  ASSERT_EQ(sdp_message_parse(sdp, body->body), 0) << body->body;
  EXPECT_STREQ(sdp_message_c_addr_get(sdp, -1, 0), "10.1.0.10");
  EXPECT_STREQ(sdp_message_m_media_get(sdp, 0), "audio");
  EXPECT_STREQ(sdp_message_m_payload_get(sdp, 0, 0), "8");  // PCMA
  sdp_message_free(sdp);
}

TEST(SipMessages, ClirHidesFromAndAddsPrivacy) {
  SipCallSpec spec{.call_id = "x1", .caller = "+31201111111", .callee = "+31202222222",
                   .clir = true};
  auto p = Parse(BuildSipDialog(spec)[0].text);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(UriText(osip_from_get_url(p->msg->from)), "sip:anonymous@anonymous.invalid");
  EXPECT_EQ(Header(p->msg, "privacy"), "id");
  // The network still asserts the real identity (RFC 3325), which the LEMF must see.
  EXPECT_EQ(Header(p->msg, "p-asserted-identity"),
            "<sip:+31201111111@ims.example.net;user=phone>");
}

TEST(SipMessages, TransferAndConferenceRefers) {
  const std::vector<SipMessage> msgs = BuildSipDialog(FullSpec());
  std::vector<std::string> refer_to, referred_by;
  for (const SipMessage& m : msgs) {
    if (m.name != "REFER") continue;
    auto p = Parse(m.text);
    ASSERT_NE(p, nullptr);
    refer_to.push_back(Header(p->msg, "refer-to"));
    referred_by.push_back(Header(p->msg, "referred-by"));
  }
  EXPECT_EQ(refer_to,
            (std::vector<std::string>{
                "<sip:+31205555555@ims.example.nl;user=phone;method=INVITE>",
                "<tel:+31206666666>", "<sip:+31204444444@ims.example.nl>"}));
  EXPECT_EQ(referred_by[2], "<sip:+31202222222@ims.example.nl>");
}

TEST(SipMessages, UriHelpers) {
  EXPECT_EQ(SipUri("0201234567", "x.nl"), "sip:0201234567@x.nl;user=phone");
  EXPECT_EQ(SipUri("tel:+31", "x.nl"), "tel:+31");
  EXPECT_EQ(UriUser("sip:+3120@host;user=phone"), "+3120");
  EXPECT_EQ(UriUser("tel:+3120;phone-context=x"), "+3120");
}

}  // namespace
}  // namespace tapvault::sim
