// UserStore on SQLite.
//
// Schema (why):
// - users: one row per person; roles and teams in user_roles / user_teams (sets, one row per
//   member) so that a revocation is one DELETE and a grant one INSERT.
// - grant_requests: every request ever made, with its decision; nothing is deleted, so the
//   history of who asked and who approved stays in the file as well as in the audit log.
// - tokens: SHA-256 of the token (UNIQUE, the lookup key); never the token.
// - certs: SHA-256 fingerprint (lower-case hex) -> user.
// - changes: who did what when, one row per mutating call.
// Every multi-statement change is one BEGIN IMMEDIATE transaction; every value is a bound
// parameter.
#include "access/user_store.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <array>
#include <utility>

#include "access/totp.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "sqlite/sqlite.h"

namespace tapvault::access {

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidTeamName(std::string_view team) {
  if (team.empty() || team.size() > 64) return false;
  for (char c : team) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Grant::ToString() const {
  return kind == Kind::kRole ? base::StrCat("role ", RoleName(role)) : base::StrCat("team ", team);
}

namespace {

constexpr size_t kMaxPasswordBytes = 1024;
constexpr size_t kMaxDisplayNameBytes = 128;
constexpr size_t kTokenBytes = 32;
const std::string kInvalidCredentials = "invalid credentials";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users(
  name TEXT PRIMARY KEY,
  display_name TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  totp_secret BLOB,
  totp_pending BLOB,
  totp_last_step INTEGER NOT NULL DEFAULT -1,
  disabled INTEGER NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until_us INTEGER NOT NULL DEFAULT 0,
  vendor_from_us INTEGER NOT NULL DEFAULT 0,
  vendor_to_us INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS user_roles(
  name TEXT NOT NULL, role TEXT NOT NULL, request_id INTEGER NOT NULL,
  PRIMARY KEY(name, role)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_teams(
  name TEXT NOT NULL, team TEXT NOT NULL, request_id INTEGER NOT NULL,
  PRIMARY KEY(name, team)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grant_requests(
  id INTEGER PRIMARY KEY,
  grantee TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  vendor_from_us INTEGER NOT NULL DEFAULT 0,
  vendor_to_us INTEGER NOT NULL DEFAULT 0,
  requested_by TEXT NOT NULL,
  requested_us INTEGER NOT NULL,
  status TEXT NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  decided_us INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS grant_requests_status ON grant_requests(status);
CREATE TABLE IF NOT EXISTS tokens(
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL,
  name TEXT NOT NULL,
  sha256 BLOB NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  expires_us INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  last_used_us INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS certs(
  sha256 TEXT PRIMARY KEY, user TEXT NOT NULL, added_by TEXT NOT NULL, added_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS changes(
  id INTEGER PRIMARY KEY, at_us INTEGER NOT NULL, by TEXT NOT NULL, what TEXT NOT NULL);
)sql";

using sqlite::Db;
using sqlite::Stmt;

std::vector<uint8_t> BlobBytes(const Stmt& q, int col) {
  std::string_view b = q.Blob(col);
  return std::vector<uint8_t>(b.begin(), b.end());
}

std::array<uint8_t, 32> Sha256(std::span<const uint8_t> data) {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

void RandomFill(std::span<uint8_t> out) { randombytes_buf(out.data(), out.size()); }

// RFC 4648 5 base64url without padding.
std::string Base64Url(std::span<const uint8_t> in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 0x3F]);
  }
  if (in.size() - i == 1) {
    uint32_t v = uint32_t{in[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
  } else if (in.size() - i == 2) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 0x3F]);
    out.push_back(kAlphabet[(v >> 12) & 0x3F]);
    out.push_back(kAlphabet[(v >> 6) & 0x3F]);
  }
  return out;
}

// Lower-case hex of a SHA-256 fingerprint given as hex with optional ':' separators.
absl::StatusOr<std::string> NormalizeFingerprint(std::string_view in) {
  std::string out;
  for (char c : in) {
    if (c == ':') continue;
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return absl::InvalidArgumentError("certificate fingerprint: not hex");
    }
    out.push_back(c);
  }
  if (out.size() != 64) {
    return absl::InvalidArgumentError("certificate fingerprint: need 64 hex digits (SHA-256)");
  }
  return out;
}

absl::Status CheckDisplayName(std::string_view d) {
  if (d.size() > kMaxDisplayNameBytes) {
    return absl::InvalidArgumentError("display name longer than 128 bytes");
  }
  for (char c : d) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("display name has a control character");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckName(std::string_view name) {
  if (!ValidUserName(name)) {
    return absl::InvalidArgumentError(
        base::StrCat("user name '", name, "': need 1..64 of a-z 0-9 . _ -"));
  }
  return absl::OkStatus();
}

struct UserRow {
  std::string password_hash;
  std::vector<uint8_t> totp_secret;
  int64_t totp_last_step = -1;
  bool disabled = false;
  int failed = 0;
  int64_t locked_until_us = 0;
};

absl::StatusOr<std::optional<UserRow>> ReadUserRow(Db& db, const std::string& name) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT password_hash, totp_secret, totp_last_step, "
                                      "disabled, failed_logins, locked_until_us FROM users "
                                      "WHERE name = ?1",
                                      "read user"));
  q->Bind(1, name);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<UserRow>();
  UserRow u;
  u.password_hash = q->Str(0);
  u.totp_secret = BlobBytes(*q, 1);
  u.totp_last_step = q->Int(2);
  u.disabled = q->Int(3) != 0;
  u.failed = static_cast<int>(q->Int(4));
  u.locked_until_us = q->Int(5);
  return std::optional<UserRow>(std::move(u));
}

absl::StatusOr<bool> UserExists(Db& db, const std::string& name) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT 1 FROM users WHERE name = ?1", "find user"));
  q->Bind(1, name);
  return q->Step();
}

absl::StatusOr<std::set<Role>> ReadRoles(Db& db, const std::string& name) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT role FROM user_roles WHERE name = ?1", "roles"));
  q->Bind(1, name);
  std::set<Role> roles;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    std::optional<Role> r = ParseRole(q->Str(0));
    if (!r) return absl::DataLossError(base::StrCat("users: unknown role '", q->Str(0), "'"));
    roles.insert(*r);
  }
  return roles;
}

