#include "warrant/ts103120.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/strings.h"
#include "base/time.h"
#include "warrant/warrant_store.h"

namespace tapvault::warrant {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

int64_t T(std::string_view rfc3339) { return base::ParseRfc3339(rfc3339)->unix_us; }

std::string Fixture(const std::string& name) {
  std::ifstream in(fs::path(WARRANT_TESTDATA) / name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const ImportOptions kOptions{.team = "team-a", .by = "alice", .now_us = 1'772'352'000'000'000};

TEST(Ts103120Test, ValidCreateMapsOneAuthorisationWithItsTask) {
  auto specs = ParseHi1Message(Fixture("create_valid.xml"), kOptions);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 1u);
  const WarrantSpec& s = (*specs)[0];
  EXPECT_EQ(s.id, "7dbbc880-8750-4d3c-abe7-ea4a17646045");
  EXPECT_EQ(s.liid, "NLOM0042");
  EXPECT_THAT(s.targets, ElementsAre("+31612345678", "sip:+31612345678@ims.example.nl"));
  EXPECT_EQ(s.legal_basis, "Sv 126m");
  EXPECT_EQ(s.prosecutor, "mr. A. de Vries");
  EXPECT_EQ(s.prosecutor_reference, "OM-2026-331");
  EXPECT_EQ(s.authority, "mr. B. Jansen");
  EXPECT_EQ(s.authority_reference, "RC-2026-0012-M");
  EXPECT_EQ(s.issued_us, T("2026-02-28T14:30:00Z"));  // 15:30+01:00
  EXPECT_EQ(s.valid_from_us, T("2026-03-01T00:00:00Z"));
  EXPECT_EQ(s.valid_to_us, T("2026-03-29T00:00:00Z"));
  EXPECT_EQ(s.team, "team-a");
  EXPECT_EQ(s.source, "ts103120");
  EXPECT_EQ(s.generation, 1u);
}

TEST(Ts103120Test, UpdateWithoutTaskYieldsTheNewEnd) {
  auto specs = ParseHi1Message(Fixture("update_extend.xml"), kOptions);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 1u);
  EXPECT_EQ((*specs)[0].liid, "");
  EXPECT_TRUE((*specs)[0].targets.empty());
  EXPECT_EQ((*specs)[0].valid_to_us, T("2026-04-26T00:00:00Z"));
  EXPECT_EQ((*specs)[0].authority_reference, "RC-2026-0012-V1");
  EXPECT_EQ((*specs)[0].generation, 2u);
}

struct BadCase {
  const char* file;
  const char* message;  // part of the error
};

TEST(Ts103120Test, InvalidFixturesAreRefusedWithTheLine) {
  const BadCase cases[] = {
      {"wrong_namespace.xml", "line 6: "},
      {"wrong_namespace.xml", "No matching global declaration"},
      {"missing_object_identifier.xml", "line 25: "},
      {"missing_object_identifier.xml", "ObjectIdentifier"},
      {"bad_datetime.xml", "line 37: "},
      {"bad_datetime.xml", "EndTime"},
      {"xxe_entity.xml", "line 2: a DOCTYPE is not allowed"},
      {"doctype.xml", "line 2: a DOCTYPE is not allowed"},
      {"task_without_authorisation.xml", "is associated with no AuthorisationObject"},
  };
  for (const BadCase& c : cases) {
    auto r = ParseHi1Message(Fixture(c.file), kOptions);
    ASSERT_FALSE(r.ok()) << c.file;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.file;
    EXPECT_THAT(std::string(base::View(r.status().message())), HasSubstr(c.message)) << c.file;
    EXPECT_THAT(std::string(base::View(r.status().message())), Not(HasSubstr("root:")))
        << "no file content leaks into the message: " << c.file;
  }
}

TEST(Ts103120Test, EntitiesAreNeverExpandedEvenWithoutTheDoctypeGuard) {
  // The DOCTYPE check is textual; a DOCTYPE written with other case is not XML at all.
  std::string xml = Fixture("xxe_entity.xml");
  xml.replace(xml.find("<!DOCTYPE"), 9, "<!doctype");
  auto r = ParseHi1Message(xml, kOptions);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(base::View(r.status().message())), HasSubstr("not well-formed"));
}

TEST(Ts103120Test, HugeInputIsRefusedBeforeParsing) {
  std::string xml = Fixture("create_valid.xml");
  std::string huge = xml;
  huge.insert(huge.find("<Header>"), std::string(kMaxHi1MessageBytes, ' '));
  auto r = ParseHi1Message(huge, kOptions);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  ImportOptions small = kOptions;
  small.max_bytes = 100;
  EXPECT_EQ(ParseHi1Message(xml, small).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(Ts103120Test, EveryTruncationFailsCleanly) {
  std::string xml = Fixture("create_valid.xml");
  for (size_t n = 0; n < xml.size(); n += 7) {
    auto r = ParseHi1Message(std::string_view(xml).substr(0, n), kOptions);
    EXPECT_FALSE(r.ok()) << n;
  }
}

TEST(Ts103120Test, TerminationTimestampEndsTheValidityEarly) {
  std::string xml = Fixture("create_valid.xml");
  xml.insert(xml.find("              <auth:AuthorisationApprovalDetails>"),
             "              <auth:AuthorisationTerminationTimestamp>2026-03-10T12:00:00Z"
             "</auth:AuthorisationTerminationTimestamp>\n");
  auto specs = ParseHi1Message(xml, kOptions);
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ((*specs)[0].valid_to_us, T("2026-03-10T12:00:00Z"));
}

// An authorisation whose timespan leaves its start or end open takes them from its task's
// Timespan (the task's TerminationTime ends it early); with neither it is refused.
TEST(Ts103120Test, TheTasksTimespanFillsWhatTheAuthorisationLeavesOpen) {
  std::string xml = Fixture("create_valid.xml");
  const std::string end = "                <auth:EndTime>2026-03-29T00:00:00Z</auth:EndTime>\n";
  ASSERT_NE(xml.find(end), std::string::npos);
  xml.erase(xml.find(end), end.size());
  auto missing = ParseHi1Message(xml, kOptions);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("a StartTime and an EndTime are required"));

  xml.insert(xml.find("              <task:TargetIdentifier>"),
             "              <task:Timespan>\n"
             "                <task:StartTime>2026-02-01T00:00:00Z</task:StartTime>\n"
             "                <task:EndTime>2026-04-01T00:00:00Z</task:EndTime>\n"
             "                <task:TerminationTime>2026-03-20T00:00:00Z</task:TerminationTime>\n"
             "              </task:Timespan>\n");
  auto specs = ParseHi1Message(xml, kOptions);
  ASSERT_TRUE(specs.ok()) << specs.status();
  EXPECT_EQ((*specs)[0].valid_from_us, T("2026-03-01T00:00:00Z")) << "the authorisation's own start";
  EXPECT_EQ((*specs)[0].valid_to_us, T("2026-03-20T00:00:00Z")) << "the task's termination";
}

TEST(Ts103120Test, TeamIsRequired) {
  EXPECT_EQ(ParseHi1Message(Fixture("create_valid.xml"), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The layout of the standard's own examples: Version members in the Core namespace, the
// warrant's DocumentObject and a GET next to the authorisation and its task. The other objects and
// actions travel along and are not imported.
TEST(Ts103120Test, OtherActionsAndObjectsTravelAlongUnimported) {
  auto specs = ParseHi1Message(Fixture("etsi_layout_with_document.xml"), kOptions);
  ASSERT_TRUE(specs.ok()) << specs.status();
  ASSERT_EQ(specs->size(), 1u);
  EXPECT_EQ((*specs)[0].id, "7dbbc880-8750-4d3c-abe7-ea4a17646045");
  EXPECT_EQ((*specs)[0].liid, "LIID1");
  EXPECT_EQ((*specs)[0].targets, std::vector<std::string>{"+447700900123"});
  EXPECT_EQ((*specs)[0].valid_from_us, T("2015-09-01T12:00:00Z"));
  EXPECT_EQ((*specs)[0].valid_to_us, T("2015-12-01T12:00:00Z"));
}

TEST(Ts103120Test, ResponsesAreRefused) {
  std::string xml = Fixture("update_extend.xml");
  size_t a = xml.find("<RequestPayload>"), b = xml.find("</RequestPayload>") + 17;
  xml.replace(a, b - a, "<ResponsePayload/>");
  auto r = ParseHi1Message(xml, kOptions);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(base::View(r.status().message())), HasSubstr("response"));
}

TEST(Ts103120Test, CreateOfAnAuthorisationWithoutTaskIsRefused) {
  std::string xml = Fixture("update_extend.xml");
  size_t a;
  while ((a = xml.find("UPDATE>")) != std::string::npos) xml.replace(a, 7, "CREATE>");
  auto r = ParseHi1Message(xml, kOptions);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(base::View(r.status().message())),
              HasSubstr("without an associated LITaskObject"));
}

TEST(Ts103120Test, CanonicalTargets) {
  EXPECT_EQ(*CanonicalTarget("ETSI", "InternationalE164", "31612345678"), "+31612345678");
  EXPECT_EQ(*CanonicalTarget("ETSI", "InternationalE164", "+31612345678"), "+31612345678");
  EXPECT_FALSE(CanonicalTarget("ETSI", "InternationalE164", "0612345678x").ok());
  EXPECT_FALSE(CanonicalTarget("ETSI", "InternationalE164", "1234567890123456").ok());
  EXPECT_EQ(*CanonicalTarget("ETSI", "SIPURI", "sip:x@y"), "sip:x@y");
  EXPECT_FALSE(CanonicalTarget("ETSI", "SIPURI", "x@y").ok());
  EXPECT_EQ(*CanonicalTarget("ETSI", "IMSI", "204081234567890"), "imsi:204081234567890");
  EXPECT_FALSE(CanonicalTarget("ETSI", "IMSI", "20408x").ok());
  EXPECT_EQ(*CanonicalTarget("ETSI", "IMEI", "35209900176148"), "imei:35209900176148");
  EXPECT_EQ(*CanonicalTarget("ETSI", "EmailAddress", "x@example.org"), "x@example.org");
  EXPECT_EQ(*CanonicalTarget("NL", "Kenteken", "AB-12-CD"), "nl.Kenteken:AB-12-CD");
  EXPECT_FALSE(CanonicalTarget("ETSI", "TELURI", "").ok());
}

TEST(Ts103120Test, EmbeddedSchemasAreTheFilesWithTheirHeaderComment) {
  auto schemas = EmbeddedSchemas();
  ASSERT_EQ(schemas.size(), 8u);
  for (const auto& [name, text] : schemas) {
    EXPECT_THAT(std::string(text), HasSubstr("tapvault")) << name;
    EXPECT_THAT(std::string(text), HasSubstr("<xs:schema")) << name;
  }
}

class Ts103120ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/warrant_import_XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_ = std::move(*WarrantStore::Open(dir_.string(), true));
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<WarrantStore> store_;
};

TEST_F(Ts103120ImportTest, CreateThenSameThenExtendThenStale) {
  const std::string id = "7dbbc880-8750-4d3c-abe7-ea4a17646045";
  auto r = store_->Import(Fixture("create_valid.xml"), kOptions);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].action, "added");
  EXPECT_EQ((*r)[0].version, 1u);
  auto w = store_->Current(id);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->change, "imported");
  EXPECT_EQ(w->by, "alice");
  EXPECT_EQ(w->spec.liid, "NLOM0042");
  EXPECT_EQ(store_->CoveringAt("NLOM0042", T("2026-03-10T00:00:00Z")).value()->spec.id, id);

  r = store_->Import(Fixture("create_valid.xml"), kOptions);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].action, "unchanged");
  EXPECT_EQ(*store_->Generation(), 1u);

  r = store_->Import(Fixture("update_extend.xml"), kOptions);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].action, "extended");
  EXPECT_EQ((*r)[0].version, 2u);
  w = store_->Current(id);
  EXPECT_EQ(w->spec.valid_to_us, T("2026-04-26T00:00:00Z"));
  EXPECT_EQ(w->spec.liid, "NLOM0042") << "kept from version 1";
  EXPECT_EQ(w->spec.generation, 2u);
  EXPECT_EQ(w->spec.source, "ts103120");

  // Replaying the CREATE (Generation 1 < 2) is stale: ignored.
  r = store_->Import(Fixture("create_valid.xml"), kOptions);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].action, "stale");
  EXPECT_EQ(store_->Current(id)->version, 2u);
}

