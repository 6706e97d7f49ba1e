// The authorization decision: may this principal do this action on this thing? Combines the role
// matrix (access/roles.h), the team of the warrant that covers the communication, the validity
// of that warrant (decided by the caller) and the principal's time limit (vendor box, token
// expiry).
//
//   RETURN_IF_ERROR(access::Authorize(principal, access::Action::kReadContent,
//                                     {.team = warrant.team, .warrant_ok = warrant.InForce(now),
//                                      .now_us = now}));
//
// Team rule: the team-scoped actions (read_content, read_metadata, search, export, flag,
// request_release, approve_release; IsTeamScoped) need scope.team set, the principal in that
// team, and scope.warrant_ok == true; a missing team or warrant answer is a denial (fail closed).
// Prosecutors are assigned to teams like investigators; there is no wildcard team, so nobody reads
// across all teams by role alone (least privilege; give a prosecutor each team explicitly).
// Four eyes (NeedsFourEyes) is not decided here: Authorize says whether this person may take part
// (request or approve); the workflow that needs two people checks that they differ.
// Thread-safety: pure, thread-safe.
// Errors: PermissionDenied with the reason, e.g. "role investigator may not confirm_destruction",
// "alice is not in team narcotics-2", "warrant does not cover this", "access of vendor-x expired".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "access/principal.h"
#include "access/roles.h"

namespace tapvault::access {

struct Scope {
  // The team of the warrant covering the communication (team-scoped actions).
  std::optional<std::string> team;
  // Whether that warrant covers the communication at its time (the caller decides).
  std::optional<bool> warrant_ok;
  // Now, for principal.valid_until_us; 0 reads the clock.
  int64_t now_us = 0;
};

[[nodiscard]] absl::Status Authorize(const Principal& principal, Action action,
                                     const Scope& scope = {});

}  // namespace tapvault::access
