// WarrantStore on SQLite.
//
// Schema (why):
// - versions(warrant_id, version): one row per immutable version, the whole warrant in each row
//   (a version is read without joining its history). Triggers RAISE on UPDATE and DELETE, so
//   history cannot be rewritten through this code or through any other SQLite client short of
//   dropping the triggers (which the audit of the file would show). INSERT OR REPLACE deletes
//   without firing DELETE triggers (recursive_triggers is off), so a third trigger admits only
//   the next version number of a warrant: an existing row can never be replaced.
// - The latest version of a warrant is the row with the greatest version; the current-versions
//   view `current` is what lookups and lists read.
// - meta('generation') counts changes; every change transaction increments it, so a reader in
//   another process polls one row to learn whether its snapshot is stale.
// Invariants: versions of one warrant are 1..n without gaps; valid_from < valid_to in every row
// (CHECK); each change is one BEGIN IMMEDIATE transaction. Every value is a bound parameter.
#include "warrant/warrant_store.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "nlohmann/json.hpp"
#include "sqlite/sqlite.h"

namespace tapvault::warrant {

std::string WarrantPath(std::string_view dir) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(kWarrantFileName);
  return path;
}

namespace {

constexpr const char* kSchemaVersion = "1";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
  warrant_id TEXT NOT NULL,
  version INTEGER NOT NULL CHECK(version >= 1),
  liid TEXT NOT NULL,
  targets TEXT NOT NULL,
  legal_basis TEXT NOT NULL,
  prosecutor TEXT NOT NULL,
  prosecutor_reference TEXT NOT NULL,
  authority TEXT NOT NULL,
  authority_reference TEXT NOT NULL,
  issued_us INTEGER NOT NULL,
  valid_from_us INTEGER NOT NULL,
  valid_to_us INTEGER NOT NULL,
  team TEXT NOT NULL,
  retention_days INTEGER NOT NULL,
  change TEXT NOT NULL CHECK(change IN ('created', 'extended', 'ended', 'imported')),
  reason TEXT NOT NULL,
  by_whom TEXT NOT NULL,
  at_us INTEGER NOT NULL,
  source TEXT NOT NULL,
  generation INTEGER NOT NULL,
  CHECK(valid_from_us < valid_to_us),
  PRIMARY KEY(warrant_id, version)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS versions_liid ON versions(liid, valid_from_us);
CREATE TRIGGER IF NOT EXISTS versions_no_update BEFORE UPDATE ON versions
BEGIN SELECT RAISE(ABORT, 'warrant versions are immutable: record a new version'); END;
CREATE TRIGGER IF NOT EXISTS versions_no_delete BEFORE DELETE ON versions
BEGIN SELECT RAISE(ABORT, 'warrant versions are immutable: they are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS versions_append_only BEFORE INSERT ON versions
WHEN NEW.version != (SELECT coalesce(max(version), 0) + 1 FROM versions
                     WHERE warrant_id = NEW.warrant_id)
BEGIN SELECT RAISE(ABORT, 'warrant versions are immutable: versions are appended 1, 2, ...'); END;
CREATE VIEW IF NOT EXISTS current AS
  SELECT v.* FROM versions v
  WHERE v.version = (SELECT max(version) FROM versions w WHERE w.warrant_id = v.warrant_id);
INSERT OR IGNORE INTO meta(key, value) VALUES('generation', 0);
)sql";

using sqlite::Db;
using sqlite::Stmt;

#define VERSION_COLUMNS                                                                      \
  "warrant_id, version, liid, targets, legal_basis, prosecutor, prosecutor_reference, "      \
  "authority, authority_reference, issued_us, valid_from_us, valid_to_us, team, "            \
  "retention_days, change, reason, by_whom, at_us, source, generation "

absl::StatusOr<Warrant> ReadVersion(const Stmt& q) {
  Warrant w;
  WarrantSpec& s = w.spec;
  s.id = std::string(q.Str(0));
  w.version = static_cast<uint32_t>(q.Int(1));
  s.liid = std::string(q.Str(2));
  nlohmann::json targets = nlohmann::json::parse(q.Str(3), nullptr, /*allow_exceptions=*/false);
  if (!targets.is_array()) {
    return absl::DataLossError(
        base::StrCat("warrants: ", s.id, " version ", w.version, ": targets unreadable"));
  }
  for (const auto& t : targets) {
    if (!t.is_string()) {
      return absl::DataLossError(
          base::StrCat("warrants: ", s.id, " version ", w.version, ": targets unreadable"));
    }
    s.targets.push_back(t.get<std::string>());
  }
  s.legal_basis = std::string(q.Str(4));
  s.prosecutor = std::string(q.Str(5));
  s.prosecutor_reference = std::string(q.Str(6));
  s.authority = std::string(q.Str(7));
  s.authority_reference = std::string(q.Str(8));
  s.issued_us = q.Int(9);
  s.valid_from_us = q.Int(10);
  s.valid_to_us = q.Int(11);
  s.team = std::string(q.Str(12));
  s.retention_days = static_cast<int>(q.Int(13));
  w.change = std::string(q.Str(14));
  w.reason = std::string(q.Str(15));
  w.by = std::string(q.Str(16));
  w.at_us = q.Int(17);
  s.source = std::string(q.Str(18));
  s.generation = static_cast<uint64_t>(q.Int(19));
  return w;
}

absl::Status CheckText(std::string_view field, std::string_view v, bool required) {
  if (required && v.empty()) {
    return absl::InvalidArgumentError(base::StrCat("warrants: ", field, " is required"));
  }
  if (v.size() > kMaxFieldBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("warrants: ", field, " is longer than ", kMaxFieldBytes, " bytes"));
  }
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(
          base::StrCat("warrants: ", field, " holds a control character"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSpec(const WarrantSpec& s) {
  RETURN_IF_ERROR(CheckText("id", s.id, true));
  RETURN_IF_ERROR(CheckText("liid", s.liid, true));
  RETURN_IF_ERROR(CheckText("team", s.team, true));
  RETURN_IF_ERROR(CheckText("legal basis", s.legal_basis, false));
  RETURN_IF_ERROR(CheckText("prosecutor", s.prosecutor, false));
  RETURN_IF_ERROR(CheckText("prosecutor reference", s.prosecutor_reference, false));
  RETURN_IF_ERROR(CheckText("authority", s.authority, false));
  RETURN_IF_ERROR(CheckText("authority reference", s.authority_reference, false));
  RETURN_IF_ERROR(CheckText("source", s.source, true));
  if (s.targets.empty()) {
    return absl::InvalidArgumentError("warrants: at least one target is required");
  }
  if (s.targets.size() > kMaxTargets) {
    return absl::InvalidArgumentError(
        base::StrCat("warrants: more than ", kMaxTargets, " targets"));
  }
  for (const std::string& t : s.targets) RETURN_IF_ERROR(CheckText("target", t, true));
  if (s.valid_from_us >= s.valid_to_us) {
    return absl::InvalidArgumentError("warrants: valid_from must be before valid_to");
  }
  if (s.retention_days < 0 || s.retention_days > kMaxRetentionDays) {
    return absl::InvalidArgumentError(
        base::StrCat("warrants: retention_days must be within [0, ", kMaxRetentionDays, "]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Warrant>> QueryCurrent(Db& db, std::string_view id) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT " VERSION_COLUMNS
                                      "FROM versions WHERE warrant_id = ?1 "
                                      "ORDER BY version DESC LIMIT 1",
                                      "read current version"));
  q->Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<Warrant>();
  ASSIGN_OR_RETURN(Warrant w, ReadVersion(*q));
  return std::optional<Warrant>(std::move(w));
}

absl::StatusOr<Warrant> RequireCurrent(Db& db, std::string_view id) {
  ASSIGN_OR_RETURN(std::optional<Warrant> w, QueryCurrent(db, id));
  if (!w) return absl::NotFoundError(base::StrCat("warrants: no warrant ", id));
  return std::move(*w);
}

absl::Status InsertVersion(Db& db, const Warrant& w) {
  const WarrantSpec& s = w.spec;
  nlohmann::json targets = s.targets;
  std::string targets_json = targets.dump();
  ASSIGN_OR_RETURN(auto q, db.Prepare("INSERT INTO versions(" VERSION_COLUMNS
                                      ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                                      "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
                                      "insert version"));
  q->Bind(1, std::string_view(s.id))
      .Bind(2, w.version)
      .Bind(3, std::string_view(s.liid))
      .Bind(4, std::string_view(targets_json))
      .Bind(5, std::string_view(s.legal_basis))
      .Bind(6, std::string_view(s.prosecutor))
      .Bind(7, std::string_view(s.prosecutor_reference))
      .Bind(8, std::string_view(s.authority))
      .Bind(9, std::string_view(s.authority_reference))
      .Bind(10, s.issued_us)
      .Bind(11, s.valid_from_us)
      .Bind(12, s.valid_to_us)
      .Bind(13, std::string_view(s.team))
      .Bind(14, s.retention_days)
      .Bind(15, std::string_view(w.change))
      .Bind(16, std::string_view(w.reason))
      .Bind(17, std::string_view(w.by))
      .Bind(18, w.at_us)
      .Bind(19, std::string_view(s.source))
      .Bind(20, s.generation);
  RETURN_IF_ERROR(q->Run());
  q.reset();
  ASSIGN_OR_RETURN(auto g, db.Prepare("UPDATE meta SET value = value + 1 WHERE key = 'generation'",
                                      "bump generation"));
  return g->Run();
}

void LogVersion(const Warrant& w) {
  // Ids, people and times only: LIIDs and targets never reach the log.
  base::Log(base::LogLevel::kInfo, "warrant.version",
            {{"warrant", w.spec.id},
             {"version", w.version},
             {"change", w.change},
             {"by", w.by},
             {"team", w.spec.team},
             {"source", w.spec.source},
             {"valid_from_us", w.spec.valid_from_us},
             {"valid_to_us", w.spec.valid_to_us}});
}

absl::StatusOr<Warrant> AddLocked(Db& db, const WarrantSpec& spec, std::string_view by,
                                  int64_t at_us) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  RETURN_IF_ERROR(CheckText("by", by, true));
  ASSIGN_OR_RETURN(std::optional<Warrant> existing, QueryCurrent(db, spec.id));
  if (existing) {
    return absl::AlreadyExistsError(base::StrCat("warrants: warrant ", spec.id, " exists"));
  }
  Warrant w;
  w.spec = spec;
  w.version = 1;
  w.change = std::string(spec.source == "ts103120" ? kChangeImported : kChangeCreated);
  w.by = std::string(by);
  w.at_us = at_us;
  RETURN_IF_ERROR(InsertVersion(db, w));
  return w;
}

absl::StatusOr<Warrant> ExtendLocked(Db& db, std::string_view id, int64_t new_to_us,
                                     std::string_view reference, std::string_view by,
                                     int64_t at_us, std::string_view source, uint64_t generation) {
  RETURN_IF_ERROR(CheckText("by", by, true));
  RETURN_IF_ERROR(CheckText("reference", reference, false));
  ASSIGN_OR_RETURN(Warrant cur, RequireCurrent(db, id));
  if (cur.ended()) {
    return absl::FailedPreconditionError(
        base::StrCat("warrants: ", id, " was ended; record a new warrant instead"));
  }
  if (new_to_us <= cur.spec.valid_to_us) {
    return absl::FailedPreconditionError(base::StrCat(
        "warrants: ", id, ": an extension must end later than the current end"));
  }
  Warrant w = std::move(cur);
  w.version += 1;
  w.spec.valid_to_us = new_to_us;
  if (!reference.empty()) w.spec.authority_reference = std::string(reference);
  w.spec.source = std::string(source);
  if (generation != 0) w.spec.generation = generation;
  w.change = std::string(kChangeExtended);
  w.reason = std::string(reference);
  w.by = std::string(by);
  w.at_us = at_us;
  RETURN_IF_ERROR(InsertVersion(db, w));
  return w;
}

absl::StatusOr<Warrant> EndLocked(Db& db, std::string_view id, int64_t end_us,
                                  std::string_view reason, std::string_view by, int64_t at_us,
                                  std::string_view source, uint64_t generation) {
  RETURN_IF_ERROR(CheckText("by", by, true));
  RETURN_IF_ERROR(CheckText("reason", reason, true));
  ASSIGN_OR_RETURN(Warrant cur, RequireCurrent(db, id));
  if (cur.ended()) {
    return absl::FailedPreconditionError(base::StrCat("warrants: ", id, " was already ended"));
  }
  if (!(cur.spec.valid_from_us < end_us && end_us < cur.spec.valid_to_us)) {
    return absl::FailedPreconditionError(base::StrCat(
        "warrants: ", id, ": the end must lie within the current validity (after its start, "
        "before its end)"));
  }
  Warrant w = std::move(cur);
  w.version += 1;
  w.spec.valid_to_us = end_us;
  w.spec.source = std::string(source);
  if (generation != 0) w.spec.generation = generation;
  w.change = std::string(kChangeEnded);
  w.reason = std::string(reason);
  w.by = std::string(by);
  w.at_us = at_us;
  RETURN_IF_ERROR(InsertVersion(db, w));
  return w;
}

absl::StatusOr<std::vector<Warrant>> ReadAll(Stmt& q) {
  std::vector<Warrant> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(Warrant w, ReadVersion(q));
    out.push_back(std::move(w));
  }
  return out;
}

absl::StatusOr<uint64_t> ReadGeneration(Db& db) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT value FROM meta WHERE key = 'generation'",
                                      "read generation"));
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::DataLossError("warrants: generation missing");
  return static_cast<uint64_t>(q->Int(0));
}

}  // namespace

