// The role matrix as one table: a row per action, a column per role, in enum order, so the table
// reads like the matrix in roles.h.
#include "access/roles.h"

#include <array>

namespace tapvault::access {
namespace {

struct ActionRow {
  Action action;
  std::string_view name;
  // investigator, prosecutor, operator, administrator, auditor, vendor
  std::array<bool, kRoleCount> may;
  bool four_eyes;
  bool team_scoped;
};

constexpr bool X = true;
constexpr bool _ = false;

constexpr std::array<ActionRow, kActionCount> kMatrix = {{
    // {action, name, {inv, pro, ope, adm, aud, ven}, four_eyes, team_scoped}; X = may
    {Action::kReadContent, "read_content", {X, X, _, _, _, _}, false, true},
    {Action::kReadMetadata, "read_metadata", {X, X, _, _, _, _}, false, true},
    {Action::kSearch, "search", {X, X, _, _, _, _}, false, true},
    {Action::kExport, "export", {_, X, _, _, _, _}, true, true},
    {Action::kFlag, "flag", {X, X, _, _, _, _}, false, true},
    {Action::kRequestRelease, "request_release", {X, _, _, _, _, _}, false, true},
    {Action::kApproveRelease, "approve_release", {_, X, _, _, _, _}, true, true},
    {Action::kConfirmDestruction, "confirm_destruction", {_, X, _, _, _, _}, true, false},
    {Action::kDestroyRange, "destroy_range", {_, _, _, X, _, _}, true, false},
    {Action::kRetentionChange, "retention_change", {_, _, _, X, _, _}, true, false},
    {Action::kWarrantManage, "warrant_manage", {_, _, _, X, _, _}, false, false},
    {Action::kListImport, "list_import", {_, _, X, X, _, _}, false, false},
    {Action::kListConfirm, "list_confirm", {_, _, _, X, _, _}, false, false},
    {Action::kUserManage, "user_manage", {_, _, _, X, _, _}, false, false},
    {Action::kGrantAccess, "grant_access", {_, _, _, X, _, _}, true, false},
    {Action::kAuditRead, "audit_read", {_, _, _, _, X, _}, false, false},
    {Action::kReportRead, "report_read", {_, _, _, _, X, _}, false, false},
    {Action::kMetricsRead, "metrics_read", {_, _, X, X, X, X}, false, false},
    {Action::kKeyOperation, "key_operation", {_, _, _, X, _, _}, false, false},
    {Action::kConfigChange, "config_change", {_, _, X, X, _, _}, false, false},
    {Action::kHealth, "health", {X, X, X, X, X, X}, false, false},
}};

constexpr std::array<std::string_view, kRoleCount> kRoleNames = {
    "investigator", "prosecutor", "operator", "administrator", "auditor", "vendor"};

constexpr bool MatrixInEnumOrder() {
  for (int i = 0; i < kActionCount; ++i) {
    if (static_cast<int>(kMatrix[i].action) != i) return false;
  }
  return true;
}
static_assert(MatrixInEnumOrder(), "kMatrix rows must follow the order of enum Action");

const ActionRow* Row(Action a) {
  int i = static_cast<int>(a);
  return i >= 0 && i < kActionCount ? &kMatrix[i] : nullptr;
}

}  // namespace

std::string_view RoleName(Role role) {
  int i = static_cast<int>(role);
  return i >= 0 && i < kRoleCount ? kRoleNames[i] : std::string_view("unknown");
}

std::optional<Role> ParseRole(std::string_view name) {
  for (int i = 0; i < kRoleCount; ++i) {
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  }
  return std::nullopt;
}

std::string_view ActionName(Action action) {
  const ActionRow* r = Row(action);
  return r != nullptr ? r->name : std::string_view("unknown");
}

std::optional<Action> ParseAction(std::string_view name) {
  for (const ActionRow& r : kMatrix) {
    if (r.name == name) return r.action;
  }
  return std::nullopt;
}

bool RoleMay(Role role, Action action) {
  const ActionRow* r = Row(action);
  int i = static_cast<int>(role);
  return r != nullptr && i >= 0 && i < kRoleCount && r->may[i];
}

bool NeedsFourEyes(Action action) {
  const ActionRow* r = Row(action);
  return r == nullptr || r->four_eyes;  // unknown: the stricter answer
}

bool IsTeamScoped(Action action) {
  const ActionRow* r = Row(action);
  return r == nullptr || r->team_scoped;
}

}  // namespace tapvault::access
