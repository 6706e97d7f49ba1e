// The cold store's catalog: metadata, indexes and wrapped keys (never content). The Store is its
// only writer; readers (comms list, verify, destroy requests from another process) open it too.
// Catalog is the narrow interface the Store needs; SqliteCatalog keeps it in one SQLite file
// (WAL, synchronous=FULL, secure_delete=ON so that deleted wrapped keys are overwritten). A later
// PostgreSQL backend implements the same interface.
//
//   ASSIGN_OR_RETURN(auto catalog, store::SqliteCatalog::Open(dir + "/catalog.db", /*create=*/true));
//   store::CommitBatch batch;  ... fill ...
//   RETURN_IF_ERROR(catalog->Commit(batch));      // one durable transaction
//
// Thread-compatible: one thread at a time per Catalog object (the Store serialises its use).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tapvault::store {

// A communication's state decides who may read it (the read gate, src/gate/). New communications
// start quarantined: nothing is readable until the privileged-party filter has decided it is not
// privileged (fail-closed). Privileged and destroyed are sticky: only a prosecutor's release
// (privileged → available) or confirmation (→ destroyed) moves them.
enum class CommState : uint8_t { kAvailable, kQuarantined, kPrivileged, kDestroyed };
std::string_view CommStateName(CommState s);
std::optional<CommState> ParseCommState(std::string_view s);

enum class KeyKind : uint8_t { kWarrant = 1, kData = 2, kSigning = 3 };

struct KeyRow {
  uint64_t id = 0;
  KeyKind kind = KeyKind::kData;
  std::string liid;            // warrant and data keys
  uint64_t wrapped_by = 0;     // data keys: warrant key id; warrant/signing: 0 (master)
  uint32_t master_version = 0; // warrant/signing keys: the master version that wraps them
  std::string wrapped;         // empty once destroyed
  int64_t created_us = 0;
  int64_t destroyed_us = 0;    // 0 = live
};

struct CaseRow {
  std::string liid;
  uint64_t warrant_key_id = 0;
  int64_t created_us = 0;
  int64_t retention_days = 0;  // 0 = keep until destroyed by order
};

struct PartyRow {
  std::string role;
  std::string id;
  std::string nature;   // number nature of address as the IRI gave it ("national", ...); "" = none
  friend bool operator==(const PartyRow&, const PartyRow&) = default;
};

struct CommRow {
  uint64_t id = 0;
  std::string liid;
  std::string network_id;
  std::optional<uint32_t> cin;
  int64_t start_us = 0, end_us = 0;
  CommState state = CommState::kQuarantined;
  std::string state_reason;        // why it is in its state ("awaiting_parties", "list_match", ...)
  uint64_t list_version = 0;       // the privileged-list version of its last decision (0 = none)
  int64_t decided_us = 0;          // when the state last changed by a decision (0 = never)
  std::string country;             // ISO 3166 alpha-2 of the intercept (PS-PDU header), "" = unknown
  uint64_t records = 0, bytes = 0;
  std::vector<PartyRow> parties;   // filled by ListComms
};

// One decision about a communication's state (privileged-party filter, manual flag, prosecutor).
// Identities never appear in clear: `identity_hash` is a salted hash of the matched identity.
struct DecisionRow {
  uint64_t id = 0;                 // assigned by the catalog
  uint64_t comm_id = 0;
  int64_t at_us = 0;
  CommState state = CommState::kQuarantined;
  std::string reason;              // "list_match", "no_match", "awaiting_parties", "list_unavailable",
                                   // "manual_flag", "release_requested", "released", "confirmed", ...
  uint64_t list_version = 0;
  std::string role;                // the matched party's role
  std::string entry_type;          // the list entry type that matched
  std::string identity_hash;
  std::string by;                  // who ("filter" for automatic decisions)
  std::string order_ref;
  std::string detail;              // JSON
  // Applied only while the communication is in one of these states (others: the row is skipped,
  // Catalog::Commit does not fail). Empty: quarantined or available (what the filter may change).
  std::vector<CommState> from;
  // Record the row even when neither state nor reason changes (manual and prosecutor acts).
  bool record_always = false;
  // A verdict of "available" computed from this many parties is skipped when the communication
  // has more by now (a party that arrived meanwhile was not screened by it).
  std::optional<uint64_t> parties_seen;
};