WarrantStore::WarrantStore(std::unique_ptr<Db> db) : db_(std::move(db)) {}
WarrantStore::~WarrantStore() = default;

absl::StatusOr<std::unique_ptr<WarrantStore>> WarrantStore::Open(std::string_view dir, bool create,
                                                                 bool read_only) {
  ASSIGN_OR_RETURN(auto db, Db::Open(WarrantPath(dir), {.label = "warrants",
                                                        .create = create,
                                                        .read_only = read_only,
                                                        .schema = kSchema,
                                                        .schema_version = kSchemaVersion,
                                                        .required_tables = {"meta", "versions"}}));
  return std::unique_ptr<WarrantStore>(new WarrantStore(std::move(db)));
}

template <typename Change>
absl::StatusOr<Warrant> WarrantStore::InTxn(Change&& change) {
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  ASSIGN_OR_RETURN(Warrant w, change(*db_));
  RETURN_IF_ERROR(txn.Commit());
  LogVersion(w);
  return w;
}

absl::StatusOr<Warrant> WarrantStore::Add(const WarrantSpec& spec, std::string_view by,
                                          int64_t at_us) {
  return InTxn([&](Db& db) { return AddLocked(db, spec, by, at_us); });
}

absl::StatusOr<Warrant> WarrantStore::Extend(std::string_view id, int64_t new_to_us,
                                             std::string_view reference, std::string_view by,
                                             int64_t at_us) {
  return InTxn(
      [&](Db& db) { return ExtendLocked(db, id, new_to_us, reference, by, at_us, "cli", 0); });
}

