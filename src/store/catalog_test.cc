#include "store/catalog.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <sqlite3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tapvault::store {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "catalog_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::unique_ptr<SqliteCatalog> MustOpen(const std::string& path, bool create = true,
                                        bool read_only = false) {
  auto c = SqliteCatalog::Open(path, create, read_only);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(c).value() : nullptr;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// True when `needle` occurs in the database file or its WAL.
bool OnDisk(const std::string& db, const std::string& needle) {
  for (const std::string& p : {db, db + "-wal", db + "-journal"}) {
    if (fs::exists(p) && ReadAll(p).find(needle) != std::string::npos) return true;
  }
  return false;
}

KeyRow DataKey(uint64_t id, std::string liid, std::string wrapped) {
  KeyRow k;
  k.id = id;
  k.kind = KeyKind::kData;
  k.liid = std::move(liid);
  k.wrapped_by = 1;
  k.wrapped = std::move(wrapped);
  k.created_us = 1000 + static_cast<int64_t>(id);
  return k;
}

// A case "LI-1" with warrant key 1, comm 10, segment 5 and data key 2.
CommitBatch BaseBatch() {
  CommitBatch b;
  b.new_cases.push_back(CaseRow{"LI-1", 1, 100, 30});
  KeyRow w = DataKey(1, "LI-1", std::string(48, 'W'));
  w.kind = KeyKind::kWarrant;
  w.wrapped_by = 0;
  w.master_version = 3;
  b.new_keys.push_back(w);
  b.new_keys.push_back(DataKey(2, "LI-1", std::string(48, 'D')));
  CommRow c;
  c.id = 10;
  c.liid = "LI-1";
  c.network_id = "net-a";
  c.cin = 77;
  b.new_comms.push_back(c);
  b.new_parties.push_back({10, PartyRow{"caller", "+4912345"}});
  b.new_parties.push_back({10, PartyRow{"callee", "+4967890"}});
  b.new_segments.push_back(SegmentRow{5, "LI-1", "seg/5.tvs", 0, 0, false, 100});
  return b;
}

TEST(CommState, NamesRoundTrip) {
  for (CommState s : {CommState::kAvailable, CommState::kQuarantined, CommState::kPrivileged,
                      CommState::kDestroyed}) {
    EXPECT_EQ(ParseCommState(CommStateName(s)), s);
  }
  EXPECT_EQ(ParseCommState("gone"), std::nullopt);
}

TEST(SqliteCatalog, CreateReopenAndMissing) {
  TempDir dir;
  std::string path = dir.File("catalog.db");
  EXPECT_EQ(SqliteCatalog::Open(path, /*create=*/false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(path));
  {
    auto c = MustOpen(path);
    ASSERT_NE(c, nullptr);
    ASSERT_TRUE(c->SetMeta("store_id", "abc").ok());
    ASSERT_TRUE(c->SetMeta("store_id", "abd").ok());  // overwrite
  }
  auto c = MustOpen(path, /*create=*/false);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(*c->GetMeta("schema_version"), std::optional<std::string>("2"));
  EXPECT_EQ(*c->GetMeta("store_id"), std::optional<std::string>("abd"));
  EXPECT_EQ(*c->GetMeta("nope"), std::nullopt);
  auto max = c->GetMaxIds();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->comm, 0u);
  EXPECT_EQ(max->key, 0u);
  EXPECT_EQ(max->segment, 0u);
  auto log = c->GetLogState();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size, 0u);
  // create=true on an existing catalog keeps its content.
  c.reset();
  c = MustOpen(path, /*create=*/true);
  EXPECT_EQ(*c->GetMeta("store_id"), std::optional<std::string>("abd"));
}