// One data key's records within one segment: the unit of lookup by time and of destruction.
struct SliceRow {
  uint64_t key_id = 0;             // the data key (unique per slice)
  uint64_t comm_id = 0;
  uint64_t segment_id = 0;
  uint64_t first_leaf = 0, last_leaf = 0;
  uint64_t first_offset = 0, end_offset = 0;  // byte range in the segment holding its records
  uint64_t records = 0, bytes = 0;            // bytes = plaintext PDU bytes
  int64_t start_us = 0, end_us = 0;
  bool destroyed = false;
};

struct SegmentRow {
  uint64_t id = 0;
  std::string liid;
  std::string path;                // relative to the store directory
  uint64_t committed_bytes = 0;    // durable length: anything after it is a torn tail
  uint64_t records = 0;
  bool sealed = false;
  int64_t created_us = 0;
};

struct LogState {
  uint64_t size = 0;
  std::string root;                // 32 bytes
  std::string edge;                // tlog::TreeBuilder::EncodeEdge()
  std::string edge_entries;        // entry bundle of the last incomplete 256-leaf bundle
};

struct EventRow {
  int64_t at_us = 0;
  std::string kind;                // "torn_tail_cut", "orphan_segment_removed", "destruction", ...
  std::string detail;              // JSON
};

// Everything one group commit changes, applied in one transaction.
struct CommitBatch {
  std::vector<CaseRow> new_cases;
  std::vector<KeyRow> new_keys;
  std::vector<CommRow> new_comms;                        // parties ignored here
  std::vector<std::pair<uint64_t, PartyRow>> new_parties;
  std::vector<SegmentRow> new_segments;
  std::vector<SliceRow> slices;                          // upserted by key_id (aggregates)
  struct CommDelta { uint64_t id; int64_t start_us, end_us; uint64_t records, bytes; };
  std::vector<CommDelta> comm_deltas;                    // added to the row; start=min, end=max
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> segment_ends;  // id -> (committed, records)
  std::vector<uint64_t> sealed_segments;
  std::optional<LogState> log;
  std::vector<EventRow> events;
  std::vector<DecisionRow> decisions;                    // applied in order, after new_comms
};

struct CommFilter {
  std::optional<std::string> liid;
  std::optional<uint64_t> comm_id;
  std::optional<std::string> party;   // exact party id
  std::optional<int64_t> from_us, to_us;  // overlapping [from, to]
  std::optional<std::string> network_id;  // exact "operator/element"
  std::optional<CommState> state;
  bool match_cin = false;             // when true, cin must equal `cin` (nullopt = no CIN)
  std::optional<uint32_t> cin;
  uint64_t after_id = 0;              // pagination: ids greater than this
  uint64_t limit = 0;                 // 0 = all
};

struct RequestRow {
  uint64_t id = 0;
  std::string kind;    // "destroy"
  std::string body;    // JSON
  std::string status;  // "pending", "done", "failed"
  std::string result;  // JSON or error text
};

class Catalog {
 public:
  virtual ~Catalog() = default;

