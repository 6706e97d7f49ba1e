// ApprovalStore on SQLite (sqlite::Db).
//
// Schema (why):
// - requests(id): one immutable row per request, saying exactly what will be done. Ids are
//   1, 2, ... without gaps: the insert trigger admits only max(id) + 1, so INSERT OR REPLACE can
//   never overwrite a row (REPLACE deletes without firing DELETE triggers).
// - events(request_id, seq): the history, append only (seq = previous + 1). The current stored
//   state is the latest event. Insert triggers also hold the state machine, the deadline and the
//   four-eyes rule, so a second client of the file (sqlite3 on the command line) cannot record
//   an approval by the requester, an execution after expiry or a step out of order either.
// - "expired" is never stored: it is a function of expires_us and the reader's clock, so reads
//   write nothing and a clock that is wrong on one reader does not change the history.
// - UPDATE and DELETE on both tables RAISE. Dropping a trigger is possible for anyone who can
//   write the file; that is what the audit log and file permissions (0600) are for.
// Every value is a bound parameter; each change is one BEGIN IMMEDIATE transaction that reads the
// state it changes, so two processes cannot both approve (or finish) one request.
#include "approval/approval_store.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "sqlite/sqlite.h"

namespace tapvault::approval {

std::string ApprovalPath(std::string_view dir) {
  std::string path(dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  path.append(kApprovalFileName);
  return path;
}

bool IsApprovalAction(std::string_view action) {
  return action == kActionDestroyRange || action == kActionRetentionChange ||
         action == kActionExport || action == kActionConfigChange;
}

std::string_view StateName(State state) {
  switch (state) {
    case State::kPending:
      return "pending";
    case State::kApproved:
      return "approved";
    case State::kRejected:
      return "rejected";
    case State::kWithdrawn:
      return "withdrawn";
    case State::kExpired:
      return "expired";
    case State::kExecuted:
      return "executed";
    case State::kFailed:
      return "failed";
  }
  return "unknown";
}

std::optional<State> ParseState(std::string_view name) {
  for (State s : {State::kPending, State::kApproved, State::kRejected, State::kWithdrawn,
                  State::kExpired, State::kExecuted, State::kFailed}) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

namespace {

constexpr const char* kSchemaVersion = "1";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value NOT NULL);
CREATE TABLE IF NOT EXISTS requests(
  id INTEGER PRIMARY KEY CHECK(id >= 1),
  action TEXT NOT NULL CHECK(action IN ('destroy_range', 'retention_change', 'export', 'config_change')),
  object TEXT NOT NULL CHECK(length(CAST(object AS BLOB)) BETWEEN 1 AND 256),
  params TEXT NOT NULL CHECK(json_valid(params) AND json_type(params) = 'object'),
  reason TEXT NOT NULL CHECK(reason != ''),
  requested_by TEXT NOT NULL CHECK(requested_by != ''),
  requested_us INTEGER NOT NULL,
  expires_us INTEGER NOT NULL,
  CHECK(requested_us < expires_us));
CREATE TABLE IF NOT EXISTS events(
  request_id INTEGER NOT NULL,
  seq INTEGER NOT NULL CHECK(seq >= 1),
  status TEXT NOT NULL
    CHECK(status IN ('pending', 'approved', 'rejected', 'withdrawn', 'executed', 'failed')),
  by_whom TEXT NOT NULL CHECK(by_whom != ''),
  at_us INTEGER NOT NULL,
  detail TEXT NOT NULL CHECK(json_valid(detail) AND json_type(detail) = 'object'),
  PRIMARY KEY(request_id, seq)) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS requests_no_update BEFORE UPDATE ON requests
BEGIN SELECT RAISE(ABORT, 'approval requests are immutable: record an event instead'); END;
CREATE TRIGGER IF NOT EXISTS requests_no_delete BEFORE DELETE ON requests
BEGIN SELECT RAISE(ABORT, 'approval requests are immutable: they are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS requests_append_only BEFORE INSERT ON requests
WHEN NEW.id IS NOT (SELECT coalesce(max(id), 0) + 1 FROM requests)
BEGIN SELECT RAISE(ABORT, 'approval requests are append-only: ids are 1, 2, ...'); END;

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'approval events are immutable: append the next event'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'approval events are immutable: they are never deleted'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only BEFORE INSERT ON events
WHEN NOT EXISTS (SELECT 1 FROM requests WHERE id = NEW.request_id)
  OR NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM events
                     WHERE request_id = NEW.request_id)
BEGIN SELECT RAISE(ABORT, 'approval events are append-only: seq is the previous + 1'); END;
CREATE TRIGGER IF NOT EXISTS events_transition BEFORE INSERT ON events
WHEN NOT ((NEW.seq = 1 AND NEW.status = 'pending') OR
          coalesce((SELECT status FROM events
                    WHERE request_id = NEW.request_id AND seq = NEW.seq - 1), '')
            || '>' || NEW.status IN ('pending>approved', 'pending>rejected', 'pending>withdrawn',
                                     'approved>executed', 'approved>failed',
                                     'approved>withdrawn'))
BEGIN SELECT RAISE(ABORT, 'approval events: this state change is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_four_eyes BEFORE INSERT ON events
WHEN (NEW.status IN ('approved', 'rejected')
      AND NEW.by_whom = (SELECT requested_by FROM requests WHERE id = NEW.request_id))
  OR (NEW.status IN ('pending', 'withdrawn')
      AND NEW.by_whom IS NOT (SELECT requested_by FROM requests WHERE id = NEW.request_id))
BEGIN SELECT RAISE(ABORT,
  'approval events: nobody approves or rejects their own request; the requester withdraws it');
END;
CREATE TRIGGER IF NOT EXISTS events_deadline BEFORE INSERT ON events
WHEN NEW.status IN ('approved', 'rejected', 'withdrawn', 'executed', 'failed')
  AND NEW.at_us >= (SELECT expires_us FROM requests WHERE id = NEW.request_id)
BEGIN SELECT RAISE(ABORT, 'approval events: the request has expired'); END;
)sql";

absl::Status Invalid(std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("approvals: ", what));
}

// Compact JSON; InvalidArgument instead of nlohmann's exception for strings that are not UTF-8.
absl::StatusOr<std::string> Dump(const nlohmann::json& j, std::string_view field) {
  try {
    return j.dump();
  } catch (const nlohmann::json::exception&) {
    return Invalid(base::StrCat(field, " is not valid UTF-8"));
  }
}

// Text the CLI and the API print back: bounded, valid UTF-8, no control characters.
absl::Status CheckText(std::string_view field, std::string_view v, size_t max_bytes) {
  if (v.empty()) return Invalid(base::StrCat(field, " is required"));
  if (v.size() > max_bytes) {
    return Invalid(base::StrCat(field, " is longer than ", max_bytes, " bytes"));
  }
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Invalid(base::StrCat(field, " holds a control character"));
    }
  }
  return Dump(nlohmann::json(std::string(v)), field).status();
}

