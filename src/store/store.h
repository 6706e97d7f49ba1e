// The cold store: every accepted PDU kept byte for byte, encrypted (AES-256-GCM), in append-only
// segment files per case (LIID), indexed in the catalog, and committed to one Merkle log with
// signed checkpoints. Its three promises: nothing acknowledged is lost (group commit with
// fdatasync before a record counts as durable), nothing stored can be changed unnoticed (the log,
// checked offline by store::Verify), and destroyed content can never be read again
// (crypto-shredding plus master-key rotation). Formats: docs/formats/store.md; design:
// docs/design/0002-cold-store.md.
//
//   RETURN_IF_ERROR(store::InitStore({.dir = "/var/lib/tapvault"}));
//   ASSIGN_OR_RETURN(auto st, store::Store::Open({.dir = "/var/lib/tapvault"}));
//   RETURN_IF_ERROR(st->Append(meta, raw_pdu));       // queued, encrypted; never blocks on I/O
//   st->WhenDurable([&] { send_ack(); });              // after everything appended so far is on disk
//   ...
//   RETURN_IF_ERROR(st->Close());
//
// One process owns a store at a time (an exclusive lock on DIR/store.lock). Other processes read
// the catalog and segments directly (comms list, verify) and hand destruction orders to the
// owner through the catalog's request table (Store::SubmitOrRunDestroy).
// Thread-safe: Append/WhenDurable/Saturated from any thread; one internal writer thread does all
// file and catalog writes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "crypto/ed25519.h"
#include "metrics/registry.h"
#include "store/catalog.h"
#include "store/record_format.h"
#include "store/screen.h"

namespace tapvault::gate {
class ReadGate;
}

