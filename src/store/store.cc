#include "store/store.h"

#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "crypto/aead.h"
#include "crypto/digest.h"
#include "crypto/ed25519.h"
#include "crypto/master_key.h"
#include "nlohmann/json.hpp"
#include "audit/audit_log.h"
#include "base/file_util.h"
#include "store/internal/keys.h"
#include "store/internal/tile_writer.h"
#include "store/segment_store.h"
#include "tlog/dir_tile_store.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::store {

using base::ErrnoStatus;
using base::JoinPath;

std::string CatalogPath(const std::string& dir) { return JoinPath(dir, "catalog.db"); }
std::string LogDir(const std::string& dir) { return JoinPath(dir, "log"); }
std::string CheckpointPath(const std::string& dir) { return JoinPath(LogDir(dir), "checkpoint"); }
std::string VerifierKeyPath(const std::string& dir) { return JoinPath(LogDir(dir), "verifier.key"); }

namespace {

constexpr char kMetaOrigin[] = "origin";
constexpr char kMetaMasterKey[] = "master_key";
constexpr char kMetaSigningKey[] = "signing_key_id";
constexpr char kMetaVerifierKey[] = "verifier_key";
constexpr char kMetaAuditKey[] = "audit_signing_key_id";
constexpr char kMetaRunId[] = "run_id";
constexpr char kMetaIdentitySalt[] = "identity_salt";
constexpr char kMetaReleaseFourEyes[] = "release_four_eyes";   // "off" = one person may release
constexpr char kMetaConfirmFourEyes[] = "confirm_four_eyes";   // "off" = one person may confirm
constexpr char kMetaTilesDurable[] = "tiles_durable";   // JSON {size, edge(hex)}
constexpr uint64_t kBundleWidth = 256;

int64_t NowUs() { return base::Now().unix_us; }

std::string HashString(const tlog::Hash& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}
std::string Hex(std::string_view s) { return base::ToHex(base::AsBytes(s)); }
std::string Unhex(std::string_view s) {
  auto v = base::FromHex(s);
  if (!v) return {};
  return std::string(reinterpret_cast<const char*>(v->data()), v->size());
}

// Removes the PIN from a PKCS#11 URI before it is written anywhere.
std::string StripPin(std::string_view uri) {
  std::string out;
  size_t q = uri.find('?');
  if (q == std::string_view::npos) return std::string(uri);
  out = std::string(uri.substr(0, q));
  std::string_view query = uri.substr(q + 1);
  std::string kept;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (part.substr(0, 10) != "pin-value=") {
      if (!kept.empty()) kept += '&';
      kept += part;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  if (!kept.empty()) out += "?" + kept;
  return out;
}

// The master key spec as recorded ("key-file:<path relative to dir or absolute>" / pkcs11 URI)
// resolved for opening.
std::string ResolveMasterSpec(const std::string& dir, const std::string& recorded) {
  if (recorded.rfind("pkcs11:", 0) == 0) return recorded;
  std::string path = recorded.rfind("key-file:", 0) == 0 ? recorded.substr(9) : recorded;
  if (!path.empty() && path[0] != '/') path = JoinPath(dir, path);
  return path;
}

// Makes the audit log's signing key as catalog key `key_id` and the (empty) log in DIR/audit,
// whose first entry says how it came to be.
absl::Status MakeAuditLog(Catalog& catalog, crypto::MasterKey& master, const std::string& dir,
                          const std::string& store_origin, uint64_t key_id, std::string_view why) {
  crypto::Ed25519Signer signer = crypto::Ed25519Signer::Generate();
  KeyRow key;
  key.id = key_id;
  key.kind = KeyKind::kSigning;
  key.master_version = master.CurrentVersion();
  ASSIGN_OR_RETURN(key.wrapped, master.Wrap(signer.Seed(), internal::KeyContext(KeyKind::kSigning, key_id)));
  key.created_us = NowUs();
  CommitBatch batch;
  batch.new_keys.push_back(key);
  RETURN_IF_ERROR(catalog.Commit(batch));
  RETURN_IF_ERROR(catalog.SetMeta(kMetaAuditKey, std::to_string(key_id)));
  ASSIGN_OR_RETURN(auto log, audit::AuditLog::Open(
                                 {.dir = AuditDir(dir), .signer = &signer,
                                  .origin = store_origin + "/audit", .checkpoint_interval_ms = 0},
                                 /*create=*/true));
  audit::Event e{.actor = "system", .role = "system", .action = "audit_log_created",
                 .object = "store", .outcome = "ok",
                 .detail = {{"reason", why}, {"store_origin", store_origin}}};
  RETURN_IF_ERROR(log->Append(e).status());
  return log->Checkpoint().status();
}

std::string SegmentRelPath(std::string_view liid, uint64_t segment_id) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.seg", static_cast<unsigned long long>(segment_id));
  return "segments/" + CaseDirName(liid) + "/" + name;
}

std::string CommKey(std::string_view liid, std::string_view network_id,
                    std::optional<uint32_t> cin) {
  std::string k;
  k.reserve(liid.size() + network_id.size() + 12);
  k.append(liid);
  k.push_back('\0');
  k.append(network_id);
  k.push_back('\0');
  if (cin) k.append(std::to_string(*cin));
  return k;
}

absl::StatusOr<int> LockStore(const std::string& dir, bool wait) {
  std::string path = JoinPath(dir, "store.lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  if (::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          base::StrCat("store: ", dir, " is in use by another tapvault process"));
    }
    return ErrnoStatus(err, "lock", path);
  }
  return fd;
}

// {"records": n, "leaves": [[from_first, from_last, to_first], ...]}: the destruction record's
// account of the kept records of cut slices (docs/formats/store.md).
nlohmann::ordered_json RewrittenJson(const DestroyResult& r) {
  nlohmann::ordered_json j;
  j["records"] = r.rewritten_records;
  nlohmann::json moves = nlohmann::json::array();
  for (const LeafMove& m : r.rewritten) moves.push_back({m.from_first, m.from_last, m.to_first});
  j["leaves"] = moves;
  return j;
}

// The catalog event committed together with the re-encrypted copies of a destruction (see
// Store::Impl::RewriteKept): which slices' records were copied into which new slices.
constexpr char kRewriteEvent[] = "destruction_rewrite";

}  // namespace

std::string DestroyResultJson(const DestroyResult& r) {
  nlohmann::ordered_json j;
  j["at"] = base::FormatRfc3339({r.at_us});
  j["comms"] = r.comms;
  j["comms_destroyed"] = r.comms_destroyed;
  nlohmann::json ranges = nlohmann::json::array();
  for (auto [a, b] : r.leaves) ranges.push_back({a, b});
  j["leaves"] = ranges;
  j["records"] = r.records;
  j["rewritten"] = RewrittenJson(r);
  j["data_keys"] = r.data_keys;
  j["old_warrant_key"] = r.old_warrant_key;
  j["new_warrant_key"] = r.new_warrant_key;
  j["old_master_version"] = r.old_master_version;
  j["new_master_version"] = r.new_master_version;
  j["derived_removed"] = r.derived_removed;
  j["record_leaf"] = r.record_leaf;
  j["signed_record"] = r.signed_record;
  return j.dump();
}

// ---------------------------------------------------------------------------------------------
// InitStore