// Bounds the shape of caller-given JSON before dump() (which recurses) touches it, then its size.
absl::StatusOr<std::string> CheckedJson(const nlohmann::json& j, std::string_view field,
                                        size_t max_bytes) {
  std::vector<std::pair<const nlohmann::json*, size_t>> stack = {{&j, 1}};
  size_t nodes = 0;
  while (!stack.empty()) {
    auto [p, depth] = stack.back();
    stack.pop_back();
    if (depth > kMaxParamsDepth) {
      return Invalid(base::StrCat(field, " nest deeper than ", kMaxParamsDepth, " levels"));
    }
    // Every node takes at least one byte of the dump: more nodes than bytes is too big already.
    if (++nodes > max_bytes) {
      return Invalid(base::StrCat(field, " are larger than ", max_bytes, " bytes"));
    }
    if (p->is_structured()) {
      for (const nlohmann::json& child : *p) stack.emplace_back(&child, depth + 1);
    }
  }
  ASSIGN_OR_RETURN(std::string text, Dump(j, field));
  if (text.size() > max_bytes) {
    return Invalid(base::StrCat(field, " are larger than ", max_bytes, " bytes"));
  }
  return text;
}

absl::StatusOr<nlohmann::json> ParseStored(std::string_view text, std::string_view what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError(base::StrCat("approvals: stored ", what, " is not JSON"));
  }
  return j;
}

