// `tapvault user ...`: people, roles, teams, TOTP and API tokens in DIR/users.db. Flags only; the
// work and every rule (four eyes, no self-grant, lockout) is access/UserStore's.
//
// Every command but `bootstrap` is done by a logged-in tapvault user (TAPVAULT_TOKEN, or --user
// with the password and --totp), named in the audit log and checked by UserStore's rules.
// Passwords never come from a flag (flags end up in shell history and `ps`): the acting user's from
// TAPVAULT_PASSWORD, a password being set from TAPVAULT_NEW_PASSWORD, else each from the next line
// of stdin (echo off on a terminal). Secrets shown once (TOTP secret, API token) go to stdout and
// nowhere else.
//
// Exit codes: 0 done; 1 refused or failed; 2 bad arguments or no users database.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "access/roles.h"
#include "access/user_store.h"
#include "base/json_time.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"

namespace tapvault::cli {
namespace {

using access::Grant;
using access::UserStore;


absl::StatusOr<std::unique_ptr<UserStore>> OpenUsers(const std::string& dir, bool create) {
  if (::access(dir.c_str(), F_OK) != 0) {
    return absl::InvalidArgumentError(base::StrCat("--data ", dir, ": no such directory"));
  }
  auto s = UserStore::Open(dir, create);
  if (!s.ok() && s.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(
        base::StrCat("no users database in ", dir, " (start with `tapvault user bootstrap`)"));
  }
  return s;
}

// --role R | --team T as a Grant.
absl::StatusOr<Grant> GrantOf(const std::string& role, const std::string& team) {
  if (role.empty() == team.empty()) {
    return absl::InvalidArgumentError("give exactly one of --role and --team");
  }
  if (!team.empty()) return Grant::OfTeam(team);
  std::optional<access::Role> r = access::ParseRole(role);
  if (!r) return absl::InvalidArgumentError(base::StrCat("--role ", role, ": unknown role"));
  return Grant::OfRole(*r);
}

// "90d", "12h", "30m" from now, or an RFC 3339 time.
absl::StatusOr<int64_t> ParseExpiry(const std::string& s, int64_t now_us) {
  if (s.size() >= 2 && (s.back() == 'd' || s.back() == 'h' || s.back() == 'm')) {
    int64_t n = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || n > 100'000) {
        return absl::InvalidArgumentError(base::StrCat("--expires ", s, ": not a duration"));
      }
      n = n * 10 + (s[i] - '0');
    }
    int64_t unit = s.back() == 'd' ? 86'400 : s.back() == 'h' ? 3'600 : 60;
    return now_us + n * unit * 1'000'000;
  }
  ASSIGN_OR_RETURN(base::Timestamp t, base::ParseRfc3339(s));
  return t.unix_us;
}

nlohmann::ordered_json RequestJson(const access::GrantRequest& r) {
  nlohmann::ordered_json j;
  j["request"] = r.id;
  j["grantee"] = r.grantee;
  j["grant"] = r.vendor_to_us != 0 ? std::string("vendor access") : r.grant.ToString();
  if (r.vendor_to_us != 0) {
    j["vendor_from"] = base::JsonTimeOrNull(r.vendor_from_us);
    j["vendor_to"] = base::JsonTimeOrNull(r.vendor_to_us);
  }
  j["requested_by"] = r.requested_by;
  j["requested"] = base::JsonTimeOrNull(r.requested_us);
  j["status"] = r.status;
  j["decided_by"] =
      r.decided_by.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.decided_by);
  j["decided"] = base::JsonTimeOrNull(r.decided_us);
  return j;
}

struct Common {
  std::string data, name;
  LoginFlags login;
  // Without a login: only `user bootstrap`, which works only while there are no users.
  bool anonymous = false;
  // What the acting user's roles must allow (checked before the store's own rules); none when
  // the store decides alone (a user's own password, TOTP and tokens).
  std::optional<access::Action> action;
};

// Adds --data (and --name when asked) and the login flags of the acting user to `cmd`.
void AddCommon(CLI::App* cmd, Common& c, bool name, bool login = true) {
  cmd->add_option("--data", c.data, "Data directory (holds users.db)")->required();
  if (name) cmd->add_option("--name", c.name, "User name ([a-z0-9._-], 1..64)")->required();
  if (login) AddLoginFlags(cmd, c.login);
  c.anonymous = !login;
}