absl::Status InitStore(const InitOptions& options) {
  const std::string& dir = options.dir;
  if (dir.empty()) return absl::InvalidArgumentError("store: no directory given");
  RETURN_IF_ERROR(base::MakeDirs(dir, 0700));
  if (::access(CatalogPath(dir).c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(base::StrCat("store: ", dir, " already holds a store"));
  }
  ASSIGN_OR_RETURN(int lock_fd, LockStore(dir, /*wait=*/false));
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};

  // Master key first: if it cannot be made, nothing else is written.
  std::string recorded_spec;
  std::string open_spec;
  if (options.master_key.rfind("pkcs11:", 0) == 0) {
    recorded_spec = StripPin(options.master_key);
    open_spec = options.master_key;
  } else if (options.master_key.empty()) {
    RETURN_IF_ERROR(base::MakeDirs(JoinPath(dir, "keys"), 0700));
    recorded_spec = "key-file:keys/master.key";
    open_spec = JoinPath(dir, "keys/master.key");
  } else {
    recorded_spec = "key-file:" + options.master_key;
    open_spec = options.master_key;
  }
  ASSIGN_OR_RETURN(auto master, crypto::OpenMasterKey(open_spec, /*create=*/true));

  ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open(CatalogPath(dir), /*create=*/true));
  std::string origin = options.origin;
  if (origin.empty()) origin = "tapvault.local/" + Hex(crypto::RandomBytes(6));
  crypto::Ed25519Signer signer = crypto::Ed25519Signer::Generate();
  crypto::SecretBytes seed = signer.Seed();
  const uint64_t signing_key_id = 1;
  ASSIGN_OR_RETURN(std::string wrapped,
                   master->Wrap(seed, internal::KeyContext(KeyKind::kSigning, signing_key_id)));

  std::string vkey = tlog::VerifierKey(origin, signer.PublicKey());
  RETURN_IF_ERROR(base::MakeDirs(LogDir(dir), 0700));
  RETURN_IF_ERROR(base::WriteFileAtomic(VerifierKeyPath(dir), vkey + "\n", 0644));

  CommitBatch batch;
  KeyRow key;
  key.id = signing_key_id;
  key.kind = KeyKind::kSigning;
  key.master_version = master->CurrentVersion();
  key.wrapped = wrapped;
  key.created_us = NowUs();
  batch.new_keys.push_back(key);
  LogState log;
  log.root = HashString(tlog::EmptyRoot());
  log.edge = tlog::TreeBuilder().EncodeEdge();
  batch.log = log;
  batch.events.push_back({NowUs(), "store_created",
                          nlohmann::json{{"origin", origin}, {"master_key", recorded_spec}}.dump()});
  RETURN_IF_ERROR(catalog->Commit(batch));
  RETURN_IF_ERROR(catalog->SetMeta(kMetaOrigin, origin));
  RETURN_IF_ERROR(catalog->SetMeta(kMetaMasterKey, recorded_spec));
  RETURN_IF_ERROR(catalog->SetMeta(kMetaSigningKey, std::to_string(signing_key_id)));
  RETURN_IF_ERROR(catalog->SetMeta(kMetaVerifierKey, vkey));
  RETURN_IF_ERROR(catalog->SetMeta(kMetaRunId, "0"));
  RETURN_IF_ERROR(MakeAuditLog(*catalog, *master, dir, origin, signing_key_id + 1, "store_created"));

  tlog::Checkpoint cp{origin, 0, tlog::EmptyRoot(), {}};
  ASSIGN_OR_RETURN(std::string note, tlog::SignNote(tlog::CheckpointBody(cp), origin, signer));
  RETURN_IF_ERROR(base::WriteFileAtomic(CheckpointPath(dir), note, 0644));
  RETURN_IF_ERROR(base::MakeDirs(JoinPath(dir, "segments"), 0700));
  RETURN_IF_ERROR(base::MakeDirs(JoinPath(dir, "derived"), 0700));
  base::Log(base::LogLevel::kInfo, "store.created",
            {{"dir", dir}, {"origin", origin}, {"master_key", master->Describe()}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Store::Impl

class Store::Impl {
 public:
  explicit Impl(StoreOptions options)
      : opt_(std::move(options)), tiles_(LogDir(opt_.dir)), segments_(NewFileSegmentStore(opt_.dir)) {}
  ~Impl();

  absl::Status Start();
  absl::Status Append(const AppendMeta& meta, base::Bytes raw);
  absl::Status AppendSystem(SystemKind kind, std::string body);
  void WhenDurable(std::function<void()> done);
  bool Saturated() const;
  absl::Status Flush(int64_t timeout_us);
  absl::StatusOr<DestroyResult> Destroy(const DestroyOrder& order);
  absl::StatusOr<DecisionResult> Decide(const DecisionOrder& order);
  absl::StatusOr<Store::KeyRotation> RotateKeys(const std::optional<std::string>& liid);
  absl::Status Checkpoint();
  absl::Status Close();
  StoreStats Stats() const;
  const std::string& dir() const { return opt_.dir; }

 private:
  struct Slice {
    uint64_t key_id = 0;
    int64_t bucket = 0;
    uint64_t segment_id = 0;
    std::array<uint8_t, 4> nonce_prefix{};
    uint64_t records = 0;             // nonce counter
    std::optional<crypto::AesGcm> aead;
  };
  struct CommMem {
    uint64_t id = 0;
    std::string liid;
    Slice slice;
    absl::flat_hash_set<std::string> parties;   // role \0 id already recorded
    std::vector<PartyRow> party_list;            // the same, for the screener
    std::string country;
    int64_t start_us = 0;
    int64_t last_us = 0;
  };
  struct CaseMem {
    uint64_t warrant_key_id = 0;
    crypto::SecretBytes warrant_key;
    uint64_t segment_id = 0;        // 0 = none open yet
    uint64_t segment_end = 0;       // next record offset
  };
  struct Item {
    enum Type : uint8_t { kRecord, kBarrier } type = kRecord;
    uint64_t segment_id = 0;
    uint64_t offset = 0;
    uint64_t framed_size = 0;   // its bytes in Batch::runs[segment_id]
    uint64_t entry_size = 0;    // its leaf entry: the next entry_size bytes of Batch::entries
    tlog::Hash leaf_hash{};
    uint64_t leaf_index = 0;
    uint64_t comm_id = 0, key_id = 0;
    int64_t received_us = 0;
    uint64_t plain_bytes = 0;
    bool rewritten = false;   // a destruction's copy of a kept record: its comm counted it already
    std::function<void()> barrier;
  };
  // What was appended and not yet taken by the writer. The records of one segment are consecutive
  // bytes of one run, framed and sealed in place by Append, so the writer issues one pwrite per
  // segment and no record is copied or allocated on its own on the way. The writer hands an
  // emptied batch back, so buffers keep their capacity from one commit to the next.
  struct Run {
    uint64_t first_offset = 0;
    uint64_t records = 0;
    std::string bytes;
  };
  struct Batch {
    std::vector<Item> items;             // records and barriers in append (= leaf) order
    std::map<uint64_t, Run> runs;        // segment id -> its records
    std::string entries;                 // the records' leaf entries, back to back
    std::vector<std::string> free_buffers;
    Run& RunAt(uint64_t segment_id, uint64_t offset);
    void Clear();
  };
  struct Rows {
    std::vector<CaseRow> cases;
    std::vector<KeyRow> keys;
    std::vector<CommRow> comms;
    std::vector<std::pair<uint64_t, PartyRow>> parties;
    std::vector<SegmentRow> segments;
    std::vector<uint64_t> sealed;
    std::vector<EventRow> events;
    std::map<uint64_t, ScreenRequest> screen;   // communications to decide in this commit
    std::vector<DecisionRow> decisions;
    bool empty() const {
      return cases.empty() && keys.empty() && comms.empty() && parties.empty() &&
             segments.empty() && sealed.empty() && events.empty() && screen.empty() &&
             decisions.empty();
    }
  };
  struct SegFile {
    std::string name;          // in segments_ (the catalog's relative path)
    std::string liid;
    uint64_t committed = 0;    // durable, in the catalog
    uint64_t written = 0;      // bytes written (committed + this batch)
    uint64_t records = 0;      // committed records
    bool is_new = false;       // created in the current, not yet committed batch
  };

  absl::Status Recover();
  absl::Status RegenerateTiles();
  absl::Status CleanupMasterVersions();
  absl::StatusOr<CaseMem*> CaseFor(std::string_view liid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<CommMem*> CommFor(const AppendMeta& meta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A fresh data key of the case (its row, wrapped under the warrant key, queued for the next
  // commit) as a slice with its AES context and random nonce prefix; bucket and segment unset.
  absl::StatusOr<Slice> NewDataKey(const std::string& liid, CaseMem& cs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next nonce of `slice` into h.nonce (and its key into h.key_id).
  static void NextNonce(Slice& slice, RecordHeader& h);
  absl::Status NewSlice(CommMem& comm, CaseMem& cs, int64_t bucket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places a record of `framed_size` bytes in the case's segment (rotating when full).
  uint64_t PlaceRecord(std::string_view liid, CaseMem& cs, size_t framed_size, uint64_t* offset)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Enqueue(Item item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Places a record with header `h` (its segment and offset are set here) in the case's segment,
  // frames it into the queue with a body of `body_size` bytes that `fill` writes in place (given
  // the encoded header, the body's AAD), adds its leaf entry and hash, and enqueues `item`.
  absl::Status QueueRecord(RecordHeader& h, CaseMem& cs, size_t body_size,
                           absl::FunctionRef<absl::Status(base::Bytes, std::span<std::byte>)> fill,
                           Item item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void WriterLoop();
  void ControlLoop();
  // Verdicts of the screener for rows.screen, appended to rows.decisions (writer thread).
  void ScreenInto(Rows& rows);
  // Screens stored communications again: every quarantined one, and with `all` every available
  // one too (a new list version: retroactive). Their verdicts go into the next commit.
  void Rescreen(bool all);
  // Queues decisions for the next commit and waits until they are durable.
  absl::Status CommitDecisions(std::vector<DecisionRow> decisions);
  absl::StatusOr<CommRow> CommRowOf(uint64_t comm_id);
  absl::Status CommitBatch(Batch& batch, Rows& rows) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  void RollBack(const tlog::TreeBuilder& tree, const std::string& edge_bundle, uint64_t edge_count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::Status WriteCheckpointLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::Status OpenSegmentFile(const SegmentRow& row) ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  void ProcessRequests();
  void RetentionSweep();
  void EvictIdle();
  void SetStalled(bool stalled, const absl::Status& why);

  struct Rekey {
    std::string liid;
    uint64_t old_warrant_key = 0, new_warrant_key = 0;
    crypto::SecretBytes new_warrant_key_bytes;
    uint32_t old_master = 0, new_master = 0;
    std::vector<uint64_t> destroyed_data_keys;
  };
  absl::Status PrepareRekey(const std::optional<std::string>& liid, const std::set<uint64_t>& doomed,
                            Catalog::DestroyTxn& txn, Rekey& rk)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, writer_mu_);
  absl::Status FinishRekey(Rekey& rk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, writer_mu_);
  // What a destruction order selects, read from the catalog and the segments (nothing changed).
  struct DestroyPlan {
    struct SliceRecords {
      SliceRow slice;
      std::string bytes;                   // the slice's byte range of its segment
      std::vector<ParsedRecord> records;   // the slice's records (views into `bytes`)
    };
    struct Kept {
      uint64_t leaf = 0, original = 0;     // original = header.rewritten_from or leaf
      size_t cut = 0, record = 0;          // cut[cut]->records[record]
    };
    std::string liid;
    std::vector<SliceRow> doomed;                        // every record inside the range
    std::vector<std::unique_ptr<SliceRecords>> cut;      // records inside and outside the range
    std::vector<uint64_t> destroyed_leaves;              // sorted
    std::vector<Kept> kept;                              // cut slices' records outside, by leaf
    std::map<uint64_t, uint64_t> copies;   // original leaf -> live copy outside the selection
  };
  absl::Status ReadSliceRecords(const SliceRow& s, DestroyPlan::SliceRecords& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(writer_mu_);
  absl::StatusOr<DestroyPlan> PlanDestroyLocked(const DestroyOrder& order)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, writer_mu_);
  absl::Status RewriteKept(const DestroyOrder& order);
  absl::StatusOr<size_t> RewriteKeptLocked(const DestroyOrder& order)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, writer_mu_);
  absl::StatusOr<DestroyResult> DestroyLocked(const DestroyOrder& order)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_, writer_mu_);
  absl::StatusOr<crypto::SecretBytes> UnwrapWarrantKey(const KeyRow& row);
  void PauseAppendsUntilIdle();

  StoreOptions opt_;
  int lock_fd_ = -1;
  std::unique_ptr<Catalog> catalog_;     // writer thread (or with writer_mu_ held)
  std::unique_ptr<Catalog> lookup_;      // lookups under mu_
  std::unique_ptr<crypto::MasterKey> master_;
  std::optional<crypto::Ed25519Signer> signer_;
  std::string origin_;
  uint32_t run_id_ = 0;
  tlog::DirTileStore tiles_;
  std::unique_ptr<SegmentStore> segments_;   // content bytes; the catalog says what is committed
  std::unique_ptr<internal::TileWriter> tile_writer_;   // full tiles and bundles, off the commit

  metrics::Counter* m_records_ = nullptr;
  metrics::Counter* m_bytes_ = nullptr;
  metrics::Counter* m_commits_ = nullptr;
  metrics::Counter* m_write_errors_ = nullptr;
  metrics::Gauge* m_stalled_ = nullptr;
  metrics::Gauge* m_queue_bytes_ = nullptr;

  // Append side.
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, CommMem> comms_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, CaseMem> cases_ ABSL_GUARDED_BY(mu_);
  uint64_t next_comm_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_key_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_segment_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_leaf_ ABSL_GUARDED_BY(mu_) = 0;
  RecordHeader header_scratch_ ABSL_GUARDED_BY(mu_);
  Batch queue_ ABSL_GUARDED_BY(mu_);
  Rows rows_ ABSL_GUARDED_BY(mu_);
  size_t queue_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool saturated_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stalled_ ABSL_GUARDED_BY(mu_) = false;
  bool writer_busy_ ABSL_GUARDED_BY(mu_) = false;
  bool destroy_pending_ ABSL_GUARDED_BY(mu_) = false;   // Append waits while keys change
  absl::Mutex destroy_mu_;                              // one destruction at a time
  absl::Mutex decide_mu_;                               // one decision of a person at a time
  absl::Status stall_status_ ABSL_GUARDED_BY(mu_);
  uint64_t enqueued_ ABSL_GUARDED_BY(mu_) = 0;   // items ever enqueued
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;    // items committed (or barriers run)
  StoreStats stats_ ABSL_GUARDED_BY(mu_);

  // Writer side.
  absl::Mutex writer_mu_;
  tlog::TreeBuilder tree_ ABSL_GUARDED_BY(writer_mu_);
  // The entries of the log's last, partial entry bundle, encoded as the bundle file holds them.
  std::string edge_bundle_ ABSL_GUARDED_BY(writer_mu_);
  uint64_t edge_count_ ABSL_GUARDED_BY(writer_mu_) = 0;
  std::map<uint64_t, SegFile> segfiles_ ABSL_GUARDED_BY(writer_mu_);
  uint64_t checkpoint_size_ ABSL_GUARDED_BY(writer_mu_) = UINT64_MAX;
  int64_t last_checkpoint_us_ ABSL_GUARDED_BY(writer_mu_) = 0;

  bool recovered_ = false;   // recovery cut or removed something (its record is queued)
  std::thread writer_;
  std::thread control_;
  absl::Mutex control_mu_;
  bool control_stop_ ABSL_GUARDED_BY(control_mu_) = false;
};

Store::Impl::~Impl() {
  if (absl::Status s = Close(); !s.ok()) {
    base::Log(base::LogLevel::kError, "store.close_failed", {{"reason", base::View(s.message())}});
  }
}

absl::StatusOr<crypto::SecretBytes> Store::Impl::UnwrapWarrantKey(const KeyRow& row) {
  if (row.wrapped.empty()) {
    return absl::FailedPreconditionError(base::StrCat("store: warrant key ", row.id, " is destroyed"));
  }
  return master_->Unwrap(base::AsBytes(row.wrapped), internal::KeyContext(row.kind, row.id));
}

absl::Status Store::Impl::Start() {
  const std::string& dir = opt_.dir;
  ASSIGN_OR_RETURN(lock_fd_, LockStore(dir, /*wait=*/false));
  ASSIGN_OR_RETURN(catalog_, SqliteCatalog::Open(CatalogPath(dir), /*create=*/false));
  ASSIGN_OR_RETURN(lookup_, SqliteCatalog::Open(CatalogPath(dir), /*create=*/false));
  ASSIGN_OR_RETURN(auto recorded, catalog_->GetMeta(kMetaMasterKey));
  ASSIGN_OR_RETURN(auto origin, catalog_->GetMeta(kMetaOrigin));
  ASSIGN_OR_RETURN(auto signing_id, catalog_->GetMeta(kMetaSigningKey));
  if (!recorded || !origin || !signing_id) {
    return absl::DataLossError(base::StrCat("store: ", dir, ": catalog lacks its meta rows"));
  }
  origin_ = *origin;
  std::string spec = !opt_.master_key.empty() ? opt_.master_key : ResolveMasterSpec(dir, *recorded);
  ASSIGN_OR_RETURN(master_, crypto::OpenMasterKey(spec, /*create=*/false));
  ASSIGN_OR_RETURN(KeyRow signing, catalog_->Key(std::stoull(*signing_id)));
  {
    ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                     master_->Unwrap(base::AsBytes(signing.wrapped),
                                     internal::KeyContext(KeyKind::kSigning, signing.id)));
    ASSIGN_OR_RETURN(auto signer, crypto::Ed25519Signer::FromSeed(seed));
    signer_.emplace(std::move(signer));
  }
  ASSIGN_OR_RETURN(auto run, catalog_->GetMeta(kMetaRunId));
  run_id_ = static_cast<uint32_t>(run ? std::stoul(*run) + 1 : 1);
  RETURN_IF_ERROR(catalog_->SetMeta(kMetaRunId, std::to_string(run_id_)));
  // The salt of identity hashes in decisions (store/catalog.h DecisionRow): stores made before
  // the privileged-party filter get theirs here.
  ASSIGN_OR_RETURN(auto salt, catalog_->GetMeta(kMetaIdentitySalt));
  if (!salt) {
    RETURN_IF_ERROR(catalog_->SetMeta(kMetaIdentitySalt, base::ToHex(base::AsBytes(crypto::RandomBytes(32)))));
  }

  if (opt_.metrics != nullptr) {
    auto& r = *opt_.metrics;
    m_records_ = &r.GetCounter("tapvault_store_records_total", "Records made durable in the cold store");
    m_bytes_ = &r.GetCounter("tapvault_store_bytes_total", "PDU bytes made durable in the cold store");
    m_commits_ = &r.GetCounter("tapvault_store_commits_total", "Group commits of the cold store");
    m_write_errors_ = &r.GetCounter("tapvault_store_write_errors_total",
                                    "Failed group commits (disk full, I/O error); retried");
    m_stalled_ = &r.GetGauge("tapvault_store_stalled",
                             "1 while the cold store cannot write (ingest is paused)");
    m_queue_bytes_ = &r.GetGauge("tapvault_store_queue_bytes", "Bytes waiting for the writer");
  }

  RETURN_IF_ERROR(Recover());

  tile_writer_ = std::make_unique<internal::TileWriter>(&tiles_, opt_.retry_interval_us);
  writer_ = std::thread([this] { WriterLoop(); });
  pthread_setname_np(writer_.native_handle(), "tv-store-writer");
  control_ = std::thread([this] { ControlLoop(); });
  pthread_setname_np(control_.native_handle(), "tv-store-ctl");
  // The signed record of what recovery cut is in the log before anything new is accepted.
  if (recovered_) RETURN_IF_ERROR(Flush(60LL * 1000000));
  base::Log(base::LogLevel::kInfo, "store.opened",
            {{"dir", dir}, {"run", run_id_}, {"master_key", master_->Describe()}});
  return absl::OkStatus();
}

// Brings the files in line with the catalog, whose last commit is the truth: everything after it
// was never reported durable.
absl::Status Store::Impl::Recover() {
  absl::MutexLock wl(&writer_mu_);
  ASSIGN_OR_RETURN(LogState log, catalog_->GetLogState());
  if (log.size == 0 && log.edge.empty()) {
    tree_ = tlog::TreeBuilder();
  } else {
    ASSIGN_OR_RETURN(tree_, tlog::TreeBuilder::Resume(log.size, base::AsBytes(log.edge)));
  }
  if (log.size > 0 && HashString(tree_.Root()) != log.root) {
    return absl::DataLossError("store: the catalog's log edge does not match its root");
  }
  {
    ASSIGN_OR_RETURN(auto entries, tlog::DecodeEntryBundle(base::AsBytes(log.edge_entries)));
    edge_count_ = entries.size();
    edge_bundle_ = log.edge_entries;
  }
  if (edge_count_ != log.size % kBundleWidth) {
    return absl::DataLossError("store: the catalog's partial entry bundle has the wrong size");
  }
  ASSIGN_OR_RETURN(Catalog::MaxIds ids, catalog_->GetMaxIds());
  std::vector<nlohmann::json> recovered;
  std::vector<std::pair<std::string, uint64_t>> cuts;  // path, committed length
  ASSIGN_OR_RETURN(std::vector<SegmentRow> segments, catalog_->Segments());
  std::set<std::string> known;
  {
    absl::MutexLock l(&mu_);
    next_comm_id_ = ids.comm + 1;
    next_key_id_ = ids.key + 1;
    next_segment_id_ = ids.segment + 1;
    next_leaf_ = log.size;
  }
  ASSIGN_OR_RETURN(auto audit_key, catalog_->GetMeta(kMetaAuditKey));
  if (!audit_key) {
    uint64_t id;
    {
      absl::MutexLock l(&mu_);
      id = next_key_id_++;
    }
    RETURN_IF_ERROR(MakeAuditLog(*catalog_, *master_, opt_.dir, origin_, id, "store_predates_audit_log"));
  }
  for (const SegmentRow& row : segments) {
    known.insert(row.path);
    absl::StatusOr<uint64_t> present = segments_->Size(row.path);
    if (absl::IsNotFound(present.status())) {
      return absl::DataLossError(base::StrCat("store: segment ", row.path,
                                              " is missing; run `tapvault verify`"));
    }
    RETURN_IF_ERROR(present.status());
    const uint64_t size = *present;
    if (size < row.committed_bytes) {
      return absl::DataLossError(base::StrCat("store: segment ", row.path, " is shorter (", size,
                                              " bytes) than committed (", row.committed_bytes,
                                              "); run `tapvault verify`"));
    }
    if (size > row.committed_bytes) {
      cuts.emplace_back(row.path, row.committed_bytes);  // once it is on record, below
      recovered.push_back({{"event", "torn_tail_cut"},
                           {"segment", row.id},
                           {"path", row.path},
                           {"committed_bytes", row.committed_bytes},
                           {"cut_bytes", size - row.committed_bytes}});
    }
    if (!row.sealed) {
      // Continue appending to the case's open segment.
      absl::MutexLock l(&mu_);
      CaseMem& cs = cases_[row.liid];
      if (cs.segment_id < row.id) {
        cs.segment_id = row.id;
        cs.segment_end = row.committed_bytes;
      }
    }
    SegFile f;
    f.name = row.path;
    f.liid = row.liid;
    f.committed = f.written = row.committed_bytes;
    f.records = row.records;
    segfiles_[row.id] = f;
  }
  // Segment files the catalog never heard of were created by a batch that did not commit.
  std::vector<std::string> orphans;
  ASSIGN_OR_RETURN(std::vector<std::string> present, segments_->List());
  for (std::string& name : present) {
    if (!known.count(name)) orphans.push_back(std::move(name));
  }
  for (const std::string& rel : orphans) {
    const uint64_t bytes = segments_->Size(rel).value_or(0);
    recovered.push_back({{"event", "orphan_segment_removed"}, {"path", rel}, {"bytes", bytes}});
  }
  // What recovery does is committed to the catalog before it does it: a crash right after a cut
  // would otherwise leave it unrecorded forever (the next start finds nothing left to cut). Cuts
  // and removals are idempotent, so a crash before them only records them twice.
  if (!recovered.empty()) {
    store::CommitBatch batch;
    for (const nlohmann::json& ev : recovered) {
      base::Log(base::LogLevel::kWarn, "store.recovered", ev);
      batch.events.push_back({NowUs(), ev["event"].get<std::string>(), ev.dump()});
    }
    RETURN_IF_ERROR(catalog_->Commit(batch));
  }
  for (const auto& [name, committed] : cuts) RETURN_IF_ERROR(segments_->Truncate(name, committed));
  for (const std::string& rel : orphans) RETURN_IF_ERROR(segments_->Remove(rel));
  RETURN_IF_ERROR(RegenerateTiles());
  RETURN_IF_ERROR(CleanupMasterVersions());
  checkpoint_size_ = UINT64_MAX;
  RETURN_IF_ERROR(WriteCheckpointLocked());

  if (!recovered.empty()) {
    nlohmann::json body = {{"type", "recovery"},
                           {"at", base::FormatRfc3339(base::Now())},
                           {"run", run_id_},
                           {"events", recovered}};
    ASSIGN_OR_RETURN(std::string note, tlog::SignNote(body.dump() + "\n", origin_, *signer_));
    RETURN_IF_ERROR(AppendSystem(SystemKind::kRecovery, note));
    recovered_ = true;
  }
  return absl::OkStatus();
}

// Tile files after the last syncfs() may be missing or torn after a crash; they are derived from
// the records, so they are rebuilt from the segments (from a saved right edge).
absl::Status Store::Impl::RegenerateTiles() {
  uint64_t size = tree_.size();
  ASSIGN_OR_RETURN(auto saved, catalog_->GetMeta(kMetaTilesDurable));
  uint64_t from = 0;
  std::string edge;
  if (saved) {
    nlohmann::json j = nlohmann::json::parse(*saved, nullptr, false);
    if (j.is_object() && j.contains("size") && j.contains("edge")) {
      from = j["size"].get<uint64_t>();
      edge = Unhex(j["edge"].get<std::string>());
    }
  }
  if (from > size) from = 0, edge.clear();
  // The entries of the bundle `from` falls in, read before RemoveBeyond: once `size` completes
  // that bundle, RemoveBeyond deletes its partial files, and (full tiles being written by the
  // tile thread after each commit) its full file may not have been written before the crash.
  std::vector<std::string> bundle;
  if (from < size && from % kBundleWidth != 0) {
    auto b = tiles_.ReadEntries(from / kBundleWidth, from % kBundleWidth);
    auto decoded = b.ok() ? tlog::DecodeEntryBundle(base::AsBytes(*b))
                          : absl::StatusOr<std::vector<std::string>>(b.status());
    if (decoded.ok() && decoded->size() == from % kBundleWidth) {
      bundle = std::move(*decoded);
    } else {
      from = 0;   // without them, rebuild everything rather than write a short bundle
      edge.clear();
    }
  }
  RETURN_IF_ERROR(tiles_.RemoveBeyond(size));
  if (from == size) return absl::OkStatus();
  auto resumed = tlog::TreeBuilder::Resume(from, base::AsBytes(edge));
  if (!resumed.ok()) {
    from = 0;
    bundle.clear();
    resumed = tlog::TreeBuilder();
  }
  tlog::TreeBuilder rebuild = std::move(*resumed);
  // Collect the entries of leaves [from, size). Only the tail of a few segments holds them: the
  // slices say where records with those leaves start (system segments have no slices and are
  // small: they are read whole).
  std::map<uint64_t, uint64_t> start_offset;  // segment -> first offset to read
  ASSIGN_OR_RETURN(auto all_slices, catalog_->Slices(std::nullopt, std::nullopt));
  for (const SliceRow& sl : all_slices) {
    if (sl.last_leaf < from) continue;
    auto [it, fresh] = start_offset.try_emplace(sl.segment_id, sl.first_offset);
    if (!fresh) it->second = std::min(it->second, sl.first_offset);
  }
  std::map<uint64_t, std::string> entries;
  for (auto& [id, f] : segfiles_) {
    const bool system = f.liid.empty();
    auto so = start_offset.find(id);
    if (!system && so == start_offset.end()) continue;
    std::string head(std::min<uint64_t>(f.committed, 4096), '\0');
    RETURN_IF_ERROR(segments_->Read(f.name, 0, head.size(), head.data()));
    ASSIGN_OR_RETURN(auto hdr, DecodeSegmentHeader(base::AsBytes(head)));
    uint64_t begin = system ? hdr.second : std::max<uint64_t>(hdr.second, so->second);
    std::string data(f.committed - std::min(begin, f.committed), '\0');
    RETURN_IF_ERROR(segments_->Read(f.name, begin, data.size(), data.data()));
    size_t pos = 0;
    while (pos < data.size()) {
      ASSIGN_OR_RETURN(ParsedRecord rec, ParseRecord(base::AsBytes(data).subspan(pos)));
      if (rec.header.leaf_index >= from && rec.header.leaf_index < size) {
        entries[rec.header.leaf_index] = LeafEntry(rec.header_bytes, rec.body);
      }
      pos += rec.framed_size;
    }
  }
  if (entries.size() != size - from) {
    return absl::DataLossError(base::StrCat("store: rebuilding tiles found ", entries.size(),
                                            " of the ", size - from, " records after leaf ", from,
                                            "; run `tapvault verify`"));
  }
  std::vector<tlog::TreeBuilder::FullTile> completed;
  uint64_t bundle_start = from - from % kBundleWidth;
  for (auto& [idx, entry] : entries) {
    completed.clear();
    rebuild.Append(tlog::LeafHash(base::AsBytes(entry)), &completed);
    for (const auto& t : completed) {
      RETURN_IF_ERROR(tiles_.WriteTile(t.level, t.index, kBundleWidth, base::AsBytes(t.hashes), false));
    }
    bundle.push_back(entry);
    if (bundle.size() == kBundleWidth) {
      ASSIGN_OR_RETURN(std::string encoded, tlog::EncodeEntryBundle(bundle));
      RETURN_IF_ERROR(tiles_.WriteEntries(bundle_start / kBundleWidth, kBundleWidth,
                                          base::AsBytes(encoded), false));
      bundle.clear();
      bundle_start += kBundleWidth;
    }
  }
  if (rebuild.Root() != tree_.Root()) {
    return absl::DataLossError("store: the records on disk do not rebuild the committed log root");
  }
  base::Log(base::LogLevel::kInfo, "store.tiles_rebuilt", {{"from", from}, {"to", size}});
  return absl::OkStatus();
}

// A crash between a destruction's commit and the destruction of the old master version leaves a
// version that nothing uses any more: finish the job.
absl::Status Store::Impl::CleanupMasterVersions() {
  // Only warrant and signing keys are wrapped by the master key (data keys are many: skip them).
  std::set<uint32_t> used;
  for (KeyKind kind : {KeyKind::kWarrant, KeyKind::kSigning}) {
    ASSIGN_OR_RETURN(auto keys, catalog_->Keys(kind, std::nullopt, /*live_only=*/true));
    for (const KeyRow& k : keys) used.insert(k.master_version);
  }
  for (uint32_t v : master_->Versions()) {
    if (v != master_->CurrentVersion() && !used.count(v)) {
      RETURN_IF_ERROR(master_->DestroyVersion(v));
      base::Log(base::LogLevel::kWarn, "store.master_version_destroyed", {{"version", v}});
    }
  }
  return absl::OkStatus();
}

// --- append side ---------------------------------------------------------------------------------

absl::StatusOr<Store::Impl::CaseMem*> Store::Impl::CaseFor(std::string_view liid) {
  auto it = cases_.find(std::string(liid));
  if (it != cases_.end() && it->second.warrant_key_id != 0 && !it->second.warrant_key.empty()) {
    return &it->second;
  }
  CaseMem& cs = cases_[std::string(liid)];
  // A case known to the catalog keeps its warrant key; a new one gets a fresh key.
  ASSIGN_OR_RETURN(auto all, lookup_->Cases());
  for (const CaseRow& row : all) {
    if (row.liid != liid) continue;
    ASSIGN_OR_RETURN(KeyRow key, lookup_->Key(row.warrant_key_id));
    ASSIGN_OR_RETURN(cs.warrant_key, UnwrapWarrantKey(key));
    cs.warrant_key_id = row.warrant_key_id;
    return &cs;
  }
  for (const CaseRow& row : rows_.cases) {
    if (row.liid == liid) return absl::InternalError("store: case created twice");
  }
  crypto::SecretBytes wk = crypto::SecretBytes::Random(crypto::kAesKeyBytes);
  KeyRow key;
  key.id = next_key_id_++;
  key.kind = KeyKind::kWarrant;
  key.liid = std::string(liid);
  key.master_version = master_->CurrentVersion();
  ASSIGN_OR_RETURN(key.wrapped, master_->Wrap(wk, internal::KeyContext(KeyKind::kWarrant, key.id)));
  key.created_us = NowUs();
  rows_.keys.push_back(key);
  rows_.cases.push_back({std::string(liid), key.id, key.created_us, 0});
  cs.warrant_key_id = key.id;
  cs.warrant_key = std::move(wk);
  return &cs;
}

absl::StatusOr<Store::Impl::CommMem*> Store::Impl::CommFor(const AppendMeta& meta) {
  std::string key = CommKey(meta.liid, meta.network_id, meta.cin);
  auto it = comms_.find(key);
  if (it != comms_.end()) return &it->second;
  CommMem comm;
  comm.liid = std::string(meta.liid);
  // A communication that continues after a restart (or after its state was evicted) keeps its id.
  CommFilter f;
  f.liid = std::string(meta.liid);
  f.network_id = std::string(meta.network_id);
  f.match_cin = true;
  f.cin = meta.cin;
  ASSIGN_OR_RETURN(auto rows, lookup_->ListComms(f));
  for (const CommRow& row : rows) {
    if (row.network_id == meta.network_id && row.cin == meta.cin &&
        row.state != CommState::kDestroyed) {
      comm.id = row.id;
      comm.country = row.country;
      comm.start_us = row.start_us;
      comm.party_list = row.parties;
      for (const PartyRow& p : row.parties) comm.parties.insert(p.role + '\0' + p.id);
    }
  }
  if (comm.id == 0) {
    comm.id = next_comm_id_++;
    comm.country = std::string(meta.country);
    comm.start_us = meta.received_us;
    CommRow row;
    row.id = comm.id;
    row.liid = comm.liid;
    row.network_id = std::string(meta.network_id);
    row.cin = meta.cin;
    row.start_us = row.end_us = meta.received_us;
    row.country = comm.country;
    // Unreadable until the filter decides (fail-closed); see CommState.
    row.state = CommState::kQuarantined;
    row.state_reason = "awaiting_parties";
    rows_.comms.push_back(row);
    rows_.screen[comm.id] = ScreenRequest{comm.id, comm.liid, comm.country, comm.start_us, {}};
  }
  return &comms_.emplace(std::move(key), std::move(comm)).first->second;
}

absl::StatusOr<Store::Impl::Slice> Store::Impl::NewDataKey(const std::string& liid, CaseMem& cs) {
  crypto::SecretBytes dk = crypto::SecretBytes::Random(crypto::kAesKeyBytes);
  KeyRow key;
  key.id = next_key_id_++;
  key.kind = KeyKind::kData;
  key.liid = liid;
  key.wrapped_by = cs.warrant_key_id;
  ASSIGN_OR_RETURN(key.wrapped, crypto::WrapKey(cs.warrant_key, dk,
                                                internal::KeyContext(KeyKind::kData, key.id)));
  key.created_us = NowUs();
  ASSIGN_OR_RETURN(crypto::AesGcm aead, crypto::AesGcm::Create(dk));
  Slice slice;
  slice.key_id = key.id;
  const std::string prefix = crypto::RandomBytes(4);
  std::memcpy(slice.nonce_prefix.data(), prefix.data(), 4);
  slice.aead.emplace(std::move(aead));
  rows_.keys.push_back(std::move(key));
  return slice;
}

// GCM nonce: the slice's random 4-byte prefix + a counter. A data key lives only in this
// process's memory for one slice and is never reused after a restart (every run starts new
// slices), so a (key, nonce) pair cannot repeat.
void Store::Impl::NextNonce(Slice& slice, RecordHeader& h) {
  h.key_id = slice.key_id;
  std::memcpy(h.nonce.data(), slice.nonce_prefix.data(), 4);
  const uint64_t counter = slice.records++;
  for (int i = 0; i < 8; ++i) h.nonce[4 + i] = static_cast<uint8_t>(counter >> (56 - 8 * i));
}

absl::Status Store::Impl::NewSlice(CommMem& comm, CaseMem& cs, int64_t bucket) {
  ASSIGN_OR_RETURN(comm.slice, NewDataKey(comm.liid, cs));
  comm.slice.bucket = bucket;
  return absl::OkStatus();
}

uint64_t Store::Impl::PlaceRecord(std::string_view liid, CaseMem& cs, size_t framed_size,
                                  uint64_t* offset) {
  if (cs.segment_id == 0 || cs.segment_end + framed_size > opt_.segment_max_bytes) {
    if (cs.segment_id != 0) rows_.sealed.push_back(cs.segment_id);
    SegmentRow row;
    row.id = next_segment_id_++;
    row.liid = std::string(liid);
    row.path = SegmentRelPath(liid, row.id);
    row.created_us = NowUs();
    row.committed_bytes = EncodeSegmentHeader({row.id, row.created_us, row.liid}).size();
    rows_.segments.push_back(row);
    cs.segment_id = row.id;
    cs.segment_end = row.committed_bytes;
  }
  *offset = cs.segment_end;
  cs.segment_end += framed_size;
  return cs.segment_id;
}

Store::Impl::Run& Store::Impl::Batch::RunAt(uint64_t segment_id, uint64_t offset) {
  auto [it, fresh] = runs.try_emplace(segment_id);
  if (fresh) {
    it->second.first_offset = offset;
    if (!free_buffers.empty()) {
      it->second.bytes = std::move(free_buffers.back());
      free_buffers.pop_back();
    }
  }
  return it->second;
}

void Store::Impl::Batch::Clear() {
  items.clear();
  entries.clear();
  for (auto& [id, run] : runs) {
    // Keep buffers of a usual size; a burst's huge one goes back to the allocator.
    if (run.bytes.capacity() <= (16u << 20) && free_buffers.size() < 64) {
      run.bytes.clear();
      free_buffers.push_back(std::move(run.bytes));
    }
  }
  runs.clear();
}

void Store::Impl::Enqueue(Item item) {
  queue_bytes_ += item.framed_size + item.entry_size + 64;
  if (m_queue_bytes_ != nullptr) m_queue_bytes_->Set(static_cast<int64_t>(queue_bytes_));
  if (queue_bytes_ > opt_.queue_high_bytes) saturated_ = true;
  queue_.items.push_back(std::move(item));
  ++enqueued_;
}

absl::Status Store::Impl::QueueRecord(
    RecordHeader& h, CaseMem& cs, size_t body_size,
    absl::FunctionRef<absl::Status(base::Bytes, std::span<std::byte>)> fill, Item item) {
  const size_t header_size = RecordHeaderSize(h);
  const size_t framed_size = FramedSize(header_size, body_size);
  h.segment_id = PlaceRecord(h.liid, cs, framed_size, &h.segment_offset);
  Run& run = queue_.RunAt(h.segment_id, h.segment_offset);
  if (run.first_offset + run.bytes.size() != h.segment_offset) {
    return absl::InternalError("store: records out of offset order");
  }
  const size_t at = run.bytes.size();
  AppendFrameHead(run.bytes, header_size, body_size);
  AppendRecordHeader(h, run.bytes);
  run.bytes.resize(at + framed_size);
  std::byte* frame = reinterpret_cast<std::byte*>(run.bytes.data() + at);
  const base::Bytes header(frame + kRecordFrameBytes, header_size);
  const std::span<std::byte> body(frame + kRecordFrameBytes + header_size, body_size);
  if (absl::Status s = fill(header, body); !s.ok()) {
    // Nothing of it stays: the next record takes its place (in a segment this one opened, that
    // place is right after the segment header).
    run.bytes.resize(at);
    cs.segment_end = h.segment_offset;
    return s;
  }
  ++run.records;
  const crypto::Sha256Digest digest =
      crypto::Sha256({{reinterpret_cast<const uint8_t*>(body.data()), body.size()}});
  const base::Bytes digest_bytes(reinterpret_cast<const std::byte*>(digest.data()), digest.size());
  queue_.entries.append(base::AsString(header));
  queue_.entries.append(base::AsString(digest_bytes));
  item.type = Item::kRecord;
  item.segment_id = h.segment_id;
  item.offset = h.segment_offset;
  item.framed_size = framed_size;
  item.entry_size = header_size + digest.size();
  item.leaf_hash = tlog::LeafHashOfParts(header, digest_bytes);  // of the entry header ‖ digest
  item.leaf_index = h.leaf_index;
  ++next_leaf_;
  Enqueue(std::move(item));
  return absl::OkStatus();
}

absl::Status Store::Impl::Append(const AppendMeta& meta, base::Bytes raw) {
  if (meta.liid.size() > 255 || meta.network_id.size() > 1024) {
    return absl::InvalidArgumentError("store: LIID or network id too long");
  }
  if (raw.size() > kMaxRecordBodyBytes - crypto::kGcmTagBytes) {
    return absl::InvalidArgumentError("store: PDU too large");
  }
  if (meta.liid.empty()) return absl::InvalidArgumentError("store: a PDU without LIID");
  absl::MutexLock l(&mu_);
  auto may_append = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !destroy_pending_; };
  mu_.Await(absl::Condition(&may_append));
  if (stopping_ || closed_) return absl::UnavailableError("store: closed");
  ASSIGN_OR_RETURN(CaseMem * cs, CaseFor(meta.liid));
  ASSIGN_OR_RETURN(CommMem * comm, CommFor(meta));
  comm->last_us = meta.received_us;
  if (meta.parties != nullptr) {
    bool added = false;
    for (const PartyRow& p : *meta.parties) {
      if (comm->parties.insert(p.role + '\0' + p.id).second) {
        rows_.parties.emplace_back(comm->id, p);
        comm->party_list.push_back(p);
        added = true;
      }
    }
    if (added) {
      rows_.screen[comm->id] =
          ScreenRequest{comm->id, comm->liid, comm->country, comm->start_us, comm->party_list};
    }
  }

  RecordHeader& h = header_scratch_;   // reused: its strings keep their capacity
  h.type = RecordType::kPdu;
  h.leaf_index = next_leaf_;
  h.segment_id = h.segment_offset = 0;
  h.received_us = meta.received_us;
  h.run_id = run_id_;
  h.connection_id = meta.connection_id;
  h.comm_id = comm->id;
  h.key_id = 0;
  h.handover = meta.handover;
  h.kind = meta.kind;
  h.verdict = meta.verdict;
  h.cin = meta.cin;
  h.sequence_number = meta.sequence_number;
  h.liid.assign(meta.liid);
  h.network_id.assign(meta.network_id);
  h.rewritten_from.reset();
  // The header's size does not depend on its offsets, so the record's size is known before it
  // is placed.
  const size_t body_size = raw.size() + crypto::kGcmTagBytes;
  const size_t framed_size = FramedSize(RecordHeaderSize(h), body_size);
  // A data key covers one communication for one time bucket within one segment: the unit of
  // lookup and of destruction. Decided before the record is placed, so that a failure here
  // leaves no hole in the segment.
  const bool rotates =
      cs->segment_id == 0 || cs->segment_end + framed_size > opt_.segment_max_bytes;
  const uint64_t segment_id = rotates ? next_segment_id_ : cs->segment_id;
  const int64_t bucket = meta.received_us / std::max<int64_t>(1, opt_.key_slice_us);
  if (comm->slice.key_id == 0 || comm->slice.bucket != bucket ||
      comm->slice.segment_id != segment_id || !comm->slice.aead) {
    RETURN_IF_ERROR(NewSlice(*comm, *cs, bucket));
    comm->slice.segment_id = segment_id;
  }
  NextNonce(comm->slice, h);
  const base::Bytes nonce(reinterpret_cast<const std::byte*>(h.nonce.data()), kNonceBytes);

  Item item;
  item.comm_id = comm->id;
  item.key_id = h.key_id;
  item.received_us = meta.received_us;
  item.plain_bytes = raw.size();
  crypto::AesGcm& aead = *comm->slice.aead;
  return QueueRecord(h, *cs, body_size,
                     [&](base::Bytes header, std::span<std::byte> body) {
                       return aead.SealInto(nonce, header, raw, body);
                     },
                     std::move(item));
}

absl::Status Store::Impl::AppendSystem(SystemKind kind, std::string body) {
  absl::MutexLock l(&mu_);
  if (closed_) return absl::UnavailableError("store: closed");
  CaseMem& cs = cases_[""];
  RecordHeader h;
  h.type = RecordType::kSystem;
  h.leaf_index = next_leaf_;
  h.received_us = NowUs();
  h.run_id = run_id_;
  h.kind = static_cast<uint8_t>(kind);
  Item item;
  item.received_us = h.received_us;
  return QueueRecord(h, cs, body.size(),
                     [&](base::Bytes, std::span<std::byte> out) {
                       std::memcpy(out.data(), body.data(), body.size());
                       return absl::OkStatus();
                     },
                     std::move(item));
}

void Store::Impl::WhenDurable(std::function<void()> done) {
  absl::MutexLock l(&mu_);
  if (closed_) return;  // never acknowledge what a closed store cannot promise
  Item item;
  item.type = Item::kBarrier;
  item.barrier = std::move(done);
  queue_.items.push_back(std::move(item));
  ++enqueued_;
}

bool Store::Impl::Saturated() const {
  absl::MutexLock l(&mu_);
  return saturated_ || stalled_;
}

absl::Status Store::Impl::Flush(int64_t timeout_us) {
  absl::MutexLock l(&mu_);
  const uint64_t target = enqueued_;
  auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return durable_ >= target || closed_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&done), absl::Microseconds(timeout_us))) {
    return stalled_ ? stall_status_
                    : absl::DeadlineExceededError("store: flush timed out");
  }
  if (durable_ < target) return absl::UnavailableError("store: closed before the flush finished");
  return absl::OkStatus();
}

StoreStats Store::Impl::Stats() const {
  absl::MutexLock l(&mu_);
  StoreStats s = stats_;
  s.stalled = stalled_;
  return s;
}

void Store::Impl::SetStalled(bool stalled, const absl::Status& why) {
  absl::MutexLock l(&mu_);
  if (stalled_ == stalled) return;
  stalled_ = stalled;
  stall_status_ = why;
  if (m_stalled_ != nullptr) m_stalled_->Set(stalled ? 1 : 0);
  if (stalled) {
    base::Log(base::LogLevel::kError, "store.stalled",
              {{"reason", base::View(why.message())},
               {"action", "ingest paused; retrying until the disk accepts writes"}});
  } else {
    base::Log(base::LogLevel::kInfo, "store.resumed", {});
  }
}

// --- writer --------------------------------------------------------------------------------------

void Store::Impl::WriterLoop() {
  Batch batch;   // emptied after each commit and swapped back into queue_ with its capacity
  for (;;) {
    Rows rows;
    {
      absl::MutexLock l(&mu_);
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.items.empty() || !rows_.empty() || stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Microseconds(opt_.checkpoint_interval_us));
      if (queue_.items.empty() && rows_.empty() && stopping_) break;
      std::swap(batch, queue_);
      rows = std::move(rows_);
      rows_ = Rows();
      writer_busy_ = true;
    }
    ScreenInto(rows);
    std::vector<Item>& items = batch.items;
    if (items.empty() && rows.empty()) {
      // Idle: no empty commits (they would fsync for nothing, and raise the stall alarm on a
      // full disk); only catch the checkpoint up with what was committed last.
      {
        absl::MutexLock wl(&writer_mu_);
        if (NowUs() - last_checkpoint_us_ >= opt_.checkpoint_interval_us) {
          if (absl::Status s = WriteCheckpointLocked(); !s.ok()) {
            base::Log(base::LogLevel::kWarn, "store.checkpoint_failed",
                      {{"reason", base::View(s.message())}});
          }
        }
      }
      absl::MutexLock l(&mu_);
      writer_busy_ = false;
      continue;
    }
    size_t batch_bytes = 0;
    uint64_t records = 0, bytes = 0;
    for (const Item& it : items) {
      if (it.type == Item::kRecord) {
        batch_bytes += it.framed_size + it.entry_size + 64;
        ++records;
        bytes += it.plain_bytes;
      }
    }
    bool committed = false;
    {
      absl::MutexLock wl(&writer_mu_);
      for (int attempt = 0;; ++attempt) {
        absl::Status s = CommitBatch(batch, rows);
        if (s.ok()) {
          committed = true;
          SetStalled(false, s);
          break;
        }
        if (m_write_errors_ != nullptr) m_write_errors_->Inc();
        {
          absl::MutexLock l(&mu_);
          ++stats_.write_errors;
        }
        SetStalled(true, s);
        // Wait and retry the same batch; stop only when closing and the disk stays refused.
        absl::SleepFor(absl::Microseconds(opt_.retry_interval_us));
        absl::MutexLock l(&mu_);
        if (stopping_ && attempt > 20) {
          base::Log(base::LogLevel::kError, "store.close_with_unwritten",
                    {{"records", records}, {"reason", base::View(s.message())}});
          break;
        }
      }
      if (committed) {
        int64_t now = NowUs();
        if (now - last_checkpoint_us_ >= opt_.checkpoint_interval_us) {
          if (absl::Status s = WriteCheckpointLocked(); !s.ok()) {
            base::Log(base::LogLevel::kWarn, "store.checkpoint_failed",
                      {{"reason", base::View(s.message())}});
          }
        }
      }
    }
    // Acknowledgements first: when Flush() returns, the callbacks of what it waited for have run.
    if (committed) {
      for (Item& it : items) {
        if (it.type == Item::kBarrier) it.barrier();
      }
    }
    {
      absl::MutexLock l(&mu_);
      queue_bytes_ -= std::min(queue_bytes_, batch_bytes);
      if (m_queue_bytes_ != nullptr) m_queue_bytes_->Set(static_cast<int64_t>(queue_bytes_));
      if (queue_bytes_ < opt_.queue_low_bytes) saturated_ = false;
      durable_ += items.size();
      writer_busy_ = false;
      if (committed) {
        stats_.records += records;
        stats_.bytes += bytes;
        ++stats_.commits;
      }
    }
    if (committed) {
      if (m_records_ != nullptr) m_records_->Inc(records);
      if (m_bytes_ != nullptr) m_bytes_->Inc(bytes);
      if (m_commits_ != nullptr) m_commits_->Inc();
    }
    batch.Clear();
  }
  // Idle: a final checkpoint for whatever became durable.
  absl::MutexLock wl(&writer_mu_);
  if (absl::Status s = WriteCheckpointLocked(); !s.ok()) {
    base::Log(base::LogLevel::kWarn, "store.checkpoint_failed", {{"reason", base::View(s.message())}});
  }
}

absl::Status Store::Impl::OpenSegmentFile(const SegmentRow& row) {
  SegFile f;
  f.name = row.path;
  f.liid = row.liid;
  f.is_new = true;
  segfiles_[row.id] = f;
  // A segment left by an earlier failed attempt of this same batch is replaced.
  std::string header = EncodeSegmentHeader({row.id, row.created_us, row.liid});
  RETURN_IF_ERROR(segments_->Create(row.path, header));
  segfiles_[row.id].written = header.size();
  return absl::OkStatus();
}

void Store::Impl::RollBack(const tlog::TreeBuilder& tree, const std::string& edge_bundle,
                           uint64_t edge_count) {
  tree_ = tree;
  edge_bundle_ = edge_bundle;
  edge_count_ = edge_count;
  for (auto it = segfiles_.begin(); it != segfiles_.end();) {
    SegFile& f = it->second;
    if (f.is_new) {
      (void)segments_->Remove(f.name);   // if this fails too, recovery removes the orphan
      it = segfiles_.erase(it);
      continue;
    }
    if (f.written != f.committed && segments_->Truncate(f.name, f.committed).ok()) {
      f.written = f.committed;
    }
    ++it;
  }
}

absl::Status Store::Impl::CommitBatch(Batch& queued, Rows& rows) {
  const tlog::TreeBuilder saved_tree = tree_;
  const std::string saved_bundle = edge_bundle_;
  const uint64_t saved_count = edge_count_;
  const std::vector<Item>& items = queued.items;
  absl::Status s = [&]() -> absl::Status {
    for (const SegmentRow& row : rows.segments) RETURN_IF_ERROR(OpenSegmentFile(row));
    // Records of one segment are consecutive bytes of one run: one write per segment.
    for (auto& [id, run] : queued.runs) {
      auto f = segfiles_.find(id);
      if (f == segfiles_.end()) {
        return absl::InternalError(base::StrCat("store: segment ", id, " is not open"));
      }
      if (f->second.written != run.first_offset) {
        return absl::InternalError(base::StrCat("store: segment ", id, " offset mismatch"));
      }
      RETURN_IF_ERROR(segments_->Write(f->second.name, run.first_offset, run.bytes));
      f->second.written = run.first_offset + run.bytes.size();
    }
    for (auto& [id, run] : queued.runs) {
      RETURN_IF_ERROR(segments_->Sync(segfiles_[id].name));
    }

    store::CommitBatch batch;
    batch.new_cases = rows.cases;
    batch.new_keys = rows.keys;
    batch.new_comms = rows.comms;
    batch.new_parties = rows.parties;
    batch.new_segments = rows.segments;
    for (SegmentRow& seg : batch.new_segments) seg.committed_bytes = segfiles_[seg.id].written;
    batch.sealed_segments = rows.sealed;
    batch.events = rows.events;
    batch.decisions = rows.decisions;
    std::map<uint64_t, SliceRow> slices;
    std::map<uint64_t, CommitBatch::CommDelta> deltas;
    std::vector<tlog::TreeBuilder::FullTile> completed;
    std::vector<internal::TileWriter::Job> tile_jobs;   // handed over once the commit holds
    size_t entry_pos = 0;
    for (const Item& it : items) {
      if (it.type != Item::kRecord) continue;
      const std::string_view entry(queued.entries.data() + entry_pos, it.entry_size);
      entry_pos += it.entry_size;
      completed.clear();
      tree_.Append(it.leaf_hash, &completed);
      for (auto& t : completed) {
        tile_jobs.push_back({false, t.level, t.index, kBundleWidth, std::move(t.hashes)});
      }
      // C2SP tlog-tiles entry bundle: each entry with a big-endian 16-bit length (a record
      // header is at most ~1.4 kB, checked by Append's limits on LIID and network id).
      edge_bundle_ += static_cast<char>(entry.size() >> 8);
      edge_bundle_ += static_cast<char>(entry.size() & 0xFF);
      edge_bundle_ += entry;
      if (++edge_count_ == kBundleWidth) {
        tile_jobs.push_back({true, 0, (tree_.size() - 1) / kBundleWidth, kBundleWidth,
                             std::move(edge_bundle_)});
        edge_bundle_.clear();
        edge_count_ = 0;
      }
      if (it.key_id == 0) continue;  // system records belong to no communication
      SliceRow& sl = slices[it.key_id];
      if (sl.records == 0) {
        sl.key_id = it.key_id;
        sl.comm_id = it.comm_id;
        sl.segment_id = it.segment_id;
        sl.first_leaf = it.leaf_index;
        sl.first_offset = it.offset;
        sl.start_us = it.received_us;
      }
      sl.last_leaf = it.leaf_index;
      sl.end_offset = it.offset + it.framed_size;
      sl.start_us = std::min(sl.start_us, it.received_us);
      sl.end_us = std::max(sl.end_us, it.received_us);
      ++sl.records;
      sl.bytes += it.plain_bytes;
      if (it.rewritten) continue;   // its original is counted in the comm already
      auto [d, fresh] = deltas.try_emplace(it.comm_id, CommitBatch::CommDelta{it.comm_id, it.received_us,
                                                                             it.received_us, 0, 0});
      d->second.start_us = std::min(d->second.start_us, it.received_us);
      d->second.end_us = std::max(d->second.end_us, it.received_us);
      d->second.records += 1;
      d->second.bytes += it.plain_bytes;
    }
    for (auto& [id, sl] : slices) batch.slices.push_back(sl);
    for (auto& [id, d] : deltas) batch.comm_deltas.push_back(d);
    for (auto& [id, run] : queued.runs) {
      const SegFile& f = segfiles_[id];
      batch.segment_ends[id] = {f.written, f.records + run.records};
    }
    LogState log;
    log.size = tree_.size();
    log.root = HashString(tree_.Root());
    log.edge = tree_.EncodeEdge();
    log.edge_entries = edge_bundle_;
    batch.log = std::move(log);
    RETURN_IF_ERROR(catalog_->Commit(batch));
    if (tile_writer_ != nullptr) tile_writer_->Push(std::move(tile_jobs));
    // Committed: the new lengths are the durable truth now.
    for (auto& [id, run] : queued.runs) {
      SegFile& f = segfiles_[id];
      f.committed = f.written;
      f.records += run.records;
    }
    for (auto& [id, f] : segfiles_) {
      if (f.is_new) {
        f.is_new = false;
        f.committed = f.written;
      }
    }
    for (uint64_t id : rows.sealed) {
      auto f = segfiles_.find(id);
      if (f != segfiles_.end()) (void)segments_->Seal(f->second.name);  // its bytes are synced
    }
    return absl::OkStatus();
  }();
  if (!s.ok()) RollBack(saved_tree, saved_bundle, saved_count);
  return s;
}

absl::Status Store::Impl::WriteCheckpointLocked() {
  const uint64_t size = tree_.size();
  last_checkpoint_us_ = NowUs();
  if (size == checkpoint_size_) return absl::OkStatus();
  // Every full tile up to `size` written (by the tile writer) before anything is signed.
  if (tile_writer_ != nullptr) RETURN_IF_ERROR(tile_writer_->Drain(30LL * 1000000));
  // Partial tiles and the partial entry bundle, so that a tiles client sees the whole tree.
  for (const auto& t : tree_.PartialTiles()) {
    RETURN_IF_ERROR(tiles_.WriteTile(t.level, t.index, t.hashes.size() / 32,
                                     base::AsBytes(t.hashes), /*durable=*/false));
  }
  if (edge_count_ > 0) {
    RETURN_IF_ERROR(tiles_.WriteEntries(size / kBundleWidth, edge_count_,
                                        base::AsBytes(edge_bundle_), /*durable=*/false));
  }
  // One syncfs() makes every tile written since the last checkpoint durable at once (an fsync
  // per tile file would cost thousands of journal commits a second).
  int fd = ::open(LogDir(opt_.dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", LogDir(opt_.dir));
  int rc = ::syncfs(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "syncfs", LogDir(opt_.dir));
  nlohmann::json durable = {{"size", size}, {"edge", Hex(tree_.EncodeEdge())}};
  RETURN_IF_ERROR(catalog_->SetMeta(kMetaTilesDurable, durable.dump()));
  tlog::Checkpoint cp{origin_, size, tree_.Root(), {}};
  ASSIGN_OR_RETURN(std::string note, tlog::SignNote(tlog::CheckpointBody(cp), origin_, *signer_));
  RETURN_IF_ERROR(base::WriteFileAtomic(CheckpointPath(opt_.dir), note, 0644));
  checkpoint_size_ = size;
  return absl::OkStatus();
}

absl::Status Store::Impl::Checkpoint() {
  RETURN_IF_ERROR(Flush(60LL * 1000000));
  absl::MutexLock wl(&writer_mu_);
  checkpoint_size_ = UINT64_MAX;
  return WriteCheckpointLocked();
}

// --- control -------------------------------------------------------------------------------------

void Store::Impl::ControlLoop() {
  int64_t last_retention = 0;
  int64_t last_rescreen = 0;
  std::optional<uint64_t> screened_generation;   // none yet: everything is screened at start
  for (;;) {
    {
      absl::MutexLock l(&control_mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(control_mu_) { return control_stop_; };
      control_mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Microseconds(opt_.control_interval_us));
      if (control_stop_) return;
    }
    ProcessRequests();
    EvictIdle();
    int64_t now = NowUs();
    if (opt_.screener != nullptr) {
      const uint64_t generation = opt_.screener->Generation();
      if (generation != screened_generation) {
        screened_generation = generation;
        last_rescreen = now;
        Rescreen(/*all=*/true);
      } else if (now - last_rescreen > opt_.rescreen_interval_us) {
        last_rescreen = now;
        Rescreen(/*all=*/false);
      }
    }
    if (now - last_retention > opt_.retention_interval_us) {
      last_retention = now;
      RetentionSweep();
    }
  }
}

void Store::Impl::EvictIdle() {
  absl::MutexLock l(&mu_);
  const int64_t now = NowUs();
  for (auto it = comms_.begin(); it != comms_.end();) {
    auto cur = it++;
    if (now - cur->second.last_us > opt_.comm_idle_us) comms_.erase(cur);
  }
}

absl::StatusOr<DestroyOrder> OrderFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("store: malformed destroy request");
  // The request row comes from another process: a field of the wrong type is an error for that
  // request, never an exception in the store's control thread.
  try {
    DestroyOrder o;
    if (j.contains("comm")) o.comm_id = j["comm"].get<uint64_t>();
    if (j.contains("liid")) o.liid = j["liid"].get<std::string>();
    if (j.contains("from")) o.from_us = j["from"].get<int64_t>();
    if (j.contains("to")) o.to_us = j["to"].get<int64_t>();
    o.order_ref = j.value("order", "");
    o.reason = j.value("reason", "");
    o.ordered_by = j.value("by", "");
    if (j.contains("official_record")) o.official_record = j["official_record"].dump();
    return o;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(base::StrCat("store: malformed destroy request: ", e.what()));
  }
}

std::string_view ActName(DecisionOrder::Act a) {
  switch (a) {
    case DecisionOrder::Act::kFlag: return "flag";
    case DecisionOrder::Act::kRelease: return "release";
    case DecisionOrder::Act::kConfirm: return "confirm";
  }
  return "flag";
}

absl::StatusOr<DecisionOrder> DecisionOrderFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("store: malformed decision request");
  try {
    DecisionOrder o;
    const std::string act = j.value("act", "");
    if (act == "flag") {
      o.act = DecisionOrder::Act::kFlag;
    } else if (act == "release") {
      o.act = DecisionOrder::Act::kRelease;
    } else if (act == "confirm") {
      o.act = DecisionOrder::Act::kConfirm;
    } else {
      return absl::InvalidArgumentError("store: decision request with an unknown act");
    }
    o.comm_id = j.value("comm", uint64_t{0});
    o.order_ref = j.value("order", "");
    o.reason = j.value("reason", "");
    o.by = j.value("by", "");
    return o;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(base::StrCat("store: malformed decision request: ", e.what()));
  }
}

std::string DecisionOrderToJson(const DecisionOrder& o) {
  nlohmann::json j;
  j["act"] = ActName(o.act);
  j["comm"] = o.comm_id;
  j["order"] = o.order_ref;
  j["reason"] = o.reason;
  j["by"] = o.by;
  return j.dump();
}

std::string OrderToJson(const DestroyOrder& o) {
  nlohmann::json j;
  if (o.comm_id) j["comm"] = *o.comm_id;
  if (o.liid) j["liid"] = *o.liid;
  if (o.from_us) j["from"] = *o.from_us;
  if (o.to_us) j["to"] = *o.to_us;
  j["order"] = o.order_ref;
  j["reason"] = o.reason;
  j["by"] = o.ordered_by;
  if (!o.official_record.empty()) {
    j["official_record"] = nlohmann::json::parse(o.official_record, nullptr, false);
  }
  return j.dump();
}

void Store::Impl::ProcessRequests() {
  absl::StatusOr<std::vector<RequestRow>> pending;
  {
    absl::MutexLock l(&mu_);
    pending = lookup_->PendingRequests();
  }
  if (!pending.ok()) return;
  for (const RequestRow& req : *pending) {
    absl::StatusOr<std::string> r = absl::InvalidArgumentError("store: unknown request kind");
    if (req.kind == "destroy") {
      auto order = OrderFromJson(req.body);
      if (!order.ok()) {
        r = order.status();
      } else if (auto d = Destroy(*order); d.ok()) {
        r = DestroyResultJson(*d);
      } else {
        r = d.status();
      }
    } else if (req.kind == "decide") {
      auto order = DecisionOrderFromJson(req.body);
      if (!order.ok()) {
        r = order.status();
      } else if (auto d = Decide(*order); d.ok()) {
        r = DecisionResultJson(*d);
      } else {
        r = d.status();
      }
    } else if (req.kind == "rotate") {
      nlohmann::json j = nlohmann::json::parse(req.body, nullptr, false);
      std::optional<std::string> liid;
      if (j.is_object() && j.contains("liid") && j["liid"].is_string()) liid = j["liid"].get<std::string>();
      if (auto k = RotateKeys(liid); k.ok()) {
        r = KeyRotationJson(*k);
      } else {
        r = k.status();
      }
    }
    absl::MutexLock l(&mu_);
    absl::Status s = r.ok() ? lookup_->FinishRequest(req.id, true, *r)
                            : lookup_->FinishRequest(req.id, false, r.status().ToString());
    if (!s.ok()) {
      base::Log(base::LogLevel::kError, "store.request_failed", {{"reason", base::View(s.message())}});
    }
  }
}

// --- decisions (privileged-party filter) ---------------------------------------------------------

void Store::Impl::ScreenInto(Rows& rows) {
  if (rows.screen.empty()) return;
  const int64_t now = NowUs();
  for (auto& [id, request] : rows.screen) {
    DecisionRow d;
    if (opt_.screener != nullptr) {
      d = opt_.screener->Screen(request);
    } else {
      d.state = CommState::kQuarantined;
      d.reason = "no_filter";
      d.by = "store";
    }
    d.comm_id = id;
    d.at_us = now;
    d.from.clear();
    d.record_always = false;
    d.parties_seen = request.parties.size();
    rows.decisions.push_back(std::move(d));
  }
  rows.screen.clear();
}

void Store::Impl::Rescreen(bool all) {
  std::vector<CommState> states = {CommState::kQuarantined};
  if (all) states.push_back(CommState::kAvailable);
  std::vector<DecisionRow> verdicts;
  std::vector<uint64_t> newly_privileged;
  const int64_t now = NowUs();
  for (CommState state : states) {
    CommFilter f;
    f.state = state;
    f.limit = 1000;
    for (;;) {
      absl::StatusOr<std::vector<CommRow>> page;
      {
        absl::MutexLock l(&mu_);
        page = lookup_->ListComms(f);
      }
      if (!page.ok()) {
        base::Log(base::LogLevel::kError, "store.rescreen_failed",
                  {{"reason", base::View(page.status().message())}});
        return;
      }
      if (page->empty()) break;
      f.after_id = page->back().id;
      for (CommRow& c : *page) {
        // A prosecutor's release stands until another act of a person.
        if (c.state == CommState::kAvailable && c.state_reason == "released") continue;
        ScreenRequest request{c.id, c.liid, c.country, c.start_us, std::move(c.parties)};
        DecisionRow d = opt_.screener->Screen(request);
        // Decided stays decided when the list becomes unusable: only new content waits for it.
        // A warrant that no longer covers it is another matter: out of reach again.
        if (c.state == CommState::kAvailable && d.state == CommState::kQuarantined &&
            d.reason != kUnassignedReason) {
          continue;
        }
        if (d.state == c.state && d.reason == c.state_reason && d.list_version == c.list_version) {
          continue;
        }
        if (d.state == CommState::kPrivileged) newly_privileged.push_back(c.id);
        // Decided again on stored content (a new list version): oversight counts these apart.
        if (!c.parties.empty() || !request.parties.empty()) d.detail = R"({"retroactive":true})";
        d.comm_id = c.id;
        d.at_us = now;
        d.from.clear();
        d.parties_seen = request.parties.size();
        verdicts.push_back(std::move(d));
      }
    }
  }
  if (verdicts.empty()) return;
  {
    absl::MutexLock l(&mu_);
    for (DecisionRow& d : verdicts) rows_.decisions.push_back(std::move(d));
  }
  if (!newly_privileged.empty()) {
    // Ids only: which communications, never whose identity.
    nlohmann::json ids = newly_privileged.size() <= 1000
                             ? nlohmann::json(newly_privileged)
                             : nlohmann::json(std::vector<uint64_t>(newly_privileged.begin(),
                                                                    newly_privileged.begin() + 1000));
    base::Log(base::LogLevel::kWarn, "privileged.retroactive",
              {{"communications", newly_privileged.size()}, {"ids", ids.dump()}});
  }
}

absl::StatusOr<CommRow> Store::Impl::CommRowOf(uint64_t comm_id) {
  CommFilter f;
  f.comm_id = comm_id;
  absl::StatusOr<std::vector<CommRow>> rows;
  {
    absl::MutexLock l(&mu_);
    rows = lookup_->ListComms(f);
  }
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return absl::NotFoundError(base::StrCat("store: no communication ", comm_id));
  return std::move(rows->front());
}

absl::Status Store::Impl::CommitDecisions(std::vector<DecisionRow> decisions) {
  {
    absl::MutexLock l(&mu_);
    if (stopping_ || closed_) return absl::UnavailableError("store: closed");
    for (DecisionRow& d : decisions) rows_.decisions.push_back(std::move(d));
    // Flush waits for queued items; a barrier makes it wait for this commit too.
    Item barrier;
    barrier.type = Item::kBarrier;
    barrier.barrier = [] {};
    queue_.items.push_back(std::move(barrier));
    ++enqueued_;
  }
  return Flush(120LL * 1000000);
}

absl::StatusOr<DecisionResult> Store::Impl::Decide(const DecisionOrder& o) {
  using Act = DecisionOrder::Act;
  if (o.by.empty()) return absl::InvalidArgumentError("decide: who decides must be named");
  if (o.act != Act::kFlag && o.order_ref.empty()) {
    return absl::InvalidArgumentError("decide: a release or confirmation needs an order reference");
  }
  if (o.act == Act::kRelease && o.reason.empty()) {
    return absl::InvalidArgumentError("decide: a release needs a reason");
  }
  // One decision at a time: a second release must see the first one's request.
  absl::MutexLock one_at_a_time(&decide_mu_);
  RETURN_IF_ERROR(Flush(120LL * 1000000));   // the communication's row is committed
  ASSIGN_OR_RETURN(CommRow comm, CommRowOf(o.comm_id));
  DecisionResult result;
  result.comm_id = o.comm_id;
  if (comm.state == CommState::kDestroyed) {
    return absl::FailedPreconditionError(
        base::StrCat("decide: communication ", o.comm_id, " is destroyed"));
  }
  DecisionRow d;
  d.comm_id = o.comm_id;
  d.at_us = NowUs();
  d.by = o.by;
  d.order_ref = o.order_ref;
  d.record_always = true;
  nlohmann::json detail = nlohmann::json::object();
  if (!o.reason.empty()) detail["reason"] = o.reason;

  if (o.act == Act::kFlag) {
    d.state = CommState::kPrivileged;
    d.reason = "manual_flag";
    d.list_version = comm.list_version;
    d.from = {CommState::kQuarantined, CommState::kAvailable, CommState::kPrivileged};
    d.detail = detail.dump();
    result.outcome = comm.state == CommState::kPrivileged ? "already_privileged" : "flagged";
    if (comm.state == CommState::kPrivileged) d.reason = comm.state_reason;
    RETURN_IF_ERROR(CommitDecisions({d}));
    result.state = CommState::kPrivileged;
    base::Log(base::LogLevel::kInfo, "privileged.flagged",
              {{"comm", o.comm_id}, {"outcome", result.outcome}});
    return result;
  }

  if (comm.state != CommState::kPrivileged) {
    return absl::FailedPreconditionError(base::StrCat(
        "decide: communication ", o.comm_id, " is ", CommStateName(comm.state),
        ", not privileged: only privileged communications are released or confirmed"));
  }
  absl::StatusOr<std::vector<DecisionRow>> history;
  {
    absl::MutexLock l(&mu_);
    history = lookup_->Decisions(o.comm_id, std::nullopt, std::nullopt);
  }
  if (!history.ok()) return history.status();

  if (o.act == Act::kRelease) {
    absl::StatusOr<std::optional<std::string>> policy;
    {
      absl::MutexLock l(&mu_);
      policy = lookup_->GetMeta(kMetaReleaseFourEyes);
    }
    if (!policy.ok()) return policy.status();
    const bool four_eyes = !(policy->has_value() && **policy == "off");
    // Release requests since the communication last became privileged.
    std::set<std::string> requested_by;
    for (const DecisionRow& h : *history) {
      if (h.reason == "release_requested") {
        requested_by.insert(h.by);
      } else {
        requested_by.clear();
      }
    }
    const bool second_person = std::any_of(requested_by.begin(), requested_by.end(),
                                           [&](const std::string& who) { return who != o.by; });
    d.from = {CommState::kPrivileged};
    detail["order"] = o.order_ref;
    if (four_eyes && !second_person) {
      if (requested_by.count(o.by)) {
        return absl::FailedPreconditionError(base::StrCat(
            "decide: ", o.by, " already asked to release communication ", o.comm_id,
            "; a second, different person must release it"));
      }
      d.state = CommState::kPrivileged;
      d.reason = "release_requested";
      d.list_version = comm.list_version;
      d.detail = detail.dump();
      RETURN_IF_ERROR(CommitDecisions({d}));
      result.outcome = "release_pending_second_person";
      result.state = CommState::kPrivileged;
      return result;
    }
    if (four_eyes) detail["first_person"] = *requested_by.begin();
    d.state = CommState::kAvailable;
    d.reason = "released";
    d.list_version = comm.list_version;
    d.detail = detail.dump();
    RETURN_IF_ERROR(CommitDecisions({d}));
    ASSIGN_OR_RETURN(CommRow after, CommRowOf(o.comm_id));
    if (after.state != CommState::kAvailable) {
      return absl::InternalError("decide: the release did not take effect");
    }
    result.outcome = "released";
    result.state = CommState::kAvailable;
    base::Log(base::LogLevel::kInfo, "privileged.released",
              {{"comm", o.comm_id}, {"order", o.order_ref}});
    return result;
  }

  // Confirm. Four eyes by default: the first prosecutor's confirmation is recorded and waits;
  // a second, different one destroys.
  {
    absl::StatusOr<std::optional<std::string>> policy;
    {
      absl::MutexLock l(&mu_);
      policy = lookup_->GetMeta(kMetaConfirmFourEyes);
    }
    if (!policy.ok()) return policy.status();
    const bool four_eyes = !(policy->has_value() && **policy == "off");
    std::set<std::string> confirmed_by;
    for (const DecisionRow& h : *history) {
      if (h.reason == "confirm_requested") {
        confirmed_by.insert(h.by);
      } else if (h.reason != "release_requested") {
        confirmed_by.clear();
      }
    }
    const auto other = std::find_if(confirmed_by.begin(), confirmed_by.end(),
                                    [&](const std::string& who) { return who != o.by; });
    if (four_eyes && other == confirmed_by.end()) {
      if (confirmed_by.count(o.by)) {
        return absl::FailedPreconditionError(base::StrCat(
            "decide: ", o.by, " already confirmed communication ", o.comm_id,
            "; a second, different person must confirm its destruction"));
      }
      d.state = CommState::kPrivileged;
      d.reason = "confirm_requested";
      d.list_version = comm.list_version;
      d.from = {CommState::kPrivileged};
      detail["order"] = o.order_ref;
      d.detail = detail.dump();
      RETURN_IF_ERROR(CommitDecisions({d}));
      result.outcome = "destruction_pending_second_person";
      result.state = CommState::kPrivileged;
      return result;
    }
    if (four_eyes) detail["first_person"] = *other;
  }
  // The proces-verbaal (official record of destruction) is signed with the destruction.
  const DecisionRow* recognised = nullptr;
  for (const DecisionRow& h : *history) {
    if (h.state == CommState::kPrivileged && h.reason != "release_requested" &&
        h.reason != "confirm_requested") {
      if (recognised == nullptr) recognised = &h;
    }
  }
  const int64_t now = NowUs();
  nlohmann::ordered_json pv;
  pv["type"] = "proces-verbaal van vernietiging";
  pv["basis"] = "Sv art. 126aa; Besluit bewaren en vernietigen niet-gevoegde stukken";
  pv["liid"] = comm.liid;
  pv["comm"] = comm.id;
  pv["order"] = o.order_ref;
  pv["communication"] = {{"start", base::FormatRfc3339({comm.start_us})},
                         {"end", base::FormatRfc3339({comm.end_us})},
                         {"records", comm.records}};
  if (recognised != nullptr) {
    pv["recognised"] = {{"at", base::FormatRfc3339({recognised->at_us})},
                        {"how", recognised->reason},
                        {"by", recognised->by},
                        {"list_version", recognised->list_version},
                        {"party_role", recognised->role},
                        {"identity_hash", recognised->identity_hash}};
  }
  pv["list_version"] = comm.list_version;
  pv["method"] = "crypto-shredding (data keys erased, warrant key and master key rotated)";
  pv["confirmed_by"] = o.by;
  if (detail.contains("first_person")) pv["first_confirmed_by"] = detail["first_person"];
  pv["at"] = base::FormatRfc3339({now});
  if (!o.reason.empty()) pv["remarks"] = o.reason;
  DestroyOrder order;
  order.comm_id = o.comm_id;
  order.order_ref = o.order_ref;
  order.reason = "privileged communication (Sv 126aa): destruction confirmed by the prosecutor";
  order.ordered_by = o.by;
  order.official_record = pv.dump();
  ASSIGN_OR_RETURN(DestroyResult destroyed, Destroy(order));
  d.state = CommState::kDestroyed;
  d.reason = "confirmed";
  d.list_version = comm.list_version;
  d.from = {CommState::kDestroyed};
  detail["record_leaf"] = destroyed.record_leaf;
  if (recognised != nullptr) detail["recognised_us"] = recognised->at_us;
  d.detail = detail.dump();
  RETURN_IF_ERROR(CommitDecisions({d}));
  result.outcome = "destroyed";
  result.state = CommState::kDestroyed;
  result.proces_verbaal = pv.dump();
  result.destruction = std::move(destroyed);
  return result;
}

void Store::Impl::RetentionSweep() {
  absl::StatusOr<std::vector<CaseRow>> cases;
  {
    absl::MutexLock l(&mu_);
    cases = lookup_->Cases();
  }
  if (!cases.ok()) return;
  const int64_t now = NowUs();
  for (const CaseRow& c : *cases) {
    if (c.retention_days <= 0) continue;
    DestroyOrder o;
    o.liid = c.liid;
    o.from_us = 0;
    o.to_us = now - c.retention_days * 86400LL * 1000000;
    o.order_ref = "retention-policy";
    o.reason = base::StrCat("retention of ", c.retention_days, " days expired");
    o.ordered_by = "tapvault";
    o.skip_cut_slices = true;
    auto r = Destroy(o);
    if (!r.ok() && r.status().code() != absl::StatusCode::kNotFound) {
      base::Log(base::LogLevel::kError, "store.retention_failed",
                {{"reason", base::View(r.status().message())}});
    }
  }
}

// --- destruction ---------------------------------------------------------------------------------

// Key changes (destruction, rotation) need the writer idle and no appends in flight: Append waits
// while destroy_pending_ is set; the caller clears it (under both locks) when done.
void Store::Impl::PauseAppendsUntilIdle() {
  absl::MutexLock l(&mu_);
  destroy_pending_ = true;
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return (queue_.items.empty() && rows_.empty() && !writer_busy_) || closed_;
  };
  mu_.Await(absl::Condition(&idle));
}

