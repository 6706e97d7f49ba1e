#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "base/byte_reader.h"
#include "base/time.h"
#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "crypto/softhsm_for_test.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/internal/keys.h"
#include "store/record_format.h"
#include "store/verify.h"
#include "tlog/note.h"

namespace tapvault::store {

// The store's own tests read content without the gate (src/gate/ tests the gate).
struct ContentReaderTestAccess {
  static absl::StatusOr<std::vector<ContentReader::Record>> ReadComm(ContentReader& r, uint64_t id,
                                                                     uint64_t* destroyed = nullptr) {
    return r.ReadComm(id, destroyed);
  }
};

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string TempDir(const char* name) {
  std::string dir = (fs::temp_directory_path() /
                     (std::string("tapvault_store_") + name + "_" + std::to_string(::getpid())))
                        .string();
  fs::remove_all(dir);
  return dir;
}

std::string Pdu(uint32_t i, size_t n = 120) {
  std::string s(n, '\0');
  for (size_t k = 0; k < n; ++k) s[k] = static_cast<char>((i * 31 + k * 7) & 0xff);
  return s;
}

struct Sent {
  std::string liid;
  uint32_t cin;
  uint32_t seq;
  std::string pdu;
};

// Appends `n` PDUs round-robin over the LIIDs, two communications each.
std::vector<Sent> Fill(Store& st, const std::vector<std::string>& liids, int n,
                       int64_t start_us = 1'800'000'000'000'000, int64_t step_us = 1000) {
  std::vector<Sent> sent;
  std::vector<PartyRow> parties = {{"originating", "tel:+31201234567"},
                                   {"terminating", "sip:+31687654321@ims.example"}};
  for (int i = 0; i < n; ++i) {
    Sent s{liids[i % liids.size()], static_cast<uint32_t>(1 + (i / liids.size()) % 2),
           static_cast<uint32_t>(i), Pdu(i)};
    AppendMeta m;
    m.received_us = start_us + i * step_us;
    m.connection_id = 7;
    m.handover = 1;
    m.kind = 6;
    m.liid = s.liid;
    m.network_id = "op/element";
    m.cin = s.cin;
    m.sequence_number = s.seq;
    m.parties = i % 10 == 0 ? &parties : nullptr;
    EXPECT_TRUE(st.Append(m, base::AsBytes(s.pdu)).ok());
    sent.push_back(std::move(s));
  }
  return sent;
}

std::map<uint64_t, CommRow> CommsById(const std::string& dir) {
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  EXPECT_TRUE(cat.ok()) << cat.status();
  auto comms = (*cat)->ListComms({});
  EXPECT_TRUE(comms.ok());
  std::map<uint64_t, CommRow> out;
  for (auto& c : *comms) out[c.id] = c;
  return out;
}

TEST(StoreTest, InitRefusesAnExistingStore) {
  std::string dir = TempDir("init");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  absl::Status again = InitStore({.dir = dir});
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  struct stat st;
  ASSERT_EQ(::stat((dir + "/keys/master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(fs::exists(CheckpointPath(dir)));
  fs::remove_all(dir);
}

TEST(StoreTest, SecondOwnerIsRefused) {
  std::string dir = TempDir("lock");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto a = Store::Open({.dir = dir});
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Store::Open({.dir = dir});
  EXPECT_EQ(b.status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*a)->Close().ok());
  fs::remove_all(dir);
}

TEST(StoreTest, StoresEncryptsAndReadsBackEveryPdu) {
  std::string dir = TempDir("roundtrip");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  std::vector<Sent> sent;
  {
    auto st = Store::Open({.dir = dir, .segment_max_bytes = 8192});  // forces rotation
    ASSERT_TRUE(st.ok()) << st.status();
    sent = Fill(**st, {"LIID-A", "LIID-B"}, 400);
    std::atomic<bool> acked{false};
    (*st)->WhenDurable([&] { acked = true; });
    ASSERT_TRUE((*st)->Flush().ok());
    EXPECT_TRUE(acked.load());
    EXPECT_EQ((*st)->Stats().records, 400u);
    ASSERT_TRUE((*st)->Close().ok());
  }
  // No plaintext in any segment.
  for (auto& e : fs::recursive_directory_iterator(dir + "/segments")) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(data.find(sent[5].pdu.substr(0, 48)), std::string::npos) << e.path();
  }
  auto comms = CommsById(dir);
  ASSERT_EQ(comms.size(), 4u);  // 2 LIIDs x 2 CINs
  uint64_t total = 0;
  auto reader = ContentReader::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (auto& [id, c] : comms) {
    EXPECT_EQ(c.state, CommState::kQuarantined);
    EXPECT_EQ(c.network_id, "op/element");
    auto recs = ContentReaderTestAccess::ReadComm(**reader, id);
    ASSERT_TRUE(recs.ok()) << recs.status();
    EXPECT_EQ(recs->size(), c.records);
    for (const auto& r : *recs) {
      const Sent& s = sent[r.header.sequence_number];
      EXPECT_EQ(r.pdu, s.pdu);
      EXPECT_EQ(r.header.liid, s.liid);
      EXPECT_EQ(r.header.cin, s.cin);
    }
    total += recs->size();
  }
  EXPECT_EQ(total, 400u);
  // Parties recorded once each, as received.
  auto with_party = comms.begin()->second.parties;
  EXPECT_THAT(with_party, ::testing::Contains(PartyRow{"originating", "tel:+31201234567"}));
  fs::remove_all(dir);
}

TEST(StoreTest, ContinuesTheSameCommunicationAfterRestart) {
  std::string dir = TempDir("restart");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  for (int run = 0; run < 3; ++run) {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-R"}, 50, 1'800'000'000'000'000 + run * 1'000'000);
    ASSERT_TRUE((*st)->Close().ok());
  }
  auto comms = CommsById(dir);
  ASSERT_EQ(comms.size(), 2u);
  uint64_t records = 0;
  for (auto& [id, c] : comms) records += c.records;
  EXPECT_EQ(records, 150u);
  fs::remove_all(dir);
}

TEST(StoreTest, TornTailIsCutAndRecordedInTheLog) {
  std::string dir = TempDir("torn");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-T"}, 20);
    ASSERT_TRUE((*st)->Close().ok());
  }
  // A crash in the middle of a write leaves half a record after the committed end.
  std::string seg;
  for (auto& e : fs::recursive_directory_iterator(dir + "/segments/LIID-T")) seg = e.path().string();
  uintmax_t committed = fs::file_size(seg);
  {
    std::ofstream out(seg, std::ios::binary | std::ios::app);
    out << std::string("TVR1\0\0\0\x40 torn", 13);
  }
  // And a segment file that never made it into the catalog.
  { std::ofstream(dir + "/segments/LIID-T/00000000000000ff.seg") << "junk"; }
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    ASSERT_TRUE((*st)->Flush().ok());
    ASSERT_TRUE((*st)->Close().ok());
  }
  EXPECT_EQ(fs::file_size(seg), committed);
  EXPECT_FALSE(fs::exists(dir + "/segments/LIID-T/00000000000000ff.seg"));
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  ASSERT_TRUE(cat.ok());
  auto events = (*cat)->Events();
  ASSERT_TRUE(events.ok());
  bool cut = false, orphan = false;
  for (auto& e : *events) {
    cut |= e.kind == "torn_tail_cut";
    orphan |= e.kind == "orphan_segment_removed";
  }
  EXPECT_TRUE(cut);
  EXPECT_TRUE(orphan);
  // The log holds a signed recovery record: 20 PDUs + 1 system record.
  auto log = (*cat)->GetLogState();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size, 21u);
  fs::remove_all(dir);
}

