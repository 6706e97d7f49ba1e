#include "access/comm_scope.h"

namespace tapvault::access {

CommAccess CommScope(const warrant::WarrantIndex& warrants, const Principal& principal,
                     std::string_view liid, int64_t comm_time_us, int64_t now_us,
                     int default_retention_days) {
  // A prosecutor keeps access after the warrant ends, until its retention is over (the case
  // goes to court); everyone else only while it runs.
  const warrant::Role window = principal.Has(Role::kProsecutor) ? warrant::Role::kProsecutor
                                                                : warrant::Role::kInvestigator;
  warrant::AccessVerdict v =
      warrant::CheckAccess(warrants, liid, comm_time_us, now_us, window, default_retention_days);
  CommAccess out;
  out.scope.now_us = now_us;
  out.scope.warrant_ok = v.allowed;
  if (!v.team.empty()) out.scope.team = v.team;
  out.warrant_id = v.warrant_id;
  out.reason = v.reason;
  return out;
}

std::string ActingRole(const Principal& principal, Action action) {
  for (Role r : principal.roles) {
    if (RoleMay(r, action)) return std::string(RoleName(r));
  }
  return "";
}

}  // namespace tapvault::access
