#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "audit/internal/test_util.h"
#include "audit/verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tlog/dir_tile_store.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::audit {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(AuditLogTest, AppendAndQuery) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  const int64_t t0 = 1'800'000'000'000'000;
  struct Row {
    const char* actor;
    const char* action;
    const char* object;
    const char* outcome;
    nlohmann::json detail;
  };
  const std::vector<Row> rows = {
      {"alice", "login", "", "ok", nullptr},
      {"alice", "read_content", "comm:42", "ok", {{"liid", "NL-1"}}},
      {"bob", "login_failed", "", "refused", {{"reason", "bad password"}}},
      {"bob", "search", "liid:NL-1", "ok", {{"query", "Number 0612345678"}}},
      {"alice", "read_metadata", "comm:420", "ok", nullptr},
      {"carol", "export", "comm:42", "ok", {{"format", "pdf"}}},
      {"alice", "destroy", "liid:NL-1", "refused", nullptr},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Event e{t0 + static_cast<int64_t>(i) * 1'000'000, rows[i].actor, "investigator",
            rows[i].action, rows[i].object, rows[i].outcome, rows[i].detail};
    auto idx = log->Append(e);
    ASSERT_TRUE(idx.ok()) << idx.status();
    EXPECT_EQ(*idx, i);
  }
  EXPECT_EQ(log->Size(), rows.size());

  auto indexes = [&](const Query& q) {
    auto r = log->Query(q);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<uint64_t> out;
    for (const Entry& e : *r) out.push_back(e.index);
    return out;
  };
  using V = std::vector<uint64_t>;
  EXPECT_EQ(indexes({}), (V{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(indexes({.actor = "alice"}), (V{0, 1, 4, 6}));
  EXPECT_EQ(indexes({.actions = {"login", "login_failed"}}), (V{0, 2}));
  EXPECT_EQ(indexes({.object = "comm:42"}), (V{1, 5}));
  EXPECT_EQ(indexes({.object = "comm:42", .object_prefix = true}), (V{1, 4, 5}));
  EXPECT_EQ(indexes({.object = "liid:", .object_prefix = true}), (V{3, 6}));
  EXPECT_EQ(indexes({.outcome = "refused"}), (V{2, 6}));
  EXPECT_EQ(indexes({.from_us = t0 + 2'000'000, .to_us = t0 + 5'000'000}), (V{2, 3, 4}));
  EXPECT_EQ(indexes({.contains = "number 0612"}), (V{3}));  // case-insensitive
  EXPECT_EQ(indexes({.contains = "NL-1"}), (V{1}));
  EXPECT_EQ(indexes({.actor = "alice", .object = "liid:NL-1"}), (V{6}));
  EXPECT_EQ(indexes({.after_index = 2, .limit = 2}), (V{3, 4}));
  EXPECT_EQ(indexes({.actor = "nobody"}), V{});

  auto r = log->Query({.actions = {"search"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].event.actor, "bob");
  EXPECT_EQ((*r)[0].event.at_us, t0 + 3'000'000);
  EXPECT_EQ((*r)[0].event.detail["query"], "Number 0612345678");
}

TEST(AuditLogTest, AppendFillsTimeAndRejectsBadEvents) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  const int64_t before = absl::ToUnixMicros(absl::Now());
  ASSERT_TRUE(log->Append(Ev("alice", "login")).ok());
  auto all = log->Query({});
  ASSERT_TRUE(all.ok());
  EXPECT_GE((*all)[0].event.at_us, before);
  Event bad = Ev("", "login");
  EXPECT_EQ(log->Append(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = Ev("alice", "read\ncontent");
  EXPECT_EQ(log->Append(bad).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Size(), 1u);
  EXPECT_EQ(log->Append(Ev("alice", "logout")).value_or(99), 1u);
}

TEST(AuditLogTest, PaginationAcrossManyBlocks) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  constexpr int kN = 700;  // three entry blocks of 256
  std::vector<uint64_t> index = Fill(*log, kN, [](int i) {
    return Ev(i % 3 == 0 ? "alice" : "bob", "read_metadata", "comm:" + std::to_string(i));
  });
  std::map<uint64_t, int> alice;  // index -> i
  for (int i = 0; i < kN; i += 3) alice[index[i]] = i;
  // Page through alice's entries 50 at a time, twice (the second pass starts from the block
  // index the first one built).
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<uint64_t> seen;
    std::optional<uint64_t> after;
    for (;;) {
      auto page = log->Query({.actor = "alice", .after_index = after, .limit = 50});
      ASSERT_TRUE(page.ok()) << page.status();
      if (page->empty()) break;
      EXPECT_LE(page->size(), 50u);
      for (const Entry& e : *page) {
        ASSERT_TRUE(alice.contains(e.index)) << e.index;
        EXPECT_EQ(e.event.object, "comm:" + std::to_string(alice[e.index]));
        seen.push_back(e.index);
      }
      after = page->back().index;
    }
    std::vector<uint64_t> want;
    for (const auto& [idx, i] : alice) want.push_back(idx);
    EXPECT_EQ(seen, want);
  }
  auto last = log->Query({.after_index = 600, .limit = 1});
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].index, 601u);
}

