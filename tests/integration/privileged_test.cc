// The privileged-party filter end to end, through the real binary: a list imported with
// `tapvault privileged import`, calls with lawyers in several notations and roles played by
// `tapvault feed` to `tapvault serve --data`, and every CLI way to content tried on the result.
// Then the people: a manual flag, the prosecutor's confirmation (destruction with a signed
// proces-verbaal) and a release by two people; a list update that makes a stored call privileged
// within a second; the canary; and the oversight figures.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "gtest/gtest.h"
#include "base/time.h"
#include "harness.h"

namespace {

using namespace tapvault::itest;

constexpr char kList[] =
    "# NOvA delivery\n"
    "identity,type,source,valid_from,valid_to,ref\n"
    "+31 20 555 1234,,NOvA,,,adv-1\n"
    "\"+31 (0)10-444 55*\",prefix,NOvA,,,kantoor-2\n"
    "sip:mr.x@law.example,uri,NOvA,,,adv-3\n"
    "+31 20 555 0000,number,tapvault,,,canary\n";

// One warrant per call, so that each call is one communication the test can find by its LIID.
constexpr char kScenario[] = R"(
[scenario]
name = "privileged"
start = "2026-03-01T10:00:00Z"
operator_id = "NLTELCO"
network_element = "med-ams-01"
country = "NL"

[[warrant]]
liid = "L-PLAIN"
[[warrant]]
liid = "L-LAWYER"
[[warrant]]
liid = "L-EXTRA-DIGITS"
[[warrant]]
liid = "L-NATIONAL"
[[warrant]]
liid = "L-FORWARDED"
[[warrant]]
liid = "L-RETRO"

[[event]]
type = "sip-call"
liid = "L-PLAIN"
domain = "ims.telco.nl"
caller = "+31612345678"
callee = "+31207654321"
duration_s = 0.2

[[event]]
type = "sip-call"
liid = "L-LAWYER"
domain = "ims.telco.nl"
caller = "+31612345678"
callee = "+31205551234"
duration_s = 0.2

[[event]]
type = "sip-call"
liid = "L-EXTRA-DIGITS"
domain = "ims.telco.nl"
caller = "+31612345678"
callee = "+31205551234999"
duration_s = 0.2

[[event]]
type = "pstn-call"
liid = "L-NATIONAL"
caller = { number = "+31201234567", format = "isup" }
callee = { number = "0205551234", format = "isup" }
duration_s = 0.2

[[event]]
type = "pstn-call"
liid = "L-FORWARDED"
caller = { number = "+31201234567", format = "isup" }
callee = { number = "0301112233", format = "isup" }
forwarded_to = { number = "+31104445599", format = "isup" }
duration_s = 0.2

[[event]]
type = "pstn-call"
liid = "L-RETRO"
caller = { number = "+31201234567", format = "isup" }
callee = { number = "+31307778888", format = "dss1" }
duration_s = 0.2
)";