// The state as of now_us and the fields taken from the events. DataLoss for a history this code
// could not have written (the triggers refuse it; a damaged file is what remains).
absl::Status Derive(Request& r, int64_t now_us) {
  if (r.events.empty() || r.events.front().state != State::kPending) {
    return absl::DataLossError(
        base::StrCat("approvals: request ", r.id, " has no submission event"));
  }
  r.approved_by.clear();
  r.approved_us = 0;
  r.decided_by.clear();
  r.decided_us = 0;
  r.finished_by.clear();
  r.finished_us = 0;
  r.result = nullptr;
  for (const Event& e : r.events) {
    switch (e.state) {
      case State::kApproved:
        r.approved_by = e.by;
        r.approved_us = e.at_us;
        [[fallthrough]];
      case State::kRejected:
      case State::kWithdrawn:
        if (r.decided_by.empty()) {
          r.decided_by = e.by;
          r.decided_us = e.at_us;
        }
        break;
      case State::kExecuted:
      case State::kFailed:
        r.finished_by = e.by;
        r.finished_us = e.at_us;
        if (e.detail.is_object() && e.detail.contains("result")) r.result = e.detail["result"];
        break;
      default:
        break;
    }
  }
  r.state = r.events.back().state;
  if ((r.state == State::kPending || r.state == State::kApproved) && now_us >= r.expires_us) {
    r.state = State::kExpired;
  }
  return absl::OkStatus();
}

#define REQUEST_COLUMNS \
  "id, action, object, params, reason, requested_by, requested_us, expires_us "

absl::StatusOr<Request> ReadRequestRow(const sqlite::Stmt& q) {
  Request r;
  r.id = static_cast<uint64_t>(q.Int(0));
  r.action = std::string(q.Str(1));
  r.object = std::string(q.Str(2));
  ASSIGN_OR_RETURN(r.params, ParseStored(q.Str(3), "params"));
  r.reason = std::string(q.Str(4));
  r.requested_by = std::string(q.Str(5));
  r.requested_us = q.Int(6);
  r.expires_us = q.Int(7);
  return r;
}

absl::Status ReadEvents(sqlite::Db& db, Request& r, int64_t now_us) {
  ASSIGN_OR_RETURN(auto q, db.Prepare("SELECT seq, status, by_whom, at_us, detail FROM events "
                                      "WHERE request_id = ?1 ORDER BY seq",
                                      "read events"));
  q->Bind(1, r.id);
  r.events.clear();
  while (true) {
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    Event e;
    e.seq = static_cast<uint32_t>(q->Int(0));
    std::optional<State> state = ParseState(q->Str(1));
    if (!state || *state == State::kExpired) {
      return absl::DataLossError(
          base::StrCat("approvals: request ", r.id, " event ", e.seq, " has an unknown status"));
    }
    e.state = *state;
    e.by = std::string(q->Str(2));
    e.at_us = q->Int(3);
    ASSIGN_OR_RETURN(e.detail, ParseStored(q->Str(4), "event detail"));
    r.events.push_back(std::move(e));
  }
  return Derive(r, now_us);
}

absl::StatusOr<Request> RequireRequest(sqlite::Db& db, uint64_t id, int64_t now_us) {
  ASSIGN_OR_RETURN(
      auto q, db.Prepare("SELECT " REQUEST_COLUMNS "FROM requests WHERE id = ?1", "read request"));
  q->Bind(1, id);
  ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return absl::NotFoundError(base::StrCat("approvals: no request ", id));
  ASSIGN_OR_RETURN(Request r, ReadRequestRow(*q));
  q.reset();
  RETURN_IF_ERROR(ReadEvents(db, r, now_us));
  return r;
}