absl::StatusOr<std::set<std::string>> ReadTeams(Db& db, const std::string& name) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT team FROM user_teams WHERE name = ?1", "teams"));
  q->Bind(1, name);
  std::set<std::string> teams;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    teams.emplace(q->Str(0));
  }
  return teams;
}

// Enabled users holding the administrator role.
absl::StatusOr<int64_t> CountAdministrators(Db& db) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT count(*) FROM user_roles r JOIN users u ON "
                                      "u.name = r.name WHERE r.role = 'administrator' AND "
                                      "u.disabled = 0",
                                      "count administrators"));
  ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : 0;
}

#define REQUEST_SELECT                                                                          \
  "SELECT id, grantee, kind, value, vendor_from_us, vendor_to_us, requested_by, requested_us, " \
  "status, decided_by, decided_us FROM grant_requests "

absl::StatusOr<GrantRequest> ReadRequest(const Stmt& q) {
  GrantRequest r;
  r.id = static_cast<uint64_t>(q.Int(0));
  r.grantee = q.Str(1);
  std::string kind(q.Str(2));
  std::string value(q.Str(3));
  if (kind == "role" || kind == "vendor") {
    std::optional<Role> role = ParseRole(value);
    if (!role) return absl::DataLossError(base::StrCat("users: request role '", value, "'"));
    r.grant = Grant::OfRole(*role);
  } else if (kind == "team") {
    r.grant = Grant::OfTeam(value);
  } else {
    return absl::DataLossError(base::StrCat("users: request kind '", kind, "'"));
  }
  r.vendor_from_us = q.Int(4);
  r.vendor_to_us = q.Int(5);
  r.requested_by = q.Str(6);
  r.requested_us = q.Int(7);
  r.status = q.Str(8);
  r.decided_by = q.Str(9);
  r.decided_us = q.Int(10);
  return r;
}

absl::StatusOr<GrantRequest> QueryRequest(Db& db, uint64_t id) {
  ASSIGN_OR_RETURN(auto q, db.Prepare(REQUEST_SELECT "WHERE id = ?1", "read request"));
  q->Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("grant request ", id, ": no such request"));
  return ReadRequest(*q);
}

}  // namespace

UserStore::UserStore(std::unique_ptr<Db> db, UserStoreOptions options)
    : options_(options), db_(std::move(db)) {}
UserStore::~UserStore() = default;

absl::StatusOr<std::unique_ptr<UserStore>> UserStore::Open(const std::string& dir, bool create,
                                                           UserStoreOptions options) {
  if (sodium_init() < 0) return absl::InternalError("users: libsodium init failed");
  std::string path = dir;
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(kUsersFileName);
  ASSIGN_OR_RETURN(auto db, Db::Open(path, {.label = "users",
                                            .create = create,
                                            .schema = kSchema,
                                            .schema_version = "1",
                                            .required_tables = {"meta", "users"},
                                            .foreign_keys = true}));
  return std::unique_ptr<UserStore>(new UserStore(std::move(db), options));
}

absl::StatusOr<std::string> UserStore::HashPassword(std::string_view password) const {
  if (password.size() < options_.min_password_length) {
    return absl::InvalidArgumentError(
        base::StrCat("password shorter than ", options_.min_password_length, " characters"));
  }
  if (password.size() > kMaxPasswordBytes) {
    return absl::InvalidArgumentError("password longer than 1024 bytes");
  }
  unsigned long long ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
  size_t mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
  if (options_.password_cost == PasswordCost::kModerate) {
    ops = crypto_pwhash_argon2id_OPSLIMIT_MODERATE;
    mem = crypto_pwhash_argon2id_MEMLIMIT_MODERATE;
  } else if (options_.password_cost == PasswordCost::kMinForTest) {
    ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
    mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  }
  std::array<char, crypto_pwhash_argon2id_STRBYTES> out{};
  if (crypto_pwhash_argon2id_str(out.data(), password.data(), password.size(), ops, mem) != 0) {
    return absl::ResourceExhaustedError("users: password hashing ran out of memory");
  }
  return std::string(out.data());
}

