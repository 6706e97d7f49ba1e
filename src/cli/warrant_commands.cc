// `tapvault warrant add|extend|end|list|show|import`: the operator commands of the warrants (tap
// orders) of a data directory (DIR/warrants.db). Flags only; the work is done by warrant/.
// Times are RFC 3339 ("2026-03-01T00:00:00Z", any offset). Output is human text by default,
// JSON with --json. Warrants are never edited: extend and end record new versions.
//
// Exit codes: 0 done; 1 failed (refused by the store: exists, ended, not later, ...; a rejected
// import file); 2 bad arguments (bad time, missing directory).
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"
#include "warrant/warrant_json.h"
#include "warrant/warrant_store.h"

namespace tapvault::cli {
namespace {

using warrant::Warrant;
using warrant::WarrantJson;
using warrant::WarrantStore;

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

absl::StatusOr<int64_t> ParseTime(std::string_view flag, const std::string& text) {
  auto t = base::ParseRfc3339(text);
  if (!t.ok()) return base::Annotate(t.status(), flag);
  return t->unix_us;
}

enum class Access { kRead, kWrite, kCreate };
absl::StatusOr<std::unique_ptr<WarrantStore>> OpenWarrants(const std::string& dir, Access access) {
  if (!IsDirectory(dir)) {
    return absl::InvalidArgumentError(base::StrCat("--data ", dir, ": no such directory"));
  }
  auto store = WarrantStore::Open(dir, access == Access::kCreate, access == Access::kRead);
  if (!store.ok() && store.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(
        base::StrCat("no warrants in ", dir, " (add one with `tapvault warrant add`)"));
  }
  return store;
}

// A change to the warrants, on record in the store's audit log before it is made and with its
// outcome after (RunAudited, cli_support.h): no audit log, no change.
absl::StatusOr<Warrant> AuditedChange(const std::string& data, const access::Principal& who,
                                      std::string action, std::string id, nlohmann::json detail,
                                      const std::function<absl::StatusOr<Warrant>()>& change) {
  absl::StatusOr<Warrant> result = absl::UnknownError("not run");
  absl::Status s = RunAudited(data,
                              {.actor = who.name,
                               .role = RoleOf(who, access::Action::kWarrantManage),
                               .action = std::move(action),
                               .object = "warrant:" + id, .detail = std::move(detail)},
                              [&](nlohmann::json& d) -> absl::Status {
                                result = change();
                                if (result.ok()) {
                                  d["version"] = result->version;
                                  d["valid_from_us"] = result->spec.valid_from_us;
                                  d["valid_to_us"] = result->spec.valid_to_us;
                                }
                                return result.status();
                              });
  if (!s.ok() && (result.ok() || absl::IsUnknown(result.status()))) return s;
  return result;
}

// "W-<yyyymmdd>-<8 hex digits>": readable, sortable by day, and unlikely to collide (Add refuses
// a collision anyway).
std::string GeneratedId(int64_t now_us) {
  std::string day = base::FormatRfc3339({now_us}).substr(0, 10);
  std::erase(day, '-');
  std::random_device rd;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(rd()));
  return base::StrCat("W-", day, "-", hex);
}



std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// One line per warrant: id, version, validity, LIID, team, state.
std::string WarrantLine(const Warrant& w) {
  return base::StrCat(w.spec.id, "  v", w.version, "  ", base::FormatRfc3339({w.spec.valid_from_us}),
                      " .. ", base::FormatRfc3339({w.spec.valid_to_us}), "  liid ", w.spec.liid,
                      "  team ", w.spec.team, w.ended() ? "  (ended)" : "");
}

std::string WarrantText(const Warrant& w) {
  const warrant::WarrantSpec& s = w.spec;
  std::string out = base::StrCat("version ", w.version, " (", w.change, ") by ", w.by, " at ",
                                 base::FormatRfc3339({w.at_us}), "\n");
  auto line = [&](std::string_view k, const std::string& v) {
    if (!v.empty()) out += base::StrCat("  ", k, ": ", v, "\n");
  };
  line("id", s.id);
  line("liid", s.liid);
  line("targets", Join(s.targets));
  line("valid", base::StrCat(base::FormatRfc3339({s.valid_from_us}), " .. ",
                             base::FormatRfc3339({s.valid_to_us})));
  line("team", s.team);
  line("legal basis", s.legal_basis);
  line("prosecutor", base::StrCat(s.prosecutor, s.prosecutor_reference.empty() ? "" : " (",
                                  s.prosecutor_reference,
                                  s.prosecutor_reference.empty() ? "" : ")"));
  line("authority", base::StrCat(s.authority, s.authority_reference.empty() ? "" : " (",
                                 s.authority_reference, s.authority_reference.empty() ? "" : ")"));
  if (s.issued_us != 0) line("issued", base::FormatRfc3339({s.issued_us}));
  line("retention", s.retention_days == 0 ? "store default"
                                          : base::StrCat(s.retention_days, " days"));
  line("source", s.source);
  line("reason", w.reason);
  return out;
}

// Who sees a warrant: those who manage warrants see all of them; investigators and prosecutors
// those of their teams (the targets of other teams' cases are not theirs to know).
bool MaySee(const access::Principal& p, const Warrant& w) {
  if (access::Authorize(p, access::Action::kWarrantManage).ok()) return true;
  const bool works_cases = p.Has(access::Role::kInvestigator) || p.Has(access::Role::kProsecutor);
  return works_cases && p.InTeam(w.spec.team);
}

// A read of warrants, in the audit log before it is shown.
absl::Status RecordRead(const std::string& dir, const access::Principal& p, const char* action,
                        std::string object, nlohmann::json detail) {
  ASSIGN_OR_RETURN(auto log, gate::StoreAudit::Open(dir, ""));
  return log->Record({.actor = p.name, .role = RoleOf(p, std::nullopt), .action = action,
                      .object = std::move(object),
                      .outcome = "ok", .detail = std::move(detail)})
      .status();
}

int PrintWarrant(const Warrant& w, bool json) {
  if (json) {
    std::cout << WarrantJson(w).dump(2) << "\n";
  } else {
    std::cout << WarrantText(w);
  }
  return 0;
}

void AddAdd(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand("add", "Record a new warrant (version 1)");
  struct Flags {
    std::string data, liid, from, to, team, id, basis, authority, reference, prosecutor,
        prosecutor_reference;
    LoginFlags login;
    std::vector<std::string> targets;
    int retention_days = 0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds warrants.db; must exist)")->required();
  cmd->add_option("--liid", f->liid, "The LIID the order is for")->required();
  cmd->add_option("--target", f->targets, "Target identifier (repeat for several)")->required();
  cmd->add_option("--from", f->from, "Valid from (RFC 3339, inclusive)")->required();
  cmd->add_option("--to", f->to, "Valid to (RFC 3339, exclusive)")->required();
  cmd->add_option("--team", f->team, "The investigation team")->required();
  cmd->add_option("--id", f->id, "Warrant id (default W-<yyyymmdd>-<random hex>)");
  cmd->add_option("--basis", f->basis, "Legal basis (e.g. \"Sv 126m\")");
  cmd->add_option("--authority", f->authority, "Authorising judge");
  cmd->add_option("--reference", f->reference, "The order's reference");
  cmd->add_option("--prosecutor", f->prosecutor, "Requesting prosecutor");
  cmd->add_option("--prosecutor-reference", f->prosecutor_reference, "Prosecutor's reference");
  cmd->add_option("--retention-days", f->retention_days,
                  "Days the content stays readable to the prosecutor after the end (0: default)");
  AddLoginFlags(cmd, f->login);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      const int64_t now = base::Now().unix_us;
      warrant::WarrantSpec s;
      auto from = ParseTime("--from", f->from);
      if (!from.ok()) return Fail("warrant add", from.status(), 2);
      auto to = ParseTime("--to", f->to);
      if (!to.ok()) return Fail("warrant add", to.status(), 2);
      s.id = f->id.empty() ? GeneratedId(now) : f->id;
      s.liid = f->liid;
      s.targets = f->targets;
      s.valid_from_us = *from;
      s.valid_to_us = *to;
      s.team = f->team;
      s.legal_basis = f->basis;
      s.authority = f->authority;
      s.authority_reference = f->reference;
      s.prosecutor = f->prosecutor;
      s.prosecutor_reference = f->prosecutor_reference;
      s.retention_days = f->retention_days;
      s.source = "cli";
      auto store = OpenWarrants(f->data, Access::kCreate);
      if (!store.ok()) return Fail("warrant add", store.status(), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kWarrantManage);
      if (!who.ok()) return Fail("warrant add", who.status());
      const std::string& by = who->name;
      auto w = AuditedChange(f->data, *who, "warrant_add", s.id,
                             {{"liid", s.liid}, {"team", s.team}, {"targets", s.targets.size()},
                              {"basis", s.legal_basis}, {"authority_reference", s.authority_reference}},
                             [&] { return (*store)->Add(s, by, now); });
      if (!w.ok()) return Fail("warrant add", w.status());
      return PrintWarrant(*w, f->json);
    };
  });
}

