#include "access/comm_scope.h"

namespace tapvault::access {

CommAccess CommScope(const warrant::WarrantIndex& warrants, const Principal& principal,
                     Action action, std::string_view liid, int64_t comm_time_us, int64_t now_us,
                     int default_retention_days) {
  CommAccess out;
  out.scope.now_us = now_us;
  out.scope.warrant_ok = false;
  // Each role's reading window after the warrant: investigators while it runs, prosecutors
  // until its retention ends.
  struct RoleWindow {
    Role role;
    warrant::Window window;
  };
  for (const RoleWindow& w : {RoleWindow{Role::kInvestigator, warrant::Window::kWhileValid},
                              RoleWindow{Role::kProsecutor, warrant::Window::kUntilRetentionEnds}}) {
    if (!principal.Has(w.role) || !RoleMay(w.role, action)) continue;
    const warrant::AccessVerdict v = warrant::CheckAccess(warrants, liid, comm_time_us, now_us,
                                                          w.window, default_retention_days);
    out.warrant_id = v.warrant_id;
    out.reason = v.reason;
    if (!v.team.empty()) out.scope.team = v.team;
    out.scope.warrant_ok = v.allowed;
    if (v.allowed && principal.InTeam(v.team)) {
      out.role = std::string(RoleName(w.role));
      return out;
    }
  }
  if (out.warrant_id.empty()) {
    // No role of theirs may do it: still say which warrant covers it, for the refusal.
    const warrant::AccessVerdict v = warrant::CheckAccess(
        warrants, liid, comm_time_us, now_us, warrant::Window::kWhileValid, default_retention_days);
    out.warrant_id = v.warrant_id;
    if (!v.team.empty()) out.scope.team = v.team;
    out.reason = v.reason;
  }
  return out;
}

std::string ActingRole(const Principal& principal, Action action) {
  for (Role r : principal.roles) {
    if (RoleMay(r, action)) return std::string(RoleName(r));
  }
  return "";
}

}  // namespace tapvault::access
