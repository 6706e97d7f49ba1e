// The people of tapvault: users, their roles and teams (granted with four eyes), passwords
// (Argon2id), TOTP second factor, API tokens, client certificates, lockout and vendor time boxes,
// in one SQLite file DIR/users.db.
//
//   ASSIGN_OR_RETURN(auto users, access::UserStore::Open(dir, /*create=*/true));
//   RETURN_IF_ERROR(users->Bootstrap("root", password, now_us));   // first administrator, once
//   RETURN_IF_ERROR(users->AddUser("alice", "Alice A.", pw, "root", now_us));
//   ASSIGN_OR_RETURN(uint64_t id, users->RequestGrant("alice", Grant::OfTeam("narc-2"), "root",
//                                                     now_us));
//   ASSIGN_OR_RETURN(GrantRequest done, users->ApproveGrant(id, "bob", now_us));  // bob != root
//   ASSIGN_OR_RETURN(Principal p, users->Authenticate("alice", pw, "123456", now_us));
//
// Rules (why):
// - Roles and teams are added only by a grant request of one person with grant_access, approved
//   by a different person with grant_access; neither may be the grantee (four eyes, no
//   self-grant). The vendor role comes only with a time box (RequestVendorAccess), approved the
//   same way. Revoking a role or team, disabling a user and revoking a token take effect at
//   once and need one person (least privilege: taking access away must never wait), except that
//   the last enabled administrator cannot lose the role.
// - Bootstrap is the only way to get an administrator without four eyes and works only while
//   the store has no user at all. Four eyes needs two administrators, so the bootstrap
//   administrator may appoint exactly one more, once in the life of the store
//   (AppointSecondAdministrator, only while they are the only administrator); every later
//   administrator is granted with four eyes.
// - Authenticate never says which factor was wrong, nor whether the user exists: unknown user,
//   disabled user, wrong password, wrong or replayed TOTP and missing TOTP enrolment all give
//   Unauthenticated("invalid credentials"), and an unknown user costs the same Argon2id
//   verification as a known one. After max_failures wrong attempts the account is locked for
//   lockout_us; while locked no attempt counts, and "account locked" is said only to someone
//   who gave the right password AND a right TOTP code (so the message is no password oracle
//   that would undo the lockout; with require_totp off and no TOTP enrolled it is never said).
// - TOTP: RFC 6238, HMAC-SHA1, 6 digits, 30 s, ±1 step; a step at or before the last accepted
//   one is refused (no replay). The 20-byte secret is stored as is in users.db (mode 0600,
//   readable by the service account). Better would be to encrypt it under a key from the
//   master key / HSM (crypto/), so that a copy of users.db alone does not give the second
//   factor; TODO(access): seal TOTP secrets with the store's master key (#5).
// - API tokens are 32 random bytes shown once as "tvt_" + base64url; only their SHA-256 is
//   stored. Tokens authenticate without TOTP (they are for machines) but honour disable,
//   expiry, revocation and the vendor box. Client certificates are stored by the SHA-256
//   fingerprint of the DER certificate (hex); TLS verification of the chain is the caller's.
// - `by` is the name of the acting user; it must exist, be enabled, and have a role that may do
//   the action (user_manage for users, grant_access for grants). Every mutating call also
//   appends a row to the changes table (who, what, when); the audit log entry is the caller's.
//
// Files and processes: WAL, synchronous=FULL, busy_timeout 30 s, file mode 0600; the server and
// CLI processes may use the file at once. Thread-safe: connection use is serialised on an
// internal mutex; Argon2id hashing runs outside it.
// Errors: InvalidArgument (bad name, weak password, bad arguments), NotFound (no such user,
// request or token), AlreadyExists, PermissionDenied (`by` may not do this, four eyes, self
// grant), FailedPrecondition (bootstrap twice, state), Unauthenticated (Authenticate*),
// DataLoss (corrupt file), Unavailable (locked by another writer too long).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "access/principal.h"
#include "access/roles.h"

namespace tapvault::sqlite {
class Db;
}  // namespace tapvault::sqlite

