#include "store/verify.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "base/hex.h"
#include "crypto/ed25519.h"
#include "store/catalog.h"
#include "store/record_format.h"
#include "store/store.h"
#include "tlog/dir_tile_store.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kRecords = 300;
const std::vector<std::string> kLiids = {"CASE-A", "CASE-B", "CASE-C"};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteAll(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

void Fill(Store& st, int n, int first = 0) {
  for (int i = first; i < first + n; ++i) {
    std::string pdu(60 + i % 50, static_cast<char>(i));
    AppendMeta m;
    m.received_us = 1'800'000'000'000'000 + int64_t{i} * 100'000;  // 100 ms apart: several slices
    m.connection_id = 1;
    m.handover = 1;
    m.kind = 6;
    m.liid = kLiids[i % kLiids.size()];
    m.network_id = "op/element";
    m.cin = static_cast<uint32_t>(1 + (i / kLiids.size()) % 2);
    m.sequence_number = static_cast<uint32_t>(i);
    ASSERT_TRUE(st.Append(m, base::AsBytes(pdu)).ok());
  }
}

// One record as it lies in a segment file.
struct Rec {
  uint64_t offset = 0, size = 0, header_len = 0;
  RecordHeader h;
};
std::vector<Rec> Records(const std::string& path) {
  std::string data = ReadAll(path);
  auto hdr = DecodeSegmentHeader(base::AsBytes(data));
  EXPECT_TRUE(hdr.ok());
  std::vector<Rec> out;
  size_t pos = hdr->second;
  while (pos < data.size()) {
    auto r = ParseRecord(base::AsBytes(data).subspan(pos));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) break;
    out.push_back({pos, r->framed_size, r->header_bytes.size(), r->header});
    pos += r->framed_size;
  }
  return out;
}

