// The fail-closed rule as a property of the read path: every way to content or party metadata
// is tried for a communication in every state, and only `available` ones come through.
#include "gate/read_gate.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "audit/verify.h"
#include "gate/store_audit.h"
#include "store/store.h"

namespace tapvault::gate {
namespace {

namespace fs = std::filesystem;
using store::CommState;

constexpr char kLawyer[] = "+31209999999";

class ListScreener : public store::Screener {
 public:
  explicit ListScreener(std::set<std::string> listed) : listed_(std::move(listed)) {}
  store::DecisionRow Screen(const store::ScreenRequest& r) override {
    store::DecisionRow d;
    d.by = "filter";
    d.list_version = 1;
    if (r.parties.empty()) {
      d.state = CommState::kQuarantined;
      d.reason = "awaiting_parties";
      return d;
    }
    for (const auto& p : r.parties) {
      if (listed_.count(p.id)) {
        d.state = CommState::kPrivileged;
        d.reason = "list_match";
        d.role = p.role;
        return d;
      }
    }
    d.state = CommState::kAvailable;
    d.reason = "no_match";
    return d;
  }
  uint64_t Generation() const override { return 1; }

 private:
  std::set<std::string> listed_;
};

class RecordingAudit : public AuditSink {
 public:
  absl::Status Record(std::string_view action, std::string_view object, const Reader& reader,
                      std::string_view outcome, const nlohmann::json& detail) override {
    entries.push_back(std::string(action) + " " + std::string(object) + " " + reader.who);
    details.push_back(detail);
    (void)outcome;
    return fail ? absl::UnavailableError("audit log: disk full") : absl::OkStatus();
  }
  std::vector<std::string> entries;
  std::vector<nlohmann::json> details;
  bool fail = false;
};

struct Fixture {
  std::string dir;
  std::map<std::string, uint64_t> ids;   // name -> comm id
};

// One communication in each state the read path must know.
Fixture MakeStore(const std::string& name) {
  Fixture fx;
  fx.dir = (fs::temp_directory_path() / ("tapvault_gate_" + name + "_" + std::to_string(::getpid())))
               .string();
  fs::remove_all(fx.dir);
  EXPECT_TRUE(store::InitStore({.dir = fx.dir}).ok());
  ListScreener screener({kLawyer});
  store::StoreOptions o;
  o.dir = fx.dir;
  o.screener = &screener;
  auto st = store::Store::Open(o);
  EXPECT_TRUE(st.ok()) << st.status();
  const std::vector<store::PartyRow> plain = {{"originating", "+31201111111", ""},
                                              {"terminating", "+31202222222", ""}};
  const std::vector<store::PartyRow> lawyer = {{"originating", "+31201111111", ""},
                                               {"terminating", kLawyer, ""}};
  const std::vector<store::PartyRow> later = {{"originating", "+31201111111", ""},
                                              {"terminating", "+31203333333", ""}};
  struct Spec {
    const char* name;
    const std::vector<store::PartyRow>* parties;
  };
  const Spec specs[] = {{"available", &plain},     {"privileged", &lawyer}, {"quarantined", nullptr},
                        {"flagged", &plain},       {"destroyed", &lawyer},  {"released", &lawyer},
                        {"listed_later", &later}};
  uint32_t cin = 0;
  for (const Spec& s : specs) {
    ++cin;
    for (uint32_t seq = 0; seq < 3; ++seq) {
      store::AppendMeta m;
      m.received_us = 1'800'000'000'000'000 + cin * 1000000 + seq;
      m.liid = "LIID-G";
      m.network_id = "op/ne";
      m.cin = cin;
      m.sequence_number = seq;
      m.parties = seq == 0 ? s.parties : nullptr;
      std::string pdu = "pdu of " + std::string(s.name) + " #" + std::to_string(seq);
      EXPECT_TRUE((*st)->Append(m, base::AsBytes(pdu)).ok());
    }
  }
  EXPECT_TRUE((*st)->Flush().ok());
  auto cat = store::SqliteCatalog::Open(store::CatalogPath(fx.dir), false, true);
  EXPECT_TRUE(cat.ok());
  auto comms = (*cat)->ListComms({});
  EXPECT_TRUE(comms.ok());
  for (const auto& c : *comms) fx.ids[specs[*c.cin - 1].name] = c.id;
  using Act = store::DecisionOrder::Act;
  EXPECT_TRUE((*st)->Decide({.act = Act::kFlag, .comm_id = fx.ids["flagged"], .by = "inspector"}).ok());
  for (const char* who : {"ovj", "ovj-2"}) {   // four eyes
    EXPECT_TRUE((*st)->Decide({.act = Act::kConfirm, .comm_id = fx.ids["destroyed"],
                               .order_ref = "PV-1", .by = who})
                    .ok());
  }
  for (const char* who : {"ovj-a", "ovj-b"}) {
    EXPECT_TRUE((*st)->Decide({.act = Act::kRelease, .comm_id = fx.ids["released"],
                               .order_ref = "R-1", .reason = "the lawyer is a suspect", .by = who})
                    .ok());
  }
  EXPECT_TRUE((*st)->Close().ok());
  return fx;
}

TEST(ReadGateTest, OnlyAvailableCommunicationsAreReadOnEveryPath) {
  Fixture fx = MakeStore("paths");
  // The list as it is now: it also lists the party of "listed_later" (imported while no server
  // ran to re-decide stored communications).
  ListScreener now({kLawyer, "+31203333333"});
  RecordingAudit audit;
  auto gate = ReadGate::Open({.dir = fx.dir, .recheck = &now, .audit = &audit});
  ASSERT_TRUE(gate.ok()) << gate.status();
  const Reader reader{.who = "j.jansen", .purpose = "test"};

  // What each state must give: content or PermissionDenied (NotFound for none here).
  const std::map<std::string, bool> readable = {
      {"available", true},  {"privileged", false}, {"quarantined", false}, {"flagged", false},
      {"destroyed", false}, {"released", true},    {"listed_later", false}};
  ASSERT_EQ(fx.ids.size(), readable.size());

  // Path 1: content.
  for (const auto& [name, ok] : readable) {
    auto records = (*gate)->ReadComm(fx.ids.at(name), reader);
    if (ok) {
      ASSERT_TRUE(records.ok()) << name << ": " << records.status();
      ASSERT_EQ(records->size(), 3u) << name;
      EXPECT_EQ(records->front().pdu, "pdu of " + name + " #0");
    } else {
      EXPECT_EQ(records.status().code(), absl::StatusCode::kPermissionDenied) << name;
    }
  }
  // Path 2: metadata (the party list of a privileged call is itself privileged information).
  auto listed = (*gate)->ListComms({}, reader);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), readable.size());
  for (const Listed& l : *listed) {
    const std::string name = [&] {
      for (const auto& [n, id] : fx.ids)
        if (id == l.comm.id) return n;
      return std::string();
    }();
    EXPECT_EQ(l.readable, readable.at(name)) << name;
    if (!l.readable) {
      EXPECT_TRUE(l.comm.parties.empty()) << name;
      for (const auto& p : l.comm.parties) EXPECT_NE(p.id, kLawyer);
    } else {
      EXPECT_FALSE(l.comm.parties.empty()) << name;
    }
  }
  // Path 3: the same question asked directly.
  store::CommRow privileged;
  privileged.id = 1;
  privileged.state = CommState::kPrivileged;
  EXPECT_EQ((*gate)->MayRead(privileged).code(), absl::StatusCode::kPermissionDenied);
  // Unknown communication.
  EXPECT_EQ((*gate)->ReadComm(9999, reader).status().code(), absl::StatusCode::kNotFound);
  // Every read and every refusal was recorded.
  size_t reads = 0, refusals = 0;
  for (const std::string& e : audit.entries) {
    reads += e.rfind("read_content ", 0) == 0;
    refusals += e.rfind("read_refused ", 0) == 0;
  }
  EXPECT_EQ(reads, 2u);
  EXPECT_EQ(refusals, 5u);
  fs::remove_all(fx.dir);
}