absl::StatusOr<DestroyResult> Store::Impl::Destroy(const DestroyOrder& order) {
  if (order.order_ref.empty() || order.reason.empty()) {
    return absl::InvalidArgumentError("store: a destruction needs an order reference and a reason");
  }
  if (!order.official_record.empty() &&
      !nlohmann::json::parse(order.official_record, nullptr, false).is_object()) {
    return absl::InvalidArgumentError("store: the official record is not a JSON object");
  }
  if (order.comm_id.has_value() == order.liid.has_value()) {
    return absl::InvalidArgumentError("store: destroy one communication or one case, not both");
  }
  RETURN_IF_ERROR(Flush(120LL * 1000000));
  absl::MutexLock one_at_a_time(&destroy_mu_);
  PauseAppendsUntilIdle();
  if (!order.skip_cut_slices) {
    if (absl::Status s = RewriteKept(order); !s.ok()) {
      absl::MutexLock l(&mu_);
      destroy_pending_ = false;
      return s;
    }
  }
  absl::StatusOr<DestroyResult> destroyed;
  {
    // Lock order everywhere: writer_mu_ before mu_.
    absl::MutexLock wl(&writer_mu_);
    absl::MutexLock l(&mu_);
    destroyed = DestroyLocked(order);
    destroy_pending_ = false;
  }
  if (!destroyed.ok()) return destroyed.status();
  DestroyResult result = std::move(*destroyed);
  // The signed destruction record goes into the log like any record.
  RETURN_IF_ERROR(AppendSystem(SystemKind::kDestruction, result.signed_record));
  {
    absl::MutexLock l(&mu_);
    result.record_leaf = next_leaf_ - 1;
  }
  RETURN_IF_ERROR(Flush(120LL * 1000000));
  RETURN_IF_ERROR(Checkpoint());
  base::Log(base::LogLevel::kInfo, "store.destroyed",
            {{"order", order.order_ref},
             {"records", result.records},
             {"comms", result.comms.size()},
             {"leaf", result.record_leaf}});
  return result;
}