TEST(AuditLogTest, OutsideOfficeHours) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  // 2027-01-18 is a Monday; Amsterdam is UTC+1 in January.
  auto at = [](const char* rfc3339) {
    absl::Time t;
    std::string err;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
    return absl::ToUnixMicros(t);
  };
  const std::vector<std::pair<const char*, bool>> cases = {
      {"2027-01-18T07:00:00Z", false},  // Mon 08:00 local: inside
      {"2027-01-18T06:59:00Z", true},   // Mon 07:59 local
      {"2027-01-22T16:59:00Z", false},  // Fri 17:59 local
      {"2027-01-22T17:00:00Z", true},   // Fri 18:00 local
      {"2027-01-23T11:00:00Z", true},   // Sat noon
      {"2027-01-24T23:30:00Z", true},   // Sun 23:30 UTC = Mon 00:30 local
  };
  for (const auto& [when, outside] : cases) {
    Event e = Ev("alice", "read_content", when);
    e.at_us = at(when);
    ASSERT_TRUE(log->Append(e).ok());
  }
  auto outside = [&](OfficeHours h) {
    auto r = log->Query({.outside_office_hours = h});
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> out;
    if (r.ok()) {
      for (const Entry& e : *r) out.push_back(e.event.object);
    }
    return out;
  };
  std::vector<std::string> want;
  for (const auto& [when, out] : cases) {
    if (out) want.push_back(when);
  }
  EXPECT_EQ(outside({.time_zone = "Europe/Amsterdam"}), want);
  EXPECT_EQ(outside({.time_zone = "+01:00"}), want);
  EXPECT_EQ(outside({.time_zone = "+0100"}), want);
  // In UTC the hours shift by one: 07:00 Monday is now outside, 17:00 Friday inside.
  std::vector<std::string> utc = {"2027-01-18T07:00:00Z", "2027-01-18T06:59:00Z",
                                  "2027-01-23T11:00:00Z", "2027-01-24T23:30:00Z"};
  EXPECT_EQ(outside({}), utc);
  // Saturday as a work day.
  OfficeHours sat{.time_zone = "Europe/Amsterdam",
                  .work_days = {true, true, true, true, true, true, false}};
  auto with_sat = outside(sat);
  EXPECT_EQ(std::count(with_sat.begin(), with_sat.end(), "2027-01-23T11:00:00Z"), 0);
  EXPECT_EQ(log->Query({.outside_office_hours = OfficeHours{.time_zone = "Mars/Olympus"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->Query({.outside_office_hours = OfficeHours{.time_zone = "+25:00"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AuditLogTest, DurableAcrossReopen) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  {
    auto log = OpenLog(tmp.path(), &key);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(Ev("alice", "read_content")).ok());
  }
  {
    auto log = AuditLog::Open({.dir = tmp.path(), .signer = &key, .checkpoint_interval_ms = 0},
                              /*create=*/false);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ((*log)->Size(), 10u);
    EXPECT_EQ((*log)->origin(), kOrigin);
    EXPECT_EQ((*log)->Append(Ev("bob", "login")).value_or(0), 10u);
  }
  // Read-only: no key, queries work, appends are refused, nothing is written.
  auto ro = AuditLog::Open({.dir = tmp.path()}, /*create=*/false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->Size(), 11u);
  auto all = (*ro)->Query({.limit = 0});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 11u);
  EXPECT_EQ((*ro)->Append(Ev("eve", "login")).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*ro)->Checkpoint().status().code(), absl::StatusCode::kFailedPrecondition);
  // The last close signed a checkpoint of all 11.
  auto cp = tlog::OpenCheckpoint(ReadAll(tmp.path() + "/checkpoint"), (*ro)->verifier_key());
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->size, 11u);
}

TEST(AuditLogTest, OpenErrors) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto other = crypto::Ed25519Signer::Generate();
  EXPECT_EQ(AuditLog::Open({.dir = tmp.path() + "/none", .signer = &key}, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(AuditLog::Open({.dir = tmp.path() + "/ro"}, true).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(AuditLog::Open({.dir = tmp.path(), .signer = &key, .origin = "bad origin"}, true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  { auto log = OpenLog(tmp.path(), &key); }
  EXPECT_EQ(AuditLog::Open({.dir = tmp.path(), .signer = &other}, false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(AuditLog::Open({.dir = tmp.path(), .signer = &key, .origin = "x.example/other"}, true)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  // Opening again with create is idempotent; a random origin is made when none is given.
  EXPECT_TRUE(AuditLog::Open({.dir = tmp.path(), .signer = &key}, true).ok());
  TempDir tmp2;
  auto fresh = AuditLog::Open({.dir = tmp2.path(), .signer = &key}, true);
  ASSERT_TRUE(fresh.ok());
  EXPECT_THAT((*fresh)->origin(), ::testing::StartsWith("tapvault.local/audit/"));
  // Not an audit log.
  TempDir tmp3;
  WriteAll(tmp3.path() + "/entries.log", "something else");
  EXPECT_EQ(AuditLog::Open({.dir = tmp3.path(), .signer = &key, .origin = kOrigin}, false)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(AuditLogTest, CheckpointsGrowConsistently) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append(Ev("alice", "read_content")).ok());
  auto note1 = log->Checkpoint();
  ASSERT_TRUE(note1.ok()) << note1.status();
  EXPECT_EQ(ReadAll(tmp.path() + "/checkpoint"), *note1);
  auto again = log->Checkpoint();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *note1);  // nothing new: the same note
  Fill(*log, 600, [](int) { return Ev("bob", "search"); });
  auto note2 = log->Checkpoint();
  ASSERT_TRUE(note2.ok());
  auto cp1 = tlog::OpenCheckpoint(*note1, log->verifier_key());
  auto cp2 = tlog::OpenCheckpoint(*note2, log->verifier_key());
  ASSERT_TRUE(cp1.ok() && cp2.ok());
  EXPECT_EQ(cp1->size, 100u);
  EXPECT_EQ(cp2->size, 700u);
  EXPECT_EQ(cp2->origin, kOrigin);
  // A tiles client proves growth and inclusion from the directory alone.
  tlog::DirTileStore tiles(tmp.path());
  auto proof = tlog::ConsistencyProof(100, 700, tiles);
  ASSERT_TRUE(proof.ok()) << proof.status();
  EXPECT_TRUE(tlog::VerifyConsistency(100, 700, cp1->root, cp2->root, *proof));
  auto entries = tiles.ReadEntries(1, 256);
  ASSERT_TRUE(entries.ok()) << entries.status();
  auto bundle = tlog::DecodeEntryBundle(base::AsBytes(*entries));
  ASSERT_TRUE(bundle.ok());
  auto e300 = DecodeEntry(base::AsBytes((*bundle)[300 - 256]));
  ASSERT_TRUE(e300.ok());
  EXPECT_EQ(e300->index, 300u);
  auto incl = tlog::InclusionProof(300, 700, tiles);
  ASSERT_TRUE(incl.ok());
  EXPECT_TRUE(tlog::VerifyInclusion(300, 700, tlog::LeafHash(base::AsBytes((*bundle)[300 - 256])),
                                    *incl, cp2->root));
}

// Each checkpoint writes the partial tiles of its size; those of older sizes are removed (a reader
// at an older size takes the prefix of a wider one), so files do not pile up.
TEST(AuditLogTest, CheckpointsRemoveSupersededPartialTiles) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(tmp.path(), &key);
  std::vector<std::string> notes;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log->Append(Ev("alice", "login")).ok());
    notes.push_back(*log->Checkpoint());
  }
  auto names = [](const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
    return out;
  };
  EXPECT_EQ(names(tmp.path() + "/tile/0/000.p"), std::vector<std::string>{"3"});
  EXPECT_EQ(names(tmp.path() + "/tile/entries/000.p"), std::vector<std::string>{"3"});
  // Proofs at the older sizes still work from the wider tile.
  tlog::DirTileStore tiles(tmp.path());
  auto cp1 = tlog::OpenCheckpoint(notes[0], log->verifier_key());
  auto cp3 = tlog::OpenCheckpoint(notes[2], log->verifier_key());
  ASSERT_TRUE(cp1.ok() && cp3.ok());
  auto proof = tlog::ConsistencyProof(1, 3, tiles);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(tlog::VerifyConsistency(1, 3, cp1->root, cp3->root, *proof));
  auto incl = tlog::InclusionProof(0, 1, tiles);
  ASSERT_TRUE(incl.ok()) << incl.status();
  // Filled up to a full tile: its partials are gone.
  Fill(*log, 300, [](int) { return Ev("bob", "search"); });
  ASSERT_TRUE(log->Checkpoint().ok());
  EXPECT_FALSE(fs::exists(tmp.path() + "/tile/0/000.p"));
  EXPECT_FALSE(fs::exists(tmp.path() + "/tile/entries/000.p"));
  EXPECT_TRUE(fs::exists(tmp.path() + "/tile/0/000"));
  EXPECT_EQ(names(tmp.path() + "/tile/0/001.p"), std::vector<std::string>{"47"});
  log.reset();
  auto report = VerifyLog(tmp.path(), VerifierKeyOf(tmp.path()), notes[0]);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->Summary();
}

TEST(AuditLogTest, BackgroundCheckpoints) {
  TempDir tmp;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = AuditLog::Open(
      {.dir = tmp.path(), .signer = &key, .origin = kOrigin, .checkpoint_interval_ms = 5}, true);
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*log)->Append(Ev("alice", "login")).ok());
  // The thread signs within a few intervals (no sleep-as-sync: poll with a deadline).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint64_t size = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto cp = tlog::OpenCheckpoint(ReadAll(tmp.path() + "/checkpoint"), (*log)->verifier_key());
    if (cp.ok() && (size = cp->size) == 5) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(size, 5u);
}

// A crash in the middle of a write leaves part of a frame at the end of entries.log: every
// prefix of the last frame is cut at the next open, the entries before it stay, the cut bytes
// are kept under torn/, an audit_recovery entry records the cut, and the log verifies.
TEST(AuditLogTest, TornTailIsCutAtEveryWriteBoundary) {
  TempDir base;
  auto key = crypto::Ed25519Signer::Generate();
  {
    auto log = OpenLog(base.path(), &key);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(Ev("alice", "read_content")).ok());
  }  // signed at 5
  // The frame a sixth append would write.
  std::string frame;
  {
    TempDir scratch;
    fs::copy(base.path(), scratch.path(), fs::copy_options::recursive |
                                              fs::copy_options::overwrite_existing);
    const uint64_t before = fs::file_size(scratch.path() + "/entries.log");
    auto log = OpenLog(scratch.path(), &key);
    ASSERT_TRUE(log->Append(Ev("bob", "export", "comm:7")).ok());
    frame = ReadAll(scratch.path() + "/entries.log").substr(before);
  }
  ASSERT_GT(frame.size(), 20u);
  std::vector<size_t> cuts;
  // Inside the magic, the length, the entry and the check.
  for (size_t n : {size_t{1}, size_t{3}, size_t{4}, size_t{6}, size_t{8}, size_t{9},
                   frame.size() / 2, frame.size() - 4, frame.size() - 1}) {
    cuts.push_back(n);
  }
  for (size_t n : cuts) {
    SCOPED_TRACE(n);
    TempDir dir;
    fs::copy(base.path(), dir.path(),
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    AppendFile(dir.path() + "/entries.log", frame.substr(0, n));
    {
      auto log = AuditLog::Open({.dir = dir.path(), .signer = &key, .checkpoint_interval_ms = 0},
                                false);
      ASSERT_TRUE(log.ok()) << log.status();
      EXPECT_EQ((*log)->Size(), 6u);  // 5 + the recovery record
      auto rec = (*log)->Query({.after_index = 4});
      ASSERT_TRUE(rec.ok());
      ASSERT_EQ(rec->size(), 1u);
      EXPECT_EQ((*rec)[0].event.action, "audit_recovery");
      EXPECT_EQ((*rec)[0].event.detail["bytes"], n);
      const std::string saved = (*rec)[0].event.detail["saved_as"];
      EXPECT_EQ(ReadAll(dir.path() + "/" + saved), frame.substr(0, n));
    }
    auto report = VerifyLog(dir.path(), VerifierKeyOf(dir.path()), std::nullopt);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->Summary();
    EXPECT_EQ(report->entries, 6u);
  }
}

TEST(AuditLogTest, DamageThatIsNotATornTailIsRefused) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  { auto log = OpenLog(dir.path(), &key); ASSERT_TRUE(log->Append(Ev("a", "login")).ok()); }
  // A bad frame with more after it than any group write: not a crash, so nothing is cut.
  AppendFile(dir.path() + "/entries.log", std::string(kMaxTornBytes + 100, 'x'));
  const auto size = fs::file_size(dir.path() + "/entries.log");
  auto log = AuditLog::Open({.dir = dir.path(), .signer = &key}, false);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(log.status().message()), HasSubstr("not a torn tail"));
  EXPECT_EQ(fs::file_size(dir.path() + "/entries.log"), size);
  EXPECT_FALSE(fs::exists(dir.path() + "/torn"));
}