TEST(StoreTest, ShrunkSegmentRefusesToOpen) {
  std::string dir = TempDir("shrunk");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-S"}, 20);
    ASSERT_TRUE((*st)->Close().ok());
  }
  std::string seg;
  for (auto& e : fs::recursive_directory_iterator(dir + "/segments/LIID-S")) seg = e.path().string();
  fs::resize_file(seg, fs::file_size(seg) - 10);
  auto st = Store::Open({.dir = dir});
  EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(st.status().message()), HasSubstr("shorter"));
  fs::remove_all(dir);
}

// The destroyed content cannot be decrypted with any key that remains, including the keys of a
// copy of the catalog taken before the destruction.
TEST(StoreTest, DestroyedCommunicationIsUnreadableEvenFromAnOldCatalogCopy) {
  std::string dir = TempDir("destroy");
  std::string backup = dir + "_catalog_before.db";
  fs::remove(backup);
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  uint64_t victim = 0, survivor = 0;
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-D"}, 100);
    ASSERT_TRUE((*st)->Flush().ok());
    auto comms = CommsById(dir);
    ASSERT_EQ(comms.size(), 2u);
    victim = comms.begin()->first;
    survivor = std::next(comms.begin())->first;
    auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
    ASSERT_TRUE((*cat)->BackupTo(backup).ok());
    DestroyOrder order;
    order.comm_id = victim;
    order.order_ref = "OvJ-2026-0042";
    order.reason = "privileged: lawyer";
    order.ordered_by = "prosecutor A";
    auto r = (*st)->Destroy(order);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->records, 50u);
    EXPECT_THAT(r->comms_destroyed, ::testing::ElementsAre(victim));
    EXPECT_FALSE(r->data_keys.empty());
    EXPECT_NE(r->old_master_version, r->new_master_version);
    // The signed record verifies with the store's public key and names the order.
    std::ifstream vk(VerifierKeyPath(dir));
    std::string vkey;
    std::getline(vk, vkey);
    auto body = tlog::OpenSignedNote(r->signed_record, vkey);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_THAT(*body, HasSubstr("OvJ-2026-0042"));
    // Appends keep working afterwards, under the new keys.
    Fill(**st, {"LIID-D"}, 10, 1'900'000'000'000'000);
    ASSERT_TRUE((*st)->Close().ok());
  }
  auto comms = CommsById(dir);
  EXPECT_EQ(comms[victim].state, CommState::kDestroyed);
  auto reader = ContentReader::Open(dir);
  ASSERT_TRUE(reader.ok());
  uint64_t destroyed = 0;
  auto gone = ContentReaderTestAccess::ReadComm(**reader, victim, &destroyed);
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->empty());
  EXPECT_EQ(destroyed, 50u);
  auto kept = ContentReaderTestAccess::ReadComm(**reader, survivor);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 55u);  // 50 before, 5 of the 10 after

  // Every key of the old catalog copy, tried with the master key that remains.
  auto old_cat = SqliteCatalog::Open(backup, false, true);
  ASSERT_TRUE(old_cat.ok());
  auto master = crypto::OpenMasterKey(dir + "/keys/master.key", false);
  ASSERT_TRUE(master.ok());
  auto old_keys = (*old_cat)->Keys(std::nullopt, std::nullopt, false);
  ASSERT_TRUE(old_keys.ok());
  int warrant_keys_tried = 0;
  for (const KeyRow& k : *old_keys) {
    if (k.kind != KeyKind::kWarrant) continue;
    ++warrant_keys_tried;
    auto wk = (*master)->Unwrap(base::AsBytes(k.wrapped), internal::KeyContext(k.kind, k.id));
    EXPECT_FALSE(wk.ok()) << "warrant key " << k.id << " of the old copy still opens";
  }
  EXPECT_GE(warrant_keys_tried, 1);
  // And every live warrant key of the current catalog fails on the destroyed data keys of the old copy.
  auto cur = SqliteCatalog::Open(CatalogPath(dir), false, true);
  auto live = (*cur)->Keys(KeyKind::kWarrant, std::nullopt, true);
  ASSERT_TRUE(live.ok());
  auto victim_slices = (*old_cat)->Slices(victim, std::nullopt);
  ASSERT_TRUE(victim_slices.ok());
  ASSERT_FALSE(victim_slices->empty());
  for (const KeyRow& w : *live) {
    auto wk = (*master)->Unwrap(base::AsBytes(w.wrapped), internal::KeyContext(w.kind, w.id));
    ASSERT_TRUE(wk.ok());
    for (const SliceRow& s : *victim_slices) {
      auto old_dk = (*old_cat)->Key(s.key_id);
      ASSERT_TRUE(old_dk.ok());
      auto dk = crypto::UnwrapKey(*wk, base::AsBytes(old_dk->wrapped),
                                  internal::KeyContext(KeyKind::kData, s.key_id));
      EXPECT_FALSE(dk.ok());
    }
  }
  fs::remove_all(dir);
  fs::remove(backup);
}

