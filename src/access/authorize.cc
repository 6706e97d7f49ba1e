#include "access/authorize.h"

#include "base/strings.h"
#include "base/time.h"

namespace tapvault::access {

std::string_view AuthMethodName(AuthMethod m) {
  switch (m) {
    case AuthMethod::kPassword:
      return "password";
    case AuthMethod::kToken:
      return "token";
    case AuthMethod::kCertificate:
      return "certificate";
  }
  return "unknown";
}

absl::Status Authorize(const Principal& principal, Action action, const Scope& scope) {
  std::string_view act = ActionName(action);
  if (principal.name.empty()) {
    return absl::PermissionDeniedError(base::StrCat("no principal may not ", act));
  }
  if (principal.valid_until_us != 0) {
    int64_t now = scope.now_us != 0 ? scope.now_us : base::Now().unix_us;
    if (now >= principal.valid_until_us) {
      return absl::PermissionDeniedError(base::StrCat("access of ", principal.name, " expired"));
    }
  }
  if (principal.roles.empty()) {
    return absl::PermissionDeniedError(base::StrCat(principal.name, " has no role"));
  }
  bool may = false;
  std::string roles;
  for (Role r : principal.roles) {
    if (RoleMay(r, action)) may = true;
    if (!roles.empty()) roles.push_back(',');
    roles.append(RoleName(r));
  }
  if (!may) {
    return absl::PermissionDeniedError(
        base::StrCat(principal.roles.size() == 1 ? "role " : "roles ", roles, " may not ", act));
  }
  if (IsTeamScoped(action)) {
    if (!scope.team.has_value() || scope.team->empty()) {
      return absl::PermissionDeniedError(base::StrCat(act, " needs the team of a warrant"));
    }
    if (!principal.InTeam(*scope.team)) {
      return absl::PermissionDeniedError(
          base::StrCat(principal.name, " is not in team ", *scope.team));
    }
    if (!scope.warrant_ok.has_value()) {
      return absl::PermissionDeniedError(base::StrCat(act, " needs a checked warrant"));
    }
    if (!*scope.warrant_ok) {
      return absl::PermissionDeniedError("warrant does not cover this");
    }
  }
  return absl::OkStatus();
}

}  // namespace tapvault::access