TEST(ReadGateTest, WithoutAFilterNothingIsRead) {
  Fixture fx = MakeStore("nofilter");
  RecordingAudit audit;
  auto gate = ReadGate::Open({.dir = fx.dir, .audit = &audit});
  ASSERT_TRUE(gate.ok());
  auto r = (*gate)->ReadComm(fx.ids.at("available"), {.who = "x"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  // A prosecutor's release does not depend on the list.
  EXPECT_TRUE((*gate)->ReadComm(fx.ids.at("released"), {.who = "x"}).ok());
  fs::remove_all(fx.dir);
}

TEST(ReadGateTest, AReadThatCannotBeAuditedIsRefused) {
  Fixture fx = MakeStore("audit");
  ListScreener now({kLawyer});
  RecordingAudit audit;
  audit.fail = true;
  auto gate = ReadGate::Open({.dir = fx.dir, .recheck = &now, .audit = &audit});
  ASSERT_TRUE(gate.ok());
  auto r = (*gate)->ReadComm(fx.ids.at("available"), {.who = "x"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(r.status().message()).find("audit"), std::string::npos);
  EXPECT_FALSE((*gate)->ListComms({}, {.who = "x"}).ok());
  fs::remove_all(fx.dir);
}

// The real audit log: each read and listing is in the store's tamper-evident log before the
// answer, with who and what, and the log verifies offline with its published key.
TEST(ReadGateTest, ReadsAreInTheStoresAuditLogBeforeTheAnswer) {
  Fixture fx = MakeStore("storeaudit");
  ListScreener now({kLawyer});
  auto audit = StoreAudit::Open(fx.dir, "");
  ASSERT_TRUE(audit.ok()) << audit.status();
  auto gate = ReadGate::Open({.dir = fx.dir, .recheck = &now, .audit = audit->get()});
  ASSERT_TRUE(gate.ok()) << gate.status();
  const Reader who{.who = "j.jansen", .role = "investigator", .purpose = "test"};
  ASSERT_TRUE((*gate)->ReadComm(fx.ids.at("available"), who).ok());
  EXPECT_FALSE((*gate)->ReadComm(fx.ids.at("privileged"), who).ok());
  auto listed = (*gate)->ListComms({.liid = "LIID-G"}, who);
  ASSERT_TRUE(listed.ok());

  audit::Query q;
  q.actor = "j.jansen";
  auto entries = (*audit)->log().Query(q);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].event.action, "read_content");
  EXPECT_EQ((*entries)[0].event.object, "comm:" + std::to_string(fx.ids.at("available")));
  EXPECT_EQ((*entries)[0].event.role, "investigator");
  EXPECT_EQ((*entries)[0].event.detail["purpose"], "test");
  EXPECT_EQ((*entries)[1].event.action, "read_refused");
  EXPECT_EQ((*entries)[2].event.action, "read_metadata");
  EXPECT_EQ((*entries)[2].event.detail["liid"], "LIID-G");
  EXPECT_EQ((*entries)[2].event.detail["rows"], listed->size());
  EXPECT_EQ((*entries)[2].event.detail["ids"].size(), listed->size());

  // A person's scope is applied inside the gate: the record names what they saw, not what the
  // catalog held. And a page stops after max_rows visible rows, naming where to continue.
  const uint64_t only = fx.ids.at("available");
  auto scoped = (*gate)->ListVisible(
      {}, who, {.visible = [&](const store::CommRow& c) { return c.id == only; }});
  ASSERT_TRUE(scoped.ok()) << scoped.status();
  ASSERT_EQ(scoped->rows.size(), 1u);
  EXPECT_EQ(scoped->rows[0].comm.id, only);
  EXPECT_GT(scoped->scanned, 1u);
  auto last = (*audit)->log().Query(q);
  ASSERT_TRUE(last.ok());
  const audit::Event& rec = last->back().event;
  EXPECT_EQ(rec.detail["rows"], 1);
  EXPECT_EQ(rec.detail["ids"], nlohmann::json::array({only}));
  EXPECT_EQ(rec.detail["scanned"], scoped->scanned);
  auto first = (*gate)->ListVisible({}, who, {.max_rows = 1});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->rows.size(), 1u);
  EXPECT_TRUE(first->stopped_at_max);
  EXPECT_EQ(first->scanned, 1u);
  EXPECT_EQ(first->last_scanned_id, first->rows[0].comm.id);

  gate->reset();
  audit->reset();   // signs a last checkpoint
  std::string vkey;
  {
    std::ifstream f(store::AuditDir(fx.dir) + "/verifier.vkey");
    std::getline(f, vkey);
  }
  auto report = audit::VerifyLog(store::AuditDir(fx.dir), vkey, std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->Summary();
  fs::remove_all(fx.dir);
}

TEST(ReadGateTest, NoAuditLogNoGate) {
  Fixture fx = MakeStore("noaudit");
  ListScreener now({kLawyer});
  auto gate = ReadGate::Open({.dir = fx.dir, .recheck = &now});
  EXPECT_EQ(gate.status().code(), absl::StatusCode::kFailedPrecondition);
  fs::remove_all(fx.dir);
}

// By construction: ContentReader's read is private; only the gate and the store's own tests may
// use it. This test fails when someone adds another friend or uses the test access in product code.
TEST(ReadGateTest, NoOtherCodeReachesDecryptedContent) {
  const fs::path src = fs::path(std::getenv("TAPVAULT_SOURCE_DIR")) / "src";
  std::ifstream h(src / "store/store.h");
  std::stringstream header;
  header << h.rdbuf();
  std::string text = header.str();
  std::vector<std::string> friends;
  const std::regex friend_line(R"(friend (class|struct) [^;]+;)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), friend_line);
       it != std::sregex_iterator(); ++it) {
    friends.push_back(it->str());
  }
  EXPECT_EQ(friends, (std::vector<std::string>{"friend class gate::ReadGate;",
                                               "friend struct ContentReaderTestAccess;"}));
  for (const auto& entry : fs::recursive_directory_iterator(src)) {
    const std::string path = entry.path().string();
    if (!entry.is_regular_file() || path.ends_with("_test.cc")) continue;
    if (!path.ends_with(".cc") && !path.ends_with(".h")) continue;
    std::ifstream in(entry.path());
    std::stringstream body;
    body << in.rdbuf();
    const std::string b = body.str();
    if (path.ends_with("store/store.h")) continue;
    EXPECT_EQ(b.find("ContentReaderTestAccess"), std::string::npos) << path;
  }
}

}  // namespace
}  // namespace tapvault::gate
