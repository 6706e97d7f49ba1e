// SqliteCatalog: the catalog in one SQLite file, driven through the C API.
//
// Invariants and choices:
// - Every value reaches SQLite as a bound parameter. The only SQL built at run time is
//   ListComms/Keys choosing among fixed WHERE fragments; data never enters SQL text.
// - Statements are prepared once per SQL text and cached for the connection's life
//   (SQLITE_PREPARE_PERSISTENT): Commit runs hundreds of times a second with thousands of rows.
// - Each multi-row change is one BEGIN IMMEDIATE ... COMMIT; any failure rolls back, so the
//   caller can retry the same batch. IMMEDIATE takes the write lock up front, so a concurrent
//   writer (another process adding a request) waits on busy_timeout instead of failing mid-way.
// - Wrapped keys: secure_delete=ON zeroes freed cell space in the page; the WAL still holds the
//   old page images until a checkpoint, so ApplyDestroy ends with wal_checkpoint(TRUNCATE).
// - uint64 ids are stored as SQLite's signed 64-bit integers (ids stay far below 2^63).
#include "store/catalog.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "sqlite/sqlite.h"

namespace tapvault::store {

std::string_view CommStateName(CommState s) {
  switch (s) {
    case CommState::kAvailable:
      return "available";
    case CommState::kQuarantined:
      return "quarantined";
    case CommState::kPrivileged:
      return "privileged";
    case CommState::kDestroyed:
      return "destroyed";
  }
  return "available";
}

std::optional<CommState> ParseCommState(std::string_view s) {
  if (s == "available") return CommState::kAvailable;
  if (s == "quarantined") return CommState::kQuarantined;
  if (s == "privileged") return CommState::kPrivileged;
  if (s == "destroyed") return CommState::kDestroyed;
  return std::nullopt;
}

namespace {

constexpr int kBusyTimeoutMs = 5000;
constexpr std::string_view kSchemaVersion = "2";

// Foreign keys are DEFERRABLE INITIALLY DEFERRED: one batch inserts parents and children in any
// order, and the check runs at COMMIT. Only structural links carry one; liid columns do not
// (signing keys have no case).
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cases(
  liid TEXT PRIMARY KEY NOT NULL,
  warrant_key_id INTEGER NOT NULL,
  created_us INTEGER NOT NULL,
  retention_days INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS keys(
  id INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,
  liid TEXT NOT NULL,
  wrapped_by INTEGER NOT NULL,
  master_version INTEGER NOT NULL,
  wrapped BLOB,
  created_us INTEGER NOT NULL,
  destroyed_us INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS keys_liid ON keys(liid);
CREATE TABLE IF NOT EXISTS comms(
  id INTEGER PRIMARY KEY,
  liid TEXT NOT NULL,
  network_id TEXT NOT NULL,
  cin INTEGER,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  state TEXT NOT NULL
    CHECK(state IN ('available', 'quarantined', 'privileged', 'destroyed')),
  records INTEGER NOT NULL DEFAULT 0,
  bytes INTEGER NOT NULL DEFAULT 0,
  country TEXT NOT NULL DEFAULT '',
  state_reason TEXT NOT NULL DEFAULT '',
  list_version INTEGER NOT NULL DEFAULT 0,
  decided_us INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS comms_liid ON comms(liid, id);
CREATE INDEX IF NOT EXISTS comms_state ON comms(state, id);
CREATE INDEX IF NOT EXISTS comms_key ON comms(liid, network_id, cin);
CREATE TABLE IF NOT EXISTS parties(
  comm_id INTEGER NOT NULL REFERENCES comms(id) DEFERRABLE INITIALLY DEFERRED,
  role TEXT NOT NULL,
  id TEXT NOT NULL,
  nature TEXT NOT NULL DEFAULT '',
  UNIQUE(comm_id, role, id));
CREATE INDEX IF NOT EXISTS parties_id ON parties(id);
CREATE TABLE IF NOT EXISTS segments(
  id INTEGER PRIMARY KEY,
  liid TEXT NOT NULL,
  path TEXT NOT NULL,
  committed_bytes INTEGER NOT NULL,
  records INTEGER NOT NULL,
  sealed INTEGER NOT NULL DEFAULT 0,
  created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS slices(
  key_id INTEGER PRIMARY KEY REFERENCES keys(id) DEFERRABLE INITIALLY DEFERRED,
  comm_id INTEGER NOT NULL REFERENCES comms(id) DEFERRABLE INITIALLY DEFERRED,
  segment_id INTEGER NOT NULL REFERENCES segments(id) DEFERRABLE INITIALLY DEFERRED,
  first_leaf INTEGER NOT NULL,
  last_leaf INTEGER NOT NULL,
  first_offset INTEGER NOT NULL,
  end_offset INTEGER NOT NULL,
  records INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  start_us INTEGER NOT NULL,
  end_us INTEGER NOT NULL,
  destroyed INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS slices_comm ON slices(comm_id);
CREATE INDEX IF NOT EXISTS slices_segment ON slices(segment_id);
CREATE INDEX IF NOT EXISTS slices_start ON slices(start_us);
CREATE TABLE IF NOT EXISTS log_state(
  id INTEGER PRIMARY KEY CHECK(id = 1),
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  edge BLOB NOT NULL,
  edge_entries BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_us INTEGER NOT NULL,
  kind TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS derived(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  comm_id INTEGER NOT NULL REFERENCES comms(id) DEFERRABLE INITIALLY DEFERRED,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  destroyed_us INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS derived_comm ON derived(comm_id);
CREATE TABLE IF NOT EXISTS requests(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '',
  created_us INTEGER NOT NULL,
  finished_us INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS requests_status ON requests(status, id);
CREATE TABLE IF NOT EXISTS decisions(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  comm_id INTEGER NOT NULL REFERENCES comms(id) DEFERRABLE INITIALLY DEFERRED,
  at_us INTEGER NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  list_version INTEGER NOT NULL,
  role TEXT NOT NULL,
  entry_type TEXT NOT NULL,
  identity_hash TEXT NOT NULL,
  by_whom TEXT NOT NULL,
  order_ref TEXT NOT NULL,
  detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_comm ON decisions(comm_id, id);
CREATE INDEX IF NOT EXISTS decisions_at ON decisions(at_us);
)sql";

// Version 1 → 2 (issue 4, the privileged-party filter): decisions and what they need. Existing
// communications keep their state; the filter re-decides every undecided one when it starts.
constexpr const char* kMigrate1To2 = R"sql(
ALTER TABLE comms ADD COLUMN country TEXT NOT NULL DEFAULT '';
ALTER TABLE comms ADD COLUMN state_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE comms ADD COLUMN list_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE comms ADD COLUMN decided_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE parties ADD COLUMN nature TEXT NOT NULL DEFAULT '';
)sql";

// Maps an SQLite result code to our error codes (STYLE.md section 3).
absl::StatusCode CodeFor(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_ROWID:
      return absl::StatusCode::kAlreadyExists;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_IOERR:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_READONLY:
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return absl::StatusCode::kInvalidArgument;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status SqlError(sqlite3* db, int rc, std::string_view what) {
  // sqlite3_errmsg describes the most recent failure on this connection, which is `rc` here.
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc), base::StrCat("catalog: ", what, ": ", msg, " (", rc, ")"));
}

// Bound argument markers: text is the default for strings; Blob marks binary columns.
struct Blob {
  std::string_view data;
};
struct Null {};

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// One use of a cached statement: binds arguments in order, steps, reads columns, and resets the
// statement when it goes out of scope (so the cache can hand it out again).
class Query {
 public:
  // lenient: arguments past the statement's highest parameter are dropped (for statements
  // assembled from optional fragments that each name a fixed parameter number).
  Query(sqlite3* db, sqlite3_stmt* s, std::string_view what, bool lenient = false)
      : db_(db), s_(s), what_(what), lenient_(lenient), count_(sqlite3_bind_parameter_count(s)) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  template <typename... Args>
  absl::Status Bind(const Args&... args) {
    absl::Status status;
    (void)(... && (status = BindOne(args)).ok());
    return status;
  }

  // True when a row is available, false when done.
  absl::StatusOr<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_, rc, what_);
  }
  // Runs a statement that returns no rows.
  absl::Status Run() {
    ASSIGN_OR_RETURN(bool row, Step());
    (void)row;
    return absl::OkStatus();
  }

  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  uint64_t U64(int col) const { return static_cast<uint64_t>(Int(col)); }
  bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string Str(int col) const {
    // Blob access first (it returns the bytes without conversion), then the length.
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), n);
  }

 private:
  absl::Status Check(int rc) {
    if (rc == SQLITE_OK) return absl::OkStatus();
    if (rc == SQLITE_RANGE && lenient_ && index_ > count_) return absl::OkStatus();
    return SqlError(db_, rc, what_);
  }
  absl::Status BindOne(int64_t v) { return Check(sqlite3_bind_int64(s_, ++index_, v)); }
  absl::Status BindOne(uint64_t v) { return BindOne(static_cast<int64_t>(v)); }
  absl::Status BindOne(int v) { return BindOne(static_cast<int64_t>(v)); }
  absl::Status BindOne(uint32_t v) { return BindOne(static_cast<int64_t>(v)); }
  absl::Status BindOne(bool v) { return BindOne(static_cast<int64_t>(v ? 1 : 0)); }
  absl::Status BindOne(Null) { return Check(sqlite3_bind_null(s_, ++index_)); }
  absl::Status BindOne(std::string_view v) {
    // SQLITE_STATIC: the caller's data outlives the step (bindings are cleared on reset). A
    // non-null pointer keeps an empty string an empty TEXT rather than NULL.
    return Check(sqlite3_bind_text64(s_, ++index_, v.empty() ? "" : v.data(), v.size(),
                                     SQLITE_STATIC, SQLITE_UTF8));
  }
  absl::Status BindOne(const std::string& v) { return BindOne(std::string_view(v)); }
  absl::Status BindOne(const char* v) { return BindOne(std::string_view(v)); }
  absl::Status BindOne(Blob v) {
    return Check(sqlite3_bind_blob64(s_, ++index_, v.data.empty() ? "" : v.data.data(),
                                     v.data.size(), SQLITE_STATIC));
  }
  template <typename T>
  absl::Status BindOne(const std::optional<T>& v) {
    return v.has_value() ? BindOne(*v) : BindOne(Null{});
  }

  sqlite3* db_;
  sqlite3_stmt* s_;
  std::string_view what_;
  bool lenient_;
  int count_;
  int index_ = 0;
};

// Creates `path` empty with mode 0600; AlreadyExists if it exists (O_EXCL: a backup never
// overwrites a file). sqlite::CreatePrivateFile is the non-exclusive form Open uses.
absl::Status CreateNewPrivateFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    std::string what = base::StrCat("catalog: create ", path, ": ", std::strerror(err));
    if (err == EEXIST) return absl::AlreadyExistsError(what);
    if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(what);
    if (err == EACCES || err == EPERM || err == EROFS) return absl::PermissionDeniedError(what);
    if (err == ENOENT) return absl::NotFoundError(what);
    return absl::UnavailableError(what);
  }
  // The umask may have removed owner bits; 0600 exactly is what we want.
  int rc = ::fchmod(fd, 0600);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(base::StrCat("catalog: chmod ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

}  // namespace

// The connection (opened, configured and transacted through sqlite::Db) with the catalog's own
// statement layer: sqlite::Stmt caches by the address of a literal, but the catalog assembles
// statement texts at run time (ListComms, Slices, ...), binds positionally and leniently, binds
// SQLITE_STATIC on the Commit path, and maps constraint and read-only failures to codes its
// callers rely on (AlreadyExists, FailedPrecondition); see CodeFor above.
class SqliteCatalog::Impl {
 public:
  explicit Impl(std::unique_ptr<sqlite::Db> sql) : sql_(std::move(sql)), db_(sql_->raw()) {}
  ~Impl() { cache_.clear(); }  // finalize before sql_ closes the connection

  sqlite3* db() const { return db_; }
  sqlite::Db& sql() { return *sql_; }

  // Executes SQL without parameters (PRAGMAs, schema).
  absl::Status Exec(const char* sql, std::string_view what) { return sql_->Exec(sql, what); }

  // The cached statement for `sql` (prepared on first use). `sql` is one of a fixed set of
  // texts, so the cache stays small.
  absl::StatusOr<sqlite3_stmt*> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second.get();
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(s);
      return SqlError(db_, rc, base::StrCat("prepare ", sql));
    }
    sqlite3_stmt* raw = s;
    cache_.emplace(sql, StmtPtr(s));
    return raw;
  }

  // Runs a prepared statement with `args` bound, expecting no rows; returns the number of rows
  // changed. Loops prepare once and call this per row.
  template <typename... Args>
  absl::StatusOr<int64_t> Run(sqlite3_stmt* s, std::string_view what, const Args&... args) {
    Query q(db_, s, what);
    RETURN_IF_ERROR(q.Bind(args...));
    RETURN_IF_ERROR(q.Run());
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }
  template <typename... Args>
  absl::StatusOr<int64_t> Run(const std::string& sql, std::string_view what, const Args&... args) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql));
    return Run(s, what, args...);
  }

  // As Run, and fails with NotFound when no row was changed (`what` names the row).
  template <typename Sql, typename... Args>
  absl::Status RunOne(const Sql& sql, std::string_view what, const Args&... args) {
    ASSIGN_OR_RETURN(int64_t n, Run(sql, what, args...));
    if (n == 0) return absl::NotFoundError(base::StrCat("catalog: ", what, ": no such row"));
    return absl::OkStatus();
  }

  // TRUNCATE checkpoint: copies the WAL into the database and truncates the WAL to zero bytes,
  // so page images holding erased wrapped keys leave the WAL. A reader in another process can
  // block it; then the next Commit tries again.
  absl::Status CheckpointTruncate() {
    int log_frames = 0, checkpointed = 0;
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                       &checkpointed);
    if (rc != SQLITE_OK) {
      checkpoint_pending_ = true;
      return SqlError(db_, rc, "wal checkpoint");
    }
    checkpoint_pending_ = false;
    return absl::OkStatus();
  }
  bool checkpoint_pending() const { return checkpoint_pending_; }

 private:
  std::unique_ptr<sqlite::Db> sql_;
  sqlite3* db_;
  bool checkpoint_pending_ = false;
  std::unordered_map<std::string, StmtPtr> cache_;
};

