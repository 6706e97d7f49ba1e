// ListStore on SQLite.
//
// Schema (why):
// - entries(added_in, removed_in, pending): a row is one entry over an interval of the versions
//   that were in force (the "lineage": versions with in_force_from_us set, in id order). Lineage
//   version V holds the rows with pending = 0, added_in <= V and (removed_in NULL or > V). An
//   import reads the current content (pending = 0, removed_in NULL), adds rows for new entries and
//   sets removed_in on the rows that disappear: its cost is its diff.
// - A held version is not (yet) in the lineage. Its new entries are rows with pending = 1 and
//   added_in = V; the rows it would remove are listed in removals(V, entry). Its content is its
//   base's content minus removals plus its pending rows. Confirming it turns pending rows live and
//   moves removals into removed_in. Every import supersedes older held versions, so a held
//   version's base is always the version in force and confirmation never has to rebase.
// - The diff of a version against its base is always the rows added_in = V plus the rows
//   removed_in = V or in removals(V); counts are kept in versions for cheap listing.
// Invariants: at most one version is active; it is the newest lineage version; each multi-row
// change is one BEGIN IMMEDIATE transaction (a second writer waits on busy_timeout).
// Every value reaches SQLite as a bound parameter.
#include "privileged/list_store.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "crypto/digest.h"
#include "sqlite/sqlite.h"

namespace tapvault::privileged {

std::string ListPath(std::string_view dir) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(kListFileName);
  return path;
}

bool IsStale(const VersionInfo& active, int64_t now_us, int64_t max_age_us) {
  return now_us - active.imported_us > max_age_us;
}

namespace {

constexpr const char* kSchemaVersion = "1";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
  id INTEGER PRIMARY KEY,
  sha256 TEXT NOT NULL,
  source TEXT NOT NULL,
  imported_by TEXT NOT NULL,
  imported_us INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  added INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  duplicates INTEGER NOT NULL,
  status TEXT NOT NULL,
  confirmed_by TEXT NOT NULL DEFAULT '',
  confirmed_us INTEGER NOT NULL DEFAULT 0,
  shrink REAL NOT NULL,
  base INTEGER NOT NULL,
  in_force_from_us INTEGER,
  in_force_to_us INTEGER);
CREATE INDEX IF NOT EXISTS versions_status ON versions(status);
CREATE INDEX IF NOT EXISTS versions_in_force ON versions(in_force_from_us)
  WHERE in_force_from_us IS NOT NULL;
CREATE TABLE IF NOT EXISTS entries(
  id INTEGER PRIMARY KEY,
  type INTEGER NOT NULL,
  value TEXT NOT NULL,
  value_to TEXT NOT NULL,
  source TEXT NOT NULL,
  valid_from INTEGER,
  valid_to INTEGER,
  ref TEXT NOT NULL,
  added_in INTEGER NOT NULL,
  removed_in INTEGER,
  pending INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_added ON entries(added_in);
CREATE INDEX IF NOT EXISTS entries_removed ON entries(removed_in) WHERE removed_in IS NOT NULL;
CREATE TABLE IF NOT EXISTS removals(
  version INTEGER NOT NULL,
  entry_id INTEGER NOT NULL,
  PRIMARY KEY(version, entry_id)) WITHOUT ROWID;
)sql";

using sqlite::Db;
using sqlite::Stmt;

uint64_t U64(const Stmt& q, int col) { return static_cast<uint64_t>(q.Int(col)); }
std::optional<int64_t> OptInt(const Stmt& q, int col) {
  return q.IsNull(col) ? std::nullopt : std::optional<int64_t>(q.Int(col));
}
Stmt& BindOpt(Stmt& q, int i, std::optional<int64_t> v) {
  return v ? q.Bind(i, *v) : q.BindNull(i);
}

VersionInfo ReadVersion(const Stmt& q) {
  VersionInfo v;
  v.id = U64(q, 0);
  v.sha256_hex = std::string(q.Str(1));
  v.source = std::string(q.Str(2));
  v.imported_by = std::string(q.Str(3));
  v.imported_us = q.Int(4);
  v.entries = U64(q, 5);
  v.added = U64(q, 6);
  v.removed = U64(q, 7);
  v.duplicates = U64(q, 8);
  v.status = std::string(q.Str(9));
  v.confirmed_by = std::string(q.Str(10));
  v.confirmed_us = q.Int(11);
  v.shrink = q.Double(12);
  v.base = U64(q, 13);
  v.in_force_from_us = OptInt(q, 14).value_or(0);
  v.in_force_to_us = OptInt(q, 15).value_or(0);
  return v;
}