void Sql(const std::string& dir, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(CatalogPath(dir).c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class VerifyTest : public ::testing::Test {
 protected:
  // One real store, made once; each test works on its own copy.
  static void SetUpTestSuite() {
    golden_ = (fs::temp_directory_path() / ("tapvault_verify_golden_" + std::to_string(::getpid())))
                  .string();
    fs::remove_all(golden_);
    ASSERT_TRUE(InitStore({.dir = golden_, .origin = "test.example/verify"}).ok());
    auto st = Store::Open({.dir = golden_});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, kRecords);
    ASSERT_TRUE((*st)->Close().ok());
  }
  static void TearDownTestSuite() { fs::remove_all(golden_); }

  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("tapvault_verify_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::copy(golden_, dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(dir_); }

  VerifyReport Run(VerifyOptions o = {}) {
    o.dir = dir_;
    auto r = Verify(o);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok() && std::getenv("TAPVAULT_VERIFY_TEST_PRINT") != nullptr) {
      std::printf("%s\n", r->Summary().c_str());
      for (const std::string& p : r->problems) std::printf("  problem: %s\n", p.c_str());
      for (const std::string& n : r->notes) std::printf("  note: %s\n", n.c_str());
    }
    return r.ok() ? *r : VerifyReport{};
  }
  std::vector<SegmentRow> Segments() {
    auto cat = SqliteCatalog::Open(CatalogPath(dir_), false, true);
    EXPECT_TRUE(cat.ok());
    auto rows = (*cat)->Segments();
    EXPECT_TRUE(rows.ok());
    std::sort(rows->begin(), rows->end(), [](auto& a, auto& b) { return a.id < b.id; });
    return *rows;
  }
  // The (only) segment of a case.
  SegmentRow SegmentOf(const std::string& liid) {
    for (const SegmentRow& s : Segments()) {
      if (s.liid == liid) return s;
    }
    ADD_FAILURE() << "no segment for " << liid;
    return {};
  }
  std::string Abs(const SegmentRow& s) { return dir_ + "/" + s.path; }
  static std::string Name(const SegmentRow& s, const Rec& r) {
    return "record leaf " + std::to_string(r.h.leaf_index) + " (segment " + std::to_string(s.id) +
           " " + s.path + " offset " + std::to_string(r.offset) + ")";
  }

  static std::string golden_;
  std::string dir_;
};
std::string VerifyTest::golden_;

TEST_F(VerifyTest, IntactStoreIsOk) {
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(r.notes.empty()) << r.notes[0];
  EXPECT_EQ(r.segments, 3u);
  EXPECT_EQ(r.records, uint64_t{kRecords});
  EXPECT_EQ(r.system_records, 0u);
  EXPECT_EQ(r.tree_size, uint64_t{kRecords});
  EXPECT_EQ(r.checkpoint_size, uint64_t{kRecords});
  EXPECT_EQ(r.destroyed_records, 0u);
  EXPECT_GT(r.bytes, uint64_t{kRecords} * 60);
  EXPECT_EQ(r.root_hex.size(), 64u);
  EXPECT_THAT(r.Summary(), StartsWith("intact: 3 segments, 300 records (0 system), tree 300, root "));
  EXPECT_THAT(r.Summary(), HasSubstr("checkpoint 300 signed by test.example/verify"));
  EXPECT_THAT(r.Json(), HasSubstr("\"ok\":true"));
}

TEST_F(VerifyTest, NotAStoreIsAnError) {
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  auto r = Verify({.dir = dir_});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(VerifyTest, FlippedBodyByteNamesTheRecord) {
  SegmentRow s = SegmentOf("CASE-B");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& victim = recs[17];
  std::string data = ReadAll(Abs(s));
  data[victim.offset + victim.size - 20] ^= 0x01;
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr(Name(s, victim) + " does not match the log"));
  EXPECT_THAT(r.Summary(), StartsWith("CORRUPT: " + Name(s, victim)));
}

TEST_F(VerifyTest, FlippedHeaderByteNamesTheRecord) {
  SegmentRow s = SegmentOf("CASE-A");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& victim = recs[40];
  std::string data = ReadAll(Abs(s));
  data[victim.offset + kRecordFrameBytes + victim.header_len - 1] ^= 0x80;  // last nonce byte
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr(Name(s, victim)));
}

TEST_F(VerifyTest, RemovedRecordNamesIt) {
  SegmentRow s = SegmentOf("CASE-C");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& victim = recs[50];
  std::string data = ReadAll(Abs(s));
  data.erase(victim.offset, victim.size);
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("is shorter than committed"));
  EXPECT_THAT(r.problems[0], HasSubstr(Name(s, victim)));
  bool missing = false;
  for (const auto& p : r.problems) {
    if (p.find("record leaf " + std::to_string(victim.h.leaf_index) + " is missing") == 0) missing = true;
  }
  EXPECT_TRUE(missing);
}

TEST_F(VerifyTest, InsertedCopyNamesIt) {
  SegmentRow s = SegmentOf("CASE-B");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& victim = recs[30];
  std::string data = ReadAll(Abs(s));
  data.insert(victim.offset + victim.size, data.substr(victim.offset, victim.size));
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  Rec copy = victim;
  copy.offset += victim.size;
  EXPECT_THAT(r.problems[0], HasSubstr(Name(s, copy)));
  bool twice = false;
  for (const auto& p : r.problems) {
    if (p.find(Name(s, copy) + " is inserted: leaf " + std::to_string(victim.h.leaf_index) +
               " appears twice") == 0) {
      twice = true;
    }
  }
  EXPECT_TRUE(twice);
}