// Key rotation, shared by destruction and `tapvault keys rotate`. With a case: its live data keys
// (except `doomed`, which are erased) move under a fresh warrant key and the old warrant key is
// erased. Always: a new master version, every live warrant and signing key re-wrapped under it;
// FinishRekey destroys the old version once the catalog no longer needs it. An old copy of the
// catalog then holds nothing that any live key opens.
absl::Status Store::Impl::PrepareRekey(const std::optional<std::string>& liid,
                                       const std::set<uint64_t>& doomed, Catalog::DestroyTxn& txn,
                                       Rekey& rk) {
  uint64_t old_wk_id = 0;
  crypto::SecretBytes old_wk;
  if (liid) {
    rk.liid = *liid;
    ASSIGN_OR_RETURN(auto cases, catalog_->Cases());
    for (const CaseRow& c : cases) {
      if (c.liid == *liid) old_wk_id = c.warrant_key_id;
    }
    if (old_wk_id == 0) return absl::NotFoundError(base::StrCat("store: no case ", *liid));
    ASSIGN_OR_RETURN(KeyRow old_wk_row, catalog_->Key(old_wk_id));
    ASSIGN_OR_RETURN(old_wk, UnwrapWarrantKey(old_wk_row));
    rk.new_warrant_key_bytes = crypto::SecretBytes::Random(crypto::kAesKeyBytes);
    rk.old_warrant_key = old_wk_id;
    rk.new_warrant_key = next_key_id_++;
  }
  rk.old_master = master_->CurrentVersion();
  ASSIGN_OR_RETURN(rk.new_master, master_->Rotate());
  if (liid) {
    KeyRow nk;
    nk.id = rk.new_warrant_key;
    nk.kind = KeyKind::kWarrant;
    nk.liid = *liid;
    nk.master_version = rk.new_master;
    ASSIGN_OR_RETURN(nk.wrapped, master_->Wrap(rk.new_warrant_key_bytes,
                                               internal::KeyContext(KeyKind::kWarrant, nk.id)));
    nk.created_us = txn.at_us;
    txn.new_keys.push_back(nk);
    txn.case_warrant_keys.emplace_back(*liid, rk.new_warrant_key);
    txn.destroy_keys.push_back(old_wk_id);
  }
  ASSIGN_OR_RETURN(auto live, catalog_->Keys(std::nullopt, std::nullopt, /*live_only=*/true));
  for (const KeyRow& k : live) {
    if (k.kind == KeyKind::kData) {
      if (!liid || k.liid != *liid) continue;
      if (doomed.count(k.id)) {
        txn.destroy_keys.push_back(k.id);
        rk.destroyed_data_keys.push_back(k.id);
        continue;
      }
      if (k.wrapped_by != old_wk_id) continue;
      ASSIGN_OR_RETURN(crypto::SecretBytes dk,
                       crypto::UnwrapKey(old_wk, base::AsBytes(k.wrapped),
                                         internal::KeyContext(KeyKind::kData, k.id)));
      ASSIGN_OR_RETURN(std::string w, crypto::WrapKey(rk.new_warrant_key_bytes, dk,
                                                      internal::KeyContext(KeyKind::kData, k.id)));
      txn.rewrap.push_back({k.id, std::move(w), rk.new_warrant_key, 0});
    } else if (k.id != old_wk_id) {
      ASSIGN_OR_RETURN(crypto::SecretBytes key,
                       master_->Unwrap(base::AsBytes(k.wrapped), internal::KeyContext(k.kind, k.id)));
      ASSIGN_OR_RETURN(std::string w, master_->Wrap(key, internal::KeyContext(k.kind, k.id)));
      txn.rewrap.push_back({k.id, std::move(w), 0, rk.new_master});
    }
  }
  return absl::OkStatus();
}

