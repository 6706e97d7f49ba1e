// The canary of the privileged-party filter: a test number the operator keeps on the delivered
// list, exercised end to end on a schedule. Each run stores a synthetic communication with that
// number as a party — through Store::Append, like every intercepted PDU, in a notation that
// changes from run to run (E.164, 00-prefix, ISUP international digits, a SIP name-addr with
// user=phone, extra digits dialled after the number) — lets the filter decide it, tries to read
// it through the read gate, and destroys it again. When it is not blocked (not privileged, or the
// gate lets it through) an alarm is raised: a truncated or stale list, or a broken normalisation,
// shows up here before it exposes a real call.
//
//   filter::Canary canary({.number = "+31205550000", .dir = data}, *store, *filter);
//   absl::Status s = canary.RunOnce();     // OK: blocked as it must be
//
// Thread-compatible: one RunOnce at a time.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "filter/filter.h"
#include "gate/read_gate.h"
#include "metrics/registry.h"
#include "store/store.h"

namespace tapvault::filter {

inline constexpr char kCanaryLiid[] = "tapvault-canary";

struct CanaryOptions {
  std::string number;                      // E.164, on the privileged list
  std::string dir;                         // the store
  std::string country = "NL";
  metrics::Registry* metrics = nullptr;
  gate::AuditSink* audit = nullptr;        // where its read attempt is recorded (required)
};

class Canary {
 public:
  Canary(CanaryOptions options, store::Store& store, Filter& filter);
  // One end-to-end run. OK when the canary was blocked; FailedPrecondition (and an alarm) when it
  // was not; other errors when the run itself could not be carried out (also alarmed).
  absl::Status RunOnce();
  // The notation of run `n` (for tests).
  std::pair<std::string, std::string> Notation(uint32_t n) const;   // {identity, nature}

 private:
  absl::Status Exercise(uint32_t run);

  CanaryOptions options_;
  store::Store& store_;
  Filter& filter_;
  uint32_t runs_ = 0;
};

}  // namespace tapvault::filter
