// ListStore: versions, the rules of an import (whole-file rejection, shrink hold with four-eyes
// confirmation, staleness), diffs, the version in force at a time, and a million entries.
#include "privileged/list_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/hex.h"
#include "base/strings.h"
#include "crypto/digest.h"

namespace tapvault::privileged {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = identity::Reading::Kind;

const identity::Normalizer& Norm() {
  static const identity::Normalizer* n = new identity::Normalizer("NL");
  return *n;
}

constexpr int64_t kHour = 3'600'000'000;
constexpr int64_t kT0 = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/privileged_test_XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A list of numbers +3161000000 + i for i in [first, first + count).
std::string Numbers(int first, int count) {
  std::string csv = "identity,type,source,valid_from,valid_to,ref\n";
  for (int i = first; i < first + count; ++i)
    csv += base::StrCat("+316", 10'000'000 + i, ",,,,,\n");
  return csv;
}

std::vector<identity::Reading> Num(std::string n) { return {{Kind::kNumber, std::move(n)}}; }

class ListStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/privileged.db";
    auto s = ListStore::Open(path_, true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  absl::StatusOr<ImportResult> Import(std::string_view csv, std::string by = "alice",
                                      int64_t now = kT0, double max_shrink = 0.10,
                                      std::vector<LineError>* errors = nullptr) {
    return store_->Import(csv,
                          {.source = "NOvA",
                           .region = "NL",
                           .imported_by = std::move(by),
                           .max_shrink = max_shrink,
                           .now_us = now},
                          Norm(), errors);
  }

  bool Matches(uint64_t version, std::string number, int64_t at = kT0) {
    auto m = store_->LoadMatcher(version);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() && (*m)->MatchReadings(Num(std::move(number)), at).has_value();
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<ListStore> store_;
};

TEST_F(ListStoreTest, OpenCreatesAPrivateFileAndRefusesMissingOrForeignFiles) {
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ListStore::Open(dir_.path() + "/missing.db", false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ListStore::Open(dir_.path() + "/no/such/dir.db", true).status().code(),
            absl::StatusCode::kNotFound);
  std::string junk = dir_.path() + "/junk.db";
  std::ofstream(junk) << "this is not a database, it is a text file of some length......";
  EXPECT_FALSE(ListStore::Open(junk, false).ok());
  std::string other = dir_.path() + "/other.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(ListStore::Open(other, false).status().code(), absl::StatusCode::kFailedPrecondition);
  // Reopening an existing list with create=true keeps it.
  ASSERT_TRUE(Import(Numbers(0, 3)).ok());
  auto again = ListStore::Open(path_, true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*(*again)->ActiveVersionId(), 1u);
}

TEST_F(ListStoreTest, NoListMeansNoActiveVersion) {
  EXPECT_EQ(*store_->ActiveVersionId(), 0u);
  EXPECT_FALSE(store_->Active()->has_value());
  EXPECT_FALSE(store_->InForceAt(kT0)->has_value());
  EXPECT_TRUE(store_->Versions()->empty());
  EXPECT_EQ(store_->Entries(1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->LoadMatcher(1).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ListStoreTest, FirstImportIsActiveWithHashAndCounts) {
  std::string csv = Numbers(0, 10) + "+31610000000,,,,,\n" + "sip:mr.x@law.example,,,,,\n";
  auto r = Import(csv);
  ASSERT_TRUE(r.ok()) << r.status();
  const VersionInfo& v = r->version;
  EXPECT_EQ(v.id, 1u);
  EXPECT_EQ(v.status, "active");
  EXPECT_EQ(v.entries, 11u);
  EXPECT_EQ(v.added, 11u);
  EXPECT_EQ(v.removed, 0u);
  EXPECT_EQ(v.duplicates, 1u);
  EXPECT_EQ(v.base, 0u);
  EXPECT_EQ(v.shrink, 0.0);
  EXPECT_EQ(v.imported_by, "alice");
  EXPECT_EQ(v.source, "NOvA");
  EXPECT_EQ(v.in_force_from_us, kT0);
  crypto::Sha256Digest d =
      crypto::Sha256({std::span(reinterpret_cast<const uint8_t*>(csv.data()), csv.size())});
  EXPECT_EQ(v.sha256_hex, base::ToHex(std::as_bytes(std::span(d))));
  EXPECT_EQ(*store_->ActiveVersionId(), 1u);
  EXPECT_EQ((*store_->Active())->sha256_hex, v.sha256_hex);
  auto entries = store_->Entries(1);
  ASSERT_TRUE(entries.ok());
  auto parsed = ParseListCsv(csv, {.default_source = "NOvA"}, Norm(), nullptr);
  EXPECT_EQ(*entries, *parsed);
  EXPECT_TRUE(Matches(1, "+31610000009"));
  EXPECT_FALSE(Matches(1, "+31610000010"));
}

TEST_F(ListStoreTest, BadFileChangesNothingAndNamesEveryLine) {
  ASSERT_TRUE(Import(Numbers(0, 5)).ok());
  std::vector<LineError> errors;
  auto r = Import(Numbers(0, 5) + "12,,,,,\n+31610000099,,,2026-02-30,,\n", "bob", kT0 + kHour,
                  0.10, &errors);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<size_t> lines;
  for (const LineError& e : errors) lines.push_back(e.line);
  EXPECT_THAT(lines, ElementsAre(7, 8));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 7: "));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("line 8: "));
  auto versions = store_->Versions();
  ASSERT_EQ(versions->size(), 1u);
  EXPECT_EQ((*versions)[0].status, "active");
  EXPECT_EQ(*store_->ActiveVersionId(), 1u);
}

TEST_F(ListStoreTest, NextImportStoresItsDiffAndSupersedesThePrevious) {
  ASSERT_TRUE(Import(Numbers(0, 100)).ok());
  // 5 removed (0..4), 7 added (100..106): 5% shrink.
  auto r = Import(Numbers(5, 102), "bob", kT0 + 24 * kHour);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version.status, "active");
  EXPECT_EQ(r->version.entries, 102u);
  EXPECT_EQ(r->version.added, 7u);
  EXPECT_EQ(r->version.removed, 5u);
  EXPECT_DOUBLE_EQ(r->version.shrink, 0.05);
  EXPECT_EQ(r->version.base, 1u);
  auto old = store_->Version(1);
  EXPECT_EQ(old->status, "superseded");
  EXPECT_EQ(old->in_force_to_us, kT0 + 24 * kHour);
  auto diff = store_->DiffOf(2);
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->base, 1u);
  ASSERT_EQ(diff->added.size(), 7u);
  ASSERT_EQ(diff->removed.size(), 5u);
  EXPECT_EQ(diff->added[0].value, "+31610000100");
  EXPECT_EQ(diff->removed[0].value, "+31610000000");
  // History stays readable.
  EXPECT_EQ(store_->Entries(1)->size(), 100u);
  EXPECT_EQ(store_->Entries(2)->size(), 102u);
  EXPECT_TRUE(Matches(1, "+31610000000"));
  EXPECT_FALSE(Matches(2, "+31610000000"));
  EXPECT_TRUE(Matches(2, "+31610000106"));
  auto first = store_->DiffOf(1);
  EXPECT_EQ(first->base, 0u);
  EXPECT_EQ(first->added.size(), 100u);
  EXPECT_TRUE(first->removed.empty());
}

TEST_F(ListStoreTest, IdenticalFileIsANewVersionThatResetsStaleness) {
  ASSERT_TRUE(Import(Numbers(0, 10)).ok());
  auto active = *store_->Active();
  EXPECT_FALSE(IsStale(*active, kT0 + 36 * kHour, kDefaultMaxAgeUs));
  EXPECT_TRUE(IsStale(*active, kT0 + 36 * kHour + 1, kDefaultMaxAgeUs));
  auto r = Import(Numbers(0, 10), "alice", kT0 + 30 * kHour);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version.id, 2u);
  EXPECT_EQ(r->version.status, "active");
  EXPECT_EQ(r->version.added, 0u);
  EXPECT_EQ(r->version.removed, 0u);
  EXPECT_EQ(r->version.sha256_hex, (*store_->Version(1)).sha256_hex);
  active = *store_->Active();
  EXPECT_EQ(active->id, 2u);
  EXPECT_FALSE(IsStale(*active, kT0 + 36 * kHour + 1, kDefaultMaxAgeUs));
  EXPECT_TRUE(IsStale(*active, kT0 + 66 * kHour + 1, kDefaultMaxAgeUs));
}

TEST_F(ListStoreTest, LargeShrinkIsHeldUntilASecondAdministratorConfirms) {
  ASSERT_TRUE(Import(Numbers(0, 100)).ok());
  // A truncated delivery: 80 of 100 entries (20% removed), plus one new.
  auto r = Import(Numbers(0, 80) + "+31620000000,,,,,\n", "alice", kT0 + kHour);
  ASSERT_TRUE(r.ok()) << r.status();
  const uint64_t held = r->version.id;
  EXPECT_EQ(r->version.status, "held");
  EXPECT_EQ(r->version.removed, 20u);
  EXPECT_EQ(r->version.added, 1u);
  EXPECT_DOUBLE_EQ(r->version.shrink, 0.20);
  EXPECT_EQ(r->version.in_force_from_us, 0);
  EXPECT_THAT(r->message, HasSubstr("other than alice"));
  // Not in force: version 1 still is.
  EXPECT_EQ(*store_->ActiveVersionId(), 1u);
  EXPECT_EQ((*store_->InForceAt(kT0 + 2 * kHour))->id, 1u);
  EXPECT_TRUE(Matches(1, "+31610000090"));
  // Its own content and diff are there for review.
  EXPECT_EQ(store_->Entries(held)->size(), 81u);
  EXPECT_EQ(store_->DiffOf(held)->removed.size(), 20u);
  EXPECT_EQ(store_->DiffOf(held)->added.size(), 1u);
  EXPECT_FALSE(Matches(held, "+31610000090"));
  EXPECT_TRUE(Matches(held, "+31620000000"));
  // Four eyes: the importer cannot confirm, in any spelling.
  for (std::string_view same : {"alice", "Alice", " ALICE "}) {
    EXPECT_EQ(store_->Confirm(held, same, kT0 + 2 * kHour).status().code(),
              absl::StatusCode::kFailedPrecondition)
        << same;
  }
  EXPECT_EQ(store_->Confirm(held, "", kT0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Confirm(1, "bob", kT0).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Confirm(99, "bob", kT0).status().code(), absl::StatusCode::kNotFound);
  auto c = store_->Confirm(held, "bob", kT0 + 3 * kHour);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, "active");
  EXPECT_EQ(c->confirmed_by, "bob");
  EXPECT_EQ(c->confirmed_us, kT0 + 3 * kHour);
  EXPECT_EQ(c->in_force_from_us, kT0 + 3 * kHour);
  EXPECT_EQ(*store_->ActiveVersionId(), held);
  EXPECT_EQ((*store_->Version(1)).status, "superseded");
  EXPECT_EQ(store_->Entries(held)->size(), 81u);
  EXPECT_EQ(store_->Entries(1)->size(), 100u);
  EXPECT_FALSE(Matches(held, "+31610000090"));
  EXPECT_TRUE(Matches(held, "+31620000000"));
  EXPECT_TRUE(Matches(1, "+31610000090"));
  EXPECT_EQ(store_->DiffOf(held)->removed.size(), 20u);
  // Confirmed twice: no.
  EXPECT_EQ(store_->Confirm(held, "carol", kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The next import diffs against the confirmed version.
  auto next = Import(Numbers(0, 80) + "+31620000000,,,,,\n", "alice", kT0 + 24 * kHour);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->version.status, "active");
  EXPECT_EQ(next->version.added + next->version.removed, 0u);
}

TEST_F(ListStoreTest, ShrinkLimitIsConfigurableAndExclusive) {
  ASSERT_TRUE(Import(Numbers(0, 100)).ok());
  auto r = Import(Numbers(0, 90), "alice", kT0 + kHour);  // exactly 10%: not more than
  EXPECT_EQ(r->version.status, "active");
  r = Import(Numbers(0, 60), "alice", kT0 + 2 * kHour, 0.5);  // 33% under a 50% limit
  EXPECT_EQ(r->version.status, "active");
  r = Import(Numbers(0, 59), "alice", kT0 + 3 * kHour, 0.0);  // any removal under 0
  EXPECT_EQ(r->version.status, "held");
  EXPECT_EQ(Import(Numbers(0, 59), "alice", kT0, 1.5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Import(Numbers(0, 59), " ", kT0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ListStoreTest, RejectKeepsTheVersionInForce) {
  ASSERT_TRUE(Import(Numbers(0, 100)).ok());
  auto r = Import(Numbers(0, 10), "alice", kT0 + kHour);
  ASSERT_EQ(r->version.status, "held");
  auto j = store_->Reject(r->version.id, "alice", kT0 + 2 * kHour);  // the importer may
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->status, "rejected");
  EXPECT_EQ(j->confirmed_by, "alice");
  EXPECT_EQ(*store_->ActiveVersionId(), 1u);
  EXPECT_EQ(store_->Confirm(r->version.id, "bob", kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reject(1, "bob", kT0).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Entries(r->version.id)->size(), 10u) << "kept for the record";
  EXPECT_EQ(store_->Entries(1)->size(), 100u);
  // A later import diffs against version 1, not against the rejected one.
  auto next = Import(Numbers(0, 100), "alice", kT0 + 24 * kHour);
  EXPECT_EQ(next->version.base, 1u);
  EXPECT_EQ(next->version.added + next->version.removed, 0u);
}

TEST_F(ListStoreTest, ANewerImportSupersedesAHeldVersion) {
  ASSERT_TRUE(Import(Numbers(0, 100)).ok());
  auto held = Import(Numbers(0, 50), "alice", kT0 + kHour);
  ASSERT_EQ(held->version.status, "held");
  // The next day's delivery is complete again.
  auto full = Import(Numbers(0, 101), "alice", kT0 + 24 * kHour);
  ASSERT_EQ(full->version.status, "active");
  EXPECT_EQ(full->version.base, 1u);
  EXPECT_EQ(full->version.added, 1u);
  EXPECT_EQ(full->version.removed, 0u);
  EXPECT_EQ((*store_->Version(held->version.id)).status, "superseded");
  // The held one, older than the version now in force, cannot be confirmed any more.
  EXPECT_EQ(store_->Confirm(held->version.id, "bob", kT0 + 25 * kHour).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Entries(held->version.id)->size(), 50u);
  EXPECT_EQ(store_->Entries(full->version.id)->size(), 101u);
  // Two held in a row: only the newest can be confirmed.
  auto h1 = Import(Numbers(0, 60), "alice", kT0 + 48 * kHour);
  auto h2 = Import(Numbers(0, 70), "alice", kT0 + 49 * kHour);
  ASSERT_EQ(h1->version.status, "held");
  ASSERT_EQ(h2->version.status, "held");
  EXPECT_EQ(h2->version.base, full->version.id);
  EXPECT_FALSE(store_->Confirm(h1->version.id, "bob", kT0 + 50 * kHour).ok());
  auto c = store_->Confirm(h2->version.id, "bob", kT0 + 50 * kHour);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(store_->Entries(h2->version.id)->size(), 70u);
  EXPECT_TRUE(Matches(h2->version.id, "+31610000069"));
  EXPECT_FALSE(Matches(h2->version.id, "+31610000070"));
}

TEST_F(ListStoreTest, InForceAtFollowsActivationTimes) {
  ASSERT_TRUE(Import(Numbers(0, 10), "alice", kT0).ok());
  ASSERT_TRUE(Import(Numbers(0, 11), "alice", kT0 + 24 * kHour).ok());
  auto held = Import(Numbers(0, 2), "alice", kT0 + 48 * kHour);
  ASSERT_EQ(held->version.status, "held");
  ASSERT_TRUE(store_->Confirm(3, "bob", kT0 + 50 * kHour).ok());
  EXPECT_FALSE(store_->InForceAt(kT0 - 1)->has_value());
  EXPECT_EQ((*store_->InForceAt(kT0))->id, 1u);
  EXPECT_EQ((*store_->InForceAt(kT0 + 24 * kHour - 1))->id, 1u);
  EXPECT_EQ((*store_->InForceAt(kT0 + 24 * kHour))->id, 2u);
  EXPECT_EQ((*store_->InForceAt(kT0 + 49 * kHour))->id, 2u) << "held is not in force";
  EXPECT_EQ((*store_->InForceAt(kT0 + 50 * kHour))->id, 3u);
  // A clock that went back does not put an import before the version it replaces.
  auto back = Import(Numbers(0, 2), "alice", kT0 + 10 * kHour);
  EXPECT_EQ(back->version.in_force_from_us, kT0 + 50 * kHour);
  auto versions = store_->Versions();
  ASSERT_EQ(versions->size(), 4u);
  std::vector<std::string> statuses;
  for (const VersionInfo& v : *versions) statuses.push_back(v.status);
  EXPECT_THAT(statuses, ElementsAre("superseded", "superseded", "superseded", "active"));
}

TEST_F(ListStoreTest, ValidityIsStoredAndHonoured) {
  ASSERT_TRUE(Import("identity,valid_from,valid_to\n"
                     "+31610000001,2026-01-01,2026-01-02\n"
                     "+31610000001,2026-02-01,\n"
                     "+31610000002,,\n")
                  .ok());
  auto entries = store_->Entries(1);
  ASSERT_EQ(entries->size(), 3u);
  const int64_t day = 24 * kHour;
  EXPECT_TRUE(Matches(1, "+31610000001", kT0));
  EXPECT_FALSE(Matches(1, "+31610000001", kT0 + day));
  EXPECT_TRUE(Matches(1, "+31610000001", kT0 + 31 * day));
  // Changing only a window is a removal plus an addition.
  auto r = Import(
      "identity,valid_from,valid_to\n"
      "+31610000001,2026-01-01,2026-01-03\n"
      "+31610000001,2026-02-01,\n"
      "+31610000002,,\n",
      "alice", kT0 + kHour, 0.5);
  EXPECT_EQ(r->version.added, 1u);
  EXPECT_EQ(r->version.removed, 1u);
  EXPECT_TRUE(Matches(2, "+31610000001", kT0 + day));
}

TEST_F(ListStoreTest, AReaderInAnotherConnectionSeesEachImportWhole) {
  auto reader = ListStore::Open(path_, false, /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*(*reader)->ActiveVersionId(), 0u);
  ASSERT_TRUE(Import(Numbers(0, 1000)).ok());
  EXPECT_EQ(*(*reader)->ActiveVersionId(), 1u);
  auto m = (*reader)->LoadMatcher(1);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->size(), 1000u);
  EXPECT_FALSE((*reader)->Import(Numbers(0, 1), {.imported_by = "x", .now_us = kT0}, Norm()).ok())
      << "read-only";
}

// The server's pattern: another connection polls ActiveVersionId and loads each new version
// while imports run; every version it sees is complete (entries == the version's count).
TEST_F(ListStoreTest, PollingReaderNeverSeesAHalfImport) {
  auto reader = ListStore::Open(path_, false, /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::atomic<bool> done = false;
  std::atomic<int> loads = 0;
  std::atomic<bool> exited = false;
  auto poll = [&] {
    uint64_t seen = 0;
    while (!done.load()) {
      auto id = (*reader)->ActiveVersionId();
      ASSERT_TRUE(id.ok()) << id.status();
      ASSERT_GE(*id, seen);
      if (*id == seen) continue;
      seen = *id;
      auto v = (*reader)->Version(seen);
      auto m = (*reader)->LoadMatcher(seen);
      ASSERT_TRUE(m.ok()) << m.status();
      ASSERT_EQ((*m)->size(), v->entries);
      ++loads;
    }
  };
  std::thread poller([&] {
    poll();  // returns early when an assertion fails
    exited = true;
  });
  for (int day = 0; day < 8; ++day) {
    auto r = Import(Numbers(day * 500, 5000), "alice", kT0 + day * 24 * kHour);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->version.status, "active");
  }
  while (loads.load() == 0 && !exited.load()) std::this_thread::yield();
  done = true;
  poller.join();
  EXPECT_EQ(*(*reader)->ActiveVersionId(), 8u);
}

TEST_F(ListStoreTest, DamagedRowsFailLoudly) {
  ASSERT_TRUE(Import(Numbers(0, 3)).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE entries SET value = 'garbage' WHERE id = 2", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(store_->LoadMatcher(1).status().code(), absl::StatusCode::kDataLoss);
}

int64_t CountRows(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(s), SQLITE_ROW);
  int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

// The scale: a million entries, imported daily. The second import stores only its diff.
TEST_F(ListStoreTest, MillionEntriesImportDiffAndLookup) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kEntries = 200'000;  // the same code at a fifth of the scale: ASan is ~6x slower
#else
  constexpr int kEntries = 1'000'000;
#endif
  auto t0 = std::chrono::steady_clock::now();
  auto r = Import(Numbers(0, kEntries));
  ASSERT_TRUE(r.ok()) << r.status();
  auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(r->version.entries, static_cast<uint64_t>(kEntries));
  // The next day: 1000 removed at the front, 1000 added at the end.
  auto r2 = Import(Numbers(1000, kEntries), "alice", kT0 + 24 * kHour);
  ASSERT_TRUE(r2.ok()) << r2.status();
  auto t2 = std::chrono::steady_clock::now();
  EXPECT_EQ(r2->version.added, 1000u);
  EXPECT_EQ(r2->version.removed, 1000u);
  EXPECT_EQ(CountRows(path_, "SELECT count(*) FROM entries"), kEntries + 1000);
  auto m = store_->LoadMatcher(2);
  ASSERT_TRUE(m.ok()) << m.status();
  auto t3 = std::chrono::steady_clock::now();
  EXPECT_EQ((*m)->size(), static_cast<size_t>(kEntries));
  auto number = [](int i) { return base::StrCat("+316", 10'000'000 + i); };
  EXPECT_TRUE((*m)->MatchReadings(Num(number(kEntries - 1)), kT0));
  EXPECT_TRUE((*m)->MatchReadings(Num(number(kEntries + 999) + "1234"), kT0));
  EXPECT_FALSE((*m)->MatchReadings(Num(number(999)), kT0)) << "removed the next day";
  EXPECT_FALSE((*m)->MatchReadings(Num(number(kEntries + 1000)), kT0));
  auto ms = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  };
  std::printf(
      "%d entries: import %lld ms, next-day import %lld ms, load matcher %lld ms, %zu bytes\n",
      kEntries, static_cast<long long>(ms(t0, t1)), static_cast<long long>(ms(t1, t2)),
      static_cast<long long>(ms(t2, t3)), (*m)->MemoryBytes());
}

}  // namespace
}  // namespace tapvault::privileged