TEST(StoreTest, RangeDestructionThroughASliceIsExact) {
  std::string dir = TempDir("range");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir, .key_slice_us = 1'000'000});
  ASSERT_TRUE(st.ok()) << st.status();
  const int64_t t0 = 1'800'000'000'000'000;
  Fill(**st, {"LIID-Q"}, 60, t0, 100'000);  // 6 s, one slice per second per comm
  ASSERT_TRUE((*st)->Flush().ok());
  auto comms = CommsById(dir);
  uint64_t comm = comms.begin()->first;    // the even records: 5 a second
  DestroyOrder order;
  order.comm_id = comm;
  order.order_ref = "R-1";
  order.reason = "test";
  order.from_us = t0 + 1'500'000;  // inside a slice
  order.to_us = t0 + 3'999'999;
  auto r = (*st)->Destroy(order);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 12u);            // 1.6 s, 1.8 s, and seconds 2 and 3
  EXPECT_EQ(r->rewritten_records, 3u);   // 1.0 s, 1.2 s, 1.4 s
  EXPECT_TRUE(r->comms_destroyed.empty());
  order.from_us = t0 + 2'000'000;        // nothing left in there
  EXPECT_EQ((*st)->Destroy(order).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE((*st)->Close().ok());
  auto reader = ContentReader::Open(dir);
  ASSERT_TRUE(reader.ok());
  uint64_t destroyed = 0;
  auto recs = ContentReaderTestAccess::ReadComm(**reader, comm, &destroyed);
  ASSERT_TRUE(recs.ok());
  EXPECT_EQ(recs->size(), 18u);
  EXPECT_EQ(destroyed, 12u);
  for (const auto& rec : *recs) {
    const int64_t t = rec.header.received_us;
    EXPECT_TRUE(t < t0 + 1'500'000 || t >= t0 + 4'000'000);
  }
  fs::remove_all(dir);
}

// --- exact time-range destruction ----------------------------------------------------------------

constexpr int64_t kT0 = 1'800'000'000'000'000;   // a multiple of the 10 s key slice

// Communications 1 (cin 1) and 2 (cin 2) of `liid`, one record a second each, for `seconds`
// seconds. In a new store record i of comm 1 is leaf 2i, of comm 2 leaf 2i + 1.
void FillTwoComms(Store& st, int seconds, std::string_view liid = "LIID-E") {
  for (int i = 0; i < seconds; ++i) {
    for (uint32_t cin : {1u, 2u}) {
      AppendMeta m;
      m.received_us = kT0 + i * 1'000'000LL;
      m.connection_id = 40 + cin;
      m.handover = 1;
      m.kind = static_cast<uint8_t>(5 + cin);
      m.verdict = static_cast<uint8_t>(cin);
      m.liid = liid;
      m.network_id = "op/ne";
      m.cin = cin;
      m.sequence_number = cin * 1000 + static_cast<uint32_t>(i);
      std::string pdu = Pdu(cin * 1000 + static_cast<uint32_t>(i), 80 + static_cast<size_t>(i));
      ASSERT_TRUE(st.Append(m, base::AsBytes(pdu)).ok());
    }
  }
}

std::vector<ContentReader::Record> ReadAll(const std::string& dir, uint64_t comm,
                                           uint64_t* destroyed = nullptr) {
  auto reader = ContentReader::Open(dir);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return {};
  auto recs = ContentReaderTestAccess::ReadComm(**reader, comm, destroyed);
  EXPECT_TRUE(recs.ok()) << recs.status();
  return recs.ok() ? *recs : std::vector<ContentReader::Record>{};
}

