// The API against a real store, user store, warrant store and audit log over real TLS: an
// explicit authorization table (every endpoint x role x communication), hostile HTTP, login and
// sessions, audit-before-answer, and the OpenAPI document against the registered routes.
#include "api/api_server.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "access/user_store.h"
#include "base/time.h"
#include "gate/store_audit.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "store/store.h"
#include "warrant/warrant_store.h"

namespace tapvault::api {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using store::CommState;

constexpr char kLawyer[] = "+31209999999";
constexpr char kPassword[] = "correct horse battery staple";
constexpr int64_t kDay = int64_t{86400} * 1'000'000;

class ListScreener : public store::Screener {
 public:
  store::DecisionRow Screen(const store::ScreenRequest& r) override {
    store::DecisionRow d;
    d.by = "filter";
    d.list_version = 1;
    if (r.parties.empty()) {
      d.state = CommState::kQuarantined;
      d.reason = "awaiting_parties";
      return d;
    }
    for (const auto& p : r.parties) {
      if (p.id == kLawyer) {
        d.state = CommState::kPrivileged;
        d.reason = "list_match";
        return d;
      }
    }
    d.state = CommState::kAvailable;
    d.reason = "no_match";
    return d;
  }
  uint64_t Generation() const override { return 1; }
};

// The principals of the table.
enum class Who { kInvA, kInvB, kProsA, kOper, kAdmin, kAud, kVendIn, kVendOut, kNone, kBad };
const char* WhoName(Who w) {
  switch (w) {
    case Who::kInvA: return "inv-a";
    case Who::kInvB: return "inv-b";
    case Who::kProsA: return "pros-a";
    case Who::kOper: return "oper";
    case Who::kAdmin: return "root";
    case Who::kAud: return "aud";
    case Who::kVendIn: return "vend-in";
    case Who::kVendOut: return "vend-out";
    case Who::kNone: return "(none)";
    case Who::kBad: return "(bad token)";
  }
  return "?";
}
const Who kAllWho[] = {Who::kInvA, Who::kInvB,   Who::kProsA,   Who::kOper, Who::kAdmin,
                       Who::kAud,  Who::kVendIn, Who::kVendOut, Who::kNone, Who::kBad};

// The communications of the table: team A in every state under a warrant in force, and one
// communication each under team B's warrant, under no warrant, under an expired warrant and
// under a warrant not yet in force (team A).
const char* const kCommNames[] = {"a_avail", "a_priv",  "a_quar", "a_flag",  "a_destr",
                                  "a_rel",   "b_avail", "x_avail", "old_avail", "fut_avail"};

struct World {
  std::string dir;
  std::string certs;
  ListScreener screener;
  std::unique_ptr<store::Store> st;
  std::unique_ptr<access::UserStore> users;
  std::unique_ptr<warrant::WarrantStore> warrants;
  std::unique_ptr<gate::StoreAudit> audit;
  metrics::Registry metrics;
  std::unique_ptr<ApiServer> server;
  std::map<std::string, uint64_t> ids;
  std::map<Who, std::string> tokens;
  std::atomic<int64_t> clock_offset_us{0};
  int64_t now = 0;
};
World* w = nullptr;

void Run(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

void MakeCerts(const std::string& d) {
  fs::create_directories(d);
  const std::string q = " >/dev/null 2>&1";
  Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
      "/key.pem -out " + d + "/cert.pem -days 2 -subj /CN=localhost" + q);
  Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
      "/ca.key -out " + d + "/ca.pem -days 2 -subj /CN=test-ca" + q);
  Run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
      "/client.key -out " + d + "/client.csr -subj /CN=aud" + q);
  Run("openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d +
      "/ca.key -CAcreateserial -out " + d + "/client.pem -days 2" + q);
}