// Runs `body(store, acting user)` and maps its status to an exit code. The acting user logs in
// first (API token or password + TOTP; c.action, when set, must be allowed by their roles), and the
// command is recorded in the store's audit log before it runs (and its outcome after): without
// the store's audit log, no change to people and their rights. The action is the command's name
// ("user token create" -> "user_token_create"), the object the user it is about. The store
// checks the acting user again (UserStore's `by`: roles, four eyes, no self-grant).
template <typename Body>
int WithStore(const std::string& cmd, const Common& c, bool create, Body body,
              std::string object = "") {
  if (object.empty()) object = c.name.empty() ? "users" : "user:" + c.name;
  std::string action = cmd;
  std::replace(action.begin(), action.end(), ' ', '_');
  std::string by = DefaultActor(), role;
  if (!c.anonymous) {
    auto who = LoginFor(c.data, c.login, c.action);
    if (!who.ok()) return Fail(cmd, who.status());
    by = who->name;
    role = RoleOf(*who, c.action);
  }
  absl::Status s = RunAudited(
      c.data,
      {.actor = by, .role = role, .action = action, .object = object},
      [&](nlohmann::json&) -> absl::Status {
        auto store = OpenUsers(c.data, create);
        if (!store.ok()) return store.status();
        return body(**store, by);
      });
  if (!s.ok()) {
    const bool usage = s.code() == absl::StatusCode::kInvalidArgument ||
                       s.code() == absl::StatusCode::kFailedPrecondition ||
                       s.code() == absl::StatusCode::kNotFound;
    return Fail(cmd, s, usage ? 2 : 1);
  }
  return 0;
}

void AddGrantLike(CLI::App& user, std::function<int()>& run, const char* name, const char* help,
                  bool role_only) {
  auto* cmd = user.add_subcommand(name, help);
  struct Flags : Common {
    std::string role, team;
  };
  auto f = std::make_shared<Flags>();
  AddCommon(cmd, *f, true);
  if (role_only) {
    cmd->add_option("--add", f->role, "Role to request")->required();
  } else {
    cmd->add_option("--role", f->role,
                    "Role (investigator, prosecutor, operator, "
                    "administrator, auditor)");
    cmd->add_option("--team", f->team, "Team");
  }
  std::string label = base::StrCat("user ", name);
  cmd->callback([&run, f, label] {
    run = [f, label] {
      auto g = GrantOf(f->role, f->team);
      if (!g.ok()) return Fail(label, g.status(), 2);
      return WithStore(label, *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
        ASSIGN_OR_RETURN(uint64_t id,
                         s.RequestGrant(f->name, *g, by, base::Now().unix_us));
        nlohmann::ordered_json j;
        j["request"] = id;
        j["grantee"] = f->name;
        j["grant"] = g->ToString();
        j["status"] = "pending";
        std::cout << j.dump() << "\n";
        std::fprintf(stderr,
                     "another administrator (not %s, not %s) approves with: tapvault user approve "
                     "--data %s --request %llu\n",
                     by.c_str(), f->name.c_str(), f->data.c_str(),
                     static_cast<unsigned long long>(id));
        return absl::OkStatus();
      });
    };
  });
}

void AddDecide(CLI::App& user, std::function<int()>& run, bool approve) {
  auto* cmd = user.add_subcommand(approve ? "approve" : "reject",
                                  approve ? "Approve a pending grant request (four eyes: not the "
                                            "requester, not the grantee)"
                                          : "Reject (or, as its requester, withdraw) a pending "
                                            "grant request");
  struct Flags : Common {
    uint64_t request = 0;
  };
  auto f = std::make_shared<Flags>();
  AddCommon(cmd, *f, false);
  cmd->add_option("--request", f->request, "Request id")->required();
  std::string label = approve ? "user approve" : "user reject";
  cmd->callback([&run, f, label, approve] {
    run = [f, label, approve] {
      return WithStore(label, *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
        int64_t now = base::Now().unix_us;
        ASSIGN_OR_RETURN(access::GrantRequest r,
                         approve ? s.ApproveGrant(f->request, by, now)
                                 : s.RejectGrant(f->request, by, now));
        std::cout << RequestJson(r).dump() << "\n";
        return absl::OkStatus();
      }, base::StrCat("grant_request:", f->request));
    };
  });
}