// A re-encrypted copy keeps every header field of its original but its place, key and nonce.
void ExpectCopyOf(const ContentReader::Record& copy, const ContentReader::Record& orig) {
  EXPECT_EQ(copy.pdu, orig.pdu);
  EXPECT_EQ(copy.header.rewritten_from, orig.header.leaf_index);
  EXPECT_GT(copy.header.leaf_index, orig.header.leaf_index);
  EXPECT_NE(copy.header.key_id, orig.header.key_id);
  RecordHeader a = copy.header, b = orig.header;
  a.leaf_index = b.leaf_index;
  a.segment_id = b.segment_id;
  a.segment_offset = b.segment_offset;
  a.key_id = b.key_id;
  a.nonce = b.nonce;
  a.rewritten_from = b.rewritten_from;
  EXPECT_EQ(a, b);
}

uint64_t LogSize(const std::string& dir) {
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  EXPECT_TRUE(cat.ok());
  auto log = (*cat)->GetLogState();
  EXPECT_TRUE(log.ok());
  return log.ok() ? log->size : 0;
}

std::vector<SliceRow> SlicesOf(const std::string& dir, uint64_t comm) {
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  EXPECT_TRUE(cat.ok());
  auto slices = (*cat)->Slices(comm, std::nullopt);
  EXPECT_TRUE(slices.ok());
  return slices.ok() ? *slices : std::vector<SliceRow>{};
}

void ExpectVerifies(const std::string& dir) {
  auto v = Verify({.dir = dir});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->ok) << v->Summary();
}

// Comm 1 from 5 s to 24.5 s: its records 5..24 (leaves 10..48, even) are inside; slices 0-9 s and
// 20-29 s are cut (records 0..4 and 25..29 kept), 10-19 s is inside, 30-35 s outside.
DestroyOrder CutOrder() {
  return {.comm_id = 1, .from_us = kT0 + 5'000'000, .to_us = kT0 + 24'500'000,
          .order_ref = "OvJ-2026-0077", .reason = "part privileged", .ordered_by = "judge B"};
}
std::vector<std::pair<uint64_t, uint64_t>> CutOrderLeaves() {
  std::vector<std::pair<uint64_t, uint64_t>> leaves;
  for (uint64_t i = 5; i <= 24; ++i) leaves.emplace_back(2 * i, 2 * i);
  return leaves;
}
// The kept records, in leaf order, re-encrypted at leaves 72.. (after the 72 appended).
std::vector<LeafMove> CutOrderMoves() {
  std::vector<LeafMove> moves;
  uint64_t to = 72;
  for (uint64_t i : {0, 1, 2, 3, 4, 25, 26, 27, 28, 29}) moves.push_back({2 * i, 2 * i, to++});
  return moves;
}
bool InCutOrder(int i) { return i >= 5 && i <= 24; }

