#include "approval/approval_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/log.h"

namespace tapvault::approval {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'780'000'000'000'000;  // 2026-05-28T...Z
constexpr int64_t kHour = int64_t{3600} * 1'000'000;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

class ApprovalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base::SetMinLogLevel(base::LogLevel::kWarn);
    char tmpl[] = "/tmp/approval_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ApprovalStore::Open(dir_.string(), /*create=*/true);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A pending retention change by alice at kT0 (TTL 1 hour unless given).
  uint64_t SubmitOne(int64_t ttl_us = kHour, std::string_view action = kActionRetentionChange) {
    auto id = store_->Submit(action, "liid:NL-OM-0042", {{"days", 30}}, "order RC-2026-77", "alice",
                             kT0, ttl_us);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.value_or(0);
  }

  State StateAt(uint64_t id, int64_t now_us) {
    auto r = store_->Get(id, now_us);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->state : State::kFailed;
  }

  size_t EventCount(uint64_t id) {
    auto r = store_->Get(id, kT0);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->events.size() : 0;
  }

  // Runs SQL on the file through a separate, plain sqlite3 connection (not through the store).
  int RawExec(const std::string& sql, std::string* error = nullptr) {
    sqlite3* db = nullptr;
    std::string path = ApprovalPath(dir_.string());
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK) {
      sqlite3_busy_timeout(db, 5000);
      char* err = nullptr;
      rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
      if (error != nullptr) *error = err != nullptr ? err : "";
      sqlite3_free(err);
    }
    sqlite3_close_v2(db);
    return rc;
  }

  std::filesystem::path dir_;
  std::unique_ptr<ApprovalStore> store_;
};

TEST_F(ApprovalStoreTest, CreatesAPrivateFileAndMissingFileIsNotFound) {
  struct stat st;
  ASSERT_EQ(::stat(ApprovalPath(dir_.string()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ApprovalPath("/x/y"), "/x/y/approvals.db");
  EXPECT_EQ(ApprovalPath("/x/y/"), "/x/y/approvals.db");

  std::filesystem::path other = dir_ / "empty";
  std::filesystem::create_directory(other);
  auto missing = ApprovalStore::Open(other.string(), /*create=*/false);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound) << missing.status();
  EXPECT_FALSE(std::filesystem::exists(other / kApprovalFileName));
}

TEST_F(ApprovalStoreTest, RefusesAForeignDatabase) {
  std::filesystem::path other = dir_ / "foreign";
  std::filesystem::create_directory(other);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((other / kApprovalFileName).c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value);", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = ApprovalStore::Open(other.string(), /*create=*/false);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
}

TEST_F(ApprovalStoreTest, SubmitRecordsAPendingRequest) {
  uint64_t id = SubmitOne();
  EXPECT_EQ(id, 1u);
  auto r = store_->Get(id, kT0 + 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, 1u);
  EXPECT_EQ(r->action, "retention_change");
  EXPECT_EQ(r->object, "liid:NL-OM-0042");
  EXPECT_EQ(r->params, nlohmann::json({{"days", 30}}));
  EXPECT_EQ(r->reason, "order RC-2026-77");
  EXPECT_EQ(r->requested_by, "alice");
  EXPECT_EQ(r->requested_us, kT0);
  EXPECT_EQ(r->expires_us, kT0 + kHour);
  EXPECT_EQ(r->state, State::kPending);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].seq, 1u);
  EXPECT_EQ(r->events[0].state, State::kPending);
  EXPECT_EQ(r->events[0].by, "alice");
  EXPECT_EQ(r->events[0].at_us, kT0);
  EXPECT_TRUE(r->approved_by.empty());
  EXPECT_TRUE(r->decided_by.empty());
  EXPECT_TRUE(r->finished_by.empty());

  EXPECT_EQ(SubmitOne(), 2u);
  auto d = store_->Submit(kActionExport, "comm:17", nlohmann::json::object(), "court asked",
                          "carol", kT0);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(*d, 3u);
  EXPECT_EQ(store_->Get(*d, kT0)->expires_us, kT0 + kDefaultTtlUs);
  EXPECT_EQ(kDefaultTtlUs, int64_t{7} * 24 * 3600 * 1'000'000);
  EXPECT_EQ(store_->Get(99, kT0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ApprovalStoreTest, ApproveThenExecute) {
  uint64_t id = SubmitOne();
  auto a = store_->Approve(id, "bob", kT0 + 10);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->state, State::kApproved);
  EXPECT_EQ(a->approved_by, "bob");
  EXPECT_EQ(a->approved_us, kT0 + 10);
  EXPECT_EQ(a->decided_by, "bob");
  ASSERT_EQ(a->events.size(), 2u);
  EXPECT_EQ(a->events[1].seq, 2u);

  auto f = store_->Finish(id, "bob", true, {{"records", 12}}, kT0 + 20);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, State::kExecuted);
  EXPECT_EQ(f->finished_by, "bob");
  EXPECT_EQ(f->finished_us, kT0 + 20);
  EXPECT_EQ(f->result, nlohmann::json({{"records", 12}}));

  // What Finish returned is what is stored; executed never expires.
  auto g = store_->Get(id, kT0 + 100 * kHour);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->state, State::kExecuted);
  ASSERT_EQ(g->events.size(), 3u);
  EXPECT_EQ(g->events[2].state, State::kExecuted);
  EXPECT_EQ(g->events[2].detail, nlohmann::json({{"result", {{"records", 12}}}}));
  EXPECT_EQ(g->result, f->result);
}

