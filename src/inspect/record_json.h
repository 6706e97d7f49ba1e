// JSON rendering of decoded handover records: the line format of `tapvault inspect`, also used
// wherever a record is shown as JSON (tests, later the API).
//
//   nlohmann::ordered_json line = inspect::ItemToJson(pdu, pdu.items[i]);
//
// Fields, in this order: kind, service, liid, network_id ("<operator id>/<network element id>",
// or the operator id alone), operator_id, network_element_id, cin, seq, ts (RFC 3339 UTC,
// microseconds), and as they apply: authorization_country, delivery_country,
// interception_point, skipped_unknown, item_ts, direction and bytes (CC), parties
// [{role, id, nature}] (IRI), attributes, integrity.
// Party identities appear in clear: this is an operator's diagnostic tool for raw captures.
#pragma once

#include "nlohmann/json.hpp"
#include "proto/record/record.h"

namespace tapvault::inspect {

nlohmann::ordered_json ItemToJson(const proto::PsPdu& pdu, const proto::PayloadItem& item);
// A PDU without payload items (should not happen for a decoded PDU) renders its header.
nlohmann::ordered_json HeaderToJson(const proto::PsPdu& pdu);

}  // namespace tapvault::inspect