namespace {

using Impl = SqliteCatalog::Impl;

absl::Status CreateSchema(Impl& impl) {
  sqlite::Txn txn(&impl.sql());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(impl.Exec(kSchema, "create schema"));
  RETURN_IF_ERROR(impl.Run("INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', ?)",
                           "set schema_version", kSchemaVersion)
                      .status());
  return txn.Commit();
}

// Upgrades a catalog of an earlier schema in one transaction; nothing to do for a new file or
// one that is current.
absl::Status MigrateSchema(Impl& impl) {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'meta'"));
  {
    Query q(impl.db(), s, "read schema");
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row || q.Int(0) == 0) return absl::OkStatus();
  }
  std::string version;
  {
    ASSIGN_OR_RETURN(s, impl.Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
    Query q(impl.db(), s, "read schema_version");
    ASSIGN_OR_RETURN(bool row, q.Step());
    version = row ? q.Str(0) : "";
  }
  if (version != "1") return absl::OkStatus();
  sqlite::Txn txn(&impl.sql());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(impl.Exec(kMigrate1To2, "migrate schema 1 to 2"));
  RETURN_IF_ERROR(impl.Exec(kSchema, "migrate schema 1 to 2"));
  RETURN_IF_ERROR(impl.Run("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                           "set schema_version", kSchemaVersion)
                      .status());
  return txn.Commit();
}

absl::Status CheckSchema(Impl& impl) {
  // sqlite_master first: a file that is not a database fails here with NOTADB (DataLoss); a
  // database without our tables is someone else's file.
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
                                "name = 'meta'"));
  {
    Query q(impl.db(), s, "read schema");
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row || q.Int(0) == 0) {
      return absl::FailedPreconditionError("catalog: not a tapvault catalog (no meta table)");
    }
  }
  ASSIGN_OR_RETURN(s, impl.Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
  Query q(impl.db(), s, "read schema_version");
  ASSIGN_OR_RETURN(bool row, q.Step());
  std::string version = row ? q.Str(0) : "";
  if (version != kSchemaVersion) {
    return absl::FailedPreconditionError(base::StrCat("catalog: schema_version '", version,
                                                      "' unsupported (want ", kSchemaVersion, ")"));
  }
  return absl::OkStatus();
}