void UserStore::DummyVerify(std::string_view password) {
  std::string hash;
  {
    absl::MutexLock l(&dummy_mu_);
    if (dummy_hash_.empty()) {
      std::array<uint8_t, 16> r;
      RandomFill(r);
      absl::StatusOr<std::string> h = HashPassword(Base32Encode(r) + "-unknown-user");
      if (h.ok()) dummy_hash_ = *h;
    }
    hash = dummy_hash_;
  }
  if (!hash.empty()) {
    // The answer is known (no); only the time taken matters.
    [[maybe_unused]] int rc =
        crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size());
  }
}

absl::Status UserStore::RequireActor(const std::string& by, Action action, int64_t now_us) {
  absl::StatusOr<Principal> p = LoadPrincipal(by, AuthMethod::kPassword, now_us);
  if (!p.ok()) {
    if (p.status().code() == absl::StatusCode::kNotFound ||
        p.status().code() == absl::StatusCode::kUnauthenticated) {
      return absl::PermissionDeniedError(
          base::StrCat("'", by, "' is not an enabled tapvault user"));
    }
    return p.status();
  }
  for (Role r : p->roles) {
    if (RoleMay(r, action)) return absl::OkStatus();
  }
  std::string roles;
  for (Role r : p->roles) {
    if (!roles.empty()) roles.push_back(',');
    roles.append(RoleName(r));
  }
  return absl::PermissionDeniedError(
      base::StrCat(by, " (", roles.empty() ? "no role" : roles, ") may not ", ActionName(action)));
}

absl::StatusOr<Principal> UserStore::LoadPrincipal(const std::string& name, AuthMethod method,
                                                   int64_t now_us) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT disabled, vendor_from_us, vendor_to_us FROM "
                                        "users WHERE name = ?1",
                                        "read user"));
  q->Bind(1, name);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  if (q->Int(0) != 0) return absl::UnauthenticatedError(base::StrCat("user ", name, " disabled"));
  int64_t vendor_from = q->Int(1), vendor_to = q->Int(2);
  Principal p;
  p.name = name;
  p.method = method;
  ASSIGN_OR_RETURN(p.roles, ReadRoles(*db_, name));
  ASSIGN_OR_RETURN(p.teams, ReadTeams(*db_, name));
  if (p.Has(Role::kVendor)) {
    // Outside its box the vendor role is not there at all; inside, the principal ends with it.
    if (now_us < vendor_from || now_us >= vendor_to) {
      p.roles.erase(Role::kVendor);
    } else {
      p.valid_until_us = vendor_to;
    }
  }
  return p;
}

absl::Status UserStore::Record(const std::string& by, const std::string& what, int64_t now_us) {
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO changes(at_us, by, what) VALUES(?1, ?2, ?3)",
                                        "record change"));
  q->Bind(1, now_us).Bind(2, by).Bind(3, what);
  return q->Run();
}

absl::Status UserStore::Bootstrap(const std::string& name, std::string_view password,
                                  int64_t now_us) {
  RETURN_IF_ERROR(CheckName(name));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  {
    ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT count(*) FROM users", "count users"));
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (row && q->Int(0) != 0) {
      return absl::FailedPreconditionError(
          "the store already has users (new administrators need a grant)");
    }
  }
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO users(name, display_name, password_hash, "
                                        "created_by, created_us) VALUES(?1, ?1, ?2, "
                                        "'bootstrap', ?3)",
                                        "insert user"));
  q->Bind(1, name).Bind(2, hash).Bind(3, now_us);
  RETURN_IF_ERROR(q->Run());
  ASSIGN_OR_RETURN(auto r, db_->Prepare("INSERT INTO user_roles(name, role, request_id) "
                                        "VALUES(?1, 'administrator', 0)",
                                        "insert role"));
  r->Bind(1, name);
  RETURN_IF_ERROR(r->Run());
  RETURN_IF_ERROR(Record("bootstrap", base::StrCat("bootstrap administrator ", name), now_us));
  return txn.Commit();
}

absl::Status UserStore::AppointSecondAdministrator(const std::string& name, const std::string& by,
                                                   int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  {
    ASSIGN_OR_RETURN(
        auto q, db_->Prepare("SELECT 1 FROM meta WHERE key = 'second_administrator'", "read meta"));
    ASSIGN_OR_RETURN(bool done, q->Step());
    if (done) {
      return absl::FailedPreconditionError(
          "the second administrator was appointed already; administrators need a grant now");
    }
  }
  {
    ASSIGN_OR_RETURN(auto q,
                     db_->Prepare("SELECT created_by FROM users WHERE name = ?1", "read user"));
    q->Bind(1, by);
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row || q->Str(0) != "bootstrap") {
      return absl::PermissionDeniedError(base::StrCat(by, " is not the bootstrap administrator"));
    }
  }
  RETURN_IF_ERROR(RequireActor(by, Action::kGrantAccess, now_us));
  if (name == by)
    return absl::PermissionDeniedError(base::StrCat(by, " may not grant to themself"));
  ASSIGN_OR_RETURN(int64_t admins, CountAdministrators(*db_));
  if (admins != 1) {
    return absl::FailedPreconditionError("the bootstrap administrator is not the only one");
  }
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, name));
  if (!exists) return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  ASSIGN_OR_RETURN(std::set<Role> roles, ReadRoles(*db_, name));
  if (!roles.empty()) {
    return absl::FailedPreconditionError(base::StrCat(name, " already has roles"));
  }
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO user_roles(name, role, request_id) "
                                        "VALUES(?1, 'administrator', 0)",
                                        "insert role"));
  q->Bind(1, name);
  RETURN_IF_ERROR(q->Run());
  RETURN_IF_ERROR(
      db_->Exec("INSERT INTO meta(key, value) VALUES('second_administrator', '1')", "write meta"));
  RETURN_IF_ERROR(Record(by, base::StrCat("appoint second administrator ", name), now_us));
  return txn.Commit();
}