#define VERSION_SELECT(where)                                                                  \
  "SELECT id, sha256, source, imported_by, imported_us, entries, added, removed, duplicates, " \
  "status, confirmed_by, confirmed_us, shrink, base, in_force_from_us, in_force_to_us "        \
  "FROM versions " where

absl::StatusOr<std::optional<VersionInfo>> QueryActive(Db& db) {
  ASSIGN_OR_RETURN(auto q, db.Prepare(VERSION_SELECT("WHERE status = 'active'"), "read active"));
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<VersionInfo>();
  return std::optional<VersionInfo>(ReadVersion(*q));
}

// The entry columns, in the order ReadEntry and EntryKey use.
#define ENTRY_COLUMNS "e.id, e.type, e.value, e.value_to, e.source, e.valid_from, e.valid_to, e.ref"

// Content of lineage version ?1 (or of nothing when ?1 = 0).
constexpr const char* kLineageEntries =
    "SELECT " ENTRY_COLUMNS
    " FROM entries e WHERE e.pending = 0 AND e.added_in <= ?1 AND "
    "(e.removed_in IS NULL OR e.removed_in > ?1)";
// Content of a version ?2 that was never in force: its base ?1 minus its removals plus its
// pending rows.
constexpr const char* kHeldEntries =
    "SELECT " ENTRY_COLUMNS
    " FROM entries e WHERE (e.pending = 0 AND e.added_in <= ?1 AND "
    "(e.removed_in IS NULL OR e.removed_in > ?1) AND NOT EXISTS (SELECT 1 FROM removals r WHERE "
    "r.version = ?2 AND r.entry_id = e.id)) OR (e.pending = 1 AND e.added_in = ?2)";
constexpr const char* kCurrentEntries =
    "SELECT " ENTRY_COLUMNS " FROM entries e WHERE e.pending = 0 AND e.removed_in IS NULL";
constexpr const char* kAddedEntries =
    "SELECT " ENTRY_COLUMNS " FROM entries e WHERE e.added_in = ?1";
constexpr const char* kRemovedEntries = "SELECT " ENTRY_COLUMNS
                                        " FROM entries e WHERE e.removed_in = ?1 OR e.id IN "
                                        "(SELECT entry_id FROM removals WHERE version = ?1)";

absl::StatusOr<EntryType> TypeOf(int64_t v) {
  if (v < 0 || v > static_cast<int64_t>(EntryType::kEmail)) {
    return absl::DataLossError(base::StrCat("privileged list: entry type ", v, " unknown"));
  }
  return static_cast<EntryType>(v);
}

absl::StatusOr<Entry> ReadEntry(const Stmt& q) {
  Entry e;
  ASSIGN_OR_RETURN(e.type, TypeOf(q.Int(1)));
  e.value = std::string(q.Str(2));
  e.value_to = std::string(q.Str(3));
  e.source = std::string(q.Str(4));
  e.valid_from_us = OptInt(q, 5);
  e.valid_to_us = OptInt(q, 6);
  e.ref = std::string(q.Str(7));
  return e;
}

void AppendOpt(std::string& out, std::optional<int64_t> v) {
  if (v) {
    out += base::StrCat(*v);
  } else {
    out.push_back('-');
  }
  out.push_back('\0');
}

// An injective text form of an entry (fields never contain NUL: list_csv rejects control
// characters), used to find the stored row of an entry.
void EntryKey(EntryType type, std::string_view value, std::string_view value_to,
              std::string_view source, std::optional<int64_t> from, std::optional<int64_t> to,
              std::string_view ref, std::string& out) {
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  for (std::string_view f : {value, value_to, source}) {
    out.append(f);
    out.push_back('\0');
  }
  AppendOpt(out, from);
  AppendOpt(out, to);
  out.append(ref);
}

std::string Sha256Hex(std::string_view bytes) {
  crypto::Sha256Digest d =
      crypto::Sha256({std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())});
  return base::ToHex(std::as_bytes(std::span(d)));
}

