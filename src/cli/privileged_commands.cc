// `tapvault privileged import|check|confirm|reject|versions|diff|status`: the operator commands of
// the privileged-party list (DIR/privileged.db). Flags only; the work is done by privileged/.
// Output never shows list entries in clear: counts, types, hashes and people only (`check` shows
// the readings of the identity the operator typed, not the entry it matched).
//
// Exit codes: 0 done; 1 failed (a rejected file, no list: fail closed, a refused confirmation);
// 2 bad arguments; 3 imported but held for a second administrator; 4 (status) the list is stale.
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <span>
#include <string>

#include "base/json_time.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "identity/identity.h"
#include "nlohmann/json.hpp"
#include "privileged/list_store.h"
#include "privileged/version_json.h"

namespace tapvault::cli {
namespace {

using privileged::ListStore;
using privileged::VersionInfo;
using privileged::VersionJson;

// Larger files are refused before reading: a million entries take about 30 MB.
constexpr uintmax_t kMaxListFileBytes = uintmax_t{1} << 30;


bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Opens DIR/privileged.db of an existing directory: created by import, written by confirm and
// reject, read-only for the rest.
enum class Access { kRead, kWrite, kCreate };
absl::StatusOr<std::unique_ptr<ListStore>> OpenList(const std::string& dir, Access access) {
  if (!IsDirectory(dir)) {
    return absl::InvalidArgumentError(base::StrCat("--data ", dir, ": no such directory"));
  }
  std::string path = privileged::ListPath(dir);
  auto store = ListStore::Open(path, access == Access::kCreate, access == Access::kRead);
  if (!store.ok() && store.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(base::StrCat(
        "no privileged list in ", dir, " (import one with `tapvault privileged import`)"));
  }
  return store;
}

std::string_view KindName(identity::Reading::Kind k) {
  switch (k) {
    case identity::Reading::Kind::kNumber:
      return "number";
    case identity::Reading::Kind::kUri:
      return "uri";
    case identity::Reading::Kind::kEmail:
      return "email";
  }
  return "unknown";
}

void AddImport(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "import",
      "Import a complete list (CSV: identity,type,source,valid_from,valid_to,ref) as a new "
      "version. Prints the version as JSON. A file with any bad line is rejected whole (exit 1, "
      "every bad line on stderr); one that removes more than --max-shrink of the entries in force "
      "is held until another administrator confirms it (exit 3)");
  struct Flags {
    std::string data, file, source, region = "NL";
    LoginFlags login;
    double max_shrink = privileged::kDefaultMaxShrink;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds privileged.db; must exist)")
      ->required();
  cmd->add_option("file", f->file, "The delivered CSV file")->required();
  cmd->add_option("--source", f->source, "Deliverer, for rows with an empty source (e.g. NOvA)");
  cmd->add_option("--region", f->region, "Country of numbers in national notation (ISO 3166-1)")
      ->capture_default_str();
  AddLoginFlags(cmd, f->login);
  cmd->add_option("--max-shrink", f->max_shrink,
                  "Largest share of the entries in force an import may remove without a second "
                  "administrator's confirmation")
      ->capture_default_str();
  cmd->callback([&run, f] {
    run = [f] {
      if (!(f->max_shrink >= 0 && f->max_shrink <= 1)) {
        return Fail("privileged import", absl::InvalidArgumentError("--max-shrink must be within [0, 1]"), 2);
      }
      std::ifstream in(f->file, std::ios::binary | std::ios::ate);
      if (!in) {
        return Fail("privileged import", absl::NotFoundError(base::StrCat(f->file, ": cannot be read")), 2);
      }
      auto size = static_cast<uintmax_t>(in.tellg());
      if (size > kMaxListFileBytes) {
        return Fail("privileged import",
                    absl::ResourceExhaustedError(base::StrCat(f->file, ": larger than 1 GiB")));
      }
      std::string csv(size, '\0');
      in.seekg(0);
      if (!in.read(csv.data(), static_cast<std::streamsize>(size))) {
        return Fail("privileged import", absl::DataLossError(base::StrCat(f->file, ": read failed")));
      }
      auto who = LoginFor(f->data, f->login, access::Action::kListImport);
      if (!who.ok()) {  // refused: 1; no store to import into: 2
        const bool refused = absl::IsUnauthenticated(who.status()) ||
                             absl::IsPermissionDenied(who.status());
        return Fail("privileged import", who.status(), refused ? 1 : 2);
      }
      const std::string& by = who->name;
      identity::Normalizer normalizer(f->region);
      std::vector<privileged::LineError> errors;
      absl::StatusOr<privileged::ImportResult> r = absl::UnknownError("not run");
      absl::Status audited = RunAudited(
          f->data,
          {.actor = by, .role = RoleOf(*who, access::Action::kListImport), .action = "list_import", .object = "privileged_list",
           .detail = {{"file", f->file}, {"source", f->source}, {"bytes", csv.size()}}},
          [&](nlohmann::json& detail) -> absl::Status {
            // Opened (and on the first import made) only once the request is on record.
            auto store = OpenList(f->data, Access::kCreate);
            if (!store.ok()) {
              r = store.status();
              return r.status();
            }
            r = (*store)->Import(csv,
                                 {.source = f->source,
                                  .region = f->region,
                                  .imported_by = by,
                                  .max_shrink = f->max_shrink,
                                  .now_us = base::Now().unix_us},
                                 normalizer, &errors);
            if (r.ok()) {
              detail["version"] = r->version.id;
              detail["status"] = r->version.status;
              detail["entries"] = r->version.entries;
              detail["added"] = r->version.added;
              detail["removed"] = r->version.removed;
              detail["sha256"] = r->version.sha256_hex;
            } else {
              detail["bad_lines"] = errors.size();
            }
            return r.status();
          });
      if (!audited.ok() && r.ok()) return Fail("privileged import", audited);
      if (!r.ok() && absl::IsUnknown(r.status()) && !audited.ok()) return Fail("privileged import", audited, 2);
      if (!r.ok()) {
        if (errors.empty()) return Fail("privileged import", r.status());
        std::fprintf(stderr,
                     "tapvault privileged import: %s rejected: %zu bad line%s; nothing was "
                     "imported and the version in force stays in force\n",
                     f->file.c_str(), errors.size(), errors.size() == 1 ? "" : "s");
        for (const privileged::LineError& e : errors) {
          std::fprintf(stderr, "line %zu: %s\n", e.line, e.reason.c_str());
        }
        return 1;
      }
      const VersionInfo& v = r->version;
      nlohmann::ordered_json out;
      out["version"] = v.id;
      out["status"] = v.status;
      out["entries"] = v.entries;
      out["added"] = v.added;
      out["removed"] = v.removed;
      out["duplicates"] = v.duplicates;
      out["shrink"] = v.shrink;
      out["base"] = v.base == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v.base);
      out["sha256"] = v.sha256_hex;
      std::cout << out.dump() << "\n";
      if (v.status == "held") {
        std::fprintf(
            stderr,
            "tapvault privileged import: %s\nanother administrator (not %s) confirms with: "
            "tapvault privileged confirm --data %s --version %llu\n",
            r->message.c_str(), v.imported_by.c_str(), f->data.c_str(),
            static_cast<unsigned long long>(v.id));
        return 3;
      }
      return 0;
    };
  });
}