// After the catalog committed the rotation: destroy the old master version and carry the case on
// under its new warrant key.
absl::Status Store::Impl::FinishRekey(Rekey& rk) {
  RETURN_IF_ERROR(master_->DestroyVersion(rk.old_master));
  if (!rk.liid.empty()) {
    CaseMem& cs = cases_[rk.liid];
    cs.warrant_key_id = rk.new_warrant_key;
    cs.warrant_key = std::move(rk.new_warrant_key_bytes);
  }
  return absl::OkStatus();
}

absl::StatusOr<Store::KeyRotation> Store::Impl::RotateKeys(const std::optional<std::string>& liid) {
  RETURN_IF_ERROR(Flush(120LL * 1000000));
  absl::MutexLock one_at_a_time(&destroy_mu_);
  PauseAppendsUntilIdle();
  KeyRotation out;
  absl::Status s;
  {
    absl::MutexLock wl(&writer_mu_);
    absl::MutexLock l(&mu_);
    s = [&]() -> absl::Status {
      Catalog::DestroyTxn txn;
      txn.at_us = NowUs();
      Rekey rk;
      RETURN_IF_ERROR(PrepareRekey(liid, {}, txn, rk));
      nlohmann::ordered_json doc;
      doc["type"] = "key_rotation";
      doc["at"] = base::FormatRfc3339({txn.at_us});
      if (liid) {
        doc["liid"] = *liid;
        doc["warrant_key"] = {{"destroyed", rk.old_warrant_key}, {"new", rk.new_warrant_key}};
      }
      doc["master_version"] = {{"destroyed", rk.old_master}, {"new", rk.new_master}};
      doc["rewrapped_keys"] = txn.rewrap.size();
      txn.events.push_back({txn.at_us, "key_rotation", doc.dump()});
      RETURN_IF_ERROR(catalog_->ApplyDestroy(txn));
      out = {rk.old_master, rk.new_master, rk.old_warrant_key, rk.new_warrant_key, txn.rewrap.size()};
      RETURN_IF_ERROR(FinishRekey(rk));
      // In memory, data keys of open slices were wrapped under the old warrant key only in the
      // catalog, which now holds them re-wrapped: nothing else to change.
      ASSIGN_OR_RETURN(out.signed_record, tlog::SignNote(doc.dump() + "\n", origin_, *signer_));
      return absl::OkStatus();
    }();
    destroy_pending_ = false;
  }
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(AppendSystem(SystemKind::kKeyRotation, out.signed_record));
  RETURN_IF_ERROR(Flush(120LL * 1000000));
  RETURN_IF_ERROR(Checkpoint());
  base::Log(base::LogLevel::kInfo, "store.keys_rotated",
            {{"liid", liid.value_or("")}, {"master_version", out.new_master_version},
             {"rewrapped", out.rewrapped_keys}});
  return out;
}

