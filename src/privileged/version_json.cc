#include "privileged/version_json.h"

#include "base/json_time.h"
#include "base/time.h"

namespace tapvault::privileged {

nlohmann::ordered_json VersionJson(const VersionInfo& v) {
  nlohmann::ordered_json j;
  j["version"] = v.id;
  j["status"] = v.status;
  j["sha256"] = v.sha256_hex;
  j["source"] = v.source;
  j["imported_by"] = v.imported_by;
  j["imported"] = base::JsonTimeOrNull(v.imported_us);
  j["entries"] = v.entries;
  j["added"] = v.added;
  j["removed"] = v.removed;
  j["duplicates"] = v.duplicates;
  j["shrink"] = v.shrink;
  j["base"] = v.base == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v.base);
  j["confirmed_by"] = v.confirmed_by.empty() ? nlohmann::ordered_json(nullptr)
                                             : nlohmann::ordered_json(v.confirmed_by);
  j["confirmed"] = base::JsonTimeOrNull(v.confirmed_us);
  j["in_force_from"] = base::JsonTimeOrNull(v.in_force_from_us);
  j["in_force_to"] = base::JsonTimeOrNull(v.in_force_to_us);
  return j;
}

}  // namespace tapvault::privileged
