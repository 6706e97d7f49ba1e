// Oversight figures of the privileged-party filter for a period, for the bar association and the
// auditors: how many communications were recognised as privileged (on arrival and
// retroactively), flagged by hand, destroyed after the prosecutor's confirmation, released, and
// how long it took from recognition to destruction; plus what waits now (the prosecutor's queue,
// the review queue of communications whose parties could not be determined). Counts only: no
// identity, no content. The canary's own communications are left out.
//
//   ASSIGN_OR_RETURN(nlohmann::ordered_json r, filter::OversightReport(catalog, from_us, to_us));
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/catalog.h"

namespace tapvault::filter {

absl::StatusOr<nlohmann::ordered_json> OversightReport(store::Catalog& catalog, int64_t from_us,
                                                       int64_t to_us);

}  // namespace tapvault::filter