std::string Lowered(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100);
  return buf;
}

void LogVersion(std::string_view event, const VersionInfo& v) {
  // Counts, hash and people only: entries never reach the log.
  base::Log(base::LogLevel::kInfo, event,
            {{"version", v.id},
             {"status", v.status},
             {"sha256", v.sha256_hex},
             {"source", v.source},
             {"imported_by", v.imported_by},
             {"entries", v.entries},
             {"added", v.added},
             {"removed", v.removed},
             {"duplicates", v.duplicates},
             {"shrink", v.shrink},
             {"base", v.base},
             {"confirmed_by", v.confirmed_by}});
}

}  // namespace

ListStore::ListStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
ListStore::~ListStore() = default;

absl::StatusOr<std::unique_ptr<ListStore>> ListStore::Open(const std::string& path, bool create,
                                                           bool read_only) {
  ASSIGN_OR_RETURN(auto db, Db::Open(path, {.label = "privileged list",
                                            .create = create,
                                            .read_only = read_only,
                                            .schema = kSchema,
                                            .schema_version = kSchemaVersion,
                                            .required_tables = {"meta"}}));
  return std::unique_ptr<ListStore>(new ListStore(std::move(db)));
}

absl::StatusOr<ImportResult> ListStore::Import(std::string_view csv, const ImportOptions& options,
                                               const identity::Normalizer& normalizer,
                                               std::vector<LineError>* errors) {
  if (TrimSpace(options.imported_by).empty()) {
    return absl::InvalidArgumentError(
        "privileged list: import: who imports (imported_by) is required");
  }
  if (!(options.max_shrink >= 0 && options.max_shrink <= 1)) {
    return absl::InvalidArgumentError("privileged list: import: max_shrink must be within [0, 1]");
  }
  const std::string sha = Sha256Hex(csv);
  size_t duplicates = 0;
  absl::StatusOr<std::vector<Entry>> parsed =
      ParseListCsv(csv, {.default_source = options.source, .region = options.region}, normalizer,
                   errors, &duplicates);
  if (!parsed.ok()) {
    // Line numbers and reasons only (reasons never quote an identity).
    base::Log(base::LogLevel::kWarn, "privileged.import_rejected",
              {{"sha256", sha},
               {"imported_by", options.imported_by},
               {"reason", std::string(base::View(parsed.status().message()))}});
    return base::Annotate(parsed.status(), "privileged list: import");
  }
  std::vector<Entry>& entries = *parsed;

  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  sqlite::Txn txn(&db);
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(std::optional<VersionInfo> active, QueryActive(db));

  // The content in force, keyed by EntryKey, to find what this file adds and removes.
  std::string arena;
  std::vector<std::pair<size_t, size_t>> spans;
  std::vector<int64_t> ids;
  if (active) {
    arena.reserve(active->entries * 32);
    spans.reserve(active->entries);
    ids.reserve(active->entries);
    ASSIGN_OR_RETURN(auto q, db.Prepare(kCurrentEntries, "read current entries"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(EntryType type, TypeOf(q->Int(1)));
      size_t start = arena.size();
      EntryKey(type, q->Str(2), q->Str(3), q->Str(4), OptInt(*q, 5), OptInt(*q, 6), q->Str(7),
               arena);
      spans.emplace_back(start, arena.size() - start);
      ids.push_back(q->Int(0));
    }
  }
  absl::flat_hash_map<std::string_view, uint32_t> current;
  current.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    current.emplace(std::string_view(arena).substr(spans[i].first, spans[i].second),
                    static_cast<uint32_t>(i));
  }
  std::vector<bool> kept(spans.size(), false);
  std::vector<const Entry*> added;
  std::string key;
  for (const Entry& e : entries) {
    key.clear();
    EntryKey(e.type, e.value, e.value_to, e.source, e.valid_from_us, e.valid_to_us, e.ref, key);
    auto it = current.find(key);
    if (it == current.end()) {
      added.push_back(&e);
    } else {
      kept[it->second] = true;
    }
  }
  std::vector<int64_t> removed;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i]) removed.push_back(ids[i]);
  }

  VersionInfo v;
  v.sha256_hex = sha;
  v.source = options.source;
  v.imported_by = std::string(TrimSpace(options.imported_by));
  v.imported_us = options.now_us;
  v.entries = entries.size();
  v.added = added.size();
  v.removed = removed.size();
  v.duplicates = duplicates;
  v.base = active ? active->id : 0;
  v.shrink = active && active->entries > 0
                 ? static_cast<double>(removed.size()) / static_cast<double>(active->entries)
                 : 0.0;
  bool held = active && v.shrink > options.max_shrink;
  v.status = held ? "held" : "active";
  if (!held)
    v.in_force_from_us =
        active ? std::max(options.now_us, active->in_force_from_us) : options.now_us;
  {
    ASSIGN_OR_RETURN(
        auto q,
        db.Prepare("INSERT INTO versions(sha256, source, imported_by, imported_us, entries, added, "
                   "removed, duplicates, status, shrink, base, in_force_from_us) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                   "insert version"));
    q->Bind(1, std::string_view(v.sha256_hex))
        .Bind(2, std::string_view(v.source))
        .Bind(3, std::string_view(v.imported_by))
        .Bind(4, v.imported_us)
        .Bind(5, v.entries)
        .Bind(6, v.added)
        .Bind(7, v.removed)
        .Bind(8, v.duplicates)
        .Bind(9, std::string_view(v.status))
        .Bind(10, v.shrink)
        .Bind(11, v.base);
    BindOpt(*q, 12, held ? std::nullopt : std::optional<int64_t>(v.in_force_from_us));
    RETURN_IF_ERROR(q->Run());
    v.id = static_cast<uint64_t>(db.LastInsertRowid());
  }
  {
    // A newer delivery replaces older ones still waiting for confirmation.
    ASSIGN_OR_RETURN(auto q, db.Prepare("UPDATE versions SET status = 'superseded' WHERE status = "
                                        "'held' AND id < ?1",
                                        "supersede held"));
    q->Bind(1, v.id);
    RETURN_IF_ERROR(q->Run());
  }
  {
    ASSIGN_OR_RETURN(
        auto q,
        db.Prepare(
            "INSERT INTO entries(type, value, value_to, source, valid_from, valid_to, ref, "
            "added_in, removed_in, pending) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9)",
            "insert entry"));
    for (const Entry* e : added) {
      q->Bind(1, static_cast<int>(e->type))
          .Bind(2, std::string_view(e->value))
          .Bind(3, std::string_view(e->value_to))
          .Bind(4, std::string_view(e->source))
          .Bind(7, std::string_view(e->ref))
          .Bind(8, v.id)
          .Bind(9, held ? 1 : 0);
      BindOpt(*q, 5, e->valid_from_us);
      BindOpt(*q, 6, e->valid_to_us);
      RETURN_IF_ERROR(q->Run());
    }
  }
  {
    ASSIGN_OR_RETURN(auto q, held ? db.Prepare("INSERT INTO removals(version, entry_id) "
                                               "VALUES(?1, ?2)",
                                               "insert removal")
                                  : db.Prepare("UPDATE entries SET removed_in = ?1 WHERE id = ?2",
                                               "remove entry"));
    for (int64_t id : removed) {
      q->Bind(1, v.id).Bind(2, id);
      RETURN_IF_ERROR(q->Run());
    }
  }
  if (!held && active) {
    ASSIGN_OR_RETURN(auto q, db.Prepare("UPDATE versions SET status = 'superseded', "
                                        "in_force_to_us = ?2 WHERE id = ?1",
                                        "supersede active"));
    q->Bind(1, active->id).Bind(2, v.in_force_from_us);
    RETURN_IF_ERROR(q->Run());
  }
  RETURN_IF_ERROR(txn.Commit());

  ImportResult result;
  result.version = v;
  if (held) {
    result.message = base::StrCat(
        "version ", v.id, " is held: it removes ", v.removed, " of the ", active->entries,
        " entries in force (", Percent(v.shrink), ", more than the ", Percent(options.max_shrink),
        " allowed); version ", active->id, " stays in force until an administrator other than ",
        v.imported_by, " confirms version ", v.id, " (or rejects it)");
  } else {
    result.message = base::StrCat("version ", v.id, " is in force");
  }
  LogVersion("privileged.import", v);
  return result;
}

absl::StatusOr<VersionInfo> ListStore::VersionLocked(uint64_t version) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare(VERSION_SELECT("WHERE id = ?1"), "read version"));
  q->Bind(1, version);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) {
    return absl::NotFoundError(base::StrCat("privileged list: no version ", version));
  }
  return ReadVersion(*q);
}

