#include "filter/canary.h"

#include <utility>
#include <vector>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "gate/read_gate.h"
#include "store/catalog.h"

namespace tapvault::filter {

Canary::Canary(CanaryOptions options, store::Store& store, Filter& filter)
    : options_(std::move(options)), store_(store), filter_(filter) {}

std::pair<std::string, std::string> Canary::Notation(uint32_t n) const {
  const std::string& e164 = options_.number;   // "+31205550000"
  const std::string digits = e164.substr(e164.empty() || e164[0] != '+' ? 0 : 1);
  switch (n % 5) {
    case 0: return {e164, ""};
    case 1: return {"00" + digits, ""};
    case 2: return {digits, "international"};
    case 3: return {"\"Canary\" <sip:" + e164 + "@canary.invalid;user=phone>;tag=c" + std::to_string(n), ""};
    default: return {e164 + "123", ""};       // digits dialled after the number
  }
}

absl::Status Canary::Exercise(uint32_t run) {
  const auto [identity, nature] = Notation(run);
  const std::vector<store::PartyRow> parties = {{"originating", identity, nature},
                                                {"terminating", "+31000000000", "international"}};
  store::AppendMeta meta;
  meta.received_us = base::Now().unix_us;
  meta.liid = kCanaryLiid;
  meta.network_id = "tapvault/canary";
  meta.cin = run;
  meta.sequence_number = 0;
  meta.parties = &parties;
  meta.country = options_.country;
  const std::string body = base::StrCat("tapvault canary run ", run);
  RETURN_IF_ERROR(store_.Append(meta, base::AsBytes(body)));
  RETURN_IF_ERROR(store_.Flush());

  ASSIGN_OR_RETURN(auto catalog, store::SqliteCatalog::Open(store::CatalogPath(options_.dir), false,
                                                            /*read_only=*/true));
  store::CommFilter f;
  f.liid = kCanaryLiid;
  f.network_id = "tapvault/canary";
  f.match_cin = true;
  f.cin = run;
  ASSIGN_OR_RETURN(auto rows, catalog->ListComms(f));
  store::CommRow* comm = nullptr;
  for (store::CommRow& r : rows) {
    if (r.state != store::CommState::kDestroyed) comm = &r;
  }
  if (comm == nullptr) return absl::InternalError("canary: its communication was not stored");
  absl::Status verdict = absl::OkStatus();
  if (comm->state != store::CommState::kPrivileged) {
    verdict = absl::FailedPreconditionError(base::StrCat(
        "canary NOT BLOCKED: run ", run, " (notation ", run % 5, ") was decided ",
        store::CommStateName(comm->state), " (", comm->state_reason,
        "); is the canary number on the list in force?"));
  } else {
    ASSIGN_OR_RETURN(auto gate, gate::ReadGate::Open({.dir = options_.dir, .recheck = &filter_,
                                                         .audit = options_.audit}));
    auto read = gate->ReadComm(comm->id, {.who = "tapvault-canary", .role = "system", .purpose = "canary"});
    if (read.ok() || read.status().code() != absl::StatusCode::kPermissionDenied) {
      verdict = absl::FailedPreconditionError(
          base::StrCat("canary NOT BLOCKED: the read gate let run ", run, " through"));
    }
  }
  // Gone again, whatever the outcome.
  store::DestroyOrder order;
  order.comm_id = comm->id;
  order.order_ref = "canary";
  order.reason = "canary self-test of the privileged-party filter";
  order.ordered_by = "tapvault";
  if (auto d = store_.Destroy(order); !d.ok()) {
    base::Log(base::LogLevel::kWarn, "privileged.canary_cleanup_failed",
              {{"reason", base::View(d.status().message())}});
  }
  return verdict;
}

absl::Status Canary::RunOnce() {
  const uint32_t run = ++runs_;
  absl::Status s = Exercise(run);
  const char* outcome = s.ok() ? "blocked"
                        : s.code() == absl::StatusCode::kFailedPrecondition ? "not_blocked"
                                                                             : "error";
  if (options_.metrics != nullptr) {
    options_.metrics
        ->GetCounter("tapvault_privileged_canary_runs_total",
                     "Canary runs of the privileged-party filter, by outcome", {{"outcome", outcome}})
        .Inc();
    options_.metrics
        ->GetGauge("tapvault_privileged_canary_ok", "1 when the last canary run was blocked")
        .Set(s.ok() ? 1 : 0);
  }
  if (s.ok()) {
    base::Log(base::LogLevel::kInfo, "privileged.canary", {{"run", run}, {"outcome", outcome}});
  } else {
    base::Log(base::LogLevel::kError, "alarm",
              {{"kind", "privileged_canary"}, {"outcome", outcome}, {"detail", base::View(s.message())}});
    if (options_.metrics != nullptr) {
      options_.metrics
          ->GetCounter("tapvault_alarms_total", "Alarms raised, by kind", {{"kind", "privileged_canary"}})
          .Inc();
    }
  }
  return s;
}

}  // namespace tapvault::filter