TEST(StoreTest, RangeThroughTwoSlicesDestroysExactlyTheRecordsInside) {
  std::string dir = TempDir("exact");
  std::string backup = dir + "_catalog_before.db";
  fs::remove(backup);
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  std::vector<ContentReader::Record> before1, before2;
  DestroyResult r;
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    FillTwoComms(**st, 36);
    ASSERT_TRUE((*st)->Flush().ok());
    before1 = ReadAll(dir, 1);
    before2 = ReadAll(dir, 2);
    ASSERT_EQ(before1.size(), 36u);
    ASSERT_EQ(before2.size(), 36u);
    ASSERT_EQ(SlicesOf(dir, 1).size(), 4u);
    auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
    ASSERT_TRUE((*cat)->BackupTo(backup).ok());
    auto d = (*st)->Destroy(CutOrder());
    ASSERT_TRUE(d.ok()) << d.status();
    r = *d;
    ASSERT_TRUE((*st)->Close().ok());
  }
  EXPECT_EQ(r.records, 20u);
  EXPECT_EQ(r.leaves, CutOrderLeaves());
  EXPECT_EQ(r.rewritten_records, 10u);
  EXPECT_EQ(r.rewritten, CutOrderMoves());
  EXPECT_EQ(r.data_keys.size(), 3u);   // two cut slices and the one inside
  EXPECT_THAT(r.comms, ::testing::ElementsAre(1u));
  EXPECT_TRUE(r.comms_destroyed.empty());
  EXPECT_EQ(r.record_leaf, 82u);

  // The signed record lists the same leaves and moves; so does the result's JSON.
  std::ifstream vk(VerifierKeyPath(dir));
  std::string vkey;
  std::getline(vk, vkey);
  auto body = tlog::OpenSignedNote(r.signed_record, vkey);
  ASSERT_TRUE(body.ok()) << body.status();
  nlohmann::json doc = nlohmann::json::parse(*body);
  EXPECT_EQ(doc["records"], 20);
  ASSERT_EQ(doc["leaves"].size(), 20u);
  EXPECT_EQ(doc["leaves"][0], nlohmann::json({10, 10}));
  EXPECT_EQ(doc["leaves"][19], nlohmann::json({48, 48}));
  EXPECT_EQ(doc["rewritten"]["records"], 10);
  ASSERT_EQ(doc["rewritten"]["leaves"].size(), 10u);
  EXPECT_EQ(doc["rewritten"]["leaves"][0], nlohmann::json({0, 0, 72}));
  EXPECT_EQ(doc["rewritten"]["leaves"][5], nlohmann::json({50, 50, 77}));
  nlohmann::json result = nlohmann::json::parse(DestroyResultJson(r));
  EXPECT_EQ(result["rewritten"], doc["rewritten"]);
  EXPECT_EQ(result["leaves"], doc["leaves"]);

  // Everything outside the range reads back byte for byte, in its original place.
  uint64_t destroyed = 0;
  auto after1 = ReadAll(dir, 1, &destroyed);
  EXPECT_EQ(destroyed, 20u);
  ASSERT_EQ(after1.size(), 16u);
  size_t k = 0;
  for (int i = 0; i < 36; ++i) {
    if (InCutOrder(i)) continue;
    const auto& got = after1[k++];
    if (i < 30) {
      ExpectCopyOf(got, before1[i]);
    } else {
      EXPECT_EQ(got.header, before1[i].header);
      EXPECT_EQ(got.pdu, before1[i].pdu);
    }
  }
  auto after2 = ReadAll(dir, 2, &destroyed);
  EXPECT_EQ(destroyed, 0u);
  ASSERT_EQ(after2.size(), before2.size());
  for (size_t i = 0; i < after2.size(); ++i) {
    EXPECT_EQ(after2[i].header, before2[i].header);
    EXPECT_EQ(after2[i].pdu, before2[i].pdu);
  }
  // The copies are not counted again in their communication.
  auto comms = CommsById(dir);
  uint64_t bytes1 = 0;
  for (const auto& rec : before1) bytes1 += rec.pdu.size();
  EXPECT_EQ(comms[1].records, 36u);
  EXPECT_EQ(comms[1].bytes, bytes1);
  EXPECT_EQ(comms[1].state, CommState::kQuarantined);
  // Copies live in their own slices, dated by the records they hold.
  auto slices = SlicesOf(dir, 1);
  ASSERT_EQ(slices.size(), 6u);
  EXPECT_EQ(slices[4].first_leaf, 72u);
  EXPECT_EQ(slices[4].records, 5u);
  EXPECT_EQ(slices[4].start_us, kT0);
  EXPECT_EQ(slices[4].end_us, kT0 + 4'000'000);
  EXPECT_EQ(slices[5].start_us, kT0 + 25'000'000);
  EXPECT_EQ(slices[5].end_us, kT0 + 29'000'000);
  EXPECT_FALSE(slices[4].destroyed || slices[5].destroyed);
  ExpectVerifies(dir);

  // No key that remains opens what was destroyed, not even with the catalog copy from before.
  auto old_cat = SqliteCatalog::Open(backup, false, true);
  ASSERT_TRUE(old_cat.ok());
  auto master = crypto::OpenMasterKey(dir + "/keys/master.key", false);
  ASSERT_TRUE(master.ok());
  auto old_keys = (*old_cat)->Keys(KeyKind::kWarrant, std::nullopt, false);
  ASSERT_TRUE(old_keys.ok());
  ASSERT_FALSE(old_keys->empty());
  for (const KeyRow& w : *old_keys) {
    auto wk = (*master)->Unwrap(base::AsBytes(w.wrapped), internal::KeyContext(w.kind, w.id));
    EXPECT_FALSE(wk.ok()) << "warrant key " << w.id << " of the old copy still opens";
  }
  auto cur = SqliteCatalog::Open(CatalogPath(dir), false, true);
  auto live = (*cur)->Keys(KeyKind::kWarrant, std::nullopt, true);
  ASSERT_TRUE(live.ok());
  ASSERT_FALSE(live->empty());
  for (const KeyRow& w : *live) {
    auto wk = (*master)->Unwrap(base::AsBytes(w.wrapped), internal::KeyContext(w.kind, w.id));
    ASSERT_TRUE(wk.ok());
    for (uint64_t id : r.data_keys) {
      auto old_dk = (*old_cat)->Key(id);
      ASSERT_TRUE(old_dk.ok());
      ASSERT_FALSE(old_dk->wrapped.empty());
      EXPECT_FALSE(crypto::UnwrapKey(*wk, base::AsBytes(old_dk->wrapped),
                                     internal::KeyContext(KeyKind::kData, id))
                       .ok());
      auto now_dk = (*cur)->Key(id);
      ASSERT_TRUE(now_dk.ok());
      EXPECT_TRUE(now_dk->wrapped.empty());
    }
  }

  // A changed byte in a copy is found like in any record.
  auto segments = (*cur)->Segments();
  ASSERT_TRUE(segments.ok());
  std::string path;
  for (const SegmentRow& g : *segments) {
    if (g.id == slices[4].segment_id) path = dir + "/" + g.path;
  }
  ASSERT_FALSE(path.empty());
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(slices[4].end_offset - 1));
    char c = 0;
    f.read(&c, 1);
    c ^= 0x01;
    f.seekp(static_cast<std::streamoff>(slices[4].end_offset - 1));
    f.write(&c, 1);
  }
  auto v = Verify({.dir = dir});
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_FALSE(v->ok);
  EXPECT_THAT(v->problems[0], HasSubstr("record leaf 76 "));
  fs::remove_all(dir);
  fs::remove(backup);
}

