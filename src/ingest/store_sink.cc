#include "ingest/store_sink.h"

#include <string>
#include <vector>

namespace tapvault::ingest {

absl::Status StoreSink::Accept(const ReceivedPdu& r) {
  const proto::PsHeader& h = r.pdu->header;
  std::string network_id;
  network_id.reserve(h.operator_id.size() + 1 + h.network_element_id.size());
  network_id.append(h.operator_id).append("/").append(h.network_element_id);
  std::vector<store::PartyRow> parties;
  for (const proto::PayloadItem& item : r.pdu->items) {
    for (const proto::Party& p : item.parties) {
      parties.push_back({std::string(proto::PartyRoleName(p.role)), p.id,
                         p.nature == proto::NumberNature::kNotGiven
                             ? std::string()
                             : std::string(proto::NumberNatureName(p.nature))});
    }
  }
  store::AppendMeta meta;
  meta.received_us = r.received.unix_us;
  meta.connection_id = r.connection->id;
  meta.handover = static_cast<uint8_t>(r.connection->handover);
  meta.kind = static_cast<uint8_t>(r.pdu->items.empty() ? proto::Kind::kUnknown
                                                        : r.pdu->items.front().kind);
  meta.verdict = static_cast<uint8_t>(r.verdict);
  meta.liid = h.liid;
  meta.network_id = network_id;
  meta.cin = h.cin;
  meta.sequence_number = h.sequence_number;
  meta.parties = parties.empty() ? nullptr : &parties;
  // Numbers without a country code are read in the country of the intercept.
  meta.country = !h.authorization_country_code.empty() ? h.authorization_country_code
                                                       : h.delivery_country_code;
  return store_.Append(meta, r.raw);
}

}  // namespace tapvault::ingest
