// Helpers shared by the store, decision and read commands of the CLI: the error line and exit
// code, who is acting, the read gate a CLI process reads through, and the audit log every action
// of the CLI is recorded in before it is carried out.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "filter/assignment.h"
#include "filter/filter.h"
#include "gate/read_gate.h"
#include "gate/store_audit.h"

namespace tapvault::cli {

// Prints "tapvault CMD: message" on stderr and returns `code`.
int Fail(std::string_view cmd, const absl::Status& s, int code = 1);

// "comm:<id>", the audit log's name of a communication.
std::string CommObject(uint64_t comm_id);

// Who is acting when --by is not given: the login name (SUDO_USER, USER, LOGNAME), else "operator".
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

}  // namespace tapvault::cli
