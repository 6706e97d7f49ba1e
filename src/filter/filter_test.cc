#include "filter/filter.h"

#include <filesystem>
#include <string>
#include <vector>

#include "base/time.h"
#include "filter/assignment.h"
#include "filter/canary.h"
#include "gate/store_audit.h"
#include "warrant/warrant_store.h"
#include "gtest/gtest.h"
#include "metrics/registry.h"
#include "store/store.h"

namespace tapvault::filter {
namespace {

namespace fs = std::filesystem;
using store::CommState;

constexpr int64_t kHour = 3600LL * 1000000;

std::string TempDir(const std::string& name) {
  std::string dir = (fs::temp_directory_path() /
                     ("tapvault_filter_" + name + "_" + std::to_string(::getpid())))
                        .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const char kList[] =
    "identity,type,source,valid_from,valid_to,ref\n"
    "+31 20 555 1234,,NOvA,,,a1\n"
    "sip:mr.x@law.example,uri,NOvA,,,a2\n"
    "+31 10 444 55*,prefix,NOvA,,,a3\n"
    "mr.y@law.example,email,NOvA,,,a4\n"
    "+31 30 666 7777,number,NOvA,2026-06-01,,a5\n";

class FilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Filter> Open(int64_t max_age_us = 36 * kHour) {
    auto f = Filter::Open({.dir = dir_, .max_age_us = max_age_us, .review_after_us = 1000000,
                           .metrics = &metrics_});
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? std::move(*f) : nullptr;
  }
  void Import(Filter& f, const std::string& csv, int64_t now_us = base::Now().unix_us) {
    auto r = f.lists().Import(csv, {.source = "NOvA", .imported_by = "admin", .now_us = now_us},
                              f.normalizer());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(f.Refresh().ok());
  }
  store::DecisionRow Screen(Filter& f, std::vector<store::PartyRow> parties,
                            int64_t start_us = base::Now().unix_us, std::string country = "NL") {
    return f.Screen({.comm_id = 1, .liid = "L", .country = country, .start_us = start_us,
                     .parties = std::move(parties)});
  }

  std::string dir_;
  metrics::Registry metrics_;
};

TEST_F(FilterTest, WithoutAListEverythingIsQuarantined) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->state().usable);
  const uint64_t before = f->Generation();
  store::DecisionRow d = Screen(*f, {{"originating", "+31201111111", ""}});
  EXPECT_EQ(d.state, CommState::kQuarantined);
  EXPECT_EQ(d.reason, "list_unavailable");
  EXPECT_EQ(metrics_.GaugeValue("tapvault_privileged_list_usable"), 0);
  Import(*f, kList);
  EXPECT_TRUE(f->state().usable);
  EXPECT_NE(f->Generation(), before);   // the store re-decides what it holds
  EXPECT_EQ(Screen(*f, {{"originating", "+31201111111", ""}}).state, CommState::kAvailable);
}

TEST_F(FilterTest, EveryNotationOfAListedPartyMatches) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  Import(*f, kList);
  struct Case {
    store::PartyRow party;
    std::string country;
    std::string entry_type;
  };
  const std::vector<Case> cases = {
      {{"terminating", "+31205551234", ""}, "NL", "number"},
      {{"terminating", "0205551234", ""}, "NL", "number"},                 // national
      {{"terminating", "0031205551234", ""}, "NL", "number"},
      {{"terminating", "205551234", "national"}, "NL", "number"},          // ISUP national
      {{"terminating", "31205551234", "international"}, "", "number"},     // ISUP international
      {{"terminating", "31205551234", ""}, "DE", "number"},                // cc without '+'
      {{"terminating", "+31205551234123", ""}, "NL", "number"},            // 3 digits more
      {{"sip-request-uri", "sip:+31205551234@ims.example;user=phone", ""}, "NL", "number"},
      {{"sip-from", "\"Mr X\" <sip:Mr.X@LAW.example>;tag=9", ""}, "NL", "uri"},
      {{"sip-to", "tel:+31-10-444-5599", ""}, "NL", "prefix"},
      {{"other", "mailto:Mr.Y@Law.Example", ""}, "NL", "email"},
  };
  for (const Case& c : cases) {
    store::DecisionRow d = Screen(*f, {{"originating", "+31201111111", ""}, c.party}, base::Now().unix_us,
                                  c.country);
    EXPECT_EQ(d.state, CommState::kPrivileged) << c.party.id;
    EXPECT_EQ(d.reason, "list_match") << c.party.id;
    EXPECT_EQ(d.role, c.party.role) << c.party.id;
    EXPECT_EQ(d.entry_type, c.entry_type) << c.party.id;
    EXPECT_EQ(d.list_version, f->state().version);
    // A salted hash, never the identity.
    EXPECT_EQ(d.identity_hash.size(), 32u);
    EXPECT_EQ(d.identity_hash.find("555"), std::string::npos);
  }
  // Other numbers do not match; nor does a number that only shares a shorter prefix.
  EXPECT_EQ(Screen(*f, {{"terminating", "+3120555123", ""}}).state, CommState::kAvailable);
  EXPECT_EQ(Screen(*f, {{"terminating", "+31104445600", ""}}).state, CommState::kAvailable);
}