TEST(StoreTest, CrashBetweenCopiesAndShreddingMakesNoSecondCopy) {
  std::string dir = TempDir("rewrite_crash");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  std::vector<ContentReader::Record> before;
  {
    auto st = Store::Open({.dir = dir, .fail_after_rewrite_for_test = true});
    ASSERT_TRUE(st.ok()) << st.status();
    FillTwoComms(**st, 36);
    ASSERT_TRUE((*st)->Flush().ok());
    before = ReadAll(dir, 1);
    ASSERT_EQ(before.size(), 36u);
    EXPECT_EQ((*st)->Destroy(CutOrder()).status().code(), absl::StatusCode::kAborted);
    ASSERT_TRUE((*st)->Close().ok());
  }
  // The copies are durable, nothing is destroyed: each record is read once, as the original.
  EXPECT_EQ(LogSize(dir), 82u);
  ASSERT_EQ(SlicesOf(dir, 1).size(), 6u);
  uint64_t destroyed = 1;
  auto between = ReadAll(dir, 1, &destroyed);
  EXPECT_EQ(destroyed, 0u);
  ASSERT_EQ(between.size(), 36u);
  for (size_t i = 0; i < between.size(); ++i) {
    EXPECT_EQ(between[i].header, before[i].header);
    EXPECT_EQ(between[i].pdu, before[i].pdu);
  }
  EXPECT_EQ(CommsById(dir)[1].records, 36u);
  ExpectVerifies(dir);

  // The order again, after a restart: the copies are found and used, none is made twice.
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    auto r = (*st)->Destroy(CutOrder());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->records, 20u);
    EXPECT_EQ(r->leaves, CutOrderLeaves());
    EXPECT_EQ(r->rewritten, CutOrderMoves());
    EXPECT_EQ(r->record_leaf, 82u);
    ASSERT_TRUE((*st)->Close().ok());
  }
  EXPECT_EQ(LogSize(dir), 83u);
  EXPECT_EQ(SlicesOf(dir, 1).size(), 6u);
  auto after = ReadAll(dir, 1, &destroyed);
  EXPECT_EQ(destroyed, 20u);
  ASSERT_EQ(after.size(), 16u);
  size_t k = 0;
  for (int i = 0; i < 36; ++i) {
    if (InCutOrder(i)) continue;
    if (i < 30) {
      ExpectCopyOf(after[k++], before[i]);
    } else {
      EXPECT_EQ(after[k++].header, before[i].header);
    }
  }
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  auto events = (*cat)->Events();
  ASSERT_TRUE(events.ok());
  int rewrites = 0;
  for (const EventRow& e : *events) rewrites += e.kind == "destruction_rewrite";
  EXPECT_EQ(rewrites, 1);
  ExpectVerifies(dir);
  fs::remove_all(dir);
}

// A range inside the gap between two records of a slice destroys nothing there: that slice is
// neither cut nor re-encrypted, while the rest of the order is carried out.
TEST(StoreTest, RangeWithoutRecordsOfASliceLeavesThatSliceWhole) {
  std::string dir = TempDir("gap");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  std::vector<ContentReader::Record> before;
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    auto append = [&](uint32_t cin, int second) {
      AppendMeta m;
      m.received_us = kT0 + second * 1'000'000LL;
      m.liid = "LIID-G";
      m.network_id = "op/ne";
      m.cin = cin;
      m.sequence_number = static_cast<uint32_t>(second);
      std::string pdu = Pdu(cin * 100 + static_cast<uint32_t>(second));
      ASSERT_TRUE((*st)->Append(m, base::AsBytes(pdu)).ok());
    };
    for (int s : {0, 1, 2}) append(1, s);
    for (int s : {4, 5, 6}) append(2, s);
    append(1, 9);
    ASSERT_TRUE((*st)->Flush().ok());
    before = ReadAll(dir, 1);
    ASSERT_EQ(before.size(), 4u);
    DestroyOrder order{.comm_id = 1, .from_us = kT0 + 3'000'000, .to_us = kT0 + 8'000'000,
                       .order_ref = "R-G", .reason = "test"};
    EXPECT_EQ((*st)->Destroy(order).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(LogSize(dir), 7u);
    order.comm_id.reset();
    order.liid = "LIID-G";
    auto r = (*st)->Destroy(order);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->records, 3u);
    EXPECT_EQ(r->rewritten_records, 0u);
    EXPECT_TRUE(r->rewritten.empty());
    EXPECT_THAT(r->comms, ::testing::ElementsAre(2u));
    EXPECT_THAT(r->comms_destroyed, ::testing::ElementsAre(2u));
    EXPECT_EQ(r->data_keys.size(), 1u);
    ASSERT_TRUE((*st)->Close().ok());
  }
  EXPECT_EQ(LogSize(dir), 8u);
  auto slices = SlicesOf(dir, 1);
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_FALSE(slices[0].destroyed);
  auto after = ReadAll(dir, 1);
  ASSERT_EQ(after.size(), 4u);
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].header, before[i].header);
  ExpectVerifies(dir);
  fs::remove_all(dir);
}