TEST(AuditLogTest, TruncatedSignedLogIsRefused) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  uint64_t three = 0;
  {
    auto log = OpenLog(dir.path(), &key);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Ev("a", "login")).ok());
    three = fs::file_size(dir.path() + "/entries.log");
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->Append(Ev("a", "login")).ok());
  }  // checkpoint at 6
  fs::resize_file(dir.path() + "/entries.log", three + 5);  // entries 3.. gone, a stub left
  auto log = AuditLog::Open({.dir = dir.path(), .signer = &key}, false);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
}

TEST(AuditLogTest, FailedWriteLeavesNoTrace) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(dir.path(), &key);
  ASSERT_TRUE(log->Append(Ev("alice", "login")).ok());
  const auto size = fs::file_size(dir.path() + "/entries.log");
  for (const char* step : {"write", "sync"}) {
    SCOPED_TRACE(step);
    log->SetFaultHookForTest([step](std::string_view s) {
      return s == step ? absl::ResourceExhaustedError("disk full (injected)") : absl::OkStatus();
    });
    auto r = log->Append(Ev("alice", "read_content", "comm:1"));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_EQ(fs::file_size(dir.path() + "/entries.log"), size);  // the frame was cut back
    EXPECT_EQ(log->Size(), 1u);
  }
  log->SetFaultHookForTest(nullptr);
  EXPECT_EQ(log->Append(Ev("alice", "read_content", "comm:2")).value_or(0), 1u);
  log.reset();
  auto ro = AuditLog::Open({.dir = dir.path()}, false);
  ASSERT_TRUE(ro.ok());
  auto all = (*ro)->Query({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].event.object, "comm:2");
}

