#include "sip/party_extractor.h"

#include <string>
#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tapvault::sip {
namespace {

using proto::Party;
using proto::PartyRole;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

using Facts = std::vector<std::pair<std::string_view, std::string>>;

}  // namespace
}  // namespace tapvault::sip
namespace tapvault::proto {
void PrintTo(const Party& p, std::ostream* os) { *os << PartyRoleName(p.role) << "=" << p.id; }
}  // namespace tapvault::proto
namespace tapvault::sip {
namespace {

Party P(PartyRole role, std::string id) { return {.role = role, .id = std::move(id)}; }

struct Result {
  absl::Status status;
  std::vector<Party> parties;
  Facts facts;
};

Result Extract(std::string_view message) {
  Result r;
  r.status = ExtractParties(message, r.parties, r.facts);
  return r;
}

// Joins lines with CRLF and ends the header section.
std::string Msg(std::initializer_list<std::string_view> lines, std::string_view body = "") {
  std::string out;
  for (std::string_view l : lines) {
    out.append(l);
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
  return out;
}

// RFC 3261 24.2, the INVITE of the basic call flow (F1).
TEST(ExtractParties, Rfc3261Invite) {
  std::string m = Msg({"INVITE sip:bob@biloxi.example.com SIP/2.0",
                       "Via: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9",
                       "Max-Forwards: 70",
                       "From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl",
                       "To: Bob <sip:bob@biloxi.example.com>",
                       "Call-ID: 3848276298220188511@atlanta.example.com",
                       "CSeq: 1 INVITE",
                       "Contact: <sip:alice@client.atlanta.example.com;transport=tcp>",
                       "Content-Type: application/sdp", "Content-Length: 151"},
                      "v=0\r\no=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
                      "s=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\n");
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:bob@biloxi.example.com"),
                          P(PartyRole::kSipFrom, "sip:alice@atlanta.example.com"),
                          P(PartyRole::kSipTo, "sip:bob@biloxi.example.com"),
                          P(PartyRole::kSipContact,
                            "sip:alice@client.atlanta.example.com;transport=tcp")));
  EXPECT_THAT(r.facts, ElementsAre(Pair("sip.method", "INVITE"),
                                   Pair("sip.call_id", "3848276298220188511@atlanta.example.com"),
                                   Pair("sip.cseq", "1 INVITE")));
}

TEST(ExtractParties, ResponseFactsAndNoRequestUri) {
  std::string m = Msg({"SIP/2.0 180 Ringing", "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx",
                       "From: <sip:a@example.com>;tag=1", "To: <sip:b@example.com>;tag=2",
                       "Call-ID: abc", "CSeq: 314159 INVITE", "Contact: <sip:b@10.0.0.2:5060>"});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties, ElementsAre(P(PartyRole::kSipFrom, "sip:a@example.com"),
                                     P(PartyRole::kSipTo, "sip:b@example.com"),
                                     P(PartyRole::kSipContact, "sip:b@10.0.0.2:5060")));
  EXPECT_THAT(r.facts, ElementsAre(Pair("sip.status", "180"), Pair("sip.reason", "Ringing"),
                                   Pair("sip.method", "INVITE"), Pair("sip.call_id", "abc"),
                                   Pair("sip.cseq", "314159 INVITE")));
}