constexpr const char* kKeyColumns =
    "id, kind, liid, wrapped_by, master_version, wrapped, created_us, destroyed_us";

KeyRow ReadKey(const Query& q) {
  KeyRow k;
  k.id = q.U64(0);
  k.kind = static_cast<KeyKind>(q.Int(1));
  k.liid = q.Str(2);
  k.wrapped_by = q.U64(3);
  k.master_version = static_cast<uint32_t>(q.Int(4));
  k.wrapped = q.Str(5);
  k.created_us = q.Int(6);
  k.destroyed_us = q.Int(7);
  return k;
}

absl::Status InsertKeys(Impl& impl, const std::vector<KeyRow>& keys) {
  if (keys.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(
      sqlite3_stmt * s,
      impl.Prepare("INSERT INTO keys(id, kind, liid, wrapped_by, master_version, "
                   "wrapped, created_us, destroyed_us) VALUES(?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const KeyRow& k : keys) {
    RETURN_IF_ERROR(impl.Run(s, "insert key", k.id, static_cast<int>(k.kind), k.liid, k.wrapped_by,
                             k.master_version, Blob{k.wrapped}, k.created_us, k.destroyed_us)
                        .status());
  }
  return absl::OkStatus();
}

absl::Status InsertEvents(Impl& impl, const std::vector<EventRow>& events) {
  if (events.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl.Prepare("INSERT INTO events(at_us, kind, detail) VALUES(?, ?, ?)"));
  for (const EventRow& e : events) {
    RETURN_IF_ERROR(impl.Run(s, "insert event", e.at_us, e.kind, e.detail).status());
  }
  return absl::OkStatus();
}

}  // namespace

SqliteCatalog::SqliteCatalog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteCatalog::~SqliteCatalog() = default;

absl::StatusOr<std::unique_ptr<SqliteCatalog>> SqliteCatalog::Open(const std::string& path,
                                                                   bool create, bool read_only) {
  // The schema is neither created nor checked by sqlite::Db::Open: a catalog of schema 1 must be
  // migrated before kSchema (whose indexes name the new columns) runs and the version is checked.
  ASSIGN_OR_RETURN(auto sql, sqlite::Db::Open(path, {.label = "catalog",
                                                     .create = create,
                                                     .read_only = read_only,
                                                     .foreign_keys = true,
                                                     .busy_timeout_ms = kBusyTimeoutMs}));
  RETURN_IF_ERROR(sql->Exec("PRAGMA secure_delete=ON", "pragma secure_delete"));
  auto impl = std::make_unique<Impl>(std::move(sql));
  if (!read_only) RETURN_IF_ERROR(MigrateSchema(*impl));
  if (create) RETURN_IF_ERROR(CreateSchema(*impl));
  RETURN_IF_ERROR(CheckSchema(*impl));
  return std::unique_ptr<SqliteCatalog>(new SqliteCatalog(std::move(impl)));
}

absl::StatusOr<std::optional<std::string>> SqliteCatalog::GetMeta(std::string_view key) {
  ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->Prepare("SELECT value FROM meta WHERE key = ?"));
  Query q(impl_->db(), s, "get meta");
  RETURN_IF_ERROR(q.Bind(key));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(q.Str(0));
}

