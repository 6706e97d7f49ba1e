// The store's audit log (DIR/audit, src/audit) opened for appending: the read gate's AuditSink,
// and the one place where every other action of a person on the store is recorded — list
// imports, decisions, destructions, key operations, warrant and user changes, logins.
//
//   ASSIGN_OR_RETURN(auto audit, gate::StoreAudit::Open(dir, ""));   // needs the master key
//   ASSIGN_OR_RETURN(auto gate, gate::ReadGate::Open({.dir = dir, .recheck = &filter,
//                                                     .audit = audit.get()}));
//   RETURN_IF_ERROR(audit->Record({.actor = "a.admin", .role = "administrator",
//                                  .action = "list_import", .object = "list:7", .outcome = "ok"}));
//
// Appending needs the audit log's signing key, which the catalog keeps wrapped by the master key
// (store::OpenAuditKey): without the master key nothing can be appended, so nothing can be read.
// Every Record returns only when the entry is durable; an error means it is not in the log, and
// the caller must not go on with the action (audit-before-act).
// Thread-safe (audit::AuditLog serialises appends across threads and processes).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "gate/read_gate.h"
#include "store/store.h"

namespace tapvault::gate {

class StoreAudit : public AuditSink {
 public:
  // master_key "" = the store's recorded master key spec. NotFound for a store without an audit
  // log yet (see store::OpenAuditKey).
  static absl::StatusOr<std::unique_ptr<StoreAudit>> Open(const std::string& dir,
                                                          const std::string& master_key);
  ~StoreAudit() override;

  absl::Status Record(std::string_view action, std::string_view object, const Reader& reader,
                      std::string_view outcome, const nlohmann::json& detail) override;
  // Any other action. The index of the entry when it is durable.
  absl::StatusOr<uint64_t> Record(const audit::Event& event);

  audit::AuditLog& log() { return *log_; }

 private:
  StoreAudit(store::AuditKey key) : key_(std::move(key)) {}
  store::AuditKey key_;                    // the signer must outlive log_
  std::unique_ptr<audit::AuditLog> log_;
};

}  // namespace tapvault::gate
