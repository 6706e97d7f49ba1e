// One SQLite database file of tapvault (warrants.db, users.db, the privileged list, the catalog,
// approvals.db): opening it the way every such file must be opened (created 0600, extended
// result codes, busy timeout, synchronous=FULL, WAL for writers, a schema version checked on
// every open), cached prepared statements with bound parameters only, and a transaction guard.
// It exists so that each store writes its schema and queries, not its own copy of this.
//
//   ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(path, {.label = "warrants", .create = true,
//                                                     .schema = kSchema, .schema_version = "1",
//                                                     .required_tables = {"meta", "versions"}}));
//   sqlite::Txn txn(db.get());
//   RETURN_IF_ERROR(txn.Begin(/*write=*/true));
//   ASSIGN_OR_RETURN(auto q, db->Prepare("INSERT INTO t(a) VALUES(?1)", "insert t"));
//   RETURN_IF_ERROR(q->Bind(1, int64_t{7}).Run());
//   q.reset();                              // before Commit: a statement holds no row
//   RETURN_IF_ERROR(txn.Commit());          // else rolled back when txn goes out of scope
//
// Errors: statuses whose message starts with the label ("warrants: insert t: ..."). Codes:
// Unavailable (busy, locked, I/O), ResourceExhausted (disk full), DataLoss (corrupt, not a
// database), NotFound (cannot open), PermissionDenied (read-only, permissions),
// FailedPrecondition (a constraint or trigger refused; a wrong schema), Internal otherwise.
// Schema: a table meta(key TEXT PRIMARY KEY, value) must be part of `schema`; Open writes
// meta('schema_version') when it creates the file and refuses a file whose version differs.
// Thread-safety: a Db (and its statements) is used by one thread at a time; the stores hold a
// mutex around it. Prepared statements are cached by the address of their SQL text, which must
// therefore be a string literal (or otherwise live as long as the Db).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tapvault::sqlite {

struct OpenOptions {
  std::string label;                          // error prefix: "warrants", "users", ...
  bool create = false;                        // create the file (0600) and the schema if absent
  bool read_only = false;                     // SQLITE_OPEN_READONLY; never with create
  const char* schema = nullptr;               // executed in one transaction on create
  std::string schema_version;                 // meta('schema_version'); empty: not checked
  std::vector<std::string> required_tables;   // a file without these is not ours
  bool foreign_keys = false;
  int busy_timeout_ms = 30'000;
};

class Stmt;

class Db {
 public:
  // Opens (and with options.create creates) the database at `path`. NotFound when the file does
  // not exist and create is false.
  static absl::StatusOr<std::unique_ptr<Db>> Open(const std::string& path,
                                                  const OpenOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Runs SQL without results (one or more statements).
  absl::Status Exec(const char* sql, std::string_view what);
  // The cached prepared statement for `sql`; reset and unbound when the returned Stmt dies.
  absl::StatusOr<std::unique_ptr<Stmt>> Prepare(const char* sql, std::string_view what);

  // SQLite's rowid of the last INSERT on this connection, and rows changed by the last statement.
  int64_t LastInsertRowid() const;
  int64_t Changes() const;
  bool InTransaction() const;
  const std::string& label() const { return label_; }
  sqlite3* raw() const { return db_; }

 private:
  Db(sqlite3* db, std::string label);
  sqlite3* db_;
  std::string label_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

// A prepared statement in use: bind, step, read columns. Bind errors are kept and returned by
// the next Step/Run, so binds chain: q->Bind(1, a).Bind(2, b).Run().
class Stmt {
 public:
  Stmt(const Db* db, sqlite3_stmt* s, std::string_view what);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, int64_t v);
  Stmt& Bind(int i, uint64_t v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, uint32_t v) { return Bind(i, static_cast<int64_t>(v)); }
  Stmt& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Stmt& Bind(int i, double v);
  Stmt& Bind(int i, std::string_view v);
  Stmt& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Stmt& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Stmt& BindBlob(int i, const void* data, size_t size);
  Stmt& BindNull(int i);

  // true: a row is ready; false: no (more) rows.
  absl::StatusOr<bool> Step();
  // Steps once and resets (a statement without results, or the first row ignored).
  absl::Status Run();

  int64_t Int(int col) const;
  double Double(int col) const;
  bool IsNull(int col) const;
  // Valid until the next Step or the end of the Stmt.
  std::string_view Str(int col) const;
  std::string_view Blob(int col) const;

 private:
  Stmt& Check(int rc);
  const Db* db_;
  sqlite3_stmt* s_;
  std::string what_;
  absl::Status bind_status_;
};

// A transaction, rolled back unless Commit() succeeded. Begin(true) is BEGIN IMMEDIATE: it takes
// the write lock first, so what is read inside is what the change applies to.
class Txn {
 public:
  explicit Txn(Db* db) : db_(db) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  absl::Status Begin(bool write);
  absl::Status Commit();

 private:
  Db* db_;
  bool begun_ = false;
  bool done_ = false;
};

// The absl code for an SQLite result code (see the header comment).
absl::StatusCode CodeFor(int rc);
// "<label>: <what>: <sqlite message> (<rc>)" with CodeFor(rc).
absl::Status Error(sqlite3* db, int rc, std::string_view label, std::string_view what);
// Creates `path` empty with mode 0600 if it does not exist (the umask notwithstanding).
absl::Status CreatePrivateFile(const std::string& path, std::string_view label);

}  // namespace tapvault::sqlite
