// `tapvault user ...` through the real binary: the first administrator, four-eyes grants (nobody
// approves their own request or a grant to themselves), API tokens shown once and stored hashed,
// and every change in the store's audit log.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using tapvault::itest::RunResult;
using tapvault::itest::RunTapvault;
using tapvault::itest::RunTapvaultEnv;
using tapvault::itest::TempPath;

class UserCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempPath("user_cli_");
    ASSERT_EQ(RunTapvault({"init", "--data", dir_.string()}).exit_code, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // `tapvault user ARGS... --data DIR` as `who` (their API token; "" = nobody logged in).
  RunResult User(const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), "user");
    args.push_back("--data");
    args.push_back(dir_.string());
    std::vector<std::pair<std::string, std::string>> env = {{"TAPVAULT_NEW_PASSWORD", kPassword}};
    if (!who.empty()) env.emplace_back("TAPVAULT_TOKEN", tokens_.at(who));
    return RunTapvaultEnv(env, args);
  }
  uint64_t Grant(const std::string& who, const std::string& role, const std::string& by) {
    RunResult r = User(by, {"grant", "--name", who, "--role", role});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["request"].get<uint64_t>();
  }
  void Token(const std::string& who) {
    RunResult t = User("admin-1", {"token", "create", "--name", who, "--token-name", "laptop"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    tokens_[who] = nlohmann::json::parse(t.out)["token"].get<std::string>();
  }
  std::vector<nlohmann::json> AuditAs(const std::string& who) {
    RunResult q = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at(who)}},
                                 {"audit", "query", "--data", dir_.string(), "--format", "jsonl"});
    EXPECT_EQ(q.exit_code, 0) << q.err;
    std::vector<nlohmann::json> entries;
    std::istringstream lines(q.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) entries.push_back(nlohmann::json::parse(line));
    }
    return entries;
  }
  static constexpr char kPassword[] = "correct horse battery staple";
  fs::path dir_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(UserCli, FourEyesGrantsTokensAndTheAuditLog) {
  RunResult boot = User("", {"bootstrap", "--name", "admin-1"});
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  tokens_["admin-1"] = nlohmann::json::parse(boot.out)["token"].get<std::string>();
  EXPECT_NE(User("", {"bootstrap", "--name", "admin-x"}).exit_code, 0) << "only once";
  ASSERT_EQ(User("admin-1", {"add", "--name", "admin-2"}).exit_code, 0);
  ASSERT_EQ(User("admin-1", {"second-admin", "--name", "admin-2"}).exit_code, 0);
  ASSERT_EQ(User("admin-1", {"add", "--name", "j.jansen"}).exit_code, 0);
  Token("admin-2");
  Token("j.jansen");

  const uint64_t req = Grant("j.jansen", "investigator", "admin-1");
  RunResult own = User("admin-1", {"approve", "--request", std::to_string(req)});
  EXPECT_EQ(own.exit_code, 1) << "the requester does not approve";
  RunResult by_grantee = User("j.jansen", {"approve", "--request", std::to_string(req)});
  EXPECT_EQ(by_grantee.exit_code, 1) << "nobody grants themselves";
  RunResult ok = User("admin-2", {"approve", "--request", std::to_string(req)});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  RunResult self = User("admin-1", {"grant", "--name", "admin-1", "--role", "auditor"});
  EXPECT_NE(self.exit_code, 0) << "no request for oneself";

  const std::string secret = tokens_.at("j.jansen");
  std::ifstream db(dir_ / "users.db", std::ios::binary);
  std::stringstream bytes;
  bytes << db.rdbuf();
  EXPECT_EQ(bytes.str().find(secret.substr(0, 20)), std::string::npos) << "only its hash is kept";
  EXPECT_EQ(bytes.str().find(kPassword), std::string::npos);
  EXPECT_EQ(fs::status(dir_ / "users.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  // The audit log is the auditors': the administrators may not query it.
  ASSERT_EQ(User("admin-1", {"add", "--name", "auditor"}).exit_code, 0);
  ASSERT_EQ(User("admin-2", {"approve", "--request",
                             std::to_string(Grant("auditor", "auditor", "admin-1"))})
                .exit_code,
            0);
  Token("auditor");
  RunResult by_admin = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("admin-1")}},
                                      {"audit", "query", "--data", dir_.string()});
  EXPECT_EQ(by_admin.exit_code, 1);
  EXPECT_NE(by_admin.err.find("may not audit_read"), std::string::npos) << by_admin.err;
  int approvals_refused = 0, approvals_ok = 0, queries_refused = 0;
  for (const auto& e : AuditAs("auditor")) {
    EXPECT_EQ(e.dump().find(kPassword), std::string::npos);
    EXPECT_EQ(e.dump().find(secret.substr(0, 20)), std::string::npos);
    if (e["action"] == "user_approve" && e["object"] == "grant_request:" + std::to_string(req)) {
      approvals_refused += e["outcome"] == "failed";
      approvals_ok += e["outcome"] == "ok";
      EXPECT_NE(e["actor"], "operator") << "named by their login, not the machine's";
      if (e["outcome"] == "ok") EXPECT_EQ(e["role"], "administrator") << e.dump();
    }
    queries_refused += e["action"] == "refused" && e["actor"] == "admin-1" &&
                       e["object"] == "action:audit_read";
  }
  EXPECT_EQ(approvals_refused, 2);
  EXPECT_EQ(approvals_ok, 1);
  EXPECT_EQ(queries_refused, 1);
  EXPECT_EQ(RunTapvault({"audit", "verify", "--data", dir_.string()}).exit_code, 0);
}

