#include "access/authorize.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tapvault::access {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000'000'000;

Principal Make(std::string name, std::set<Role> roles, std::set<std::string> teams = {}) {
  Principal p;
  p.name = std::move(name);
  p.roles = std::move(roles);
  p.teams = std::move(teams);
  return p;
}

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(AuthorizeTest, InvestigatorReadsInOwnTeamWithValidWarrant) {
  Principal p = Make("alice", {Role::kInvestigator}, {"narc-2"});
  EXPECT_TRUE(
      Authorize(p, Action::kReadContent, {.team = "narc-2", .warrant_ok = true, .now_us = kNow})
          .ok());
}

TEST(AuthorizeTest, OtherTeamIsDenied) {
  Principal p = Make("alice", {Role::kInvestigator}, {"narc-2"});
  absl::Status s =
      Authorize(p, Action::kReadContent, {.team = "fraud-1", .warrant_ok = true, .now_us = kNow});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(s), HasSubstr("not in team fraud-1"));
}

TEST(AuthorizeTest, TeamScopedFailsClosedWithoutTeamOrWarrant) {
  Principal p = Make("alice", {Role::kInvestigator}, {"narc-2"});
  EXPECT_EQ(Authorize(p, Action::kSearch, {.now_us = kNow}).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Message(Authorize(p, Action::kSearch, {.team = "narc-2", .now_us = kNow})),
              HasSubstr("checked warrant"));
  EXPECT_THAT(Message(Authorize(p, Action::kReadMetadata,
                                {.team = "narc-2", .warrant_ok = false, .now_us = kNow})),
              HasSubstr("warrant does not cover"));
}

TEST(AuthorizeTest, RoleDenialNamesRoleAndAction) {
  Principal p = Make("alice", {Role::kInvestigator}, {"narc-2"});
  absl::Status s = Authorize(p, Action::kConfirmDestruction, {.now_us = kNow});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(Message(s), "role investigator may not confirm_destruction");
}

TEST(AuthorizeTest, AdministratorInTeamStillCannotRead) {
  Principal p = Make("root", {Role::kAdministrator}, {"narc-2"});
  EXPECT_EQ(Message(Authorize(p, Action::kReadContent,
                              {.team = "narc-2", .warrant_ok = true, .now_us = kNow})),
            "role administrator may not read_content");
  EXPECT_TRUE(Authorize(p, Action::kUserManage, {.now_us = kNow}).ok());
}

TEST(AuthorizeTest, ProsecutorNeedsTeamToo) {
  Principal p = Make("pat", {Role::kProsecutor}, {"narc-2"});
  EXPECT_TRUE(
      Authorize(p, Action::kExport, {.team = "narc-2", .warrant_ok = true, .now_us = kNow}).ok());
  EXPECT_FALSE(
      Authorize(p, Action::kExport, {.team = "narc-3", .warrant_ok = true, .now_us = kNow}).ok());
  Principal star = Make("pat", {Role::kProsecutor}, {"*"});
  EXPECT_FALSE(
      Authorize(star, Action::kExport, {.team = "narc-3", .warrant_ok = true, .now_us = kNow})
          .ok());
}

TEST(AuthorizeTest, NoRoleAndExpiry) {
  EXPECT_THAT(Message(Authorize(Make("bob", {}), Action::kHealth, {.now_us = kNow})),
              HasSubstr("has no role"));
  Principal v = Make("vendor-x", {Role::kVendor});
  v.valid_until_us = kNow + 10;
  EXPECT_TRUE(Authorize(v, Action::kMetricsRead, {.now_us = kNow}).ok());
  EXPECT_THAT(Message(Authorize(v, Action::kMetricsRead, {.now_us = kNow + 10})),
              HasSubstr("expired"));
  EXPECT_FALSE(Authorize(v, Action::kConfigChange, {.now_us = kNow}).ok());
}

TEST(AuthorizeTest, AnyRoleSuffices) {
  Principal p = Make("eve", {Role::kAuditor, Role::kOperator});
  EXPECT_TRUE(Authorize(p, Action::kAuditRead, {.now_us = kNow}).ok());
  EXPECT_TRUE(Authorize(p, Action::kConfigChange, {.now_us = kNow}).ok());
  EXPECT_EQ(Message(Authorize(p, Action::kKeyOperation, {.now_us = kNow})),
            "roles operator,auditor may not key_operation");
}

}  // namespace
}  // namespace tapvault::access