absl::Status UserStore::AddUser(const std::string& name, const std::string& display_name,
                                std::string_view password, const std::string& by, int64_t now_us) {
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckDisplayName(display_name));
  {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  }
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));  // slow: outside the lock
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, name));
  if (exists) return absl::AlreadyExistsError(base::StrCat("user ", name, " exists"));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO users(name, display_name, password_hash, "
                                        "created_by, created_us) VALUES(?1, ?2, ?3, ?4, ?5)",
                                        "insert user"));
  q->Bind(1, name).Bind(2, display_name.empty() ? name : display_name).Bind(3, hash);
  q->Bind(4, by).Bind(5, now_us);
  RETURN_IF_ERROR(q->Run());
  RETURN_IF_ERROR(Record(by, base::StrCat("add user ", name), now_us));
  return txn.Commit();
}

absl::Status UserStore::SetPassword(const std::string& name, std::string_view password,
                                    const std::string& by, int64_t now_us) {
  RETURN_IF_ERROR(CheckName(name));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  bool own = by == name;
  if (!own) RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  // A reset by an administrator also lifts a lockout; changing one's own does not.
  ASSIGN_OR_RETURN(auto q, db_->Prepare(own ? "UPDATE users SET password_hash = ?2 WHERE name = ?1"
                                            : "UPDATE users SET password_hash = ?2, "
                                              "failed_logins = 0, locked_until_us = 0 WHERE "
                                              "name = ?1",
                                        "set password"));
  q->Bind(1, name).Bind(2, hash);
  RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0)
    return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  RETURN_IF_ERROR(Record(by, base::StrCat("set password of ", name), now_us));
  return txn.Commit();
}

absl::Status UserStore::SetDisabled(const std::string& name, bool disabled, const std::string& by,
                                    int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  if (!disabled && by == name) {
    return absl::PermissionDeniedError("a user may not enable themself");
  }
  RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(auto q,
                   db_->Prepare("UPDATE users SET disabled = ?2 WHERE name = ?1", "set disabled"));
  q->Bind(1, name).Bind(2, disabled ? 1 : 0);
  RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0)
    return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  if (disabled) {
    ASSIGN_OR_RETURN(int64_t admins, CountAdministrators(*db_));
    if (admins == 0) {
      return absl::FailedPreconditionError("refused: that would leave no enabled administrator");
    }
  }
  RETURN_IF_ERROR(Record(by, base::StrCat(disabled ? "disable " : "enable ", name), now_us));
  return txn.Commit();
}

absl::StatusOr<UserInfo> UserStore::GetUser(const std::string& name) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT name, display_name, disabled, totp_secret IS NOT "
                                        "NULL, created_by, created_us, failed_logins, "
                                        "locked_until_us, vendor_from_us, vendor_to_us FROM "
                                        "users WHERE name = ?1",
                                        "read user"));
  q->Bind(1, name);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  UserInfo u;
  u.name = q->Str(0);
  u.display_name = q->Str(1);
  u.disabled = q->Int(2) != 0;
  u.totp_enrolled = q->Int(3) != 0;
  u.created_by = q->Str(4);
  u.created_us = q->Int(5);
  u.failed_logins = static_cast<int>(q->Int(6));
  u.locked_until_us = q->Int(7);
  u.vendor_from_us = q->Int(8);
  u.vendor_to_us = q->Int(9);
  ASSIGN_OR_RETURN(u.roles, ReadRoles(*db_, name));
  ASSIGN_OR_RETURN(u.teams, ReadTeams(*db_, name));
  return u;
}

absl::StatusOr<std::vector<UserInfo>> UserStore::ListUsers() {
  std::vector<std::string> names;
  {
    absl::MutexLock l(&mu_);
    ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT name FROM users ORDER BY name", "list users"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      names.emplace_back(q->Str(0));
    }
  }
  std::vector<UserInfo> out;
  for (const std::string& n : names) {
    absl::StatusOr<UserInfo> u = GetUser(n);
    if (u.status().code() == absl::StatusCode::kNotFound) continue;  // removed meanwhile
    if (!u.ok()) return u.status();
    out.push_back(*std::move(u));
  }
  return out;
}