void AddExtend(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "extend", "Record an extension: a new version valid until --to (later than the current end)");
  struct Flags {
    std::string data, id, to, reference;
    LoginFlags login;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory")->required();
  cmd->add_option("--id", f->id, "Warrant id")->required();
  cmd->add_option("--to", f->to, "New end (RFC 3339, exclusive)")->required();
  cmd->add_option("--reference", f->reference, "Reference of the extension order");
  AddLoginFlags(cmd, f->login);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      auto to = ParseTime("--to", f->to);
      if (!to.ok()) return Fail("warrant extend", to.status(), 2);
      auto store = OpenWarrants(f->data, Access::kWrite);
      if (!store.ok()) return Fail("warrant extend", store.status(), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kWarrantManage);
      if (!who.ok()) return Fail("warrant extend", who.status());
      const std::string& by = who->name;
      auto w = AuditedChange(f->data, *who, "warrant_extend", f->id,
                             {{"to_us", *to}, {"reference", f->reference}}, [&] {
                               return (*store)->Extend(f->id, *to, f->reference, by,
                                                       base::Now().unix_us);
                             });
      if (!w.ok()) return Fail("warrant extend", w.status());
      return PrintWarrant(*w, f->json);
    };
  });
}

void AddEnd(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "end", "Record an early end: a new version valid until --at (default now)");
  struct Flags {
    std::string data, id, at, reason;
    LoginFlags login;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory")->required();
  cmd->add_option("--id", f->id, "Warrant id")->required();
  cmd->add_option("--at", f->at, "End (RFC 3339; default now)");
  cmd->add_option("--reason", f->reason, "Why it ends")->required();
  AddLoginFlags(cmd, f->login);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      const int64_t now = base::Now().unix_us;
      int64_t at = now;
      if (!f->at.empty()) {
        auto t = ParseTime("--at", f->at);
        if (!t.ok()) return Fail("warrant end", t.status(), 2);
        at = *t;
      }
      auto store = OpenWarrants(f->data, Access::kWrite);
      if (!store.ok()) return Fail("warrant end", store.status(), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kWarrantManage);
      if (!who.ok()) return Fail("warrant end", who.status());
      const std::string& by = who->name;
      auto w = AuditedChange(f->data, *who, "warrant_end", f->id,
                             {{"at_us", at}, {"reason", f->reason}},
                             [&] { return (*store)->End(f->id, at, f->reason, by, now); });
      if (!w.ok()) return Fail("warrant end", w.status());
      return PrintWarrant(*w, f->json);
    };
  });
}