TEST_F(VerifyTest, ReorderedRecordsNameTheFirst) {
  SegmentRow s = SegmentOf("CASE-A");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& a = recs[20];
  const Rec& b = recs[21];
  std::string data = ReadAll(Abs(s));
  std::string swapped = data.substr(b.offset, b.size) + data.substr(a.offset, a.size);
  data.replace(a.offset, a.size + b.size, swapped);
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  ASSERT_EQ(r.problems.size(), 5u);
  EXPECT_THAT(r.problems[0], StartsWith("record leaf " + std::to_string(a.h.leaf_index) +
                                        " is missing (the log puts it in segment " +
                                        std::to_string(s.id) + " " + s.path + " offset " +
                                        std::to_string(a.offset) + ")"));
  // The moved records themselves are named too.
  Rec moved_b = b;
  moved_b.offset = a.offset;
  bool named = false;
  for (const auto& p : r.problems) {
    if (p.find(Name(s, moved_b) + " is out of place") == 0) named = true;
  }
  EXPECT_TRUE(named);
}

TEST_F(VerifyTest, TruncatedSegmentNamesTheCutRecord) {
  SegmentRow s = SegmentOf("CASE-B");
  std::vector<Rec> recs = Records(Abs(s));
  const Rec& cut = recs[70];
  fs::resize_file(Abs(s), cut.offset + 30);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0],
              HasSubstr("segment " + std::to_string(s.id) + " " + s.path +
                        " is shorter than committed (" + std::to_string(cut.offset + 30) + " of "));
  EXPECT_THAT(r.problems[0], HasSubstr(Name(s, cut) + " and what follows it are missing or cut"));
}

TEST_F(VerifyTest, SwappedSegmentFilesAreNamed) {
  std::vector<SegmentRow> segs = Segments();
  ASSERT_EQ(segs.size(), 3u);
  fs::rename(Abs(segs[0]), dir_ + "/tmp.seg");
  fs::rename(Abs(segs[1]), Abs(segs[0]));
  fs::rename(dir_ + "/tmp.seg", Abs(segs[1]));
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("segment " + std::to_string(segs[0].id) + " " +
                                        segs[0].path + " holds segment " +
                                        std::to_string(segs[1].id)));
  // The records themselves are intact (read as the segment their file says): only the two files.
  EXPECT_EQ(r.problems.size(), 2u) << r.problems.back();
  EXPECT_EQ(r.records, uint64_t{kRecords});
}

TEST_F(VerifyTest, ChangedSliceRowIsNamed) {
  Sql(dir_, "UPDATE slices SET records = records - 1 WHERE key_id = (SELECT min(key_id) FROM slices)");
  auto cat = SqliteCatalog::Open(CatalogPath(dir_), false, true);
  ASSERT_TRUE(cat.ok());
  auto slices = (*cat)->Slices(std::nullopt, std::nullopt);
  ASSERT_TRUE(slices.ok());
  SliceRow first = *std::min_element(slices->begin(), slices->end(),
                                     [](auto& a, auto& b) { return a.key_id < b.key_id; });
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.problems[0], "index row slice key " + std::to_string(first.key_id) + ": records " +
                               std::to_string(first.records) + " in catalog, " +
                               std::to_string(first.records + 1) + " in segment " +
                               std::to_string(first.segment_id));
}

TEST_F(VerifyTest, ChangedCommRowIsNamed) {
  Sql(dir_, "UPDATE comms SET bytes = bytes + 7 WHERE id = 2");
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("index row comm 2: records "));
  EXPECT_EQ(r.problems.size(), 1u);
}

TEST_F(VerifyTest, CheckpointWithBadSignature) {
  std::string cp = ReadAll(CheckpointPath(dir_));
  // The signature's last base64 character before the newline.
  size_t pos = cp.size() - 3;
  cp[pos] = cp[pos] == 'A' ? 'B' : 'A';
  WriteAll(CheckpointPath(dir_), cp);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("checkpoint DIR/log/checkpoint does not verify"));
}

