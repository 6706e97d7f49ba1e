// WarrantStore: the warrants (tap orders) of a data directory, in DIR/warrants.db (SQLite, WAL,
// synchronous=FULL, mode 0600). A warrant is a chain of immutable versions: Add writes version 1,
// Extend and End append versions; nothing is ever edited or deleted (SQLite triggers refuse any
// UPDATE or DELETE of a version row, whoever writes the file). The latest version is the warrant
// in force.
//
//   ASSIGN_OR_RETURN(auto store, warrant::WarrantStore::Open(dir, /*create=*/true));
//   ASSIGN_OR_RETURN(Warrant w, store->Add(spec, "alice", now_us));
//   ASSIGN_OR_RETURN(w, store->Extend(w.spec.id, new_to_us, "RC-2026-77b", "alice", now_us));
//   ASSIGN_OR_RETURN(std::optional<Warrant> c, store->CoveringAt("NL-OM-0042", record_time_us));
//   ASSIGN_OR_RETURN(std::shared_ptr<const WarrantIndex> index, store->Snapshot());
//
// Files and processes: one writer process (the CLI or the API) and readers in other processes
// (the server polls Generation() and rebuilds its Snapshot() when it changes) may use the file at
// once; a reader sees each change whole or not at all.
// Thread-safety: thread-safe; calls are serialised on an internal mutex.
// Errors: InvalidArgument (bad spec or arguments), AlreadyExists (id taken), NotFound (no such
// warrant, no database), FailedPrecondition (the change is not allowed in the warrant's state:
// ended, not later, outside validity; not a warrant database), DataLoss (corrupt file),
// Unavailable (locked by another writer too long), ResourceExhausted (disk full).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "warrant/ts103120.h"
#include "warrant/warrant.h"
#include "warrant/warrant_index.h"

namespace tapvault::sqlite {
class Db;
}  // namespace tapvault::sqlite

namespace tapvault::warrant {

inline constexpr std::string_view kWarrantFileName = "warrants.db";
// DIR/warrants.db
std::string WarrantPath(std::string_view dir);

// Limits on what a spec may hold (InvalidArgument beyond them).
inline constexpr size_t kMaxTargets = 1000;
inline constexpr size_t kMaxFieldBytes = 4096;
inline constexpr int kMaxRetentionDays = 100 * 366;

struct ListFilter {
  std::string liid;                   // "" = any
  std::string team;                   // "" = any
  std::optional<int64_t> valid_at_us;  // only warrants valid at this instant
  bool include_ended = false;         // also warrants ended early (End)
};

// What WarrantStore::Import did with one AuthorisationObject.
struct ImportOutcome {
  std::string warrant_id;
  std::string action;  // "added", "extended", "ended", "unchanged", "stale"
  uint32_t version = 0;  // the warrant's latest version afterwards
  std::string message;   // for the operator; e.g. what was ignored
};

class WarrantStore {
 public:
  // Opens DIR/warrants.db; with `create`, creates it (mode 0600) when missing. The directory must
  // exist. `read_only` opens for reading only (a server process).
  static absl::StatusOr<std::unique_ptr<WarrantStore>> Open(std::string_view dir, bool create,
                                                            bool read_only = false);
  ~WarrantStore();
  WarrantStore(const WarrantStore&) = delete;
  WarrantStore& operator=(const WarrantStore&) = delete;

  // Records a new warrant as version 1 (change "created", or "imported" when spec.source is
  // "ts103120"). AlreadyExists when the id is taken; InvalidArgument when id, liid, team or
  // targets are missing, valid_from >= valid_to, retention_days outside [0, kMaxRetentionDays],
  // a field is longer than kMaxFieldBytes or holds control characters.
  absl::StatusOr<Warrant> Add(const WarrantSpec& spec, std::string_view by, int64_t at_us);
  // A new version valid until `new_to_us`; `reference` (the extension order, optional) becomes
  // the authority reference and the version's reason. FailedPrecondition when the warrant was
  // ended or new_to_us is not later than its current valid_to.
  absl::StatusOr<Warrant> Extend(std::string_view id, int64_t new_to_us, std::string_view reference,
                                 std::string_view by, int64_t at_us);
  // A new version with valid_to = `end_us` (change "ended"). FailedPrecondition unless
  // valid_from < end_us < valid_to of the current version, or when it was already ended.
  // InvalidArgument without a reason.
  absl::StatusOr<Warrant> End(std::string_view id, int64_t end_us, std::string_view reason,
                              std::string_view by, int64_t at_us);

  // The latest version; NotFound for an unknown id.
  absl::StatusOr<Warrant> Current(std::string_view id);
  // Every version, oldest first; NotFound for an unknown id.
  absl::StatusOr<std::vector<Warrant>> Versions(std::string_view id);
  // Latest versions matching `filter`, by id.
  absl::StatusOr<std::vector<Warrant>> List(const ListFilter& filter);
  // The warrant (latest version) of `liid` whose [valid_from, valid_to) contains t_us; with
  // several, the latest valid_from (then the greatest id). nullopt when none.
  absl::StatusOr<std::optional<Warrant>> CoveringAt(std::string_view liid, int64_t t_us);
  // An immutable index of every warrant's latest version (ended ones included: they still cover
  // their shortened window), for concurrent lookups.
  absl::StatusOr<std::shared_ptr<const WarrantIndex>> Snapshot();
  // A counter that every change increases (0 for an empty store). One indexed read: cheap enough
  // to poll from another process.
  absl::StatusOr<uint64_t> Generation();

  // Parses a TS 103 120 HI1Message (ParseHi1Message) and applies it in one transaction: a new id
  // is added; an existing one with a later end is extended, with an earlier end ended; the same
  // end is "unchanged"; an older Generation than the stored one is "stale" (ignored). A change to
  // the LIID, targets, valid_from or team of an existing warrant is refused (FailedPrecondition):
  // nothing of the message is applied then. options.by and options.now_us are required.
  absl::StatusOr<std::vector<ImportOutcome>> Import(std::string_view xml,
                                                    const ImportOptions& options);
  // Applies already parsed specs the same way (one transaction).
  absl::StatusOr<std::vector<ImportOutcome>> ImportSpecs(const std::vector<WarrantSpec>& specs,
                                                         const ImportOptions& options);

 private:
  explicit WarrantStore(std::unique_ptr<sqlite::Db> db);
  // One change: under mu_, in one write transaction, `change(db)` writes a version, which is
  // logged once committed.
  template <typename Change>
  absl::StatusOr<Warrant> InTxn(Change&& change) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tapvault::warrant