namespace tapvault::access {

inline constexpr std::string_view kUsersFileName = "users.db";
inline constexpr std::string_view kTokenPrefix = "tvt_";

// A user name: 1..64 of [a-z0-9._-]. A team name: 1..64 of [A-Za-z0-9._-].
bool ValidUserName(std::string_view name);
bool ValidTeamName(std::string_view team);

// Argon2id cost (libsodium crypto_pwhash_argon2id_*): kInteractive for the product
// (64 MiB, 2 passes), kModerate for a stronger setting, kMin only for tests.
enum class PasswordCost { kInteractive, kModerate, kMinForTest };

struct UserStoreOptions {
  PasswordCost password_cost = PasswordCost::kInteractive;
  // Password logins need a confirmed TOTP. Off only for test or transition set-ups.
  bool require_totp = true;
  int max_failures = 5;
  int64_t lockout_us = int64_t{15} * 60 * 1'000'000;
  size_t min_password_length = 12;
};

// A role or a team (exactly one of them).
struct Grant {
  enum class Kind { kRole, kTeam };
  Kind kind = Kind::kRole;
  Role role = Role::kInvestigator;  // kRole
  std::string team;                 // kTeam

  static Grant OfRole(Role r) { return Grant{Kind::kRole, r, {}}; }
  static Grant OfTeam(std::string t) {
    return Grant{Kind::kTeam, Role::kInvestigator, std::move(t)};
  }
  std::string ToString() const;  // "role investigator", "team narc-2"
};

struct GrantRequest {
  uint64_t id = 0;
  std::string grantee;
  // For a vendor request: kind kRole, role kVendor, with the window below.
  Grant grant;
  int64_t vendor_from_us = 0;
  int64_t vendor_to_us = 0;
  std::string requested_by;
  int64_t requested_us = 0;
  std::string status;  // "pending", "approved", "rejected"
  std::string decided_by;
  int64_t decided_us = 0;
};

struct UserInfo {
  std::string name;
  std::string display_name;
  std::set<Role> roles;
  std::set<std::string> teams;
  bool disabled = false;
  bool totp_enrolled = false;
  std::string created_by;
  int64_t created_us = 0;
  int failed_logins = 0;
  int64_t locked_until_us = 0;  // 0: not locked
  int64_t vendor_from_us = 0;   // vendor time box; 0/0: none
  int64_t vendor_to_us = 0;
};

struct TotpEnrollment {
  std::string secret_base32;  // to type into an authenticator app
  std::string uri;            // otpauth://totp/tapvault:NAME?secret=...&issuer=tapvault
};

struct CreatedToken {
  uint64_t id = 0;
  std::string token;  // "tvt_..." shown once; not stored
};

struct TokenInfo {
  uint64_t id = 0;
  std::string user;
  std::string name;
  std::string created_by;
  int64_t created_us = 0;
  int64_t expires_us = 0;
  bool revoked = false;
  int64_t last_used_us = 0;  // 0: never
};

class UserStore {
 public:
  // Opens DIR/users.db; with `create`, creates the file (0600) and schema if missing. Without,
  // a missing file is NotFound.
  static absl::StatusOr<std::unique_ptr<UserStore>> Open(const std::string& dir, bool create,
                                                         UserStoreOptions options = {});
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // --- people -----------------------------------------------------------------------------
  // The first administrator; FailedPrecondition once any user exists.
  [[nodiscard]] absl::Status Bootstrap(const std::string& name, std::string_view password,
                                       int64_t now_us);
  // The bootstrap administrator `by` makes `name` (an existing user without roles) the second
  // administrator. FailedPrecondition once done, or when `by` is not the only administrator.
  [[nodiscard]] absl::Status AppointSecondAdministrator(const std::string& name,
                                                        const std::string& by, int64_t now_us);
  // A user with no roles and no teams (they come by grants). `by` needs user_manage.
  [[nodiscard]] absl::Status AddUser(const std::string& name, const std::string& display_name,
                                     std::string_view password, const std::string& by,
                                     int64_t now_us);
  // `by` is the user (changing their own) or has user_manage (a reset, which also lifts a lock).
  [[nodiscard]] absl::Status SetPassword(const std::string& name, std::string_view password,
                                         const std::string& by, int64_t now_us);
  // `by` needs user_manage and may not enable themself. Disabling the last enabled
  // administrator is refused.
  [[nodiscard]] absl::Status SetDisabled(const std::string& name, bool disabled,
                                         const std::string& by, int64_t now_us);
  absl::StatusOr<UserInfo> GetUser(const std::string& name);
  absl::StatusOr<std::vector<UserInfo>> ListUsers();

