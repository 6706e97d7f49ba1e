// `tapvault warrant ...` through the real binary: flags, outputs (text and JSON), exit codes,
// what lands in DIR/warrants.db, and the audit log entry of every change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "warrant/warrant_store.h"
#include "nlohmann/json.hpp"

namespace tapvault::warrant {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

struct Result {
  int code = -1;
  std::string out, err;
  nlohmann::json Json() const { return nlohmann::json::parse(out); }
};

class WarrantCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = itest::TempPath("warrant_cli_");
    // Warrant changes are recorded in the store's audit log: the store comes first.
    ASSERT_EQ(itest::RunTapvault({"init", "--data", dir_.string()}).exit_code, 0);
    // alice and bob administer; the auditor reads the audit log.
    ASSERT_EQ(people_.Setup(dir_.string(), {{"auditor", {"auditor"}, {}}}, "alice", "bob"), "");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `tapvault warrant ARGS...` as alice, or as `--by WHO` when ARGS name one (the flag is
  // taken out: it is the login that names who acts).
  Result Run(std::vector<std::string> args) {
    std::string who = "alice";
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--by") {
        who = args[i + 1];
        args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
        break;
      }
    }
    args.insert(args.begin(), "warrant");
    itest::RunResult run = people_.As(who, args);
    return {run.exit_code, run.out, run.err};
  }

  // The audit log's entries of one action, as JSON lines.
  std::vector<nlohmann::json> Audit(const std::string& action) {
    itest::RunResult q = people_.As("auditor", {"audit", "query", "--data", Data(), "--action",
                                                action, "--format", "jsonl"});
    EXPECT_EQ(q.exit_code, 0) << q.err;
    std::vector<nlohmann::json> out;
    std::istringstream lines(q.out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    }
    return out;
  }

  std::string Data() const { return dir_.string(); }
  fs::path dir_;
  itest::People people_;
};