absl::StatusOr<VersionInfo> ListStore::Confirm(uint64_t version, std::string_view by,
                                               int64_t now_us) {
  std::string who(TrimSpace(by));
  if (who.empty())
    return absl::InvalidArgumentError("privileged list: confirm: who confirms is required");
  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  sqlite::Txn txn(&db);
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(VersionInfo v, VersionLocked(version));
  if (v.status != "held") {
    return absl::FailedPreconditionError(base::StrCat(
        "privileged list: version ", version, " is ", v.status,
        "; only a held version can be confirmed (a newer import supersedes a held one)"));
  }
  if (Lowered(who) == Lowered(v.imported_by)) {
    return absl::FailedPreconditionError(base::StrCat("privileged list: four-eyes: version ",
                                                      version, " was imported by ", v.imported_by,
                                                      "; another administrator must confirm it"));
  }
  ASSIGN_OR_RETURN(std::optional<VersionInfo> active, QueryActive(db));
  if ((active ? active->id : 0) != v.base) {
    // Cannot happen while every import supersedes older held versions; checked all the same,
    // since applying a diff to another base would corrupt the list.
    return absl::FailedPreconditionError(
        base::StrCat("privileged list: version ", version, " was imported against version ", v.base,
                     ", which is no longer in force; import the file again"));
  }
  int64_t from = active ? std::max(now_us, active->in_force_from_us) : now_us;
  for (const char* sql : {"UPDATE entries SET pending = 0 WHERE added_in = ?1 AND pending = 1",
                          "UPDATE entries SET removed_in = ?1 WHERE id IN (SELECT entry_id FROM "
                          "removals WHERE version = ?1)",
                          "DELETE FROM removals WHERE version = ?1"}) {
    ASSIGN_OR_RETURN(auto q, db.Prepare(sql, "apply held version"));
    q->Bind(1, version);
    RETURN_IF_ERROR(q->Run());
  }
  if (active) {
    ASSIGN_OR_RETURN(auto q, db.Prepare("UPDATE versions SET status = 'superseded', "
                                        "in_force_to_us = ?2 WHERE id = ?1",
                                        "supersede active"));
    q->Bind(1, active->id).Bind(2, from);
    RETURN_IF_ERROR(q->Run());
  }
  {
    ASSIGN_OR_RETURN(auto q, db.Prepare("UPDATE versions SET status = 'active', confirmed_by = ?2, "
                                        "confirmed_us = ?3, in_force_from_us = ?4 WHERE id = ?1",
                                        "confirm version"));
    q->Bind(1, version).Bind(2, std::string_view(who)).Bind(3, now_us).Bind(4, from);
    RETURN_IF_ERROR(q->Run());
  }
  ASSIGN_OR_RETURN(v, VersionLocked(version));
  RETURN_IF_ERROR(txn.Commit());
  LogVersion("privileged.confirm", v);
  return v;
}

