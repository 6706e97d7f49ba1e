#include "sim/generator.h"

#include <cstdlib>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "proto/li_ps/decode.h"

namespace tapvault::sim {
namespace {

using proto::Kind;
using proto::PartyRole;

Scenario Load(const char* name) {
  const char* dir = std::getenv("TAPVAULT_SOURCE_DIR");
  absl::StatusOr<Scenario> s = LoadScenario(std::string(dir ? dir : ".") + "/examples/" + name);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : Scenario{};
}

std::vector<Action> Actions(const Scenario& s, uint32_t instance = 0) {
  Generator gen(s, *s.start);
  std::vector<Action> out;
  gen.Play(instance, out);
  return out;
}

bool HasParty(const proto::PayloadItem& item, PartyRole role, std::string_view id_part) {
  for (const proto::Party& p : item.parties) {
    if (p.role == role && p.id.find(id_part) != std::string::npos) return true;
  }
  return false;
}

TEST(Generator, DemoDecodesWithExpectedHeaders) {
  Scenario s = Load("demo.toml");
  std::vector<Action> actions = Actions(s);
  ASSERT_FALSE(actions.empty());
  // Sequence numbers count from 0 per (LIID, CIN, IRI/CC), without gaps.
  std::map<std::tuple<std::string, uint32_t, bool>, uint32_t> next;
  std::set<uint32_t> cins;
  int keepalives = 0, iri = 0, cc = 0;
  proto::PsPdu pdu;
  for (const Action& a : actions) {
    ASSERT_TRUE(a.type == Action::Type::kPdu || a.type == Action::Type::kKeepalive);
    absl::Status st = proto::li_ps::DecodePsPdu(a.bytes, pdu);
    ASSERT_TRUE(st.ok()) << st << " " << proto::KindName(a.kind) << " " << a.liid;
    ASSERT_EQ(pdu.items.size(), 1u);
    EXPECT_EQ(pdu.items[0].kind, a.kind);
    EXPECT_EQ(pdu.header.liid, a.liid);
    EXPECT_EQ(pdu.header.sequence_number, a.seq);
    EXPECT_EQ(pdu.header.operator_id, "NLTELCO");
    EXPECT_EQ(pdu.header.authorization_country_code, "NL");
    EXPECT_EQ(pdu.encoding.size(), a.bytes.size());
    EXPECT_EQ(static_cast<uint8_t>(a.bytes[1]), 0x82);  // long3 lengths, as configured
    if (a.type == Action::Type::kKeepalive) {
      ++keepalives;
      EXPECT_EQ(pdu.header.liid, "tapvault-feed");
      EXPECT_EQ(pdu.header.cin, 0u);
      continue;
    }
    ASSERT_TRUE(pdu.header.cin);
    EXPECT_EQ(*pdu.header.cin, a.cin);
    const bool is_cc = a.kind == Kind::kCc;
    EXPECT_EQ(a.channel, is_cc ? Channel::kHi3 : Channel::kHi2);
    uint32_t& n = next[{a.liid, a.cin, is_cc}];
    EXPECT_EQ(a.seq, n) << a.liid << " " << a.cin;
    ++n;
    cins.insert(a.cin);
    (is_cc ? cc : iri)++;
  }
  EXPECT_EQ(keepalives, 2);
  EXPECT_EQ(cins.size(), 4u);  // two SIP calls, a PSTN call, an IP session
  EXPECT_EQ(iri, 7 + 7 + 4 + 2);
  EXPECT_EQ(cc, 2 * 100 + 2 * 50 + 2 * 50 + 6);
}

TEST(Generator, SipCallPartiesAndMedia) {
  Scenario s = Load("demo.toml");
  std::vector<Action> actions = Actions(s);
  proto::PsPdu pdu;
  // The first PDU is the INVITE of the outgoing call: the target (caller) is From.
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(actions[0].bytes, pdu).ok());
  ASSERT_EQ(pdu.items[0].kind, Kind::kIriBegin);
  EXPECT_EQ(pdu.items[0].service, proto::Service::kIpmm);
  EXPECT_EQ(pdu.items[0].direction, proto::Direction::kFromTarget);
  EXPECT_TRUE(HasParty(pdu.items[0], PartyRole::kSipFrom, "+31612345678"));
  EXPECT_TRUE(HasParty(pdu.items[0], PartyRole::kSipTo, "+31207654321"));
  EXPECT_TRUE(HasParty(pdu.items[0], PartyRole::kSipPAssertedIdentity, "+31612345678"));
  EXPECT_THAT(std::string(base::AsString(pdu.items[0].content)),
              ::testing::StartsWith("INVITE sip:+31207654321@ims.telco.nl;user=phone SIP/2.0"));
  // A CC PDU carries an RTP packet: V=2, PT 8 (PCMA, as configured), 160 G.711 octets.
  for (const Action& a : actions) {
    if (a.kind != Kind::kCc) continue;
    ASSERT_TRUE(proto::li_ps::DecodePsPdu(a.bytes, pdu).ok());
    proto::Bytes rtp = pdu.items[0].content;
    ASSERT_EQ(rtp.size(), 172u);
    EXPECT_EQ(static_cast<uint8_t>(rtp[0]), 0x80);
    EXPECT_EQ(static_cast<uint8_t>(rtp[1]) & 0x7F, 8);
    break;
  }
}

TEST(Generator, PstnCallNumbers) {
  Scenario s = Load("demo.toml");
  proto::PsPdu pdu;
  bool seen = false;
  for (const Action& a : Actions(s)) {
    if (a.liid != "NLPOL-2026-0002" || a.kind != Kind::kIriBegin) continue;
    ASSERT_TRUE(proto::li_ps::DecodePsPdu(a.bytes, pdu).ok());
    if (pdu.items[0].service != proto::Service::kHi2Ops) continue;
    seen = true;
    std::vector<proto::Party> parties = pdu.items[0].parties;
    auto find = [&](PartyRole role, std::string_view digits) -> const proto::Party* {
      for (const proto::Party& p : parties) {
        if (p.role == role && p.id == digits) return &p;
      }
      return nullptr;
    };
    const proto::Party* caller = find(PartyRole::kOriginating, "31201234567");
    const proto::Party* callee = find(PartyRole::kTerminating, "104445566");
    const proto::Party* fwd = find(PartyRole::kForwardedTo, "31687654321");
    ASSERT_NE(caller, nullptr);
    ASSERT_NE(callee, nullptr);
    ASSERT_NE(fwd, nullptr);
    EXPECT_EQ(caller->nature, proto::NumberNature::kInternational);
    EXPECT_EQ(callee->nature, proto::NumberNature::kNational);
  }
  EXPECT_TRUE(seen);
}

TEST(Generator, InstancesGetDistinctCins) {
  Scenario s = Load("demo.toml");
  std::set<uint32_t> a, b;
  for (const Action& x : Actions(s, 0)) if (x.cin) a.insert(x.cin);
  for (const Action& x : Actions(s, 1)) if (x.cin) b.insert(x.cin);
  EXPECT_EQ(a.size(), b.size());
  for (uint32_t c : b) EXPECT_FALSE(a.contains(c)) << c;
  // Stable: the same instance gives the same bytes.
  std::vector<Action> x = Actions(s, 1), y = Actions(s, 1);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(x[i].bytes, y[i].bytes);
}

TEST(Generator, Faults) {
  Scenario s = Load("faults.toml");
  std::vector<Action> actions = Actions(s);
  proto::PsPdu pdu;
  // 1st call: CC before IRI, minimal lengths, microsecond timestamps.
  ASSERT_EQ(actions[0].kind, Kind::kCc);
  ASSERT_TRUE(proto::li_ps::DecodePsPdu(actions[0].bytes, pdu).ok());
  EXPECT_TRUE(pdu.header.microsecond_timestamp);
  // Minimal lengths: the PDU's is 82 hh ll only because it exceeds 255 octets; the PSHeader's
  // is one octet.
  ASSERT_EQ(static_cast<uint8_t>(actions[0].bytes[1]), 0x82);
  EXPECT_NE(static_cast<uint8_t>(actions[0].bytes[2]), 0);
  EXPECT_EQ(static_cast<uint8_t>(actions[0].bytes[4]), 0xA1);
  EXPECT_LT(static_cast<uint8_t>(actions[0].bytes[5]), 0x80);
  int first_iri = -1;
  for (size_t i = 0; i < actions.size(); ++i) {
    if (actions[i].kind == Kind::kIriBegin) {
      first_iri = static_cast<int>(i);
      break;
    }
  }
  EXPECT_EQ(first_iri, 5);

  // 2nd call: indefinite lengths and a gap of 5 after 3 PDUs per delivery.
  const uint32_t cin2 = [&] {
    for (const Action& a : actions) {
      if (a.cin != actions[0].cin && a.type == Action::Type::kPdu) return a.cin;
    }
    return 0u;
  }();
  std::vector<uint32_t> iri_seqs;
  for (const Action& a : actions) {
    if (a.cin == cin2 && a.type == Action::Type::kPdu && a.kind != Kind::kCc) {
      iri_seqs.push_back(a.seq);
      EXPECT_EQ(static_cast<uint8_t>(a.bytes[1]), 0x80);
      EXPECT_TRUE(proto::li_ps::DecodePsPdu(a.bytes, pdu).ok());
    }
  }
  EXPECT_EQ(iri_seqs, (std::vector<uint32_t>{0, 1, 2, 8, 9, 10, 11}));

  // Reconnects and malformed records are where the scenario puts them.
  int reconnects = 0, bad = 0;
  for (const Action& a : actions) {
    if (a.type == Action::Type::kReconnect) ++reconnects;
    if (a.type != Action::Type::kRaw) continue;
    ++bad;
    EXPECT_FALSE(proto::li_ps::DecodePsPdu(a.bytes, pdu).ok()) << a.bytes.size();
    if (a.liid.empty()) {  // garbage
      EXPECT_NE(static_cast<uint8_t>(a.bytes[0]), 0x30);
    }
  }
  EXPECT_EQ(reconnects, 2);
  EXPECT_EQ(bad, 6);
}

TEST(Generator, ForwardedTransferConferenceParties) {
  Scenario s = Load("faults.toml");
  proto::PsPdu pdu;
  std::set<std::pair<PartyRole, std::string>> seen;
  for (const Action& a : Actions(s)) {
    if (a.liid != "FAULT-0002" || a.type != Action::Type::kPdu || a.kind == Kind::kCc) continue;
    ASSERT_TRUE(proto::li_ps::DecodePsPdu(a.bytes, pdu).ok());
    for (const proto::Party& p : pdu.items[0].parties) seen.insert({p.role, p.id});
  }
  auto has = [&](PartyRole role, std::string_view part) {
    for (const auto& [r, id] : seen) {
      if (r == role && id.find(part) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has(PartyRole::kSipReferTo, "+31203333333"));   // conference member
  EXPECT_TRUE(has(PartyRole::kSipReferTo, "+31204444444"));
  EXPECT_TRUE(has(PartyRole::kSipReferTo, "+31207777777"));   // transfer
  EXPECT_TRUE(has(PartyRole::kSipDiversion, "+31612345678")); // the diverting callee
  EXPECT_TRUE(has(PartyRole::kSipRequestUri, "+31206666666"));
  EXPECT_TRUE(has(PartyRole::kOriginating, "31201234567"));   // PSTN, DSS1, 0031 notation
  EXPECT_TRUE(has(PartyRole::kTerminating, "5551234"));
  EXPECT_TRUE(has(PartyRole::kForwardedTo, "tel:+31208888888"));
}

}  // namespace
}  // namespace tapvault::sim