TEST(SqliteCatalog, RejectsForeignFiles) {
  TempDir dir;
  std::string garbage = dir.File("garbage.db");
  std::ofstream(garbage) << std::string(4096, 'x');
  EXPECT_EQ(SqliteCatalog::Open(garbage, false).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(SqliteCatalog::Open(dir.File("x.db"), true, true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SqliteCatalog, NewFilesAreOwnerOnly) {
  TempDir dir;
  std::string path = dir.File("catalog.db");
  mode_t old = umask(022);
  auto c = MustOpen(path);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Commit(BaseBatch()).ok());
  std::string backup = dir.File("backup.db");
  ASSERT_TRUE(c->BackupTo(backup).ok());
  umask(old);
  for (const std::string& p : {path, path + "-wal", backup}) {
    struct stat st;
    ASSERT_EQ(stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
}

TEST(SqliteCatalog, CommitStoresRowsAndAggregates) {
  TempDir dir;
  auto c = MustOpen(dir.File("catalog.db"));
  ASSERT_NE(c, nullptr);
  CommitBatch b1 = BaseBatch();
  b1.slices.push_back(SliceRow{2, 10, 5, 0, 9, 0, 1000, 10, 800, 5000, 6000, false});
  b1.comm_deltas.push_back({10, 5000, 6000, 10, 800});
  b1.segment_ends[5] = {1000, 10};
  LogState log{10, std::string(32, 'r'), "edge1", "entries1"};
  b1.log = log;
  b1.events.push_back(EventRow{1, "start", "{}"});
  ASSERT_TRUE(c->Commit(b1).ok());

  CommitBatch b2;
  b2.slices.push_back(SliceRow{2, 10, 5, 10, 14, 1000, 1600, 5, 300, 4000, 7000, false});
  b2.comm_deltas.push_back({10, 4500, 7000, 5, 300});
  b2.segment_ends[5] = {1600, 15};
  b2.sealed_segments.push_back(5);
  b2.log = LogState{15, std::string(32, 's'), "edge2", ""};
  b2.events.push_back(EventRow{2, "torn_tail_cut", "{\"n\":1}"});
  ASSERT_TRUE(c->Commit(b2).ok());

  auto slices = c->Slices(std::nullopt, std::nullopt);
  ASSERT_TRUE(slices.ok()) << slices.status();
  ASSERT_EQ(slices->size(), 1u);
  const SliceRow& s = (*slices)[0];
  EXPECT_EQ(s.key_id, 2u);
  EXPECT_EQ(s.first_leaf, 0u);
  EXPECT_EQ(s.last_leaf, 14u);
  EXPECT_EQ(s.first_offset, 0u);
  EXPECT_EQ(s.end_offset, 1600u);
  EXPECT_EQ(s.records, 15u);
  EXPECT_EQ(s.bytes, 1100u);
  EXPECT_EQ(s.start_us, 4000);
  EXPECT_EQ(s.end_us, 7000);
  EXPECT_FALSE(s.destroyed);
  EXPECT_EQ(c->Slices(10, std::nullopt)->size(), 1u);
  EXPECT_EQ(c->Slices(std::nullopt, std::string("LI-1"))->size(), 1u);
  EXPECT_EQ(c->Slices(11, std::nullopt)->size(), 0u);
  EXPECT_EQ(c->Slices(10, std::string("LI-2"))->size(), 0u);

  auto comms = c->ListComms({});
  ASSERT_TRUE(comms.ok()) << comms.status();
  ASSERT_EQ(comms->size(), 1u);
  const CommRow& comm = (*comms)[0];
  EXPECT_EQ(comm.start_us, 4500);  // 0 on creation means unknown
  EXPECT_EQ(comm.end_us, 7000);
  EXPECT_EQ(comm.records, 15u);
  EXPECT_EQ(comm.bytes, 1100u);
  EXPECT_EQ(comm.cin, std::optional<uint32_t>(77));
  EXPECT_EQ(comm.network_id, "net-a");
  EXPECT_EQ(comm.state, CommState::kQuarantined);   // until the filter decides
  EXPECT_THAT(comm.parties,
              ElementsAre(PartyRow{"caller", "+4912345"}, PartyRow{"callee", "+4967890"}));

  auto segs = c->Segments();
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_EQ((*segs)[0].committed_bytes, 1600u);
  EXPECT_EQ((*segs)[0].records, 15u);
  EXPECT_TRUE((*segs)[0].sealed);
  EXPECT_EQ((*segs)[0].path, "seg/5.tvs");

  auto got_log = c->GetLogState();
  ASSERT_TRUE(got_log.ok());
  EXPECT_EQ(got_log->size, 15u);
  EXPECT_EQ(got_log->root, std::string(32, 's'));
  EXPECT_EQ(got_log->edge, "edge2");
  EXPECT_EQ(got_log->edge_entries, "");

  auto events = c->Events();
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].kind, "torn_tail_cut");
  EXPECT_EQ((*events)[1].detail, "{\"n\":1}");

  auto cases = c->Cases();
  ASSERT_TRUE(cases.ok());
  ASSERT_EQ(cases->size(), 1u);
  EXPECT_EQ((*cases)[0].warrant_key_id, 1u);
  EXPECT_EQ((*cases)[0].retention_days, 30);
  ASSERT_TRUE(c->SetRetention("LI-1", 90).ok());
  EXPECT_EQ((*c->Cases())[0].retention_days, 90);
  EXPECT_EQ(c->SetRetention("LI-9", 1).code(), absl::StatusCode::kNotFound);

  auto key = c->Key(2);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->wrapped, std::string(48, 'D'));
  EXPECT_EQ(key->kind, KeyKind::kData);
  EXPECT_EQ(c->Key(99).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c->Keys(KeyKind::kWarrant, std::nullopt, false)->size(), 1u);
  EXPECT_EQ(c->Keys(std::nullopt, std::string("LI-1"), true)->size(), 2u);
  EXPECT_EQ(c->Keys(std::nullopt, std::string("LI-2"), false)->size(), 0u);

  auto max = c->GetMaxIds();
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->comm, 10u);
  EXPECT_EQ(max->key, 2u);
  EXPECT_EQ(max->segment, 5u);

  // Values that look like SQL are stored as data.
  ASSERT_TRUE(c->SetMeta("x'); DROP TABLE keys; --", "v").ok());
  EXPECT_EQ(*c->GetMeta("x'); DROP TABLE keys; --"), std::optional<std::string>("v"));
  EXPECT_TRUE(c->Key(2).ok());
}

