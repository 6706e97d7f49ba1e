#include "server/serve.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tapvault::server {
namespace {

TEST(ConfigTest, ParsesEveryKey) {
  ServeConfig c;
  ASSERT_TRUE(LoadConfigString(R"(
data = "/tmp/d"
hi2 = "0.0.0.0:6001"
hi3 = "[::1]:6002"
raw_capture = ""
metrics = "off"
threads = 4
idle_timeout_s = 30
max_connections = 5000
[tls]
cert = "c.pem"
key = "k.pem"
client_ca = "ca.pem"
allow = ["CN=med-1", "sha256:00"]
[ingest]
resync = false
max_pdu_bytes = 1048576
sequence_window = 64
[integrity]
enabled = false
pending_timeout_s = 5
buffer_bytes = 1000000
[integrity.signature_keys]
med-6001 = "/etc/med.pem"
[privileged]
region = "BE"
max_age_h = 24
review_after_s = 30
canary = "+31205550000"
canary_interval_s = 600
)", c).ok());
  EXPECT_EQ(c.data_dir, "/tmp/d");
  EXPECT_EQ(c.hi3, "[::1]:6002");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.tls_allow, (std::vector<std::string>{"CN=med-1", "sha256:00"}));
  EXPECT_FALSE(c.resync);
  EXPECT_EQ(c.sequence_window, 64);
  EXPECT_FALSE(c.integrity);
  EXPECT_EQ(c.signature_keys.at("med-6001"), "/etc/med.pem");
  EXPECT_EQ(c.privileged_region, "BE");
  EXPECT_EQ(c.privileged_max_age_h, 24);
  EXPECT_EQ(c.privileged_review_after_s, 30);
  EXPECT_EQ(c.canary, "+31205550000");
  EXPECT_EQ(c.canary_interval_s, 600);
  EXPECT_TRUE(Validate(c).ok());
}

TEST(ConfigTest, RawCaptureWithAStoreAndBadPrivilegedSettingsAreRefused) {
  ServeConfig c;
  c.data_dir = "/tmp/d";
  c.raw_capture_dir = "/tmp/raw";
  EXPECT_THAT(std::string(Validate(c).message()), ::testing::HasSubstr("raw_capture"));
  ServeConfig capture_only;
  capture_only.raw_capture_dir = "/tmp/raw";
  EXPECT_TRUE(Validate(capture_only).ok());
  ServeConfig canary;
  canary.canary = "020-5550000";
  EXPECT_THAT(std::string(Validate(canary).message()), ::testing::HasSubstr("privileged.canary"));
  ServeConfig age;
  age.privileged_max_age_h = 0;
  EXPECT_FALSE(Validate(age).ok());
  EXPECT_FALSE(LoadConfigString("[privileged]\nlist = \"x\"\n", age).ok());
}

TEST(ConfigTest, RejectsUnknownKeysWrongTypesAndPartialTls) {
  ServeConfig c;
  EXPECT_THAT(std::string(LoadConfigString("hi4 = \"x\"", c).message()), ::testing::HasSubstr("hi4"));
  EXPECT_FALSE(LoadConfigString("threads = \"many\"", c).ok());
  EXPECT_FALSE(LoadConfigString("threads = ", c).ok());
  ServeConfig t;
  t.tls_cert = "c.pem";
  EXPECT_FALSE(Validate(t).ok());
  ServeConfig p;
  p.hi2 = "localhost";
  EXPECT_FALSE(Validate(p).ok());
}

TEST(ConfigTest, ParseHostPort) {
  auto a = ParseHostPort("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  auto b = ParseHostPort("[::1]:443");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(ParseHostPort(":6001")->host, "0.0.0.0");
  EXPECT_FALSE(ParseHostPort("x:70000").ok());
  EXPECT_FALSE(ParseHostPort("x:").ok());
}

}  // namespace
}  // namespace tapvault::server