namespace tapvault::store {

struct InitOptions {
  std::string dir;
  // "" = a new key file DIR/keys/master.key (mode 0600); a path = a new key file there;
  // "pkcs11:..." = a master key generated inside that token (the PIN is never stored).
  std::string master_key;
  // The Merkle log's origin line (C2SP tlog-checkpoint); "" = "tapvault.local/<random id>".
  std::string origin;
};
// Creates a new, empty store in `dir` (created if missing; must be empty of a store).
// AlreadyExists if a store is there.
absl::Status InitStore(const InitOptions& options);

// The audit log (src/audit) of the store in DIR lives in DIR/audit. Its checkpoints are signed
// by a key of its own, kept in the catalog wrapped by the master key like the Merkle log's key:
// only a process holding the master key can append, and a master-key rotation re-wraps it.
// InitStore makes it; Store::Start makes it for a store that predates the audit log.
struct AuditKey {
  crypto::Ed25519Signer signer;
  std::string origin;   // the audit log's origin line: "<store origin>/audit"
};
std::string AuditDir(const std::string& dir);
// Unwraps the audit log's key. NotFound for a store made before the audit log that no server
// has started since; errors of the master key as they come.
absl::StatusOr<AuditKey> OpenAuditKey(const std::string& dir, const std::string& master_key);

struct StoreOptions {
  std::string dir;
  // Overrides the master key spec recorded at init (e.g. a pkcs11 URI with pin-source).
  std::string master_key;
  uint64_t segment_max_bytes = 256ull << 20;
  int64_t key_slice_us = 10LL * 1000000;      // a new data key per communication per slice
  size_t queue_high_bytes = 64u << 20;         // Saturated() above this (back-pressure) ...
  size_t queue_low_bytes = 16u << 20;          // ... until the queue drains below this
  int64_t checkpoint_interval_us = 1000000;    // sign a checkpoint this often while growing
  int64_t retry_interval_us = 500000;          // after a write error (disk full, I/O error)
  int64_t control_interval_us = 200000;        // requests, retention, idle communications
  int64_t comm_idle_us = 10LL * 60 * 1000000;  // forget in-memory state of idle communications
  int64_t retention_interval_us = 60LL * 1000000;  // how often expired records are destroyed
  metrics::Registry* metrics = nullptr;        // optional
  // Decides each communication (the privileged-party filter). nullptr: everything stays
  // quarantined. Must outlive the Store.
  Screener* screener = nullptr;
  // Undecided communications are screened again this often (e.g. to send those whose parties
  // never arrived to review); all quarantined and available ones when the screener's
  // Generation() changes.
  int64_t rescreen_interval_us = 5LL * 1000000;
  // Tests only: Destroy fails (Aborted) right after the re-encrypted copies of a cut slice's kept
  // records are durable, before any key is destroyed (a crash at the worst moment).
  bool fail_after_rewrite_for_test = false;
};

// What the store keeps about a PDU besides its bytes.
struct AppendMeta {
  int64_t received_us = 0;
  uint64_t connection_id = 0;
  uint8_t handover = 0;
  uint8_t kind = 0;
  uint8_t verdict = 0;
  std::string_view liid;
  std::string_view network_id;
  std::optional<uint32_t> cin;
  uint32_t sequence_number = 0;
  const std::vector<PartyRow>* parties = nullptr;  // identities the decoders extracted
  std::string_view country;    // ISO 3166 alpha-2 of the intercept (PS-PDU header), "" = unknown
};

// What to destroy: exactly the records received in [from, to] (whole communications or a whole
// case without a range). Records of one communication within one key slice (StoreOptions::
// key_slice_us) share a data key; a range that cuts through a slice has the slice's records
// outside the range re-encrypted under a fresh key as new records (RecordHeader::rewritten_from
// names the original; every other header field is kept), made durable, and only then is the
// slice's key destroyed. ContentReader returns each kept record once, in its original place.
struct DestroyOrder {
  std::optional<uint64_t> comm_id;     // one communication ...
  std::optional<std::string> liid;     // ... or a whole case
  std::optional<int64_t> from_us, to_us;  // only records received in [from, to]
  std::string order_ref;               // the order's reference (required)
  std::string reason;                  // required
  std::string ordered_by;              // who gave the order ("" = the operator at the console)
  // Slices cut by the range: false = re-encrypt their kept records (exact, above); true = leave
  // the slice whole for later (retention: it expires with a later sweep, no re-encryption).
  bool skip_cut_slices = false;
  // An official record of destruction (JSON object, e.g. the proces-verbaal of a privileged
  // communication) signed as part of the destruction record in the log; "" = none.
  std::string official_record;
};


// Kept records of cut slices: leaves [from_first, from_last] now live, re-encrypted, at leaves
// to_first, to_first + 1, ... (one entry per run that is consecutive on both sides).
struct LeafMove {
  uint64_t from_first = 0, from_last = 0, to_first = 0;
  friend bool operator==(const LeafMove&, const LeafMove&) = default;
};

struct DestroyResult {
  int64_t at_us = 0;
  std::vector<uint64_t> comms;                          // communications affected
  std::vector<uint64_t> comms_destroyed;                // of those, now fully destroyed
  std::vector<std::pair<uint64_t, uint64_t>> leaves;    // destroyed records, [first, last] ranges
  uint64_t records = 0;                                 // destroyed records (leaves listed)
  std::vector<LeafMove> rewritten;                      // kept records of cut slices, moved
  uint64_t rewritten_records = 0;
  std::vector<uint64_t> data_keys;                      // destroyed data key ids
  uint64_t old_warrant_key = 0, new_warrant_key = 0;
  uint32_t old_master_version = 0, new_master_version = 0;
  std::vector<std::string> derived_removed;
  uint64_t record_leaf = 0;                             // leaf of the signed destruction record
  std::string signed_record;                            // the signed note as stored
};
std::string DestroyResultJson(const DestroyResult& r);

// A person's decision about one communication (privileged-party filter, issue 4).
//   flag:    any authorised user marks it privileged; it is unreadable at once.
//   release: a prosecutor releases a privileged communication (reason required, e.g. the lawyer
//            is a suspect himself); with the four-eyes policy (catalog meta
//            "release_four_eyes", on unless set to "off") a second, different person must
//            release it too before it becomes readable.
//   confirm: a prosecutor confirms it privileged: crypto-shredding plus a signed proces-verbaal;
//            with the four-eyes policy ("confirm_four_eyes", on unless "off") the first
//            confirmation waits ("destruction_pending_second_person") for a second, different
//            person, whose confirmation destroys it (the proces-verbaal names both).
struct DecisionOrder {
  enum class Act : uint8_t { kFlag, kRelease, kConfirm } act = Act::kFlag;
  uint64_t comm_id = 0;
  std::string order_ref;   // required for release and confirm
  std::string reason;      // required for flag and release
  std::string by;          // who ("" is refused)
};
struct DecisionResult {
  uint64_t comm_id = 0;
  std::string outcome;     // "flagged", "already_privileged", "release_pending_second_person",
                           // "released", "destroyed"
  CommState state = CommState::kQuarantined;
  std::optional<DestroyResult> destruction;   // confirm
  std::string proces_verbaal;                 // confirm: the official record (JSON)
};
std::string DecisionResultJson(const DecisionResult& r);

struct StoreStats {
  uint64_t records = 0, bytes = 0, commits = 0, fsyncs = 0;
  uint64_t tree_size = 0;
  uint64_t write_errors = 0;
  bool stalled = false;
};

class Store {
 public:
  // Takes the store's lock (FailedPrecondition if another process holds it), recovers from a
  // crash (cuts torn tails, removes uncommitted segment files, rebuilds tiles, records what it
  // did in the log) and starts the writer.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  // Encrypts and queues one PDU. Unavailable after Close() or a fatal error.
  absl::Status Append(const AppendMeta& meta, base::Bytes raw);
  // `done` runs (on the writer thread) once everything appended before this call is durable.
  void WhenDurable(std::function<void()> done);
  // True while the queue is over its high-water mark or the disk refuses writes.
  bool Saturated() const;
  // Waits until everything appended so far is durable. The error if the store is stalled.
  absl::Status Flush(int64_t timeout_us = 60LL * 1000000);
  // Crypto-shredding (see DestroyOrder). Waits for queued records first.
  absl::StatusOr<DestroyResult> Destroy(const DestroyOrder& order);
  // A flag, release or confirmation (see DecisionOrder). NotFound for an unknown communication,
  // FailedPrecondition when the act does not fit its state (e.g. releasing one not privileged,
  // the same person releasing twice).
  absl::StatusOr<DecisionResult> Decide(const DecisionOrder& order);
  // Rotates the master key (a new version; every warrant and signing key re-wrapped; the old
  // version destroyed) and, for a case, its warrant key (its data keys re-wrapped; the old key
  // erased). Content is never rewritten. A signed record of it goes into the log.
  struct KeyRotation {
    uint32_t old_master_version = 0, new_master_version = 0;
    uint64_t old_warrant_key = 0, new_warrant_key = 0;
    size_t rewrapped_keys = 0;
    std::string signed_record;
  };
  absl::StatusOr<KeyRotation> RotateKeys(const std::optional<std::string>& liid);
  // Signs and writes a checkpoint for everything durable now (also done periodically).
  absl::Status Checkpoint();
  // Drains the queue, writes a final checkpoint, stops the writer and releases the lock.
  absl::Status Close();

