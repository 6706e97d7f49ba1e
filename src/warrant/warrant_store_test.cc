#include "warrant/warrant_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "base/time.h"

namespace tapvault::warrant {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

int64_t T(std::string_view rfc3339) { return base::ParseRfc3339(rfc3339)->unix_us; }

class WarrantStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/warrant_store_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    auto s = WarrantStore::Open(dir_.string(), true);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  static WarrantSpec Spec(std::string id = "W-1", std::string liid = "LIID1",
                          std::string_view from = "2026-03-01T00:00:00Z",
                          std::string_view to = "2026-03-29T00:00:00Z") {
    WarrantSpec s;
    s.id = std::move(id);
    s.liid = std::move(liid);
    s.targets = {"+31612345678", "sip:x@example.org"};
    s.legal_basis = "Sv 126m";
    s.prosecutor = "mr. A";
    s.prosecutor_reference = "OM-1";
    s.authority = "mr. B";
    s.authority_reference = "RC-1";
    s.issued_us = T("2026-02-28T12:00:00Z");
    s.valid_from_us = T(from);
    s.valid_to_us = T(to);
    s.team = "team-a";
    s.retention_days = 30;
    return s;
  }

  // Runs raw SQL on the file through a second connection (as another program would).
  int RawSql(const std::string& sql, std::string* error) {
    sqlite3* db = nullptr;
    sqlite3_open(WarrantPath(dir_.string()).c_str(), &db);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (err != nullptr) *error = err;
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
  }

  fs::path dir_;
  std::unique_ptr<WarrantStore> store_;
  const int64_t now_ = T("2026-03-01T08:00:00Z");
};

