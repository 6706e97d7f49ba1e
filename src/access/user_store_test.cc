#include "access/user_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "access/authorize.h"
#include "access/totp.h"

namespace tapvault::access {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kT0 = int64_t{1'800'000'010} * kSecond;  // 10 s into a 30 s step
constexpr std::string_view kPw = "correct horse battery";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "access_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Base32 (no padding) back to bytes, as an authenticator app reads the secret.
std::vector<uint8_t> Base32Decode(std::string_view s) {
  std::vector<uint8_t> out;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : s) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c - '2' + 26;
    buf = (buf << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buf >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

std::string Code(const std::vector<uint8_t>& secret, int64_t now_us) {
  return TotpCode(secret, now_us / kSecond);
}

class UserStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen({}); }

  void Reopen(UserStoreOptions o) {
    o.password_cost = PasswordCost::kMinForTest;
    store_.reset();
    auto s = UserStore::Open(dir_.path(), true, o);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  // root (bootstrap) and admin2 (the appointed second administrator), both with TOTP.
  void TwoAdministrators() {
    ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
    ASSERT_TRUE(store_->AddUser("admin2", "Second Admin", kPw, "root", kT0).ok());
    ASSERT_TRUE(store_->AppointSecondAdministrator("admin2", "root", kT0).ok());
  }

  void AddUser(const std::string& name) {
    absl::Status s = store_->AddUser(name, "", kPw, "root", kT0);
    ASSERT_TRUE(s.ok()) << s;
  }

  // Enrols TOTP for `name` at `now_us` and returns the secret.
  std::vector<uint8_t> Enroll(const std::string& name, int64_t now_us) {
    auto e = store_->EnrollTotp(name, name, now_us);
    EXPECT_TRUE(e.ok()) << e.status();
    if (!e.ok()) return {};
    EXPECT_THAT(e->uri, StartsWith("otpauth://totp/tapvault:" + name + "?secret="));
    std::vector<uint8_t> secret = Base32Decode(e->secret_base32);
    EXPECT_EQ(secret.size(), kTotpSecretBytes);
    absl::Status s = store_->ConfirmTotp(name, Code(secret, now_us), now_us);
    EXPECT_TRUE(s.ok()) << s;
    return secret;
  }

  void GrantNow(const std::string& who, const access::Grant& g) {
    auto id = store_->RequestGrant(who, g, "root", kT0);
    ASSERT_TRUE(id.ok()) << id.status();
    auto r = store_->ApproveGrant(*id, "admin2", kT0);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::string DbPath() const { return dir_.path() + "/users.db"; }

  TempDir dir_;
  std::unique_ptr<UserStore> store_;
};

TEST_F(UserStoreTest, FileIsPrivateAndWal) {
  struct stat st;
  ASSERT_EQ(::stat(DbPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_TRUE(std::filesystem::exists(DbPath() + "-wal"));
  EXPECT_EQ(UserStore::Open(dir_.path() + "/nonexistent", false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(UserStoreTest, BootstrapOnce) {
  EXPECT_EQ(store_->AddUser("alice", "", kPw, "root", kT0).code(),
            absl::StatusCode::kPermissionDenied);  // no root yet
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  EXPECT_EQ(store_->Bootstrap("root2", kPw, kT0).code(), absl::StatusCode::kFailedPrecondition);
  auto u = store_->GetUser("root");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->roles, std::set<Role>{Role::kAdministrator});
  EXPECT_EQ(store_->GetUser("root2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(UserStoreTest, SecondAdministratorOnlyOnce) {
  TwoAdministrators();
  AddUser("carol");
  EXPECT_EQ(store_->AppointSecondAdministrator("carol", "root", kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->AppointSecondAdministrator("carol", "admin2", kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->GetUser("carol")->roles.empty());
}

TEST_F(UserStoreTest, PasswordIsArgon2idAndNameValidated) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  std::string db = Slurp(DbPath()) + Slurp(DbPath() + "-wal");
  EXPECT_NE(db.find("$argon2id$"), std::string::npos);
  EXPECT_EQ(db.find(std::string(kPw)), std::string::npos);
  EXPECT_EQ(store_->AddUser("Alice", "", kPw, "root", kT0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddUser("", "", kPw, "root", kT0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddUser(std::string(65, 'a'), "", kPw, "root", kT0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->AddUser("alice", "", "short", "root", kT0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->AddUser("a.b_c-9", "", kPw, "root", kT0).ok());
  EXPECT_EQ(store_->AddUser("a.b_c-9", "", kPw, "root", kT0).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(UserStoreTest, AddUserNeedsUserManage) {
  TwoAdministrators();
  AddUser("alice");
  EXPECT_EQ(store_->AddUser("mallory", "", kPw, "alice", kT0).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->AddUser("mallory", "", kPw, "nobody", kT0).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(UserStoreTest, SameMessageForUnknownUserWrongPasswordWrongTotp) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  std::vector<uint8_t> secret = Enroll("root", kT0);
  int64_t t = kT0 + 60 * kSecond;
  std::string good = Code(secret, t);
  std::string bad = good == "000000" ? "000001" : "000000";
  absl::Status unknown = store_->Authenticate("nobody", kPw, good, t).status();
  absl::Status wrong_pw = store_->Authenticate("root", "wrong password!!", good, t).status();
  absl::Status wrong_totp = store_->Authenticate("root", kPw, bad, t).status();
  absl::Status no_totp = store_->Authenticate("root", kPw, "", t).status();
  absl::Status bad_name = store_->Authenticate("Root?", kPw, good, t).status();
  for (const absl::Status& s : {unknown, wrong_pw, wrong_totp, no_totp, bad_name}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(s.message(), "invalid credentials");
  }
  auto p = store_->Authenticate("root", kPw, good, t);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "root");
  EXPECT_EQ(p->method, AuthMethod::kPassword);
  EXPECT_TRUE(p->Has(Role::kAdministrator));
}

TEST_F(UserStoreTest, TotpRequiredUnlessOptionsAllow) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  EXPECT_EQ(store_->Authenticate("root", kPw, "", kT0).status().message(), "invalid credentials");
  Reopen({.require_totp = false});
  EXPECT_TRUE(store_->Authenticate("root", kPw, "", kT0).ok());
  // Once enrolled, the code is needed even when the option allows password only.
  std::vector<uint8_t> secret = Enroll("root", kT0);
  EXPECT_FALSE(store_->Authenticate("root", kPw, "", kT0 + 30 * kSecond).ok());
  EXPECT_TRUE(
      store_->Authenticate("root", kPw, Code(secret, kT0 + 30 * kSecond), kT0 + 30 * kSecond).ok());
}

TEST_F(UserStoreTest, TotpReplayAndWindow) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  std::vector<uint8_t> secret = Enroll("root", kT0);  // uses the step of kT0
  // The enrolment code's step is used: the same code cannot log in.
  EXPECT_FALSE(store_->Authenticate("root", kPw, Code(secret, kT0), kT0).ok());
  int64_t t = kT0 + 300 * kSecond;
  // One step early or late is accepted (clock skew); two are not.
  EXPECT_FALSE(store_->Authenticate("root", kPw, Code(secret, t + 60 * kSecond), t).ok());
  EXPECT_TRUE(store_->Authenticate("root", kPw, Code(secret, t - 30 * kSecond), t).ok());
  // Replay of the same code, and an older step, are refused; a newer step works.
  EXPECT_FALSE(store_->Authenticate("root", kPw, Code(secret, t - 30 * kSecond), t).ok());
  EXPECT_TRUE(store_->Authenticate("root", kPw, Code(secret, t), t).ok());
  EXPECT_FALSE(store_->Authenticate("root", kPw, Code(secret, t), t).ok());
  EXPECT_FALSE(store_->Authenticate("root", kPw, Code(secret, t - 30 * kSecond), t).ok());
  EXPECT_TRUE(store_->Authenticate("root", kPw, Code(secret, t + 30 * kSecond), t).ok());
}

TEST_F(UserStoreTest, ConfirmTotpNeedsRightCode) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  EXPECT_EQ(store_->ConfirmTotp("root", "123456", kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  auto e = store_->EnrollTotp("root", "root", kT0);
  ASSERT_TRUE(e.ok());
  std::vector<uint8_t> secret = Base32Decode(e->secret_base32);
  std::string good = Code(secret, kT0);
  EXPECT_EQ(store_->ConfirmTotp("root", good == "000000" ? "000001" : "000000", kT0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(store_->GetUser("root")->totp_enrolled);
  EXPECT_TRUE(store_->ConfirmTotp("root", good, kT0).ok());
  EXPECT_TRUE(store_->GetUser("root")->totp_enrolled);
}

TEST_F(UserStoreTest, LockoutAfterFiveFailures) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  std::vector<uint8_t> secret = Enroll("root", kT0);
  int64_t t = kT0 + 60 * kSecond;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(store_->Authenticate("root", "wrong password!!", "", t).status().message(),
              "invalid credentials");
  }
  EXPECT_GT(store_->GetUser("root")->locked_until_us, t);
  // While locked: a wrong password says nothing new; the right password with a wrong code
  // neither (no password oracle); only both right say "account locked".
  EXPECT_EQ(store_->Authenticate("root", "wrong password!!", Code(secret, t), t).status().message(),
            "invalid credentials");
  EXPECT_EQ(store_->Authenticate("root", kPw, "", t).status().message(), "invalid credentials");
  EXPECT_EQ(store_->Authenticate("root", kPw, Code(secret, t), t).status().message(),
            "account locked");
  // After 15 minutes the account opens again, and a success resets the counter.
  int64_t later = t + 15 * 60 * kSecond;
  auto p = store_->Authenticate("root", kPw, Code(secret, later), later);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(store_->GetUser("root")->failed_logins, 0);
  // Four failures do not lock.
  int64_t t2 = later + 60 * kSecond;
  for (int i = 0; i < 4; ++i)
    EXPECT_FALSE(store_->Authenticate("root", "nope nope nope", "", t2).ok());
  EXPECT_TRUE(store_->Authenticate("root", kPw, Code(secret, t2), t2).ok());
}

TEST_F(UserStoreTest, DisabledUserCannotLogIn) {
  TwoAdministrators();
  AddUser("alice");
  std::vector<uint8_t> secret = Enroll("alice", kT0);
  ASSERT_TRUE(store_->SetDisabled("alice", true, "root", kT0).ok());
  int64_t t = kT0 + 60 * kSecond;
  EXPECT_EQ(store_->Authenticate("alice", kPw, Code(secret, t), t).status().message(),
            "invalid credentials");
  EXPECT_EQ(store_->SetDisabled("alice", false, "alice", t).code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(store_->SetDisabled("alice", false, "admin2", t).ok());
  EXPECT_TRUE(store_->Authenticate("alice", kPw, Code(secret, t), t).ok());
}

TEST_F(UserStoreTest, LastAdministratorCannotBeRemoved) {
  ASSERT_TRUE(store_->Bootstrap("root", kPw, kT0).ok());
  EXPECT_EQ(store_->SetDisabled("root", true, "root", kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Revoke("root", Grant::OfRole(Role::kAdministrator), "root", kT0).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(store_->GetUser("root")->roles.count(Role::kAdministrator));
}

TEST_F(UserStoreTest, TokensStoredAsHashOnly) {
  TwoAdministrators();
  AddUser("alice");
  GrantNow("alice", Grant::OfRole(Role::kInvestigator));
  auto t = store_->CreateToken("alice", "laptop", kT0 + 3600 * kSecond, "alice", kT0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_THAT(t->token, StartsWith("tvt_"));
  EXPECT_EQ(t->token.size(), 4u + 43u);  // 32 bytes base64url without padding
  std::string db = Slurp(DbPath()) + Slurp(DbPath() + "-wal");
  EXPECT_EQ(db.find(t->token), std::string::npos);
  EXPECT_EQ(db.find(t->token.substr(4)), std::string::npos);

  auto p = store_->AuthenticateToken(t->token, kT0 + kSecond);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->method, AuthMethod::kToken);
  EXPECT_EQ(p->valid_until_us, kT0 + 3600 * kSecond);
  EXPECT_TRUE(p->Has(Role::kInvestigator));

  auto list = store_->ListTokens("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "laptop");
  EXPECT_EQ((*list)[0].last_used_us, kT0 + kSecond);

  std::string tampered = t->token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(store_->AuthenticateToken(tampered, kT0).status().message(), "invalid token");
  EXPECT_FALSE(store_->AuthenticateToken(t->token, kT0 + 3600 * kSecond).ok());  // expired
  EXPECT_EQ(store_->RevokeToken(t->id, "admin2", kT0).code(), absl::StatusCode::kOk);
  EXPECT_FALSE(store_->AuthenticateToken(t->token, kT0 + kSecond).ok());
  EXPECT_TRUE((*store_->ListTokens("alice"))[0].revoked);
  // Someone else's token needs user_manage.
  EXPECT_EQ(store_->CreateToken("root", "x", kT0 + kSecond, "alice", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(UserStoreTest, CertificateFingerprint) {
  TwoAdministrators();
  AddUser("alice");
  std::string fp(64, 'a');
  ASSERT_TRUE(store_->AddCertificate("alice", fp, "root", kT0).ok());
  std::string colons;
  for (size_t i = 0; i < 64; i += 2) colons += (i ? ":" : "") + std::string("AA");
  auto p = store_->AuthenticateCertificate(colons, kT0);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->method, AuthMethod::kCertificate);
  EXPECT_FALSE(store_->AuthenticateCertificate(std::string(64, 'b'), kT0).ok());
  EXPECT_EQ(store_->AddCertificate("alice", "zz", "root", kT0).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(store_->RemoveCertificate(fp, "root", kT0).ok());
  EXPECT_FALSE(store_->AuthenticateCertificate(fp, kT0).ok());
}

TEST_F(UserStoreTest, GrantTakesEffectOnlyAfterApprovalByAnother) {
  TwoAdministrators();
  AddUser("alice");
  auto id = store_->RequestGrant("alice", Grant::OfTeam("narc-2"), "root", kT0);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_TRUE(store_->GetUser("alice")->teams.empty());
  auto pending = store_->PendingGrants();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].grantee, "alice");
  EXPECT_EQ((*pending)[0].requested_by, "root");

  // The requester cannot approve their own request.
  absl::StatusOr<GrantRequest> same = store_->ApproveGrant(*id, "root", kT0);
  EXPECT_EQ(same.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(same.status().message()), HasSubstr("four eyes"));
  EXPECT_TRUE(store_->GetUser("alice")->teams.empty());

  auto done = store_->ApproveGrant(*id, "admin2", kT0 + kSecond);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status, "approved");
  EXPECT_EQ(done->decided_by, "admin2");
  EXPECT_EQ(store_->GetUser("alice")->teams, std::set<std::string>{"narc-2"});
  EXPECT_TRUE(store_->PendingGrants()->empty());
  EXPECT_EQ(store_->ApproveGrant(*id, "admin2", kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(UserStoreTest, SelfGrantRefused) {
  TwoAdministrators();
  EXPECT_EQ(store_->RequestGrant("root", Grant::OfTeam("narc-2"), "root", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Nor may the grantee approve a grant to themself that someone else requested.
  auto id = store_->RequestGrant("admin2", Grant::OfTeam("narc-2"), "root", kT0);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(store_->ApproveGrant(*id, "admin2", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->RejectGrant(*id, "admin2", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(UserStoreTest, NonAdministratorCannotRequestOrApprove) {
  TwoAdministrators();
  AddUser("alice");
  AddUser("bob");
  GrantNow("alice", Grant::OfRole(Role::kInvestigator));
  GrantNow("alice", Grant::OfRole(Role::kProsecutor));
  EXPECT_EQ(store_->RequestGrant("bob", Grant::OfTeam("x"), "alice", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto id = store_->RequestGrant("bob", Grant::OfRole(Role::kAuditor), "root", kT0);
  ASSERT_TRUE(id.ok());
  absl::StatusOr<GrantRequest> r = store_->ApproveGrant(*id, "alice", kT0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("may not grant_access"));
  EXPECT_TRUE(store_->GetUser("bob")->roles.empty());
  auto rej = store_->RejectGrant(*id, "admin2", kT0);
  ASSERT_TRUE(rej.ok());
  EXPECT_EQ(rej->status, "rejected");
  EXPECT_TRUE(store_->GetUser("bob")->roles.empty());
}

TEST_F(UserStoreTest, DuplicateAndBadGrantsRefused) {
  TwoAdministrators();
  AddUser("alice");
  ASSERT_TRUE(store_->RequestGrant("alice", Grant::OfTeam("t1"), "root", kT0).ok());
  EXPECT_EQ(store_->RequestGrant("alice", Grant::OfTeam("t1"), "admin2", kT0).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->RequestGrant("alice", Grant::OfTeam("*"), "root", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      store_->RequestGrant("alice", Grant::OfRole(Role::kVendor), "root", kT0).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RequestGrant("ghost", Grant::OfTeam("t1"), "root", kT0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(UserStoreTest, RevokeIsImmediate) {
  TwoAdministrators();
  AddUser("alice");
  GrantNow("alice", Grant::OfRole(Role::kInvestigator));
  GrantNow("alice", Grant::OfTeam("narc-2"));
  ASSERT_TRUE(store_->Revoke("alice", Grant::OfTeam("narc-2"), "root", kT0).ok());
  EXPECT_TRUE(store_->GetUser("alice")->teams.empty());
  EXPECT_EQ(store_->Revoke("alice", Grant::OfTeam("narc-2"), "root", kT0).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Revoke("root", Grant::OfRole(Role::kAdministrator), "alice", kT0).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST_F(UserStoreTest, VendorOnlyInsideItsWindow) {
  TwoAdministrators();
  AddUser("vendor-x");
  int64_t from = kT0 + 3600 * kSecond, to = kT0 + 7200 * kSecond;
  auto id = store_->RequestVendorAccess("vendor-x", from, to, "root", kT0);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(store_->ApproveGrant(*id, "root", kT0).status().code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(store_->ApproveGrant(*id, "admin2", kT0).ok());
  auto tok = store_->CreateToken("vendor-x", "support", to + 3600 * kSecond, "vendor-x", kT0);
  ASSERT_TRUE(tok.ok());

  auto before = store_->AuthenticateToken(tok->token, from - 1);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->roles.empty());
  EXPECT_FALSE(Authorize(*before, Action::kHealth, {.now_us = from - 1}).ok());

  auto inside = store_->AuthenticateToken(tok->token, from + kSecond);
  ASSERT_TRUE(inside.ok());
  EXPECT_TRUE(inside->Has(Role::kVendor));
  EXPECT_EQ(inside->valid_until_us, to);
  EXPECT_TRUE(Authorize(*inside, Action::kMetricsRead, {.now_us = from + kSecond}).ok());
  EXPECT_FALSE(Authorize(*inside, Action::kConfigChange, {.now_us = from + kSecond}).ok());
  // The principal of a session that began inside the window ends with it.
  EXPECT_FALSE(Authorize(*inside, Action::kMetricsRead, {.now_us = to}).ok());

  auto after = store_->AuthenticateToken(tok->token, to);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->roles.empty());

  // A vendor account is nothing else, and a window must end in the future.
  EXPECT_EQ(store_->RequestVendorAccess("vendor-x", kT0 - 2, kT0 - 1, "root", kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  AddUser("alice");
  GrantNow("alice", Grant::OfRole(Role::kInvestigator));
  EXPECT_EQ(store_->RequestVendorAccess("alice", from, to, "root", kT0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(UserStoreTest, SetPasswordOwnOrReset) {
  TwoAdministrators();
  AddUser("alice");
  std::string other = "another long password";
  EXPECT_TRUE(store_->SetPassword("alice", other, "alice", kT0).ok());
  EXPECT_EQ(store_->SetPassword("root", other, "alice", kT0).code(),
            absl::StatusCode::kPermissionDenied);
  Reopen({.require_totp = false});
  EXPECT_TRUE(store_->Authenticate("alice", other, "", kT0).ok());
  EXPECT_FALSE(store_->Authenticate("alice", kPw, "", kT0).ok());
}

TEST_F(UserStoreTest, PersistsAcrossReopen) {
  TwoAdministrators();
  AddUser("alice");
  GrantNow("alice", Grant::OfRole(Role::kInvestigator));
  store_.reset();
  auto s = UserStore::Open(dir_.path(), false, {.password_cost = PasswordCost::kMinForTest});
  ASSERT_TRUE(s.ok()) << s.status();
  auto users = (*s)->ListUsers();
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 3u);
  EXPECT_EQ((*users)[0].name, "admin2");
  EXPECT_EQ((*users)[1].name, "alice");
  EXPECT_EQ((*users)[1].roles, std::set<Role>{Role::kInvestigator});
}

}  // namespace
}  // namespace tapvault::access
