// The one JSON form of a version of the privileged-party list, for the CLI (`privileged import`,
// `versions`, `confirm`) and the API (`GET /api/v1/privileged/versions`): what the version is
// (hash, counts, who imported and confirmed it, when it was in force), never its entries.
//
//   std::cout << privileged::VersionJson(v).dump() << "\n";
//
// Times are RFC 3339 or null; `base` (the version it was compared with) and `confirmed_by` are
// null when there is none. Thread-safety: a pure function.
#pragma once

#include "nlohmann/json.hpp"
#include "privileged/list_store.h"

namespace tapvault::privileged {

nlohmann::ordered_json VersionJson(const VersionInfo& v);

}  // namespace tapvault::privileged
