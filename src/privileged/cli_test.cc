// `tapvault privileged ...` end to end: runs the built binary (TAPVAULT_BINARY) on a temporary
// data directory and checks stdout (JSON), stderr and exit codes.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

#include "access/user_store.h"
#include "audit/audit_log.h"
#include "base/time.h"
#include "store/store.h"

namespace tapvault::privileged {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct Result {
  int code = -1;
  std::string out, err;
  nlohmann::json Json() const { return nlohmann::json::parse(out); }
};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PrivilegedCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/privileged_cli_XXXXXX";
    root_ = ::mkdtemp(tmpl);
    data_ = root_ / "data";
    // List imports are recorded in the store's audit log: the store comes first. Then the
    // people: alice and bob administrators, carol an operator, each with an API token.
    ASSERT_TRUE(store::InitStore({.dir = data_.string()}).ok());
    auto users = access::UserStore::Open(data_.string(), /*create=*/true);
    ASSERT_TRUE(users.ok()) << users.status();
    const int64_t now = base::Now().unix_us;
    ASSERT_TRUE((*users)->Bootstrap("alice", "a password for the test", now).ok());
    for (const char* who : {"bob", "carol"}) {
      ASSERT_TRUE((*users)->AddUser(who, "", "a password for the test", "alice", now).ok());
    }
    ASSERT_TRUE((*users)->AppointSecondAdministrator("bob", "alice", now).ok());
    auto req = (*users)->RequestGrant("carol", access::Grant::OfRole(access::Role::kOperator),
                                      "alice", now);
    ASSERT_TRUE(req.ok()) << req.status();
    ASSERT_TRUE((*users)->ApproveGrant(*req, "bob", now).ok());
    for (const char* who : {"alice", "bob", "carol"}) {
      auto t = (*users)->CreateToken(who, "test", now + 86'400'000'000LL, "alice", now);
      ASSERT_TRUE(t.ok()) << t.status();
      tokens_[who] = t->token;
    }
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = root_ / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

  // Runs `tapvault privileged ARGS...` as tapvault user `user` (their API token).
  Result Run(std::vector<std::string> args, const std::string& user = "alice") {
    const char* binary = std::getenv("TAPVAULT_BINARY");
    EXPECT_NE(binary, nullptr);
    fs::path out = root_ / "stdout", err = root_ / "stderr";
    pid_t pid = fork();
    if (pid == 0) {
      int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(o, 1);
      dup2(e, 2);
      setenv("TAPVAULT_TOKEN", tokens_[user].c_str(), 1);
      std::vector<char*> argv;
      std::string b = binary, p = "privileged";
      argv.push_back(b.data());
      argv.push_back(p.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary, argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    Result r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = ReadFile(out);
    r.err = ReadFile(err);
    return r;
  }

  std::string List(int count, int first = 0) {
    std::string csv = "identity,type,source,valid_from,valid_to,ref\n";
    for (int i = first; i < first + count; ++i) {
      csv += "+316" + std::to_string(10'000'000 + i) + ",,,,,\n";
    }
    return csv;
  }

  fs::path root_, data_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(PrivilegedCliTest, ImportPrintsTheVersionAndCheckFindsEveryNotation) {
  std::string file = Write("list.csv",
                           "# NOvA\n"
                           "identity,type,source,valid_from,valid_to,ref\n"
                           "+31 20 555 1234,,,,,\n"
                           "+31 20 555 12*,,,,,\n"
                           "+31205556000..+31205556099,,,,,\n"
                           "sip:Mr.X@Law.Example;transport=tcp,,,,,\n"
                           "mr.y@law.example,,,,,\n"
                           "+31 20 555 1234,,,,,\n");
  Result r = Run({"import", "--data", data_.string(), file, "--source", "NOvA"});
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = r.Json();
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["status"], "active");
  EXPECT_EQ(j["entries"], 5);
  EXPECT_EQ(j["added"], 5);
  EXPECT_EQ(j["removed"], 0);
  EXPECT_EQ(j["duplicates"], 1);
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(fs::exists(data_ / "privileged.db"));
  EXPECT_EQ(fs::status(data_ / "privileged.db").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_THAT(r.err, Not(HasSubstr("5551234"))) << "entries never in clear in logs";
  // In the store's audit log: who asked, then the outcome with the version's hash.
  {
    auto log = audit::AuditLog::Open({.dir = store::AuditDir(data_.string())}, false);
    ASSERT_TRUE(log.ok()) << log.status();
    audit::Query q;
    q.actions = {"list_import"};
    auto entries = (*log)->Query(q);
    ASSERT_TRUE(entries.ok());
    ASSERT_EQ(entries->size(), 2u);
    EXPECT_EQ((*entries)[0].event.outcome, "requested");
    EXPECT_EQ((*entries)[0].event.actor, "alice");
    EXPECT_EQ((*entries)[1].event.outcome, "ok");
    EXPECT_EQ((*entries)[1].event.detail["sha256"], j["sha256"]);
    EXPECT_THAT((*entries)[1].event.detail.dump(), Not(HasSubstr("5551234")));
  }

  struct Case {
    std::string identity, type;
  };
  for (const Case& c :
       std::vector<Case>{{"\"Mr X\" <sip:020-5551234@ims.example;user=phone>;tag=1", "number"},
                         {"0031205551234", "number"},
                         {"tel:+31-20-555-1234", "number"},
                         {"+31205551234123", "number"},  // digits dialled after the number
                         {"+31205551299", "prefix"},
                         {"+31205556050", "range"},
                         {"SIP:MR.X@law.example;user=ip", "uri"},
                         {"mailto:Mr.Y@Law.Example", "email"}}) {
    Result c2 = Run({"check", "--data", data_.string(), c.identity});
    ASSERT_EQ(c2.code, 0) << c.identity << ": " << c2.err;
    nlohmann::json m = c2.Json();
    EXPECT_EQ(m["match"], true) << c.identity;
    EXPECT_EQ(m["entry_type"], c.type) << c.identity;
    EXPECT_EQ(m["list_version"], 1);
    EXPECT_FALSE(m["readings"].empty());
    // The reading that matched.
    bool among = false;
    for (const auto& r : m["readings"]) among |= r["value"] == m["normalized"];
    EXPECT_TRUE(among) << c.identity;
  }
  Result miss = Run({"check", "--data", data_.string(), "020-5551300"});
  ASSERT_EQ(miss.code, 0) << miss.err;
  EXPECT_EQ(miss.Json()["match"], false);
  EXPECT_TRUE(miss.Json()["entry_type"].is_null());
  EXPECT_EQ(miss.Json()["normalized"], "+31205551300");
  // A SIP URI whose user part is the number: the number is what matched and what is shown.
  Result uri = Run({"check", "--data", data_.string(),
                    "\"Name\" <sip:020-5551234999@ims.example;user=phone>;tag=1"});
  ASSERT_EQ(uri.code, 0) << uri.err;
  EXPECT_EQ(uri.Json()["match"], true);
  EXPECT_EQ(uri.Json()["normalized"], "+31205551234999");
}

TEST_F(PrivilegedCliTest, ABadFileIsRejectedWholeWithEveryBadLineOnStderr) {
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("a.csv", List(10))}).code, 0);
  std::string bad = List(10) +
                    "12,,,,,\n"                                      // 12
                    "+31610000099,,,2026-02-30,,\n"                  // 13
                    "+31 6 1234 5678*9,,,,,\n"                       // 14
                    "\"sip:geheim@law.example;user=phone\",,,,,\n";  // 15
  Result r = Run({"import", "--data", data_.string(), Write("b.csv", bad)});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.out.empty());
  for (const char* line : {"line 12: ", "line 13: ", "line 14: ", "line 15: "}) {
    EXPECT_THAT(r.err, HasSubstr(line));
  }
  EXPECT_THAT(r.err, HasSubstr("4 bad lines"));
  EXPECT_THAT(r.err, Not(HasSubstr("geheim")));
  EXPECT_THAT(r.err, Not(HasSubstr("12345678")));
  Result v = Run({"versions", "--data", data_.string()});
  ASSERT_EQ(v.code, 0);
  EXPECT_EQ(std::count(v.out.begin(), v.out.end(), '\n'), 1) << "no version was added";
}