absl::StatusOr<VersionInfo> ListStore::Reject(uint64_t version, std::string_view by,
                                              int64_t now_us) {
  std::string who(TrimSpace(by));
  if (who.empty())
    return absl::InvalidArgumentError("privileged list: reject: who rejects is required");
  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  sqlite::Txn txn(&db);
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(VersionInfo v, VersionLocked(version));
  if (v.status != "held") {
    return absl::FailedPreconditionError(base::StrCat("privileged list: version ", version, " is ",
                                                      v.status,
                                                      "; only a held version can be rejected"));
  }
  {
    ASSIGN_OR_RETURN(auto q, db.Prepare("UPDATE versions SET status = 'rejected', confirmed_by = "
                                        "?2, confirmed_us = ?3 WHERE id = ?1",
                                        "reject version"));
    q->Bind(1, version).Bind(2, std::string_view(who)).Bind(3, now_us);
    RETURN_IF_ERROR(q->Run());
  }
  ASSIGN_OR_RETURN(v, VersionLocked(version));
  RETURN_IF_ERROR(txn.Commit());
  LogVersion("privileged.reject", v);
  return v;
}

absl::StatusOr<std::optional<VersionInfo>> ListStore::Active() {
  absl::MutexLock lock(&mu_);
  return QueryActive(*db_);
}