TEST(AuditLogTest, ReadOnlyFileRefusesAppend) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  { auto log = OpenLog(dir.path(), &key); }
  // As root a chmod does not stop writes; a read-only bind of the file does not exist in a
  // test either. A writer whose file is opened read-only stands for it: every write fails.
  auto log = OpenLog(dir.path(), &key);
  log->SetFaultHookForTest([](std::string_view s) {
    return s == "write" ? absl::PermissionDeniedError("read-only (injected)") : absl::OkStatus();
  });
  EXPECT_FALSE(log->Append(Ev("alice", "read_content")).ok());
}

TEST(AuditLogTest, GroupCommitSharesFdatasync) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(dir.path(), &key);
  std::atomic<int> syncs{0};
  log->SetFaultHookForTest([&](std::string_view s) {
    // The first sync is slow, so that the other threads queue up behind its leader.
    if (s == "sync" && syncs.fetch_add(1) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return absl::OkStatus();
  });
  constexpr int kThreads = 8, kPerThread = 100;
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = log->Append(Ev("t" + std::to_string(t), "read_content", std::to_string(i)));
        ASSERT_TRUE(r.ok()) << r.status();
        got[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LT(syncs.load(), kThreads * kPerThread);
  std::set<uint64_t> all;
  auto entries = log->Query({.limit = 0});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), static_cast<size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const uint64_t idx = got[t][i];
      all.insert(idx);
      // Each caller got the index of its own entry.
      EXPECT_EQ((*entries)[idx].event.actor, "t" + std::to_string(t));
      EXPECT_EQ((*entries)[idx].event.object, std::to_string(i));
      if (i > 0) {
        EXPECT_GT(idx, got[t][i - 1]);
      }
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  log.reset();
  auto report = VerifyLog(dir.path(), VerifierKeyOf(dir.path()), std::nullopt);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->Summary();
}