std::string Fingerprint(const std::string& pem) {
  std::string cmd = "openssl x509 -in " + pem + " -noout -fingerprint -sha256";
  FILE* f = ::popen(cmd.c_str(), "r");
  char buf[256] = {0};
  std::string out = fgets(buf, sizeof buf, f) ? buf : "";
  ::pclose(f);
  const size_t eq = out.find('=');
  out = out.substr(eq + 1);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

void AddComms() {
  const std::vector<store::PartyRow> plain = {{"originating", "+31201111111", ""},
                                              {"terminating", "+31202222222", ""}};
  const std::vector<store::PartyRow> lawyer = {{"originating", "+31201111111", ""},
                                               {"terminating", kLawyer, ""}};
  struct Spec {
    const char* name;
    const char* liid;
    int64_t at_us;
    const std::vector<store::PartyRow>* parties;
  };
  const int64_t now = w->now;
  const Spec specs[] = {
      {"a_avail", "LIID-A", now - kDay, &plain},   {"a_priv", "LIID-A", now - kDay, &lawyer},
      {"a_quar", "LIID-A", now - kDay, nullptr},   {"a_flag", "LIID-A", now - kDay, &plain},
      {"a_destr", "LIID-A", now - kDay, &lawyer},  {"a_rel", "LIID-A", now - kDay, &lawyer},
      {"b_avail", "LIID-B", now - kDay, &plain},   {"x_avail", "LIID-X", now - kDay, &plain},
      {"old_avail", "LIID-OLD", now - 60 * kDay, &plain},
      {"fut_avail", "LIID-FUT", now + 15 * kDay, &plain}};
  uint32_t cin = 0;
  for (const Spec& s : specs) {
    ++cin;
    for (uint32_t seq = 0; seq < 3; ++seq) {
      store::AppendMeta m;
      m.received_us = s.at_us + seq;
      m.liid = s.liid;
      m.network_id = "op/ne";
      m.cin = cin;
      m.sequence_number = seq;
      m.parties = seq == 0 ? s.parties : nullptr;
      std::string pdu = "pdu of " + std::string(s.name) + " #" + std::to_string(seq);
      ASSERT_TRUE(w->st->Append(m, base::AsBytes(pdu)).ok());
    }
  }
  ASSERT_TRUE(w->st->Flush().ok());
  auto cat = store::SqliteCatalog::Open(store::CatalogPath(w->dir), false, true);
  ASSERT_TRUE(cat.ok());
  auto comms = (*cat)->ListComms({});
  ASSERT_TRUE(comms.ok());
  for (const auto& c : *comms) w->ids[specs[*c.cin - 1].name] = c.id;
  using Act = store::DecisionOrder::Act;
  ASSERT_TRUE(w->st->Decide({.act = Act::kFlag, .comm_id = w->ids["a_flag"], .reason = "x",
                             .by = "inspector"}).ok());
  for (const char* who : {"ovj", "ovj-2"}) {   // four eyes
    ASSERT_TRUE(w->st->Decide({.act = Act::kConfirm, .comm_id = w->ids["a_destr"],
                               .order_ref = "PV-1", .by = who}).ok());
  }
  for (const char* who : {"ovj-a", "ovj-b"}) {
    ASSERT_TRUE(w->st->Decide({.act = Act::kRelease, .comm_id = w->ids["a_rel"],
                               .order_ref = "R-1", .reason = "the lawyer is a suspect",
                               .by = who}).ok());
  }
}

void Grant(const std::string& user, const access::Grant& g) {
  auto id = w->users->RequestGrant(user, g, "root", w->now);
  ASSERT_TRUE(id.ok()) << id.status();
  auto done = w->users->ApproveGrant(*id, "admin2", w->now);
  ASSERT_TRUE(done.ok()) << done.status();
}

void AddUsers() {
  access::UserStoreOptions uo;
  uo.password_cost = access::PasswordCost::kMinForTest;
  uo.require_totp = false;
  auto users = access::UserStore::Open(w->dir, true, uo);
  ASSERT_TRUE(users.ok()) << users.status();
  w->users = std::move(*users);
  const int64_t now = w->now;
  ASSERT_TRUE(w->users->Bootstrap("root", kPassword, now).ok());
  ASSERT_TRUE(w->users->AddUser("admin2", "", kPassword, "root", now).ok());
  ASSERT_TRUE(w->users->AppointSecondAdministrator("admin2", "root", now).ok());
  using access::Role;
  struct U {
    Who who;
    std::vector<Role> roles;
    std::vector<std::string> teams;
  };
  const U us[] = {{Who::kInvA, {Role::kInvestigator}, {"team-a"}},
                  {Who::kInvB, {Role::kInvestigator}, {"team-b"}},
                  {Who::kProsA, {Role::kProsecutor}, {"team-a"}},
                  {Who::kOper, {Role::kOperator}, {}},
                  {Who::kAud, {Role::kAuditor}, {}},
                  {Who::kVendIn, {}, {}},
                  {Who::kVendOut, {}, {}}};
  for (const U& u : us) {
    ASSERT_TRUE(w->users->AddUser(WhoName(u.who), "", kPassword, "root", now).ok());
    for (Role r : u.roles) Grant(WhoName(u.who), access::Grant::OfRole(r));
    for (const auto& t : u.teams) Grant(WhoName(u.who), access::Grant::OfTeam(t));
  }
  for (auto [who, from, to] : {std::tuple{Who::kVendIn, now - kDay, now + kDay},
                               std::tuple{Who::kVendOut, now + kDay, now + 2 * kDay}}) {
    auto id = w->users->RequestVendorAccess(WhoName(who), from, to, "root", now);
    ASSERT_TRUE(id.ok()) << id.status();
    ASSERT_TRUE(w->users->ApproveGrant(*id, "admin2", now).ok());
  }
  for (Who who : {Who::kInvA, Who::kInvB, Who::kProsA, Who::kOper, Who::kAdmin, Who::kAud,
                  Who::kVendIn, Who::kVendOut}) {
    auto t = w->users->CreateToken(WhoName(who), "test", now + 10 * kDay, "root", now);
    ASSERT_TRUE(t.ok()) << t.status();
    w->tokens[who] = t->token;
  }
  w->tokens[Who::kBad] = "tvt_AAAAthisisnotavalidtokenAAAAAAAAAAAAAAAAAA";
}

void AddWarrants() {
  auto ws = warrant::WarrantStore::Open(w->dir, true);
  ASSERT_TRUE(ws.ok()) << ws.status();
  w->warrants = std::move(*ws);
  const int64_t now = w->now;
  struct Wt {
    const char* id;
    const char* liid;
    int64_t from, to;
    const char* team;
  };
  for (const Wt& x : {Wt{"W-A", "LIID-A", now - 10 * kDay, now + 10 * kDay, "team-a"},
                      Wt{"W-B", "LIID-B", now - 10 * kDay, now + 10 * kDay, "team-b"},
                      Wt{"W-OLD", "LIID-OLD", now - 100 * kDay, now - 50 * kDay, "team-a"},
                      Wt{"W-FUT", "LIID-FUT", now + 10 * kDay, now + 20 * kDay, "team-a"},
                      Wt{"W-END", "LIID-E", now - kDay, now + kDay, "team-e"}}) {
    warrant::WarrantSpec s{.id = x.id, .liid = x.liid, .targets = {"+31612345678"},
                           .valid_from_us = x.from, .valid_to_us = x.to, .team = x.team};
    auto r = w->warrants->Add(s, "root", now);
    ASSERT_TRUE(r.ok()) << r.status();
  }
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    w = new World();
    w->now = base::Now().unix_us;
    w->dir = (fs::temp_directory_path() / ("tapvault_api_" + std::to_string(::getpid()))).string();
    fs::remove_all(w->dir);
    w->certs = w->dir + "-certs";
    MakeCerts(w->certs);
    ASSERT_TRUE(store::InitStore({.dir = w->dir}).ok());
    store::StoreOptions o;
    o.dir = w->dir;
    o.screener = &w->screener;
    auto st = store::Store::Open(o);
    ASSERT_TRUE(st.ok()) << st.status();
    w->st = std::move(*st);
    AddComms();
    AddUsers();
    AddWarrants();
    auto audit = gate::StoreAudit::Open(w->dir, "");
    ASSERT_TRUE(audit.ok()) << audit.status();
    w->audit = std::move(*audit);
    ASSERT_TRUE(w->users->AddCertificate("aud", Fingerprint(w->certs + "/client.pem"), "root",
                                         w->now).ok());
    ApiOptions ao;
    ao.listen = "127.0.0.1:0";
    ao.cert_file = w->certs + "/cert.pem";
    ao.key_file = w->certs + "/key.pem";
    ao.client_ca_file = w->certs + "/ca.pem";
    ao.data_dir = w->dir;
    ao.users = w->users.get();
    warrant::WarrantStore* ws = w->warrants.get();
    ao.warrants = [ws] { return *ws->Snapshot(); };
    ao.screener = &w->screener;
    ao.audit = w->audit.get();
    ao.metrics = &w->metrics;
    ao.store = w->st.get();
    ao.io_timeout_ms = 700;
    ao.threads = 4;
    ao.scan_page = 4;  // several catalog pages per listing even with ten communications
    ao.clock = [] { return base::Now().unix_us + w->clock_offset_us.load(); };
    w->metrics.GetCounter("tapvault_test_total", "a test counter").Inc();
    auto srv = ApiServer::Start(ao);
    ASSERT_TRUE(srv.ok()) << srv.status();
    w->server = std::move(*srv);
  }
  static void TearDownTestSuite() {
    if (w == nullptr) return;
    if (w->server) w->server->Stop();
    w->server.reset();
    if (w->st) (void)w->st->Close();
    const std::string dir = w->dir, certs = w->certs;
    delete w;
    w = nullptr;
    fs::remove_all(dir);
    fs::remove_all(certs);
  }

  static std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", w->server->port());
    c->enable_server_certificate_verification(false);
    c->set_connection_timeout(5, 0);
    c->set_read_timeout(10, 0);
    return c;
  }
  static httplib::Headers Auth(Who who) {
    if (who == Who::kNone) return {};
    return {{"Authorization", "Bearer " + w->tokens.at(who)}};
  }
  static int Status(const httplib::Result& r) { return r ? r->status : -1; }

  // The audit log has an api_request entry of `actor` on `object` with `outcome`.
  static bool Audited(const std::string& actor, const std::string& object,
                      const std::string& outcome, const std::string& action = "api_request") {
    audit::Query q;
    q.actor = actor;
    q.object = object;
    q.actions = {action};
    q.outcome = outcome;
    q.limit = 0;
    auto r = w->audit->log().Query(q);
    return r.ok() && !r->empty();
  }
};

