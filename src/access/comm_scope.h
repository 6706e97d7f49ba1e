// The scope of one stored communication for one person: the team of the warrant that covers it,
// and whether that warrant lets this person in now. It joins the warrants (warrant::CheckAccess:
// validity at the communication's time, and at the time of access — investigators while the
// warrant runs, prosecutors until its retention ends) with the person's roles, for Authorize.
//
//   access::CommAccess ca = access::CommScope(*warrants, principal, access::Action::kReadContent,
//                                             comm.liid, comm.start_us, now, 180);
//   RETURN_IF_ERROR(access::Authorize(principal, access::Action::kReadContent, ca.scope));
//
// Each of the person's roles that may do the action is tried with its own window (an
// investigator's while the warrant runs, a prosecutor's until its retention ends); the first that
// lets them in, in a team of theirs, is the one they act in.
//
// No warrant at the communication's time: scope.team is empty and warrant_ok false (Authorize
// then refuses every team-scoped action: unassigned records are invisible to users).
// Thread-safety: pure; the index is immutable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "access/authorize.h"
#include "access/principal.h"
#include "warrant/warrant_index.h"

namespace tapvault::access {

struct CommAccess {
  Scope scope;
  std::string warrant_id;   // "" when no warrant covers the communication
  std::string reason;       // why warrant_ok is false (warrant::CheckAccess's reason)
  std::string role;         // the role the person acts in when let in ("" otherwise)
};

CommAccess CommScope(const warrant::WarrantIndex& warrants, const Principal& principal,
                     Action action, std::string_view liid, int64_t comm_time_us, int64_t now_us,
                     int default_retention_days);

// The role a principal acts in for `action`: the first of its roles that may do it ("" if none).
std::string ActingRole(const Principal& principal, Action action);

}  // namespace tapvault::access
