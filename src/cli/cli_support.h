// Helpers shared by the store, decision and read commands of the CLI: the error line and exit
// code, who is acting, and the read gate a CLI process reads through.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "filter/filter.h"
#include "gate/read_gate.h"

namespace tapvault::cli {

// Prints "tapvault CMD: message" on stderr and returns `code`.
int Fail(std::string_view cmd, const absl::Status& s, int code = 1);

// Who is acting when --by is not given: the login name (SUDO_USER, USER, LOGNAME), else "operator".
std::string DefaultActor();

// The read gate for a CLI process, with the privileged-party filter of the store in DIR (opened
// read-only: a CLI read never creates or changes the list). Without a list the gate refuses
// every content read. `filter` keeps the filter alive as long as the gate.
absl::StatusOr<std::unique_ptr<gate::ReadGate>> OpenCliGate(const std::string& dir,
                                                            std::unique_ptr<filter::Filter>& filter);

}  // namespace tapvault::cli
