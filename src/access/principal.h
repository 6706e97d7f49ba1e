// Who is acting, once authenticated: what UserStore's Authenticate* return and what Authorize
// (access/authorize.h) decides on.
//
//   access::Principal p = ...;  // from UserStore::Authenticate
//   if (p.Has(access::Role::kAuditor)) ...
//
// Thread-safety: a plain value.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "access/roles.h"

namespace tapvault::access {

enum class AuthMethod {
  kPassword,     // password and (unless Options::require_totp is off and none is enrolled) TOTP
  kToken,        // API token (tvt_...)
  kCertificate,  // TLS client certificate, by its SHA-256 fingerprint
};
std::string_view AuthMethodName(AuthMethod m);  // "password", "token", "certificate"

struct Principal {
  std::string name;
  std::set<Role> roles;
  std::set<std::string> teams;
  AuthMethod method = AuthMethod::kPassword;
  // The principal is valid only before this time (0: no limit). Set for vendor accounts (the
  // end of their time box) and tokens (their expiry), whichever is earlier.
  int64_t valid_until_us = 0;

  bool Has(Role r) const { return roles.count(r) != 0; }
  bool InTeam(std::string_view team) const { return teams.count(std::string(team)) != 0; }
};

}  // namespace tapvault::access
