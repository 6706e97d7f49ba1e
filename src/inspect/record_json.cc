#include "inspect/record_json.h"

#include <string>

#include "base/hex.h"
#include "base/time.h"

namespace tapvault::inspect {

namespace {
std::string S(std::string_view v) { return std::string(v); }
}  // namespace

nlohmann::ordered_json HeaderToJson(const proto::PsPdu& pdu) {
  const proto::PsHeader& h = pdu.header;
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["liid"] = S(h.liid);
  j["network_id"] = h.network_element_id.empty()
                        ? S(h.operator_id)
                        : S(h.operator_id) + "/" + S(h.network_element_id);
  j["operator_id"] = S(h.operator_id);
  if (!h.network_element_id.empty()) j["network_element_id"] = S(h.network_element_id);
  if (h.cin) j["cin"] = *h.cin; else j["cin"] = nullptr;
  j["seq"] = h.sequence_number;
  if (h.timestamp) j["ts"] = base::FormatRfc3339(*h.timestamp); else j["ts"] = nullptr;
  if (!h.authorization_country_code.empty()) j["authorization_country"] = S(h.authorization_country_code);
  if (!h.delivery_country_code.empty()) j["delivery_country"] = S(h.delivery_country_code);
  if (!h.interception_point_id.empty()) j["interception_point"] = S(h.interception_point_id);
  if (pdu.skipped_unknown) j["skipped_unknown"] = pdu.skipped_unknown;
  return j;
}

nlohmann::ordered_json ItemToJson(const proto::PsPdu& pdu, const proto::PayloadItem& item) {
  nlohmann::ordered_json j = {{"kind", S(proto::KindName(item.kind))},
                              {"service", S(proto::ServiceName(item.service))}};
  j.update(HeaderToJson(pdu));
  if (item.timestamp) j["item_ts"] = base::FormatRfc3339(*item.timestamp);
  if (item.kind == proto::Kind::kCc) {
    j["direction"] = S(proto::DirectionName(item.direction));
    j["bytes"] = item.content.size();
  } else if (item.direction != proto::Direction::kAbsent) {
    j["direction"] = S(proto::DirectionName(item.direction));
  }
  if (proto::IsIri(item.kind)) {
    nlohmann::ordered_json parties = nlohmann::ordered_json::array();
    for (const proto::Party& p : item.parties) {
      nlohmann::ordered_json pj = {{"role", S(proto::PartyRoleName(p.role))}, {"id", p.id}};
      if (p.nature != proto::NumberNature::kNotGiven) pj["nature"] = S(proto::NumberNatureName(p.nature));
      parties.push_back(std::move(pj));
    }
    j["parties"] = std::move(parties);
    if (!item.content.empty()) j["bytes"] = item.content.size();
  }
  if (!item.attributes.empty()) {
    nlohmann::ordered_json attrs = nlohmann::ordered_json::object();
    for (const auto& [k, v] : item.attributes) attrs[S(k)] = v;
    j["attributes"] = std::move(attrs);
  }
  if (item.integrity) {
    const proto::IntegrityCheck& c = *item.integrity;
    j["integrity"] = {{"sequence_numbers", c.sequence_numbers},
                      {"check_type", c.check_type == 1 ? "hash" : c.check_type == 2 ? "signature" : "unknown"},
                      {"data_type", c.data_type == 1 ? "iri" : c.data_type == 2 ? "cc" : c.data_type == 3 ? "ilhi" : "absent"},
                      {"hash_algorithm", c.hash_algorithm},
                      {"signature_algorithm", c.signature_algorithm},
                      {"check_value", base::ToHex(c.check_value)}};
  }
  return j;
}

}  // namespace tapvault::inspect