absl::StatusOr<Principal> UserStore::Authenticate(const std::string& name,
                                                  std::string_view password,
                                                  std::string_view totp_code, int64_t now_us) {
  const absl::Status invalid = absl::UnauthenticatedError(kInvalidCredentials);
  std::optional<UserRow> user;
  if (ValidUserName(name) && password.size() <= kMaxPasswordBytes) {
    absl::MutexLock l(&mu_);
    ASSIGN_OR_RETURN(user, ReadUserRow(*db_, name));
  }
  if (!user) {
    DummyVerify(password);
    return invalid;
  }
  // Verified before anything else is looked at, so every path costs one Argon2id verification.
  bool password_ok =
      crypto_pwhash_str_verify(user->password_hash.c_str(), password.data(), password.size()) == 0;
  bool has_totp = !user->totp_secret.empty();
  std::optional<int64_t> step;
  if (has_totp) {
    step = MatchTotp(user->totp_secret, totp_code, now_us / 1'000'000);
    OPENSSL_cleanse(user->totp_secret.data(), user->totp_secret.size());
  }
  bool totp_ok = step.has_value() && *step > user->totp_last_step;
  bool second_ok = has_totp ? totp_ok : !options_.require_totp;

  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  // Re-read: another process may have locked the account or used this step meanwhile.
  ASSIGN_OR_RETURN(std::optional<UserRow> now_row, ReadUserRow(*db_, name));
  if (!now_row) return invalid;
  if (totp_ok && *step <= now_row->totp_last_step) totp_ok = second_ok = false;
  bool locked = now_row->locked_until_us > now_us;
  if (locked) {
    if (password_ok && totp_ok) {
      // Burn the step: a code shown once may not open the account when the lock ends.
      ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE users SET totp_last_step = ?2 WHERE name = ?1",
                                            "use totp step"));
      q->Bind(1, name).Bind(2, *step);
      RETURN_IF_ERROR(q->Run());
      RETURN_IF_ERROR(txn.Commit());
      return absl::UnauthenticatedError("account locked");
    }
    return invalid;  // attempts during a lockout do not count and say nothing
  }
  if (!password_ok || !second_ok) {
    // A missing enrolment after a right password is no failure of the user's (they cannot fix
    // it by guessing) and does not count towards the lockout.
    bool counts = !password_ok || has_totp;
    if (counts) {
      int failed = now_row->failed + 1;
      int64_t lock_until = 0;
      if (failed >= options_.max_failures) {
        lock_until = now_us + options_.lockout_us;
        failed = 0;
      }
      ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE users SET failed_logins = ?2, "
                                            "locked_until_us = ?3 WHERE name = ?1",
                                            "count failure"));
      q->Bind(1, name).Bind(2, failed).Bind(3, lock_until);
      RETURN_IF_ERROR(q->Run());
      if (lock_until != 0) {
        RETURN_IF_ERROR(Record(
            name, base::StrCat("locked after ", options_.max_failures, " failed logins"), now_us));
      }
      RETURN_IF_ERROR(txn.Commit());
    }
    return invalid;
  }
  if (now_row->disabled) return invalid;
  ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE users SET failed_logins = 0, locked_until_us = 0, "
                                        "totp_last_step = max(totp_last_step, ?2) WHERE name = ?1",
                                        "login ok"));
  q->Bind(1, name).Bind(2, step.value_or(-1));
  RETURN_IF_ERROR(q->Run());
  absl::StatusOr<Principal> p = LoadPrincipal(name, AuthMethod::kPassword, now_us);
  if (!p.ok()) return invalid;
  RETURN_IF_ERROR(txn.Commit());
  return p;
}

absl::StatusOr<Principal> UserStore::AuthenticateToken(std::string_view token, int64_t now_us) {
  const absl::Status invalid = absl::UnauthenticatedError("invalid token");
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix || token.size() > 128) return invalid;
  std::array<uint8_t, 32> digest = Sha256(AsBytes(token));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, user, expires_us, revoked FROM tokens WHERE "
                                        "sha256 = ?1",
                                        "find token"));
  q->BindBlob(1, digest.data(), digest.size());
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return invalid;
  int64_t id = q->Int(0);
  std::string user(q->Str(1));
  int64_t expires = q->Int(2);
  if (q->Int(3) != 0 || now_us >= expires) return invalid;
  absl::StatusOr<Principal> p = LoadPrincipal(user, AuthMethod::kToken, now_us);
  if (!p.ok()) return invalid;
  if (p->valid_until_us == 0 || expires < p->valid_until_us) p->valid_until_us = expires;
  ASSIGN_OR_RETURN(auto u,
                   db_->Prepare("UPDATE tokens SET last_used_us = ?2 WHERE id = ?1", "token used"));
  u->Bind(1, id).Bind(2, now_us);
  RETURN_IF_ERROR(u->Run());
  RETURN_IF_ERROR(txn.Commit());
  return p;
}

absl::StatusOr<Principal> UserStore::AuthenticateCertificate(std::string_view sha256_hex,
                                                             int64_t now_us) {
  const absl::Status invalid = absl::UnauthenticatedError("invalid certificate");
  absl::StatusOr<std::string> fp = NormalizeFingerprint(sha256_hex);
  if (!fp.ok()) return invalid;
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT user FROM certs WHERE sha256 = ?1", "find cert"));
  q->Bind(1, *fp);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return invalid;
  absl::StatusOr<Principal> p =
      LoadPrincipal(std::string(q->Str(0)), AuthMethod::kCertificate, now_us);
  if (!p.ok()) return invalid;
  return p;
}