TEST_F(PrivilegedCliTest, ALargeShrinkIsHeldAndNeedsAnotherAdministrator) {
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("a.csv", List(100))}).code, 0);
  Result held = Run({"import", "--data", data_.string(), Write("b.csv", List(50))}, "alice");
  ASSERT_EQ(held.code, 3) << held.err;
  EXPECT_EQ(held.Json()["status"], "held");
  EXPECT_EQ(held.Json()["removed"], 50);
  EXPECT_THAT(held.err, HasSubstr("not alice"));
  EXPECT_THAT(held.err, HasSubstr("privileged confirm --data"));
  // Still the old list in force.
  EXPECT_EQ(Run({"check", "--data", data_.string(), "+31610000077"}).Json()["match"], true);
  Result same = Run({"confirm", "--data", data_.string(), "--version", "2"}, "alice");
  EXPECT_EQ(same.code, 1);
  EXPECT_THAT(same.err, HasSubstr("four-eyes"));
  Result other = Run({"confirm", "--data", data_.string(), "--version", "2"}, "bob");
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(other.Json()["status"], "active");
  EXPECT_EQ(other.Json()["confirmed_by"], "bob");
  Result c = Run({"check", "--data", data_.string(), "+31610000077"});
  EXPECT_EQ(c.Json()["match"], false);
  EXPECT_EQ(c.Json()["list_version"], 2);
  Result diff = Run({"diff", "--data", data_.string(), "--version", "2"});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_EQ(diff.Json()["base"], 1);
  EXPECT_EQ(diff.Json()["removed"]["total"], 50);
  EXPECT_EQ(diff.Json()["removed"]["by_type"]["number"], 50);
  EXPECT_EQ(diff.Json()["added"]["total"], 0);
  EXPECT_THAT(diff.out, Not(HasSubstr("+316")));
}

