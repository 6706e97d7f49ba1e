#include "access/roles.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace tapvault::access {
namespace {

using A = Action;

// The expected matrix, written per role (not per action as in roles.cc) so that a slip in either
// table shows up here.
const std::map<Role, std::set<Action>>& Expected() {
  static const auto* m = new std::map<Role, std::set<Action>>{
      {Role::kInvestigator,
       {A::kReadContent, A::kReadMetadata, A::kSearch, A::kFlag, A::kRequestRelease, A::kHealth}},
      {Role::kProsecutor,
       {A::kReadContent, A::kReadMetadata, A::kSearch, A::kExport, A::kFlag, A::kApproveRelease,
        A::kConfirmDestruction, A::kHealth}},
      {Role::kOperator, {A::kMetricsRead, A::kHealth, A::kConfigChange, A::kListImport}},
      {Role::kAdministrator,
       {A::kDestroyRange, A::kRetentionChange, A::kWarrantManage, A::kListImport, A::kListConfirm,
        A::kUserManage, A::kGrantAccess, A::kMetricsRead, A::kKeyOperation, A::kConfigChange,
        A::kHealth}},
      {Role::kAuditor, {A::kAuditRead, A::kReportRead, A::kMetricsRead, A::kHealth}},
      {Role::kVendor, {A::kHealth, A::kMetricsRead}},
  };
  return *m;
}

TEST(RolesTest, EveryRoleTimesEveryActionMatchesTheExpectedMatrix) {
  for (int r = 0; r < kRoleCount; ++r) {
    Role role = static_cast<Role>(r);
    const std::set<Action>& allowed = Expected().at(role);
    for (int a = 0; a < kActionCount; ++a) {
      Action action = static_cast<Action>(a);
      EXPECT_EQ(RoleMay(role, action), allowed.count(action) == 1)
          << RoleName(role) << " x " << ActionName(action);
    }
  }
}

TEST(RolesTest, OperatorsAndAdministratorsNeverSeeCommunications) {
  for (Role r : {Role::kOperator, Role::kAdministrator, Role::kAuditor, Role::kVendor}) {
    for (Action a : {A::kReadContent, A::kReadMetadata, A::kSearch, A::kExport}) {
      EXPECT_FALSE(RoleMay(r, a)) << RoleName(r) << " " << ActionName(a);
    }
  }
}

TEST(RolesTest, FourEyesActions) {
  std::set<Action> expected = {A::kExport,         A::kConfirmDestruction, A::kDestroyRange,
                               A::kApproveRelease, A::kRetentionChange,    A::kGrantAccess};
  for (int a = 0; a < kActionCount; ++a) {
    Action action = static_cast<Action>(a);
    EXPECT_EQ(NeedsFourEyes(action), expected.count(action) == 1) << ActionName(action);
  }
}

TEST(RolesTest, NamesRoundTrip) {
  for (int r = 0; r < kRoleCount; ++r) {
    EXPECT_EQ(ParseRole(RoleName(static_cast<Role>(r))), static_cast<Role>(r));
  }
  for (int a = 0; a < kActionCount; ++a) {
    EXPECT_EQ(ParseAction(ActionName(static_cast<Action>(a))), static_cast<Action>(a));
  }
  EXPECT_EQ(RoleName(Role::kAdministrator), "administrator");
  EXPECT_EQ(ActionName(A::kConfirmDestruction), "confirm_destruction");
  EXPECT_FALSE(ParseRole("Administrator").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
  EXPECT_FALSE(ParseAction("read").has_value());
}

}  // namespace
}  // namespace tapvault::access
