#include "gate/read_gate.h"

#include <utility>

#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::gate {

ReadGate::ReadGate(const Options& options) : options_(options) {}
ReadGate::~ReadGate() = default;

absl::StatusOr<std::unique_ptr<ReadGate>> ReadGate::Open(const Options& options) {
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
  if (comm.state_reason == "released") return absl::OkStatus();   // a prosecutor's decision
  if (options_.recheck == nullptr) {
    return absl::PermissionDeniedError(
        "no privileged-party filter to confirm that the communication is not privileged");
  }
  // The filter's answer now: a list version newer than the stored decision may list a party.
  store::DecisionRow now = options_.recheck->Screen(
      store::ScreenRequest{comm.id, comm.liid, comm.country, comm.start_us, comm.parties});
  if (now.state == store::CommState::kPrivileged) {
    return absl::PermissionDeniedError(base::StrCat(
        "communication ", comm.id, " is privileged under list version ", now.list_version,
        " (the server marks it so within a second)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<store::ContentReader::Record>> ReadGate::ReadComm(uint64_t comm_id,
                                                                           const Reader& reader) {
  const std::string object = base::StrCat("comm:", comm_id);
  ASSIGN_OR_RETURN(store::CommRow comm, Comm(comm_id));
  if (absl::Status may = MayRead(comm); !may.ok()) {
    if (options_.audit != nullptr) {
      // A refusal is recorded too; its own failure does not change the answer.
      (void)options_.audit->Record("read_refused", object, reader, base::View(may.message()));
    }
    base::Log(base::LogLevel::kInfo, "gate.refused",
              {{"comm", comm_id}, {"who", reader.who}, {"reason", base::View(may.message())}});
    return may;
  }
  if (options_.audit != nullptr) {
    if (absl::Status s = options_.audit->Record("read_content", object, reader, "ok"); !s.ok()) {
      return absl::PermissionDeniedError(
          base::StrCat("the read could not be recorded in the audit log, so it is refused: ",
                       base::View(s.message())));
    }
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

absl::StatusOr<std::vector<Listed>> ReadGate::ListComms(const store::CommFilter& filter,
                                                        const Reader& reader) {
  if (options_.audit != nullptr) {
    RETURN_IF_ERROR(options_.audit->Record("read_metadata", "comms", reader, "ok"));
  }
  ASSIGN_OR_RETURN(auto rows, catalog_->ListComms(filter));
  std::vector<Listed> out;
  out.reserve(rows.size());
  for (store::CommRow& row : rows) {
    Listed l;
    l.readable = MayRead(row).ok();
    if (!l.readable) {
      l.parties_withheld = row.parties.size();
      row.parties.clear();
    }
    l.comm = std::move(row);
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace tapvault::gate