// Appends the next event to `r` (in the file and in memory) and derives its state again.
absl::Status AppendEvent(sqlite::Db& db, Request& r, State state, std::string_view by,
                         int64_t at_us, nlohmann::json detail) {
  ASSIGN_OR_RETURN(std::string detail_text, Dump(detail, "detail"));
  Event e;
  e.seq = static_cast<uint32_t>(r.events.size() + 1);
  e.state = state;
  e.by = std::string(by);
  e.at_us = at_us;
  e.detail = std::move(detail);
  ASSIGN_OR_RETURN(auto q, db.Prepare("INSERT INTO events(request_id, seq, status, by_whom, "
                                      "at_us, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
                                      "insert event"));
  RETURN_IF_ERROR(q->Bind(1, r.id)
                      .Bind(2, e.seq)
                      .Bind(3, StateName(state))
                      .Bind(4, by)
                      .Bind(5, at_us)
                      .Bind(6, detail_text)
                      .Run());
  r.events.push_back(std::move(e));
  return Derive(r, at_us);
}

void LogEvent(const Request& r) {
  // Ids, actions and people only: objects (LIIDs) and params never reach the log.
  const Event& e = r.events.back();
  base::Log(base::LogLevel::kInfo, "approval.event",
            {{"request", r.id},
             {"action", r.action},
             {"seq", e.seq},
             {"status", StateName(e.state)},
             {"by", e.by},
             {"requested_by", r.requested_by}});
}

absl::Status RefuseState(const Request& r, std::string_view doing, std::string_view needs) {
  std::string who;
  if (r.state == State::kApproved) who = base::StrCat(" by ", r.approved_by);
  return absl::FailedPreconditionError(base::StrCat("approvals: cannot ", doing, " request ", r.id,
                                                    ": it is ", StateName(r.state), who,
                                                    " (only a ", needs, " request can be)"));
}

}  // namespace

ApprovalStore::ApprovalStore(std::unique_ptr<sqlite::Db> db) : db_(std::move(db)) {}
ApprovalStore::~ApprovalStore() = default;

absl::StatusOr<std::unique_ptr<ApprovalStore>> ApprovalStore::Open(std::string_view dir,
                                                                   bool create) {
  ASSIGN_OR_RETURN(auto db, sqlite::Db::Open(ApprovalPath(dir),
                                             {.label = "approvals",
                                              .create = create,
                                              .schema = kSchema,
                                              .schema_version = kSchemaVersion,
                                              .required_tables = {"meta", "requests", "events"}}));
  return std::unique_ptr<ApprovalStore>(new ApprovalStore(std::move(db)));
}