void AddCheck(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "check",
      "Whether an identity (number in any notation, tel:/sip: URI, name-addr, e-mail) matches the "
      "list version in force at --at (default now). Prints JSON; exit 1 when there is no list "
      "(fail closed)");
  struct Flags {
    std::string data, at, country = "NL", identity;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds privileged.db)")->required();
  cmd->add_option("--at", f->at, "Time of the communication (RFC 3339; default now)");
  cmd->add_option("--country", f->country, "Country of the intercept, for national numbers")
      ->capture_default_str();
  cmd->add_option("identity", f->identity, "The party identity")->required();
  cmd->callback([&run, f] {
    run = [f] {
      int64_t at_us = base::Now().unix_us;
      if (!f->at.empty()) {
        auto t = base::ParseRfc3339(f->at);
        if (!t.ok()) return Fail("privileged check", t.status(), 2);
        at_us = t->unix_us;
      }
      auto store = OpenList(f->data, Access::kRead);
      if (!store.ok()) {
        return Fail("privileged check", base::Annotate(store.status(), "failing closed"),
                    store.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
      }
      auto version = (*store)->InForceAt(at_us);
      if (!version.ok()) return Fail("privileged check", version.status());
      if (!version->has_value()) {
        return Fail("privileged check", absl::FailedPreconditionError(
                                 base::StrCat("no list version was in force at ",
                                              base::FormatRfc3339({at_us}), "; failing closed")));
      }
      auto matcher = (*store)->LoadMatcher((*version)->id);
      if (!matcher.ok()) return Fail("privileged check", matcher.status());
      identity::Normalizer normalizer(f->country);
      std::vector<identity::Reading> readings =
          normalizer.Readings(f->identity, {.country = f->country});
      if (readings.empty()) {
        return Fail(
            "check",
            absl::InvalidArgumentError("the identity holds no telephone number, SIP URI or e-mail "
                                       "address"),
            2);
      }
      std::optional<privileged::Match> m = (*matcher)->MatchReadings(readings, at_us);
      nlohmann::ordered_json out;
      out["match"] = m.has_value();
      // The reading that matched; else the number reading (what a user checking a number
      // expects to see); else the first.
      std::string normalized = readings[0].value;
      bool chosen = false;
      for (const identity::Reading& r : readings) {
        if (m && (*matcher)->MatchReadings(std::span<const identity::Reading>(&r, 1), at_us)) {
          normalized = r.value;
          chosen = true;
          break;
        }
      }
      for (const identity::Reading& r : readings) {
        if (chosen) break;
        if (r.kind == identity::Reading::Kind::kNumber) {
          normalized = r.value;
          break;
        }
      }
      out["normalized"] = normalized;
      nlohmann::ordered_json rs = nlohmann::ordered_json::array();
      for (const identity::Reading& r : readings) {
        rs.push_back({{"kind", KindName(r.kind)}, {"value", r.value}});
      }
      out["readings"] = rs;
      out["entry_type"] = m ? nlohmann::ordered_json(privileged::EntryTypeName(m->type))
                            : nlohmann::ordered_json(nullptr);
      out["list_version"] = (*version)->id;
      out["at"] = base::FormatRfc3339({at_us});
      std::cout << out.dump() << "\n";
      if (f->at.empty() && privileged::IsStale(**version, at_us)) {
        std::fprintf(stderr,
                     "tapvault privileged check: warning: the list in force was delivered more "
                     "than 36 h ago (stale)\n");
      }
      return 0;
    };
  });
}

