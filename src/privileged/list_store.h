// Versions of the privileged-party list in one SQLite file (the product keeps it at
// DIR/privileged.db). Each delivered file becomes a version with the SHA-256 of its bytes, its
// counts and its diff against the version in force; entries are stored once, with the interval of
// versions in which they are present, so a daily complete list of a million entries costs only
// what changed.
//
//   ASSIGN_OR_RETURN(auto store, privileged::ListStore::Open(dir + "/privileged.db", true));
//   absl::StatusOr<privileged::ImportResult> r = store->Import(csv, {.source = "NOvA",
//       .imported_by = "alice", .now_us = base::Now().unix_us}, normalizer);
//   if (r.ok() && r->version.status == "held") ...;      // another administrator must Confirm
//   ASSIGN_OR_RETURN(uint64_t active, store->ActiveVersionId());   // 0: no list (fail closed)
//   ASSIGN_OR_RETURN(std::unique_ptr<privileged::Matcher> m, store->LoadMatcher(active));
//
// Life of a version (status):
//   active      in force; exactly one once any list was imported
//   held        removes more than max_shrink of the entries in force: not in force until a second
//               administrator Confirms it (four-eyes; the importer cannot); a newer import
//               supersedes it
//   superseded  was in force, or was held when a newer version arrived
//   rejected    was held and an administrator Rejected it
// A file with any bad row is no version at all: Import fails and nothing changes.
//
// Files and processes: WAL mode, synchronous=FULL, file mode 0600. One writer process (imports,
// confirmations) and readers in other processes (the server polls ActiveVersionId) may use the
// file at once; a reader sees each import whole or not at all.
// Thread-safe: calls are serialised on an internal mutex.
// Errors: InvalidArgument (bad file, bad arguments), NotFound (no such version or file),
// FailedPrecondition (four-eyes, state of the version, not a list database), DataLoss (corrupt
// file), Unavailable (locked by another writer for too long), ResourceExhausted (disk full).
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
#include "identity/identity.h"
#include "privileged/list_csv.h"
#include "privileged/matcher.h"

namespace tapvault::sqlite {
class Db;
}  // namespace tapvault::sqlite

namespace tapvault::privileged {

// The list database of a data directory: DIR/privileged.db.
inline constexpr std::string_view kListFileName = "privileged.db";
std::string ListPath(std::string_view dir);

// An alarm is due when the list in force was delivered longer ago than this (privileged-list.md).
inline constexpr int64_t kDefaultMaxAgeUs = int64_t{36} * 3600 * 1'000'000;
inline constexpr double kDefaultMaxShrink = 0.10;

struct VersionInfo {
  uint64_t id = 0;
  std::string sha256_hex;  // of the file's bytes
  std::string source;
  std::string imported_by;
  int64_t imported_us = 0;
  uint64_t entries = 0;      // distinct entries in this version
  uint64_t added = 0;        // against `base`
  uint64_t removed = 0;      // against `base`
  uint64_t duplicates = 0;   // rows of the file that repeated another row
  std::string status;        // "active", "held", "superseded", "rejected"
  std::string confirmed_by;  // who confirmed (or rejected) a held version; "" otherwise
  int64_t confirmed_us = 0;
  double shrink = 0;             // removed / base's entries (0 without a base)
  uint64_t base = 0;             // the version in force when this one was imported; 0 = none
  int64_t in_force_from_us = 0;  // 0: never in force
  int64_t in_force_to_us = 0;    // 0: still in force, or never
};

struct ImportOptions {
  std::string source;  // default for rows without a source
  std::string region = "NL";
  std::string imported_by;  // required
  double max_shrink = kDefaultMaxShrink;
  int64_t now_us = 0;  // required
};

struct ImportResult {
  VersionInfo version;
  std::string message;  // for the operator: why a version is held and who may confirm it
};

// True when `active` was delivered more than `max_age_us` before `now_us`.
bool IsStale(const VersionInfo& active, int64_t now_us, int64_t max_age_us = kDefaultMaxAgeUs);

class ListStore {
 public:
  // Opens the list database at `path`; with `create`, creates it (mode 0600) when missing. The
  // directory must exist. `read_only` opens for reading only (a server process).
  static absl::StatusOr<std::unique_ptr<ListStore>> Open(const std::string& path, bool create,
                                                         bool read_only = false);
  ~ListStore();
  ListStore(const ListStore&) = delete;
  ListStore& operator=(const ListStore&) = delete;

  // Imports a complete list as a new version. A file with bad rows: InvalidArgument whose message
  // names every bad line, `errors` (when given) receives them, nothing changes. A file that would
  // remove more than options.max_shrink of the entries in force is stored "held"; otherwise it is
  // "active" at once and the previous version "superseded". A file identical to the one in force
  // is still a new version (0 added, 0 removed): its delivery time resets the staleness alarm.
  absl::StatusOr<ImportResult> Import(std::string_view csv, const ImportOptions& options,
                                      const identity::Normalizer& normalizer,
                                      std::vector<LineError>* errors = nullptr);
  // Puts a held version in force. FailedPrecondition when it is not held (a newer import
  // supersedes it) or when `by` is the administrator who imported it (compared without case).
  absl::StatusOr<VersionInfo> Confirm(uint64_t version, std::string_view by, int64_t now_us);
  // Refuses a held version for good; the version in force stays. Anyone may reject.
  absl::StatusOr<VersionInfo> Reject(uint64_t version, std::string_view by, int64_t now_us);

  absl::StatusOr<std::optional<VersionInfo>> Active();
  // The id of the version in force; 0 when none. One indexed read: cheap enough to poll.
  absl::StatusOr<uint64_t> ActiveVersionId();
  // The version that was in force at `at_us` (by when it came into force); nullopt before the
  // first one.
  absl::StatusOr<std::optional<VersionInfo>> InForceAt(int64_t at_us);
  absl::StatusOr<VersionInfo> Version(uint64_t version);
  absl::StatusOr<std::vector<VersionInfo>> Versions();  // by id

  // The entries of any version (also held or rejected ones), sorted. NotFound for no version.
  absl::StatusOr<std::vector<Entry>> Entries(uint64_t version);
  absl::StatusOr<std::unique_ptr<Matcher>> LoadMatcher(uint64_t version);

  struct Diff {
    uint64_t base = 0;  // the version compared against (0: none, everything is added)
    std::vector<Entry> added, removed;
  };
  // What `version` adds to and removes from the version that was in force when it was imported.
  absl::StatusOr<Diff> DiffOf(uint64_t version);

 private:
  explicit ListStore(std::unique_ptr<sqlite::Db> db);
  absl::StatusOr<VersionInfo> VersionLocked(uint64_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  template <typename RowFn>
  absl::Status ForEachEntryLocked(const VersionInfo& v, RowFn&& fn)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tapvault::privileged