// flock() locks belong to the open file, which all threads of one AuditLog share: a Query or a
// Checkpoint must not convert or release the lock an append holds (another process could then
// write at the same time).
TEST(AuditLogTest, QueryAndCheckpointKeepTheAppendLock) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  auto log = OpenLog(dir.path(), &key);
  ASSERT_TRUE(log->Append(Ev("alice", "login")).ok());
  const std::string path = dir.path() + "/entries.log";
  for (int which = 0; which < 2; ++which) {
    SCOPED_TRACE(which == 0 ? "query" : "checkpoint");
    bool still_locked = false;
    std::thread other;
    log->SetFaultHookForTest([&](std::string_view step) {
      if (step != "sync") return absl::OkStatus();
      // The append holds the lock now. Let the other call run (it must wait for the append)...
      std::atomic<bool> finished{false};
      other = std::thread([&] {
        if (which == 0) {
          EXPECT_TRUE(log->Query({}).ok());
        } else {
          EXPECT_TRUE(log->Checkpoint().ok());
        }
        finished = true;
      });
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (!finished.load() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      // ...and check from another open file that the exclusive lock is still held.
      int fd = ::open(path.c_str(), O_RDONLY);
      still_locked = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
      ::close(fd);
      return absl::OkStatus();
    });
    ASSERT_TRUE(log->Append(Ev("alice", "read_content")).ok());
    log->SetFaultHookForTest(nullptr);
    other.join();
    EXPECT_TRUE(still_locked);
  }
}