void AddList(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand("list", "List warrants (their current versions)");
  struct Flags {
    std::string data, liid, team, at;
    LoginFlags login;
    bool all = false, json = false;
  };
  auto f = std::make_shared<Flags>();
  AddLoginFlags(cmd, f->login);
  cmd->add_option("--data", f->data, "Data directory")->required();
  cmd->add_option("--liid", f->liid, "Only this LIID");
  cmd->add_option("--team", f->team, "Only this team");
  cmd->add_option("--at", f->at, "Only warrants valid at this time (RFC 3339)");
  cmd->add_flag("--all", f->all, "Also warrants that were ended early");
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      warrant::ListFilter filter{.liid = f->liid, .team = f->team, .include_ended = f->all};
      if (!f->at.empty()) {
        auto t = ParseTime("--at", f->at);
        if (!t.ok()) return Fail("warrant list", t.status(), 2);
        filter.valid_at_us = *t;
      }
      auto store = OpenWarrants(f->data, Access::kRead);
      if (!store.ok()) return Fail("warrant list", store.status(), 2);
      auto who = LoginFor(f->data, f->login, std::nullopt);
      if (!who.ok()) return Fail("warrant list", who.status());
      auto ws = (*store)->List(filter);
      if (!ws.ok()) return Fail("warrant list", ws.status());
      std::erase_if(*ws, [&](const Warrant& w) { return !MaySee(*who, w); });
      absl::Status recorded = RecordRead(f->data, *who, "warrant_list", "warrants",
                                         {{"liid", f->liid}, {"team", f->team}, {"rows", ws->size()}});
      if (!recorded.ok()) return Fail("warrant list", recorded);
      if (f->json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const Warrant& w : *ws) out.push_back(WarrantJson(w));
        std::cout << out.dump(2) << "\n";
      } else {
        for (const Warrant& w : *ws) std::cout << WarrantLine(w) << "\n";
      }
      return 0;
    };
  });
}

void AddShow(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand("show", "Show every version of a warrant, oldest first");
  struct Flags {
    std::string data, id;
    LoginFlags login;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory")->required();
  cmd->add_option("--id", f->id, "Warrant id")->required();
  AddLoginFlags(cmd, f->login);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      auto store = OpenWarrants(f->data, Access::kRead);
      if (!store.ok()) return Fail("warrant show", store.status(), 2);
      auto who = LoginFor(f->data, f->login, std::nullopt);
      if (!who.ok()) return Fail("warrant show", who.status());
      auto vs = (*store)->Versions(f->id);
      // Someone else's warrant reads as an unknown one: its existence is not for them.
      if (vs.ok() && !vs->empty() && !MaySee(*who, vs->back())) {
        vs = absl::NotFoundError(base::StrCat("warrants: no warrant ", f->id));
      }
      absl::Status recorded = RecordRead(f->data, *who, "warrant_show", "warrant:" + f->id,
                                         {{"found", vs.ok()}});
      if (!recorded.ok()) return Fail("warrant show", recorded);
      if (!vs.ok()) return Fail("warrant show", vs.status());
      if (f->json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const Warrant& w : *vs) out.push_back(WarrantJson(w));
        std::cout << out.dump(2) << "\n";
      } else {
        for (const Warrant& w : *vs) std::cout << WarrantText(w);
      }
      return 0;
    };
  });
}

