#include "gate/read_gate.h"

#include <utility>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::gate {
namespace {

constexpr size_t kListedIdsRecorded = 1000;

// What a listing asked for, as the audit log records it.
nlohmann::json FilterJson(const store::CommFilter& f) {
  nlohmann::json j = nlohmann::json::object();
  if (f.liid) j["liid"] = *f.liid;
  if (f.comm_id) j["comm_id"] = *f.comm_id;
  if (f.party) j["party"] = *f.party;
  if (f.from_us) j["from_us"] = *f.from_us;
  if (f.to_us) j["to_us"] = *f.to_us;
  if (f.network_id) j["network_id"] = *f.network_id;
  if (f.state) j["state"] = store::CommStateName(*f.state);
  if (f.after_id != 0) j["after_id"] = f.after_id;
  if (f.limit != 0) j["limit"] = f.limit;
  return j;
}

}  // namespace

ReadGate::ReadGate(const Options& options) : options_(options) {}
ReadGate::~ReadGate() = default;

absl::StatusOr<std::unique_ptr<ReadGate>> ReadGate::Open(const Options& options) {
  if (options.audit == nullptr) {
    return absl::FailedPreconditionError(
        "read gate: no audit log to record reads in, so nothing may be read (audit-before-read)");
  }
  std::unique_ptr<ReadGate> gate(new ReadGate(options));
  ASSIGN_OR_RETURN(gate->catalog_, store::SqliteCatalog::Open(store::CatalogPath(options.dir),
                                                              /*create=*/false, /*read_only=*/true));
  return gate;
}

absl::StatusOr<store::CommRow> ReadGate::Comm(uint64_t comm_id) {
  store::CommFilter f;
  f.comm_id = comm_id;
  ASSIGN_OR_RETURN(auto rows, catalog_->ListComms(f));
  if (rows.empty()) return absl::NotFoundError(base::StrCat("no communication ", comm_id));
  return std::move(rows.front());
}

absl::Status ReadGate::MayRead(const store::CommRow& comm) {
  if (comm.state != store::CommState::kAvailable) {
    return absl::PermissionDeniedError(
        base::StrCat("communication ", comm.id, " is ", store::CommStateName(comm.state),
                     comm.state_reason.empty() ? "" : " (", comm.state_reason,
                     comm.state_reason.empty() ? "" : ")", ": its content is not readable"));
  }
  const bool released = comm.state_reason == "released";   // a prosecutor's decision
  if (options_.recheck == nullptr) {
    if (released) return absl::OkStatus();
    return absl::PermissionDeniedError(
        "no privileged-party filter to confirm that the communication is not privileged");
  }
  // The filter's answer now: a list version newer than the stored decision may list a party, and
  // the warrant covering it may have ended or been corrected since.
  store::DecisionRow now = options_.recheck->Screen(
      store::ScreenRequest{comm.id, comm.liid, comm.country, comm.start_us, comm.parties});
  if (now.state == store::CommState::kPrivileged && !released) {
    return absl::PermissionDeniedError(base::StrCat(
        "communication ", comm.id, " is privileged under list version ", now.list_version,
        " (the server marks it so within a second)"));
  }
  if (now.state == store::CommState::kQuarantined && now.reason == store::kUnassignedReason) {
    return absl::PermissionDeniedError(base::StrCat(
        "communication ", comm.id, " is not covered by a warrant for its LIID at its time"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<store::ContentReader::Record>> ReadGate::ReadComm(uint64_t comm_id,
                                                                           const Reader& reader) {
  const std::string object = base::StrCat("comm:", comm_id);
  ASSIGN_OR_RETURN(store::CommRow comm, Comm(comm_id));
  if (absl::Status may = MayRead(comm); !may.ok()) {
    // A refusal is recorded too; its own failure does not change the answer.
    (void)options_.audit->Record("read_refused", object, reader, "refused",
                                 {{"liid", comm.liid}, {"state", store::CommStateName(comm.state)},
                                  {"reason", base::View(may.message())}});
    base::Log(base::LogLevel::kInfo, "gate.refused",
              {{"comm", comm_id}, {"who", reader.who}, {"reason", base::View(may.message())}});
    return may;
  }
  if (absl::Status s = options_.audit->Record("read_content", object, reader, "ok",
                                               {{"liid", comm.liid}, {"records", comm.records}});
      !s.ok()) {
    return absl::PermissionDeniedError(
        base::StrCat("the read could not be recorded in the audit log, so it is refused: ",
                     base::View(s.message())));
  }
  if (content_ == nullptr) {
    ASSIGN_OR_RETURN(content_, store::ContentReader::Open(options_.dir, options_.master_key));
  }
  ASSIGN_OR_RETURN(auto records, content_->ReadComm(comm_id));
  // A flag or a new list version during the read wins: nothing of it is returned.
  ASSIGN_OR_RETURN(store::CommRow after, Comm(comm_id));
  if (absl::Status may = MayRead(after); !may.ok()) {
    for (auto& r : records) std::fill(r.pdu.begin(), r.pdu.end(), '\0');
    return may;
  }
  return records;
}

absl::StatusOr<ListPage> ReadGate::ListVisible(const store::CommFilter& filter,
                                                const Reader& reader, const ListOptions& options) {
  ASSIGN_OR_RETURN(auto rows, catalog_->ListComms(filter));
  ListPage page;
  std::vector<store::CommRow> shown;
  for (store::CommRow& row : rows) {
    if (options.max_rows != 0 && shown.size() >= options.max_rows) {
      page.stopped_at_max = true;
      break;
    }
    ++page.scanned;
    page.last_scanned_id = row.id;
    if (!options.visible || options.visible(row)) shown.push_back(std::move(row));
  }
  // On record before any row leaves the gate, with the ids it shows so that "all access to one
  // communication" finds listings too (up to kListedIdsRecorded of them; the filter says the rest).
  nlohmann::json detail = FilterJson(filter);
  detail["rows"] = shown.size();
  detail["scanned"] = page.scanned;
  nlohmann::json ids = nlohmann::json::array();
  for (size_t i = 0; i < shown.size() && i < kListedIdsRecorded; ++i) ids.push_back(shown[i].id);
  detail["ids"] = std::move(ids);
  // A listing by party is a search for a person: auditors ask for those apart.
  const char* action = filter.party ? "search" : "read_metadata";
  if (absl::Status s = options_.audit->Record(action, "comms", reader, "ok", detail);
      !s.ok()) {
    return absl::PermissionDeniedError(
        base::StrCat("the listing could not be recorded in the audit log, so it is refused: ",
                     base::View(s.message())));
  }
  page.rows.reserve(shown.size());
  for (store::CommRow& row : shown) {
    Listed l;
    l.readable = MayRead(row).ok();
    if (!l.readable) {
      l.parties_withheld = row.parties.size();
      row.parties.clear();
    }
    l.comm = std::move(row);
    page.rows.push_back(std::move(l));
  }
  return page;
}

absl::StatusOr<std::vector<Listed>> ReadGate::ListComms(const store::CommFilter& filter,
                                                        const Reader& reader) {
  ASSIGN_OR_RETURN(ListPage page, ListVisible(filter, reader, {}));
  return std::move(page.rows);
}

}  // namespace tapvault::gate