absl::Status Store::Impl::ReadSliceRecords(const SliceRow& s, DestroyPlan::SliceRecords& out) {
  auto f = segfiles_.find(s.segment_id);
  if (f == segfiles_.end()) return absl::DataLossError("store: slice in an unknown segment");
  out.slice = s;
  out.records.clear();
  out.bytes.assign(s.end_offset - s.first_offset, '\0');
  RETURN_IF_ERROR(segments_->Read(f->second.name, s.first_offset, out.bytes.size(), out.bytes.data()));
  size_t pos = 0;
  while (pos < out.bytes.size()) {
    ASSIGN_OR_RETURN(ParsedRecord rec, ParseRecord(base::AsBytes(out.bytes).subspan(pos)));
    pos += rec.framed_size;
    if (rec.header.key_id == s.key_id) out.records.push_back(std::move(rec));
  }
  return absl::OkStatus();
}

// Slices wholly inside the range are doomed. A slice that the range cuts (records inside and
// outside) is "cut": its inside records are destroyed with its key, its outside ones ("kept")
// must first live on as copies. A slice whose time span overlaps the range without any record
// inside is not touched. Copies already made (an earlier attempt of this order, or the first
// phase of this one) are found through the kRewriteEvent rows committed with them: the slices
// they name are read and their records' rewritten_from say which originals they hold. Only
// copies outside the selection count (a copy inside it is itself being destroyed or cut).
absl::StatusOr<Store::Impl::DestroyPlan> Store::Impl::PlanDestroyLocked(const DestroyOrder& order) {
  DestroyPlan p;
  std::vector<SliceRow> slices;
  if (order.comm_id) {
    CommFilter f;
    f.comm_id = *order.comm_id;
    ASSIGN_OR_RETURN(auto comms, catalog_->ListComms(f));
    if (comms.empty()) return absl::NotFoundError(base::StrCat("store: no communication ", *order.comm_id));
    p.liid = comms[0].liid;
    ASSIGN_OR_RETURN(slices, catalog_->Slices(*order.comm_id, std::nullopt));
  } else {
    p.liid = *order.liid;
    ASSIGN_OR_RETURN(slices, catalog_->Slices(std::nullopt, p.liid));
  }
  const int64_t from = order.from_us.value_or(INT64_MIN);
  const int64_t to = order.to_us.value_or(INT64_MAX);
  auto inside = [&](const ParsedRecord& rec) {
    return rec.header.received_us >= from && rec.header.received_us <= to;
  };
  std::set<uint64_t> selected;
  for (const SliceRow& s : slices) {
    if (s.destroyed) continue;
    if (s.end_us < from || s.start_us > to) continue;
    if (s.start_us >= from && s.end_us <= to) {
      p.doomed.push_back(s);
      selected.insert(s.key_id);
      continue;
    }
    // Retention leaves cut slices whole for a later sweep, without reading them.
    if (order.skip_cut_slices) continue;
    auto sr = std::make_unique<DestroyPlan::SliceRecords>();
    RETURN_IF_ERROR(ReadSliceRecords(s, *sr));
    if (std::none_of(sr->records.begin(), sr->records.end(), inside)) continue;
    selected.insert(s.key_id);
    p.cut.push_back(std::move(sr));
  }
  if (p.doomed.empty() && p.cut.empty()) {
    return absl::NotFoundError("store: nothing to destroy in that selection");
  }
  for (const SliceRow& s : p.doomed) {
    DestroyPlan::SliceRecords sr;
    RETURN_IF_ERROR(ReadSliceRecords(s, sr));
    for (const ParsedRecord& rec : sr.records) p.destroyed_leaves.push_back(rec.header.leaf_index);
  }
  for (size_t i = 0; i < p.cut.size(); ++i) {
    const auto& records = p.cut[i]->records;
    for (size_t j = 0; j < records.size(); ++j) {
      const RecordHeader& h = records[j].header;
      if (inside(records[j])) {
        p.destroyed_leaves.push_back(h.leaf_index);
      } else {
        p.kept.push_back({h.leaf_index, h.rewritten_from.value_or(h.leaf_index), i, j});
      }
    }
  }
  std::sort(p.destroyed_leaves.begin(), p.destroyed_leaves.end());
  std::sort(p.kept.begin(), p.kept.end(),
            [](const DestroyPlan::Kept& a, const DestroyPlan::Kept& b) { return a.leaf < b.leaf; });
  if (p.kept.empty()) return p;

  std::set<uint64_t> cut_keys;
  for (const auto& c : p.cut) cut_keys.insert(c->slice.key_id);
  std::set<uint64_t> copy_keys;
  ASSIGN_OR_RETURN(std::vector<EventRow> events, catalog_->Events());
  for (const EventRow& e : events) {
    if (e.kind != kRewriteEvent) continue;
    nlohmann::json j = nlohmann::json::parse(e.detail, nullptr, false);
    if (!j.is_object() || !j.contains("sources") || !j.contains("keys") ||
        !j["sources"].is_array() || !j["keys"].is_array()) {
      continue;
    }
    bool ours = false;
    for (const auto& k : j["sources"]) {
      ours |= k.is_number_unsigned() && cut_keys.count(k.get<uint64_t>()) > 0;
    }
    if (!ours) continue;
    for (const auto& k : j["keys"]) {
      if (k.is_number_unsigned()) copy_keys.insert(k.get<uint64_t>());
    }
  }
  for (const SliceRow& s : slices) {  // in leaf order: the first copy of an original wins
    if (s.destroyed || !copy_keys.count(s.key_id) || selected.count(s.key_id)) continue;
    DestroyPlan::SliceRecords sr;
    RETURN_IF_ERROR(ReadSliceRecords(s, sr));
    for (const ParsedRecord& rec : sr.records) {
      if (rec.header.rewritten_from) {
        p.copies.try_emplace(*rec.header.rewritten_from, rec.header.leaf_index);
      }
    }
  }
  return p;
}