TEST_F(ApprovalStoreTest, FailedExecutionIsRecordedAndFinal) {
  uint64_t id = SubmitOne();
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  auto f = store_->Finish(id, "bob", false, {{"error", "disk full"}}, kT0 + 2);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->state, State::kFailed);
  EXPECT_EQ(f->result["error"], "disk full");
  auto again = store_->Finish(id, "bob", true, nullptr, kT0 + 3);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Approve(id, "bob", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EventCount(id), 3u);
}

TEST_F(ApprovalStoreTest, NobodyApprovesTheirOwnRequest) {
  uint64_t id = SubmitOne();
  auto a = store_->Approve(id, "alice", kT0 + 1);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(a.status()), HasSubstr("nobody approves their own request"));
  EXPECT_EQ(StateAt(id, kT0 + 2), State::kPending);
  EXPECT_EQ(EventCount(id), 1u);
  // Names are compared exactly: another person is another name.
  EXPECT_TRUE(store_->Approve(id, "Alice", kT0 + 3).ok());
}

TEST_F(ApprovalStoreTest, RepeatedApprovalBySameApproverIsUnchangedByOthersRefused) {
  uint64_t id = SubmitOne();
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  auto again = store_->Approve(id, "bob", kT0 + 5);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->state, State::kApproved);
  EXPECT_EQ(again->approved_us, kT0 + 1);  // the first approval stands
  EXPECT_EQ(again->events.size(), 2u);
  EXPECT_EQ(EventCount(id), 2u);

  auto other = store_->Approve(id, "carol", kT0 + 6);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(other.status()), HasSubstr("approved by bob"));
  auto requester = store_->Approve(id, "alice", kT0 + 6);
  EXPECT_EQ(requester.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EventCount(id), 2u);

  // Once executed, a repeat by the same approver is refused too (it would run twice).
  ASSERT_TRUE(store_->Finish(id, "bob", true, nullptr, kT0 + 7).ok());
  EXPECT_EQ(store_->Approve(id, "bob", kT0 + 8).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ApprovalStoreTest, RejectRules) {
  uint64_t id = SubmitOne();
  auto own = store_->Reject(id, "alice", "changed my mind", kT0 + 1);
  EXPECT_EQ(own.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(own.status()), HasSubstr("withdraw"));
  EXPECT_EQ(store_->Reject(id, "bob", "", kT0 + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Reject(id, "", "no", kT0 + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EventCount(id), 1u);

  auto r = store_->Reject(id, "bob", "no court order attached", kT0 + 2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kRejected);
  EXPECT_EQ(r->decided_by, "bob");
  EXPECT_EQ(r->decided_us, kT0 + 2);
  EXPECT_TRUE(r->approved_by.empty());
  EXPECT_EQ(r->events.back().detail, nlohmann::json({{"reason", "no court order attached"}}));

  // Rejected is final.
  EXPECT_EQ(store_->Approve(id, "carol", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Reject(id, "carol", "also no", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Withdraw(id, "alice", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Finish(id, "bob", true, nullptr, kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // An approved request is no longer rejected (its requester may still withdraw it).
  uint64_t id2 = SubmitOne();
  ASSERT_TRUE(store_->Approve(id2, "bob", kT0 + 1).ok());
  EXPECT_EQ(store_->Reject(id2, "carol", "too late", kT0 + 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ApprovalStoreTest, WithdrawRules) {
  uint64_t id = SubmitOne();
  auto other = store_->Withdraw(id, "bob", kT0 + 1);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(other.status()), HasSubstr("only the requester"));
  auto w = store_->Withdraw(id, "alice", kT0 + 2);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->state, State::kWithdrawn);
  EXPECT_EQ(w->decided_by, "alice");
  EXPECT_EQ(store_->Approve(id, "bob", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Withdraw(id, "alice", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Approved but not executed: the requester can still call it off, and then nobody runs it.
  uint64_t id2 = SubmitOne();
  ASSERT_TRUE(store_->Approve(id2, "bob", kT0 + 1).ok());
  EXPECT_EQ(store_->Withdraw(id2, "bob", kT0 + 2).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto w2 = store_->Withdraw(id2, "alice", kT0 + 2);
  ASSERT_TRUE(w2.ok()) << w2.status();
  EXPECT_EQ(w2->state, State::kWithdrawn);
  EXPECT_EQ(w2->approved_by, "bob");  // the approval stays in the history
  EXPECT_EQ(w2->decided_by, "bob");   // the decision was bob's approval
  EXPECT_EQ(store_->Finish(id2, "bob", true, nullptr, kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Executed: too late to withdraw.
  uint64_t id3 = SubmitOne();
  ASSERT_TRUE(store_->Approve(id3, "bob", kT0 + 1).ok());
  ASSERT_TRUE(store_->Finish(id3, "bob", true, nullptr, kT0 + 2).ok());
  EXPECT_EQ(store_->Withdraw(id3, "alice", kT0 + 3).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ApprovalStoreTest, FinishOnlyOnceAndOnlyWhenApproved) {
  uint64_t id = SubmitOne(kHour, kActionExport);
  auto early = store_->Finish(id, "alice", true, nullptr, kT0 + 1);
  EXPECT_EQ(early.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(early.status()), HasSubstr("pending"));
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 2).ok());
  // For export the requester fetches the file after approval: `by` is whoever the caller says.
  auto f = store_->Finish(id, "alice", true, {{"file", "/exports/17.pcap"}}, kT0 + 3);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->finished_by, "alice");
  auto second = store_->Finish(id, "alice", true, nullptr, kT0 + 4);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(second.status()), HasSubstr("executed"));
  EXPECT_EQ(EventCount(id), 3u);
  EXPECT_EQ(store_->Finish(42, "bob", true, nullptr, kT0).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ApprovalStoreTest, ExpiresExactlyAtTheDeadlineWithoutWritingOnRead) {
  const int64_t deadline = kT0 + 100;
  uint64_t pending = SubmitOne(100);
  EXPECT_EQ(StateAt(pending, deadline - 1), State::kPending);
  EXPECT_EQ(StateAt(pending, deadline), State::kExpired);
  EXPECT_EQ(EventCount(pending), 1u);  // reading wrote nothing
  auto late = store_->Approve(pending, "bob", deadline);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(late.status()), HasSubstr("expired"));
  EXPECT_EQ(store_->Reject(pending, "bob", "no", deadline).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Withdraw(pending, "alice", deadline).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The clock of an earlier reader still sees it pending, and it can be approved then.
  EXPECT_TRUE(store_->Approve(pending, "bob", deadline - 1).ok());

  uint64_t approved = SubmitOne(100);
  ASSERT_TRUE(store_->Approve(approved, "bob", deadline - 2).ok());
  EXPECT_EQ(StateAt(approved, deadline - 1), State::kApproved);
  EXPECT_EQ(StateAt(approved, deadline), State::kExpired);
  EXPECT_EQ(store_->Finish(approved, "bob", true, nullptr, deadline).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A repeat of the approval after the deadline is refused too (the run would be refused).
  EXPECT_EQ(store_->Approve(approved, "bob", deadline).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(EventCount(approved), 2u);
  auto ok = store_->Finish(approved, "bob", true, nullptr, deadline - 1);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(StateAt(approved, deadline + kHour), State::kExecuted);
}

TEST_F(ApprovalStoreTest, ListNewestFirstWithFilters) {
  uint64_t a = SubmitOne(kHour, kActionRetentionChange);  // stays pending
  uint64_t b = SubmitOne(kHour, kActionExport);           // approved
  uint64_t c = SubmitOne(100, kActionDestroyRange);       // expires at kT0 + 100
  ASSERT_TRUE(store_->Approve(b, "bob", kT0 + 1).ok());

  auto all = store_->List(kT0 + 200);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, c);
  EXPECT_EQ((*all)[1].id, b);
  EXPECT_EQ((*all)[2].id, a);
  EXPECT_EQ((*all)[0].state, State::kExpired);
  EXPECT_EQ((*all)[1].events.size(), 2u);

  auto expired = store_->List(kT0 + 200, State::kExpired);
  ASSERT_TRUE(expired.ok());
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].id, c);
  auto pending_before = store_->List(kT0 + 50, State::kPending);
  ASSERT_TRUE(pending_before.ok());
  EXPECT_EQ(pending_before->size(), 2u);

  auto exports = store_->List(kT0 + 200, std::nullopt, kActionExport);
  ASSERT_TRUE(exports.ok());
  ASSERT_EQ(exports->size(), 1u);
  EXPECT_EQ((*exports)[0].id, b);
  auto none = store_->List(kT0 + 200, State::kPending, kActionExport);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(store_->List(kT0, std::nullopt, "delete_everything").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ApprovalStoreTest, ReopenKeepsEverything) {
  uint64_t a = SubmitOne();
  uint64_t b = SubmitOne();
  ASSERT_TRUE(store_->Approve(a, "bob", kT0 + 1).ok());
  ASSERT_TRUE(store_->Finish(a, "bob", false, {{"error", "x"}}, kT0 + 2).ok());
  ASSERT_TRUE(store_->Reject(b, "carol", "no", kT0 + 3).ok());
  auto before = store_->List(kT0 + 4);
  ASSERT_TRUE(before.ok());
  store_.reset();

  auto reopened = ApprovalStore::Open(dir_.string(), /*create=*/false);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  store_ = std::move(*reopened);
  auto after = store_->List(kT0 + 4);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ(RequestJson((*after)[i]).dump(), RequestJson((*before)[i]).dump());
  }
  EXPECT_EQ(SubmitOne(), 3u);  // ids continue
  // Opening with create again does not disturb an existing file.
  store_.reset();
  auto again = ApprovalStore::Open(dir_.string(), /*create=*/true);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->List(kT0)->size(), 3u);
}

TEST_F(ApprovalStoreTest, RefusesBadInput) {
  auto submit = [&](std::string_view action, std::string_view object, const nlohmann::json& p,
                    std::string_view reason, std::string_view by, int64_t ttl = kHour) {
    return store_->Submit(action, object, p, reason, by, kT0, ttl).status().code();
  };
  const nlohmann::json p = {{"days", 30}};
  const auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(submit("delete_everything", "liid:L", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit("", "liid:L", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit("Export", "liid:L", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, std::string(kMaxObjectBytes + 1, 'x'), p, "r", "alice"),
            kInvalid);
  EXPECT_EQ(submit(kActionExport, std::string(kMaxObjectBytes, 'x'), p, "r", "alice"),
            absl::StatusCode::kOk);
  EXPECT_EQ(submit(kActionExport, "liid:L\n", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, std::string("liid:\0L", 7), p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:\x7f", p, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:\xff\xfe", p, "r", "alice"), kInvalid);  // not UTF-8
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "a\tb", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, std::string(kMaxReasonBytes + 1, 'r'), "alice"),
            kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "r", ""), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "r", "al\nice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "r", "alice", 0), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "r", "alice", -1), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", p, "r", "alice", INT64_MAX), kInvalid);

  // params: an object, bounded in size and depth, valid UTF-8.
  EXPECT_EQ(submit(kActionExport, "liid:L", nlohmann::json::array({1, 2}), "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", "days=30", "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", nullptr, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", 30, "r", "alice"), kInvalid);
  nlohmann::json big = {{"order", std::string(kMaxParamsBytes, 'o')}};
  auto too_big = store_->Submit(kActionExport, "liid:L", big, "r", "alice", kT0);
  EXPECT_EQ(too_big.status().code(), kInvalid);
  EXPECT_THAT(Msg(too_big.status()), HasSubstr("larger than"));
  nlohmann::json fits = {{"order", std::string(kMaxParamsBytes - 20, 'o')}};
  EXPECT_EQ(submit(kActionExport, "liid:L", fits, "r", "alice"), absl::StatusCode::kOk);
  nlohmann::json many = nlohmann::json::object();
  for (int i = 0; i < 5000; ++i) many[std::to_string(i)] = i;
  EXPECT_EQ(submit(kActionExport, "liid:L", many, "r", "alice"), kInvalid);
  nlohmann::json deep = nlohmann::json::object();
  for (int i = 0; i < 100'000; ++i) deep = nlohmann::json{{"a", std::move(deep)}};
  EXPECT_EQ(submit(kActionExport, "liid:L", deep, "r", "alice"), kInvalid);
  EXPECT_EQ(submit(kActionExport, "liid:L", {{"x", "\xc3\x28"}}, "r", "alice"), kInvalid);

  // Only the two good submissions above were recorded.
  auto all = store_->List(kT0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);

  uint64_t id = SubmitOne();
  EXPECT_EQ(store_->Approve(id, "", kT0 + 1).status().code(), kInvalid);
  EXPECT_EQ(store_->Approve(id, "bo\001b", kT0 + 1).status().code(), kInvalid);
  EXPECT_EQ(store_->Withdraw(id, "", kT0 + 1).status().code(), kInvalid);
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  nlohmann::json huge_result = {{"log", std::string(kMaxResultBytes, 'l')}};
  EXPECT_EQ(store_->Finish(id, "bob", true, huge_result, kT0 + 2).status().code(), kInvalid);
  EXPECT_EQ(store_->Finish(id, "", true, nullptr, kT0 + 2).status().code(), kInvalid);
  EXPECT_EQ(StateAt(id, kT0 + 3), State::kApproved);
  EXPECT_EQ(store_->Approve(12345, "bob", kT0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ApprovalStoreTest, HistoryIsImmutableForAnyWriterOfTheFile) {
  uint64_t id = SubmitOne();
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  uint64_t pending = SubmitOne();
  std::string err;
  for (const char* sql : {
           "UPDATE requests SET params = '{\"days\":1}' WHERE id = 1",
           "UPDATE requests SET requested_by = 'mallory'",
           "DELETE FROM requests WHERE id = 1",
           "DELETE FROM requests",
           "UPDATE events SET by_whom = 'mallory' WHERE request_id = 1 AND seq = 2",
           "UPDATE events SET status = 'pending'",
           "DELETE FROM events WHERE request_id = 1 AND seq = 2",
           "DELETE FROM events",
           // REPLACE would delete the old row without firing the DELETE trigger.
           "INSERT OR REPLACE INTO requests(id, action, object, params, reason, requested_by, "
           "requested_us, expires_us) VALUES(1, 'export', 'comm:1', '{}', 'r', 'mallory', 1, 2)",
           "INSERT OR REPLACE INTO events(request_id, seq, status, by_whom, at_us, detail) "
           "VALUES(1, 2, 'approved', 'mallory', 1, '{}')",
       }) {
    EXPECT_NE(RawExec(sql, &err), SQLITE_OK) << sql;
    EXPECT_THAT(err, HasSubstr("approval")) << sql;
  }
  // The triggers also hold the state machine and four eyes for a direct writer.
  const std::string insert =
      "INSERT INTO events(request_id, seq, status, by_whom, at_us, detail) VALUES(";
  const std::string p = std::to_string(pending);
  const std::string soon = std::to_string(kT0 + 5);
  EXPECT_NE(RawExec(insert + p + ", 2, 'approved', 'alice', " + soon + ", '{}')", &err), 0);
  EXPECT_THAT(err, HasSubstr("nobody approves"));
  EXPECT_NE(RawExec(insert + p + ", 2, 'executed', 'bob', " + soon + ", '{}')", &err), 0);
  EXPECT_THAT(err, HasSubstr("not allowed"));
  EXPECT_NE(RawExec(insert + p + ", 3, 'approved', 'bob', " + soon + ", '{}')", &err), 0);
  EXPECT_NE(
      RawExec(insert + p + ", 2, 'approved', 'bob', " + std::to_string(kT0 + kHour) + ", '{}')",
              &err),
      0);
  EXPECT_THAT(err, HasSubstr("expired"));
  EXPECT_NE(RawExec(insert + p + ", 2, 'withdrawn', 'bob', " + soon + ", '{}')", &err), 0);
  EXPECT_NE(RawExec(insert + "77, 1, 'pending', 'alice', 1, '{}')", &err), 0);

  auto r = store_->Get(id, kT0 + 2);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->state, State::kApproved);
  EXPECT_EQ(r->approved_by, "bob");
  EXPECT_EQ(r->requested_by, "alice");
  EXPECT_EQ(r->params, nlohmann::json({{"days", 30}}));
  EXPECT_EQ(EventCount(pending), 1u);
  // A valid next event written directly is accepted: the triggers hold rules, not a monopoly.
  EXPECT_EQ(RawExec(insert + p + ", 2, 'approved', 'bob', " + soon + ", '{}')", &err), 0) << err;
  EXPECT_EQ(StateAt(pending, kT0 + 6), State::kApproved);
}

TEST_F(ApprovalStoreTest, TwoConnectionsCannotBothDecide) {
  uint64_t id = SubmitOne();
  auto second = ApprovalStore::Open(dir_.string(), /*create=*/false);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  EXPECT_EQ((*second)->Approve(id, "carol", kT0 + 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*second)->Reject(id, "carol", "no", kT0 + 2).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*second)->Finish(id, "bob", true, nullptr, kT0 + 3).ok());
  EXPECT_EQ(store_->Finish(id, "bob", true, nullptr, kT0 + 4).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ApprovalStoreTest, ConcurrentSubmitsGetDistinctIds) {
  constexpr int kThreads = 4, kEach = 10;
  std::vector<std::thread> threads;
  std::vector<std::vector<uint64_t>> ids(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto id = store_->Submit(kActionExport, "comm:1", nlohmann::json::object(), "r",
                                 "user" + std::to_string(t), kT0);
        if (id.ok()) ids[t].push_back(*id);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : ids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), size_t{kThreads * kEach});
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kEach});
}

TEST_F(ApprovalStoreTest, RequestJsonShape) {
  uint64_t id = SubmitOne();
  ASSERT_TRUE(store_->Approve(id, "bob", kT0 + 1).ok());
  auto r = store_->Finish(id, "bob", true, {{"records", 3}}, kT0 + 2);
  ASSERT_TRUE(r.ok());
  nlohmann::ordered_json j = RequestJson(*r);
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "action", "object", "params", "reason",
                                            "requested_by", "requested", "expires", "status",
                                            "approved_by", "approved", "decided_by", "decided",
                                            "finished_by", "finished", "result", "events"}));
  EXPECT_EQ(j["id"], 1);
  EXPECT_EQ(j["status"], "executed");
  EXPECT_EQ(j["params"]["days"], 30);
  EXPECT_EQ(j["requested"], "2026-05-28T20:26:40.000000Z");
  EXPECT_EQ(j["approved_by"], "bob");
  EXPECT_EQ(j["result"]["records"], 3);
  ASSERT_EQ(j["events"].size(), 3u);
  EXPECT_EQ(j["events"][1]["status"], "approved");
  EXPECT_EQ(j["events"][1]["by"], "bob");
  EXPECT_EQ(j["events"][1]["seq"], 2);
  EXPECT_EQ(j["events"][1]["at"], "2026-05-28T20:26:40.000001Z");

  uint64_t pending = SubmitOne();
  nlohmann::ordered_json p = RequestJson(*store_->Get(pending, kT0 + kHour));
  EXPECT_EQ(p["status"], "expired");
  EXPECT_FALSE(p.contains("approved_by"));
  EXPECT_FALSE(p.contains("decided_by"));
  EXPECT_FALSE(p.contains("result"));
}

TEST(ApprovalStateTest, NamesRoundTrip) {
  for (State s : {State::kPending, State::kApproved, State::kRejected, State::kWithdrawn,
                  State::kExpired, State::kExecuted, State::kFailed}) {
    EXPECT_EQ(ParseState(StateName(s)), s);
  }
  EXPECT_EQ(ParseState("Pending"), std::nullopt);
  EXPECT_EQ(ParseState(""), std::nullopt);
  EXPECT_TRUE(IsApprovalAction("destroy_range"));
  EXPECT_TRUE(IsApprovalAction("retention_change"));
  EXPECT_TRUE(IsApprovalAction("export"));
  EXPECT_FALSE(IsApprovalAction("read_content"));
}

}  // namespace
}  // namespace tapvault::approval
