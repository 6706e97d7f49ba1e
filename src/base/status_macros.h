// Propagation macros for absl::Status / absl::StatusOr.
//
//   RETURN_IF_ERROR(WriteHeader(out));
//   ASSIGN_OR_RETURN(auto tlv, reader.Next());
//
// Both return the error unchanged; add context at component boundaries with
// base::Annotate(status, "store: open segment 42").
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/strings.h"

#define TAPVAULT_CONCAT_INNER(a, b) a##b
#define TAPVAULT_CONCAT(a, b) TAPVAULT_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                    \
  do {                                           \
    ::absl::Status tapvault_status_ = (expr);    \
    if (!tapvault_status_.ok()) return tapvault_status_; \
  } while (0)

#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(TAPVAULT_CONCAT(tapvault_statusor_, __LINE__), lhs, expr)

#define ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                          \
  if (!statusor.ok()) return statusor.status();    \
  lhs = std::move(statusor).value()

namespace tapvault::base {

// Returns `status` with `context` prefixed to its message ("context: message"); OK stays OK.
inline absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), base::StrCat(context, ": ", status.message()));
}

}  // namespace tapvault::base