void AddImport(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "import",
      "Import the warrants of an ETSI TS 103 120 HI1Message (XML): new authorisations are added, "
      "a later end extends, an earlier end ends. All or nothing");
  struct Flags {
    std::string data, team, file;
    LoginFlags login;
    int retention_days = 0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds warrants.db; must exist)")->required();
  cmd->add_option("--team", f->team, "The team the imported warrants belong to")->required();
  cmd->add_option("file", f->file, "The HI1Message XML file")->required();
  cmd->add_option("--retention-days", f->retention_days, "For new warrants (0: store default)");
  AddLoginFlags(cmd, f->login);
  cmd->add_flag("--json", f->json, "Print JSON");
  cmd->callback([&run, f] {
    run = [f] {
      std::ifstream in(f->file, std::ios::binary | std::ios::ate);
      if (!in) {
        return Fail("warrant import",
                    absl::NotFoundError(base::StrCat(f->file, ": cannot be read")), 2);
      }
      auto size = static_cast<uintmax_t>(in.tellg());
      if (size > warrant::kMaxHi1MessageBytes) {
        return Fail("warrant import", absl::ResourceExhaustedError(base::StrCat(
                                          f->file, ": larger than ",
                                          warrant::kMaxHi1MessageBytes, " bytes")));
      }
      std::string xml(size, '\0');
      in.seekg(0);
      if (!in.read(xml.data(), static_cast<std::streamsize>(size))) {
        return Fail("warrant import", absl::DataLossError(base::StrCat(f->file, ": read failed")));
      }
      auto store = OpenWarrants(f->data, Access::kCreate);
      if (!store.ok()) return Fail("warrant import", store.status(), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kWarrantManage);
      if (!who.ok()) return Fail("warrant import", who.status());
      const std::string& by = who->name;
      absl::StatusOr<std::vector<warrant::ImportOutcome>> outcomes = absl::UnknownError("not run");
      absl::Status audited = RunAudited(
          f->data,
          {.actor = by, .role = RoleOf(*who, access::Action::kWarrantManage),
           .action = "warrant_import", .object = "warrants",
           .detail = {{"file", f->file}, {"team", f->team}, {"bytes", xml.size()}}},
          [&](nlohmann::json& d) -> absl::Status {
            outcomes = (*store)->Import(xml, {.team = f->team,
                                              .by = by,
                                              .now_us = base::Now().unix_us,
                                              .retention_days = f->retention_days});
            if (outcomes.ok()) {
              nlohmann::json done = nlohmann::json::array();
              for (const warrant::ImportOutcome& o : *outcomes) {
                done.push_back({{"id", o.warrant_id}, {"action", o.action}, {"version", o.version}});
              }
              d["outcomes"] = std::move(done);
            }
            return outcomes.status();
          });
      if (!audited.ok() && (outcomes.ok() || absl::IsUnknown(outcomes.status()))) {
        return Fail("warrant import", audited, 2);
      }
      if (!outcomes.ok()) {
        return Fail("warrant import",
                    base::Annotate(outcomes.status(),
                                   base::StrCat(f->file, " rejected, nothing imported")));
      }
      if (f->json) {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const warrant::ImportOutcome& o : *outcomes) {
          nlohmann::ordered_json j;
          j["id"] = o.warrant_id;
          j["action"] = o.action;
          j["version"] = o.version;
          if (!o.message.empty()) j["message"] = o.message;
          out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
      } else {
        for (const warrant::ImportOutcome& o : *outcomes) {
          std::cout << o.warrant_id << "  " << o.action << "  v" << o.version
                    << (o.message.empty() ? "" : "  ") << o.message << "\n";
        }
      }
      return 0;
    };
  });
}

}  // namespace

void AddWarrantCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "warrant", "Warrants (tap orders) per LIID: add, extend, end, list, show, import "
                 "(ETSI TS 103 120). Versions are never edited");
  cmd->require_subcommand(1);
  AddAdd(*cmd, run);
  AddExtend(*cmd, run);
  AddEnd(*cmd, run);
  AddList(*cmd, run);
  AddShow(*cmd, run);
  AddImport(*cmd, run);
}

}  // namespace tapvault::cli