void AddTotp(CLI::App& user, std::function<int()>& run) {
  auto* totp = user.add_subcommand("totp", "Second factor (RFC 6238 TOTP)");
  totp->require_subcommand(1);
  {
    auto* cmd =
        totp->add_subcommand("enroll",
                             "Make a new TOTP secret (pending until confirmed); prints it and the "
                             "otpauth:// URI once");
    auto f = std::make_shared<Common>();
    AddCommon(cmd, *f, true);
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user totp enroll", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          ASSIGN_OR_RETURN(access::TotpEnrollment e,
                           s.EnrollTotp(f->name, by, base::Now().unix_us));
          nlohmann::ordered_json j;
          j["user"] = f->name;
          j["secret"] = e.secret_base32;
          j["uri"] = e.uri;
          std::cout << j.dump() << "\n";
          std::fprintf(stderr,
                       "confirm with: tapvault user totp confirm --data %s --name %s "
                       "--code CODE\n",
                       f->data.c_str(), f->name.c_str());
          return absl::OkStatus();
        });
      };
    });
  }
  {
    auto* cmd = totp->add_subcommand("confirm", "Activate the pending TOTP secret with a code");
    struct Flags : Common {
      std::string code;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true);
    cmd->add_option("--code", f->code, "The current code of the authenticator")->required();
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user totp confirm", *f, false, [&](UserStore& s, const std::string& by) {
          return s.ConfirmTotp(f->name, f->code, base::Now().unix_us);
        });
      };
    });
  }
}

void AddToken(CLI::App& user, std::function<int()>& run) {
  auto* token = user.add_subcommand("token", "API tokens (tvt_...)");
  token->require_subcommand(1);
  {
    auto* cmd = token->add_subcommand("create", "Create an API token; prints it once");
    struct Flags : Common {
      std::string token_name, expires = "90d";
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true);
    cmd->add_option("--token-name", f->token_name, "What the token is for")->required();
    cmd->add_option("--expires", f->expires, "Lifetime (90d, 12h, 30m) or an RFC 3339 time")
        ->capture_default_str();
    cmd->callback([&run, f] {
      run = [f] {
        int64_t now = base::Now().unix_us;
        auto expires = ParseExpiry(f->expires, now);
        if (!expires.ok()) return Fail("user token create", expires.status(), 2);
        return WithStore("user token create", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          ASSIGN_OR_RETURN(access::CreatedToken t,
                           s.CreateToken(f->name, f->token_name, *expires, by, now));
          nlohmann::ordered_json j;
          j["id"] = t.id;
          j["user"] = f->name;
          j["name"] = f->token_name;
          j["expires"] = base::JsonTimeOrNull(*expires);
          j["token"] = t.token;
          std::cout << j.dump() << "\n";
          std::fprintf(stderr, "the token is shown only now; tapvault keeps only its hash\n");
          return absl::OkStatus();
        });
      };
    });
  }
  {
    auto* cmd = token->add_subcommand("revoke", "Revoke an API token (at once)");
    struct Flags : Common {
      uint64_t id = 0;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, false);
    cmd->add_option("--id", f->id, "Token id (see `user token list`)")->required();
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user token revoke", *f, false, [&](UserStore& s, const std::string& by) {
          return s.RevokeToken(f->id, by, base::Now().unix_us);
        });
      };
    });
  }
  {
    auto* cmd = token->add_subcommand("list", "List a user's tokens (never the secrets), JSON");
    auto f = std::make_shared<Common>();
    AddCommon(cmd, *f, true);
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user token list", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          if (by != f->name) {
            ASSIGN_OR_RETURN(access::UserInfo actor, s.GetUser(by));
            if (std::none_of(actor.roles.begin(), actor.roles.end(), [](access::Role r) {
                  return access::RoleMay(r, access::Action::kUserManage);
                })) {
              return absl::PermissionDeniedError(
                  base::StrCat(by, " may list only their own tokens"));
            }
          }
          ASSIGN_OR_RETURN(std::vector<access::TokenInfo> tokens, s.ListTokens(f->name));
          nlohmann::ordered_json out = nlohmann::ordered_json::array();
          for (const access::TokenInfo& t : tokens) {
            nlohmann::ordered_json j;
            j["id"] = t.id;
            j["name"] = t.name;
            j["created_by"] = t.created_by;
            j["created"] = base::JsonTimeOrNull(t.created_us);
            j["expires"] = base::JsonTimeOrNull(t.expires_us);
            j["revoked"] = t.revoked;
            j["last_used"] = base::JsonTimeOrNull(t.last_used_us);
            out.push_back(std::move(j));
          }
          std::cout << out.dump(2) << "\n";
          return absl::OkStatus();
        });
      };
    });
  }
}

std::string Joined(const auto& items, auto name_of) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out.push_back(',');
    out.append(name_of(i));
  }
  return out;
}

}  // namespace