absl::StatusOr<Warrant> WarrantStore::End(std::string_view id, int64_t end_us,
                                          std::string_view reason, std::string_view by,
                                          int64_t at_us) {
  return InTxn([&](Db& db) { return EndLocked(db, id, end_us, reason, by, at_us, "cli", 0); });
}

absl::StatusOr<Warrant> WarrantStore::Current(std::string_view id) {
  absl::MutexLock lock(&mu_);
  return RequireCurrent(*db_, id);
}

absl::StatusOr<std::vector<Warrant>> WarrantStore::Versions(std::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " VERSION_COLUMNS
                                        "FROM versions WHERE warrant_id = ?1 ORDER BY version",
                                        "read versions"));
  q->Bind(1, id);
  ASSIGN_OR_RETURN(std::vector<Warrant> out, ReadAll(*q));
  if (out.empty()) return absl::NotFoundError(base::StrCat("warrants: no warrant ", id));
  return out;
}

absl::StatusOr<std::vector<Warrant>> WarrantStore::List(const ListFilter& filter) {
  absl::MutexLock lock(&mu_);
  // ?3/?4: whether to filter on valid_at (?5); ?6: include ended.
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " VERSION_COLUMNS
                                        "FROM current WHERE (?1 = '' OR liid = ?1) AND "
                                        "(?2 = '' OR team = ?2) AND "
                                        "(?3 = 0 OR (valid_from_us <= ?4 AND ?4 < valid_to_us)) "
                                        "AND (?5 = 1 OR change != 'ended') ORDER BY warrant_id",
                                        "list warrants"));
  q->Bind(1, std::string_view(filter.liid))
      .Bind(2, std::string_view(filter.team))
      .Bind(3, filter.valid_at_us ? 1 : 0)
      .Bind(4, filter.valid_at_us.value_or(0))
      .Bind(5, filter.include_ended ? 1 : 0);
  return ReadAll(*q);
}

