#include "gate/store_audit.h"

#include <utility>

#include "base/status_macros.h"

namespace tapvault::gate {

absl::StatusOr<std::unique_ptr<StoreAudit>> StoreAudit::Open(const std::string& dir,
                                                             const std::string& master_key) {
  ASSIGN_OR_RETURN(store::AuditKey key, store::OpenAuditKey(dir, master_key));
  std::unique_ptr<StoreAudit> audit(new StoreAudit(std::move(key)));
  ASSIGN_OR_RETURN(audit->log_, audit::AuditLog::Open({.dir = store::AuditDir(dir),
                                                       .signer = &audit->key_.signer,
                                                       .origin = audit->key_.origin},
                                                      /*create=*/false));
  return audit;
}

StoreAudit::~StoreAudit() { log_.reset(); }

absl::Status StoreAudit::Record(std::string_view action, std::string_view object,
                                const Reader& reader, std::string_view outcome,
                                const nlohmann::json& detail) {
  nlohmann::json d = detail.is_null() ? nlohmann::json::object() : detail;
  if (d.is_object() && !reader.purpose.empty()) d["purpose"] = reader.purpose;
  return Record({.actor = reader.who.empty() ? "unknown" : reader.who,
                 .role = reader.role,
                 .action = std::string(action),
                 .object = std::string(object),
                 .outcome = std::string(outcome),
                 .detail = std::move(d)})
      .status();
}

absl::StatusOr<uint64_t> StoreAudit::Record(const audit::Event& event) { return log_->Append(event); }

}  // namespace tapvault::gate