absl::StatusOr<TotpEnrollment> UserStore::EnrollTotp(const std::string& name, const std::string& by,
                                                     int64_t now_us) {
  std::array<uint8_t, kTotpSecretBytes> secret;
  RandomFill(secret);
  TotpEnrollment e{Base32Encode(secret), TotpUri(name, secret)};
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  if (by != name) RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(
      auto q, db_->Prepare("UPDATE users SET totp_pending = ?2 WHERE name = ?1", "enroll totp"));
  q->Bind(1, name).BindBlob(2, secret.data(), secret.size());
  OPENSSL_cleanse(secret.data(), secret.size());
  RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0)
    return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  RETURN_IF_ERROR(Record(by, base::StrCat("enroll totp for ", name), now_us));
  RETURN_IF_ERROR(txn.Commit());
  return e;
}

absl::Status UserStore::ConfirmTotp(const std::string& name, std::string_view code,
                                    int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  ASSIGN_OR_RETURN(
      auto q, db_->Prepare("SELECT totp_pending FROM users WHERE name = ?1", "read pending totp"));
  q->Bind(1, name);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  std::vector<uint8_t> pending = BlobBytes(*q, 0);
  q.reset();
  if (pending.empty()) {
    return absl::FailedPreconditionError(
        base::StrCat("user ", name, ": no TOTP enrolment pending"));
  }
  std::optional<int64_t> step = MatchTotp(pending, code, now_us / 1'000'000);
  OPENSSL_cleanse(pending.data(), pending.size());
  if (!step) return absl::InvalidArgumentError("TOTP code does not match the new secret");
  ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE users SET totp_secret = totp_pending, "
                                        "totp_pending = NULL, totp_last_step = ?2 WHERE name = ?1",
                                        "confirm totp"));
  u->Bind(1, name).Bind(2, *step);
  RETURN_IF_ERROR(u->Run());
  RETURN_IF_ERROR(Record(name, base::StrCat("confirm totp for ", name), now_us));
  return txn.Commit();
}

absl::StatusOr<CreatedToken> UserStore::CreateToken(const std::string& user,
                                                    const std::string& name, int64_t expires_us,
                                                    const std::string& by, int64_t now_us) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("token name: need 1..64 characters");
  }
  RETURN_IF_ERROR(CheckDisplayName(name));
  if (expires_us <= now_us) return absl::InvalidArgumentError("token expiry is not in the future");
  std::array<uint8_t, kTokenBytes> raw;
  RandomFill(raw);
  CreatedToken t;
  t.token = base::StrCat(kTokenPrefix, Base64Url(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  std::array<uint8_t, 32> digest = Sha256(AsBytes(t.token));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  if (by != user) RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, user));
  if (!exists) return absl::NotFoundError(base::StrCat("user ", user, ": no such user"));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO tokens(user, name, sha256, created_by, "
                                        "created_us, expires_us) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                                        "insert token"));
  q->Bind(1, user).Bind(2, name).BindBlob(3, digest.data(), digest.size()).Bind(4, by);
  q->Bind(5, now_us).Bind(6, expires_us);
  RETURN_IF_ERROR(q->Run());
  t.id = static_cast<uint64_t>(db_->LastInsertRowid());
  RETURN_IF_ERROR(
      Record(by, base::StrCat("create token ", t.id, " '", name, "' for ", user), now_us));
  RETURN_IF_ERROR(txn.Commit());
  return t;
}

absl::Status UserStore::RevokeToken(uint64_t id, const std::string& by, int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT user FROM tokens WHERE id = ?1", "find token"));
  q->Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("token ", id, ": no such token"));
  std::string user(q->Str(0));
  q.reset();
  if (by != user) RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(auto u,
                   db_->Prepare("UPDATE tokens SET revoked = 1 WHERE id = ?1", "revoke token"));
  u->Bind(1, id);
  RETURN_IF_ERROR(u->Run());
  RETURN_IF_ERROR(Record(by, base::StrCat("revoke token ", id, " of ", user), now_us));
  return txn.Commit();
}

absl::StatusOr<std::vector<TokenInfo>> UserStore::ListTokens(const std::string& user) {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id, user, name, created_by, created_us, "
                                        "expires_us, revoked, last_used_us FROM tokens WHERE "
                                        "user = ?1 ORDER BY id",
                                        "list tokens"));
  q->Bind(1, user);
  std::vector<TokenInfo> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    TokenInfo t;
    t.id = static_cast<uint64_t>(q->Int(0));
    t.user = q->Str(1);
    t.name = q->Str(2);
    t.created_by = q->Str(3);
    t.created_us = q->Int(4);
    t.expires_us = q->Int(5);
    t.revoked = q->Int(6) != 0;
    t.last_used_us = q->Int(7);
    out.push_back(std::move(t));
  }
  return out;
}

absl::Status UserStore::AddCertificate(const std::string& user, std::string_view sha256_hex,
                                       const std::string& by, int64_t now_us) {
  ASSIGN_OR_RETURN(std::string fp, NormalizeFingerprint(sha256_hex));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, user));
  if (!exists) return absl::NotFoundError(base::StrCat("user ", user, ": no such user"));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO certs(sha256, user, added_by, added_us) "
                                        "VALUES(?1, ?2, ?3, ?4)",
                                        "insert cert"));
  q->Bind(1, fp).Bind(2, user).Bind(3, by).Bind(4, now_us);
  absl::Status s = q->Run();
  if (s.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError("certificate already registered");
  }
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(Record(by, base::StrCat("add certificate ", fp, " for ", user), now_us));
  return txn.Commit();
}