TEST_F(VerifyTest, CheckpointUnderAnotherKeyFails) {
  // A key of the same name from another signer (an impostor's store, or a swapped key file).
  crypto::Ed25519Signer other = crypto::Ed25519Signer::Generate();
  VerifyReport r = Run({.verifier_key = tlog::VerifierKey("test.example/verify", other.PublicKey())});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("checkpoint DIR/log/checkpoint does not verify with the log's key"));
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], HasSubstr("differs from the one given"));

  // A malformed key is named as such.
  r = Run({.verifier_key = "not-a-key"});
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("verifier key is not usable"));
}

// Rewrites the tiles, entry bundles and the catalog's log state from the records as they are now:
// what someone who changes a record but cannot sign would do to cover it up.
void RebuildLog(const std::string& dir, const std::vector<SegmentRow>& segs) {
  std::map<uint64_t, std::string> entries;
  for (const SegmentRow& s : segs) {
    std::string data = ReadAll(dir + "/" + s.path);
    size_t pos = DecodeSegmentHeader(base::AsBytes(data))->second;
    while (pos < data.size()) {
      auto r = ParseRecord(base::AsBytes(data).subspan(pos));
      ASSERT_TRUE(r.ok());
      entries[r->header.leaf_index] = LeafEntry(r->header_bytes, r->body);
      pos += r->framed_size;
    }
  }
  tlog::DirTileStore tiles(LogDir(dir));
  tlog::TreeBuilder tree;
  std::vector<std::string> bundle;
  for (auto& [leaf, entry] : entries) {
    std::vector<tlog::TreeBuilder::FullTile> full;
    tree.Append(tlog::LeafHash(base::AsBytes(entry)), &full);
    for (auto& t : full) {
      ASSERT_TRUE(tiles.WriteTile(t.level, t.index, 256, base::AsBytes(t.hashes), false).ok());
    }
    bundle.push_back(entry);
    if (bundle.size() == 256) {
      ASSERT_TRUE(tiles.WriteEntries(leaf / 256, 256, base::AsBytes(*tlog::EncodeEntryBundle(bundle)), false).ok());
      bundle.clear();
    }
  }
  for (auto& t : tree.PartialTiles()) {
    ASSERT_TRUE(tiles.WriteTile(t.level, t.index, t.hashes.size() / 32, base::AsBytes(t.hashes), false).ok());
  }
  if (!bundle.empty()) {
    ASSERT_TRUE(tiles.WriteEntries(tree.size() / 256, bundle.size(),
                                   base::AsBytes(*tlog::EncodeEntryBundle(bundle)), false)
                    .ok());
  }
  tlog::Hash root = tree.Root();
  Sql(dir, "UPDATE log_state SET root = x'" + base::ToHex(std::as_bytes(std::span(root))) +
               "', edge = x'" + base::ToHex(base::AsBytes(tree.EncodeEdge())) + "'");
}

TEST_F(VerifyTest, EarlierCheckpointInconsistentAfterRewrite) {
  const std::string earlier = dir_ + "/../" + fs::path(dir_).filename().string() + ".earlier";
  fs::copy_file(CheckpointPath(dir_), earlier, fs::copy_options::overwrite_existing);
  {
    auto st = Store::Open({.dir = dir_});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, 30, kRecords);
    ASSERT_TRUE((*st)->Close().ok());
  }
  // The log grew: the earlier checkpoint is a prefix.
  VerifyReport good = Run({.earlier_checkpoint = earlier});
  EXPECT_TRUE(good.ok) << good.Summary();
  EXPECT_EQ(good.checkpoint_size, uint64_t{kRecords + 30});

  // Rewrite a record's body and everything derived from it, consistently.
  SegmentRow s = SegmentOf("CASE-A");
  std::vector<Rec> recs = Records(Abs(s));
  std::string data = ReadAll(Abs(s));
  data[recs[5].offset + recs[5].size - 1] ^= 0x55;
  WriteAll(Abs(s), data);
  RebuildLog(dir_, Segments());

  VerifyReport r = Run({.earlier_checkpoint = earlier});
  fs::remove(earlier);
  ASSERT_FALSE(r.ok);
  // No record or tile disagrees with the rebuilt log; the signatures do.
  EXPECT_THAT(r.problems[0], StartsWith("checkpoint DIR/log/checkpoint (size 330) does not match the log"));
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_THAT(r.problems[1], StartsWith("checkpoint " + earlier +
                                        " (size 300) is not consistent with the log: it signs root "));
}