void AddDecision(CLI::App& parent, std::function<int()>& run, bool confirm) {
  const char* name = confirm ? "confirm" : "reject";
  auto* cmd = parent.add_subcommand(
      name, confirm ? "Put a held version in force (four-eyes: not by who imported it)"
                    : "Refuse a held version; the version in force stays");
  struct Flags {
    std::string data;
    LoginFlags login;
    uint64_t version = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds privileged.db)")->required();
  cmd->add_option("--version", f->version, "The held version")->required();
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, f, confirm, name] {
    run = [f, confirm, name] {
      auto store = OpenList(f->data, Access::kWrite);
      if (!store.ok()) return Fail(std::string("privileged ") + name, store.status(), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kListConfirm);
      if (!who.ok()) return Fail(std::string("privileged ") + name, who.status());
      const std::string& by = who->name;
      int64_t now = base::Now().unix_us;
      absl::StatusOr<VersionInfo> v = absl::UnknownError("not run");
      absl::Status audited = RunAudited(
          f->data,
          {.actor = by,
           .role = RoleOf(*who, access::Action::kListConfirm),
           .action = confirm ? "list_confirm" : "list_reject",
           .object = base::StrCat("list:", f->version)},
          [&](nlohmann::json&) {
            v = confirm ? (*store)->Confirm(f->version, by, now)
                        : (*store)->Reject(f->version, by, now);
            return v.status();
          });
      if (!audited.ok() && v.ok()) return Fail(std::string("privileged ") + name, audited);
      if (!v.ok() && absl::IsUnknown(v.status()) && !audited.ok()) return Fail(std::string("privileged ") + name, audited, 2);
      if (!v.ok()) {
        return Fail(std::string("privileged ") + name, v.status(),
                    v.status().code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
      }
      std::cout << VersionJson(*v).dump() << "\n";
      return 0;
    };
  });
}

void AddVersions(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "versions", "Every version of the list, oldest first, one JSON object per line (no entries)");
  auto data = std::make_shared<std::string>();
  cmd->add_option("--data", *data, "Data directory (holds privileged.db)")->required();
  cmd->callback([&run, data] {
    run = [data] {
      auto store = OpenList(*data, Access::kRead);
      if (!store.ok()) return Fail("privileged versions", store.status(), 2);
      auto versions = (*store)->Versions();
      if (!versions.ok()) return Fail("privileged versions", versions.status());
      int64_t now = base::Now().unix_us;
      for (const VersionInfo& v : *versions) {
        nlohmann::ordered_json j = VersionJson(v);
        if (v.status == "active") j["stale"] = privileged::IsStale(v, now);
        std::cout << j.dump() << "\n";
      }
      return 0;
    };
  });
}