// Two processes (the server and a CLI command) append to one log at the same time, and sign
// checkpoints at the same time: the tree stays one consistent log.
TEST(AuditLogTest, TwoProcessesAppendConcurrently) {
  TempDir dir;
  auto key = crypto::Ed25519Signer::Generate();
  crypto::SecretBytes seed = key.Seed();
  { auto log = OpenLog(dir.path(), &key); }
  constexpr int kChildren = 2, kPerChild = 150;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int rc = 0;
      {
        auto signer = crypto::Ed25519Signer::FromSeed(seed);
        auto log = AuditLog::Open(
            {.dir = dir.path(), .signer = &*signer, .checkpoint_interval_ms = 3}, false);
        if (!log.ok()) {
          rc = 2;
        } else {
          for (int i = 0; i < kPerChild && rc == 0; ++i) {
            if (!(*log)->Append(Ev("proc" + std::to_string(c), "read_content",
                                   std::to_string(i)))
                     .ok()) {
              rc = 3;
            }
          }
        }
      }
      ::_exit(rc);
    }
    pids.push_back(pid);
  }
  // Meanwhile this process appends too, and queries and signs checkpoints from other threads
  // (flock() belongs to the open file, shared by all threads of one AuditLog).
  {
    auto mine = AuditLog::Open({.dir = dir.path(), .signer = &key, .checkpoint_interval_ms = 0},
                               false);
    ASSERT_TRUE(mine.ok()) << mine.status();
    std::atomic<bool> done{false};
    std::thread reader([&] {
      while (!done.load()) {
        auto q = (*mine)->Query({.actor = "proc0", .limit = 0});
        EXPECT_TRUE(q.ok()) << q.status();
        auto cp = (*mine)->Checkpoint();
        EXPECT_TRUE(cp.ok()) << cp.status();
      }
    });
    for (int i = 0; i < kPerChild; ++i) {
      ASSERT_TRUE((*mine)->Append(Ev("proc" + std::to_string(kChildren), "read_content",
                                     std::to_string(i)))
                      .ok());
    }
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 0);
    }
    done = true;
    reader.join();
  }
  auto log = AuditLog::Open({.dir = dir.path()}, false);
  ASSERT_TRUE(log.ok()) << log.status();
  auto all = (*log)->Query({.limit = 0});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), static_cast<size_t>((kChildren + 1) * kPerChild));
  std::map<std::string, int> next;
  for (size_t i = 0; i < all->size(); ++i) {
    const Entry& e = (*all)[i];
    EXPECT_EQ(e.index, i);
    EXPECT_EQ(e.event.object, std::to_string(next[e.event.actor]++));  // each in its order
  }
  auto cp = tlog::OpenCheckpoint(ReadAll(dir.path() + "/checkpoint"), (*log)->verifier_key());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, static_cast<uint64_t>((kChildren + 1) * kPerChild));
  auto report = VerifyLog(dir.path(), (*log)->verifier_key(), std::nullopt);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok) << report->Summary();
}

}  // namespace
}  // namespace tapvault::audit