// Retention (skip_cut_slices) leaves cut slices whole for a later sweep: nothing re-encrypted.
TEST(StoreTest, SkipCutSlicesLeavesCutSlicesWhole) {
  std::string dir = TempDir("skipcut");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir});
  ASSERT_TRUE(st.ok()) << st.status();
  FillTwoComms(**st, 36);
  ASSERT_TRUE((*st)->Flush().ok());
  DestroyOrder order = CutOrder();
  order.skip_cut_slices = true;
  auto r = (*st)->Destroy(order);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 10u);   // only the slice 10-19 s
  EXPECT_EQ(r->rewritten_records, 0u);
  ASSERT_TRUE((*st)->Close().ok());
  EXPECT_EQ(LogSize(dir), 73u);
  EXPECT_EQ(ReadAll(dir, 1).size(), 26u);
  ExpectVerifies(dir);
  fs::remove_all(dir);
}

// rewritten_from is encoded only when set (flags bit 1, after the nonce): headers without it keep
// their bytes, so stores written before it read unchanged.
TEST(StoreTest, RecordHeaderRewrittenFromIsAnOptionalTrailingField) {
  RecordHeader h;
  h.leaf_index = 7;
  h.segment_id = 2;
  h.received_us = kT0;
  h.comm_id = 3;
  h.key_id = 9;
  h.cin = 12345;
  h.liid = "LIID-1";
  h.network_id = "op/ne";
  const std::string plain = EncodeRecordHeader(h);
  ASSERT_EQ(plain.size(), 90u + h.liid.size() + h.network_id.size());
  EXPECT_EQ(plain[65], 1);   // flags: cin only
  h.rewritten_from = 0x0102030405060708;
  const std::string copy = EncodeRecordHeader(h);
  ASSERT_EQ(copy.size(), plain.size() + 8);
  EXPECT_EQ(copy[65], 3);
  EXPECT_EQ(copy.substr(plain.size()), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(copy.substr(0, 65), plain.substr(0, 65));
  EXPECT_EQ(copy.substr(66, plain.size() - 66), plain.substr(66));
  auto d = DecodeRecordHeader(base::AsBytes(copy));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, h);
  auto p = DecodeRecordHeader(base::AsBytes(plain));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->rewritten_from.has_value());
  // Flag without the field, field without the flag, unknown flags, a CIN without its flag.
  std::string bad = plain;
  bad[65] = 3;
  EXPECT_FALSE(DecodeRecordHeader(base::AsBytes(bad)).ok());
  bad = copy;
  bad[65] = 1;
  EXPECT_FALSE(DecodeRecordHeader(base::AsBytes(bad)).ok());
  bad = plain;
  bad[65] = 5;
  EXPECT_FALSE(DecodeRecordHeader(base::AsBytes(bad)).ok());
  bad = plain;
  bad[65] = 0;
  EXPECT_FALSE(DecodeRecordHeader(base::AsBytes(bad)).ok());
}

TEST(StoreTest, DestructionRemovesDerivedData) {
  std::string dir = TempDir("derived");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir});
  ASSERT_TRUE(st.ok()) << st.status();
  Fill(**st, {"LIID-X"}, 10);
  ASSERT_TRUE((*st)->Flush().ok());
  uint64_t comm = CommsById(dir).begin()->first;
  std::string export_path = dir + "/derived/export-1.pcap";
  { std::ofstream(export_path) << "plaintext export"; }
  {
    auto cat = SqliteCatalog::Open(CatalogPath(dir), false);
    ASSERT_TRUE((*cat)->AddDerived(comm, "derived/export-1.pcap", "pcap").ok());
  }
  DestroyOrder order;
  order.comm_id = comm;
  order.order_ref = "R-2";
  order.reason = "test";
  auto r = (*st)->Destroy(order);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->derived_removed, ::testing::ElementsAre("derived/export-1.pcap"));
  EXPECT_FALSE(fs::exists(export_path));
  ASSERT_TRUE((*st)->Close().ok());
  fs::remove_all(dir);
}

TEST(StoreTest, DestroyFromAnotherProcessGoesThroughTheOwner) {
  std::string dir = TempDir("mailbox");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir, .control_interval_us = 20'000});
  ASSERT_TRUE(st.ok()) << st.status();
  Fill(**st, {"LIID-M"}, 10);
  ASSERT_TRUE((*st)->Flush().ok());
  DestroyOrder order;
  order.liid = "LIID-M";
  order.order_ref = "R-3";
  order.reason = "case closed";
  // The store is owned here, so this takes the request path.
  auto r = SubmitOrRunDestroy(dir, order, 20'000'000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->records, 10u);
  EXPECT_EQ(r->comms_destroyed.size(), 2u);
  ASSERT_TRUE((*st)->Close().ok());
  fs::remove_all(dir);
}

