// The store's side of the privileged-party filter: every communication starts quarantined, the
// screener's verdicts are committed with the parties, a new generation re-decides stored
// communications (retroactive), and people's decisions (flag, release with four eyes, confirm
// with a signed proces-verbaal) take effect.
#include <filesystem>
#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/screen.h"
#include "store/store.h"
#include "store/verify.h"
#include "tlog/note.h"

namespace tapvault::store {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const char* name) {
  std::string dir = (fs::temp_directory_path() /
                     (std::string("tapvault_decision_") + name + "_" + std::to_string(::getpid())))
                        .string();
  fs::remove_all(dir);
  return dir;
}

// A screener with a set of listed party ids: any listed id makes a communication privileged;
// no parties keep it quarantined.
class SetScreener : public Screener {
 public:
  DecisionRow Screen(const ScreenRequest& r) override {
    absl::MutexLock l(&mu_);
    ++calls_;
    DecisionRow d;
    d.by = "filter";
    d.list_version = generation_;
    if (r.parties.empty()) {
      d.state = CommState::kQuarantined;
      d.reason = "awaiting_parties";
      return d;
    }
    for (const PartyRow& p : r.parties) {
      if (listed_.count(p.id)) {
        d.state = CommState::kPrivileged;
        d.reason = "list_match";
        d.role = p.role;
        d.identity_hash = "h";
        return d;
      }
    }
    d.state = CommState::kAvailable;
    d.reason = "no_match";
    return d;
  }
  uint64_t Generation() const override {
    absl::MutexLock l(&mu_);
    return generation_;
  }
  void List(const std::string& id) {
    absl::MutexLock l(&mu_);
    listed_.insert(id);
    ++generation_;
  }
  void Unlist(const std::string& id) {
    absl::MutexLock l(&mu_);
    listed_.erase(id);
    ++generation_;
  }

 private:
  mutable absl::Mutex mu_;
  std::set<std::string> listed_;
  uint64_t generation_ = 1;
  int calls_ = 0;
};

AppendMeta Meta(uint32_t cin, uint32_t seq, const std::vector<PartyRow>* parties) {
  AppendMeta m;
  m.received_us = 1'800'000'000'000'000 + seq * 1000;
  m.connection_id = 1;
  m.handover = 1;
  m.kind = parties ? 1 : 6;
  m.liid = "LIID-P";
  m.network_id = "op/ne";
  m.cin = cin;
  m.sequence_number = seq;
  m.parties = parties;
  m.country = "NL";
  return m;
}

CommRow CommOf(const std::string& dir, uint32_t cin) {
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  EXPECT_TRUE(cat.ok()) << cat.status();
  auto comms = (*cat)->ListComms({});
  EXPECT_TRUE(comms.ok());
  for (auto& c : *comms) {
    if (c.cin == cin) return c;
  }
  ADD_FAILURE() << "no communication with CIN " << cin;
  return {};
}

// Waits (bounded) until the communication with `cin` is in `state`.
bool WaitForState(const std::string& dir, uint32_t cin, CommState state) {
  for (int i = 0; i < 200; ++i) {
    if (CommOf(dir, cin).state == state) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

class DecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_TRUE(InitStore({.dir = dir_}).ok());
    StoreOptions o;
    o.dir = dir_;
    o.screener = &screener_;
    o.control_interval_us = 20000;
    o.rescreen_interval_us = 50000;
    auto st = Store::Open(o);
    ASSERT_TRUE(st.ok()) << st.status();
    store_ = std::move(*st);
  }
  void TearDown() override {
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
    }
    fs::remove_all(dir_);
  }
  void Append(uint32_t cin, uint32_t seq, const std::vector<PartyRow>* parties) {
    std::string pdu(100, static_cast<char>(seq));
    ASSERT_TRUE(store_->Append(Meta(cin, seq, parties), base::AsBytes(pdu)).ok());
  }

  std::string dir_;
  SetScreener screener_;
  std::unique_ptr<Store> store_;
};

const std::vector<PartyRow> kPlain = {{"originating", "+31201111111", ""},
                                      {"terminating", "+31202222222", ""}};
const std::vector<PartyRow> kLawyer = {{"originating", "+31201111111", ""},
                                       {"forwarded-to", "+31209999999", "international"}};

