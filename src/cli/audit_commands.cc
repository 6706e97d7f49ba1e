// `tapvault audit verify|checkpoint|query`: the audit log's commands for auditors and outside
// witnesses. Flags only; the work is done by audit/. The log of a store DIR is DIR/audit/, its
// public key DIR/audit/verifier.vkey. verify and checkpoint need no key and write nothing (an
// outside witness runs them); query is for auditors: it logs them in and records the query in the
// log (which takes the store's master key) before it shows anything.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/verify.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "nlohmann/json.hpp"
#include "tlog/note.h"

namespace tapvault::cli {
namespace {

std::string AuditDir(const std::string& data) { return data + "/audit"; }

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "HH:MM" -> minutes after midnight ("24:00" allowed as an end).
std::optional<int> ParseClock(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

// A CSV cell (RFC 4180). A cell a spreadsheet would run as a formula (= + - @, tab, CR first) gets
// a leading apostrophe: auditors open these exports in spreadsheets, and the log holds text that
// users typed (search terms, names).
std::string CsvCell(std::string_view v) {
  std::string s(v);
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                     s[0] == '\r')) {
    s.insert(s.begin(), '\'');
  }
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

nlohmann::ordered_json EntryJson(const audit::Entry& e) {
  nlohmann::ordered_json j;
  j["index"] = e.index;
  j["at"] = base::FormatRfc3339({e.event.at_us});
  j["actor"] = e.event.actor;
  j["role"] = e.event.role;
  j["action"] = e.event.action;
  j["object"] = e.event.object;
  j["outcome"] = e.event.outcome;
  j["detail"] = e.event.detail;
  return j;
}

void AddVerify(CLI::App& audit, std::function<int()>& run) {
  auto* cmd = audit.add_subcommand(
      "verify",
      "Verify the audit log offline: every entry against the Merkle log and its signed "
      "checkpoint, and (with --checkpoint) that the log only grew since an earlier checkpoint. "
      "Exit 0 intact, 1 problem (the first one named), 2 no log or bad arguments");
  struct Flags {
    std::string data, checkpoint, key;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory (the log is DATA/audit)")->required();
  cmd->add_option("--checkpoint", f->checkpoint,
                  "An earlier checkpoint note (file), e.g. one a witness kept from `tapvault "
                  "audit checkpoint`: prove that the log only grew since");
  cmd->add_option("--key", f->key,
                  "The log's verifier key, or @FILE (default DATA/audit/verifier.vkey); give the "
                  "one obtained out of band to not trust the directory's own copy");
  cmd->add_flag("--json", f->json, "Print the report as one JSON object");
  cmd->callback([&run, f] {
    run = [f] {
      const std::string dir = AuditDir(f->data);
      std::string key = f->key;
      if (key.empty() || key[0] == '@') {
        auto text = ReadText(key.empty() ? dir + "/verifier.vkey" : key.substr(1));
        if (!text.ok()) return Fail("audit verify", text.status(), 2);
        key = Trim(*text);
      }
      std::optional<std::string> trusted;
      if (!f->checkpoint.empty()) {
        auto text = ReadText(f->checkpoint);
        if (!text.ok()) return Fail("audit verify", text.status(), 2);
        trusted = std::move(*text);
      }
      auto report = audit::VerifyLog(dir, key, trusted);
      if (!report.ok()) return Fail("audit verify", report.status(), 2);
      const audit::VerifyReport& r = *report;
      if (f->json) {
        std::printf("%s\n", r.Json().c_str());
        return r.ok ? 0 : 1;
      }
      constexpr size_t kMaxListed = 20;
      std::printf("%s\n", r.Summary().c_str());
      for (size_t i = 0; i < r.problems.size() && i < kMaxListed; ++i) {
        std::printf("problem: %s\n", r.problems[i].c_str());
      }
      const uint64_t unlisted =
          r.more_problems + (r.problems.size() > kMaxListed ? r.problems.size() - kMaxListed : 0);
      if (unlisted > 0) {
        std::printf("... and %llu more problems (--json lists up to %zu)\n",
                    static_cast<unsigned long long>(unlisted), audit::VerifyReport::kMaxKept);
      }
      for (size_t i = 0; i < r.notes.size() && i < kMaxListed; ++i) {
        std::printf("note: %s\n", r.notes[i].c_str());
      }
      if (f->key.empty()) {
        std::fprintf(stderr, "(verified with DATA/audit/verifier.vkey; pass --key to use a key "
                             "obtained out of band)\n");
      }
      return r.ok ? 0 : 1;
    };
  });
}

void AddCheckpoint(CLI::App& audit, std::function<int()>& run) {
  auto* cmd = audit.add_subcommand(
      "checkpoint",
      "Print (or write to --out) the latest signed checkpoint of the audit log, for an outside "
      "witness to keep; `audit verify --checkpoint FILE` later proves the log only grew since. "
      "The process that appends signs checkpoints; this command needs no key");
  struct Flags {
    std::string data, out;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory (the log is DATA/audit)")->required();
  cmd->add_option("--out", f->out, "Write the note to this file instead of standard output");
  cmd->callback([&run, f] {
    run = [f] {
      const std::string dir = AuditDir(f->data);
      auto note = ReadText(dir + "/checkpoint");
      if (!note.ok()) return Fail("audit checkpoint", note.status(), 2);
      auto key = ReadText(dir + "/verifier.vkey");
      if (!key.ok()) return Fail("audit checkpoint", key.status(), 2);
      // Hand out only what verifies: a witness should not keep a note that proves nothing.
      auto cp = tlog::OpenCheckpoint(*note, Trim(*key));
      if (!cp.ok()) return Fail("audit checkpoint", cp.status(), 1);
      if (f->out.empty()) {
        std::fwrite(note->data(), 1, note->size(), stdout);
        return 0;
      }
      const std::string tmp = f->out + ".tmp";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(note->data(), static_cast<std::streamsize>(note->size()));
        if (!out.flush()) return Fail("audit checkpoint", absl::UnavailableError("cannot write " + tmp), 2);
      }
      if (std::rename(tmp.c_str(), f->out.c_str()) != 0) {
        return Fail("audit checkpoint", absl::UnavailableError("cannot write " + f->out), 2);
      }
      std::fprintf(stderr, "checkpoint of %llu entries (%s) written to %s\n",
                   static_cast<unsigned long long>(cp->size), cp->origin.c_str(), f->out.c_str());
      return 0;
    };
  });
}

void AddQuery(CLI::App& audit, std::function<int()>& run) {
  auto* cmd = audit.add_subcommand(
      "query",
      "Entries of the audit log for auditors: who read what and when, all access to one "
      "communication, access outside office hours, searches. Read-only");
  struct Flags {
    std::string data, actor, object, outcome, from, to, contains, office_hours = "08:00-18:00",
        time_zone = "UTC", work_days = "mon,tue,wed,thu,fri", format = "json";
    std::vector<std::string> actions;
    bool outside = false;
    uint64_t after = 0, limit = 0;
    bool has_after = false;
    LoginFlags login;
  };
  auto f = std::make_shared<Flags>();
  AddLoginFlags(cmd, f->login);
  cmd->add_option("--data", f->data, "Store directory (the log is DATA/audit)")->required();
  cmd->add_option("--actor", f->actor, "Only this user (exact)");
  cmd->add_option("--action", f->actions,
                  "Only these actions (repeat the flag or separate by commas), e.g. "
                  "read_content,export")
      ->delimiter(',');
  cmd->add_option("--object", f->object,
                  "Only this object (exact), e.g. comm:42; a trailing * matches a prefix "
                  "(liid:NL-1*)");
  cmd->add_option("--outcome", f->outcome, "Only this outcome (ok, refused, error)");
  cmd->add_option("--from", f->from, "Only entries at or after this time (RFC 3339)");
  cmd->add_option("--to", f->to, "Only entries before this time (RFC 3339)");
  cmd->add_flag("--outside-office-hours", f->outside,
                "Only entries outside office hours (--office-hours, --time-zone, --work-days)");
  cmd->add_option("--office-hours", f->office_hours, "Office hours, local time (default 08:00-18:00)");
  cmd->add_option("--time-zone", f->time_zone,
                  "Time zone of the office hours: IANA name (Europe/Amsterdam) or offset (+01:00); "
                  "default UTC");
  cmd->add_option("--work-days", f->work_days, "Work days (default mon,tue,wed,thu,fri)");
  cmd->add_option("--contains", f->contains,
                  "Only entries whose detail contains this text (ASCII case-insensitive)");
  auto* after = cmd->add_option("--after", f->after, "Pagination: only entries after this index");
  cmd->add_option("--limit", f->limit, "At most this many entries (0 = all)");
  cmd->add_option("--format", f->format, "json (an array), jsonl (one object a line) or csv")
      ->check(CLI::IsMember({"json", "jsonl", "csv"}));
  cmd->callback([&run, f, after] {
    f->has_after = after->count() > 0;
    run = [f] {
      audit::Query q;
      if (!f->actor.empty()) q.actor = f->actor;
      q.actions = f->actions;
      if (!f->object.empty()) {
        q.object = f->object;
        if (f->object.back() == '*') {
          q.object->pop_back();
          q.object_prefix = true;
        }
      }
      if (!f->outcome.empty()) q.outcome = f->outcome;
      for (auto [text, field] : {std::pair{&f->from, &q.from_us}, std::pair{&f->to, &q.to_us}}) {
        if (text->empty()) continue;
        auto t = base::ParseRfc3339(*text);
        if (!t.ok()) return Fail("audit query", t.status(), 2);
        *field = t->unix_us;
      }
      if (f->outside) {
        audit::OfficeHours h;
        h.time_zone = f->time_zone;
        const size_t dash = f->office_hours.find('-');
        auto start = ParseClock(f->office_hours.substr(0, dash));
        auto end = dash == std::string::npos ? std::nullopt
                                             : ParseClock(f->office_hours.substr(dash + 1));
        if (!start || !end || *start > *end) {
          return Fail("audit query", absl::InvalidArgumentError("--office-hours wants HH:MM-HH:MM"), 2);
        }
        h.start_minute = *start;
        h.end_minute = *end;
        static constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
        h.work_days.fill(false);
        size_t pos = 0;
        while (pos <= f->work_days.size()) {
          size_t comma = f->work_days.find(',', pos);
          if (comma == std::string::npos) comma = f->work_days.size();
          const std::string day = f->work_days.substr(pos, comma - pos);
          bool known = false;
          for (size_t d = 0; d < 7; ++d) {
            if (day == kDays[d]) h.work_days[d] = known = true;
          }
          if (!known && !day.empty()) {
            return Fail("audit query", absl::InvalidArgumentError("--work-days: unknown day " + day), 2);
          }
          pos = comma + 1;
        }
        q.outside_office_hours = h;
      }
      q.contains = f->contains;
      if (f->has_after) q.after_index = f->after;

      // Only auditors query the log, and their queries are in it too (searches of the log are
      // themselves searches): the record is made before the first entry is shown.
      auto who = LoginFor(f->data, f->login, access::Action::kAuditRead);
      if (!who.ok()) return Fail("audit query", who.status());
      {
        auto writer = gate::StoreAudit::Open(f->data, "");
        if (!writer.ok()) return Fail("audit query", writer.status());
        nlohmann::json filter = {{"actor", f->actor}, {"actions", f->actions}, {"object", f->object},
                                 {"outcome", f->outcome}, {"from", f->from}, {"to", f->to},
                                 {"contains", f->contains}, {"outside_office_hours", f->outside},
                                 {"format", f->format}};
        absl::Status recorded = (*writer)->Record({.actor = who->name,
                                                   .role = RoleOf(*who, access::Action::kAuditRead),
                                                   .action = "audit_query",
                                                   .object = "audit", .outcome = "ok",
                                                   .detail = {{"filter", filter}}})
                                    .status();
        if (!recorded.ok()) return Fail("audit query", recorded);
      }
      auto log = audit::AuditLog::Open({.dir = AuditDir(f->data)}, /*create=*/false);
      if (!log.ok()) return Fail("audit query", log.status(), 2);
      // Pages of bounded size, written out as they come: an export of the whole log never holds
      // it in memory.
      constexpr size_t kPage = 10000;
      uint64_t written = 0;
      bool first = true;
      if (f->format == "json") std::printf("[");
      if (f->format == "csv") std::printf("index,at,actor,role,action,object,outcome,detail\r\n");
      for (;;) {
        audit::Query page = q;
        page.limit = f->limit == 0 ? kPage : std::min<uint64_t>(kPage, f->limit - written);
        auto entries = (*log)->Query(page);
        if (!entries.ok()) {
          if (f->format == "json") std::printf("]\n");
          return Fail("audit query", entries.status(), 1);
        }
        for (const audit::Entry& e : *entries) {
          if (f->format == "csv") {
            std::printf("%llu,%s,%s,%s,%s,%s,%s,%s\r\n", static_cast<unsigned long long>(e.index),
                        base::FormatRfc3339({e.event.at_us}).c_str(),
                        CsvCell(e.event.actor).c_str(), CsvCell(e.event.role).c_str(),
                        CsvCell(e.event.action).c_str(), CsvCell(e.event.object).c_str(),
                        CsvCell(e.event.outcome).c_str(), CsvCell(e.event.detail.dump()).c_str());
          } else {
            const std::string line = EntryJson(e).dump();
            if (f->format == "json") {
              std::printf("%s\n  %s", first ? "" : ",", line.c_str());
            } else {
              std::printf("%s\n", line.c_str());
            }
          }
          first = false;
        }
        written += entries->size();
        if (entries->size() < page.limit || (f->limit != 0 && written >= f->limit)) break;
        q.after_index = entries->back().index;
      }
      if (f->format == "json") std::printf("%s]\n", first ? "" : "\n");
      std::fprintf(stderr, "%llu entries\n", static_cast<unsigned long long>(written));
      return 0;
    };
  });
}

}  // namespace

void AddAuditCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "audit", "The tamper-evident audit log: offline verification, checkpoints for outside "
               "witnesses, queries for auditors");
  cmd->require_subcommand(1);
  AddVerify(*cmd, run);
  AddCheckpoint(*cmd, run);
  AddQuery(*cmd, run);
}

}  // namespace tapvault::cli
