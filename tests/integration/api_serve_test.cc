// `tapvault serve` with its HTTPS API ([api]): TLS 1.3 only, health without login, a token from
// `tapvault user token create` reads within its team, the warrant decides, and the request is in
// the audit log.
#define CPPHTTPLIB_OPENSSL_SUPPORT
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "base/time.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "nlohmann/json.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tapvault::itest;

TEST(ApiServe, LoginScopeAndAuditThroughTheServer) {
  fs::path work = TempPath("tv_api_");
  fs::path data = work / "data";
  fs::create_directories(work);
  ASSERT_EQ(RunTapvault({"init", "--data", data.string()}).exit_code, 0);
  const std::string crt = (work / "api.crt").string(), key = (work / "api.key").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
                         "-days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout '" +
                         key + "' -out '" + crt + "' 2>/dev/null")
                            .c_str()),
            0);
  People people;
  ASSERT_EQ(people.Setup(data.string(), {{"inv", {"investigator"}, {"team-a"}},
                                         {"auditor", {"auditor"}, {}}}),
            "");
  const std::string token = people.Token("inv");

  std::ofstream(work / "tapvault.toml") << "[api]\nlisten = \"127.0.0.1:0\"\ncert = \"" << crt
                                        << "\"\nkey = \"" << key << "\"\n";
  ServeProcess serve({"--config", (work / "tapvault.toml").string(), "--data", data.string(),
                      "--hi2", "127.0.0.1:0", "--hi3", "127.0.0.1:0", "--metrics", "off"});
  nlohmann::json ready = serve.WaitReady();
  ASSERT_TRUE(ready.is_object() && ready.contains("api")) << serve.Stderr();
  const std::string api = ready["api"];
  const int port = std::stoi(api.substr(api.rfind(':') + 1));
  httplib::SSLClient c("127.0.0.1", port);
  c.set_ca_cert_path(crt.c_str());
  c.enable_server_certificate_verification(true);

  auto health = c.Get("/api/v1/health");
  ASSERT_TRUE(health) << httplib::to_string(health.error());
  EXPECT_EQ(health->status, 200);
  auto anonymous = c.Get("/api/v1/comms");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  auto list = c.Get("/api/v1/comms", auth);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200) << list->body;
  EXPECT_TRUE(nlohmann::json::parse(list->body)["items"].empty());
  auto metrics = c.Get("/api/v1/metrics", auth);
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 403) << "investigators do not read the metrics";

  // A warrant added through the CLI: the API's scope follows within a second or so.
  const int64_t now = tapvault::base::Now().unix_us;
  ASSERT_EQ(people.As("admin", {"warrant", "add", "--data", data.string(), "--id", "W-1", "--liid",
                                "L-1", "--target", "+31612345678", "--from",
                                tapvault::base::FormatRfc3339({now - 86400LL * 1000000}), "--to",
                                tapvault::base::FormatRfc3339({now + 86400LL * 1000000}), "--team",
                                "team-a"})
                .exit_code,
            0);
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto w = c.Get("/api/v1/warrants", auth);
        return w && w->status == 200 && nlohmann::json::parse(w->body).dump().find("W-1") !=
                                            std::string::npos;
      },
      5000));
  EXPECT_EQ(serve.Terminate(), 0);

  // Every authenticated request is in the audit log, with who asked.
  RunResult q = people.As("auditor", {"audit", "query", "--data", data.string(), "--actor", "inv",
                                      "--format", "jsonl"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("api_request"), std::string::npos) << q.out;
  EXPECT_EQ(RunTapvault({"audit", "verify", "--data", data.string()}).exit_code, 0);
  std::error_code ec;
  fs::remove_all(work, ec);
}

}  // namespace