// Phase one of a destruction that cuts slices: every kept record without a live copy is
// decrypted with its slice's key and appended again like any record (a fresh data key per source
// slice and segment, fresh nonces, new leaves, the case's current segment), marked rewritten so
// that its communication's counts do not grow, plus a kRewriteEvent naming source and new
// slices in the same group commit. Returns how many copies were queued.
absl::StatusOr<size_t> Store::Impl::RewriteKeptLocked(const DestroyOrder& order) {
  ASSIGN_OR_RETURN(DestroyPlan p, PlanDestroyLocked(order));
  std::vector<const DestroyPlan::Kept*> missing;
  std::set<uint64_t> originals;
  for (const DestroyPlan::Kept& k : p.kept) {
    if (p.copies.count(k.original) || !originals.insert(k.original).second) continue;
    missing.push_back(&k);
  }
  if (missing.empty()) return 0;
  ASSIGN_OR_RETURN(CaseMem * cs, CaseFor(p.liid));

  // Decrypt everything first: nothing is queued unless every copy can be made.
  std::map<uint64_t, crypto::AesGcm> source_aead;   // by the cut slice's key id
  std::vector<std::string> plain(missing.size());
  struct Wipe {
    std::vector<std::string>& v;
    ~Wipe() {
      for (std::string& s : v) OPENSSL_cleanse(s.data(), s.size());
    }
  } wipe{plain};
  for (size_t i = 0; i < missing.size(); ++i) {
    const ParsedRecord& rec = p.cut[missing[i]->cut]->records[missing[i]->record];
    const uint64_t key_id = rec.header.key_id;
    auto aead = source_aead.find(key_id);
    if (aead == source_aead.end()) {
      ASSIGN_OR_RETURN(KeyRow dk_row, catalog_->Key(key_id));
      if (dk_row.wrapped.empty()) {
        return absl::DataLossError(
            base::StrCat("store: data key ", key_id, " of a live slice is destroyed"));
      }
      const crypto::SecretBytes* wk = &cs->warrant_key;
      crypto::SecretBytes other_wk;
      if (dk_row.wrapped_by != cs->warrant_key_id) {
        ASSIGN_OR_RETURN(KeyRow wk_row, catalog_->Key(dk_row.wrapped_by));
        ASSIGN_OR_RETURN(other_wk, UnwrapWarrantKey(wk_row));
        wk = &other_wk;
      }
      ASSIGN_OR_RETURN(crypto::SecretBytes dk,
                       crypto::UnwrapKey(*wk, base::AsBytes(dk_row.wrapped),
                                         internal::KeyContext(KeyKind::kData, key_id)));
      ASSIGN_OR_RETURN(crypto::AesGcm a, crypto::AesGcm::Create(dk));
      aead = source_aead.emplace(key_id, std::move(a)).first;
    }
    RETURN_IF_ERROR(aead->second.Open(
        base::Bytes(reinterpret_cast<const std::byte*>(rec.header.nonce.data()), kNonceBytes),
        rec.header_bytes, rec.body, plain[i]));
  }

  // Then queue the copies, in the originals' leaf order.
  std::map<uint64_t, Slice> copy_keys;   // by the source slice's key id
  std::vector<uint64_t> new_keys;
  size_t queued = 0;
  absl::Status s = [&]() -> absl::Status {
    for (size_t i = 0; i < missing.size(); ++i) {
      const ParsedRecord& rec = p.cut[missing[i]->cut]->records[missing[i]->record];
      RecordHeader h = rec.header;   // every field of the original, then the new placement
      h.leaf_index = next_leaf_;
      h.rewritten_from = missing[i]->original;
      const size_t body_size = plain[i].size() + crypto::kGcmTagBytes;
      const size_t framed_size = FramedSize(RecordHeaderSize(h), body_size);
      const bool rotates =
          cs->segment_id == 0 || cs->segment_end + framed_size > opt_.segment_max_bytes;
      const uint64_t segment_id = rotates ? next_segment_id_ : cs->segment_id;
      Slice& ck = copy_keys[rec.header.key_id];
      if (!ck.aead || ck.segment_id != segment_id) {
        // A slice lives in one segment: a rotation starts a new key, as in Append.
        ASSIGN_OR_RETURN(ck, NewDataKey(p.liid, *cs));
        ck.segment_id = segment_id;
        new_keys.push_back(ck.key_id);
      }
      NextNonce(ck, h);
      const base::Bytes nonce(reinterpret_cast<const std::byte*>(h.nonce.data()), kNonceBytes);
      Item item;
      item.comm_id = h.comm_id;
      item.key_id = h.key_id;
      item.received_us = h.received_us;
      item.plain_bytes = plain[i].size();
      item.rewritten = true;
      crypto::AesGcm& aead = *ck.aead;
      const std::string& pt = plain[i];
      RETURN_IF_ERROR(QueueRecord(h, *cs, body_size,
                                  [&](base::Bytes header, std::span<std::byte> body) {
                                    return aead.SealInto(nonce, header, base::AsBytes(pt), body);
                                  },
                                  std::move(item)));
      ++queued;
    }
    return absl::OkStatus();
  }();
  // Whatever was queued is committed: the event naming its slices goes with it.
  if (queued > 0) {
    std::set<uint64_t> sources;
    for (const auto& [source, ck] : copy_keys) sources.insert(source);
    nlohmann::json detail = {{"order", order.order_ref},
                             {"sources", sources},
                             {"keys", new_keys},
                             {"records", queued}};
    rows_.events.push_back({NowUs(), kRewriteEvent, detail.dump()});
  }
  RETURN_IF_ERROR(s);
  return queued;
}

// Makes the copies durable (the writer's group commit: segments fdatasync'ed, then the catalog)
// while appends stay paused, so that no key is destroyed before they are. If the process dies
// after that, the order run again finds the copies (PlanDestroyLocked) and makes no second one.
absl::Status Store::Impl::RewriteKept(const DestroyOrder& order) {
  absl::StatusOr<size_t> queued;
  {
    absl::MutexLock wl(&writer_mu_);
    absl::MutexLock l(&mu_);
    queued = RewriteKeptLocked(order);
  }
  if (absl::IsNotFound(queued.status())) return absl::OkStatus();  // DestroyLocked says so
  RETURN_IF_ERROR(queued.status());
  if (*queued == 0) return absl::OkStatus();
  RETURN_IF_ERROR(Flush(120LL * 1000000));
  if (opt_.fail_after_rewrite_for_test) {
    return absl::AbortedError("store: stopped after the rewrite (test hook)");
  }
  PauseAppendsUntilIdle();
  return absl::OkStatus();
}

absl::StatusOr<DestroyResult> Store::Impl::DestroyLocked(const DestroyOrder& order) {
  DestroyResult r;
  r.at_us = NowUs();
  ASSIGN_OR_RETURN(DestroyPlan plan, PlanDestroyLocked(order));
  const std::string& liid = plan.liid;
  // Every kept record of a cut slice has a durable copy by now (RewriteKept).
  for (const DestroyPlan::Kept& k : plan.kept) {
    auto c = plan.copies.find(k.original);
    if (c == plan.copies.end()) {
      return absl::InternalError(base::StrCat("store: record leaf ", k.leaf,
                                              " of a cut slice has no copy; nothing destroyed"));
    }
    if (!r.rewritten.empty() && r.rewritten.back().from_last + 1 == k.leaf &&
        r.rewritten.back().to_first + (k.leaf - r.rewritten.back().from_first) == c->second) {
      r.rewritten.back().from_last = k.leaf;
    } else {
      r.rewritten.push_back({k.leaf, k.leaf, c->second});
    }
    ++r.rewritten_records;
  }

  std::set<uint64_t> doomed_keys;
  std::set<uint64_t> comms;
  for (const SliceRow& s : plan.doomed) {
    doomed_keys.insert(s.key_id);
    comms.insert(s.comm_id);
  }
  for (const auto& c : plan.cut) {
    doomed_keys.insert(c->slice.key_id);
    comms.insert(c->slice.comm_id);
  }
  r.records = plan.destroyed_leaves.size();
  for (uint64_t leaf : plan.destroyed_leaves) {
    if (!r.leaves.empty() && r.leaves.back().second + 1 == leaf) {
      r.leaves.back().second = leaf;
    } else {
      r.leaves.emplace_back(leaf, leaf);
    }
  }

  Catalog::DestroyTxn txn;
  txn.at_us = r.at_us;
  Rekey rk;
  RETURN_IF_ERROR(PrepareRekey(liid, doomed_keys, txn, rk));
  r.data_keys = rk.destroyed_data_keys;
  r.old_warrant_key = rk.old_warrant_key;
  r.new_warrant_key = rk.new_warrant_key;
  r.old_master_version = rk.old_master;
  r.new_master_version = rk.new_master;
  // Which communications are now wholly destroyed.
  for (uint64_t comm : comms) {
    r.comms.push_back(comm);
    ASSIGN_OR_RETURN(auto comm_slices, catalog_->Slices(comm, std::nullopt));
    bool all = true;
    for (const SliceRow& s : comm_slices) {
      if (!s.destroyed && !doomed_keys.count(s.key_id)) all = false;
    }
    if (all) {
      r.comms_destroyed.push_back(comm);
      txn.destroyed_comms.push_back(comm);
    }
    // Derived data (exports, caches) goes with its source.
    ASSIGN_OR_RETURN(auto derived, catalog_->Derived(comm));
    for (auto& [id, path] : derived) {
      std::string full = path.empty() || path[0] == '/' ? path : JoinPath(opt_.dir, path);
      struct stat st;
      if (::stat(full.c_str(), &st) == 0) {
        // Overwrite before unlinking: the file may be plaintext.
        int fd = ::open(full.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
          std::string zeros(static_cast<size_t>(std::min<off_t>(st.st_size, 1 << 20)), '\0');
          for (off_t off = 0; off < st.st_size; off += static_cast<off_t>(zeros.size())) {
            (void)base::PWriteAll(fd, std::string_view(zeros).substr(0, std::min<off_t>(zeros.size(), st.st_size - off)), off, full);
          }
          ::fsync(fd);
          ::close(fd);
        }
        ::unlink(full.c_str());
      }
      RETURN_IF_ERROR(catalog_->MarkDerivedDestroyed(id));
      r.derived_removed.push_back(path);
    }
  }

  nlohmann::ordered_json doc;
  doc["type"] = "destruction";
  doc["at"] = base::FormatRfc3339({r.at_us});
  doc["order"] = order.order_ref;
  doc["reason"] = order.reason;
  doc["ordered_by"] = order.ordered_by;
  doc["liid"] = liid;
  if (order.from_us) doc["from"] = base::FormatRfc3339({*order.from_us});
  if (order.to_us) doc["to"] = base::FormatRfc3339({*order.to_us});
  doc["method"] =
      "crypto-shredding: AES-256-GCM data keys erased; surviving keys re-wrapped under a new "
      "warrant key; master key rotated and its old version destroyed";
  doc["comms"] = r.comms;
  doc["comms_destroyed"] = r.comms_destroyed;
  nlohmann::json ranges = nlohmann::json::array();
  for (auto [a, b] : r.leaves) ranges.push_back({a, b});
  doc["leaves"] = ranges;
  doc["records"] = r.records;
  doc["rewritten"] = RewrittenJson(r);
  doc["data_keys"] = r.data_keys;
  doc["warrant_key"] = {{"destroyed", rk.old_warrant_key}, {"new", rk.new_warrant_key}};
  doc["master_version"] = {{"destroyed", rk.old_master}, {"new", rk.new_master}};
  doc["derived_removed"] = r.derived_removed;
  if (!order.official_record.empty()) {
    nlohmann::ordered_json official = nlohmann::ordered_json::parse(order.official_record, nullptr, false);
    if (!official.is_object()) {
      return absl::InvalidArgumentError("store: the official record is not a JSON object");
    }
    doc["official_record"] = std::move(official);
  }
  ASSIGN_OR_RETURN(r.signed_record, tlog::SignNote(doc.dump() + "\n", origin_, *signer_));
  txn.events.push_back({r.at_us, "destruction", doc.dump()});

  RETURN_IF_ERROR(catalog_->ApplyDestroy(txn));
  RETURN_IF_ERROR(FinishRekey(rk));
  // Communications whose current slice was destroyed start a new slice with their next record.
  for (auto& [key, comm] : comms_) {
    if (doomed_keys.count(comm.slice.key_id)) comm.slice = Slice();
  }
  for (auto it = comms_.begin(); it != comms_.end();) {
    auto cur = it++;
    if (std::find(r.comms_destroyed.begin(), r.comms_destroyed.end(), cur->second.id) !=
        r.comms_destroyed.end()) {
      comms_.erase(cur);
    }
  }
  return r;
}