absl::Status UserStore::RemoveCertificate(std::string_view sha256_hex, const std::string& by,
                                          int64_t now_us) {
  ASSIGN_OR_RETURN(std::string fp, NormalizeFingerprint(sha256_hex));
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kUserManage, now_us));
  ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM certs WHERE sha256 = ?1", "remove cert"));
  q->Bind(1, fp);
  RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0) return absl::NotFoundError("certificate not registered");
  RETURN_IF_ERROR(Record(by, base::StrCat("remove certificate ", fp), now_us));
  return txn.Commit();
}

absl::StatusOr<uint64_t> UserStore::RequestGrant(const std::string& grantee, const Grant& grant,
                                                 const std::string& by, int64_t now_us) {
  if (grant.kind == Grant::Kind::kRole && grant.role == Role::kVendor) {
    return absl::InvalidArgumentError(
        "the vendor role comes only with a time box "
        "(RequestVendorAccess)");
  }
  if (grant.kind == Grant::Kind::kTeam && !ValidTeamName(grant.team)) {
    return absl::InvalidArgumentError(
        base::StrCat("team '", grant.team, "': need 1..64 of A-Z a-z 0-9 . _ -"));
  }
  if (by == grantee) {
    return absl::PermissionDeniedError(base::StrCat(by, " may not grant to themself"));
  }
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kGrantAccess, now_us));
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, grantee));
  if (!exists) return absl::NotFoundError(base::StrCat("user ", grantee, ": no such user"));
  const bool role = grant.kind == Grant::Kind::kRole;
  std::string value = role ? std::string(RoleName(grant.role)) : grant.team;
  {
    ASSIGN_OR_RETURN(auto q, db_->Prepare(role ? "SELECT 1 FROM user_roles WHERE name = ?1 AND "
                                                 "role = ?2"
                                               : "SELECT 1 FROM user_teams WHERE name = ?1 AND "
                                                 "team = ?2",
                                          "find grant"));
    q->Bind(1, grantee).Bind(2, value);
    ASSIGN_OR_RETURN(bool held, q->Step());
    if (held) {
      return absl::AlreadyExistsError(base::StrCat(grantee, " already has ", grant.ToString()));
    }
  }
  {
    ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT id FROM grant_requests WHERE grantee = ?1 AND "
                                          "kind = ?2 AND value = ?3 AND status = 'pending'",
                                          "find request"));
    q->Bind(1, grantee).Bind(2, role ? "role" : "team").Bind(3, value);
    ASSIGN_OR_RETURN(bool pending, q->Step());
    if (pending) {
      return absl::AlreadyExistsError(
          base::StrCat("request ", q->Int(0), " for this grant is pending"));
    }
  }
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO grant_requests(grantee, kind, value, "
                                        "requested_by, requested_us, status) VALUES(?1, ?2, ?3, "
                                        "?4, ?5, 'pending')",
                                        "insert request"));
  q->Bind(1, grantee).Bind(2, role ? "role" : "team").Bind(3, value).Bind(4, by);
  q->Bind(5, now_us);
  RETURN_IF_ERROR(q->Run());
  auto id = static_cast<uint64_t>(db_->LastInsertRowid());
  RETURN_IF_ERROR(
      Record(by, base::StrCat("request ", id, ": ", grant.ToString(), " for ", grantee), now_us));
  RETURN_IF_ERROR(txn.Commit());
  return id;
}

absl::StatusOr<uint64_t> UserStore::RequestVendorAccess(const std::string& name, int64_t from_us,
                                                        int64_t to_us, const std::string& by,
                                                        int64_t now_us) {
  if (to_us <= from_us || to_us <= now_us) {
    return absl::InvalidArgumentError("vendor window: need from < to and to in the future");
  }
  if (by == name) {
    return absl::PermissionDeniedError(base::StrCat(by, " may not grant to themself"));
  }
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kGrantAccess, now_us));
  ASSIGN_OR_RETURN(std::set<Role> roles, ReadRoles(*db_, name));
  ASSIGN_OR_RETURN(bool exists, UserExists(*db_, name));
  if (!exists) return absl::NotFoundError(base::StrCat("user ", name, ": no such user"));
  for (Role r : roles) {
    if (r != Role::kVendor) {
      // A vendor account is nothing else: support staff get no standing role.
      return absl::FailedPreconditionError(
          base::StrCat(name, " has role ", RoleName(r), "; a vendor account may have no other"));
    }
  }
  ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO grant_requests(grantee, kind, value, "
                                        "vendor_from_us, vendor_to_us, requested_by, "
                                        "requested_us, status) VALUES(?1, 'vendor', 'vendor', "
                                        "?2, ?3, ?4, ?5, 'pending')",
                                        "insert request"));
  q->Bind(1, name).Bind(2, from_us).Bind(3, to_us).Bind(4, by).Bind(5, now_us);
  RETURN_IF_ERROR(q->Run());
  auto id = static_cast<uint64_t>(db_->LastInsertRowid());
  RETURN_IF_ERROR(Record(
      by, base::StrCat("request ", id, ": vendor access for ", name, " ", from_us, "..", to_us),
      now_us));
  RETURN_IF_ERROR(txn.Commit());
  return id;
}

absl::StatusOr<GrantRequest> UserStore::ApproveGrant(uint64_t id, const std::string& by,
                                                     int64_t now_us) {
  return Decide(id, by, true, now_us);
}