TEST_F(PrivilegedCliTest, RejectAndMaxShrink) {
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("a.csv", List(100))}).code, 0);
  Result held = Run({"import", "--data", data_.string(), Write("b.csv", List(10))});
  ASSERT_EQ(held.code, 3);
  Result rej = Run({"reject", "--data", data_.string(), "--version", "2"}, "bob");
  ASSERT_EQ(rej.code, 0) << rej.err;
  EXPECT_EQ(rej.Json()["status"], "rejected");
  EXPECT_EQ(Run({"confirm", "--data", data_.string(), "--version", "2"}, "carol").code, 1);
  Result allowed = Run({"import", "--data", data_.string(), Write("c.csv", List(40)),
                        "--max-shrink", "0.75"}, "carol");
  ASSERT_EQ(allowed.code, 0) << allowed.err;
  EXPECT_EQ(allowed.Json()["status"], "active");
  EXPECT_EQ(allowed.Json()["base"], 1);
  EXPECT_EQ(
      Run({"import", "--data", data_.string(), Write("d.csv", List(1)), "--max-shrink", "2"}).code,
      2);
}

TEST_F(PrivilegedCliTest, VersionsAndStatusAsJson) {
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("a.csv", List(3))}).code, 0);
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("b.csv", List(3))}).code, 0);
  Result v = Run({"versions", "--data", data_.string()});
  ASSERT_EQ(v.code, 0) << v.err;
  std::istringstream lines(v.out);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["status"], "superseded");
  EXPECT_EQ(rows[1]["status"], "active");
  EXPECT_EQ(rows[1]["added"], 0);
  EXPECT_EQ(rows[1]["sha256"], rows[0]["sha256"]) << "the same file again";
  EXPECT_EQ(rows[1]["imported_by"], "alice");
  EXPECT_EQ(rows[1]["stale"], false);
  Result s = Run({"status", "--data", data_.string()});
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.Json()["active"], 2);
  EXPECT_EQ(s.Json()["stale"], false);
  Result stale = Run({"status", "--data", data_.string(), "--max-age-hours", "0.0000001"});
  EXPECT_EQ(stale.code, 4);
  EXPECT_EQ(stale.Json()["stale"], true);
}

TEST_F(PrivilegedCliTest, NoListFailsClosed) {
  Result r = Run({"check", "--data", data_.string(), "+31205551234"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("failing closed"));
  EXPECT_TRUE(r.out.empty());
  ASSERT_EQ(Run({"import", "--data", data_.string(), Write("a.csv", List(3))}).code, 0);
  Result before =
      Run({"check", "--data", data_.string(), "--at", "2001-01-01T00:00:00Z", "+31610000001"});
  EXPECT_EQ(before.code, 1);
  EXPECT_THAT(before.err, HasSubstr("no list version was in force"));
  EXPECT_EQ(Run({"status", "--data", (root_ / "empty").string()}).code, 1);
  EXPECT_EQ(Run({"check", "--data", data_.string(), "--at", "yesterday", "+31610000001"}).code, 2);
  EXPECT_EQ(Run({"check", "--data", data_.string(), "no identity here"}).code, 2);
  EXPECT_EQ(Run({"import", "--data", (root_ / "missing").string(), Write("b.csv", List(3))}).code,
            2);
  EXPECT_FALSE(fs::exists(root_ / "missing"));
}

}  // namespace
}  // namespace tapvault::privileged
