// The CLI's shared helpers (cli_support.h): error lines, the acting person, the read gate, the
// audit-before-act wrapper, and the login of a tapvault user for reads and decisions.
#include "cli/cli_support.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "access/user_store.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "store/catalog.h"
#include "warrant/warrant_store.h"

namespace tapvault::cli {

int Fail(std::string_view cmd, const absl::Status& s, int code) {
  std::fprintf(stderr, "tapvault %.*s: %.*s\n", static_cast<int>(cmd.size()), cmd.data(),
               static_cast<int>(s.message().size()), s.message().data());
  return code;
}

std::string DefaultActor() {
  for (const char* var : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "operator";
}

std::string CommObject(uint64_t comm_id) { return base::StrCat("comm:", comm_id); }

absl::StatusOr<CliGate> OpenCliGate(const std::string& dir) {
  CliGate g;
  auto f = filter::Filter::Open({.dir = dir, .read_only = true});
  if (f.ok()) {
    g.filter = std::move(*f);
    ASSIGN_OR_RETURN(g.assignment, filter::AssignedScreener::Open({.dir = dir}, *g.filter));
  }
  ASSIGN_OR_RETURN(g.audit, gate::StoreAudit::Open(dir, ""));
  ASSIGN_OR_RETURN(g.gate, gate::ReadGate::Open({.dir = dir, .recheck = g.assignment.get(),
                                                 .audit = g.audit.get()}));
  return g;
}

absl::Status RunAudited(const std::string& dir, audit::Event intent,
                        const std::function<absl::Status(nlohmann::json& detail)>& act) {
  ASSIGN_OR_RETURN(auto log, gate::StoreAudit::Open(dir, ""));
  intent.outcome = "requested";
  if (intent.detail.is_null()) intent.detail = nlohmann::json::object();
  RETURN_IF_ERROR(log->Record(intent).status());
  audit::Event outcome = intent;
  absl::Status done = act(outcome.detail);
  outcome.at_us = 0;
  outcome.outcome = done.ok() ? "ok" : "failed";
  if (!done.ok() && outcome.detail.is_object()) outcome.detail["error"] = base::View(done.message());
  if (absl::Status s = log->Record(outcome).status(); !s.ok() && done.ok()) {
    return absl::DataLossError(base::StrCat(outcome.action, " was carried out but its outcome could "
                                            "not be recorded in the audit log: ",
                                            base::View(s.message())));
  }
  return done;
}

namespace {

absl::StatusOr<std::string> PasswordFrom(const char* env_var, const char* prompt) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  bool tty = ::isatty(STDIN_FILENO) == 1;
  termios old{};
  if (tty) {
    std::fprintf(stderr, "%s: ", prompt);
    if (::tcgetattr(STDIN_FILENO, &old) == 0) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fprintf(stderr, "\n");
  }
  if (!got || line.empty()) {
    return absl::InvalidArgumentError(
        base::StrCat("no ", prompt, " (set ", env_var, " or give it on stdin)"));
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace

absl::StatusOr<std::string> ReadPassword(const char* prompt) {
  return PasswordFrom("TAPVAULT_PASSWORD", prompt);
}

absl::StatusOr<std::string> ReadNewPassword(const char* prompt) {
  return PasswordFrom("TAPVAULT_NEW_PASSWORD", prompt);
}

void AddLoginFlags(CLI::App* cmd, LoginFlags& flags) {
  cmd->add_option("--user", flags.user,
                  "tapvault user acting (password in TAPVAULT_PASSWORD or on stdin; or an API "
                  "token in TAPVAULT_TOKEN instead)");
  cmd->add_option("--totp", flags.totp, "The user's current TOTP code");
}

absl::StatusOr<access::Principal> CliLogin(const std::string& dir, const LoginFlags& flags,
                                           gate::StoreAudit& audit) {
  const int64_t now = base::Now().unix_us;
  const char* token = std::getenv("TAPVAULT_TOKEN");
  const bool by_token = token != nullptr && *token != '\0';
  if (!by_token && flags.user.empty()) {
    return absl::UnauthenticatedError(
        "who is acting? give --user NAME (password in TAPVAULT_PASSWORD or on stdin, --totp CODE) "
        "or an API token in TAPVAULT_TOKEN");
  }
  auto users = access::UserStore::Open(dir, /*create=*/false);
  if (!users.ok()) {
    return absl::UnauthenticatedError(
        base::StrCat("no users in ", dir, " (tapvault user bootstrap): ",
                     base::View(users.status().message())));
  }
  absl::StatusOr<access::Principal> p = absl::UnauthenticatedError("no credentials");
  if (by_token) {
    p = (*users)->AuthenticateToken(token, now);
  } else {
    ASSIGN_OR_RETURN(std::string password, ReadPassword("password"));
    p = (*users)->Authenticate(flags.user, password, flags.totp, now);
  }
  const std::string who = p.ok() ? p->name : (by_token ? "(token)" : flags.user);
  nlohmann::json detail = {{"method", by_token ? "token" : "password"}, {"via", "cli"}};
  if (!p.ok()) detail["error"] = base::View(p.status().message());
  RETURN_IF_ERROR(audit.Record({.actor = who,
                                .action = p.ok() ? "login" : "login_failed",
                                .object = "user:" + who,
                                .outcome = p.ok() ? "ok" : "refused",
                                .detail = detail})
                      .status());
  return p;
}

std::string RoleOf(const access::Principal& p, std::optional<access::Action> action) {
  if (action) return access::ActingRole(p, *action);
  return p.roles.empty() ? std::string() : std::string(access::RoleName(*p.roles.begin()));
}

absl::StatusOr<access::Principal> LoginFor(const std::string& dir, const LoginFlags& flags,
                                           std::optional<access::Action> action) {
  ASSIGN_OR_RETURN(auto audit, gate::StoreAudit::Open(dir, ""));
  ASSIGN_OR_RETURN(access::Principal p, CliLogin(dir, flags, *audit));
  if (!action) return p;
  absl::Status may = access::Authorize(p, *action, {.now_us = base::Now().unix_us});
  if (may.ok()) return p;
  RETURN_IF_ERROR(audit->Record({.actor = p.name,
                                 .action = "refused",
                                 .object = base::StrCat("action:", access::ActionName(*action)),
                                 .outcome = "refused",
                                 .detail = {{"reason", base::View(may.message())},
                                            {"action", access::ActionName(*action)}}})
                      .status());
  return may;
}

absl::StatusOr<access::CommAccess> CommAccessFor(const std::string& dir,
                                                 const access::Principal& principal,
                                                 access::Action action, uint64_t comm_id) {
  ASSIGN_OR_RETURN(auto catalog, store::SqliteCatalog::Open(store::CatalogPath(dir),
                                                            /*create=*/false, /*read_only=*/true));
  store::CommFilter f;
  f.comm_id = comm_id;
  ASSIGN_OR_RETURN(auto rows, catalog->ListComms(f));
  if (rows.empty()) return absl::NotFoundError(base::StrCat("no communication ", comm_id));
  ASSIGN_OR_RETURN(auto warrants, LoadWarrants(dir));
  return access::CommScope(*warrants, principal, action, rows.front().liid,
                           rows.front().start_us, base::Now().unix_us, kDefaultRetentionDays);
}

absl::StatusOr<std::shared_ptr<const warrant::WarrantIndex>> LoadWarrants(const std::string& dir) {
  if (::access(warrant::WarrantPath(dir).c_str(), F_OK) != 0) {
    return std::make_shared<const warrant::WarrantIndex>(std::vector<warrant::Warrant>{}, 0);
  }
  ASSIGN_OR_RETURN(auto store, warrant::WarrantStore::Open(dir, /*create=*/false, /*read_only=*/true));
  return store->Snapshot();
}

absl::Status AuthorizeOnComm(const std::string& dir, const access::Principal& principal,
                             access::Action action, uint64_t comm_id, gate::StoreAudit& audit) {
  ASSIGN_OR_RETURN(access::CommAccess ca, CommAccessFor(dir, principal, action, comm_id));
  absl::Status may = access::Authorize(principal, action, ca.scope);
  if (may.ok()) return may;
  nlohmann::json detail = {{"reason", base::View(may.message())},
                           {"action", access::ActionName(action)},
                           {"warrant", ca.warrant_id}};
  if (!ca.reason.empty()) detail["warrant_reason"] = ca.reason;
  RETURN_IF_ERROR(audit.Record({.actor = principal.name,
                                .action = "refused",
                                .object = CommObject(comm_id),
                                .outcome = "refused",
                                .detail = detail})
                      .status());
  return may;
}

}  // namespace tapvault::cli
