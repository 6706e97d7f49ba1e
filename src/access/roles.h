// Roles and what each may do in tapvault: the separation of duties for a store of lawfully
// intercepted communications. This header is pure policy (no I/O): `RoleMay` answers "may a
// holder of role R ever do action A?"; whether a given person may do it to a given communication
// (team, warrant, vendor window) is Authorize() in access/authorize.h; who holds which role is
// access/user_store.h.
//
//   if (!access::RoleMay(access::Role::kOperator, access::Action::kReadContent)) ...  // never
//   if (access::NeedsFourEyes(access::Action::kExport)) ...  // a second, different person approves
//
// The matrix (x = may; 4 = may, and a second person with a role that may do it must approve):
//
//   action               investigator prosecutor operator administrator auditor vendor
//   read_content              x           x
//   read_metadata             x           x
//   search                    x           x
//   export                                4
//   flag                      x           x
//   request_release           x
//   approve_release                       4
//   confirm_destruction                   4
//   destroy_range                                              4
//   retention_change                                           4
//   warrant_manage                                             x
//   list_import                                     x          x
//   list_confirm                                               x
//   user_manage                                                x
//   grant_access                                               4
//   audit_read                                                           x
//   report_read                                                          x
//   metrics_read                                    x          x         x       x
//   key_operation                                              x
//   config_change                                   x          x
//   health                    x           x         x          x         x       x
//
// Why:
// - Operators and administrators never see communications (no read_content, read_metadata,
//   search, export): they run the system and manage people, not investigations.
// - Operators run the system: metrics, health, configuration and the daily import of the
//   privileged-party list (an automated feed); confirming a held list is an administrator's.
//   Key operations (rotation, HSM) are administrators', since keys decide who can read.
// - Administrators manage people, grants, warrants, lists, keys, configuration and retention.
//   They execute destruction of a range (destroy_range) but the legal confirmation that a range
//   may be destroyed is a prosecutor's (confirm_destruction).
// - Auditors read the audit log, reports and metrics, and nothing of content. Administrators do
//   not read the audit log: the auditors watch them.
// - Investigators read, search, flag and request release; a prosecutor approves a release (the
//   approver must differ from the requester). Prosecutors read, export, approve release, confirm
//   destruction and flag; they do not request releases (so a release always involves two
//   people and two roles).
// - Vendor (support) accounts see health and metrics only, and only inside their time box (the
//   box is enforced by UserStore and Authorize, not here).
// - Every role may read health (a liveness probe carries nothing).
// Four eyes: export, approve_release, confirm_destruction, destroy_range, retention_change,
// grant_access need a second, different person whose roles also allow the action.
// Thread-safety: all functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace tapvault::access {

enum class Role {
  kInvestigator,
  kProsecutor,
  kOperator,
  kAdministrator,
  kAuditor,
  kVendor,
};
inline constexpr int kRoleCount = 6;

enum class Action {
  kReadContent,
  kReadMetadata,
  kSearch,
  kExport,
  kFlag,
  kRequestRelease,
  kApproveRelease,
  kConfirmDestruction,
  kDestroyRange,
  kRetentionChange,
  kWarrantManage,
  kListImport,
  kListConfirm,
  kUserManage,
  kGrantAccess,
  kAuditRead,
  kReportRead,
  kMetricsRead,
  kKeyOperation,
  kConfigChange,
  kHealth,
};
inline constexpr int kActionCount = 21;

// "investigator", "prosecutor", "operator", "administrator", "auditor", "vendor".
std::string_view RoleName(Role role);
// The inverse of RoleName; nullopt for anything else (case-sensitive).
std::optional<Role> ParseRole(std::string_view name);
// "read_content", "confirm_destruction", ... (the enumerator without k, in snake_case).
std::string_view ActionName(Action action);
std::optional<Action> ParseAction(std::string_view name);

// Whether a holder of `role` may ever do `action` (the matrix above).
bool RoleMay(Role role, Action action);

// Whether `action` needs a second, different person (four eyes).
bool NeedsFourEyes(Action action);

// Actions on communications: they need the principal to be in the team of the warrant that
// covers the communication, and the warrant to be valid (Authorize checks both).
bool IsTeamScoped(Action action);

}  // namespace tapvault::access