absl::Status SqliteCatalog::SetMeta(std::string_view key, std::string_view value) {
  return impl_
      ->Run(
          "INSERT INTO meta(key, value) VALUES(?, ?) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          "set meta", key, value)
      .status();
}

namespace {

absl::Status NoSuchRow(std::string_view what, uint64_t id) {
  return absl::NotFoundError(base::StrCat("catalog: ", what, " ", id, ": no such row"));
}

// The Commit statements. Each loop prepares (a cache hit) once and binds per row.
constexpr const char* kInsertCase =
    "INSERT INTO cases(liid, warrant_key_id, created_us, retention_days) VALUES(?, ?, ?, ?)";
constexpr const char* kInsertComm =
    "INSERT INTO comms(id, liid, network_id, cin, start_us, end_us, state, records, bytes, "
    "country, state_reason) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertParty =
    "INSERT OR IGNORE INTO parties(comm_id, role, id, nature) VALUES(?, ?, ?, ?)";
constexpr const char* kPartyCount = "SELECT count(*) FROM parties WHERE comm_id = ?";
constexpr const char* kCommStateOf = "SELECT state, state_reason FROM comms WHERE id = ?";
constexpr const char* kSetCommState =
    "UPDATE comms SET state = ?1, state_reason = ?2, list_version = ?3, "
    "decided_us = CASE WHEN state = ?1 AND state_reason = ?2 THEN decided_us ELSE ?4 END "
    "WHERE id = ?5";
constexpr const char* kInsertDecision =
    "INSERT INTO decisions(comm_id, at_us, state, reason, list_version, role, entry_type, "
    "identity_hash, by_whom, order_ref, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* kInsertSegment =
    "INSERT INTO segments(id, liid, path, committed_bytes, records, sealed, created_us) "
    "VALUES(?, ?, ?, ?, ?, ?, ?)";
// The batch carries this commit's aggregate for the slice: widen ranges, add counts.
constexpr const char* kUpsertSlice =
    "INSERT INTO slices(key_id, comm_id, segment_id, first_leaf, last_leaf, first_offset, "
    "end_offset, records, bytes, start_us, end_us, destroyed) "
    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(key_id) DO UPDATE SET "
    "first_leaf = min(first_leaf, excluded.first_leaf), "
    "last_leaf = max(last_leaf, excluded.last_leaf), "
    "first_offset = min(first_offset, excluded.first_offset), "
    "end_offset = max(end_offset, excluded.end_offset), "
    "records = records + excluded.records, "
    "bytes = bytes + excluded.bytes, "
    "start_us = min(start_us, excluded.start_us), "
    "end_us = max(end_us, excluded.end_us)";
// start_us 0 means "not known yet" (a comm row created before its first record).
constexpr const char* kCommDelta =
    "UPDATE comms SET records = records + ?1, bytes = bytes + ?2, "
    "start_us = CASE WHEN start_us = 0 THEN ?3 ELSE min(start_us, ?3) END, "
    "end_us = max(end_us, ?4) WHERE id = ?5";
constexpr const char* kSegmentEnd =
    "UPDATE segments SET committed_bytes = ?, records = ? WHERE id = ?";
constexpr const char* kSealSegment = "UPDATE segments SET sealed = 1 WHERE id = ?";
constexpr const char* kSetLogState =
    "INSERT OR REPLACE INTO log_state(id, size, root, edge, edge_entries) VALUES(1, ?, ?, ?, ?)";

// A decision changes the state only from the states it names; sticky states (privileged,
// destroyed) are never left by an automatic decision. A row is recorded when the state or the
// reason changes, or always when the decision asks for it (acts of people).
absl::Status ApplyDecisions(Impl& db, const std::vector<DecisionRow>& decisions) {
  for (const DecisionRow& d : decisions) {
    std::string old_state, old_reason;
    {
      ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kCommStateOf));
      Query q(db.db(), s, "comm state");
      RETURN_IF_ERROR(q.Bind(d.comm_id));
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) return NoSuchRow("decision for comm", d.comm_id);
      old_state = q.Str(0);
      old_reason = q.Str(1);
    }
    std::optional<CommState> current = ParseCommState(old_state);
    if (!current) return absl::DataLossError(base::StrCat("catalog: comm ", d.comm_id, ": bad state"));
    const std::vector<CommState> automatic = {CommState::kQuarantined, CommState::kAvailable};
    const std::vector<CommState>& from = d.from.empty() ? automatic : d.from;
    if (std::find(from.begin(), from.end(), *current) == from.end()) continue;
    // A prosecutor's release stands against automatic verdicts.
    if (d.from.empty() && *current == CommState::kAvailable && old_reason == "released") continue;
    if (d.parties_seen && d.state == CommState::kAvailable) {
      ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kPartyCount));
      Query q(db.db(), s, "party count");
      RETURN_IF_ERROR(q.Bind(d.comm_id));
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (row && q.U64(0) > *d.parties_seen) continue;
    }
    const bool changed = *current != d.state || old_reason != d.reason;
    RETURN_IF_ERROR(db.Run(kSetCommState, "set comm state", CommStateName(d.state), d.reason,
                           d.list_version, d.at_us, d.comm_id)
                        .status());
    if (!changed && !d.record_always) continue;
    RETURN_IF_ERROR(db.Run(kInsertDecision, "insert decision", d.comm_id, d.at_us,
                           CommStateName(d.state), d.reason, d.list_version, d.role, d.entry_type,
                           d.identity_hash, d.by, d.order_ref, d.detail.empty() ? "{}" : d.detail)
                        .status());
  }
  return absl::OkStatus();
}