absl::StatusOr<std::optional<Warrant>> WarrantStore::CoveringAt(std::string_view liid,
                                                                int64_t t_us) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " VERSION_COLUMNS
                                        "FROM current WHERE liid = ?1 AND valid_from_us <= ?2 "
                                        "AND ?2 < valid_to_us "
                                        "ORDER BY valid_from_us DESC, warrant_id DESC LIMIT 1",
                                        "covering warrant"));
  q->Bind(1, liid).Bind(2, t_us);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<Warrant>();
  ASSIGN_OR_RETURN(Warrant w, ReadVersion(*q));
  return std::optional<Warrant>(std::move(w));
}

absl::StatusOr<std::shared_ptr<const WarrantIndex>> WarrantStore::Snapshot() {
  absl::MutexLock lock(&mu_);
  // One read transaction: the generation and the rows belong together.
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(false));
  ASSIGN_OR_RETURN(uint64_t generation, ReadGeneration(*db_));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " VERSION_COLUMNS "FROM current", "snapshot"));
  ASSIGN_OR_RETURN(std::vector<Warrant> all, ReadAll(*q));
  q.reset();
  RETURN_IF_ERROR(txn.Commit());
  return std::shared_ptr<const WarrantIndex>(
      std::make_shared<WarrantIndex>(std::move(all), generation));
}