TEST(StoreTest, KeyRotationKeepsContentReadableAndRetiresOldKeys) {
  std::string dir = TempDir("rotate");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  std::vector<Sent> sent;
  uint64_t old_wk = 0;
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    sent = Fill(**st, {"LIID-K"}, 40);
    ASSERT_TRUE((*st)->Flush().ok());
    auto master_only = (*st)->RotateKeys(std::nullopt);
    ASSERT_TRUE(master_only.ok()) << master_only.status();
    EXPECT_EQ(master_only->new_master_version, master_only->old_master_version + 1);
    EXPECT_EQ(master_only->old_warrant_key, 0u);
    auto with_case = (*st)->RotateKeys(std::string("LIID-K"));
    ASSERT_TRUE(with_case.ok()) << with_case.status();
    old_wk = with_case->old_warrant_key;
    EXPECT_NE(with_case->new_warrant_key, old_wk);
    EXPECT_GE(with_case->rewrapped_keys, 3u);  // data keys + signing key
    EXPECT_EQ((*st)->RotateKeys(std::string("NO-SUCH")).status().code(), absl::StatusCode::kNotFound);
    // Appends continue under the new keys.
    Fill(**st, {"LIID-K"}, 10, 1'900'000'000'000'000);
    ASSERT_TRUE((*st)->Close().ok());
  }
  auto master = crypto::OpenMasterKey(dir + "/keys/master.key", false);
  ASSERT_TRUE(master.ok());
  EXPECT_EQ((*master)->Versions(), std::vector<uint32_t>{3});
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  auto old_row = (*cat)->Key(old_wk);
  ASSERT_TRUE(old_row.ok());
  EXPECT_TRUE(old_row->wrapped.empty());
  auto reader = ContentReader::Open(dir);
  ASSERT_TRUE(reader.ok());
  uint64_t read = 0;
  for (auto& [id, c] : CommsById(dir)) {
    auto recs = ContentReaderTestAccess::ReadComm(**reader, id);
    ASSERT_TRUE(recs.ok()) << recs.status();
    read += recs->size();
  }
  EXPECT_EQ(read, 50u);
  fs::remove_all(dir);
}

TEST(StoreTest, RetentionDestroysWhatExpiredByItself) {
  std::string dir = TempDir("retention");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  const int64_t day_us = 86400LL * 1000000;
  const int64_t now_us = base::Now().unix_us;
  {
    auto st = Store::Open({.dir = dir});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-OLD"}, 20, now_us - 10 * day_us);  // received ten days ago
    Fill(**st, {"LIID-NEW"}, 20, now_us - 1000);
    ASSERT_TRUE((*st)->Close().ok());
  }
  {
    auto cat = SqliteCatalog::Open(CatalogPath(dir), false);
    ASSERT_TRUE((*cat)->SetRetention("LIID-OLD", 7).ok());
    ASSERT_TRUE((*cat)->SetRetention("LIID-NEW", 7).ok());
  }
  auto st = Store::Open({.dir = dir, .control_interval_us = 20'000, .retention_interval_us = 50'000});
  ASSERT_TRUE(st.ok()) << st.status();
  bool expired = false;
  for (int i = 0; i < 250 && !expired; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    expired = true;
    for (auto& [id, c] : CommsById(dir)) {
      if (c.liid == "LIID-OLD" && c.state != CommState::kDestroyed) expired = false;
    }
  }
  EXPECT_TRUE(expired);
  for (auto& [id, c] : CommsById(dir)) {
    if (c.liid == "LIID-NEW") {
      EXPECT_EQ(c.state, CommState::kQuarantined);
    }
  }
  ASSERT_TRUE((*st)->Close().ok());
  fs::remove_all(dir);
}

TEST(StoreTest, MalformedRequestFromAnotherProcessFailsAloneAndTheStoreGoesOn) {
  std::string dir = TempDir("badrequest");
  ASSERT_TRUE(InitStore({.dir = dir}).ok());
  auto st = Store::Open({.dir = dir, .control_interval_us = 20'000});
  ASSERT_TRUE(st.ok()) << st.status();
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false);
  ASSERT_TRUE(cat.ok());
  auto id = (*cat)->AddRequest("destroy", R"({"comm":"not a number","order":"R","reason":"x"})");
  ASSERT_TRUE(id.ok());
  RequestRow row;
  for (int i = 0; i < 250; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto r = (*cat)->Request(*id);
    ASSERT_TRUE(r.ok());
    row = *r;
    if (row.status != "pending") break;
  }
  EXPECT_EQ(row.status, "failed");
  EXPECT_THAT(row.result, HasSubstr("malformed destroy request"));
  Fill(**st, {"LIID-B"}, 5);
  EXPECT_TRUE((*st)->Flush().ok());
  ASSERT_TRUE((*st)->Close().ok());
  fs::remove_all(dir);
}

TEST(StoreTest, HsmMasterKeyNeverLeavesTheToken) {
  auto uri = crypto::NewSoftHsmMasterKeyUriForTest();
  ASSERT_TRUE(uri.ok()) << uri.status();
  std::string dir = TempDir("hsm");
  ASSERT_TRUE(InitStore({.dir = dir, .master_key = *uri}).ok());
  EXPECT_FALSE(fs::exists(dir + "/keys/master.key"));
  // The PIN is not written into the store.
  auto cat = SqliteCatalog::Open(CatalogPath(dir), false, true);
  auto spec = (*cat)->GetMeta("master_key");
  ASSERT_TRUE(spec.ok() && spec->has_value());
  EXPECT_THAT(**spec, ::testing::Not(HasSubstr("pin-value")));
  cat->reset();
  {
    auto st = Store::Open({.dir = dir, .master_key = *uri});
    ASSERT_TRUE(st.ok()) << st.status();
    Fill(**st, {"LIID-H"}, 30);
    ASSERT_TRUE((*st)->Flush().ok());
    DestroyOrder order;
    order.comm_id = 1;
    order.order_ref = "R-4";
    order.reason = "test";
    ASSERT_TRUE((*st)->Destroy(order).ok());
    ASSERT_TRUE((*st)->Close().ok());
  }
  auto reader = ContentReader::Open(dir, *uri);
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto recs = ContentReaderTestAccess::ReadComm(**reader, 2);
  ASSERT_TRUE(recs.ok()) << recs.status();
  EXPECT_EQ(recs->size(), 15u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tapvault::store