  virtual absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) = 0;
  virtual absl::Status SetMeta(std::string_view key, std::string_view value) = 0;

  virtual absl::Status Commit(const CommitBatch& batch) = 0;

  virtual absl::StatusOr<LogState> GetLogState() = 0;
  virtual absl::StatusOr<std::vector<SegmentRow>> Segments() = 0;
  virtual absl::StatusOr<std::vector<CaseRow>> Cases() = 0;
  virtual absl::StatusOr<KeyRow> Key(uint64_t id) = 0;
  virtual absl::StatusOr<std::vector<KeyRow>> Keys(std::optional<KeyKind> kind,
                                                   std::optional<std::string> liid,
                                                   bool live_only) = 0;
  virtual absl::StatusOr<std::vector<CommRow>> ListComms(const CommFilter& filter) = 0;
  virtual absl::StatusOr<std::vector<SliceRow>> Slices(std::optional<uint64_t> comm_id,
                                                       std::optional<std::string> liid) = 0;
  virtual absl::StatusOr<std::vector<EventRow>> Events() = 0;
  // Decisions, oldest first: of one communication, or all made in [from_us, to_us].
  virtual absl::StatusOr<std::vector<DecisionRow>> Decisions(std::optional<uint64_t> comm_id,
                                                             std::optional<int64_t> from_us,
                                                             std::optional<int64_t> to_us) = 0;
  // Highest ids in use (to continue numbering after a restart).
  struct MaxIds { uint64_t comm = 0, key = 0, segment = 0; };
  virtual absl::StatusOr<MaxIds> GetMaxIds() = 0;

  // Destruction: in one transaction, replaces the wrapped form of keys (re-wrapping) and
  // destroys others (wrapped blob erased), marks slices and comms, records an event.
  struct KeyUpdate { uint64_t id; std::string wrapped; uint64_t wrapped_by; uint32_t master_version; };
  struct DestroyTxn {
    std::vector<uint64_t> destroy_keys;
    std::vector<KeyUpdate> rewrap;
    std::vector<KeyRow> new_keys;
    std::vector<std::pair<std::string, uint64_t>> case_warrant_keys;  // liid -> new warrant key
    std::vector<uint64_t> destroyed_comms;
    std::vector<EventRow> events;
    int64_t at_us = 0;
  };
  virtual absl::Status ApplyDestroy(const DestroyTxn& txn) = 0;

  virtual absl::Status SetRetention(std::string_view liid, int64_t days) = 0;

  // Derived data (exports, caches) to destroy with their communication.
  virtual absl::Status AddDerived(uint64_t comm_id, std::string_view path, std::string_view kind) = 0;
  virtual absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> Derived(uint64_t comm_id) = 0;
  virtual absl::Status MarkDerivedDestroyed(uint64_t derived_id) = 0;

  // Requests from other processes to the store's owner (e.g. `tapvault destroy` while serve runs).
  virtual absl::StatusOr<uint64_t> AddRequest(std::string_view kind, std::string_view body) = 0;
  virtual absl::StatusOr<std::vector<RequestRow>> PendingRequests() = 0;
  virtual absl::StatusOr<RequestRow> Request(uint64_t id) = 0;
  virtual absl::Status FinishRequest(uint64_t id, bool ok, std::string_view result) = 0;

  // Copies the database consistently to `path` (VACUUM INTO): backups, and the test that an old
  // copy of the key store cannot decrypt destroyed content.
  virtual absl::Status BackupTo(const std::string& path) = 0;
};

class SqliteCatalog : public Catalog {
 public:
  // create=false: NotFound if the file does not exist. read_only opens without write access.
  static absl::StatusOr<std::unique_ptr<SqliteCatalog>> Open(const std::string& path, bool create,
                                                             bool read_only = false);
  ~SqliteCatalog() override;
  class Impl;

  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) override;
  absl::Status SetMeta(std::string_view key, std::string_view value) override;
  absl::Status Commit(const CommitBatch& batch) override;
  absl::StatusOr<LogState> GetLogState() override;
  absl::StatusOr<std::vector<SegmentRow>> Segments() override;
  absl::StatusOr<std::vector<CaseRow>> Cases() override;
  absl::StatusOr<KeyRow> Key(uint64_t id) override;
  absl::StatusOr<std::vector<KeyRow>> Keys(std::optional<KeyKind> kind,
                                           std::optional<std::string> liid,
                                           bool live_only) override;
  absl::StatusOr<std::vector<CommRow>> ListComms(const CommFilter& filter) override;
  absl::StatusOr<std::vector<SliceRow>> Slices(std::optional<uint64_t> comm_id,
                                               std::optional<std::string> liid) override;
  absl::StatusOr<std::vector<EventRow>> Events() override;
  absl::StatusOr<std::vector<DecisionRow>> Decisions(std::optional<uint64_t> comm_id,
                                                     std::optional<int64_t> from_us,
                                                     std::optional<int64_t> to_us) override;
  absl::StatusOr<MaxIds> GetMaxIds() override;
  absl::Status ApplyDestroy(const DestroyTxn& txn) override;
  absl::Status SetRetention(std::string_view liid, int64_t days) override;
  absl::Status AddDerived(uint64_t comm_id, std::string_view path, std::string_view kind) override;
  absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> Derived(uint64_t comm_id) override;
  absl::Status MarkDerivedDestroyed(uint64_t derived_id) override;
  absl::StatusOr<uint64_t> AddRequest(std::string_view kind, std::string_view body) override;
  absl::StatusOr<std::vector<RequestRow>> PendingRequests() override;
  absl::StatusOr<RequestRow> Request(uint64_t id) override;
  absl::Status FinishRequest(uint64_t id, bool ok, std::string_view result) override;
  absl::Status BackupTo(const std::string& path) override;

 private:
  explicit SqliteCatalog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapvault::store