class Privileged : public ::testing::Test {
 protected:
  void SetUp() override {
    work_ = TempPath("tv_priv_");
    data_ = work_ / "data";
    fs::create_directories(work_);
    ASSERT_EQ(RunTapvault({"init", "--data", data_.string()}).exit_code, 0);
    AddPeople();
  }
  // Two administrators (four eyes), an investigator of team-a and one of team-b, prosecutors of
  // team-a; an API token each (TAPVAULT_TOKEN) for the commands that read and decide.
  void AddPeople() {
    ASSERT_EQ(people_.Setup(data_.string(),
                            {{"j.jansen", {"investigator"}, {"team-a"}},
                             {"k.klaassen", {"investigator"}, {"team-b"}},
                             {"ovj-de-vries", {"prosecutor"}, {"team-a"}},
                             {"ovj-a", {"prosecutor"}, {"team-a"}},
                             {"ovj-b", {"prosecutor"}, {"team-a"}},
                             {"auditor", {"auditor"}, {}}}),
              "");
  }
  // `tapvault ARGS...` as `who` (with that user's API token).
  RunResult As(const std::string& who, const std::vector<std::string>& args) {
    return people_.As(who, args);
  }
  void TearDown() override {
    if (serve_) serve_->Terminate();
    std::error_code ec;
    fs::remove_all(work_, ec);
  }
  RunResult Import(const std::string& csv, const std::string& name, const std::string& by = "admin") {
    fs::path f = work_ / name;
    std::ofstream(f) << csv;
    return As(by, {"privileged", "import", "--data", data_.string(), f.string(), "--source",
                   "NOvA"});
  }
  // A warrant for `liid` valid from `from_s` to `to_s` seconds from now (team "team-a").
  RunResult Warrant(const std::string& liid, int64_t from_s = -86400, int64_t to_s = 30 * 86400) {
    const int64_t now = tapvault::base::Now().unix_us;
    return As("admin", {"warrant", "add", "--data", data_.string(), "--id", "W-" + liid, "--liid",
                        liid, "--target", "+31612345678", "--from",
                        tapvault::base::FormatRfc3339({now + from_s * 1000000}), "--to",
                        tapvault::base::FormatRfc3339({now + to_s * 1000000}), "--team", "team-a"});
  }
  // Warrants for every LIID of the scenario but those in skip_warrants_, then the server.
  void StartServe() {
    for (const char* liid : {"L-PLAIN", "L-LAWYER", "L-EXTRA-DIGITS", "L-NATIONAL", "L-FORWARDED",
                             "L-RETRO"}) {
      if (!skip_warrants_.count(liid)) {
        ASSERT_EQ(Warrant(liid).exit_code, 0);
      }
    }
    fs::path config = work_ / "tapvault.toml";
    std::ofstream(config) << "[privileged]\ncanary = \"+31205550000\"\ncanary_interval_s = 1\n";
    serve_ = std::make_unique<ServeProcess>(std::vector<std::string>{
        "--config", config.string(), "--data", data_.string(), "--hi2", "127.0.0.1:0", "--hi3",
        "127.0.0.1:0", "--metrics", "127.0.0.1:0"});
    ready_ = serve_->WaitReady();
    ASSERT_TRUE(ready_.is_object()) << serve_->Stderr();
  }
  void Feed() {
    fs::path scenario = work_ / "privileged.toml";
    std::ofstream(scenario) << kScenario;
    RunResult r = RunTapvault({"feed", "--scenario", scenario.string(), "--hi2", ready_["hi2"],
                               "--hi3", ready_["hi3"], "--ack-every", "5"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // LIID -> the (one) communication of that warrant, as an investigator of team-a sees them.
  std::map<std::string, nlohmann::json> Comms(const std::string& who = "j.jansen") {
    RunResult r = As(who, {"comms", "list", "--data", data_.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::map<std::string, nlohmann::json> out;
    for (const auto& c : nlohmann::json::parse(r.out)) {
      // The canary and the simulator's own TRI PDUs (keep-alives, options: pseudo-LIID) aside.
      if (c["liid"] != "tapvault-canary" && c["liid"] != "tapvault-feed") out[c["liid"]] = c;
    }
    return out;
  }
  std::string Id(const std::string& liid) { return std::to_string(Comms().at(liid)["id"].get<uint64_t>()); }
  RunResult Read(const std::string& liid, const std::string& who = "j.jansen") {
    return As(who, {"comms", "read", "--data", data_.string(), "--comm", Id(liid)});
  }

  fs::path work_, data_;
  std::set<std::string> skip_warrants_;
  People people_;
  std::unique_ptr<ServeProcess> serve_;
  nlohmann::json ready_;
};

TEST_F(Privileged, CallsWithLawyersAreBlockedOnArrivalOnEveryPath) {
  RunResult imported = Import(kList, "nova-1.csv");
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  StartServe();
  Feed();
  auto comms = Comms();
  ASSERT_EQ(comms.size(), 6u) << RunTapvault({"comms", "list", "--data", data_.string()}).out;
  const std::map<std::string, std::string> want = {
      {"L-PLAIN", "available"},     {"L-LAWYER", "privileged"},   {"L-EXTRA-DIGITS", "privileged"},
      {"L-NATIONAL", "privileged"}, {"L-FORWARDED", "privileged"}, {"L-RETRO", "available"}};
  for (const auto& [liid, state] : want) {
    EXPECT_EQ(comms[liid]["state"], state) << liid << ": " << comms[liid].dump();
    // A privileged call's parties are privileged information too.
    if (state == "privileged") {
      EXPECT_TRUE(comms[liid]["parties"].empty()) << liid;
      EXPECT_GT(comms[liid]["parties_withheld"].get<int>(), 0) << liid;
      EXPECT_EQ(comms[liid].dump().find("5551234"), std::string::npos);
    }
  }
  // Content: read only what is decided not privileged.
  // Who else may read it: nobody outside the warrant's team, never an administrator, never
  // without logging in.
  EXPECT_EQ(Read("L-PLAIN", "k.klaassen").exit_code, 1) << "another team";
  EXPECT_EQ(Read("L-PLAIN", "admin").exit_code, 1) << "administrators never read content";
  EXPECT_TRUE(Comms("k.klaassen").empty()) << "another team sees none of team-a's calls";
  RunResult anonymous = RunTapvault({"comms", "read", "--data", data_.string(), "--comm", Id("L-PLAIN")});
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_NE(anonymous.err.find("who is acting"), std::string::npos) << anonymous.err;
  RunResult plain = Read("L-PLAIN");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_GT(plain.out.size(), 200u);
  for (const char* liid : {"L-LAWYER", "L-EXTRA-DIGITS", "L-NATIONAL", "L-FORWARDED"}) {
    RunResult r = Read(liid);
    EXPECT_EQ(r.exit_code, 1) << liid;
    EXPECT_TRUE(r.out.empty()) << liid;
    EXPECT_NE(r.err.find("privileged"), std::string::npos) << r.err;
  }
  // Raw capture would bypass all of this: refused together with a store.
  RunResult raw = RunTapvault({"serve", "--data", data_.string(), "--raw-capture",
                               (work_ / "raw").string(), "--hi2", "127.0.0.1:0"});
  EXPECT_NE(raw.exit_code, 0);
  EXPECT_NE(raw.err.find("raw_capture"), std::string::npos) << raw.err;

  // A manual flag blocks at once.
  RunResult flag = As("j.jansen", {"flag", "--data", data_.string(), "--comm", Id("L-PLAIN")});
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  EXPECT_EQ(Read("L-PLAIN").exit_code, 1);

  // The prosecutor confirms: destroyed, with the proces-verbaal signed in the log.
  RunResult by_investigator = As("j.jansen", {"decide", "--data", data_.string(), "--comm",
                                               Id("L-LAWYER"), "--confirm", "--order", "PV-2026-001"});
  EXPECT_EQ(by_investigator.exit_code, 1) << "only a prosecutor confirms";
  RunResult first_confirm = As("ovj-a", {"decide", "--data", data_.string(), "--comm",
                                         Id("L-LAWYER"), "--confirm", "--order", "PV-2026-001"});
  ASSERT_EQ(first_confirm.exit_code, 0) << first_confirm.err;
  EXPECT_EQ(nlohmann::json::parse(first_confirm.out)["outcome"], "destruction_pending_second_person");
  RunResult confirm = As("ovj-de-vries", {"decide", "--data", data_.string(), "--comm",
                                          Id("L-LAWYER"), "--confirm", "--order", "PV-2026-001"});
  ASSERT_EQ(confirm.exit_code, 0) << confirm.err;
  nlohmann::json decided = nlohmann::json::parse(confirm.out);
  EXPECT_EQ(decided["outcome"], "destroyed");
  EXPECT_EQ(decided["proces_verbaal"]["liid"], "L-LAWYER");
  EXPECT_EQ(decided["proces_verbaal"]["order"], "PV-2026-001");
  EXPECT_EQ(decided["proces_verbaal"]["confirmed_by"], "ovj-de-vries");
  EXPECT_EQ(decided["proces_verbaal"]["first_confirmed_by"], "ovj-a");
  EXPECT_EQ(Comms()["L-LAWYER"]["state"], "destroyed");

  // A release needs a reason and a second person.
  const std::string fwd = Id("L-FORWARDED");
  RunResult noreason = As("ovj-a", {"decide", "--data", data_.string(), "--comm", fwd, "--release",
                                     "--order", "R-1"});
  EXPECT_EQ(noreason.exit_code, 2);
  RunResult first = As("ovj-a", {"decide", "--data", data_.string(), "--comm", fwd, "--release",
                                  "--reason", "the lawyer is a suspect himself", "--order", "R-1"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(nlohmann::json::parse(first.out)["outcome"], "release_pending_second_person");
  EXPECT_EQ(Read("L-FORWARDED").exit_code, 1);
  RunResult second = As("ovj-b", {"decide", "--data", data_.string(), "--comm", fwd, "--release",
                                   "--reason", "agreed", "--order", "R-1"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(Read("L-FORWARDED").exit_code, 0);

  // A new list version that adds a stored call's party: privileged within a second.
  std::string v2 = std::string(kList) + "+31 30 777 8888,,NOvA,,,adv-9\n";
  ASSERT_EQ(Comms()["L-RETRO"]["state"], "available");
  const auto t0 = std::chrono::steady_clock::now();
  RunResult again = Import(v2, "nova-2.csv");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  // Even before the server has re-decided it, the gate refuses it (checked against the list now).
  EXPECT_EQ(Read("L-RETRO").exit_code, 1);
  bool retro = WaitUntil([&] { return Comms()["L-RETRO"]["state"] == "privileged"; }, 5000);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(retro);
  std::printf("retroactive decision %.2f s after the import started\n", seconds);

  // `privileged check` in a notation a SIP header carries.
  RunResult check = RunTapvault({"privileged", "check", "--data", data_.string(),
                                 "\"Mr X\" <sip:+31205551234@ims.example;user=phone>;tag=x"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(nlohmann::json::parse(check.out)["match"], true);

  // The canary ran end to end and was blocked.
  EXPECT_GE(WaitMetric(ready_["metrics"], "tapvault_privileged_canary_runs_total{outcome=\"blocked\"}", 1,
                       15000),
            1);
  EXPECT_EQ(Metric(ready_["metrics"], "tapvault_privileged_canary_ok"), 1);

  // Oversight figures.
  RunResult report = RunTapvault({"privileged", "report", "--data", data_.string()});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  nlohmann::json figures = nlohmann::json::parse(report.out);
  EXPECT_EQ(figures["recognised"]["on_arrival"], 4);
  EXPECT_EQ(figures["recognised"]["retroactive"], 1);
  EXPECT_EQ(figures["flagged_by_hand"], 1);
  EXPECT_EQ(figures["destroyed"], 1);
  EXPECT_EQ(figures["released"], 1);

  ASSERT_EQ(serve_->Terminate(), 0);
  serve_.reset();
  RunResult verify = RunTapvault({"verify", "--data", data_.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(Privileged, WithoutAListNothingBecomesReadable) {
  StartServe();
  Feed();
  for (const auto& [liid, c] : Comms()) {
    EXPECT_EQ(c["state"], "quarantined") << liid;
    EXPECT_EQ(c["state_reason"], "list_unavailable") << liid;
  }
  EXPECT_EQ(Read("L-PLAIN").exit_code, 1);
  // The list arrives: the waiting calls are decided.
  ASSERT_EQ(Import(kList, "nova.csv").exit_code, 0);
  EXPECT_TRUE(WaitUntil([&] { return Comms()["L-PLAIN"]["state"] == "available"; }, 5000));
  EXPECT_EQ(Comms()["L-LAWYER"]["state"], "privileged");
  EXPECT_EQ(Read("L-PLAIN").exit_code, 0);
}

// Records of an LIID without a warrant valid at their time are kept but never readable
// ("unassigned", with an alarm) until the warrant is entered; ending the warrant before their
// time takes them out of reach again at once.
TEST_F(Privileged, WithoutAWarrantNothingBecomesReadable) {
  ASSERT_EQ(Import(kList, "nova.csv").exit_code, 0);
  skip_warrants_ = {"L-PLAIN"};
  StartServe();
  Feed();
  EXPECT_TRUE(WaitUntil([&] { return Comms()["L-LAWYER"]["state"] == "privileged"; }, 5000));
  // Invisible to every user; the operator sees it counted, and the alarm.
  EXPECT_EQ(Comms().count("L-PLAIN"), 0u);
  auto unassigned = [&] {
    RunResult r = RunTapvault({"privileged", "report", "--data", data_.string()});
    return nlohmann::json::parse(r.out)["now"]["quarantined_by_reason"].value("unassigned", 0);
  };
  EXPECT_EQ(unassigned(), 1);
  EXPECT_GE(WaitMetric(ready_["metrics"], "tapvault_alarms_total{kind=\"unassigned\"}", 1, 5000), 1);

  // The warrant is entered afterwards (an urgent order put on paper first).
  ASSERT_EQ(Warrant("L-PLAIN").exit_code, 0);
  EXPECT_TRUE(WaitUntil([&] { return Comms().count("L-PLAIN") && Comms()["L-PLAIN"]["state"] == "available"; }, 5000));
  EXPECT_EQ(Read("L-PLAIN").exit_code, 0);
  const std::string plain_id = Id("L-PLAIN");

  // Ended an hour ago: the call is outside it. The gate refuses at once, the server re-decides.
  const std::string at = tapvault::base::FormatRfc3339({tapvault::base::Now().unix_us - 3600LL * 1000000});
  RunResult end = As("admin", {"warrant", "end", "--data", data_.string(), "--id", "W-L-PLAIN",
                               "--at", at, "--reason", "entered for the wrong number"});
  ASSERT_EQ(end.exit_code, 0) << end.err;
  EXPECT_EQ(As("j.jansen", {"comms", "read", "--data", data_.string(), "--comm", plain_id}).exit_code, 1);
  EXPECT_TRUE(WaitUntil([&] { return unassigned() == 1; }, 5000));
}

// What the law wants two people for, beyond privileged material: an export of content (two
// prosecutors; the file is fetched once, by the one who asked, and named with its hash in the
// audit log), a change of retention and the destruction of a range (two administrators). One
// person alone changes nothing, and nobody approves their own request.
TEST_F(Privileged, ExportRetentionAndRangeDestructionNeedASecondPerson) {
  ASSERT_EQ(Import(kList, "nova.csv").exit_code, 0);
  StartServe();
  Feed();
  const std::string d = data_.string();
  const std::string plain = Id("L-PLAIN");
  auto request_of = [](const RunResult& r) {
    return std::to_string(nlohmann::json::parse(r.out)["request"].get<uint64_t>());
  };
  auto approve = [&](const std::string& who, const std::string& req) {
    return As(who, {"approval", "approve", "--data", d, "--request", req});
  };

  // Export.
  EXPECT_EQ(As("j.jansen", {"export", "request", "--data", d, "--comm", plain, "--reason", "x"})
                .exit_code,
            1)
      << "investigators do not export";
  RunResult asked = As("ovj-a", {"export", "request", "--data", d, "--comm", plain, "--reason",
                                 "for the court file"});
  ASSERT_EQ(asked.exit_code, 0) << asked.err;
  const std::string req = request_of(asked);
  const fs::path out = work_ / "export.bin";
  auto fetch = [&](const std::string& who, const fs::path& file) {
    return As(who, {"export", "fetch", "--data", d, "--request", req, "--out", file.string()});
  };
  EXPECT_EQ(fetch("ovj-a", out).exit_code, 1) << "not approved yet";
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(approve("ovj-a", req).exit_code, 1) << "not one's own request";
  EXPECT_EQ(approve("j.jansen", req).exit_code, 1) << "an investigator does not approve exports";
  EXPECT_EQ(approve("admin-2", req).exit_code, 1) << "nor does an administrator";
  RunResult approved = approve("ovj-b", req);
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(nlohmann::json::parse(approved.out)["status"], "approved");
  EXPECT_EQ(fetch("ovj-b", work_ / "other.bin").exit_code, 1) << "only the requester fetches";
  RunResult fetched = fetch("ovj-a", out);
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  const nlohmann::json manifest = nlohmann::json::parse(fetched.out);
  RunResult read = As("ovj-a", {"comms", "read", "--data", d, "--comm", plain});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_GT(read.out.size(), 200u);
  EXPECT_EQ(Slurp(out), read.out) << "the export is the content the gate gives";
  EXPECT_EQ(manifest["bytes"].get<size_t>(), read.out.size());
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fetch("ovj-a", work_ / "again.bin").exit_code, 1) << "an approval is used once";
  RunResult exports = As("auditor", {"audit", "query", "--data", d, "--action", "export",
                                     "--outcome", "ok", "--format", "jsonl"});
  ASSERT_EQ(exports.exit_code, 0) << exports.err;
  const nlohmann::json logged = nlohmann::json::parse(exports.out.substr(0, exports.out.find('\n')));
  EXPECT_EQ(logged["actor"], "ovj-a");
  EXPECT_EQ(logged["role"], "prosecutor") << "the capacity the person acted in";
  EXPECT_EQ(logged["detail"]["sha256"], manifest["sha256"]);
  EXPECT_EQ(logged["detail"]["file"], out.string());

  // Retention.
  RunResult ret = As("admin", {"retention", "--data", d, "--liid", "L-RETRO", "--days", "30",
                               "--reason", "the prosecutor's instruction"});
  ASSERT_EQ(ret.exit_code, 0) << ret.err;
  EXPECT_EQ(As("ovj-a", {"retention", "--data", d, "--liid", "L-RETRO", "--days", "1", "--reason",
                         "x"})
                .exit_code,
            1)
      << "retention is the administrators'";
  EXPECT_EQ(approve("admin", request_of(ret)).exit_code, 1) << "not one's own request";
  RunResult set = approve("admin-2", request_of(ret));
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(nlohmann::json::parse(set.out)["status"], "executed");
  EXPECT_EQ(nlohmann::json::parse(set.out)["result"]["days"], 30);

  // Destruction of a communication by order: nothing happens before the second person.
  RunResult destroy = As("admin", {"destroy", "--data", d, "--comm", plain, "--order",
                                   "RC-2026-0077", "--reason", "court order"});
  ASSERT_EQ(destroy.exit_code, 0) << destroy.err;
  EXPECT_EQ(Read("L-PLAIN").exit_code, 0) << "one administrator alone destroys nothing";
  EXPECT_EQ(approve("admin", request_of(destroy)).exit_code, 1);
  RunResult rejected = As("admin-2", {"approval", "reject", "--data", d, "--request",
                                      request_of(destroy), "--reason", "wrong order number"});
  ASSERT_EQ(rejected.exit_code, 0) << rejected.err;
  EXPECT_EQ(approve("admin-2", request_of(destroy)).exit_code, 1) << "rejected is final";
  EXPECT_EQ(Read("L-PLAIN").exit_code, 0);
  RunResult again = As("admin", {"destroy", "--data", d, "--comm", plain, "--order",
                                 "RC-2026-0078", "--reason", "court order"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  RunResult destroyed = approve("admin-2", request_of(again));
  ASSERT_EQ(destroyed.exit_code, 0) << destroyed.err;
  EXPECT_EQ(nlohmann::json::parse(destroyed.out)["status"], "executed");
  EXPECT_EQ(Read("L-PLAIN").exit_code, 1) << "destroyed";
  EXPECT_EQ(Comms()["L-PLAIN"]["state"], "destroyed");
}

// One administrator alone cannot take the second person out of decisions: switching a
// four-eyes policy off waits for a second administrator; switching it on is at once.
TEST_F(Privileged, SwitchingFourEyesOffNeedsASecondPerson) {
  const std::string d = data_.string();
  auto policy = [&]() {
    RunResult r = RunTapvault({"privileged", "policy", "--data", d});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return nlohmann::json::parse(r.out);
  };
  EXPECT_EQ(policy()["confirm_four_eyes"], true);
  EXPECT_EQ(As("admin", {"privileged", "policy", "--data", d, "--confirm-four-eyes", "off"})
                .exit_code,
            2)
      << "a reason is required";
  EXPECT_EQ(As("j.jansen", {"privileged", "policy", "--data", d, "--confirm-four-eyes", "off",
                            "--reason", "x"})
                .exit_code,
            1)
      << "investigators change no configuration";
  RunResult asked = As("admin", {"privileged", "policy", "--data", d, "--confirm-four-eyes", "off",
                                 "--reason", "single prosecutor on duty this weekend"});
  ASSERT_EQ(asked.exit_code, 0) << asked.err;
  EXPECT_EQ(policy()["confirm_four_eyes"], true) << "nothing changes before the second person";
  // The request, then the policy as it still stands.
  const std::string req = std::to_string(
      nlohmann::json::parse(asked.out.substr(0, asked.out.find('\n')))["request"].get<uint64_t>());
  EXPECT_EQ(As("admin", {"approval", "approve", "--data", d, "--request", req}).exit_code, 1);
  RunResult approved = As("admin-2", {"approval", "approve", "--data", d, "--request", req});
  ASSERT_EQ(approved.exit_code, 0) << approved.err;
  EXPECT_EQ(policy()["confirm_four_eyes"], false);
  EXPECT_EQ(policy()["release_four_eyes"], true);
  RunResult on = As("admin", {"privileged", "policy", "--data", d, "--confirm-four-eyes", "on"});
  ASSERT_EQ(on.exit_code, 0) << on.err;
  EXPECT_EQ(policy()["confirm_four_eyes"], true);
}

// The list can be delivered before the first start: serve then makes its store beside it.
// A list import is recorded in the store's audit log, so it needs the store: in a directory
// without one it is refused and leaves nothing behind; `serve` still refuses anything else there.
TEST(PrivilegedFirstStart, AListImportNeedsTheStoreForItsAuditRecord) {
  fs::path work = TempPath("tv_priv_first_");
  fs::path data = work / "data";
  fs::create_directories(data);
  std::ofstream(work / "list.csv") << kList;
  RunResult imported = RunTapvault({"privileged", "import", "--data", data.string(),
                                    (work / "list.csv").string()});
  EXPECT_NE(imported.exit_code, 0);
  EXPECT_NE(imported.err.find("no store"), std::string::npos) << imported.err;
  EXPECT_TRUE(fs::is_empty(data));
  // Anything else in the directory is still refused.
  fs::path other = work / "other";
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "x";
  RunResult refused = RunTapvault({"serve", "--data", other.string(), "--hi2", "127.0.0.1:0"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("not empty"), std::string::npos) << refused.err;
  std::error_code ec;
  fs::remove_all(work, ec);
}

}  // namespace