TEST_F(WarrantCliTest, AddExtendEndShowList) {
  Result add = Run({"add", "--data", Data(), "--id", "W-2026-0012", "--liid", "NLOM0042",
                    "--target", "+31612345678", "--target", "sip:x@example.org", "--from",
                    "2026-03-01T00:00:00Z", "--to", "2026-03-29T00:00:00+01:00", "--team",
                    "team-a", "--basis", "Sv 126m", "--authority", "mr. B", "--reference", "RC-1",
                    "--prosecutor", "mr. A", "--prosecutor-reference", "OM-1",
                    "--retention-days", "30", "--by", "alice", "--json"});
  ASSERT_EQ(add.code, 0) << add.err;
  nlohmann::json j = add.Json();
  EXPECT_EQ(j["id"], "W-2026-0012");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["change"], "created");
  EXPECT_EQ(j["valid_to"], "2026-03-28T23:00:00.000000Z");
  EXPECT_EQ(j["targets"].size(), 2u);
  EXPECT_EQ(j["by"], "alice");
  EXPECT_EQ(j["retention_days"], 30);

  Result ext = Run({"extend", "--data", Data(), "--id", "W-2026-0012", "--to",
                    "2026-04-26T00:00:00Z", "--reference", "RC-1-V1", "--by", "bob"});
  ASSERT_EQ(ext.code, 0) << ext.err;
  EXPECT_THAT(ext.out, HasSubstr("version 2 (extended) by bob"));
  Result again = Run({"extend", "--data", Data(), "--id", "W-2026-0012", "--to",
                      "2026-04-01T00:00:00Z"});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("tapvault warrant extend: "));
  EXPECT_THAT(again.err, HasSubstr("later"));

  Result end = Run({"end", "--data", Data(), "--id", "W-2026-0012", "--at",
                    "2026-04-10T00:00:00Z", "--reason", "arrested", "--json"});
  ASSERT_EQ(end.code, 0) << end.err;
  EXPECT_EQ(end.Json()["change"], "ended");
  EXPECT_EQ(end.Json()["reason"], "arrested");

  Result show = Run({"show", "--data", Data(), "--id", "W-2026-0012", "--json"});
  ASSERT_EQ(show.code, 0) << show.err;
  ASSERT_EQ(show.Json().size(), 3u);
  EXPECT_EQ(show.Json()[0]["valid_to"], "2026-03-28T23:00:00.000000Z");
  EXPECT_EQ(show.Json()[1]["authority_reference"], "RC-1-V1");
  Result text = Run({"show", "--data", Data(), "--id", "W-2026-0012"});
  EXPECT_THAT(text.out, HasSubstr("version 3 (ended)"));
  EXPECT_THAT(text.out, HasSubstr("legal basis: Sv 126m"));

  EXPECT_EQ(Run({"list", "--data", Data(), "--json"}).Json().size(), 0u) << "ended: hidden";
  Result all = Run({"list", "--data", Data(), "--all", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  ASSERT_EQ(all.Json().size(), 1u);
  EXPECT_EQ(all.Json()[0]["version"], 3);
  Result at = Run({"list", "--data", Data(), "--all", "--at", "2026-04-11T00:00:00Z"});
  EXPECT_EQ(at.out, "");
  Result line = Run({"list", "--data", Data(), "--all", "--liid", "NLOM0042"});
  EXPECT_THAT(line.out, HasSubstr("W-2026-0012  v3  "));
  EXPECT_THAT(line.out, HasSubstr("(ended)"));

  // Each change is in the audit log: the request, then its outcome with the new validity.
  for (const char* action : {"warrant_add", "warrant_extend", "warrant_end"}) {
    std::vector<nlohmann::json> entries = Audit(action);
    ASSERT_GE(entries.size(), 2u) << action;
    EXPECT_EQ(entries.front()["outcome"], "requested") << action;
    EXPECT_EQ(entries.front()["object"], "warrant:W-2026-0012") << action;
  }
  std::vector<nlohmann::json> adds = Audit("warrant_add");
  ASSERT_EQ(adds.size(), 2u);
  EXPECT_EQ(adds[0]["actor"], "alice");
  EXPECT_EQ(adds[1]["outcome"], "ok");
  EXPECT_EQ(adds[1]["detail"]["version"], 1);
  // The refused second extension is on record as failed.
  std::vector<nlohmann::json> extends = Audit("warrant_extend");
  ASSERT_EQ(extends.size(), 4u);
  EXPECT_EQ(extends[3]["outcome"], "failed");
}

TEST_F(WarrantCliTest, DefaultIdAndBadArguments) {
  Result add = Run({"add", "--data", Data(), "--liid", "L", "--target", "+31612345678", "--from",
                    "2026-03-01T00:00:00Z", "--to", "2026-03-29T00:00:00Z", "--team", "t",
                    "--json"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_THAT(add.Json()["id"].get<std::string>(), MatchesRegex("W-[0-9]{8}-[0-9a-f]{8}"));
  Result bad_time = Run({"add", "--data", Data(), "--liid", "L", "--target", "x", "--from",
                         "yesterday", "--to", "2026-03-29T00:00:00Z", "--team", "t"});
  EXPECT_EQ(bad_time.code, 2);
  EXPECT_THAT(bad_time.err, HasSubstr("--from"));
  Result no_target = Run({"add", "--data", Data(), "--liid", "L", "--from",
                          "2026-03-01T00:00:00Z", "--to", "2026-03-29T00:00:00Z", "--team", "t"});
  EXPECT_EQ(no_target.code, 2);
  Result reversed = Run({"add", "--data", Data(), "--liid", "L", "--target", "x", "--from",
                         "2026-03-29T00:00:00Z", "--to", "2026-03-01T00:00:00Z", "--team", "t"});
  EXPECT_EQ(reversed.code, 1);
  Result no_dir = Run({"list", "--data", (dir_ / "missing").string()});
  EXPECT_EQ(no_dir.code, 2);
  fs::create_directories(dir_ / "empty");
  Result no_db = Run({"show", "--data", (dir_ / "empty").string(), "--id", "x"});
  EXPECT_EQ(no_db.code, 2);
  EXPECT_THAT(no_db.err, HasSubstr("no warrants in"));
  EXPECT_FALSE(fs::exists(dir_ / "empty" / "warrants.db")) << "reads never create the file";
}

TEST_F(WarrantCliTest, ImportValidThenUpdateThenInvalid) {
  std::string testdata = WARRANT_TESTDATA;
  Result r = Run({"import", "--data", Data(), "--team", "team-a", "--by", "alice",
                  testdata + "/create_valid.xml", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(r.Json().size(), 1u);
  EXPECT_EQ(r.Json()[0]["action"], "added");
  r = Run({"import", "--data", Data(), "--team", "team-a", testdata + "/update_extend.xml"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("7dbbc880-8750-4d3c-abe7-ea4a17646045  extended  v2"));
  r = Run({"import", "--data", Data(), "--team", "team-a", testdata + "/bad_datetime.xml"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("rejected, nothing imported"));
  EXPECT_THAT(r.err, HasSubstr("line 37"));
  r = Run({"import", "--data", Data(), "--team", "team-a", testdata + "/nope.xml"});
  EXPECT_EQ(r.code, 2);
  auto store = WarrantStore::Open(Data(), false, true);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->Generation(), 2u);
}

}  // namespace
}  // namespace tapvault::warrant