TEST_F(WarrantStoreTest, AddWritesVersionOneAndCurrentReadsItBack) {
  auto w = store_->Add(Spec(), "alice", now_);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->version, 1u);
  EXPECT_EQ(w->change, "created");
  auto c = store_->Current("W-1");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->spec.liid, "LIID1");
  EXPECT_THAT(c->spec.targets, ElementsAre("+31612345678", "sip:x@example.org"));
  EXPECT_EQ(c->spec.legal_basis, "Sv 126m");
  EXPECT_EQ(c->spec.prosecutor_reference, "OM-1");
  EXPECT_EQ(c->spec.authority, "mr. B");
  EXPECT_EQ(c->spec.issued_us, T("2026-02-28T12:00:00Z"));
  EXPECT_EQ(c->spec.retention_days, 30);
  EXPECT_EQ(c->spec.team, "team-a");
  EXPECT_EQ(c->by, "alice");
  EXPECT_EQ(c->at_us, now_);
  EXPECT_EQ(c->spec.source, "cli");
  struct stat st;
  ASSERT_EQ(::stat(WarrantPath(dir_.string()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(WarrantStoreTest, AddRefusesDuplicatesAndBadSpecs) {
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  EXPECT_EQ(store_->Add(Spec(), "alice", now_).status().code(), absl::StatusCode::kAlreadyExists);
  WarrantSpec s = Spec("W-2");
  s.valid_to_us = s.valid_from_us;
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  s = Spec("W-2");
  s.liid.clear();
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  s = Spec("W-2");
  s.team.clear();
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  s = Spec("W-2");
  s.targets.clear();
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  s = Spec("W-2");
  s.targets.push_back("bad\nline");
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  s = Spec("W-2");
  s.retention_days = -1;
  EXPECT_EQ(store_->Add(s, "alice", now_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Add(Spec("W-2"), "", now_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Current("W-2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WarrantStoreTest, ExtendAndEndAppendVersionsAndKeepTheOldOnes) {
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  auto e = store_->Extend("W-1", T("2026-04-26T00:00:00Z"), "RC-1-V1", "bob", now_ + 1);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->version, 2u);
  EXPECT_EQ(e->change, "extended");
  EXPECT_EQ(e->spec.authority_reference, "RC-1-V1");
  EXPECT_EQ(e->by, "bob");
  // Not later: refused.
  EXPECT_EQ(store_->Extend("W-1", T("2026-04-26T00:00:00Z"), "", "bob", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Extend("W-9", T("2027-01-01T00:00:00Z"), "", "bob", now_).status().code(),
            absl::StatusCode::kNotFound);
  // End outside validity: refused; without reason: refused.
  EXPECT_EQ(store_->End("W-1", T("2026-05-01T00:00:00Z"), "done", "carol", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->End("W-1", T("2026-03-01T00:00:00Z"), "done", "carol", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->End("W-1", T("2026-04-01T00:00:00Z"), "", "carol", now_).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto end = store_->End("W-1", T("2026-04-01T00:00:00Z"), "suspect arrested", "carol", now_ + 2);
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->version, 3u);
  EXPECT_TRUE(end->ended());
  EXPECT_EQ(end->spec.valid_to_us, T("2026-04-01T00:00:00Z"));
  // Ended: no extension, no second end.
  EXPECT_EQ(store_->Extend("W-1", T("2027-01-01T00:00:00Z"), "", "bob", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->End("W-1", T("2026-03-15T00:00:00Z"), "x", "bob", now_).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto v = store_->Versions("W-1");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0].spec.valid_to_us, T("2026-03-29T00:00:00Z"));
  EXPECT_EQ((*v)[0].change, "created");
  EXPECT_EQ((*v)[1].spec.valid_to_us, T("2026-04-26T00:00:00Z"));
  EXPECT_EQ((*v)[2].reason, "suspect arrested");
  EXPECT_EQ((*v)[2].by, "carol");
  EXPECT_EQ(store_->Versions("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WarrantStoreTest, TriggersRefuseUpdateAndDeleteOfVersions) {
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  std::string err;
  EXPECT_NE(RawSql("UPDATE versions SET valid_to_us = valid_to_us + 1", &err), SQLITE_OK);
  EXPECT_THAT(err, HasSubstr("immutable"));
  err.clear();
  EXPECT_NE(RawSql("DELETE FROM versions", &err), SQLITE_OK);
  EXPECT_THAT(err, HasSubstr("immutable"));
  err.clear();
  // REPLACE deletes the old row without firing DELETE triggers: the insert trigger refuses it.
  EXPECT_NE(RawSql("INSERT OR REPLACE INTO versions SELECT warrant_id, version, liid, targets, "
                   "legal_basis, prosecutor, prosecutor_reference, authority, "
                   "authority_reference, issued_us, valid_from_us, valid_to_us + 1, team, "
                   "retention_days, change, reason, by_whom, at_us, source, generation "
                   "FROM versions",
                   &err),
            SQLITE_OK);
  EXPECT_THAT(err, HasSubstr("immutable"));
  // Skipping a version number is refused too.
  EXPECT_NE(RawSql("INSERT INTO versions SELECT warrant_id, 3, liid, targets, legal_basis, "
                   "prosecutor, prosecutor_reference, authority, authority_reference, issued_us, "
                   "valid_from_us, valid_to_us, team, retention_days, change, reason, by_whom, "
                   "at_us, source, generation FROM versions",
                   &err),
            SQLITE_OK);
  auto c = store_->Current("W-1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->spec.valid_to_us, T("2026-03-29T00:00:00Z"));
  auto v = store_->Versions("W-1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->size(), 1u);
}

TEST_F(WarrantStoreTest, CoveringAtEdgesFromInclusiveToExclusive) {
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  const int64_t from = T("2026-03-01T00:00:00Z"), to = T("2026-03-29T00:00:00Z");
  EXPECT_FALSE(store_->CoveringAt("LIID1", from - 1)->has_value());
  EXPECT_EQ(store_->CoveringAt("LIID1", from).value()->spec.id, "W-1");
  EXPECT_EQ(store_->CoveringAt("LIID1", to - 1).value()->spec.id, "W-1");
  EXPECT_FALSE(store_->CoveringAt("LIID1", to)->has_value());
  EXPECT_FALSE(store_->CoveringAt("OTHER", from)->has_value());
}

TEST_F(WarrantStoreTest, SeveralWarrantsPerLiidAbutAndLatestStartWinsOverlaps) {
  ASSERT_TRUE(store_->Add(Spec("W-1", "L", "2026-03-01T00:00:00Z", "2026-03-29T00:00:00Z"),
                          "alice", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-2", "L", "2026-03-29T00:00:00Z", "2026-04-26T00:00:00Z"),
                          "alice", now_).ok());
  // Overlaps W-2 from 04-10: the later start wins there.
  ASSERT_TRUE(store_->Add(Spec("W-3", "L", "2026-04-10T00:00:00Z", "2026-04-20T00:00:00Z"),
                          "alice", now_).ok());
  EXPECT_EQ(store_->CoveringAt("L", T("2026-03-28T23:59:59Z")).value()->spec.id, "W-1");
  EXPECT_EQ(store_->CoveringAt("L", T("2026-03-29T00:00:00Z")).value()->spec.id, "W-2");
  EXPECT_EQ(store_->CoveringAt("L", T("2026-04-15T00:00:00Z")).value()->spec.id, "W-3");
  EXPECT_EQ(store_->CoveringAt("L", T("2026-04-20T00:00:00Z")).value()->spec.id, "W-2");
  EXPECT_FALSE(store_->CoveringAt("L", T("2026-04-26T00:00:00Z"))->has_value());
  // An early end shortens the window the lookup sees.
  ASSERT_TRUE(store_->End("W-2", T("2026-04-05T00:00:00Z"), "stopped", "bob", now_).ok());
  EXPECT_FALSE(store_->CoveringAt("L", T("2026-04-06T00:00:00Z"))->has_value());
  EXPECT_EQ(store_->CoveringAt("L", T("2026-04-15T00:00:00Z")).value()->spec.id, "W-3");
}

TEST_F(WarrantStoreTest, ListFiltersByLiidTeamTimeAndEnded) {
  ASSERT_TRUE(store_->Add(Spec("W-1", "L1"), "alice", now_).ok());
  WarrantSpec b = Spec("W-2", "L2", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z");
  b.team = "team-b";
  ASSERT_TRUE(store_->Add(b, "alice", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-3", "L1", "2026-03-01T00:00:00Z", "2026-12-01T00:00:00Z"),
                          "alice", now_).ok());
  ASSERT_TRUE(store_->End("W-3", T("2026-03-10T00:00:00Z"), "x", "bob", now_).ok());
  auto ids = [](const absl::StatusOr<std::vector<Warrant>>& ws) {
    std::vector<std::string> out;
    for (const Warrant& w : *ws) out.push_back(w.spec.id);
    return out;
  };
  EXPECT_THAT(ids(store_->List({})), ElementsAre("W-1", "W-2"));
  EXPECT_THAT(ids(store_->List({.include_ended = true})), ElementsAre("W-1", "W-2", "W-3"));
  EXPECT_THAT(ids(store_->List({.liid = "L1", .include_ended = true})),
              ElementsAre("W-1", "W-3"));
  EXPECT_THAT(ids(store_->List({.team = "team-b"})), ElementsAre("W-2"));
  EXPECT_THAT(ids(store_->List({.valid_at_us = T("2026-05-15T00:00:00Z")})), ElementsAre("W-2"));
  EXPECT_THAT(ids(store_->List({.valid_at_us = T("2026-03-05T00:00:00Z"), .include_ended = true})),
              ElementsAre("W-1", "W-3"));
}

TEST_F(WarrantStoreTest, GenerationIncreasesWithEveryChangeAndIsSeenByAnotherConnection) {
  EXPECT_EQ(*store_->Generation(), 0u);
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  auto reader = WarrantStore::Open(dir_.string(), false, /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(*(*reader)->Generation(), 1u);
  ASSERT_TRUE(store_->Extend("W-1", T("2026-04-26T00:00:00Z"), "", "bob", now_).ok());
  EXPECT_EQ(*(*reader)->Generation(), 2u);
  ASSERT_TRUE(store_->End("W-1", T("2026-04-01T00:00:00Z"), "x", "bob", now_).ok());
  EXPECT_EQ(*(*reader)->Generation(), 3u);
  // A refused change changes nothing.
  EXPECT_FALSE(store_->Add(Spec(), "alice", now_).ok());
  EXPECT_EQ(*(*reader)->Generation(), 3u);
  EXPECT_EQ((*reader)->Add(Spec("W-2"), "alice", now_).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(WarrantStoreTest, SnapshotAnswersLikeTheStore) {
  const char* times[] = {"2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z", "2026-03-15T00:00:00Z",
                         "2026-03-28T23:59:59Z", "2026-03-29T00:00:00Z", "2026-04-01T00:00:00Z",
                         "2026-04-12T00:00:00Z", "2026-04-20T00:00:00Z", "2026-04-25T23:59:59Z",
                         "2026-04-26T00:00:00Z", "2026-06-01T00:00:00Z"};
  ASSERT_TRUE(store_->Add(Spec("W-1", "L", "2026-03-01T00:00:00Z", "2026-03-29T00:00:00Z"),
                          "a", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-2", "L", "2026-03-29T00:00:00Z", "2026-04-26T00:00:00Z"),
                          "a", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-3", "L", "2026-04-10T00:00:00Z", "2026-04-20T00:00:00Z"),
                          "a", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-4", "L", "2026-03-10T00:00:00Z", "2026-05-20T00:00:00Z"),
                          "a", now_).ok());
  ASSERT_TRUE(store_->Add(Spec("W-5", "M", "2026-03-10T00:00:00Z", "2026-05-20T00:00:00Z"),
                          "a", now_).ok());
  ASSERT_TRUE(store_->End("W-4", T("2026-04-15T00:00:00Z"), "x", "b", now_).ok());
  auto index = store_->Snapshot();
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ((*index)->generation(), *store_->Generation());
  EXPECT_EQ((*index)->warrants().size(), 5u);
  for (const char* liid : {"L", "M", "N"}) {
    for (const char* t : times) {
      auto from_store = store_->CoveringAt(liid, T(t));
      ASSERT_TRUE(from_store.ok());
      const Warrant* from_index = (*index)->CoveringAt(liid, T(t));
      ASSERT_EQ(from_store->has_value(), from_index != nullptr) << liid << " " << t;
      if (from_index != nullptr) {
        EXPECT_EQ((*from_store)->spec.id, from_index->spec.id) << liid << " " << t;
        EXPECT_EQ((*from_store)->version, from_index->version);
      }
    }
  }
}

TEST_F(WarrantStoreTest, OpenRefusesMissingFileAndForeignDatabase) {
  fs::path other = dir_ / "other";
  fs::create_directories(other);
  EXPECT_EQ(WarrantStore::Open(other.string(), false).status().code(),
            absl::StatusCode::kNotFound);
  std::string err;
  sqlite3* db = nullptr;
  sqlite3_open((other / "warrants.db").c_str(), &db);
  sqlite3_exec(db, "CREATE TABLE x(y)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_EQ(WarrantStore::Open(other.string(), false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Reopening an existing store keeps its content.
  ASSERT_TRUE(store_->Add(Spec(), "alice", now_).ok());
  store_.reset();
  auto again = WarrantStore::Open(dir_.string(), true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Current("W-1")->version, 1u);
  EXPECT_EQ(*(*again)->Generation(), 1u);
}

}  // namespace
}  // namespace tapvault::warrant
