#include "access/comm_scope.h"

#include <gtest/gtest.h>

namespace tapvault::access {
namespace {

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kFrom = 1'800'000'000'000'000;

warrant::WarrantIndex Index() {
  warrant::Warrant w;
  w.spec = {.id = "W-1", .liid = "NL-1", .targets = {"+31612345678"}, .valid_from_us = kFrom,
            .valid_to_us = kFrom + 10 * kDay, .team = "team-a", .retention_days = 30};
  w.version = 1;
  return warrant::WarrantIndex({w}, 1);
}

Principal Person(Role role, std::set<std::string> teams) {
  Principal p;
  p.name = "p";
  p.roles = {role};
  p.teams = std::move(teams);
  return p;
}

// Who may read a communication of NL-1 at kFrom + 1 day, asked at different times.
TEST(CommScopeTest, TeamAndValidityAtBothTimes) {
  const warrant::WarrantIndex idx = Index();
  const int64_t comm = kFrom + kDay;
  const Principal inv_a = Person(Role::kInvestigator, {"team-a"});
  const Principal inv_b = Person(Role::kInvestigator, {"team-b"});
  const Principal ovj_a = Person(Role::kProsecutor, {"team-a"});
  const Principal admin = Person(Role::kAdministrator, {"team-a"});
  auto may = [&](const Principal& p, int64_t now, std::string_view liid = "NL-1",
                 int64_t at = kFrom + kDay) {
    return Authorize(p, Action::kReadContent,
                     CommScope(idx, p, Action::kReadContent, liid, at, now, 180).scope)
        .ok();
  };
  EXPECT_TRUE(may(inv_a, comm + kDay));
  EXPECT_FALSE(may(inv_b, comm + kDay)) << "another team";
  EXPECT_FALSE(may(admin, comm + kDay)) << "administrators never read content";
  EXPECT_FALSE(may(inv_a, kFrom + 11 * kDay)) << "warrant over: investigators out";
  EXPECT_TRUE(may(ovj_a, kFrom + 11 * kDay)) << "prosecutor within retention";
  EXPECT_FALSE(may(ovj_a, kFrom + 41 * kDay)) << "retention over";
  EXPECT_FALSE(may(inv_a, comm, "NL-1", kFrom - 1)) << "before the warrant: unassigned";
  EXPECT_FALSE(may(inv_a, comm, "NL-2")) << "no warrant for the LIID";
  CommAccess none = CommScope(idx, inv_a, Action::kReadContent, "NL-2", comm, comm, 180);
  EXPECT_FALSE(none.scope.team.has_value());
  EXPECT_EQ(none.warrant_id, "");
  EXPECT_EQ(CommScope(idx, ovj_a, Action::kReadContent, "NL-1", kFrom + kDay, kFrom + 11 * kDay, 180).role,
            "prosecutor");
  EXPECT_EQ(ActingRole(ovj_a, Action::kConfirmDestruction), "prosecutor");
  EXPECT_EQ(ActingRole(inv_a, Action::kConfirmDestruction), "");
}

}  // namespace
}  // namespace tapvault::access