absl::Status ApplyBatch(Impl& db, const CommitBatch& b) {
  if (!b.new_cases.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kInsertCase));
    for (const CaseRow& c : b.new_cases) {
      RETURN_IF_ERROR(
          db.Run(s, "insert case", c.liid, c.warrant_key_id, c.created_us, c.retention_days)
              .status());
    }
  }
  RETURN_IF_ERROR(InsertKeys(db, b.new_keys));
  if (!b.new_comms.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kInsertComm));
    for (const CommRow& c : b.new_comms) {
      RETURN_IF_ERROR(db.Run(s, "insert comm", c.id, c.liid, c.network_id, c.cin, c.start_us,
                             c.end_us, CommStateName(c.state), c.records, c.bytes, c.country,
                             c.state_reason)
                          .status());
    }
  }
  if (!b.new_parties.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kInsertParty));
    for (const auto& [comm_id, p] : b.new_parties) {
      RETURN_IF_ERROR(db.Run(s, "insert party", comm_id, p.role, p.id, p.nature).status());
    }
  }
  if (!b.new_segments.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kInsertSegment));
    for (const SegmentRow& g : b.new_segments) {
      RETURN_IF_ERROR(db.Run(s, "insert segment", g.id, g.liid, g.path, g.committed_bytes,
                             g.records, g.sealed, g.created_us)
                          .status());
    }
  }
  if (!b.slices.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kUpsertSlice));
    for (const SliceRow& r : b.slices) {
      RETURN_IF_ERROR(db.Run(s, "upsert slice", r.key_id, r.comm_id, r.segment_id, r.first_leaf,
                             r.last_leaf, r.first_offset, r.end_offset, r.records, r.bytes,
                             r.start_us, r.end_us, r.destroyed)
                          .status());
    }
  }
  if (!b.comm_deltas.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kCommDelta));
    for (const CommitBatch::CommDelta& d : b.comm_deltas) {
      ASSIGN_OR_RETURN(int64_t n,
                       db.Run(s, "comm delta", d.records, d.bytes, d.start_us, d.end_us, d.id));
      if (n == 0) return NoSuchRow("comm delta for comm", d.id);
    }
  }
  if (!b.segment_ends.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kSegmentEnd));
    for (const auto& [id, end] : b.segment_ends) {
      ASSIGN_OR_RETURN(int64_t n, db.Run(s, "segment end", end.first, end.second, id));
      if (n == 0) return NoSuchRow("end of segment", id);
    }
  }
  if (!b.sealed_segments.empty()) {
    ASSIGN_OR_RETURN(sqlite3_stmt * s, db.Prepare(kSealSegment));
    for (uint64_t id : b.sealed_segments) {
      ASSIGN_OR_RETURN(int64_t n, db.Run(s, "seal segment", id));
      if (n == 0) return NoSuchRow("seal segment", id);
    }
  }
  if (b.log.has_value()) {
    const LogState& l = *b.log;
    RETURN_IF_ERROR(db.Run(kSetLogState, "set log state", l.size, Blob{l.root}, Blob{l.edge},
                           Blob{l.edge_entries})
                        .status());
  }
  RETURN_IF_ERROR(ApplyDecisions(db, b.decisions));
  return InsertEvents(db, b.events);
}

}  // namespace