absl::StatusOr<uint64_t> ApprovalStore::Submit(std::string_view action, std::string_view object,
                                               const nlohmann::json& params,
                                               std::string_view reason,
                                               std::string_view requested_by, int64_t now_us,
                                               int64_t ttl_us) {
  if (!IsApprovalAction(action)) {
    return Invalid(
        base::StrCat("unknown action '", action, "' (destroy_range, retention_change, export or config_change)"));
  }
  RETURN_IF_ERROR(CheckText("object", object, kMaxObjectBytes));
  if (!params.is_object()) return Invalid("params must be a JSON object");
  ASSIGN_OR_RETURN(std::string params_text, CheckedJson(params, "params", kMaxParamsBytes));
  RETURN_IF_ERROR(CheckText("reason", reason, kMaxReasonBytes));
  RETURN_IF_ERROR(CheckText("requester", requested_by, kMaxPersonBytes));
  if (ttl_us <= 0) return Invalid("ttl must be positive");
  if (now_us > std::numeric_limits<int64_t>::max() - ttl_us) return Invalid("ttl too large");

  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(true));
  uint64_t id = 0;
  {
    ASSIGN_OR_RETURN(
        auto q, db_->Prepare("SELECT coalesce(max(id), 0) + 1 FROM requests", "next request id"));
    ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) return absl::InternalError("approvals: next request id: no row");
    id = static_cast<uint64_t>(q->Int(0));
  }
  Request r;
  r.id = id;
  r.action = std::string(action);
  r.object = std::string(object);
  r.params = params;
  r.reason = std::string(reason);
  r.requested_by = std::string(requested_by);
  r.requested_us = now_us;
  r.expires_us = now_us + ttl_us;
  {
    ASSIGN_OR_RETURN(auto q, db_->Prepare("INSERT INTO requests(" REQUEST_COLUMNS
                                          ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                          "insert request"));
    RETURN_IF_ERROR(q->Bind(1, id)
                        .Bind(2, action)
                        .Bind(3, object)
                        .Bind(4, params_text)
                        .Bind(5, reason)
                        .Bind(6, requested_by)
                        .Bind(7, r.requested_us)
                        .Bind(8, r.expires_us)
                        .Run());
  }
  RETURN_IF_ERROR(
      AppendEvent(*db_, r, State::kPending, requested_by, now_us, nlohmann::json::object()));
  RETURN_IF_ERROR(txn.Commit());
  LogEvent(r);
  return id;
}

absl::StatusOr<Request> ApprovalStore::Get(uint64_t id, int64_t now_us) {
  absl::MutexLock lock(&mu_);
  return RequireRequest(*db_, id, now_us);
}

absl::StatusOr<std::vector<Request>> ApprovalStore::List(int64_t now_us, std::optional<State> state,
                                                         std::optional<std::string_view> action) {
  if (action && !IsApprovalAction(*action)) {
    return Invalid(base::StrCat("unknown action '", *action, "'"));
  }
  absl::MutexLock lock(&mu_);
  // One read transaction: requests and their events belong together.
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(false));
  std::vector<Request> all;
  {
    ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT " REQUEST_COLUMNS "FROM requests "
                                          "WHERE ?1 = '' OR action = ?1 ORDER BY id DESC",
                                          "list requests"));
    // "" as a literal: sqlite::Stmt binds a default std::string_view (data() == nullptr) as NULL.
    q->Bind(1, action ? *action : std::string_view(""));
    while (true) {
      ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Request r, ReadRequestRow(*q));
      all.push_back(std::move(r));
    }
  }
  std::vector<Request> out;
  for (Request& r : all) {
    RETURN_IF_ERROR(ReadEvents(*db_, r, now_us));
    if (!state || r.state == *state) out.push_back(std::move(r));
  }
  RETURN_IF_ERROR(txn.Commit());
  return out;
}

absl::StatusOr<Request> ApprovalStore::Approve(uint64_t id, std::string_view by, int64_t now_us) {
  RETURN_IF_ERROR(CheckText("approver", by, kMaxPersonBytes));
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(Request r, RequireRequest(*db_, id, now_us));
  // A repeat by the same approver (a run that crashed after approving) changes nothing.
  if (r.state == State::kApproved && r.approved_by == by) return r;
  if (r.state != State::kPending) return RefuseState(r, "approve", "pending");
  if (by == r.requested_by) {
    return absl::PermissionDeniedError(base::StrCat(
        "approvals: nobody approves their own request (request ", id, " was made by ", by, ")"));
  }
  RETURN_IF_ERROR(AppendEvent(*db_, r, State::kApproved, by, now_us, nlohmann::json::object()));
  RETURN_IF_ERROR(txn.Commit());
  LogEvent(r);
  return r;
}

