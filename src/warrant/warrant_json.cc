#include "warrant/warrant_json.h"

#include "base/json_time.h"
#include "base/time.h"

namespace tapvault::warrant {

nlohmann::ordered_json WarrantJson(const Warrant& w) {
  const WarrantSpec& s = w.spec;
  nlohmann::ordered_json j;
  j["id"] = s.id;
  j["version"] = w.version;
  j["change"] = w.change;
  j["liid"] = s.liid;
  j["targets"] = s.targets;
  j["valid_from"] = base::JsonTimeOrNull(s.valid_from_us);
  j["valid_to"] = base::JsonTimeOrNull(s.valid_to_us);
  j["team"] = s.team;
  j["legal_basis"] = s.legal_basis;
  j["prosecutor"] = s.prosecutor;
  j["prosecutor_reference"] = s.prosecutor_reference;
  j["authority"] = s.authority;
  j["authority_reference"] = s.authority_reference;
  j["issued"] = base::JsonTimeOrNull(s.issued_us);
  j["retention_days"] = s.retention_days;
  j["source"] = s.source;
  if (s.generation != 0) j["generation"] = s.generation;
  j["reason"] = w.reason;
  j["by"] = w.by;
  j["at"] = base::JsonTimeOrNull(w.at_us);
  return j;
}

}  // namespace tapvault::warrant