// --- close ---------------------------------------------------------------------------------------

absl::Status Store::Impl::Close() {
  {
    absl::MutexLock l(&mu_);
    if (closed_) return absl::OkStatus();
  }
  // The control thread first: a destruction or retention sweep it is running still needs the
  // writer to write and flush its record (a writer that stopped first left it waiting).
  {
    absl::MutexLock l(&control_mu_);
    control_stop_ = true;
  }
  if (control_.joinable()) control_.join();
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  // A writer blocked on a full tile queue (tile files refused: no inodes, say) must not hold up
  // the shutdown; what is not written is rebuilt at the next start.
  if (tile_writer_ != nullptr) tile_writer_->Stop();
  if (writer_.joinable()) writer_.join();
  tile_writer_.reset();   // after the writer's final checkpoint drained it
  absl::Status result = absl::OkStatus();
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    if (!queue_.items.empty()) {
      result = absl::DataLossError(base::StrCat("store: closed with ", queue_.items.size(),
                                                " queued items not written"));
    }
  }
  {
    absl::MutexLock wl(&writer_mu_);
    for (auto& [id, f] : segfiles_) (void)segments_->Seal(f.name);
  }
  catalog_.reset();
  lookup_.reset();
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const StoreOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

absl::Status Store::Append(const AppendMeta& meta, base::Bytes raw) { return impl_->Append(meta, raw); }
void Store::WhenDurable(std::function<void()> done) { impl_->WhenDurable(std::move(done)); }
bool Store::Saturated() const { return impl_->Saturated(); }
absl::Status Store::Flush(int64_t timeout_us) { return impl_->Flush(timeout_us); }
absl::StatusOr<DestroyResult> Store::Destroy(const DestroyOrder& order) { return impl_->Destroy(order); }
absl::StatusOr<DecisionResult> Store::Decide(const DecisionOrder& order) {
  return impl_->Decide(order);
}
absl::StatusOr<Store::KeyRotation> Store::RotateKeys(const std::optional<std::string>& liid) {
  return impl_->RotateKeys(liid);
}
absl::Status Store::Checkpoint() { return impl_->Checkpoint(); }
absl::Status Store::Close() { return impl_->Close(); }
StoreStats Store::Stats() const { return impl_->Stats(); }
const std::string& Store::dir() const { return impl_->dir(); }

namespace {

// Runs `local` on the store when no other process owns it; otherwise queues (kind, body) for the
// owner (a running serve) through the catalog and waits for its JSON result.
absl::StatusOr<std::string> RunAsOwner(const std::string& dir, std::string_view kind,
                                       std::string_view body,
                                       const std::function<absl::StatusOr<std::string>(Store&)>& local,
                                       int64_t timeout_us) {
  auto own = Store::Open({.dir = dir});
  if (own.ok()) {
    auto r = local(**own);
    absl::Status c = (*own)->Close();
    if (r.ok() && !c.ok()) return c;
    return r;
  }
  if (own.status().code() != absl::StatusCode::kFailedPrecondition) return own.status();
  ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open(CatalogPath(dir), /*create=*/false));
  ASSIGN_OR_RETURN(uint64_t id, catalog->AddRequest(kind, body));
  const int64_t deadline = NowUs() + timeout_us;
  while (NowUs() < deadline) {
    ASSIGN_OR_RETURN(RequestRow req, catalog->Request(id));
    if (req.status == "done") return req.result;
    if (req.status == "failed") {
      return absl::FailedPreconditionError(base::StrCat("store: the serving process refused: ", req.result));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(
      "store: the process that owns the store did not carry out the order in time (it stays queued)");
}

}  // namespace

std::string DecisionResultJson(const DecisionResult& r) {
  nlohmann::ordered_json j;
  j["comm"] = r.comm_id;
  j["outcome"] = r.outcome;
  j["state"] = CommStateName(r.state);
  if (!r.proces_verbaal.empty()) {
    j["proces_verbaal"] = nlohmann::ordered_json::parse(r.proces_verbaal, nullptr, false);
  }
  if (r.destruction) {
    j["destruction"] = nlohmann::ordered_json::parse(DestroyResultJson(*r.destruction), nullptr, false);
  }
  return j.dump();
}

absl::StatusOr<DecisionResult> SubmitOrRunDecide(const std::string& dir, const DecisionOrder& order,
                                                 int64_t timeout_us) {
  std::optional<DecisionResult> local_result;
  ASSIGN_OR_RETURN(std::string json,
                   RunAsOwner(
                       dir, "decide", DecisionOrderToJson(order),
                       [&](Store& st) -> absl::StatusOr<std::string> {
                         ASSIGN_OR_RETURN(auto r, st.Decide(order));
                         local_result = r;
                         return DecisionResultJson(r);
                       },
                       timeout_us));
  if (local_result) return *local_result;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object()) return absl::InternalError("store: malformed result from the serving process");
  DecisionResult r;
  r.comm_id = j.value("comm", uint64_t{0});
  r.outcome = j.value("outcome", "");
  r.state = ParseCommState(j.value("state", "")).value_or(CommState::kQuarantined);
  if (j.contains("proces_verbaal")) r.proces_verbaal = j["proces_verbaal"].dump();
  return r;
}

std::string KeyRotationJson(const Store::KeyRotation& r) {
  nlohmann::ordered_json j;
  j["old_master_version"] = r.old_master_version;
  j["new_master_version"] = r.new_master_version;
  j["old_warrant_key"] = r.old_warrant_key;
  j["new_warrant_key"] = r.new_warrant_key;
  j["rewrapped_keys"] = r.rewrapped_keys;
  j["signed_record"] = r.signed_record;
  return j.dump();
}

absl::StatusOr<std::string> SubmitOrRunRotate(const std::string& dir,
                                              const std::optional<std::string>& liid,
                                              int64_t timeout_us) {
  nlohmann::json body = nlohmann::json::object();
  if (liid) body["liid"] = *liid;
  return RunAsOwner(
      dir, "rotate", body.dump(),
      [&](Store& st) -> absl::StatusOr<std::string> {
        ASSIGN_OR_RETURN(auto r, st.RotateKeys(liid));
        return KeyRotationJson(r);
      },
      timeout_us);
}

absl::StatusOr<DestroyResult> SubmitOrRunDestroy(const std::string& dir, const DestroyOrder& order,
                                                 int64_t timeout_us) {
  std::optional<DestroyResult> local_result;
  ASSIGN_OR_RETURN(std::string json,
                   RunAsOwner(
                       dir, "destroy", OrderToJson(order),
                       [&](Store& st) -> absl::StatusOr<std::string> {
                         ASSIGN_OR_RETURN(auto r, st.Destroy(order));
                         local_result = r;
                         return DestroyResultJson(r);
                       },
                       timeout_us));
  if (local_result) return *local_result;
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  DestroyResult r;
  if (!j.is_object()) return absl::InternalError("store: malformed result from the serving process");
  auto t = base::ParseRfc3339(j.value("at", ""));
  r.at_us = t.ok() ? t->unix_us : 0;
  r.comms = j.value("comms", std::vector<uint64_t>{});
  r.comms_destroyed = j.value("comms_destroyed", std::vector<uint64_t>{});
  for (auto& p : j.value("leaves", nlohmann::json::array())) {
    r.leaves.emplace_back(p[0].get<uint64_t>(), p[1].get<uint64_t>());
  }
  r.records = j.value("records", uint64_t{0});
  if (j.contains("rewritten") && j["rewritten"].is_object()) {
    const nlohmann::json& rw = j["rewritten"];
    r.rewritten_records = rw.value("records", uint64_t{0});
    for (auto& m : rw.value("leaves", nlohmann::json::array())) {
      r.rewritten.push_back({m[0].get<uint64_t>(), m[1].get<uint64_t>(), m[2].get<uint64_t>()});
    }
  }
  r.data_keys = j.value("data_keys", std::vector<uint64_t>{});
  r.old_warrant_key = j.value("old_warrant_key", uint64_t{0});
  r.new_warrant_key = j.value("new_warrant_key", uint64_t{0});
  r.old_master_version = j.value("old_master_version", 0u);
  r.new_master_version = j.value("new_master_version", 0u);
  r.derived_removed = j.value("derived_removed", std::vector<std::string>{});
  r.record_leaf = j.value("record_leaf", uint64_t{0});
  r.signed_record = j.value("signed_record", "");
  return r;
}

// ---------------------------------------------------------------------------------------------
// ContentReader

class ContentReader::Impl {
 public:
  std::string dir;
  std::unique_ptr<Catalog> catalog;
  std::unique_ptr<crypto::MasterKey> master;
  std::unique_ptr<SegmentStore> segments;
};

ContentReader::ContentReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ContentReader::~ContentReader() = default;
Catalog& ContentReader::catalog() { return *impl_->catalog; }

std::string AuditDir(const std::string& dir) { return JoinPath(dir, "audit"); }

absl::StatusOr<AuditKey> OpenAuditKey(const std::string& dir, const std::string& master_key) {
  if (::access(CatalogPath(dir).c_str(), F_OK) != 0) {
    return absl::FailedPreconditionError(base::StrCat(
        "no store in ", dir, " (tapvault init makes one): its audit log records every action"));
  }
  ASSIGN_OR_RETURN(auto catalog, SqliteCatalog::Open(CatalogPath(dir), /*create=*/false));
  ASSIGN_OR_RETURN(auto recorded, catalog->GetMeta(kMetaMasterKey));
  ASSIGN_OR_RETURN(auto origin, catalog->GetMeta(kMetaOrigin));
  ASSIGN_OR_RETURN(auto key_id, catalog->GetMeta(kMetaAuditKey));
  if (!recorded || !origin) return absl::DataLossError("store: catalog lacks its meta rows");
  if (!key_id) {
    return absl::NotFoundError(base::StrCat("store: ", dir, " has no audit log yet (a store made "
                                            "before it; `tapvault serve` makes it at start)"));
  }
  std::string spec = !master_key.empty() ? master_key : ResolveMasterSpec(dir, *recorded);
  ASSIGN_OR_RETURN(auto master, crypto::OpenMasterKey(spec, /*create=*/false));
  ASSIGN_OR_RETURN(KeyRow row, catalog->Key(std::stoull(*key_id)));
  ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                   master->Unwrap(base::AsBytes(row.wrapped), internal::KeyContext(KeyKind::kSigning, row.id)));
  ASSIGN_OR_RETURN(auto signer, crypto::Ed25519Signer::FromSeed(seed));
  return AuditKey{std::move(signer), *origin + "/audit"};
}

absl::StatusOr<std::unique_ptr<ContentReader>> ContentReader::Open(const std::string& dir,
                                                                   const std::string& master_key) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  impl->segments = NewFileSegmentStore(dir);
  ASSIGN_OR_RETURN(impl->catalog, SqliteCatalog::Open(CatalogPath(dir), /*create=*/false));
  ASSIGN_OR_RETURN(auto recorded, impl->catalog->GetMeta(kMetaMasterKey));
  if (!recorded) return absl::DataLossError("store: catalog lacks the master key spec");
  std::string spec = !master_key.empty() ? master_key : ResolveMasterSpec(dir, *recorded);
  ASSIGN_OR_RETURN(impl->master, crypto::OpenMasterKey(spec, /*create=*/false));
  return std::unique_ptr<ContentReader>(new ContentReader(std::move(impl)));
}

absl::StatusOr<std::vector<ContentReader::Record>> ContentReader::ReadComm(uint64_t comm_id,
                                                                           uint64_t* destroyed) {
  Catalog& cat = *impl_->catalog;
  ASSIGN_OR_RETURN(auto slices, cat.Slices(comm_id, std::nullopt));
  ASSIGN_OR_RETURN(auto segments, cat.Segments());
  std::map<uint64_t, std::string> seg_paths;
  for (const SegmentRow& s : segments) seg_paths[s.id] = s.path;
  std::map<uint64_t, crypto::SecretBytes> warrant_keys;
  std::vector<Record> out;
  uint64_t gone = 0;
  for (const SliceRow& s : slices) {
    ASSIGN_OR_RETURN(KeyRow dk_row, cat.Key(s.key_id));
    if (s.destroyed || dk_row.wrapped.empty()) {
      gone += s.records;
      continue;
    }
    auto wk = warrant_keys.find(dk_row.wrapped_by);
    if (wk == warrant_keys.end()) {
      ASSIGN_OR_RETURN(KeyRow wk_row, cat.Key(dk_row.wrapped_by));
      if (wk_row.wrapped.empty()) return absl::DataLossError("store: live data key under a destroyed warrant key");
      ASSIGN_OR_RETURN(crypto::SecretBytes k,
                       impl_->master->Unwrap(base::AsBytes(wk_row.wrapped),
                                             internal::KeyContext(KeyKind::kWarrant, wk_row.id)));
      wk = warrant_keys.emplace(dk_row.wrapped_by, std::move(k)).first;
    }
    ASSIGN_OR_RETURN(crypto::SecretBytes dk,
                     crypto::UnwrapKey(wk->second, base::AsBytes(dk_row.wrapped),
                                       internal::KeyContext(KeyKind::kData, dk_row.id)));
    ASSIGN_OR_RETURN(crypto::AesGcm aead, crypto::AesGcm::Create(dk));
    auto path = seg_paths.find(s.segment_id);
    if (path == seg_paths.end()) return absl::DataLossError("store: slice in an unknown segment");
    std::string buf(s.end_offset - s.first_offset, '\0');
    RETURN_IF_ERROR(impl_->segments->Read(path->second, s.first_offset, buf.size(), buf.data()));
    size_t pos = 0;
    while (pos < buf.size()) {
      ASSIGN_OR_RETURN(ParsedRecord rec, ParseRecord(base::AsBytes(buf).subspan(pos)));
      pos += rec.framed_size;
      if (rec.header.key_id != s.key_id) continue;
      Record r;
      r.header = rec.header;
      RETURN_IF_ERROR(aead.Open(
          base::Bytes(reinterpret_cast<const std::byte*>(rec.header.nonce.data()), kNonceBytes),
          rec.header_bytes, rec.body, r.pdu));
      out.push_back(std::move(r));
    }
  }
  // A copy kept by a range destruction stands in its original's place; while both exist (a crash
  // between the copy and the shredding) the original is returned, once.
  auto original = [](const Record& r) {
    return r.header.rewritten_from.value_or(r.header.leaf_index);
  };
  auto place = [&](const Record& r) { return std::pair(original(r), r.header.leaf_index); };
  std::sort(out.begin(), out.end(),
            [&](const Record& a, const Record& b) { return place(a) < place(b); });
  auto same = [&](const Record& a, const Record& b) { return original(a) == original(b); };
  out.erase(std::unique(out.begin(), out.end(), same), out.end());
  if (destroyed != nullptr) {
    // The communication's count is of originals (copies do not add to it): what is not returned
    // is destroyed, whatever slices the copies and originals were in.
    CommFilter f;
    f.comm_id = comm_id;
    ASSIGN_OR_RETURN(auto comms, cat.ListComms(f));
    const uint64_t records = comms.empty() ? gone + out.size() : comms[0].records;
    *destroyed = records > out.size() ? records - out.size() : 0;
  }
  return out;
}

}  // namespace tapvault::store