TEST_F(DecisionTest, VerdictsAreCommittedWithTheParties) {
  screener_.List("+31209999999");
  Append(1, 1, &kPlain);
  Append(2, 2, &kLawyer);
  Append(3, 3, nullptr);   // CC before any IRI
  ASSERT_TRUE(store_->Flush().ok());
  CommRow plain = CommOf(dir_, 1), lawyer = CommOf(dir_, 2), cc_only = CommOf(dir_, 3);
  EXPECT_EQ(plain.state, CommState::kAvailable);
  EXPECT_EQ(plain.state_reason, "no_match");
  EXPECT_EQ(lawyer.state, CommState::kPrivileged);
  EXPECT_EQ(lawyer.state_reason, "list_match");
  EXPECT_EQ(cc_only.state, CommState::kQuarantined);
  EXPECT_EQ(cc_only.country, "NL");
  // The party's nature of address is kept for the filter.
  bool nature_kept = false;
  for (const PartyRow& p : lawyer.parties) nature_kept |= p.nature == "international";
  EXPECT_TRUE(nature_kept);
  // The IRI arrives: the waiting communication is decided.
  Append(3, 4, &kPlain);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(CommOf(dir_, 3).state, CommState::kAvailable);
  // A later party that is listed makes a decided communication privileged.
  Append(1, 5, &kLawyer);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
}

TEST_F(DecisionTest, ANewListVersionDecidesStoredCommunicationsAgainAndRemovalReleasesNothing) {
  Append(1, 1, &kLawyer);
  Append(2, 2, &kPlain);
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_EQ(CommOf(dir_, 1).state, CommState::kAvailable);
  screener_.List("+31209999999");
  EXPECT_TRUE(WaitForState(dir_, 1, CommState::kPrivileged));
  EXPECT_EQ(CommOf(dir_, 2).state, CommState::kAvailable);
  screener_.Unlist("+31209999999");
  absl::SleepFor(absl::Milliseconds(300));   // several control rounds
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  auto cat = SqliteCatalog::Open(CatalogPath(dir_), false, true);
  ASSERT_TRUE(cat.ok());
  auto decisions = (*cat)->Decisions(CommOf(dir_, 1).id, std::nullopt, std::nullopt);
  ASSERT_TRUE(decisions.ok());
  ASSERT_FALSE(decisions->empty());
  EXPECT_EQ(decisions->back().state, CommState::kPrivileged);
  EXPECT_EQ(decisions->back().role, "forwarded-to");
}