TEST_F(FilterTest, ValidityIsCheckedAtTheCommunicationsTime) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  Import(*f, kList);
  auto before = base::ParseRfc3339("2026-05-31T12:00:00Z");
  auto after = base::ParseRfc3339("2026-06-02T12:00:00Z");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(Screen(*f, {{"terminating", "+31306667777", ""}}, before->unix_us).state,
            CommState::kAvailable);
  EXPECT_EQ(Screen(*f, {{"terminating", "+31306667777", ""}}, after->unix_us).state,
            CommState::kPrivileged);
}

TEST_F(FilterTest, PartiesThatCannotBeReadStayQuarantined) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  Import(*f, kList);
  const int64_t now = base::Now().unix_us;
  EXPECT_EQ(Screen(*f, {}, now).reason, "awaiting_parties");
  EXPECT_EQ(Screen(*f, {}, now - 5000000).reason, "parties_unknown");   // to review
  store::DecisionRow garbage = Screen(*f, {{"other", "%%%", ""}}, now);
  EXPECT_EQ(garbage.state, CommState::kQuarantined);
  EXPECT_EQ(garbage.reason, "parties_unreadable");
}

TEST_F(FilterTest, AStaleListQuarantinesAndAlarms) {
  auto f = Open(/*max_age_us=*/2 * kHour);
  ASSERT_NE(f, nullptr);
  Import(*f, kList, base::Now().unix_us - 3 * kHour);
  EXPECT_FALSE(f->state().usable);
  EXPECT_TRUE(f->state().stale);
  store::DecisionRow d = Screen(*f, {{"originating", "+31201111111", ""}});
  EXPECT_EQ(d.state, CommState::kQuarantined);
  EXPECT_EQ(d.reason, "list_stale");
  EXPECT_EQ(metrics_.CounterValue("tapvault_alarms_total", {{"kind", "privileged_list_stale"}}), 1u);
  // A fresh delivery ends it.
  const uint64_t g = f->Generation();
  Import(*f, kList);
  EXPECT_TRUE(f->state().usable);
  EXPECT_NE(f->Generation(), g);
}

TEST_F(FilterTest, CheckUsesTheVersionInForceAtTheTime) {
  auto f = Open();
  ASSERT_NE(f, nullptr);
  const int64_t t1 = base::Now().unix_us - 2 * kHour;
  Import(*f, "identity\n+31205551234\n", t1);
  Import(*f, "identity\n+31205551234\n+31209999999\n");
  auto now = f->Check("\"Ms Z\" <sip:+31209999999@ims.example;user=phone>;tag=1", "NL",
                      base::Now().unix_us);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_TRUE(now->match);
  EXPECT_EQ(now->list_version, f->state().version);
  auto then = f->Check("+31 20 999 9999", "NL", t1 + kHour);
  ASSERT_TRUE(then.ok()) << then.status();
  EXPECT_FALSE(then->match);
  EXPECT_LT(then->list_version, now->list_version);
  EXPECT_EQ(f->Check("+31209999999", "NL", t1 - kHour).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(FilterTest, TheCanaryIsBlockedInEveryNotationAndAlarmsWhenNot) {
  ASSERT_TRUE(store::InitStore({.dir = dir_ + "/store"}).ok());
  auto f = Filter::Open({.dir = dir_ + "/store", .metrics = &metrics_});
  ASSERT_TRUE(f.ok()) << f.status();
  auto r = (*f)->lists().Import("identity\n+31205550000\n",
                                {.source = "NOvA", .imported_by = "admin", .now_us = base::Now().unix_us},
                                (*f)->normalizer());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*f)->Refresh().ok());
  store::StoreOptions so;
  so.dir = dir_ + "/store";
  so.screener = f->get();
  auto st = store::Store::Open(so);
  ASSERT_TRUE(st.ok()) << st.status();
  auto audit = gate::StoreAudit::Open(dir_ + "/store", "");
  ASSERT_TRUE(audit.ok()) << audit.status();
  Canary canary({.number = "+31205550000", .dir = dir_ + "/store", .metrics = &metrics_,
                 .audit = audit->get()},
                **st, **f);
  for (int i = 0; i < 5; ++i) {
    absl::Status s = canary.RunOnce();
    EXPECT_TRUE(s.ok()) << "notation " << canary.Notation(i + 1).first << ": " << s;
  }
  EXPECT_EQ(metrics_.CounterValue("tapvault_privileged_canary_runs_total", {{"outcome", "blocked"}}), 5u);
  // Every canary communication is destroyed again.
  auto cat = store::SqliteCatalog::Open(store::CatalogPath(dir_ + "/store"), false, true);
  ASSERT_TRUE(cat.ok());
  auto comms = (*cat)->ListComms({});
  ASSERT_TRUE(comms.ok());
  EXPECT_EQ(comms->size(), 5u);
  for (const auto& c : *comms) EXPECT_EQ(c.state, CommState::kDestroyed);
  // Each run's read attempt is on record, refused.
  audit::Query q;
  q.actor = "tapvault-canary";
  auto attempts = (*audit)->log().Query(q);
  ASSERT_TRUE(attempts.ok());
  EXPECT_EQ(attempts->size(), 5u);
  for (const auto& e : *attempts) EXPECT_EQ(e.event.action, "read_refused");
  // A list without the canary number: not blocked, alarm.
  Canary missing({.number = "+31205550001", .dir = dir_ + "/store", .metrics = &metrics_,
                  .audit = audit->get()},
                 **st, **f);
  absl::Status s = missing.RunOnce();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(metrics_.GaugeValue("tapvault_privileged_canary_ok"), 0);
  EXPECT_EQ(metrics_.CounterValue("tapvault_alarms_total", {{"kind", "privileged_canary"}}), 1u);
  ASSERT_TRUE((*st)->Close().ok());
}