absl::StatusOr<GrantRequest> UserStore::RejectGrant(uint64_t id, const std::string& by,
                                                    int64_t now_us) {
  return Decide(id, by, false, now_us);
}

absl::StatusOr<GrantRequest> UserStore::Decide(uint64_t id, const std::string& by, bool approve,
                                               int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  ASSIGN_OR_RETURN(GrantRequest r, QueryRequest(*db_, id));
  if (r.status != "pending") {
    return absl::FailedPreconditionError(base::StrCat("grant request ", id, " is ", r.status));
  }
  if (by == r.grantee) {
    return absl::PermissionDeniedError(base::StrCat(by, " may not decide a grant to themself"));
  }
  if (approve && by == r.requested_by) {
    return absl::PermissionDeniedError(base::StrCat("four eyes: ", by, " requested grant ", id,
                                                    "; another person must approve it"));
  }
  RETURN_IF_ERROR(RequireActor(by, Action::kGrantAccess, now_us));
  const bool vendor = r.vendor_to_us != 0;
  if (approve) {
    if (vendor) {
      if (r.vendor_to_us <= now_us) {
        return absl::FailedPreconditionError(
            base::StrCat("grant request ", id, ": the vendor window has ended"));
      }
      ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE users SET vendor_from_us = ?2, vendor_to_us = "
                                            "?3 WHERE name = ?1",
                                            "set vendor window"));
      u->Bind(1, r.grantee).Bind(2, r.vendor_from_us).Bind(3, r.vendor_to_us);
      RETURN_IF_ERROR(u->Run());
    }
    const bool role = r.grant.kind == Grant::Kind::kRole;
    ASSIGN_OR_RETURN(auto q, db_->Prepare(role ? "INSERT OR IGNORE INTO user_roles(name, role, "
                                                 "request_id) VALUES(?1, ?2, ?3)"
                                               : "INSERT OR IGNORE INTO user_teams(name, team, "
                                                 "request_id) VALUES(?1, ?2, ?3)",
                                          "apply grant"));
    q->Bind(1, r.grantee)
        .Bind(2, role ? std::string(RoleName(r.grant.role)) : r.grant.team)
        .Bind(3, id);
    RETURN_IF_ERROR(q->Run());
  }
  ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE grant_requests SET status = ?2, decided_by = ?3, "
                                        "decided_us = ?4 WHERE id = ?1",
                                        "decide request"));
  r.status = approve ? "approved" : "rejected";
  r.decided_by = by;
  r.decided_us = now_us;
  q->Bind(1, id).Bind(2, r.status).Bind(3, by).Bind(4, now_us);
  RETURN_IF_ERROR(q->Run());
  RETURN_IF_ERROR(Record(
      by,
      base::StrCat(approve ? "approve" : "reject", " request ", id, ": ",
                   vendor ? std::string("vendor access") : r.grant.ToString(), " for ", r.grantee),
      now_us));
  RETURN_IF_ERROR(txn.Commit());
  return r;
}

absl::StatusOr<std::vector<GrantRequest>> UserStore::PendingGrants() {
  absl::MutexLock l(&mu_);
  ASSIGN_OR_RETURN(auto q, db_->Prepare(REQUEST_SELECT "WHERE status = 'pending' ORDER BY id",
                                        "pending requests"));
  std::vector<GrantRequest> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    ASSIGN_OR_RETURN(GrantRequest r, ReadRequest(*q));
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<GrantRequest> UserStore::GetGrantRequest(uint64_t id) {
  absl::MutexLock l(&mu_);
  return QueryRequest(*db_, id);
}

absl::Status UserStore::Revoke(const std::string& name, const Grant& grant, const std::string& by,
                               int64_t now_us) {
  absl::MutexLock l(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(/*write=*/true));
  RETURN_IF_ERROR(RequireActor(by, Action::kGrantAccess, now_us));
  const bool role = grant.kind == Grant::Kind::kRole;
  ASSIGN_OR_RETURN(auto q, db_->Prepare(role ? "DELETE FROM user_roles WHERE name = ?1 AND "
                                               "role = ?2"
                                             : "DELETE FROM user_teams WHERE name = ?1 AND "
                                               "team = ?2",
                                        "revoke"));
  q->Bind(1, name).Bind(2, role ? std::string(RoleName(grant.role)) : grant.team);
  RETURN_IF_ERROR(q->Run());
  if (db_->Changes() == 0) {
    return absl::NotFoundError(base::StrCat(name, " does not have ", grant.ToString()));
  }
  if (role && grant.role == Role::kAdministrator) {
    ASSIGN_OR_RETURN(int64_t admins, CountAdministrators(*db_));
    if (admins == 0) {
      return absl::FailedPreconditionError("refused: that would leave no enabled administrator");
    }
  }
  if (role && grant.role == Role::kVendor) {
    ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE users SET vendor_from_us = 0, vendor_to_us = 0 "
                                          "WHERE name = ?1",
                                          "clear vendor window"));
    u->Bind(1, name);
    RETURN_IF_ERROR(u->Run());
  }
  RETURN_IF_ERROR(Record(by, base::StrCat("revoke ", grant.ToString(), " of ", name), now_us));
  return txn.Commit();
}

}  // namespace tapvault::access