void AddUserCommand(CLI::App& app, std::function<int()>& run) {
  auto* user = app.add_subcommand("user", "People, roles, teams, TOTP and API tokens (users.db)");
  user->require_subcommand(1);

  {
    auto* cmd = user->add_subcommand(
        "bootstrap",
        "Create users.db and its first administrator (only while it has no users; no login); "
        "password from TAPVAULT_NEW_PASSWORD or stdin. Prints the administrator's first API "
        "token once (for TAPVAULT_TOKEN)");
    struct Flags : Common {
      std::string expires = "24h";
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true, /*login=*/false);
    cmd->add_option("--token-expires", f->expires,
                    "Lifetime of the first API token (90d, 12h, 30m) or an RFC 3339 time")
        ->capture_default_str();
    cmd->callback([&run, f] {
      run = [f] {
        int64_t now = base::Now().unix_us;
        auto expires = ParseExpiry(f->expires, now);
        if (!expires.ok()) return Fail("user bootstrap", expires.status(), 2);
        auto pw = ReadNewPassword("password");
        if (!pw.ok()) return Fail("user bootstrap", pw.status(), 2);
        return WithStore("user bootstrap", *f, true, [&](UserStore& s, const std::string&) {
          RETURN_IF_ERROR(s.Bootstrap(f->name, *pw, now));
          // The first administrator's way in: a password login needs TOTP, which they enrol with
          // this token (`user totp enroll`), as they make the second administrator.
          ASSIGN_OR_RETURN(access::CreatedToken t,
                           s.CreateToken(f->name, "bootstrap", *expires, f->name, now));
          nlohmann::ordered_json j;
          j["user"] = f->name;
          j["token_id"] = t.id;
          j["expires"] = base::JsonTimeOrNull(*expires);
          j["token"] = t.token;
          std::cout << j.dump() << "\n";
          std::fprintf(stderr,
                       "the token is shown only now (tapvault keeps its hash): use it as "
                       "TAPVAULT_TOKEN for the next steps\n");
          return absl::OkStatus();
        });
      };
    });
  }
  {
    auto* cmd =
        user->add_subcommand("second-admin",
                             "The bootstrap administrator makes a user without roles the second "
                             "administrator (once; later administrators need a grant)");
    auto f = std::make_shared<Common>();
    AddCommon(cmd, *f, true);
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user second-admin", *f, false, [&](UserStore& s, const std::string& by) {
          return s.AppointSecondAdministrator(f->name, by, base::Now().unix_us);
        });
      };
    });
  }
  {
    auto* cmd = user->add_subcommand(
        "add",
        "Add a user without roles (roles and teams come by grants); password from "
        "TAPVAULT_NEW_PASSWORD or stdin");
    struct Flags : Common {
      std::string display;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true);
    cmd->add_option("--display", f->display, "Display name");
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user add", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          // Read after the login, which may have taken the acting user's password from stdin.
          ASSIGN_OR_RETURN(std::string pw, ReadNewPassword("password for the new user"));
          return s.AddUser(f->name, f->display, pw, by, base::Now().unix_us);
        });
      };
    });
  }
  {
    auto* cmd = user->add_subcommand("list", "List users (and pending grant requests)");
    struct Flags : Common {
      bool json = false;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, false);
    f->action = access::Action::kUserManage;
    cmd->add_flag("--json", f->json, "JSON instead of a table");
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user list", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          ASSIGN_OR_RETURN(std::vector<access::UserInfo> users, s.ListUsers());
          ASSIGN_OR_RETURN(std::vector<access::GrantRequest> pending, s.PendingGrants());
          auto roles = [](const access::UserInfo& u) {
            return Joined(u.roles, [](access::Role r) { return std::string(access::RoleName(r)); });
          };
          auto teams = [](const access::UserInfo& u) {
            return Joined(u.teams, [](const std::string& t) { return t; });
          };
          if (f->json) {
            nlohmann::ordered_json out;
            out["users"] = nlohmann::ordered_json::array();
            for (const access::UserInfo& u : users) {
              nlohmann::ordered_json j;
              j["name"] = u.name;
              j["display_name"] = u.display_name;
              j["roles"] = nlohmann::ordered_json::array();
              for (access::Role r : u.roles) j["roles"].push_back(access::RoleName(r));
              j["teams"] = u.teams;
              j["disabled"] = u.disabled;
              j["totp"] = u.totp_enrolled;
              j["created_by"] = u.created_by;
              j["created"] = base::JsonTimeOrNull(u.created_us);
              j["failed_logins"] = u.failed_logins;
              j["locked_until"] = base::JsonTimeOrNull(u.locked_until_us);
              j["vendor_from"] = base::JsonTimeOrNull(u.vendor_from_us);
              j["vendor_to"] = base::JsonTimeOrNull(u.vendor_to_us);
              out["users"].push_back(std::move(j));
            }
            out["pending"] = nlohmann::ordered_json::array();
            for (const access::GrantRequest& r : pending) out["pending"].push_back(RequestJson(r));
            std::cout << out.dump(2) << "\n";
            return absl::OkStatus();
          }
          std::printf("%-20s %-28s %-24s %-5s %s\n", "NAME", "ROLES", "TEAMS", "TOTP", "STATE");
          int64_t now = base::Now().unix_us;
          for (const access::UserInfo& u : users) {
            std::string state = u.disabled                ? "disabled"
                                : u.locked_until_us > now ? "locked"
                                                          : "enabled";
            std::printf("%-20s %-28s %-24s %-5s %s\n", u.name.c_str(), roles(u).c_str(),
                        teams(u).c_str(), u.totp_enrolled ? "yes" : "no", state.c_str());
          }
          for (const access::GrantRequest& r : pending) {
            std::printf("pending request %llu: %s for %s, requested by %s\n",
                        static_cast<unsigned long long>(r.id),
                        r.vendor_to_us != 0 ? "vendor access" : r.grant.ToString().c_str(),
                        r.grantee.c_str(), r.requested_by.c_str());
          }
          return absl::OkStatus();
        });
      };
    });
  }
  AddGrantLike(*user, run, "grant",
               "Request a role or team for a user; takes effect when a second administrator "
               "approves",
               false);
  AddGrantLike(*user, run, "role", "Alias of `grant --role`: request a role (--add ROLE)", true);
  AddDecide(*user, run, true);
  AddDecide(*user, run, false);
  {
    auto* cmd = user->add_subcommand("revoke", "Take a role or team away (at once)");
    struct Flags : Common {
      std::string role, team;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true);
    cmd->add_option("--role", f->role, "Role");
    cmd->add_option("--team", f->team, "Team");
    cmd->callback([&run, f] {
      run = [f] {
        auto g = GrantOf(f->role, f->team);
        if (!g.ok()) return Fail("user revoke", g.status(), 2);
        return WithStore("user revoke", *f, false, [&](UserStore& s, const std::string& by) {
          return s.Revoke(f->name, *g, by, base::Now().unix_us);
        });
      };
    });
  }
  {
    auto* cmd = user->add_subcommand(
        "vendor", "Request a time-boxed vendor (support) account: health and metrics only");
    struct Flags : Common {
      std::string from, to;
    };
    auto f = std::make_shared<Flags>();
    AddCommon(cmd, *f, true);
    cmd->add_option("--from", f->from, "Start (RFC 3339)")->required();
    cmd->add_option("--to", f->to, "End (RFC 3339)")->required();
    cmd->callback([&run, f] {
      run = [f] {
        auto from = base::ParseRfc3339(f->from);
        auto to = base::ParseRfc3339(f->to);
        if (!from.ok()) return Fail("user vendor", from.status(), 2);
        if (!to.ok()) return Fail("user vendor", to.status(), 2);
        return WithStore("user vendor", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          ASSIGN_OR_RETURN(uint64_t id,
                           s.RequestVendorAccess(f->name, from->unix_us, to->unix_us,
                                                 by, base::Now().unix_us));
          std::cout << nlohmann::ordered_json{{"request", id}, {"status", "pending"}}.dump()
                    << "\n";
          return absl::OkStatus();
        });
      };
    });
  }
  for (bool disable : {true, false}) {
    auto* cmd = user->add_subcommand(disable ? "disable" : "enable",
                                     disable ? "Disable a user (at once)" : "Enable a user again");
    auto f = std::make_shared<Common>();
    AddCommon(cmd, *f, true);
    std::string label = disable ? "user disable" : "user enable";
    cmd->callback([&run, f, label, disable] {
      run = [f, label, disable] {
        return WithStore(label, *f, false, [&](UserStore& s, const std::string& by) {
          return s.SetDisabled(f->name, disable, by, base::Now().unix_us);
        });
      };
    });
  }
  {
    auto* cmd = user->add_subcommand(
        "passwd",
        "Set a password (one's own, or a reset by an administrator, which also lifts "
        "a lockout); from TAPVAULT_NEW_PASSWORD or stdin");
    auto f = std::make_shared<Common>();
    AddCommon(cmd, *f, true);
    cmd->callback([&run, f] {
      run = [f] {
        return WithStore("user passwd", *f, false, [&](UserStore& s, const std::string& by) -> absl::Status {
          ASSIGN_OR_RETURN(std::string pw, ReadNewPassword("new password"));
          return s.SetPassword(f->name, pw, by, base::Now().unix_us);
        });
      };
    });
  }
  AddTotp(*user, run);
  AddToken(*user, run);
}

}  // namespace tapvault::cli