TEST_F(VerifyTest, EarlierCheckpointLargerThanCurrent) {
  const std::string old_cp = dir_ + ".old";
  const std::string earlier = dir_ + ".later";
  fs::copy_file(CheckpointPath(dir_), old_cp, fs::copy_options::overwrite_existing);  // size 300
  {
    auto st = Store::Open({.dir = dir_});
    ASSERT_TRUE(st.ok());
    Fill(**st, 3, kRecords);
    ASSERT_TRUE((*st)->Close().ok());
  }
  // The store's checkpoint rolled back to an old one, while the auditor holds a newer one.
  fs::copy_file(CheckpointPath(dir_), earlier, fs::copy_options::overwrite_existing);  // size 303
  fs::copy_file(old_cp, CheckpointPath(dir_), fs::copy_options::overwrite_existing);
  VerifyReport r = Run({.earlier_checkpoint = earlier});
  fs::remove(earlier);
  fs::remove(old_cp);
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("(size 303) is not consistent with the log: it is larger "
                                       "than the current checkpoint (size 300)"));
}

TEST_F(VerifyTest, StillIntactAfterDestruction) {
  uint64_t comm_records = 0;
  {
    auto st = Store::Open({.dir = dir_});
    ASSERT_TRUE(st.ok());
    auto d = (*st)->Destroy({.comm_id = 1, .order_ref = "ORDER-1", .reason = "test"});
    ASSERT_TRUE(d.ok()) << d.status();
    comm_records = d->records;
    ASSERT_TRUE((*st)->Close().ok());
  }
  ASSERT_GT(comm_records, 0u);
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.records, uint64_t{kRecords} + 1);
  EXPECT_EQ(r.system_records, 1u);
  EXPECT_EQ(r.destroyed_records, comm_records);
  EXPECT_EQ(r.segments, 4u);

  // The signed destruction record is checked too.
  SegmentRow sys = SegmentOf("");
  std::vector<Rec> recs = Records(Abs(sys));
  ASSERT_EQ(recs.size(), 1u);
  std::string data = ReadAll(Abs(sys));
  data[recs[0].offset + recs[0].size - 5] ^= 0x01;   // inside the signature line
  WriteAll(Abs(sys), data);
  RebuildLog(dir_, Segments());
  r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr(Name(sys, recs[0]) +
                                       ": the system record's signature does not verify"));
}

TEST_F(VerifyTest, UncommittedTailAndStrayFilesAreNotes) {
  SegmentRow s = SegmentOf("CASE-C");
  {
    std::ofstream out(Abs(s), std::ios::binary | std::ios::app);
    out << "half a record";
  }
  WriteAll(dir_ + "/segments/CASE-C/00000000000000ff.seg", "junk");
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary();
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_THAT(r.notes[0], HasSubstr("uncommitted tail"));
  EXPECT_THAT(r.notes[1], HasSubstr("00000000000000ff.seg is not in the catalog"));
}

TEST_F(VerifyTest, GarbageInsideASegmentIsSkipped) {
  SegmentRow s = SegmentOf("CASE-B");
  std::vector<Rec> recs = Records(Abs(s));
  std::string data = ReadAll(Abs(s));
  data[recs[12].offset] = 'X';   // the record's magic
  WriteAll(Abs(s), data);
  VerifyReport r = Run();
  ASSERT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], StartsWith("record leaf " + std::to_string(recs[12].h.leaf_index) +
                                        " is missing"));
  // The records after it are still read.
  EXPECT_EQ(r.records, uint64_t{kRecords} - 1);
  EXPECT_THAT(r.problems[1], HasSubstr("bytes at offset " + std::to_string(recs[12].offset) +
                                       " are not a valid record"));
}

