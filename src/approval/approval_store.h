// ApprovalStore: the four-eyes requests of a store directory, in DIR/approvals.db (SQLite, WAL,
// synchronous=FULL, mode 0600). An action that needs four eyes (destroy_range, retention_change,
// export, config_change) is first submitted as a request saying exactly what will be done (action, object,
// params); a second, different person approves it; only then is it carried out, once, and its
// outcome recorded. Requests and their events are immutable: SQLite triggers refuse any UPDATE or
// DELETE and admit only the next event of a request in an allowed transition, whoever writes the
// file.
//
//   ASSIGN_OR_RETURN(auto store, approval::ApprovalStore::Open(dir, /*create=*/true));
//   ASSIGN_OR_RETURN(uint64_t id, store->Submit("retention_change", "liid:NL-OM-0042",
//                                               {{"days", 30}}, "order RC-77", "alice", now_us));
//   ...  // the caller checks with access::Authorize that bob may do retention_change
//   ASSIGN_OR_RETURN(approval::Request r, store->Approve(id, "bob", now_us));
//   absl::Status done = Apply(r.params);                   // the caller carries it out
//   RETURN_IF_ERROR(store->Finish(id, "bob", done.ok(), {{"error", ...}}, now_us).status());
//
// States: pending -> approved | rejected | withdrawn | expired;
//         approved -> executed | failed | withdrawn | expired.
// The stored state is the latest event; "expired" is never stored: a pending or approved request
// reads as expired once now_us >= expires_us (Get/List compute it; nothing is written on read).
// Who may submit, approve or execute (roles, teams) is the caller's check (access::Authorize);
// this store enforces the states, the deadline and that the requester never decides their own
// request.
//
// Files and processes: several processes may use the file; each change is one BEGIN IMMEDIATE
// transaction that reads the state it changes.
// Thread-safety: thread-safe; calls are serialised on an internal mutex.
// Errors: InvalidArgument (unknown action, bad object/params/reason/person, ttl <= 0),
// NotFound (no such request; no database without create), PermissionDenied (the requester
// approves or rejects, someone else withdraws), FailedPrecondition (the state does not allow it:
// not pending, already approved by someone else, expired, already finished; not an approvals
// database), DataLoss (corrupt file), Unavailable (locked too long), ResourceExhausted (disk full).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace tapvault::sqlite {
class Db;
}  // namespace tapvault::sqlite

namespace tapvault::approval {

inline constexpr std::string_view kApprovalFileName = "approvals.db";
// DIR/approvals.db
std::string ApprovalPath(std::string_view dir);

// The actions that go through this store (names as access::ActionName gives them).
inline constexpr std::string_view kActionDestroyRange = "destroy_range";
inline constexpr std::string_view kActionRetentionChange = "retention_change";
inline constexpr std::string_view kActionExport = "export";
// A configuration change that weakens a safeguard (switching a four-eyes policy off).
inline constexpr std::string_view kActionConfigChange = "config_change";
bool IsApprovalAction(std::string_view action);

inline constexpr int64_t kDefaultTtlUs = int64_t{7} * 24 * 3600 * 1'000'000;  // 7 days
// Limits (InvalidArgument beyond them).
inline constexpr size_t kMaxObjectBytes = 256;
inline constexpr size_t kMaxParamsBytes = 16 * 1024;  // params as compact JSON
inline constexpr size_t kMaxParamsDepth = 32;         // nesting of params
inline constexpr size_t kMaxResultBytes = 16 * 1024;  // Finish's result as compact JSON
inline constexpr size_t kMaxReasonBytes = 4096;
inline constexpr size_t kMaxPersonBytes = 256;

enum class State { kPending, kApproved, kRejected, kWithdrawn, kExpired, kExecuted, kFailed };
// "pending", "approved", "rejected", "withdrawn", "expired", "executed", "failed".
std::string_view StateName(State state);
std::optional<State> ParseState(std::string_view name);

// One entry of a request's history. Never kExpired (expiry is computed, not recorded).
struct Event {
  uint32_t seq = 0;  // 1, 2, ...; 1 is always the submission (kPending, by the requester)
  State state = State::kPending;
  std::string by;
  int64_t at_us = 0;
  nlohmann::json detail;  // an object: {} ; reject: {"reason": ...}; finish: {"result": ...}
};

struct Request {
  uint64_t id = 0;
  std::string action;     // one of the kAction* names
  std::string object;     // "liid:L", "comm:N", ...
  nlohmann::json params;  // an object: exactly what will be done
  std::string reason;
  std::string requested_by;
  int64_t requested_us = 0;
  int64_t expires_us = 0;  // pending/approved requests lapse when now_us >= expires_us