TEST(SqliteCatalog, FailedBatchLeavesNothingAndRetrySucceeds) {
  TempDir dir;
  auto c = MustOpen(dir.File("catalog.db"));
  ASSERT_NE(c, nullptr);
  CommitBatch b = BaseBatch();
  b.slices.push_back(SliceRow{2, 10, 5, 0, 3, 0, 100, 4, 40, 10, 20, false});
  b.comm_deltas.push_back({10, 10, 20, 4, 40});
  b.events.push_back(EventRow{1, "e", "{}"});
  b.log = LogState{4, std::string(32, 'r'), "", ""};
  CommitBatch bad = b;
  bad.new_keys.push_back(DataKey(2, "LI-1", "dup"));  // duplicate primary key, last write
  absl::Status st = c->Commit(bad);
  EXPECT_EQ(st.code(), absl::StatusCode::kAlreadyExists) << st;
  EXPECT_THAT(std::string(st.message()), ::testing::StartsWith("catalog: "));

  EXPECT_THAT(*c->Cases(), IsEmpty());
  EXPECT_THAT(*c->Keys(std::nullopt, std::nullopt, false), IsEmpty());
  EXPECT_THAT(*c->ListComms({}), IsEmpty());
  EXPECT_THAT(*c->Slices(std::nullopt, std::nullopt), IsEmpty());
  EXPECT_THAT(*c->Segments(), IsEmpty());
  EXPECT_THAT(*c->Events(), IsEmpty());
  EXPECT_EQ(c->GetLogState()->size, 0u);

  ASSERT_TRUE(c->Commit(b).ok());
  auto comms = c->ListComms({});
  ASSERT_EQ(comms->size(), 1u);
  EXPECT_EQ((*comms)[0].records, 4u);  // applied once, not twice
  EXPECT_EQ((*c->Slices(std::nullopt, std::nullopt))[0].records, 4u);
  EXPECT_EQ(c->Events()->size(), 1u);

  // A delta for a comm that does not exist is rejected as a whole.
  CommitBatch unknown;
  unknown.events.push_back(EventRow{2, "e2", "{}"});
  unknown.comm_deltas.push_back({999, 1, 2, 1, 1});
  EXPECT_EQ(c->Commit(unknown).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(c->Events()->size(), 1u);

  // A slice naming a missing comm fails the foreign key check at COMMIT, and rolls back.
  CommitBatch orphan;
  orphan.new_keys.push_back(DataKey(3, "LI-1", "k3"));
  orphan.slices.push_back(SliceRow{3, 555, 5, 0, 0, 0, 1, 1, 1, 1, 1, false});
  EXPECT_EQ(c->Commit(orphan).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->Key(3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(c->Commit(CommitBatch{}).ok());  // the connection is usable again
}

// 1000 comms over 3 LIIDs with two parties each; every filter is checked against a scan.
TEST(SqliteCatalog, ListCommsFilters) {
  TempDir dir;
  auto c = MustOpen(dir.File("catalog.db"));
  ASSERT_NE(c, nullptr);
  std::vector<CommRow> all;
  CommitBatch b;
  for (int i = 0; i < 3; ++i) {
    b.new_cases.push_back(CaseRow{"LI-" + std::to_string(i), 0, 1, 0});
  }
  for (uint64_t id = 1; id <= 1000; ++id) {
    CommRow r;
    r.id = id;
    r.liid = "LI-" + std::to_string(id % 3);
    r.network_id = "n" + std::to_string(id);
    if (id % 2) r.cin = static_cast<uint32_t>(id);
    r.start_us = static_cast<int64_t>(id) * 100;
    r.end_us = r.start_us + static_cast<int64_t>(id % 7) * 50;
    r.parties = {PartyRow{"target", "+49" + std::to_string(id % 13)},
                 PartyRow{"other", "+33" + std::to_string(id)}};
    b.new_comms.push_back(r);
    for (const PartyRow& p : r.parties) b.new_parties.push_back({id, p});
    all.push_back(r);
  }
  ASSERT_TRUE(c->Commit(b).ok());

  auto expect = [&](const CommFilter& f) {
    std::vector<uint64_t> ids;
    for (const CommRow& r : all) {
      if (f.liid && r.liid != *f.liid) continue;
      if (f.comm_id && r.id != *f.comm_id) continue;
      if (f.party && std::none_of(r.parties.begin(), r.parties.end(),
                                  [&](const PartyRow& p) { return p.id == *f.party; })) {
        continue;
      }
      if (f.from_us && r.end_us < *f.from_us) continue;
      if (f.to_us && r.start_us > *f.to_us) continue;
      if (r.id <= f.after_id) continue;
      ids.push_back(r.id);
      if (f.limit > 0 && ids.size() == f.limit) break;
    }
    return ids;
  };
  auto got = [&](const CommFilter& f) {
    std::vector<uint64_t> ids;
    auto rows = c->ListComms(f);
    EXPECT_TRUE(rows.ok()) << rows.status();
    if (!rows.ok()) return ids;
    for (const CommRow& r : *rows) {
      ids.push_back(r.id);
      const CommRow& want = all[r.id - 1];
      EXPECT_EQ(r.parties, want.parties) << r.id;
      EXPECT_EQ(r.cin, want.cin) << r.id;
      EXPECT_EQ(r.liid, want.liid) << r.id;
    }
    return ids;
  };

  std::vector<CommFilter> filters;
  filters.push_back({});
  CommFilter f;
  f.liid = "LI-1";
  filters.push_back(f);
  f = {};
  f.party = "+495";
  filters.push_back(f);
  f.liid = "LI-2";
  filters.push_back(f);
  f = {};
  f.from_us = 30'020;  // overlaps comms ending at/after it
  f.to_us = 40'000;
  filters.push_back(f);
  f.liid = "LI-0";
  f.party = "+497";
  filters.push_back(f);
  f = {};
  f.comm_id = 500;
  filters.push_back(f);
  f = {};
  f.party = "+33999";
  filters.push_back(f);
  f = {};
  f.party = "x' OR '1'='1";
  filters.push_back(f);
  f = {};
  f.to_us = 450;
  filters.push_back(f);
  for (const CommFilter& filter : filters) {
    std::vector<uint64_t> want = expect(filter);
    EXPECT_EQ(got(filter), want);
  }
  EXPECT_EQ(expect(filters[0]).size(), 1000u);
  EXPECT_EQ(got(filters[7]), std::vector<uint64_t>{999});
  EXPECT_THAT(got(filters[8]), IsEmpty());
  EXPECT_FALSE(expect(filters[4]).empty());

  // Pagination: pages of 37 with after_id walk the whole filtered list exactly once.
  for (CommFilter base : {CommFilter{}, filters[1], filters[2]}) {
    std::vector<uint64_t> walked;
    base.limit = 37;
    for (int pages = 0; pages < 100; ++pages) {
      std::vector<uint64_t> page = got(base);
      EXPECT_LE(page.size(), 37u);
      if (page.empty()) break;
      walked.insert(walked.end(), page.begin(), page.end());
      base.after_id = page.back();
    }
    base.after_id = 0;
    base.limit = 0;
    EXPECT_EQ(walked, expect(base));
  }
}

TEST(SqliteCatalog, ApplyDestroyErasesWrappedBytes) {
  for (bool reopen : {false, true}) {
    SCOPED_TRACE(reopen ? "key checkpointed into the db file" : "key only in the WAL");
    TempDir dir;
    std::string path = dir.File("catalog.db");
    // A 48-byte wrapped key that appears nowhere else.
    std::string secret;
    for (int i = 0; i < 48; ++i) secret.push_back(static_cast<char>(0xA5 ^ (i * 37)));
    std::string other(48, 'O');
    auto c = MustOpen(path);
    ASSERT_NE(c, nullptr);
    CommitBatch b = BaseBatch();
    b.new_keys.push_back(DataKey(3, "LI-1", secret));
    b.new_keys.push_back(DataKey(4, "LI-1", other));
    b.slices.push_back(SliceRow{3, 10, 5, 0, 1, 0, 100, 2, 20, 1, 2, false});
    b.slices.push_back(SliceRow{4, 10, 5, 2, 3, 100, 200, 2, 20, 3, 4, false});
    ASSERT_TRUE(c->Commit(b).ok());
    if (reopen) {
      c.reset();  // closing checkpoints the WAL into the db file
      ASSERT_FALSE(OnDisk(path + "-wal", secret));
      c = MustOpen(path, false);
      ASSERT_NE(c, nullptr);
    }
    ASSERT_TRUE(OnDisk(path, secret));  // the scan can see it

    Catalog::DestroyTxn t;
    t.at_us = 9999;
    t.destroy_keys = {3};
    KeyRow w2 = DataKey(20, "LI-1", std::string(48, 'N'));
    w2.kind = KeyKind::kWarrant;
    w2.wrapped_by = 0;
    w2.master_version = 4;
    t.new_keys.push_back(w2);
    t.rewrap.push_back({4, std::string(48, 'R'), 20, 0});
    t.case_warrant_keys.push_back({"LI-1", 20});
    t.destroyed_comms = {10};
    t.events.push_back(EventRow{9999, "destruction", "{\"keys\":[3]}"});
    ASSERT_TRUE(c->ApplyDestroy(t).ok());

    EXPECT_FALSE(OnDisk(path, secret));
    // Its tail too: the shorter new cell may reuse the start of the freed space.
    EXPECT_FALSE(OnDisk(path, secret.substr(24)));
    EXPECT_FALSE(OnDisk(path, other));  // replaced by its re-wrapped form

    auto k3 = c->Key(3);
    ASSERT_TRUE(k3.ok());
    EXPECT_EQ(k3->wrapped, "");
    EXPECT_EQ(k3->destroyed_us, 9999);
    auto k4 = c->Key(4);
    EXPECT_EQ(k4->wrapped, std::string(48, 'R'));
    EXPECT_EQ(k4->wrapped_by, 20u);
    EXPECT_EQ(k4->destroyed_us, 0);
    EXPECT_EQ(c->Key(20)->master_version, 4u);
    EXPECT_EQ((*c->Cases())[0].warrant_key_id, 20u);
    std::vector<uint64_t> live;
    auto live_keys = c->Keys(std::nullopt, std::nullopt, true);
    ASSERT_TRUE(live_keys.ok());
    for (const KeyRow& k : *live_keys) live.push_back(k.id);
    EXPECT_EQ(live, (std::vector<uint64_t>{1, 2, 4, 20}));
    EXPECT_EQ(c->Keys(KeyKind::kData, std::nullopt, false)->size(), 3u);
    auto slices = c->Slices(10, std::nullopt);
    ASSERT_EQ(slices->size(), 2u);
    EXPECT_TRUE((*slices)[0].destroyed);
    EXPECT_FALSE((*slices)[1].destroyed);
    EXPECT_EQ((*c->ListComms({}))[0].state, CommState::kDestroyed);
    EXPECT_EQ(c->Events()->back().kind, "destruction");

    // Rewrapping a destroyed key is refused, and the whole transaction with it.
    Catalog::DestroyTxn bad;
    bad.new_keys.push_back(DataKey(30, "LI-1", "x"));
    bad.rewrap.push_back({3, "y", 20, 0});
    EXPECT_EQ(c->ApplyDestroy(bad).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(c->Key(30).status().code(), absl::StatusCode::kNotFound);
  }
}

TEST(SqliteCatalog, ReadOnlyCannotWrite) {
  TempDir dir;
  std::string path = dir.File("catalog.db");
  auto writer = MustOpen(path);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Commit(BaseBatch()).ok());
  auto reader = MustOpen(path, false, /*read_only=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->ListComms({})->size(), 1u);  // sees the writer's committed data
  EXPECT_EQ(reader->SetMeta("k", "v").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(reader->Commit(CommitBatch{.events = {EventRow{1, "x", "{}"}}}).ok());
  EXPECT_FALSE(reader->AddRequest("destroy", "{}").ok());
  EXPECT_THAT(*writer->Events(), IsEmpty());
  // A backup can be taken from a read-only handle, and opens as a catalog.
  std::string backup = dir.File("backup.db");
  ASSERT_TRUE(reader->BackupTo(backup).ok());
  EXPECT_EQ(reader->BackupTo(backup).code(), absl::StatusCode::kAlreadyExists);
  auto copy = MustOpen(backup, false, true);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->Key(2)->wrapped, std::string(48, 'D'));
  // Also after the writer has gone (no WAL file left).
  writer.reset();
  reader.reset();
  reader = MustOpen(path, false, true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->Segments()->size(), 1u);
}

TEST(SqliteCatalog, RequestsRoundTrip) {
  TempDir dir;
  std::string path = dir.File("catalog.db");
  auto c = MustOpen(path);
  ASSERT_NE(c, nullptr);
  auto other = MustOpen(path, false);  // e.g. `tapvault destroy` in another process
  ASSERT_NE(other, nullptr);
  auto a = other->AddRequest("destroy", "{\"comm\":1}");
  auto b = other->AddRequest("destroy", "{\"comm\":2}");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(*a, *b);
  auto pending = c->PendingRequests();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, *a);
  EXPECT_EQ((*pending)[0].status, "pending");
  EXPECT_EQ((*pending)[0].body, "{\"comm\":1}");
  ASSERT_TRUE(c->FinishRequest(*a, true, "{\"ok\":true}").ok());
  ASSERT_TRUE(c->FinishRequest(*b, false, "no such comm").ok());
  EXPECT_EQ(c->FinishRequest(*b, true, "").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->FinishRequest(999, true, "").code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(*c->PendingRequests(), IsEmpty());
  auto ra = other->Request(*a);
  ASSERT_TRUE(ra.ok());
  EXPECT_EQ(ra->status, "done");
  EXPECT_EQ(ra->result, "{\"ok\":true}");
  EXPECT_EQ(other->Request(*b)->status, "failed");
  EXPECT_EQ(other->Request(*b)->result, "no such comm");
  EXPECT_EQ(c->Request(12345).status().code(), absl::StatusCode::kNotFound);
}

TEST(SqliteCatalog, DerivedData) {
  TempDir dir;
  auto c = MustOpen(dir.File("catalog.db"));
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->Commit(BaseBatch()).ok());
  ASSERT_TRUE(c->AddDerived(10, "exports/10.pcap", "pcap").ok());
  ASSERT_TRUE(c->AddDerived(10, "exports/10.json", "json").ok());
  auto d = c->Derived(10);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0].second, "exports/10.pcap");
  ASSERT_TRUE(c->MarkDerivedDestroyed((*d)[0].first).ok());
  EXPECT_EQ(c->MarkDerivedDestroyed((*d)[0].first).code(), absl::StatusCode::kNotFound);
  auto left = c->Derived(10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].second, "exports/10.json");
  EXPECT_THAT(*c->Derived(11), IsEmpty());
  EXPECT_FALSE(c->AddDerived(11, "x", "y").ok());  // no such comm
}

}  // namespace
}  // namespace tapvault::store

namespace tapvault::store {
namespace {

// A catalog written by schema version 1 (before the privileged-party filter) opens, is upgraded in
// place, and keeps its rows; decisions then work on it.
TEST(SqliteCatalog, MigratesSchemaOneToTwo) {
  TempDir dir;
  const std::string path = dir.File("catalog.db");
  {
    auto c = MustOpen(path);
    ASSERT_TRUE(c->Commit(BaseBatch()).ok());
  }
  {
    // Turn it back into version 1: the columns and table that version 2 added are dropped.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* downgrade =
        "DROP TABLE decisions; DROP INDEX comms_state;"
        "ALTER TABLE comms DROP COLUMN country; ALTER TABLE comms DROP COLUMN state_reason;"
        "ALTER TABLE comms DROP COLUMN list_version; ALTER TABLE comms DROP COLUMN decided_us;"
        "ALTER TABLE parties DROP COLUMN nature;"
        "UPDATE meta SET value = '1' WHERE key = 'schema_version';";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, downgrade, nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_close(db);
  }
  // A reader cannot upgrade it and says so.
  EXPECT_FALSE(SqliteCatalog::Open(path, false, /*read_only=*/true).ok());
  auto c = MustOpen(path, /*create=*/false);
  ASSERT_NE(c, nullptr);
  auto comms = c->ListComms({});
  ASSERT_TRUE(comms.ok()) << comms.status();
  ASSERT_EQ(comms->size(), 1u);
  EXPECT_EQ((*comms)[0].parties.size(), 2u);
  CommitBatch b;
  DecisionRow d;
  d.comm_id = 10;
  d.at_us = 5;
  d.state = CommState::kPrivileged;
  d.reason = "manual_flag";
  d.by = "inspector";
  d.record_always = true;
  d.from = {CommState::kQuarantined, CommState::kAvailable};
  b.decisions.push_back(d);
  ASSERT_TRUE(c->Commit(b).ok());
  auto decisions = c->Decisions(10, std::nullopt, std::nullopt);
  ASSERT_TRUE(decisions.ok());
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_EQ((*c->ListComms({}))[0].state, CommState::kPrivileged);
}

// Automatic verdicts never leave privileged or destroyed, never undo a release, and an
// "available" computed from fewer parties than the communication has by now is skipped.
TEST(SqliteCatalog, DecisionsRespectStickyStatesAndPartiesSeen) {
  TempDir dir;
  auto c = MustOpen(dir.File("catalog.db"));
  ASSERT_TRUE(c->Commit(BaseBatch()).ok());
  auto apply = [&](CommState state, std::string reason, std::optional<uint64_t> seen,
                   std::vector<CommState> from = {}) {
    CommitBatch b;
    DecisionRow d;
    d.comm_id = 10;
    d.at_us = 1;
    d.state = state;
    d.reason = std::move(reason);
    d.parties_seen = seen;
    d.from = std::move(from);
    b.decisions.push_back(d);
    EXPECT_TRUE(c->Commit(b).ok());
    return (*c->ListComms({}))[0];
  };
  EXPECT_EQ(apply(CommState::kAvailable, "no_match", 1).state, CommState::kQuarantined);  // 2 parties
  EXPECT_EQ(apply(CommState::kAvailable, "no_match", 2).state, CommState::kAvailable);
  EXPECT_EQ(apply(CommState::kPrivileged, "list_match", 2).state, CommState::kPrivileged);
  EXPECT_EQ(apply(CommState::kAvailable, "no_match", 2).state, CommState::kPrivileged);
  EXPECT_EQ(apply(CommState::kAvailable, "released", std::nullopt, {CommState::kPrivileged}).state,
            CommState::kAvailable);
  EXPECT_EQ(apply(CommState::kPrivileged, "list_match", 2).state_reason, "released");
  auto decisions = c->Decisions(10, std::nullopt, std::nullopt);
  ASSERT_TRUE(decisions.ok());
  EXPECT_EQ(decisions->size(), 3u);   // available, privileged, released: only real changes
}

}  // namespace
}  // namespace tapvault::store