// IMS originating INVITE: tel and sip P-Asserted-Identity in one header, display names with
// quotes and commas, user=phone, P-Preferred-Identity, P-Called-Party-ID.
TEST(ExtractParties, ImsAssertedIdentities) {
  std::string m = Msg({
      "INVITE tel:+31201234567 SIP/2.0",
      "Via: SIP/2.0/UDP pcscf.example.nl;branch=z9hG4bK1",
      "From: \"Jansen, Piet \\\"PJ\\\"\" <sip:+31612345678@ims.example.nl;user=phone>;tag=a1",
      "To: <tel:+31201234567>",
      "P-Asserted-Identity: \"Jansen, Piet\" <sip:+31612345678@ims.example.nl;user=phone>, "
      "<tel:+31612345678>",
      "P-Preferred-Identity: <sip:piet@example.nl>",
      "P-Called-Party-ID: <sip:+31201234567@ims.example.nl;user=phone>",
      "Call-ID: x1", "CSeq: 1 INVITE",
      "Contact: <sip:+31612345678@192.0.2.4:5060;transport=udp>;+sip.instance=\"<urn:gsma:imei:1>\""});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(
      r.parties,
      ElementsAre(P(PartyRole::kSipRequestUri, "tel:+31201234567"),
                  P(PartyRole::kSipFrom, "sip:+31612345678@ims.example.nl;user=phone"),
                  P(PartyRole::kSipTo, "tel:+31201234567"),
                  P(PartyRole::kSipPAssertedIdentity, "sip:+31612345678@ims.example.nl;user=phone"),
                  P(PartyRole::kSipPAssertedIdentity, "tel:+31612345678"),
                  P(PartyRole::kSipPPreferredIdentity, "sip:piet@example.nl"),
                  P(PartyRole::kSipPCalledPartyId, "sip:+31201234567@ims.example.nl;user=phone"),
                  P(PartyRole::kSipContact, "sip:+31612345678@192.0.2.4:5060;transport=udp")));
}

// RFC 5806 Diversion: several values in one header and several headers.
TEST(ExtractParties, DiversionRfc5806) {
  std::string m = Msg({
      "INVITE sip:+31207654321@gw.example.nl;user=phone SIP/2.0",
      "From: <sip:+31612345678@example.nl>;tag=1", "To: <sip:+31201234567@example.nl>",
      "Diversion: <sip:+31201234567@example.nl>;reason=unconditional;counter=1;privacy=off, "
      "\"Office, main\" <tel:+31201110000>;reason=user-busy",
      "Diversion: <sip:+31209999999@example.nl;user=phone>;reason=no-answer;screen=no",
      "Call-ID: d", "CSeq: 2 INVITE"});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:+31207654321@gw.example.nl;user=phone"),
                          P(PartyRole::kSipFrom, "sip:+31612345678@example.nl"),
                          P(PartyRole::kSipTo, "sip:+31201234567@example.nl"),
                          P(PartyRole::kSipDiversion, "sip:+31201234567@example.nl"),
                          P(PartyRole::kSipDiversion, "tel:+31201110000"),
                          P(PartyRole::kSipDiversion, "sip:+31209999999@example.nl;user=phone")));
}

// RFC 7044 History-Info with escaped Reason / Privacy headers inside the URIs.
TEST(ExtractParties, HistoryInfoRfc7044) {
  std::string m = Msg({
      "INVITE sip:office@192.0.2.5 SIP/2.0", "From: Alice <sip:alice@atlanta.example.com>;tag=1",
      "To: Bob <sip:bob@biloxi.example.com>",
      "History-Info: <sip:bob@biloxi.example.com>;index=1,"
      "<sip:bob@192.0.2.4?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1.1;rc=1",
      "History-Info: <sip:office@example.com?Privacy=history&Reason=SIP%3Bcause%3D486>;index=1.2;mp=1.1,",
      " <tel:+15551234567>;index=1.3",  // folded continuation line
      "Call-ID: h", "CSeq: 1 INVITE"});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:office@192.0.2.5"),
                          P(PartyRole::kSipFrom, "sip:alice@atlanta.example.com"),
                          P(PartyRole::kSipTo, "sip:bob@biloxi.example.com"),
                          P(PartyRole::kSipHistoryInfo, "sip:bob@biloxi.example.com"),
                          P(PartyRole::kSipHistoryInfo, "sip:bob@192.0.2.4"),
                          P(PartyRole::kSipHistoryInfo, "sip:office@example.com"),
                          P(PartyRole::kSipHistoryInfo, "tel:+15551234567")));
}