  StoreStats Stats() const;
  const std::string& dir() const;

  class Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `tapvault destroy`: runs the order in this process when no other process owns the store, else
// queues it for the owner (a running `serve`) and waits up to `timeout_us` for its result.
absl::StatusOr<DestroyResult> SubmitOrRunDestroy(const std::string& dir, const DestroyOrder& order,
                                                 int64_t timeout_us = 120LL * 1000000);

// `tapvault flag` / `tapvault decide`: Store::Decide here or through the owning process.
absl::StatusOr<DecisionResult> SubmitOrRunDecide(const std::string& dir, const DecisionOrder& order,
                                                 int64_t timeout_us = 120LL * 1000000);

// `tapvault keys rotate`: Store::RotateKeys here or through the owning process (as above); the
// result as JSON.
absl::StatusOr<std::string> SubmitOrRunRotate(const std::string& dir,
                                              const std::optional<std::string>& liid,
                                              int64_t timeout_us = 120LL * 1000000);
std::string KeyRotationJson(const Store::KeyRotation& r);

// Decrypting reader (needs the master key). Its content is reachable only through the one read
// gate (gate::ReadGate), which decides whether a communication may be read at all; the only
// other user is a test access struct in the store's own tests (a test in src/gate checks that no
// product code uses it).
class ContentReader {
 public:
  static absl::StatusOr<std::unique_ptr<ContentReader>> Open(const std::string& dir,
                                                             const std::string& master_key = "");
  ~ContentReader();
  struct Record {
    RecordHeader header;
    std::string pdu;          // the raw BER PDU as received
  };
  Catalog& catalog();

  class Impl;

 private:
  friend class gate::ReadGate;
  friend struct ContentReaderTestAccess;
  // Every record of a communication in leaf order, each once: a re-encrypted copy kept by a
  // range destruction takes the place of its original (the leaf in header.rewritten_from; the
  // original wins while both exist, i.e. after a crash between the copy and the shredding).
  // Records whose key was destroyed are not returned (their count is in *destroyed when given).
  absl::StatusOr<std::vector<Record>> ReadComm(uint64_t comm_id, uint64_t* destroyed = nullptr);

  explicit ContentReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Paths inside a store directory.
std::string CatalogPath(const std::string& dir);
std::string LogDir(const std::string& dir);
std::string CheckpointPath(const std::string& dir);
std::string VerifierKeyPath(const std::string& dir);

}  // namespace tapvault::store