  State state = State::kPending;  // at the now_us of the read (kExpired computed)
  std::vector<Event> events;      // oldest first

  // Taken from the events, empty/0 when there is none of that kind.
  std::string approved_by;
  int64_t approved_us = 0;
  std::string decided_by;  // who took it out of pending (approved, rejected or withdrew it)
  int64_t decided_us = 0;
  std::string finished_by;  // who recorded executed/failed
  int64_t finished_us = 0;
  nlohmann::json result;  // Finish's result (null before)
};

class ApprovalStore {
 public:
  // Opens DIR/approvals.db; with `create`, creates it (mode 0600) when missing. The directory
  // must exist. NotFound when the file is absent and !create.
  static absl::StatusOr<std::unique_ptr<ApprovalStore>> Open(std::string_view dir, bool create);
  ~ApprovalStore();
  ApprovalStore(const ApprovalStore&) = delete;
  ApprovalStore& operator=(const ApprovalStore&) = delete;

  // Records a pending request (id 1, 2, ...) expiring at now_us + ttl_us. InvalidArgument for an
  // unknown action; params that are not a JSON object or exceed kMaxParamsBytes/kMaxParamsDepth;
  // an object, reason or requester that is empty, longer than kMaxObjectBytes/kMaxReasonBytes/
  // kMaxPersonBytes or holds a control character; text (params strings too) that is not valid
  // UTF-8; ttl_us <= 0 or now_us + ttl_us beyond int64.
  absl::StatusOr<uint64_t> Submit(std::string_view action, std::string_view object,
                                  const nlohmann::json& params, std::string_view reason,
                                  std::string_view requested_by, int64_t now_us,
                                  int64_t ttl_us = kDefaultTtlUs);

  // The request with its events, its state as of now_us. NotFound for an unknown id.
  absl::StatusOr<Request> Get(uint64_t id, int64_t now_us);
  // Requests newest first (by id), optionally only those in `state` (as of now_us) and/or of
  // `action` (InvalidArgument for an unknown action).
  absl::StatusOr<std::vector<Request>> List(int64_t now_us, std::optional<State> state = {},
                                            std::optional<std::string_view> action = {});

  // pending -> approved by `by`. PermissionDenied when by is the requester ("nobody approves
  // their own request"); FailedPrecondition when it is not pending or has expired. Approving
  // again by the same approver a request that is approved and neither finished nor expired
  // returns it unchanged (a crashed run can be repeated); by anyone else it is refused.
  absl::StatusOr<Request> Approve(uint64_t id, std::string_view by, int64_t now_us);
  // pending -> rejected by `by` with a required reason. PermissionDenied for the requester (who
  // withdraws instead); FailedPrecondition unless pending (and not expired).
  absl::StatusOr<Request> Reject(uint64_t id, std::string_view by, std::string_view reason,
                                 int64_t now_us);
  // pending or approved (not finished, not expired) -> withdrawn. PermissionDenied unless `by`
  // is the requester.
  absl::StatusOr<Request> Withdraw(uint64_t id, std::string_view by, int64_t now_us);
  // approved (not expired) -> executed (ok) or failed, once; `result` (any JSON up to
  // kMaxResultBytes, e.g. counts or an error) is recorded with `by`. Who may finish is the
  // caller's rule. FailedPrecondition in any other state.
  absl::StatusOr<Request> Finish(uint64_t id, std::string_view by, bool ok,
                                 const nlohmann::json& result, int64_t now_us);

 private:
  explicit ApprovalStore(std::unique_ptr<sqlite::Db> db);

  absl::Mutex mu_;
  std::unique_ptr<sqlite::Db> db_ ABSL_GUARDED_BY(mu_);
};

// The JSON form of a request for the CLI and the API: id, action, object, params, reason,
// requested_by, requested, expires, status, then approved_by/approved, decided_by/decided,
// finished_by/finished/result when they exist, and events [{seq, status, by, at, detail}].
// Times are RFC 3339 UTC.
nlohmann::ordered_json RequestJson(const Request& r);

}  // namespace tapvault::approval