// A fixed verdict, to see what the warrant rule does with each.
class FixedScreener : public store::Screener {
 public:
  store::DecisionRow Screen(const store::ScreenRequest&) override { return verdict; }
  uint64_t Generation() const override { return generation; }
  store::DecisionRow verdict;
  uint64_t generation = 7;
};

TEST_F(FilterTest, NoWarrantAtTheCommunicationsTimeKeepsItUnassigned) {
  FixedScreener inner;
  inner.verdict.state = CommState::kAvailable;
  inner.verdict.reason = "no_match";
  auto screener = AssignedScreener::Open({.dir = dir_, .metrics = &metrics_}, inner);
  ASSERT_TRUE(screener.ok()) << screener.status();
  const int64_t day = 86400LL * 1000000;
  const int64_t t0 = 1'800'000'000'000'000;
  store::ScreenRequest during{.comm_id = 1, .liid = "NL-1", .start_us = t0 + day};
  // No warrants.db at all: fail-closed.
  store::DecisionRow d = (*screener)->Screen(during);
  EXPECT_EQ(d.state, CommState::kQuarantined);
  EXPECT_EQ(d.reason, "unassigned");
  EXPECT_EQ(metrics_.CounterValue("tapvault_alarms_total", {{"kind", "unassigned"}}), 1u);
  // The filter's other verdicts stand: privileged is privileged with or without a warrant.
  inner.verdict.state = CommState::kPrivileged;
  EXPECT_EQ((*screener)->Screen(during).state, CommState::kPrivileged);
  inner.verdict.state = CommState::kAvailable;

  const uint64_t before = (*screener)->Generation();
  auto warrants = warrant::WarrantStore::Open(dir_, /*create=*/true);
  ASSERT_TRUE(warrants.ok()) << warrants.status();
  warrant::WarrantSpec w{.id = "W-1", .liid = "NL-1", .targets = {"+31612345678"},
                         .valid_from_us = t0, .valid_to_us = t0 + 10 * day, .team = "a"};
  ASSERT_TRUE((*warrants)->Add(w, "admin", t0).ok());
  ASSERT_TRUE((*screener)->Refresh().ok());
  EXPECT_NE((*screener)->Generation(), before) << "the store re-decides on a warrant change";
  EXPECT_EQ((*screener)->Screen(during).state, CommState::kAvailable);
  // Validity at the communication's time: [from, to).
  store::ScreenRequest edge = during;
  edge.start_us = t0 + 10 * day;
  EXPECT_EQ((*screener)->Screen(edge).reason, "unassigned");
  edge.start_us = t0;
  EXPECT_EQ((*screener)->Screen(edge).state, CommState::kAvailable);
  store::ScreenRequest other = during;
  other.liid = "NL-2";
  EXPECT_EQ((*screener)->Screen(other).reason, "unassigned");
  // Ended before the communication: unassigned again after the next refresh.
  const uint64_t with = (*screener)->Generation();
  ASSERT_TRUE((*warrants)->End("W-1", t0 + day / 2, "wrong number", "admin", t0 + day).ok());
  ASSERT_TRUE((*screener)->Refresh().ok());
  EXPECT_NE((*screener)->Generation(), with);
  EXPECT_EQ((*screener)->Screen(during).reason, "unassigned");
  // The filter's own generation moves it too.
  const uint64_t g = (*screener)->Generation();
  inner.generation++;
  EXPECT_NE((*screener)->Generation(), g);
}

}  // namespace
}  // namespace tapvault::filter