void AddDiff(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "diff",
      "What a version adds and removes against the version in force when it was imported: counts "
      "per entry type (entries are never shown)");
  struct Flags {
    std::string data;
    uint64_t version = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds privileged.db)")->required();
  cmd->add_option("--version", f->version, "The version")->required();
  cmd->callback([&run, f] {
    run = [f] {
      auto store = OpenList(f->data, Access::kRead);
      if (!store.ok()) return Fail("privileged diff", store.status(), 2);
      auto diff = (*store)->DiffOf(f->version);
      if (!diff.ok()) return Fail("privileged diff", diff.status());
      auto counts = [](const std::vector<privileged::Entry>& entries) {
        nlohmann::ordered_json by_type;
        for (auto t : {privileged::EntryType::kNumber, privileged::EntryType::kPrefix,
                       privileged::EntryType::kRange, privileged::EntryType::kUri,
                       privileged::EntryType::kEmail}) {
          by_type[std::string(privileged::EntryTypeName(t))] = 0;
        }
        for (const privileged::Entry& e : entries) {
          auto& n = by_type[std::string(privileged::EntryTypeName(e.type))];
          n = n.get<uint64_t>() + 1;
        }
        return nlohmann::ordered_json{{"total", entries.size()}, {"by_type", by_type}};
      };
      nlohmann::ordered_json out;
      out["version"] = f->version;
      out["base"] =
          diff->base == 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(diff->base);
      out["added"] = counts(diff->added);
      out["removed"] = counts(diff->removed);
      std::cout << out.dump() << "\n";
      return 0;
    };
  });
}

void AddStatus(CLI::App& parent, std::function<int()>& run) {
  auto* cmd = parent.add_subcommand(
      "status",
      "The version in force, its age and versions waiting for confirmation (JSON). Exit 0 fresh, "
      "1 no list, 4 stale (older than --max-age-hours): for monitoring");
  struct Flags {
    std::string data;
    double max_age_hours = 36;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Data directory (holds privileged.db)")->required();
  cmd->add_option("--max-age-hours", f->max_age_hours, "Age at which the list is stale")
      ->capture_default_str();
  cmd->callback([&run, f] {
    run = [f] {
      if (!(f->max_age_hours > 0)) {
        return Fail("privileged status", absl::InvalidArgumentError("--max-age-hours must be > 0"), 2);
      }
      auto store = OpenList(f->data, Access::kRead);
      if (!store.ok()) return Fail("privileged status", store.status());
      auto versions = (*store)->Versions();
      if (!versions.ok()) return Fail("privileged status", versions.status());
      const int64_t now = base::Now().unix_us;
      const auto max_age_us = static_cast<int64_t>(f->max_age_hours * 3600e6);
      nlohmann::ordered_json out;
      out["active"] = nullptr;
      nlohmann::ordered_json held = nlohmann::ordered_json::array();
      bool stale = true;
      for (const VersionInfo& v : *versions) {
        if (v.status == "held") held.push_back(v.id);
        if (v.status != "active") continue;
        stale = privileged::IsStale(v, now, max_age_us);
        out["active"] = v.id;
        out["imported"] = base::JsonTimeOrNull(v.imported_us);
        out["age_hours"] = static_cast<double>(now - v.imported_us) / 3600e6;
        out["entries"] = v.entries;
      }
      out["stale"] = stale;
      out["held"] = held;
      std::cout << out.dump() << "\n";
      if (out["active"].is_null()) {
        std::fprintf(stderr, "tapvault privileged status: no list in force (failing closed)\n");
        return 1;
      }
      return stale ? 4 : 0;
    };
  });
}

}  // namespace

void AddPrivilegedCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd =
      app.add_subcommand("privileged",
                         "The privileged-party list (lawyers and other holders of a right of "
                         "non-disclosure): import, check, confirm, reject, versions, diff, status");
  cmd->require_subcommand(1);
  AddImport(*cmd, run);
  AddCheck(*cmd, run);
  AddDecision(*cmd, run, /*confirm=*/true);
  AddDecision(*cmd, run, /*confirm=*/false);
  AddVersions(*cmd, run);
  AddDiff(*cmd, run);
  AddStatus(*cmd, run);
}

}  // namespace tapvault::cli