TEST_F(DecisionTest, AFlagBlocksAtOnce) {
  Append(1, 1, &kPlain);
  ASSERT_TRUE(store_->Flush().ok());
  const uint64_t id = CommOf(dir_, 1).id;
  auto r = store_->Decide({.act = DecisionOrder::Act::kFlag, .comm_id = id, .by = "inspector"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, "flagged");
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  EXPECT_EQ(CommOf(dir_, 1).state_reason, "manual_flag");
  // Automatic verdicts never undo it (the screener still says "no match").
  Append(1, 2, &kLawyer);
  ASSERT_TRUE(store_->Flush().ok());
  screener_.Unlist("nothing");
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  auto unknown = store_->Decide({.act = DecisionOrder::Act::kFlag, .comm_id = 999, .by = "x"});
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  auto anonymous = store_->Decide({.act = DecisionOrder::Act::kFlag, .comm_id = id});
  EXPECT_EQ(anonymous.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DecisionTest, ReleaseNeedsAReasonAndASecondPerson) {
  screener_.List("+31209999999");
  Append(1, 1, &kLawyer);
  ASSERT_TRUE(store_->Flush().ok());
  const uint64_t id = CommOf(dir_, 1).id;
  using Act = DecisionOrder::Act;
  EXPECT_EQ(store_->Decide({.act = Act::kRelease, .comm_id = id, .order_ref = "OvJ-1", .by = "a"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);   // no reason
  auto first = store_->Decide({.act = Act::kRelease, .comm_id = id, .order_ref = "OvJ-1",
                               .reason = "the lawyer is a suspect", .by = "prosecutor-a"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, "release_pending_second_person");
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  auto same = store_->Decide({.act = Act::kRelease, .comm_id = id, .order_ref = "OvJ-1",
                              .reason = "again", .by = "prosecutor-a"});
  EXPECT_EQ(same.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  auto second = store_->Decide({.act = Act::kRelease, .comm_id = id, .order_ref = "OvJ-1",
                                .reason = "agreed", .by = "prosecutor-b"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, "released");
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kAvailable);
  // The release stands against the filter, which still matches the party.
  screener_.List("+31200000000");
  absl::SleepFor(absl::Milliseconds(300));
  Append(1, 2, &kLawyer);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kAvailable);
  // Releasing what is not privileged is refused.
  Append(2, 3, &kPlain);
  ASSERT_TRUE(store_->Flush().ok());
  auto not_privileged = store_->Decide({.act = Act::kRelease, .comm_id = CommOf(dir_, 2).id,
                                        .order_ref = "x", .reason = "y", .by = "z"});
  EXPECT_EQ(not_privileged.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DecisionTest, ConfirmDestroysWithASignedProcesVerbaal) {
  screener_.List("+31209999999");
  Append(1, 1, &kLawyer);
  Append(1, 2, nullptr);
  Append(2, 3, &kPlain);
  ASSERT_TRUE(store_->Flush().ok());
  const uint64_t id = CommOf(dir_, 1).id;
  // Four eyes: the first confirmation waits, the same person again is refused, a second destroys.
  auto first = store_->Decide({.act = DecisionOrder::Act::kConfirm, .comm_id = id,
                               .order_ref = "PV-2026-17", .by = "ovj-eerste"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, "destruction_pending_second_person");
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kPrivileged);
  auto same = store_->Decide({.act = DecisionOrder::Act::kConfirm, .comm_id = id,
                              .order_ref = "PV-2026-17", .by = "ovj-eerste"});
  EXPECT_EQ(same.status().code(), absl::StatusCode::kFailedPrecondition);
  auto r = store_->Decide({.act = DecisionOrder::Act::kConfirm, .comm_id = id,
                           .order_ref = "PV-2026-17", .by = "officier-van-justitie"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, "destroyed");
  ASSERT_TRUE(r->destruction.has_value());
  EXPECT_EQ(r->destruction->records, 2u);
  EXPECT_EQ(CommOf(dir_, 1).state, CommState::kDestroyed);
  EXPECT_EQ(CommOf(dir_, 2).state, CommState::kAvailable);
  // The proces-verbaal is part of the signed destruction record in the log.
  auto vkey = SqliteCatalog::Open(CatalogPath(dir_), false, true);
  ASSERT_TRUE(vkey.ok());
  auto key = (*vkey)->GetMeta("verifier_key");
  ASSERT_TRUE(key.ok() && key->has_value());
  auto body = tlog::OpenSignedNote(r->destruction->signed_record, **key);
  ASSERT_TRUE(body.ok()) << body.status();
  nlohmann::json doc = nlohmann::json::parse(*body);
  const nlohmann::json& pv = doc["official_record"];
  EXPECT_EQ(pv["type"], "proces-verbaal van vernietiging");
  EXPECT_EQ(pv["liid"], "LIID-P");
  EXPECT_EQ(pv["order"], "PV-2026-17");
  EXPECT_EQ(pv["confirmed_by"], "officier-van-justitie");
  EXPECT_EQ(pv["first_confirmed_by"], "ovj-eerste");
  EXPECT_EQ(pv["list_version"], screener_.Generation());
  EXPECT_EQ(pv["recognised"]["how"], "list_match");
  EXPECT_EQ(pv["recognised"]["party_role"], "forwarded-to");
  EXPECT_TRUE(pv.contains("method"));
  // Confirming twice, or confirming what is not privileged, is refused.
  auto again = store_->Decide({.act = DecisionOrder::Act::kConfirm, .comm_id = id,
                               .order_ref = "PV-2026-17", .by = "ovj"});
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->Close().ok());
  store_.reset();
  auto report = Verify({.dir = dir_});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok) << report->Summary();
}

TEST(DecisionNoScreenerTest, WithoutAScreenerNothingBecomesAvailable) {
  std::string dir = TempDir("noscreener");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir});
  ASSERT_TRUE(st.ok()) << st.status();
  std::string pdu(50, 'x');
  ASSERT_TRUE((*st)->Append(Meta(1, 1, &kPlain), base::AsBytes(pdu)).ok());
  ASSERT_TRUE((*st)->Close().ok());
  CommRow c = CommOf(dir, 1);
  EXPECT_EQ(c.state, CommState::kQuarantined);
  EXPECT_EQ(c.state_reason, "no_filter");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tapvault::store