TEST_F(Ts103120ImportTest, EarlierEndEndsAndChangedTargetsAreRefusedWhole) {
  const std::string id = "7dbbc880-8750-4d3c-abe7-ea4a17646045";
  ASSERT_TRUE(store_->Import(Fixture("create_valid.xml"), kOptions).ok());
  std::string end = Fixture("update_extend.xml");
  end.replace(end.find("2026-04-26T00:00:00Z"), 20, "2026-03-20T00:00:00Z");
  auto r = store_->Import(end, kOptions);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].action, "ended");
  EXPECT_TRUE(store_->Current(id)->ended());
  EXPECT_EQ(store_->Current(id)->spec.valid_to_us, T("2026-03-20T00:00:00Z"));

  std::string other = Fixture("create_valid.xml");
  other.replace(other.find("<Generation>1</Generation>"), 26, "<Generation>5</Generation>");
  other.replace(other.find("31612345678</task:Value>"), 11, "31699999999");
  uint64_t before = *store_->Generation();
  r = store_->Import(other, kOptions);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(base::View(r.status().message())), HasSubstr("targets"));
  EXPECT_EQ(*store_->Generation(), before);

  ImportOptions other_team = kOptions;
  other_team.team = "team-b";
  EXPECT_EQ(store_->Import(Fixture("update_extend.xml"), other_team).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(Ts103120ImportTest, UpdateOfUnknownWarrantIsRefused) {
  auto r = store_->Import(Fixture("update_extend.xml"), kOptions);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store_->Generation(), 0u);
}

}  // namespace
}  // namespace tapvault::warrant
