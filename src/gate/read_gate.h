// The one read gate: every reader of stored communications — CLI, export, the HTTP API and live
// monitoring (issue 5) — reaches content and party metadata only through ReadGate. It is where
// the fail-closed rule holds: a communication is readable only when its state is `available`
// (decided not privileged by the filter, or released by a prosecutor), and the current
// privileged list does not make it privileged since (checked again at the moment of reading, so
// a list imported while no server runs blocks at once). Everything else — quarantined (undecided,
// waiting for its IRI, list unusable), privileged, destroyed — is refused.
//
//   ASSIGN_OR_RETURN(auto gate, gate::ReadGate::Open({.dir = data, .recheck = &filter}));
//   ASSIGN_OR_RETURN(auto records, gate->ReadComm(42, {.who = "j.jansen", .purpose = "cli"}));
//
// Audit-before-read: every read, listing and refusal is recorded in the AuditSink (the store's
// audit log, gate/store_audit.h) before any byte is returned; a read that cannot be recorded is
// refused. A gate without an AuditSink does not open.
// Thread-compatible: one thread at a time per ReadGate.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "store/catalog.h"
#include "store/screen.h"
#include "store/store.h"

namespace tapvault::gate {

struct Reader {
  std::string who;       // the person (or "system")
  std::string role;      // the role the person acts in ("investigator", ...)
  std::string purpose;   // e.g. "cli", "export", "api"
};

// Where reads are recorded before they happen (the audit log of issue 5).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // action: "read_content", "read_metadata", "read_refused"; outcome: "ok" or "refused" (at
  // most 64 bytes); detail: what else an auditor needs (why it was refused, the filter of a
  // listing and the ids it returned).
  // OK only when the record is durable.
  virtual absl::Status Record(std::string_view action, std::string_view object,
                              const Reader& reader, std::string_view outcome,
                              const nlohmann::json& detail) = 0;
};

struct Options {
  std::string dir;                       // the store
  std::string master_key;                // "" = the store's recorded master key spec
  // The privileged-party filter, asked again at each read. nullptr: every read is refused
  // (without a filter nothing can be known to be not privileged).
  store::Screener* recheck = nullptr;
  AuditSink* audit = nullptr;            // required: Open fails without it
};

// One communication's row as a reader may see it.
struct Listed {
  store::CommRow comm;                   // parties cleared unless readable
  bool readable = false;
  size_t parties_withheld = 0;
};

// A listing as one person may see it: `visible` (nullptr: everything) is that person's scope
// (team, warrant, role), applied inside the gate so that the audit record names exactly the
// communications that leave it; `max_rows` (0: no limit) stops after that many visible rows.
struct ListOptions {
  std::function<bool(const store::CommRow&)> visible;
  size_t max_rows = 0;
};
struct ListPage {
  std::vector<Listed> rows;      // visible rows, in catalog order
  size_t scanned = 0;            // catalog rows examined
  uint64_t last_scanned_id = 0;  // the id to continue after (0 when none was examined)
  bool stopped_at_max = false;   // max_rows was reached before the catalog page ended
};

class ReadGate {
 public:
  // Opens the catalog; the master key is opened on the first content read.
  static absl::StatusOr<std::unique_ptr<ReadGate>> Open(const Options& options);
  ~ReadGate();

  // OK when the communication may be read now; PermissionDenied naming why not.
  absl::Status MayRead(const store::CommRow& comm);

  // Every PDU of a readable communication, decrypted. NotFound for an unknown id,
  // PermissionDenied when not readable (also when it stopped being readable during the read).
  absl::StatusOr<std::vector<store::ContentReader::Record>> ReadComm(uint64_t comm_id,
                                                                     const Reader& reader);

  // Metadata: a page of communications (filter.limit catalog rows), of which those `options`
  // lets this reader see are returned and recorded (with their ids). Parties are withheld for any
  // communication that is not readable (a lawyer's number is itself privileged information).
  absl::StatusOr<ListPage> ListVisible(const store::CommFilter& filter, const Reader& reader,
                                       const ListOptions& options);
  // ListVisible with everything visible (tests and tools without a person's scope).
  absl::StatusOr<std::vector<Listed>> ListComms(const store::CommFilter& filter, const Reader& reader);

 private:
  explicit ReadGate(const Options& options);
  absl::StatusOr<store::CommRow> Comm(uint64_t comm_id);

  Options options_;
  std::unique_ptr<store::Catalog> catalog_;
  std::unique_ptr<store::ContentReader> content_;
};

}  // namespace tapvault::gate