absl::StatusOr<Request> ApprovalStore::Reject(uint64_t id, std::string_view by,
                                              std::string_view reason, int64_t now_us) {
  RETURN_IF_ERROR(CheckText("rejecter", by, kMaxPersonBytes));
  RETURN_IF_ERROR(CheckText("reason", reason, kMaxReasonBytes));
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(Request r, RequireRequest(*db_, id, now_us));
  if (r.state != State::kPending) return RefuseState(r, "reject", "pending");
  if (by == r.requested_by) {
    return absl::PermissionDeniedError(base::StrCat(
        "approvals: the requester does not reject their own request ", id, ": withdraw it"));
  }
  RETURN_IF_ERROR(
      AppendEvent(*db_, r, State::kRejected, by, now_us, {{"reason", std::string(reason)}}));
  RETURN_IF_ERROR(txn.Commit());
  LogEvent(r);
  return r;
}

absl::StatusOr<Request> ApprovalStore::Withdraw(uint64_t id, std::string_view by, int64_t now_us) {
  RETURN_IF_ERROR(CheckText("withdrawer", by, kMaxPersonBytes));
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(Request r, RequireRequest(*db_, id, now_us));
  if (r.state != State::kPending && r.state != State::kApproved) {
    return RefuseState(r, "withdraw", "pending or approved");
  }
  if (by != r.requested_by) {
    return absl::PermissionDeniedError(base::StrCat("approvals: only the requester (",
                                                    r.requested_by, ") withdraws request ", id));
  }
  RETURN_IF_ERROR(AppendEvent(*db_, r, State::kWithdrawn, by, now_us, nlohmann::json::object()));
  RETURN_IF_ERROR(txn.Commit());
  LogEvent(r);
  return r;
}

absl::StatusOr<Request> ApprovalStore::Finish(uint64_t id, std::string_view by, bool ok,
                                              const nlohmann::json& result, int64_t now_us) {
  RETURN_IF_ERROR(CheckText("executor", by, kMaxPersonBytes));
  RETURN_IF_ERROR(CheckedJson(result, "result", kMaxResultBytes).status());
  absl::MutexLock lock(&mu_);
  sqlite::Txn txn(db_.get());
  RETURN_IF_ERROR(txn.Begin(true));
  ASSIGN_OR_RETURN(Request r, RequireRequest(*db_, id, now_us));
  if (r.state != State::kApproved) return RefuseState(r, "finish", "approved");
  RETURN_IF_ERROR(AppendEvent(*db_, r, ok ? State::kExecuted : State::kFailed, by, now_us,
                              {{"result", result}}));
  RETURN_IF_ERROR(txn.Commit());
  LogEvent(r);
  return r;
}

namespace {

nlohmann::ordered_json Time(int64_t us) { return base::FormatRfc3339({us}); }

nlohmann::ordered_json ToOrdered(const nlohmann::json& j) {
  // Same text, other object type: round-trip through the (already bounded) dump.
  return nlohmann::ordered_json::parse(
      j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

nlohmann::ordered_json RequestJson(const Request& r) {
  nlohmann::ordered_json j;
  j["id"] = r.id;
  j["action"] = r.action;
  j["object"] = r.object;
  j["params"] = ToOrdered(r.params);
  j["reason"] = r.reason;
  j["requested_by"] = r.requested_by;
  j["requested"] = Time(r.requested_us);
  j["expires"] = Time(r.expires_us);
  j["status"] = StateName(r.state);
  if (!r.approved_by.empty()) {
    j["approved_by"] = r.approved_by;
    j["approved"] = Time(r.approved_us);
  }
  if (!r.decided_by.empty()) {
    j["decided_by"] = r.decided_by;
    j["decided"] = Time(r.decided_us);
  }
  if (!r.finished_by.empty()) {
    j["finished_by"] = r.finished_by;
    j["finished"] = Time(r.finished_us);
    j["result"] = ToOrdered(r.result);
  }
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const Event& e : r.events) {
    nlohmann::ordered_json ej;
    ej["seq"] = e.seq;
    ej["status"] = StateName(e.state);
    ej["by"] = e.by;
    ej["at"] = Time(e.at_us);
    ej["detail"] = ToOrdered(e.detail);
    events.push_back(std::move(ej));
  }
  j["events"] = std::move(events);
  return j;
}

}  // namespace tapvault::approval