// RFC 3515 REFER with compact forms (RFC 3261 7.3.3, RFC 3515 r, RFC 3892 b), odd letter case.
TEST(ExtractParties, ReferCompactFormsAndCase) {
  std::string m = Msg({
      "REFER sip:bob@192.0.2.4 SIP/2.0", "f: <sip:alice@example.com>;tag=7",
      "T: sip:bob@example.com", "i: refer-1@example.com", "CSEQ: 93809823 REFER",
      "m: sip:alice@192.0.2.1", "r: <sip:carol@example.com?Replaces=12345%40host%3Bto-tag%3D1>",
      "b: \"Alice\" <sip:alice@example.com>;cid=\"20398823.2UWQFN309shb3@example.com\"",
      "REFERRED-BY: <tel:+15550001111>", "Refer-To: <tel:+15552223333>"});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:bob@192.0.2.4"),
                          P(PartyRole::kSipFrom, "sip:alice@example.com"),
                          P(PartyRole::kSipTo, "sip:bob@example.com"),
                          P(PartyRole::kSipContact, "sip:alice@192.0.2.1"),
                          P(PartyRole::kSipReferTo, "sip:carol@example.com"),
                          P(PartyRole::kSipReferredBy, "sip:alice@example.com"),
                          P(PartyRole::kSipReferredBy, "tel:+15550001111"),
                          P(PartyRole::kSipReferTo, "tel:+15552223333")));
  EXPECT_THAT(r.facts, Contains(Pair("sip.call_id", "refer-1@example.com")));
  EXPECT_THAT(r.facts, Contains(Pair("sip.method", "REFER")));
}

TEST(ExtractParties, RemotePartyIdAndMultipleContacts) {
  std::string m = Msg({
      "INVITE sip:5551000@gw.example.com;user=phone SIP/2.0",
      "From: sip:5552000@pbx.example.com;tag=x",  // addr-spec: ;tag is a header parameter
      "To: sip:5551000@gw.example.com",
      "Remote-Party-ID: \"Reception\" <sip:5552000@pbx.example.com>;party=calling;screen=yes;privacy=off",
      "Remote-Party-ID: <sip:5551000@gw.example.com>;party=called",
      "Contact: <sip:a@192.0.2.1>;q=0.7, \"Mobile\" <sip:a@192.0.2.2>;q=0.1", "Contact: *",
      "Call-ID: r", "CSeq: 1 INVITE"});
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:5551000@gw.example.com;user=phone"),
                          P(PartyRole::kSipFrom, "sip:5552000@pbx.example.com"),
                          P(PartyRole::kSipTo, "sip:5551000@gw.example.com"),
                          P(PartyRole::kSipRemotePartyId, "sip:5552000@pbx.example.com"),
                          P(PartyRole::kSipRemotePartyId, "sip:5551000@gw.example.com"),
                          P(PartyRole::kSipContact, "sip:a@192.0.2.1"),
                          P(PartyRole::kSipContact, "sip:a@192.0.2.2")));
}

TEST(ExtractParties, BareLfAndLeadingCrlfAndTabs) {
  std::string m =
      "\r\n\r\nMESSAGE sip:b@example.com SIP/2.0\nFrom:\t<sip:a@example.com>;tag=1\nTo :  "
      "<sip:b@example.com>\nCall-ID: m\nCSeq: 1 MESSAGE\n\nhello";
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties, ElementsAre(P(PartyRole::kSipRequestUri, "sip:b@example.com"),
                                     P(PartyRole::kSipFrom, "sip:a@example.com"),
                                     P(PartyRole::kSipTo, "sip:b@example.com")));
}