absl::StatusOr<uint64_t> WarrantStore::Generation() {
  absl::MutexLock lock(&mu_);
  return ReadGeneration(*db_);
}

absl::StatusOr<std::vector<ImportOutcome>> WarrantStore::Import(std::string_view xml,
                                                                const ImportOptions& options) {
  ASSIGN_OR_RETURN(std::vector<WarrantSpec> specs, ParseHi1Message(xml, options));
  return ImportSpecs(specs, options);
}

absl::StatusOr<std::vector<ImportOutcome>> WarrantStore::ImportSpecs(
    const std::vector<WarrantSpec>& specs, const ImportOptions& options) {
  RETURN_IF_ERROR(CheckText("by", options.by, true));
  if (options.now_us == 0) return absl::InvalidArgumentError("warrants: import: now_us required");
  absl::MutexLock lock(&mu_);
  Db& db = *db_;
  sqlite::Txn txn(&db);
  RETURN_IF_ERROR(txn.Begin(true));
  std::vector<ImportOutcome> out;
  std::vector<Warrant> written;
  for (const WarrantSpec& in : specs) {
    auto fail = [&](const absl::Status& s) {
      return base::Annotate(s, base::StrCat("import of authorisation ", in.id));
    };
    ImportOutcome o;
    o.warrant_id = in.id;
    absl::StatusOr<std::optional<Warrant>> cur_or = QueryCurrent(db, in.id);
    if (!cur_or.ok()) return fail(cur_or.status());
    if (!cur_or->has_value()) {
      if (in.liid.empty()) {
        return fail(absl::FailedPreconditionError(
            "an UPDATE of an unknown warrant without its LITaskObject (no LIID, no targets)"));
      }
      WarrantSpec spec = in;
      spec.source = "ts103120";
      if (spec.retention_days == 0) spec.retention_days = options.retention_days;
      absl::StatusOr<Warrant> w = AddLocked(db, spec, options.by, options.now_us);
      if (!w.ok()) return fail(w.status());
      o.action = "added";
      o.version = w->version;
      written.push_back(*std::move(w));
      out.push_back(std::move(o));
      continue;
    }
    const Warrant& cur = **cur_or;
    if (in.generation != 0 && cur.spec.generation != 0 && in.generation < cur.spec.generation) {
      o.action = "stale";
      o.version = cur.version;
      o.message = base::StrCat("Generation ", in.generation, " is older than the stored ",
                               cur.spec.generation, ": ignored");
      out.push_back(std::move(o));
      continue;
    }
    if (in.team != cur.spec.team) {
      return fail(absl::FailedPreconditionError(
          base::StrCat("the warrant belongs to team ", cur.spec.team, ", not ", in.team)));
    }
    if (!in.liid.empty() && in.liid != cur.spec.liid) {
      return fail(absl::FailedPreconditionError("the LIID of a warrant cannot change"));
    }
    if (!in.targets.empty()) {
      std::vector<std::string> a = in.targets, b = cur.spec.targets;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a != b) {
        return fail(absl::FailedPreconditionError(
            "the targets of a warrant cannot change: record a new authorisation"));
      }
    }
    if (in.valid_from_us != cur.spec.valid_from_us) {
      return fail(absl::FailedPreconditionError("the start of a warrant cannot change"));
    }
    absl::StatusOr<Warrant> w;
    if (in.valid_to_us > cur.spec.valid_to_us) {
      w = ExtendLocked(db, in.id, in.valid_to_us, in.authority_reference, options.by,
                       options.now_us, "ts103120", in.generation);
      o.action = "extended";
    } else if (in.valid_to_us < cur.spec.valid_to_us) {
      w = EndLocked(db, in.id, in.valid_to_us, "ended by TS 103 120 UPDATE", options.by,
                    options.now_us, "ts103120", in.generation);
      o.action = "ended";
    } else {
      o.action = "unchanged";
      o.version = cur.version;
      out.push_back(std::move(o));
      continue;
    }
    if (!w.ok()) return fail(w.status());
    o.version = w->version;
    written.push_back(*std::move(w));
    out.push_back(std::move(o));
  }
  RETURN_IF_ERROR(txn.Commit());
  for (const Warrant& w : written) LogVersion(w);
  return out;
}

}  // namespace tapvault::warrant
