#include "sqlite/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::sqlite {

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_CANTOPEN:
      return absl::StatusCode::kNotFound;
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status Error(sqlite3* db, int rc, std::string_view label, std::string_view what) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc), base::StrCat(label, ": ", what, ": ", msg, " (", rc, ")"));
}

absl::Status CreatePrivateFile(const std::string& path, std::string_view label) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    int err = errno;
    std::string what = base::StrCat(label, ": create ", path, ": ", std::strerror(err));
    if (err == ENOENT) return absl::NotFoundError(what);
    if (err == EACCES || err == EPERM || err == EROFS) return absl::PermissionDeniedError(what);
    if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(what);
    return absl::UnavailableError(what);
  }
  int rc = ::fchmod(fd, 0600);  // the umask may have taken owner bits away
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return absl::UnavailableError(base::StrCat(label, ": chmod ", path, ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

Db::Db(sqlite3* db, std::string label) : db_(db), label_(std::move(label)) {}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<Db>> Db::Open(const std::string& path, const OpenOptions& o) {
  const std::string& label = o.label;
  if (o.create && o.read_only) {
    return absl::InvalidArgumentError(base::StrCat(label, ": create and read_only exclude each other"));
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (!o.create) return absl::NotFoundError(base::StrCat(label, ": ", path, ": no such file"));
    RETURN_IF_ERROR(CreatePrivateFile(path, label));
  }
  sqlite3* raw = nullptr;
  int flags = (o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Db> db(new Db(raw, label));  // owns the handle even when open failed
  if (rc != SQLITE_OK) return Error(raw, rc, label, base::StrCat("open ", path));
  sqlite3_extended_result_codes(raw, 1);
  rc = sqlite3_busy_timeout(raw, o.busy_timeout_ms);
  if (rc != SQLITE_OK) return Error(raw, rc, label, "busy_timeout");
  RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL", "pragma synchronous"));
  if (o.foreign_keys) RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON", "pragma foreign_keys"));
  if (!o.read_only) {
    // journal_mode is a property of the file; the writer sets it, readers find it.
    ASSIGN_OR_RETURN(auto q, db->Prepare("PRAGMA journal_mode=WAL", "pragma journal_mode"));
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row || q->Str(0) != "wal") {
      return absl::FailedPreconditionError(base::StrCat(label, ": journal_mode=WAL not accepted"));
    }
  }
  if (o.create && o.schema != nullptr) {
    Txn txn(db.get());
    RETURN_IF_ERROR(txn.Begin(true));
    RETURN_IF_ERROR(db->Exec(o.schema, "create schema"));
    if (!o.schema_version.empty()) {
      ASSIGN_OR_RETURN(auto q, db->Prepare("INSERT OR IGNORE INTO meta(key, value) VALUES("
                                           "'schema_version', ?1)",
                                           "set schema_version"));
      RETURN_IF_ERROR(q->Bind(1, o.schema_version).Run());
    }
    RETURN_IF_ERROR(txn.Commit());
  }
  for (const std::string& table : o.required_tables) {
    ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                         "AND name = ?1",
                                         "read schema"));
    ASSIGN_OR_RETURN(bool row, q->Bind(1, table).Step());
    if (!row) {
      return absl::FailedPreconditionError(
          base::StrCat(label, ": ", path, " is not a ", label, " database (no table ", table, ")"));
    }
  }
  if (!o.schema_version.empty()) {
    ASSIGN_OR_RETURN(auto q, db->Prepare("SELECT value FROM meta WHERE key = 'schema_version'",
                                         "read schema_version"));
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row || q->Str(0) != o.schema_version) {
      return absl::FailedPreconditionError(base::StrCat(
          label, ": schema version '", row ? q->Str(0) : "", "' unsupported (want ",
          o.schema_version, ")"));
    }
  }
  return db;
}

absl::Status Db::Exec(const char* sql, std::string_view what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return absl::Status(CodeFor(rc), base::StrCat(label_, ": ", what, ": ", msg, " (", rc, ")"));
}

absl::StatusOr<std::unique_ptr<Stmt>> Db::Prepare(const char* sql, std::string_view what) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(s);
      return Error(db_, rc, label_, base::StrCat("prepare ", what));
    }
    it = cache_.emplace(sql, s).first;
  }
  return std::make_unique<Stmt>(this, it->second, what);
}

int64_t Db::LastInsertRowid() const { return sqlite3_last_insert_rowid(db_); }
int64_t Db::Changes() const { return sqlite3_changes64(db_); }
bool Db::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Stmt::Stmt(const Db* db, sqlite3_stmt* s, std::string_view what) : db_(db), s_(s), what_(what) {}

Stmt::~Stmt() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

Stmt& Stmt::Check(int rc) {
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Error(db_->raw(), rc, db_->label(), what_);
  return *this;
}

Stmt& Stmt::Bind(int i, int64_t v) { return Check(sqlite3_bind_int64(s_, i, v)); }
Stmt& Stmt::Bind(int i, double v) { return Check(sqlite3_bind_double(s_, i, v)); }
Stmt& Stmt::Bind(int i, std::string_view v) {
  // An empty view may have no data pointer, which SQLite would bind as NULL rather than ''.
  return Check(sqlite3_bind_text64(s_, i, v.data() == nullptr ? "" : v.data(), v.size(),
                                   SQLITE_TRANSIENT, SQLITE_UTF8));
}
Stmt& Stmt::BindBlob(int i, const void* data, size_t size) {
  // A zero-length blob is bound as an empty blob, not NULL.
  return Check(sqlite3_bind_blob64(s_, i, size == 0 ? "" : data, size, SQLITE_TRANSIENT));
}
Stmt& Stmt::BindNull(int i) { return Check(sqlite3_bind_null(s_, i)); }

absl::StatusOr<bool> Stmt::Step() {
  RETURN_IF_ERROR(bind_status_);
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db_->raw(), rc, db_->label(), what_);
}

absl::Status Stmt::Run() {
  absl::StatusOr<bool> row = Step();
  sqlite3_reset(s_);
  return row.status();
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(s_, col); }
double Stmt::Double(int col) const { return sqlite3_column_double(s_, col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

std::string_view Stmt::Str(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p == nullptr ? std::string_view()
                      : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, col)));
}

std::string_view Stmt::Blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  return p == nullptr ? std::string_view()
                      : std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(s_, col)));
}

Txn::~Txn() {
  if (begun_ && !done_ && db_->InTransaction()) (void)db_->Exec("ROLLBACK", "rollback");
}

absl::Status Txn::Begin(bool write) {
  RETURN_IF_ERROR(db_->Exec(write ? "BEGIN IMMEDIATE" : "BEGIN", "begin"));
  begun_ = true;
  return absl::OkStatus();
}

absl::Status Txn::Commit() {
  RETURN_IF_ERROR(db_->Exec("COMMIT", "commit"));
  done_ = true;
  return absl::OkStatus();
}

}  // namespace tapvault::sqlite
