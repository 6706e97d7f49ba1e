// One warrant version as JSON, the same for the CLI (`warrant ... --json`) and the HTTPS API:
// times in RFC 3339 (null when unknown), every field of the version.
//
//   std::cout << warrant::WarrantJson(w).dump(2);
#pragma once

#include "nlohmann/json.hpp"
#include "warrant/warrant.h"

namespace tapvault::warrant {

nlohmann::ordered_json WarrantJson(const Warrant& w);

}  // namespace tapvault::warrant