TEST(ExtractParties, SdpBodyIsNotAParty) {
  std::string m = Msg({"INVITE sip:b@example.com SIP/2.0", "From: <sip:a@example.com>;tag=1",
                       "To: <sip:b@example.com>", "Call-ID: s", "CSeq: 1 INVITE",
                       "Content-Type: application/sdp"},
                      "v=0\r\nFrom: <sip:evil@example.com>\r\nTo: <tel:+999>\r\n"
                      "o=- 1 1 IN IP4 192.0.2.1\r\n");
  Result r = Extract(m);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.parties.size(), 3u);
  for (const Party& p : r.parties) {
    EXPECT_EQ(p.id.find("evil"), std::string::npos);
    EXPECT_NE(p.id, "tel:+999");
  }
}

// A message libosip2 rejects (a broken Via and CSeq): the scanner still reports every identity.
TEST(ExtractParties, FallbackWhenLibosipRejects) {
  std::string m = Msg({"INVITE sip:bob@example.com SIP/2.0", "Via: ",
                       "From: <sip:alice@example.com>;tag=1", "To: \"Bob\" <tel:+31201234567>",
                       "CSeq: notanumber", "Call-ID: f",
                       "P-Asserted-Identity: <sip:+31612345678@example.nl;user=phone>"});
  Result r = Extract(m);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties,
              ElementsAre(P(PartyRole::kSipRequestUri, "sip:bob@example.com"),
                          P(PartyRole::kSipFrom, "sip:alice@example.com"),
                          P(PartyRole::kSipTo, "tel:+31201234567"),
                          P(PartyRole::kSipPAssertedIdentity,
                            "sip:+31612345678@example.nl;user=phone")));
  EXPECT_THAT(r.facts, Contains(Pair("sip.parser", "fallback")));
}

TEST(ExtractParties, MalformedElementsAreCutByHand) {
  std::string m = Msg({"INVITE sip:bob@example.com SIP/2.0",
                       "P-Asserted-Identity: +31201234567",  // not a URI at all: kept as is
                       "Diversion: <sip:a b@example.com>;reason=unknown",  // libosip2 escapes the space
                       "Call-ID: x", "CSeq: 1 INVITE"});
  Result r = Extract(m);
  EXPECT_THAT(r.parties, Contains(P(PartyRole::kSipPAssertedIdentity, "+31201234567")));
  EXPECT_THAT(r.parties, Contains(P(PartyRole::kSipDiversion, "sip:a%20b@example.com")));
}

TEST(ExtractParties, GarbageIsAnErrorButHeadersAreStillScanned) {
  Result r = Extract("\x01\x02 hello world\r\nFrom: <sip:x@example.com>\r\n\r\n");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.parties, ElementsAre(P(PartyRole::kSipFrom, "sip:x@example.com")));
  EXPECT_EQ(Extract("").status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Extract(std::string(100, '\0')).status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ExtractParties, NulInHeaderSectionUsesScannerOnly) {
  std::string m = Msg({"INVITE sip:bob@example.com SIP/2.0", "From: <sip:a@example.com>;tag=1"});
  m.insert(m.find("From"), std::string("X-Bin: a\0b\r\n", 12));
  Result r = Extract(m);
  EXPECT_TRUE(r.status.ok()) << r.status;
  EXPECT_THAT(r.parties, Contains(P(PartyRole::kSipFrom, "sip:a@example.com")));
}

TEST(ExtractParties, DuplicatesReportedOnce) {
  std::string m = Msg({"INVITE sip:b@example.com SIP/2.0", "P-Asserted-Identity: <sip:a@example.com>",
                       "P-Asserted-Identity: <sip:a@example.com>", "From: <sip:a@example.com>"});
  Result r = Extract(m);
  EXPECT_THAT(r.parties, ElementsAre(P(PartyRole::kSipRequestUri, "sip:b@example.com"),
                                     P(PartyRole::kSipPAssertedIdentity, "sip:a@example.com"),
                                     P(PartyRole::kSipFrom, "sip:a@example.com")));
}

