#include "filter/oversight.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

#include "base/status_macros.h"
#include "base/time.h"
#include "filter/canary.h"

namespace tapvault::filter {
namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

}  // namespace

absl::StatusOr<nlohmann::ordered_json> OversightReport(store::Catalog& catalog, int64_t from_us,
                                                       int64_t to_us) {
  ASSIGN_OR_RETURN(std::vector<store::CommRow> comms, catalog.ListComms({}));
  std::set<uint64_t> canary;
  std::map<uint64_t, int64_t> start_of;
  std::map<std::string, uint64_t> now_by_state, review;
  uint64_t queue = 0;
  for (const store::CommRow& c : comms) {
    if (c.liid == kCanaryLiid) {
      canary.insert(c.id);
      continue;
    }
    start_of[c.id] = c.start_us;
    ++now_by_state[std::string(store::CommStateName(c.state))];
    if (c.state == store::CommState::kPrivileged) ++queue;
    if (c.state == store::CommState::kQuarantined) ++review[c.state_reason];
  }
  ASSIGN_OR_RETURN(std::vector<store::DecisionRow> decisions,
                   catalog.Decisions(std::nullopt, from_us, to_us));
  std::set<uint64_t> on_arrival, retroactive, flagged, destroyed, released, release_requests;
  std::vector<double> hours_to_destruction;
  std::vector<double> ms_to_decision;   // first verdict that is not "wait", after arrival
  std::set<uint64_t> decided;
  for (const store::DecisionRow& d : decisions) {
    if (canary.count(d.comm_id)) continue;
    if (d.state != store::CommState::kQuarantined && d.by == "filter" &&
        decided.insert(d.comm_id).second && start_of.count(d.comm_id) &&
        d.detail.find("\"retroactive\":true") == std::string::npos) {
      ms_to_decision.push_back(static_cast<double>(d.at_us - start_of[d.comm_id]) / 1000.0);
    }
    if (d.reason == "list_match") {
      const bool retro = d.detail.find("\"retroactive\":true") != std::string::npos;
      (retro ? retroactive : on_arrival).insert(d.comm_id);
    } else if (d.reason == "manual_flag") {
      flagged.insert(d.comm_id);
    } else if (d.reason == "confirmed") {
      destroyed.insert(d.comm_id);
      nlohmann::json detail = nlohmann::json::parse(d.detail, nullptr, false);
      if (detail.is_object() && detail.contains("recognised_us")) {
        const int64_t since = detail["recognised_us"].get<int64_t>();
        hours_to_destruction.push_back(static_cast<double>(d.at_us - since) / 3.6e9);
      }
    } else if (d.reason == "released") {
      released.insert(d.comm_id);
    } else if (d.reason == "release_requested") {
      release_requests.insert(d.comm_id);
    }
  }
  nlohmann::ordered_json r;
  r["period"] = {{"from", base::FormatRfc3339({from_us})}, {"to", base::FormatRfc3339({to_us})}};
  r["recognised"] = {{"total", on_arrival.size() + retroactive.size()},
                     {"on_arrival", on_arrival.size()},
                     {"retroactive", retroactive.size()}};
  r["flagged_by_hand"] = flagged.size();
  r["blocked"] = on_arrival.size() + retroactive.size() + flagged.size();
  r["destroyed"] = destroyed.size();
  r["released"] = released.size();
  r["release_requests"] = release_requests.size();
  r["hours_from_recognition_to_destruction"] = {
      {"count", hours_to_destruction.size()},
      {"median", Percentile(hours_to_destruction, 0.5)},
      {"p90", Percentile(hours_to_destruction, 0.9)},
      {"max", hours_to_destruction.empty()
                  ? 0.0
                  : *std::max_element(hours_to_destruction.begin(), hours_to_destruction.end())}};
  r["ms_from_arrival_to_decision"] = {{"count", ms_to_decision.size()},
                                      {"p50", Percentile(ms_to_decision, 0.5)},
                                      {"p99", Percentile(ms_to_decision, 0.99)}};
  r["now"] = {{"awaiting_prosecutor", queue}, {"quarantined_by_reason", review}, {"by_state", now_by_state}};
  return r;
}

}  // namespace tapvault::filter