absl::StatusOr<uint64_t> ListStore::ActiveVersionId() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(
      auto q, db_->Prepare("SELECT id FROM versions WHERE status = 'active'", "read active id"));
  ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? U64(*q, 0) : uint64_t{0};
}

absl::StatusOr<std::optional<VersionInfo>> ListStore::InForceAt(int64_t at_us) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare(VERSION_SELECT("WHERE in_force_from_us IS NOT NULL AND "
                                                       "in_force_from_us <= ?1 ORDER BY "
                                                       "in_force_from_us DESC, id DESC LIMIT 1"),
                                        "read version in force"));
  q->Bind(1, at_us);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<VersionInfo>();
  return std::optional<VersionInfo>(ReadVersion(*q));
}

absl::StatusOr<VersionInfo> ListStore::Version(uint64_t version) {
  absl::MutexLock lock(&mu_);
  return VersionLocked(version);
}

absl::StatusOr<std::vector<VersionInfo>> ListStore::Versions() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare(VERSION_SELECT("ORDER BY id"), "read versions"));
  std::vector<VersionInfo> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadVersion(*q));
  }
  return out;
}

template <typename RowFn>
absl::Status ListStore::ForEachEntryLocked(const VersionInfo& v, RowFn&& fn) {
  bool lineage = v.in_force_from_us != 0;
  ASSIGN_OR_RETURN(auto q, db_->Prepare(lineage ? kLineageEntries : kHeldEntries, "read entries"));
  if (lineage) {
    q->Bind(1, v.id);
  } else {
    q->Bind(1, v.base).Bind(2, v.id);
  }
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return absl::OkStatus();
    RETURN_IF_ERROR(fn(*q));
  }
}

absl::StatusOr<std::vector<Entry>> ListStore::Entries(uint64_t version) {
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());  // one snapshot for the version row and its entries
  RETURN_IF_ERROR(txn.Begin(false));
  ASSIGN_OR_RETURN(VersionInfo v, VersionLocked(version));
  std::vector<Entry> out;
  out.reserve(v.entries);
  RETURN_IF_ERROR(ForEachEntryLocked(v, [&](const Stmt& q) -> absl::Status {
    ASSIGN_OR_RETURN(Entry e, ReadEntry(q));
    out.push_back(std::move(e));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(txn.Commit());
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::unique_ptr<Matcher>> ListStore::LoadMatcher(uint64_t version) {
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(false));
  ASSIGN_OR_RETURN(VersionInfo v, VersionLocked(version));
  Matcher::Builder builder;
  builder.Reserve(v.entries);
  uint64_t rows = 0;
  RETURN_IF_ERROR(ForEachEntryLocked(v, [&](const Stmt& q) -> absl::Status {
    ASSIGN_OR_RETURN(EntryType type, TypeOf(q.Int(1)));
    if (!builder.Add(type, q.Str(2), q.Str(3), OptInt(q, 5), OptInt(q, 6))) {
      // Only validated entries are stored: this is a damaged or foreign file. Failing beats
      // running with an entry silently missing.
      return absl::DataLossError(base::StrCat("privileged list: version ", version, ": entry ",
                                              q.Int(0), " is not in normal form"));
    }
    ++rows;
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(txn.Commit());
  if (rows != v.entries) {
    return absl::DataLossError(base::StrCat("privileged list: version ", version, " has ", rows,
                                            " entries stored, its record says ", v.entries));
  }
  return std::move(builder).Finish();
}

absl::StatusOr<ListStore::Diff> ListStore::DiffOf(uint64_t version) {
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(false));
  ASSIGN_OR_RETURN(VersionInfo v, VersionLocked(version));
  Diff diff;
  diff.base = v.base;
  for (auto [sql, out] :
       {std::pair{kAddedEntries, &diff.added}, std::pair{kRemovedEntries, &diff.removed}}) {
    ASSIGN_OR_RETURN(auto q, db_->Prepare(sql, "read diff"));
    q->Bind(1, version);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Entry e, ReadEntry(*q));
      out->push_back(std::move(e));
    }
    std::sort(out->begin(), out->end());
  }
  RETURN_IF_ERROR(txn.Commit());
  return diff;
}

}  // namespace tapvault::privileged