TEST(ExtractParties, Bounds) {
  std::string many = "INVITE sip:b@example.com SIP/2.0\r\n";
  for (size_t i = 0; i < kMaxHeaderLines + 10; ++i) many += "X-Pad: 1\r\n";
  many += "From: <sip:late@example.com>\r\n\r\n";
  EXPECT_EQ(Extract(many).status.code(), absl::StatusCode::kResourceExhausted);

  std::string parties = "INVITE sip:b@example.com SIP/2.0\r\n";
  for (size_t i = 0; i < kMaxParties + 10; ++i) {
    parties += "Diversion: <sip:" + std::to_string(i) + "@example.com>\r\n";
  }
  Result r = Extract(parties + "\r\n");
  EXPECT_EQ(r.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(r.parties.size(), kMaxParties);

  std::string huge = "INVITE sip:b@example.com SIP/2.0\r\nFrom: <sip:a@example.com>\r\nX-Big: " +
                     std::string(kMaxHeaderBytes, 'a') + "\r\n\r\n";
  Result h = Extract(huge);
  EXPECT_EQ(h.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(h.parties, Contains(P(PartyRole::kSipFrom, "sip:a@example.com")));
}

TEST(ExtractParties, AppendsToExistingVectors) {
  std::vector<Party> parties = {P(PartyRole::kTarget, "keep")};
  Facts facts = {{"ip.src", "10.0.0.1"}};
  ASSERT_TRUE(ExtractParties(Msg({"BYE sip:b@example.com SIP/2.0", "From: <sip:keep@x>;tag=1"}),
                             parties, facts)
                  .ok());
  EXPECT_EQ(parties.front(), P(PartyRole::kTarget, "keep"));
  EXPECT_EQ(parties.size(), 3u);
  EXPECT_EQ(facts.front().first, "ip.src");
}

TEST(ExtractParties, ThreadSafe) {
  std::string m = Msg({"INVITE sip:b@example.com SIP/2.0", "From: <sip:a@example.com>;tag=1",
                       "To: <sip:b@example.com>", "Call-ID: t", "CSeq: 1 INVITE"});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (Extract(m).parties.size() == 3) ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
}

TEST(ExtractPartiesFromHeaderLine, IdentityHeadersOnly) {
  std::vector<Party> parties;
  ASSERT_TRUE(ExtractPartiesFromHeaderLine("Contact: tel:+123456789", parties).ok());
  ASSERT_TRUE(ExtractPartiesFromHeaderLine("P-Asserted-Identity: <sip:a@x>, <tel:+1>", parties).ok());
  ASSERT_TRUE(ExtractPartiesFromHeaderLine("Subject: <sip:not@party>", parties).ok());
  EXPECT_THAT(parties, ElementsAre(P(PartyRole::kSipContact, "tel:+123456789"),
                                   P(PartyRole::kSipPAssertedIdentity, "sip:a@x"),
                                   P(PartyRole::kSipPAssertedIdentity, "tel:+1")));
  EXPECT_EQ(ExtractPartiesFromHeaderLine("no colon", parties).code(),
            absl::StatusCode::kInvalidArgument);
}

// Every truncation of a realistic message: no crash, and what precedes the cut is found.
TEST(ExtractParties, EveryTruncation) {
  std::string m = Msg({"INVITE sip:bob@example.com SIP/2.0", "From: \"A, B\" <sip:a@example.com>;tag=1",
                       "To: <tel:+31201234567>", "History-Info: <sip:x@y?Reason=SIP%3Bcause%3D302>;index=1",
                       "Call-ID: c", "CSeq: 1 INVITE"});
  for (size_t n = 0; n <= m.size(); ++n) {
    Result r = Extract(std::string_view(m).substr(0, n));
    if (n > m.find("To:")) {
      EXPECT_THAT(r.parties, Contains(P(PartyRole::kSipFrom, "sip:a@example.com"))) << n;
    }
  }
  for (size_t i = 0; i < m.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string f = m;
      f[i] = static_cast<char>(f[i] ^ (1 << bit));
      (void)Extract(f);
    }
  }
}

}  // namespace
}  // namespace tapvault::sip