  // --- authentication ---------------------------------------------------------------------
  absl::StatusOr<Principal> Authenticate(const std::string& name, std::string_view password,
                                         std::string_view totp_code, int64_t now_us);
  // Unauthenticated("invalid token") for anything but a live token of an enabled user.
  absl::StatusOr<Principal> AuthenticateToken(std::string_view token, int64_t now_us);
  // `sha256_hex`: 64 hex digits, optionally with ':' between bytes, any case.
  absl::StatusOr<Principal> AuthenticateCertificate(std::string_view sha256_hex, int64_t now_us);

  // --- second factor ----------------------------------------------------------------------
  // A new secret, pending until ConfirmTotp; the one in force (if any) stays until then.
  // `by` is the user or has user_manage.
  absl::StatusOr<TotpEnrollment> EnrollTotp(const std::string& name, const std::string& by,
                                            int64_t now_us);
  // Activates the pending secret if `code` is right for it at now_us.
  [[nodiscard]] absl::Status ConfirmTotp(const std::string& name, std::string_view code,
                                         int64_t now_us);

  // --- tokens and certificates ------------------------------------------------------------
  // `by` is the user or has user_manage. expires_us must be in the future.
  absl::StatusOr<CreatedToken> CreateToken(const std::string& user, const std::string& name,
                                           int64_t expires_us, const std::string& by,
                                           int64_t now_us);
  [[nodiscard]] absl::Status RevokeToken(uint64_t id, const std::string& by, int64_t now_us);
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(const std::string& user);
  [[nodiscard]] absl::Status AddCertificate(const std::string& user, std::string_view sha256_hex,
                                            const std::string& by, int64_t now_us);
  [[nodiscard]] absl::Status RemoveCertificate(std::string_view sha256_hex, const std::string& by,
                                               int64_t now_us);

  // --- grants -----------------------------------------------------------------------------
  // A request by `by` (grant_access, not the grantee) to give `grant` to `grantee`; the id.
  absl::StatusOr<uint64_t> RequestGrant(const std::string& grantee, const Grant& grant,
                                        const std::string& by, int64_t now_us);
  // A vendor account `name` (an existing user) for [from_us, to_us); approved like a grant.
  absl::StatusOr<uint64_t> RequestVendorAccess(const std::string& name, int64_t from_us,
                                               int64_t to_us, const std::string& by,
                                               int64_t now_us);
  // `by` needs grant_access and may be neither the requester nor the grantee. Returns the
  // request as decided.
  absl::StatusOr<GrantRequest> ApproveGrant(uint64_t id, const std::string& by, int64_t now_us);
  // `by` needs grant_access and may not be the grantee (the requester may withdraw).
  absl::StatusOr<GrantRequest> RejectGrant(uint64_t id, const std::string& by, int64_t now_us);
  absl::StatusOr<std::vector<GrantRequest>> PendingGrants();
  absl::StatusOr<GrantRequest> GetGrantRequest(uint64_t id);
  // Immediate; `by` needs grant_access. NotFound if the user does not hold it.
  [[nodiscard]] absl::Status Revoke(const std::string& name, const Grant& grant,
                                    const std::string& by, int64_t now_us);

 private:
  UserStore(std::unique_ptr<sqlite::Db> db, UserStoreOptions options);

  absl::StatusOr<std::string> HashPassword(std::string_view password) const;
  // Verifies against a hash of a throw-away password so that an unknown user costs the same.
  void DummyVerify(std::string_view password);
  absl::Status RequireActor(const std::string& by, Action action, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Principal> LoadPrincipal(const std::string& name, AuthMethod method,
                                          int64_t now_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status Record(const std::string& by, const std::string& what, int64_t now_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<GrantRequest> Decide(uint64_t id, const std::string& by, bool approve,
                                      int64_t now_us);

  const UserStoreOptions options_;
  absl::Mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
  absl::Mutex dummy_mu_;
  std::string dummy_hash_ ABSL_GUARDED_BY(dummy_mu_);
};

}  // namespace tapvault::access
