// A time as tapvault's JSON output shows it (CLI and API alike): RFC 3339 in UTC with
// microseconds, or null for 0, which means "not set" or "never" in every record that has times.
//
//   j["expires"] = base::JsonTimeOrNull(token.expires_us);
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>

#include "base/time.h"
#include "nlohmann/json.hpp"

namespace tapvault::base {

inline nlohmann::ordered_json JsonTimeOrNull(int64_t unix_us) {
  return unix_us == 0 ? nlohmann::ordered_json(nullptr)
                      : nlohmann::ordered_json(FormatRfc3339({unix_us}));
}

}  // namespace tapvault::base