absl::Status SqliteCatalog::Commit(const CommitBatch& b) {
  Impl& db = *impl_;
  {
    sqlite::Txn txn(&db.sql());
    RETURN_IF_ERROR(txn.Begin(/*write=*/true));
    RETURN_IF_ERROR(ApplyBatch(db, b));
    RETURN_IF_ERROR(txn.Commit());
  }
  if (db.checkpoint_pending()) {
    absl::Status st = db.CheckpointTruncate();
    if (!st.ok()) {
      base::Log(base::LogLevel::kWarn, "catalog.checkpoint_deferred",
                {{"reason", std::string(base::View(st.message()))}});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<LogState> SqliteCatalog::GetLogState() {
  ASSIGN_OR_RETURN(
      sqlite3_stmt * s,
      impl_->Prepare("SELECT size, root, edge, edge_entries FROM log_state WHERE id = 1"));
  Query q(impl_->db(), s, "get log state");
  ASSIGN_OR_RETURN(bool row, q.Step());
  LogState l;
  if (!row) return l;
  l.size = q.U64(0);
  l.root = q.Str(1);
  l.edge = q.Str(2);
  l.edge_entries = q.Str(3);
  return l;
}

absl::StatusOr<std::vector<SegmentRow>> SqliteCatalog::Segments() {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare("SELECT id, liid, path, committed_bytes, records, sealed, "
                                  "created_us FROM segments ORDER BY id"));
  Query q(impl_->db(), s, "list segments");
  std::vector<SegmentRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    SegmentRow r;
    r.id = q.U64(0);
    r.liid = q.Str(1);
    r.path = q.Str(2);
    r.committed_bytes = q.U64(3);
    r.records = q.U64(4);
    r.sealed = q.Int(5) != 0;
    r.created_us = q.Int(6);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<CaseRow>> SqliteCatalog::Cases() {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare("SELECT liid, warrant_key_id, created_us, retention_days "
                                  "FROM cases ORDER BY liid"));
  Query q(impl_->db(), s, "list cases");
  std::vector<CaseRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    CaseRow c;
    c.liid = q.Str(0);
    c.warrant_key_id = q.U64(1);
    c.created_us = q.Int(2);
    c.retention_days = q.Int(3);
    out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<KeyRow> SqliteCatalog::Key(uint64_t id) {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare(base::StrCat("SELECT ", kKeyColumns, " FROM keys WHERE id = ?")));
  Query q(impl_->db(), s, "get key");
  RETURN_IF_ERROR(q.Bind(id));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::NotFoundError(base::StrCat("catalog: key ", id, " not found"));
  return ReadKey(q);
}

absl::StatusOr<std::vector<KeyRow>> SqliteCatalog::Keys(std::optional<KeyKind> kind,
                                                        std::optional<std::string> liid,
                                                        bool live_only) {
  // Each condition is either applied or a no-op on its NULL parameter: one statement text.
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare(base::StrCat(
                       "SELECT ", kKeyColumns,
                       " FROM keys WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR liid = ?2) "
                       "AND (?3 = 0 OR destroyed_us = 0) ORDER BY id")));
  Query q(impl_->db(), s, "list keys");
  std::optional<int> kind_int;
  if (kind.has_value()) kind_int = static_cast<int>(*kind);
  RETURN_IF_ERROR(q.Bind(kind_int, liid, live_only));
  std::vector<KeyRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadKey(q));
  }
  return out;
}

absl::StatusOr<std::vector<CommRow>> SqliteCatalog::ListComms(const CommFilter& f) {
  constexpr uint64_t kMaxId = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (f.after_id >= kMaxId) return std::vector<CommRow>();
  // The WHERE clause is assembled from fixed fragments, so at most 2^6 statement texts exist and
  // each is cached; the planner gets the index it needs for each combination (unlike
  // "?1 IS NULL OR ..." forms, which defeat index selection).
  std::string sql =
      "SELECT id, liid, network_id, cin, start_us, end_us, state, records, bytes, country, "
      "state_reason, list_version, decided_us FROM comms WHERE id > ?1";
  if (f.liid) sql += " AND liid = ?2";
  if (f.comm_id) sql += " AND id = ?3";
  if (f.party) sql += " AND id IN (SELECT comm_id FROM parties WHERE id = ?4)";
  if (f.from_us) sql += " AND end_us >= ?5";
  if (f.to_us) sql += " AND start_us <= ?6";
  if (f.network_id) sql += " AND network_id = ?8";
  if (f.match_cin) sql += " AND cin IS ?9";
  if (f.state) sql += " AND state = ?10";
  sql += " ORDER BY id";
  if (f.limit > 0) sql += " LIMIT ?7";
  ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->Prepare(sql));
  std::vector<CommRow> out;
  {
    Query q(impl_->db(), s, "list comms", /*lenient=*/true);
    int64_t limit = f.limit > kMaxId ? static_cast<int64_t>(kMaxId) : static_cast<int64_t>(f.limit);
    std::optional<int64_t> cin;
    if (f.cin) cin = *f.cin;
    std::optional<std::string> state;
    if (f.state) state = std::string(CommStateName(*f.state));
    RETURN_IF_ERROR(q.Bind(f.after_id, f.liid, f.comm_id, f.party, f.from_us, f.to_us, limit,
                           f.network_id, cin, state));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      CommRow c;
      c.id = q.U64(0);
      c.liid = q.Str(1);
      c.network_id = q.Str(2);
      if (!q.IsNull(3)) c.cin = static_cast<uint32_t>(q.Int(3));
      c.start_us = q.Int(4);
      c.end_us = q.Int(5);
      std::string state = q.Str(6);
      std::optional<CommState> parsed = ParseCommState(state);
      if (!parsed) {
        return absl::DataLossError(
            base::StrCat("catalog: comm ", c.id, ": unknown state '", state, "'"));
      }
      c.state = *parsed;
      c.records = q.U64(7);
      c.bytes = q.U64(8);
      c.country = q.Str(9);
      c.state_reason = q.Str(10);
      c.list_version = q.U64(11);
      c.decided_us = q.Int(12);
      out.push_back(std::move(c));
    }
  }
  if (out.empty()) return out;

  // Parties for the whole page in one query: the page's ids go in as one bound JSON array.
  std::string ids = "[";
  std::unordered_map<uint64_t, size_t> index;
  index.reserve(out.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0) ids += ',';
    ids += base::StrCat(out[i].id);
    index.emplace(out[i].id, i);
  }
  ids += ']';
  ASSIGN_OR_RETURN(s, impl_->Prepare("SELECT comm_id, role, id, nature FROM parties WHERE comm_id IN "
                                     "(SELECT value FROM json_each(?)) ORDER BY comm_id, rowid"));
  Query q(impl_->db(), s, "list parties");
  RETURN_IF_ERROR(q.Bind(ids));
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    auto it = index.find(q.U64(0));
    if (it == index.end()) continue;
    out[it->second].parties.push_back(PartyRow{q.Str(1), q.Str(2), q.Str(3)});
  }
  return out;
}