// Many small segments (rotation mid-slice): still intact, every segment read.
TEST_F(VerifyTest, ManySegmentsAreIntact) {
  fs::remove_all(dir_);
  ASSERT_TRUE(InitStore({.dir = dir_}).ok());
  {
    auto st = Store::Open({.dir = dir_, .segment_max_bytes = 2048});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, 150);
    ASSERT_TRUE((*st)->Close().ok());
  }
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_GE(r.segments, 15u);
  EXPECT_EQ(r.records, 150u);
}

// While serve runs, the committed log is ahead of the last signed checkpoint for up to a second
// (and during a disk-full stall): tiles not written yet are notes, the store is intact.
TEST_F(VerifyTest, LiveStoreAheadOfItsCheckpointIsIntact) {
  auto st = Store::Open({.dir = dir_, .checkpoint_interval_us = 3600LL * 1000000});
  ASSERT_TRUE(st.ok()) << st.status();
  Fill(**st, 300, kRecords);
  ASSERT_TRUE((*st)->Flush().ok());
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary() << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_LT(r.checkpoint_size, r.tree_size);
  bool noted = false;
  for (const std::string& n : r.notes) noted |= n.find("not written yet") != std::string::npos;
  EXPECT_TRUE(noted);
  ASSERT_TRUE((*st)->Close().ok());
  VerifyReport closed = Run();
  EXPECT_TRUE(closed.ok) << closed.Summary();
  EXPECT_EQ(closed.checkpoint_size, closed.tree_size);
}

// The tile thread writes a full bundle only after the commit that completed it: a crash in between
// leaves the bundle to start-up, which must rebuild it from the partial bundle of the last
// durable tiles (once deleted by RemoveBeyond before it was read: found by the kill -9 test).
TEST_F(VerifyTest, StartUpRebuildsAFullBundleTheTileThreadNeverWrote) {
  // State of the golden store (300 leaves): durable tiles up to 300, bundle 001 partial (44).
  std::string durable;
  {
    auto cat = SqliteCatalog::Open(CatalogPath(dir_), false, true);
    ASSERT_TRUE(cat.ok());
    auto m = (*cat)->GetMeta("tiles_durable");
    ASSERT_TRUE(m.ok() && m->has_value());
    durable = **m;
  }
  const std::string partial = dir_ + "/log/tile/entries/001.p/44";
  const std::string partial_bytes = ReadAll(partial);
  ASSERT_FALSE(partial_bytes.empty());
  {
    auto st = Store::Open({.dir = dir_});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, 300, kRecords);   // 600 leaves: bundle 001 full, 002 partial
    ASSERT_TRUE((*st)->Close().ok());
  }
  ASSERT_TRUE(fs::exists(dir_ + "/log/tile/entries/001"));
  // What a kill -9 right after the commit of leaf 511 leaves behind.
  Sql(dir_, "UPDATE meta SET value = '" + durable + "' WHERE key = 'tiles_durable'");
  fs::remove(dir_ + "/log/tile/entries/001");
  fs::remove(dir_ + "/log/tile/0/001");
  fs::create_directories(dir_ + "/log/tile/entries/001.p");
  WriteAll(partial, partial_bytes);
  {
    auto st = Store::Open({.dir = dir_});
    ASSERT_TRUE(st.ok()) << st.status();
    ASSERT_TRUE((*st)->Close().ok());
  }
  EXPECT_TRUE(fs::exists(dir_ + "/log/tile/entries/001"));
  EXPECT_TRUE(fs::exists(dir_ + "/log/tile/0/001"));
  VerifyReport r = Run();
  EXPECT_TRUE(r.ok) << r.Summary() << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_EQ(r.tree_size, 600u);
}

}  // namespace
}  // namespace tapvault::store
