// `tapvault user ...` through the real binary: the first administrator, four-eyes grants (nobody
// approves their own request or a grant to themselves), API tokens shown once and stored hashed,
// and every change in the store's audit log.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using tapvault::itest::RunResult;
using tapvault::itest::RunTapvault;
using tapvault::itest::TempPath;

class UserCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempPath("user_cli_");
    ASSERT_EQ(RunTapvault({"init", "--data", dir_.string()}).exit_code, 0);
    ::setenv("TAPVAULT_PASSWORD", kPassword, 1);
  }
  void TearDown() override {
    ::unsetenv("TAPVAULT_PASSWORD");
    fs::remove_all(dir_);
  }
  RunResult User(std::vector<std::string> args) {
    args.insert(args.begin(), "user");
    args.push_back("--data");
    args.push_back(dir_.string());
    return RunTapvault(args);
  }
  uint64_t Grant(const std::string& who, const std::string& role, const std::string& by) {
    RunResult r = User({"grant", "--name", who, "--role", role, "--by", by});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out)["request"].get<uint64_t>();
  }
  static constexpr char kPassword[] = "correct horse battery staple";
  fs::path dir_;
};

TEST_F(UserCli, FourEyesGrantsTokensAndTheAuditLog) {
  ASSERT_EQ(User({"bootstrap", "--name", "admin-1"}).exit_code, 0);
  EXPECT_NE(User({"bootstrap", "--name", "admin-x"}).exit_code, 0) << "only once";
  ASSERT_EQ(User({"add", "--name", "admin-2", "--by", "admin-1"}).exit_code, 0);
  ASSERT_EQ(User({"second-admin", "--name", "admin-2", "--by", "admin-1"}).exit_code, 0);
  ASSERT_EQ(User({"add", "--name", "j.jansen", "--by", "admin-1"}).exit_code, 0);

  const uint64_t req = Grant("j.jansen", "investigator", "admin-1");
  RunResult own = User({"approve", "--request", std::to_string(req), "--by", "admin-1"});
  EXPECT_EQ(own.exit_code, 1) << "the requester does not approve";
  RunResult by_grantee = User({"approve", "--request", std::to_string(req), "--by", "j.jansen"});
  EXPECT_EQ(by_grantee.exit_code, 1) << "nobody grants themselves";
  RunResult ok = User({"approve", "--request", std::to_string(req), "--by", "admin-2"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  RunResult self = User({"grant", "--name", "admin-1", "--role", "auditor", "--by", "admin-1"});
  EXPECT_NE(self.exit_code, 0) << "no request for oneself";

  RunResult token = User({"token", "create", "--name", "j.jansen", "--token-name", "laptop", "--by",
                          "admin-1"});
  ASSERT_EQ(token.exit_code, 0) << token.err;
  const std::string secret = token.out.substr(token.out.find("tvt_"), 47);
  std::ifstream db(dir_ / "users.db", std::ios::binary);
  std::stringstream bytes;
  bytes << db.rdbuf();
  EXPECT_EQ(bytes.str().find(secret.substr(0, 20)), std::string::npos) << "only its hash is kept";
  EXPECT_EQ(bytes.str().find(kPassword), std::string::npos);
  EXPECT_EQ(fs::status(dir_ / "users.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);

  RunResult q = RunTapvault({"audit", "query", "--data", dir_.string(), "--format", "jsonl"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  std::vector<nlohmann::json> entries;
  std::istringstream lines(q.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) entries.push_back(nlohmann::json::parse(line));
  }
  int approvals_refused = 0, approvals_ok = 0;
  for (const auto& e : entries) {
    EXPECT_EQ(e.dump().find(kPassword), std::string::npos);
    EXPECT_EQ(e.dump().find(secret.substr(0, 20)), std::string::npos);
    if (e["action"] == "user_approve" && e["object"] == "grant_request:" + std::to_string(req)) {
      approvals_refused += e["outcome"] == "failed";
      approvals_ok += e["outcome"] == "ok";
    }
  }
  EXPECT_EQ(approvals_refused, 2);
  EXPECT_EQ(approvals_ok, 1);
  EXPECT_EQ(RunTapvault({"audit", "verify", "--data", dir_.string()}).exit_code, 0);
}

}  // namespace