absl::StatusOr<std::vector<SliceRow>> SqliteCatalog::Slices(std::optional<uint64_t> comm_id,
                                                            std::optional<std::string> liid) {
  std::string sql =
      "SELECT s.key_id, s.comm_id, s.segment_id, s.first_leaf, s.last_leaf, s.first_offset, "
      "s.end_offset, s.records, s.bytes, s.start_us, s.end_us, s.destroyed FROM slices s";
  if (liid) sql += " JOIN comms c ON c.id = s.comm_id";
  sql += " WHERE 1";
  if (comm_id) sql += " AND s.comm_id = ?1";
  if (liid) sql += " AND c.liid = ?2";
  sql += " ORDER BY s.first_leaf, s.key_id";
  ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->Prepare(sql));
  Query q(impl_->db(), s, "list slices", /*lenient=*/true);
  RETURN_IF_ERROR(q.Bind(comm_id, liid));
  std::vector<SliceRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    SliceRow r;
    r.key_id = q.U64(0);
    r.comm_id = q.U64(1);
    r.segment_id = q.U64(2);
    r.first_leaf = q.U64(3);
    r.last_leaf = q.U64(4);
    r.first_offset = q.U64(5);
    r.end_offset = q.U64(6);
    r.records = q.U64(7);
    r.bytes = q.U64(8);
    r.start_us = q.Int(9);
    r.end_us = q.Int(10);
    r.destroyed = q.Int(11) != 0;
    out.push_back(r);
  }
  return out;
}

absl::StatusOr<std::vector<DecisionRow>> SqliteCatalog::Decisions(
    std::optional<uint64_t> comm_id, std::optional<int64_t> from_us, std::optional<int64_t> to_us) {
  std::string sql =
      "SELECT id, comm_id, at_us, state, reason, list_version, role, entry_type, identity_hash, "
      "by_whom, order_ref, detail FROM decisions WHERE 1";
  if (comm_id) sql += " AND comm_id = ?1";
  if (from_us) sql += " AND at_us >= ?2";
  if (to_us) sql += " AND at_us <= ?3";
  sql += " ORDER BY id";
  ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->Prepare(sql));
  Query q(impl_->db(), s, "list decisions", /*lenient=*/true);
  RETURN_IF_ERROR(q.Bind(comm_id, from_us, to_us));
  std::vector<DecisionRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    DecisionRow d;
    d.id = q.U64(0);
    d.comm_id = q.U64(1);
    d.at_us = q.Int(2);
    std::optional<CommState> state = ParseCommState(q.Str(3));
    if (!state) return absl::DataLossError(base::StrCat("catalog: decision ", d.id, ": bad state"));
    d.state = *state;
    d.reason = q.Str(4);
    d.list_version = q.U64(5);
    d.role = q.Str(6);
    d.entry_type = q.Str(7);
    d.identity_hash = q.Str(8);
    d.by = q.Str(9);
    d.order_ref = q.Str(10);
    d.detail = q.Str(11);
    out.push_back(std::move(d));
  }
  return out;
}

absl::StatusOr<std::vector<EventRow>> SqliteCatalog::Events() {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare("SELECT at_us, kind, detail FROM events ORDER BY id"));
  Query q(impl_->db(), s, "list events");
  std::vector<EventRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(EventRow{q.Int(0), q.Str(1), q.Str(2)});
  }
  return out;
}

absl::StatusOr<Catalog::MaxIds> SqliteCatalog::GetMaxIds() {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare("SELECT (SELECT ifnull(max(id), 0) FROM comms), "
                                  "(SELECT ifnull(max(id), 0) FROM keys), "
                                  "(SELECT ifnull(max(id), 0) FROM segments)"));
  Query q(impl_->db(), s, "max ids");
  ASSIGN_OR_RETURN(bool row, q.Step());
  MaxIds m;
  if (row) {
    m.comm = q.U64(0);
    m.key = q.U64(1);
    m.segment = q.U64(2);
  }
  return m;
}

