// Helpers shared by the store, decision and read commands of the CLI: the error line and exit
// code, who is acting, the read gate a CLI process reads through, and the audit log every action
// of the CLI is recorded in before it is carried out.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "access/authorize.h"
#include "access/comm_scope.h"
#include "access/principal.h"
#include "access/roles.h"
#include <CLI/CLI.hpp>
#include "filter/assignment.h"
#include "filter/filter.h"
#include "gate/read_gate.h"
#include "gate/store_audit.h"

namespace tapvault::cli {

// Prints "tapvault CMD: message" on stderr and returns `code`.
int Fail(std::string_view cmd, const absl::Status& s, int code = 1);

// "comm:<id>", the audit log's name of a communication.
std::string CommObject(uint64_t comm_id);

// The login name of the process (SUDO_USER, USER, LOGNAME), else "operator": named in the audit
// log only for what no tapvault user does (serve's own start, the first administrator's bootstrap).
std::string DefaultActor();

// The read gate for a CLI process, with the privileged-party filter of the store in DIR (opened
// read-only: a CLI read never creates or changes the list) and the store's audit log. Without a
// list the gate refuses every content read, and a communication no warrant covers is never read;
// without the audit log (no master key) it does not open. Members are destroyed gate first.
struct CliGate {
  std::unique_ptr<filter::Filter> filter;
  std::unique_ptr<filter::AssignedScreener> assignment;   // the filter + warrants
  std::unique_ptr<gate::StoreAudit> audit;
  std::unique_ptr<gate::ReadGate> gate;
};
absl::StatusOr<CliGate> OpenCliGate(const std::string& dir);

// Audit-before-act for the CLI's actions on the store in DIR: records `intent` (outcome
// "requested") in the audit log, runs `act` only when that record is durable, then records the
// outcome ("ok", or "failed" with the error in detail.error; the intent's detail and what `act`
// added to it).
// Returns act's status, or the audit log's error when the intent could not be recorded (act did
// not run). A failure to record the outcome after the act succeeded is returned as DataLoss.
absl::Status RunAudited(const std::string& dir, audit::Event intent,
                        const std::function<absl::Status(nlohmann::json& detail)>& act);

// The acting user's password (for --user logins): TAPVAULT_PASSWORD, else the next line of stdin
// (not echoed on a terminal).
absl::StatusOr<std::string> ReadPassword(const char* prompt);
// A password being set (bootstrap, user add, passwd): TAPVAULT_NEW_PASSWORD, else the next line
// of stdin (after the acting user's own password when they log in with --user).
absl::StatusOr<std::string> ReadNewPassword(const char* prompt);

// The person behind a command that reads or decides: a tapvault user (access/), authenticated as
// on the API — an API token in TAPVAULT_TOKEN, or --user NAME with the password in
// TAPVAULT_PASSWORD (or on stdin) and --totp CODE. Every attempt is in the audit log ("login",
// "login_failed"); Unauthenticated without valid credentials.
struct LoginFlags {
  std::string user, totp;
};
void AddLoginFlags(CLI::App* cmd, LoginFlags& flags);
absl::StatusOr<access::Principal> CliLogin(const std::string& dir, const LoginFlags& flags,
                                           gate::StoreAudit& audit);

// The person behind an administrative command (people, warrants, lists, keys, retention,
// destruction, configuration, audit queries): CliLogin, then, when `action` is given, whether
// their roles allow it (access::Authorize; these actions are not on one communication, so no team
// applies). A refusal is recorded in the audit log ("refused", with the reason) and returned as
// PermissionDenied; no credentials is Unauthenticated.
absl::StatusOr<access::Principal> LoginFor(const std::string& dir, const LoginFlags& flags,
                                           std::optional<access::Action> action);

// Four eyes (approval_commands.cc): records a request by `who` for `action` ("destroy_range",
// "retention_change", "export", "config_change") on `object` with exactly what is to be done
// (`params`) in DIR/approvals.db, audited; prints it and how a second person approves it.
// Returns the exit code (0: asked).
int AskForApproval(const std::string& cmd, const std::string& dir, const access::Principal& who,
                   const char* action, const std::string& object, const nlohmann::json& params,
                   const std::string& reason);

// The role `p` acts in for `action` (the first of their roles that may do it), or with no action
// their first role: what the audit log's `role` says of an action on the CLI.
std::string RoleOf(const access::Principal& p, std::optional<access::Action> action);

// Prosecutors keep access to a case this long after its warrant ends when the warrant names no
// retention of its own.
inline constexpr int kDefaultRetentionDays = 180;

// The warrants of DIR (none when warrants.db does not exist).
absl::StatusOr<std::shared_ptr<const warrant::WarrantIndex>> LoadWarrants(const std::string& dir);
// The scope of communication `comm_id` for `principal` (the warrant covering it, its team, and
// whether it lets this person in now). NotFound for an unknown id.
absl::StatusOr<access::CommAccess> CommAccessFor(const std::string& dir,
                                                 const access::Principal& principal,
                                                 access::Action action, uint64_t comm_id);
// Authorize `action` on the communication; a refusal is recorded in the audit log (action
// "refused") and returned as PermissionDenied.
absl::Status AuthorizeOnComm(const std::string& dir, const access::Principal& principal,
                             access::Action action, uint64_t comm_id, gate::StoreAudit& audit);

}  // namespace tapvault::cli