// ---- the authorization table ------------------------------------------------------------------

struct Row {
  const char* method;
  std::string path;     // with {c} for the communication id
  std::string body;
  std::vector<std::pair<Who, int>> expect;  // everyone not listed: `others`
  int others;
  const char* comm = nullptr;  // when the path names a communication
};

// Expected statuses per principal for an endpoint on one communication; written out by hand
// from the rules (warrant covering the communication's time, team, role window, state), not by
// calling the policy code.
struct CommExpect {
  const char* comm;
  int inv_a, inv_b, pros_a;
};

std::vector<Row> CommRows(const char* method, const std::string& suffix, const std::string& body,
                          const std::vector<CommExpect>& table) {
  std::vector<Row> rows;
  for (const CommExpect& e : table) {
    Row r{method, "/api/v1/comms/{c}" + suffix, body,
          {{Who::kInvA, e.inv_a}, {Who::kInvB, e.inv_b}, {Who::kProsA, e.pros_a},
           {Who::kNone, 401}, {Who::kBad, 401}},
          403, e.comm};
    rows.push_back(r);
  }
  return rows;
}

TEST_F(ApiTest, AuthorizationTable) {
  // Metadata: team A sees its communications in every state; nobody sees another team's or an
  // unassigned one; the investigator's window is the warrant's validity now, the prosecutor's
  // extends to valid_to + retention (default 180 days) and has no lower bound.
  const std::vector<CommExpect> metadata = {
      {"a_avail", 200, 404, 200}, {"a_priv", 200, 404, 200},   {"a_quar", 200, 404, 200},
      {"a_flag", 200, 404, 200},  {"a_destr", 200, 404, 200},  {"a_rel", 200, 404, 200},
      {"b_avail", 404, 200, 404}, {"x_avail", 404, 404, 404},  {"old_avail", 404, 404, 200},
      {"fut_avail", 404, 404, 200}};
  // Content: as metadata, and then the gate: only available (and released) is readable (403).
  const std::vector<CommExpect> content = {
      {"a_avail", 200, 404, 200}, {"a_priv", 403, 404, 403},   {"a_quar", 403, 404, 403},
      {"a_flag", 403, 404, 403},  {"a_destr", 403, 404, 403},  {"a_rel", 200, 404, 200},
      {"b_avail", 404, 200, 404}, {"x_avail", 404, 404, 404},  {"old_avail", 404, 404, 200},
      {"fut_avail", 404, 404, 200}};
  // WAV: the test PDUs carry no G.711, so a readable communication is 422.
  std::vector<CommExpect> wav = content;
  for (CommExpect& e : wav) {
    for (int* s : {&e.inv_a, &e.inv_b, &e.pros_a}) *s = *s == 200 ? 422 : *s;
  }
  // Flag on a privileged one (stays privileged: "already_privileged") and on unassigned ones.
  const std::vector<CommExpect> flag = {{"a_priv", 200, 404, 200}, {"x_avail", 404, 404, 404},
                                        {"old_avail", 404, 404, 200}};
  // Decisions on an available one: authorized prosecutors reach the store, which refuses (409:
  // only privileged communications are released or confirmed); investigators may not decide.
  const std::vector<CommExpect> decide = {{"a_avail", 403, 403, 409}, {"b_avail", 403, 403, 404},
                                          {"x_avail", 403, 403, 404}};

  std::vector<Row> rows;
  for (auto& r : CommRows("GET", "", "", metadata)) rows.push_back(r);
  for (auto& r : CommRows("GET", "/content", "", content)) rows.push_back(r);
  for (auto& r : CommRows("GET", "/content.pcap", "", content)) rows.push_back(r);
  for (auto& r : CommRows("GET", "/content.wav", "", wav)) rows.push_back(r);
  for (auto& r : CommRows("POST", "/flag", R"({"reason":"lawyer"})", flag)) rows.push_back(r);
  for (auto& r : CommRows("POST", "/decision", R"({"act":"release","order":"R-9","reason":"r"})",
                          decide)) {
    rows.push_back(r);
  }
  for (auto& r : CommRows("POST", "/decision", R"({"act":"confirm","order":"PV-9"})", decide)) {
    rows.push_back(r);
  }
  // Unknown id: 404 for those who may ask at all.
  rows.push_back({"GET", "/api/v1/comms/999999", "",
                  {{Who::kInvA, 404}, {Who::kInvB, 404}, {Who::kProsA, 404}, {Who::kNone, 401},
                   {Who::kBad, 401}}, 403});
  const std::vector<std::pair<Who, int>> anon = {{Who::kNone, 401}, {Who::kBad, 401}};
  auto with = [&](std::vector<std::pair<Who, int>> v) {
    v.insert(v.end(), anon.begin(), anon.end());
    return v;
  };
  rows.push_back({"GET", "/api/v1/health", "", {}, 200});
  rows.push_back({"GET", "/api/v1/metrics", "",
                  with({{Who::kOper, 200}, {Who::kAdmin, 200}, {Who::kAud, 200},
                        {Who::kVendIn, 200}}), 403});
  rows.push_back({"GET", "/api/v1/comms", "",
                  with({{Who::kInvA, 200}, {Who::kInvB, 200}, {Who::kProsA, 200}}), 403});
  rows.push_back({"GET", "/api/v1/comms?party=%2B31201111111", "",
                  with({{Who::kInvA, 200}, {Who::kInvB, 200}, {Who::kProsA, 200}}), 403});
  rows.push_back({"GET", "/api/v1/warrants", "",
                  with({{Who::kInvA, 200}, {Who::kInvB, 200}, {Who::kProsA, 200},
                        {Who::kAdmin, 200}}), 403});
  rows.push_back({"GET", "/api/v1/warrants/W-B", "",
                  with({{Who::kInvA, 404}, {Who::kInvB, 200}, {Who::kProsA, 404},
                        {Who::kAdmin, 200}}), 403});
  rows.push_back({"GET", "/api/v1/warrants/W-NONE", "",
                  with({{Who::kInvA, 404}, {Who::kInvB, 404}, {Who::kProsA, 404},
                        {Who::kAdmin, 404}}), 403});
  const std::string later = base::FormatRfc3339({w->now + 30 * kDay});
  rows.push_back({"POST", "/api/v1/warrants/W-B/extend",
                  R"({"valid_to":")" + later + R"(","reference":"RC-2"})",
                  with({{Who::kAdmin, 200}}), 403});
  rows.push_back({"POST", "/api/v1/warrants/W-END/end", R"({"reason":"stopped"})",
                  with({{Who::kAdmin, 200}}), 403});
  rows.push_back({"POST", "/api/v1/warrants",
                  R"({"id":"W-NEW","liid":"LIID-N","targets":["+31600000000"],"team":"team-n",)"
                  R"("valid_from":")" + base::FormatRfc3339({w->now}) + R"(","valid_to":")" +
                      later + R"("})",
                  with({{Who::kAdmin, 201}}), 403});
  rows.push_back({"GET", "/api/v1/privileged/versions", "",
                  with({{Who::kAdmin, 200}, {Who::kAud, 200}}), 403});
  rows.push_back({"GET", "/api/v1/audit?limit=5", "", with({{Who::kAud, 200}}), 403});
  rows.push_back({"GET", "/api/v1/audit/checkpoint", "", with({{Who::kAud, 200}}), 403});

  auto c = Client();
  size_t checked = 0;
  for (const Row& row : rows) {
    std::string path = row.path;
    std::string object;
    if (row.comm != nullptr) {
      const uint64_t id = w->ids.at(row.comm);
      path.replace(path.find("{c}"), 3, std::to_string(id));
      object = "comm:" + std::to_string(id);
    }
    for (Who who : kAllWho) {
      int want = row.others;
      for (const auto& [x, s] : row.expect) {
        if (x == who) want = s;
      }
      httplib::Result r = std::string(row.method) == "GET"
                              ? c->Get(path.c_str(), Auth(who))
                              : c->Post(path.c_str(), Auth(who), row.body, "application/json");
      ASSERT_TRUE(r) << row.method << " " << path << " as " << WhoName(who);
      EXPECT_EQ(r->status, want) << row.method << " " << path << " as " << WhoName(who)
                                 << (row.comm ? std::string(" comm ") + row.comm : "") << ": "
                                 << r->body;
      if (r->status >= 400) {
        auto j = json::parse(r->body, nullptr, false);
        EXPECT_TRUE(j.is_object() && j.contains("error") && j["status"] == r->status)
            << path << ": " << r->body;
      }
      // Every authenticated request was recorded, allowed ones as "ok", before the answer (the
      // answer is produced only after Record returned; here: the entry exists).
      if (who != Who::kNone && who != Who::kBad && !object.empty()) {
        // 403 from the gate (visible, not readable): admitted by the API, refused by the gate.
        const bool content = row.path.find("/content") != std::string::npos;
        const bool gate_refused = content && r->status == 403 &&
                                  (who == Who::kInvA || who == Who::kInvB || who == Who::kProsA);
        const bool ok = r->status == 200 || r->status == 409 || r->status == 422 || gate_refused;
        EXPECT_TRUE(Audited(WhoName(who), object, ok ? "ok" : "refused"))
            << path << " as " << WhoName(who);
        if (ok && content) {
          EXPECT_TRUE(Audited(WhoName(who), object, gate_refused ? "refused" : "ok",
                              gate_refused ? "read_refused" : "read_content"))
              << path << " as " << WhoName(who);
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 500u);
}

TEST_F(ApiTest, ListingsShowExactlyTheVisibleCommunicationsAcrossPages) {
  auto c = Client();
  const std::map<Who, std::set<std::string>> want = {
      {Who::kInvA, {"a_avail", "a_priv", "a_quar", "a_flag", "a_destr", "a_rel"}},
      {Who::kInvB, {"b_avail"}},
      {Who::kProsA,
       {"a_avail", "a_priv", "a_quar", "a_flag", "a_destr", "a_rel", "old_avail", "fut_avail"}}};
  for (const auto& [who, names] : want) {
    std::set<uint64_t> expected;
    for (const auto& n : names) expected.insert(w->ids.at(n));
    std::set<uint64_t> got;
    std::string after;
    int pages = 0;
    for (;; ++pages) {
      ASSERT_LT(pages, 50);
      std::string path = "/api/v1/comms?limit=2" + (after.empty() ? "" : "&after=" + after);
      auto r = c->Get(path.c_str(), Auth(who));
      ASSERT_EQ(Status(r), 200) << r->body;
      json j = json::parse(r->body);
      ASSERT_LE(j["items"].size(), 2u);
      for (const json& item : j["items"]) {
        EXPECT_TRUE(got.insert(item["id"].get<uint64_t>()).second) << "listed twice";
        // Parties only for readable ones (the lawyer's number never).
        if (!item["readable"].get<bool>()) {
          EXPECT_TRUE(item["parties"].empty());
        }
        if (item["id"] != w->ids["a_rel"]) {  // released: readable although a lawyer takes part
          for (const json& p : item["parties"]) EXPECT_NE(p["id"], kLawyer);
        }
      }
      if (j["next_after"].is_null()) break;
      after = std::to_string(j["next_after"].get<uint64_t>());
    }
    EXPECT_EQ(got, expected) << WhoName(who);
    if (who == Who::kInvA) {
      EXPECT_GE(pages, 3);  // six items, two per page
    }
  }
  // Filters are typed values, never SQL: an injection attempt is a literal LIID.
  auto r = c->Get("/api/v1/comms?liid=%27%20OR%201%3D1%20--", Auth(Who::kInvA));
  ASSERT_EQ(Status(r), 200);
  json j = json::parse(r->body);
  EXPECT_TRUE(j["items"].empty());
  EXPECT_TRUE(j["next_after"].is_null());
  r = c->Get("/api/v1/comms?liid=LIID-A&state=privileged", Auth(Who::kInvA));
  ASSERT_EQ(Status(r), 200);
  j = json::parse(r->body);
  std::set<uint64_t> priv;
  for (const json& item : j["items"]) priv.insert(item["id"].get<uint64_t>());
  EXPECT_EQ(priv, (std::set<uint64_t>{w->ids["a_priv"], w->ids["a_flag"]}));
}

TEST_F(ApiTest, ContentAndTimeline) {
  auto c = Client();
  const std::string id = std::to_string(w->ids["a_avail"]);
  auto r = c->Get(("/api/v1/comms/" + id + "/content").c_str(), Auth(Who::kInvA));
  ASSERT_EQ(Status(r), 200);
  EXPECT_EQ(r->body, "pdu of a_avail #0pdu of a_avail #1pdu of a_avail #2");
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/octet-stream");
  r = c->Get(("/api/v1/comms/" + id).c_str(), Auth(Who::kInvA));
  ASSERT_EQ(Status(r), 200);
  json j = json::parse(r->body);
  EXPECT_EQ(j["liid"], "LIID-A");
  EXPECT_EQ(j["warrant"], "W-A");
  EXPECT_TRUE(j["readable"].get<bool>());
  EXPECT_TRUE(j["iri"].is_array());  // the test PDUs are not BER: an empty timeline
  EXPECT_EQ(j["parties"].size(), 2u);
  r = c->Get(("/api/v1/comms/" + id + "/content.pcap").c_str(), Auth(Who::kInvA));
  ASSERT_EQ(Status(r), 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/vnd.tcpdump.pcap");
  ASSERT_GE(r->body.size(), 24u);
}

TEST_F(ApiTest, AuditFailureMeansNoAnswer) {
  auto c = Client();
  w->audit->log().SetFaultHookForTest(
      [](std::string_view) { return absl::UnavailableError("disk gone"); });
  const std::string id = std::to_string(w->ids["a_avail"]);
  auto r = c->Get(("/api/v1/comms/" + id + "/content").c_str(), Auth(Who::kInvA));
  const int status = Status(r);
  const std::string body = r ? r->body : "";
  auto login = c->Post("/api/v1/login", R"({"user":"inv-a","password":"correct horse battery staple"})",
                       "application/json");
  auto metrics = c->Get("/api/v1/metrics", Auth(Who::kOper));
  w->audit->log().SetFaultHookForTest(nullptr);
  EXPECT_EQ(status, 503);
  EXPECT_EQ(body.find("pdu of"), std::string::npos);
  EXPECT_EQ(Status(login), 503);
  EXPECT_EQ(login->body.find("token"), std::string::npos);
  EXPECT_EQ(Status(metrics), 503);
  EXPECT_EQ(metrics->body.find("tapvault_test_total"), std::string::npos);
  // And it recovers once the log can be written again.
  EXPECT_EQ(Status(c->Get("/api/v1/metrics", Auth(Who::kOper))), 200);
}

TEST_F(ApiTest, LoginSessionsAndLogout) {
  auto c = Client();
  auto r = c->Post("/api/v1/login", R"({"user":"inv-a","password":"wrong password!!"})",
                   "application/json");
  ASSERT_EQ(Status(r), 401);
  EXPECT_TRUE(Audited("inv-a", "api", "refused", "login_failed"));
  // The password never reaches the log.
  {
    audit::Query q;
    q.contains = "wrong password";
    q.limit = 0;
    auto e = w->audit->log().Query(q);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(e->empty());
  }
  r = c->Post("/api/v1/login", R"({"user":"inv-a","password":"correct horse battery staple"})",
              "application/json");
  ASSERT_EQ(Status(r), 200) << r->body;
  EXPECT_TRUE(Audited("inv-a", "api", "ok", "login"));
  const std::string token = json::parse(r->body)["token"];
  ASSERT_EQ(token.size(), 64u);
  const httplib::Headers h = {{"Authorization", "Bearer " + token}};
  EXPECT_EQ(Status(c->Get("/api/v1/comms", h)), 200);
  // Idle timeout (30 min): 29 min later still fine (and that refreshes it) ...
  w->clock_offset_us = int64_t{29} * 60 * 1'000'000;
  EXPECT_EQ(Status(c->Get("/api/v1/comms", h)), 200);
  // ... 29 + 31 min: idle too long.
  w->clock_offset_us = int64_t{60} * 60 * 1'000'000;
  EXPECT_EQ(Status(c->Get("/api/v1/comms", h)), 401);
  w->clock_offset_us = 0;
  EXPECT_EQ(Status(c->Get("/api/v1/comms", h)), 401);  // gone for good

  // Absolute limit (8 h) even when used all the time.
  r = c->Post("/api/v1/login", R"({"user":"inv-a","password":"correct horse battery staple"})",
              "application/json");
  ASSERT_EQ(Status(r), 200);
  const httplib::Headers h2 = {{"Authorization", "Bearer " + json::parse(r->body)["token"].get<std::string>()}};
  for (int m = 25; m < 8 * 60; m += 25) {
    w->clock_offset_us = int64_t{m} * 60 * 1'000'000;
    ASSERT_EQ(Status(c->Get("/api/v1/metrics", h2)), 403) << m;  // authenticated, not allowed
  }
  w->clock_offset_us = int64_t{8} * 3600 * 1'000'000 + 1;
  EXPECT_EQ(Status(c->Get("/api/v1/metrics", h2)), 401);
  w->clock_offset_us = 0;

  // Logout ends the session.
  r = c->Post("/api/v1/login", R"({"user":"inv-a","password":"correct horse battery staple"})",
              "application/json");
  const httplib::Headers h3 = {{"Authorization", "Bearer " + json::parse(r->body)["token"].get<std::string>()}};
  EXPECT_EQ(Status(c->Post("/api/v1/logout", h3, "", "application/json")), 200);
  EXPECT_EQ(Status(c->Get("/api/v1/comms", h3)), 401);
  // Bad bodies.
  EXPECT_EQ(Status(c->Post("/api/v1/login", "{not json", "application/json")), 400);
  EXPECT_EQ(Status(c->Post("/api/v1/login", R"({"user":"inv-a","password":"x","extra":1})",
                           "application/json")), 400);
  EXPECT_EQ(Status(c->Post("/api/v1/login", R"({"user":1,"password":"x"})", "application/json")),
            400);
}

TEST_F(ApiTest, ClientCertificate) {
  httplib::SSLClient c("127.0.0.1", w->server->port(), w->certs + "/client.pem",
                       w->certs + "/client.key");
  c.enable_server_certificate_verification(false);
  auto r = c.Get("/api/v1/audit/checkpoint");
  ASSERT_EQ(Status(r), 200) << (r ? r->body : "");
  EXPECT_NE(json::parse(r->body)["checkpoint"].get<std::string>().find("audit"), std::string::npos);
  // Without a certificate and without a token: 401.
  EXPECT_EQ(Status(Client()->Get("/api/v1/audit/checkpoint")), 401);
}

TEST_F(ApiTest, HostileHttp) {
  auto c = Client();
  const httplib::Headers a = Auth(Who::kInvA);
  // Oversized header.
  httplib::Headers big = a;
  big.emplace("X-Big", std::string(9000, 'a'));
  auto r = c->Get("/api/v1/comms", big);
  ASSERT_TRUE(r);  // httplib 0.11.4 answers 400 (CPPHTTPLIB_HEADER_MAX_LENGTH 8192)
  EXPECT_GE(r->status, 400);
  EXPECT_LT(r->status, 500);
  // Body over 1 MiB.
  r = c->Post("/api/v1/login", std::string((1 << 20) + 10, '{'), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // Malformed JSON, wrong types.
  const std::string id = std::to_string(w->ids["a_priv"]);
  EXPECT_EQ(Status(c->Post(("/api/v1/comms/" + id + "/flag").c_str(), a, "{\"reason\":",
                           "application/json")), 400);
  EXPECT_EQ(Status(c->Post(("/api/v1/comms/" + id + "/flag").c_str(), a, "[1,2]",
                           "application/json")), 400);
  // Path traversal and bad ids.
  for (const char* p : {"/api/v1/comms/..%2F..%2Fetc", "/api/v1/comms/../../etc/passwd",
                        "/api/v1/comms/1%2F..%2F2", "/api/v1/comms/-1", "/api/v1/comms/1e3",
                        "/api/v1/comms/99999999999999999999999", "/api/v1/warrants/..",
                        "/api/v1/warrants/W%27%20OR%201"}) {
    const int s = Status(c->Get(p, a));
    EXPECT_TRUE(s == 400 || s == 404) << p << " -> " << s;
  }
  // Unknown and repeated query parameters; bad values.
  EXPECT_EQ(Status(c->Get("/api/v1/comms?liid=A&bogus=1", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?liid=A&liid=B", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?limit=1001", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?limit=0", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?after=x", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?from=yesterday", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?state=gone", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/health?x=1")), 400);
  // Bytes that are not UTF-8 or are control characters (the audit log could not record them).
  EXPECT_EQ(Status(c->Get("/api/v1/comms?liid=%FF%FE", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?liid=a%01b", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?liid=a%00b", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?party=%C3%28", a)), 400);
  EXPECT_EQ(Status(c->Get("/api/v1/comms?party=%C3%A9", a)), 200);  // é is fine
  EXPECT_EQ(Status(c->Post("/api/v1/warrants", Auth(Who::kAdmin),
                           "{\"id\":\"W\\u0001\",\"liid\":\"L\",\"targets\":[\"x\"],"
                           "\"team\":\"t\",\"valid_from\":\"2026-01-01T00:00:00Z\","
                           "\"valid_to\":\"2027-01-01T00:00:00Z\"}",
                           "application/json")), 400);
  // Wrong method, unknown path, compressed body.
  EXPECT_EQ(Status(c->Delete("/api/v1/comms", a)), 405);
  EXPECT_EQ(Status(c->Get("/api/v1/nothing", a)), 404);
  httplib::Headers gz = a;
  gz.emplace("Content-Encoding", "gzip");
  EXPECT_EQ(Status(c->Post("/api/v1/login", gz, "xx", "application/json")), 415);
  // Authorization header that is not Bearer.
  EXPECT_EQ(Status(c->Get("/api/v1/comms", {{"Authorization", "Basic aW52LWE6eA=="}})), 401);
  // Still serving.
  EXPECT_EQ(Status(c->Get("/api/v1/health")), 200);
}

int Connect() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(w->server->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

TEST_F(ApiTest, SlowAndGarbageClientsAreCutAndOthersServed) {
  // Garbage instead of a TLS ClientHello: the server closes the connection.
  {
    int fd = Connect();
    ASSERT_GE(fd, 0);
    const char junk[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_GT(::send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL), 0);
    char buf[512];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
    }
    EXPECT_LE(n, 0);
    ::close(fd);
  }
  EXPECT_EQ(Status(Client()->Get("/api/v1/health")), 200);
  // A TLS client that sends half a request and waits: cut after the read timeout (0.7 s here),
  // while others are served meanwhile.
  {
    int fd = Connect();
    ASSERT_GE(fd, 0);
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    ASSERT_EQ(SSL_connect(ssl), 1);
    const std::string half = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n";
    ASSERT_GT(SSL_write(ssl, half.data(), static_cast<int>(half.size())), 0);
    EXPECT_EQ(Status(Client()->Get("/api/v1/health")), 200);
    const auto start = std::chrono::steady_clock::now();
    // httplib answers a request whose headers never complete with 400, then closes.
    char buf[512];
    std::string got;
    int n;
    for (int i = 0; i < 10 && (n = SSL_read(ssl, buf, sizeof buf)) > 0; ++i) got.append(buf, n);
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_LE(n, 0) << "still open after " << got;
    if (!got.empty()) {
      EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
    }
    EXPECT_LT(waited, std::chrono::seconds(4));
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }
  // A TLS 1.2 client is refused (TLS 1.3 only).
  {
    int fd = Connect();
    ASSERT_GE(fd, 0);
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    EXPECT_NE(SSL_connect(ssl), 1);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ::close(fd);
  }
  EXPECT_EQ(Status(Client()->Get("/api/v1/health")), 200);
}

// Many communications, most of them invisible: each request reads at most
// scan_page * max_scan_pages (4 * 20 here) catalog rows, and following next_after finds every
// visible one exactly once. (The product default reads 1000 * 20.)
TEST_F(ApiTest, ManyCommunicationsArePagedWithBoundedWork) {
  const int kHidden = 1500, kVisible = 200;
  for (int i = 0; i < kHidden + kVisible; ++i) {
    const std::vector<store::PartyRow> parties = {{"originating", "+3120555" + std::to_string(i), ""}};
    store::AppendMeta m;
    const bool visible = i >= kHidden;  // after a long run of invisible ones
    m.received_us = w->now - kDay + 1000 + i;
    m.liid = visible ? "LIID-A" : "LIID-X";
    m.network_id = "op/ne";
    m.cin = 100000 + i;
    m.parties = &parties;
    std::string pdu = "bulk";
    ASSERT_TRUE(w->st->Append(m, base::AsBytes(pdu)).ok());
  }
  ASSERT_TRUE(w->st->Flush().ok());
  auto c = Client();
  std::set<uint64_t> got;
  std::string after;
  int requests = 0, empty_pages_with_more = 0;
  for (;;) {
    ASSERT_LT(requests, 200);
    ++requests;
    const std::string path = "/api/v1/comms?limit=1000" + (after.empty() ? "" : "&after=" + after);
    auto r = c->Get(path.c_str(), Auth(Who::kInvA));
    ASSERT_EQ(Status(r), 200);
    json j = json::parse(r->body);
    ASSERT_LE(j["items"].size(), 80u);
    for (const json& item : j["items"]) {
      EXPECT_TRUE(got.insert(item["id"].get<uint64_t>()).second);
      EXPECT_EQ(item["liid"], "LIID-A");
    }
    if (j["next_after"].is_null()) break;
    if (j["items"].empty()) ++empty_pages_with_more;
    after = std::to_string(j["next_after"].get<uint64_t>());
  }
  EXPECT_EQ(got.size(), 6u + kVisible);
  EXPECT_GE(requests, (kHidden + kVisible) / 80);
  EXPECT_GT(empty_pages_with_more, 0);
}

// ---- OpenAPI ----------------------------------------------------------------------------------

TEST(ApiOpenApiTest, DocumentMatchesRegisteredRoutes) {
  std::ifstream in(TAPVAULT_OPENAPI_JSON);
  ASSERT_TRUE(in.good()) << TAPVAULT_OPENAPI_JSON;
  json doc = json::parse(in, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  ASSERT_TRUE(doc["components"]["securitySchemes"].contains("bearer"));
  std::map<std::pair<std::string, std::string>, std::set<std::string>> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      std::string m = method;
      for (char& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      std::set<std::string> query;
      for (const json& p : op.value("parameters", json::array())) {
        if (p["in"] == "query") query.insert(p["name"].get<std::string>());
        if (p["in"] == "path") {
          EXPECT_NE(path.find("{" + p["name"].get<std::string>() + "}"), std::string::npos);
        }
      }
      EXPECT_TRUE(op.contains("responses")) << m << " " << path;
      documented[{m, path}] = query;
    }
  }
  std::map<std::pair<std::string, std::string>, std::set<std::string>> registered;
  for (const Route& r : ApiServer::Routes()) {
    registered[{r.method, r.path}] = std::set<std::string>(r.query.begin(), r.query.end());
  }
  EXPECT_EQ(documented, registered);
}

}  // namespace
}  // namespace tapvault::api