// Every command that changes people, warrants, lists, keys or retention needs a logged-in user
// whose roles allow it; who is acting is never taken from a flag or the machine's login name.
TEST_F(UserCli, AdministrativeCommandsNeedALoginAndTheRightRole) {
  RunResult boot = User("", {"bootstrap", "--name", "admin-1"});
  ASSERT_EQ(boot.exit_code, 0) << boot.err;
  tokens_["admin-1"] = nlohmann::json::parse(boot.out)["token"].get<std::string>();
  ASSERT_EQ(User("admin-1", {"add", "--name", "admin-2"}).exit_code, 0);
  ASSERT_EQ(User("admin-1", {"second-admin", "--name", "admin-2"}).exit_code, 0);
  ASSERT_EQ(User("admin-1", {"add", "--name", "inv"}).exit_code, 0);
  Token("admin-2");
  ASSERT_EQ(User("admin-2", {"approve", "--request",
                             std::to_string(Grant("inv", "investigator", "admin-1"))})
                .exit_code,
            0);
  Token("inv");
  const std::vector<std::string> warrant = {"warrant", "add", "--data", dir_.string(), "--id", "W-1",
                                            "--liid", "L-1", "--target", "+31612345678", "--from",
                                            "2026-01-01T00:00:00Z", "--to", "2027-01-01T00:00:00Z",
                                            "--team", "team-a"};
  // Nobody logged in.
  RunResult anonymous = RunTapvault(warrant);
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.err.find("who is acting"), std::string::npos) << anonymous.err;
  EXPECT_NE(User("", {"add", "--name", "mallory"}).exit_code, 0);
  // --by is gone: it named whoever the caller said.
  std::vector<std::string> with_by = warrant;
  with_by.insert(with_by.end(), {"--by", "admin-1"});
  EXPECT_NE(RunTapvault(with_by).exit_code, 0);
  // A token that is not one.
  RunResult forged = RunTapvaultEnv({{"TAPVAULT_TOKEN", "tvt_not-a-token"}}, warrant);
  EXPECT_EQ(forged.exit_code, 1);
  // An investigator does not manage warrants, people or keys.
  RunResult inv = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("inv")}}, warrant);
  EXPECT_EQ(inv.exit_code, 1);
  EXPECT_NE(inv.err.find("may not warrant_manage"), std::string::npos) << inv.err;
  EXPECT_NE(User("inv", {"add", "--name", "mallory"}).exit_code, 0);
  EXPECT_EQ(RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("inv")}},
                           {"keys", "rotate", "--data", dir_.string()})
                .exit_code,
            1);
  // The administrator does, and is named as who did it.
  RunResult added = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("admin-1")}}, warrant);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  RunResult shown = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("admin-2")}},
                                   {"warrant", "show", "--data", dir_.string(), "--id", "W-1",
                                    "--json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(nlohmann::json::parse(shown.out)[0]["by"], "admin-1");
  // The investigator is in no team: the warrant is not theirs to see.
  RunResult hidden = RunTapvaultEnv({{"TAPVAULT_TOKEN", tokens_.at("inv")}},
                                    {"warrant", "list", "--data", dir_.string(), "--json"});
  ASSERT_EQ(hidden.exit_code, 0) << hidden.err;
  EXPECT_TRUE(nlohmann::json::parse(hidden.out).empty());
}

}  // namespace