absl::Status SqliteCatalog::ApplyDestroy(const DestroyTxn& t) {
  Impl& db = *impl_;
  {
    sqlite::Txn txn(&db.sql());
    RETURN_IF_ERROR(txn.Begin(/*write=*/true));
    // New (e.g. warrant) keys first: re-wrapped keys may name them in wrapped_by.
    RETURN_IF_ERROR(InsertKeys(db, t.new_keys));
    for (const KeyUpdate& u : t.rewrap) {
      RETURN_IF_ERROR(
          db.RunOne("UPDATE keys SET wrapped = ?, wrapped_by = ?, master_version = ? "
                    "WHERE id = ? AND destroyed_us = 0",
                    base::StrCat("rewrap live key ", u.id), Blob{u.wrapped}, u.wrapped_by,
                    u.master_version, u.id));
    }
    for (uint64_t id : t.destroy_keys) {
      // secure_delete=ON zeroes the freed cell bytes in the page; a destroyed key keeps its
      // first destruction time if destroyed again.
      RETURN_IF_ERROR(db.RunOne(
          "UPDATE keys SET wrapped = NULL, "
          "destroyed_us = CASE WHEN destroyed_us = 0 THEN ? ELSE destroyed_us END WHERE id = ?",
          base::StrCat("destroy key ", id), t.at_us, id));
      RETURN_IF_ERROR(
          db.Run("UPDATE slices SET destroyed = 1 WHERE key_id = ?", "mark slice destroyed", id)
              .status());
    }
    for (const auto& [liid, key_id] : t.case_warrant_keys) {
      RETURN_IF_ERROR(db.RunOne("UPDATE cases SET warrant_key_id = ? WHERE liid = ?",
                                base::StrCat("set warrant key of case ", liid), key_id, liid));
    }
    for (uint64_t id : t.destroyed_comms) {
      RETURN_IF_ERROR(db.RunOne("UPDATE comms SET state = 'destroyed' WHERE id = ?",
                                base::StrCat("destroy comm ", id), id));
    }
    RETURN_IF_ERROR(InsertEvents(db, t.events));
    RETURN_IF_ERROR(txn.Commit());
  }
  // The destruction is durable; only the WAL copy of the old pages remains. If a reader blocks
  // the checkpoint we must not report the committed destruction as failed (a retry would
  // re-insert new_keys), so it is logged and retried after the next Commit.
  absl::Status st = db.CheckpointTruncate();
  if (!st.ok()) {
    base::Log(base::LogLevel::kWarn, "catalog.checkpoint_deferred",
              {{"reason", std::string(base::View(st.message()))}});
  }
  return absl::OkStatus();
}

absl::Status SqliteCatalog::SetRetention(std::string_view liid, int64_t days) {
  return impl_->RunOne("UPDATE cases SET retention_days = ? WHERE liid = ?",
                       base::StrCat("set retention of case ", liid), days, liid);
}

absl::Status SqliteCatalog::AddDerived(uint64_t comm_id, std::string_view path,
                                       std::string_view kind) {
  return impl_
      ->Run("INSERT INTO derived(comm_id, path, kind, created_us) VALUES(?, ?, ?, ?)",
            "add derived", comm_id, path, kind, base::Now().unix_us)
      .status();
}

absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> SqliteCatalog::Derived(
    uint64_t comm_id) {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare("SELECT id, path FROM derived WHERE comm_id = ? AND "
                                  "destroyed_us = 0 ORDER BY id"));
  Query q(impl_->db(), s, "list derived");
  RETURN_IF_ERROR(q.Bind(comm_id));
  std::vector<std::pair<uint64_t, std::string>> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.emplace_back(q.U64(0), q.Str(1));
  }
  return out;
}

absl::Status SqliteCatalog::MarkDerivedDestroyed(uint64_t derived_id) {
  return impl_->RunOne("UPDATE derived SET destroyed_us = ? WHERE id = ? AND destroyed_us = 0",
                       base::StrCat("destroy live derived ", derived_id), base::Now().unix_us,
                       derived_id);
}

absl::StatusOr<uint64_t> SqliteCatalog::AddRequest(std::string_view kind, std::string_view body) {
  RETURN_IF_ERROR(impl_
                      ->Run("INSERT INTO requests(kind, body, status, created_us) "
                            "VALUES(?, ?, 'pending', ?)",
                            "add request", kind, body, base::Now().unix_us)
                      .status());
  return static_cast<uint64_t>(impl_->sql().LastInsertRowid());
}

namespace {
constexpr const char* kRequestColumns = "id, kind, body, status, result";
RequestRow ReadRequest(const Query& q) {
  return RequestRow{q.U64(0), q.Str(1), q.Str(2), q.Str(3), q.Str(4)};
}
}  // namespace

absl::StatusOr<std::vector<RequestRow>> SqliteCatalog::PendingRequests() {
  ASSIGN_OR_RETURN(sqlite3_stmt * s,
                   impl_->Prepare(base::StrCat("SELECT ", kRequestColumns,
                                               " FROM requests WHERE status = 'pending' "
                                               "ORDER BY id")));
  Query q(impl_->db(), s, "list pending requests");
  std::vector<RequestRow> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(ReadRequest(q));
  }
  return out;
}

absl::StatusOr<RequestRow> SqliteCatalog::Request(uint64_t id) {
  ASSIGN_OR_RETURN(sqlite3_stmt * s, impl_->Prepare(base::StrCat("SELECT ", kRequestColumns,
                                                                 " FROM requests WHERE id = ?")));
  Query q(impl_->db(), s, "get request");
  RETURN_IF_ERROR(q.Bind(id));
  ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return absl::NotFoundError(base::StrCat("catalog: request ", id, " not found"));
  return ReadRequest(q);
}

absl::Status SqliteCatalog::FinishRequest(uint64_t id, bool ok, std::string_view result) {
  ASSIGN_OR_RETURN(
      int64_t n,
      impl_->Run("UPDATE requests SET status = ?, result = ?, finished_us = ? "
                 "WHERE id = ? AND status = 'pending'",
                 "finish request", ok ? "done" : "failed", result, base::Now().unix_us, id));
  if (n == 1) return absl::OkStatus();
  ASSIGN_OR_RETURN(RequestRow r, Request(id));  // NotFound when absent
  return absl::FailedPreconditionError(
      base::StrCat("catalog: request ", id, " already finished (", r.status, ")"));
}

absl::Status SqliteCatalog::BackupTo(const std::string& path) {
  // The copy holds wrapped keys: create it 0600 ourselves (VACUUM INTO accepts an empty file).
  RETURN_IF_ERROR(CreateNewPrivateFile(path));
  absl::Status st = impl_->Run("VACUUM INTO ?", base::StrCat("backup to ", path), path).status();
  if (!st.ok()) ::unlink(path.c_str());
  return st;
}

}  // namespace tapvault::store
