// The four-eyes commands: `destroy` (a range or a whole case), `retention`, `export request` and
// switching a four-eyes policy off (`privileged policy ... off`, decision_commands.cc) only ask; a second, different person whose roles allow the same action approves with
// `approval approve`, which carries out destroy and retention at once, and lets the requester of
// an export fetch its file once (`export fetch`). The requests and their history are
// approval/ApprovalStore's (DIR/approvals.db); who may take part is access/'s; every step is in
// the store's audit log before it happens.
//
// Exit codes: 0 done (or asked); 1 refused or failed; 2 bad arguments.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "approval/approval_store.h"
#include "base/hex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "crypto/digest.h"
#include "nlohmann/json.hpp"
#include "store/catalog.h"
#include "store/store.h"

namespace tapvault::cli {
namespace {

constexpr const char* kDestroy = "destroy_range";
constexpr const char* kRetention = "retention_change";
constexpr const char* kExport = "export";
constexpr const char* kConfig = "config_change";
// The settings a config_change request may change (the decision policy's four-eyes switches).
bool IsFourEyesSetting(const std::string& key) {
  return key == "release_four_eyes" || key == "confirm_four_eyes";
}

absl::StatusOr<int64_t> ParseTime(const std::string& flag, const std::string& text) {
  auto t = base::ParseRfc3339(text);
  if (!t.ok()) return absl::InvalidArgumentError(base::StrCat(flag, ": ", base::View(t.status().message())));
  return t->unix_us;
}

absl::StatusOr<std::unique_ptr<approval::ApprovalStore>> OpenApprovals(const std::string& dir,
                                                                       bool create) {
  if (::access(store::CatalogPath(dir).c_str(), F_OK) != 0) {
    return absl::FailedPreconditionError(base::StrCat(dir, ": no store"));
  }
  return approval::ApprovalStore::Open(dir, create);
}

// The action of a request as access/ names it.
access::Action ActionOf(const std::string& name) {
  if (name == kDestroy) return access::Action::kDestroyRange;
  if (name == kRetention) return access::Action::kRetentionChange;
  if (name == kConfig) return access::Action::kConfigChange;
  return access::Action::kExport;
}

// Whether `who` may take part in request `r` (ask, approve, fetch): the role for its action and,
// for an export, the team and warrant of the communication. A refusal is in the audit log.
absl::Status MayTakePart(const std::string& dir, const access::Principal& who,
                         const approval::Request& r, gate::StoreAudit& audit) {
  const access::Action action = ActionOf(r.action);
  if (action == access::Action::kExport) {
    return AuthorizeOnComm(dir, who, action, r.params.value("comm", uint64_t{0}), audit);
  }
  absl::Status may = access::Authorize(who, action, {.now_us = base::Now().unix_us});
  if (may.ok()) return may;
  RETURN_IF_ERROR(audit.Record({.actor = who.name, .action = "refused",
                                .object = base::StrCat("approval:", r.id), .outcome = "refused",
                                .detail = {{"reason", base::View(may.message())},
                                           {"action", r.action}}})
                      .status());
  return may;
}

}  // namespace

int AskForApproval(const std::string& cmd, const std::string& dir, const access::Principal& who,
        const char* action, const std::string& object, const nlohmann::json& params,
        const std::string& reason) {
  uint64_t id = 0;
  absl::Status s = RunAudited(
      dir,
      {.actor = who.name, .role = RoleOf(who, ActionOf(action)),
       .action = base::StrCat(action, "_request"), .object = object,
       .detail = {{"params", params}, {"reason", reason}}},
      [&](nlohmann::json& detail) -> absl::Status {
        ASSIGN_OR_RETURN(auto approvals, OpenApprovals(dir, /*create=*/true));
        ASSIGN_OR_RETURN(id, approvals->Submit(action, object, params, reason, who.name,
                                               base::Now().unix_us, approval::kDefaultTtlUs));
        detail["request"] = id;
        return absl::OkStatus();
      });
  if (!s.ok()) return Fail(cmd, s, s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1);
  std::cout << nlohmann::ordered_json{{"request", id}, {"action", action}, {"object", object},
                                      {"status", "pending"}}
                   .dump()
            << "\n";
  std::fprintf(stderr,
               "waiting for a second person (not %s) with the same right: tapvault approval "
               "approve --data %s --request %llu\n",
               who.name.c_str(), dir.c_str(), static_cast<unsigned long long>(id));
  return 0;
}

namespace {

absl::StatusOr<store::DestroyOrder> DestroyOrderOf(const approval::Request& r) {
  const nlohmann::json& p = r.params;
  store::DestroyOrder o;
  try {
    if (p.contains("comm")) o.comm_id = p.at("comm").get<uint64_t>();
    if (p.contains("liid")) o.liid = p.at("liid").get<std::string>();
    if (p.contains("from_us")) o.from_us = p.at("from_us").get<int64_t>();
    if (p.contains("to_us")) o.to_us = p.at("to_us").get<int64_t>();
    o.order_ref = p.at("order").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(base::StrCat("approval ", r.id, ": parameters unreadable: ", e.what()));
  }
  o.reason = r.reason;
  o.ordered_by = r.requested_by;
  return o;
}

// Carries out an approved destroy or retention request; the result goes into its history.
absl::StatusOr<nlohmann::json> Execute(const std::string& dir, const approval::Request& r) {
  if (r.action == kDestroy) {
    ASSIGN_OR_RETURN(store::DestroyOrder o, DestroyOrderOf(r));
    ASSIGN_OR_RETURN(store::DestroyResult d, store::SubmitOrRunDestroy(dir, o));
    return nlohmann::json::parse(store::DestroyResultJson(d));
  }
  ASSIGN_OR_RETURN(auto catalog, store::SqliteCatalog::Open(store::CatalogPath(dir), false));
  if (r.action == kConfig) {
    const std::string key = r.params.value("key", "");
    const std::string value = r.params.value("value", "");
    if (!IsFourEyesSetting(key) || (value != "on" && value != "off")) {
      return absl::DataLossError(base::StrCat("approval ", r.id, ": parameters unreadable"));
    }
    RETURN_IF_ERROR(catalog->SetMeta(key, value));
    return nlohmann::json{{"key", key}, {"value", value}};
  }
  const std::string liid = r.params.value("liid", "");
  const int64_t days = r.params.value("days", int64_t{-1});
  if (liid.empty() || days < 0) {
    return absl::DataLossError(base::StrCat("approval ", r.id, ": parameters unreadable"));
  }
  RETURN_IF_ERROR(catalog->SetRetention(liid, days));
  return nlohmann::json{{"liid", liid}, {"days", days}};
}

void AddDestroy(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "destroy", "Ask to crypto-shred a communication, a time range of one, or a whole case; a "
                 "second administrator carries it out with `approval approve` (signed destruction "
                 "record)");
  struct Flags {
    std::string data, liid, from, to, order, reason;
    LoginFlags login;
    uint64_t comm = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  auto* comm = cmd->add_option("--comm", f->comm, "Communication id (from comms list)");
  auto* liid = cmd->add_option("--liid", f->liid, "Every communication of this LIID");
  comm->excludes(liid);
  cmd->add_option("--from", f->from, "Only records received at or after (RFC 3339)");
  cmd->add_option("--to", f->to, "Only records received at or before (RFC 3339)");
  cmd->add_option("--order", f->order, "Reference of the destruction order")->required();
  cmd->add_option("--reason", f->reason, "Reason, as the order gives it")->required();
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, cmd, f] {
    run = [cmd, f] {
      nlohmann::json params = {{"order", f->order}};
      std::string object;
      if (cmd->count("--comm")) {
        params["comm"] = f->comm;
        object = CommObject(f->comm);
      } else if (cmd->count("--liid")) {
        params["liid"] = f->liid;
        object = "liid:" + f->liid;
      } else {
        return Fail("destroy", absl::InvalidArgumentError("give --comm ID or --liid L"), 2);
      }
      for (auto [flag, text, key] : {std::tuple{"--from", &f->from, "from_us"},
                                     std::tuple{"--to", &f->to, "to_us"}}) {
        if (text->empty()) continue;
        auto t = ParseTime(flag, *text);
        if (!t.ok()) return Fail("destroy", t.status(), 2);
        params[key] = *t;
      }
      auto who = LoginFor(f->data, f->login, access::Action::kDestroyRange);
      if (!who.ok()) return Fail("destroy", who.status());
      return AskForApproval("destroy", f->data, *who, kDestroy, object, params, f->reason);
    };
  });
}

void AddRetention(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "retention", "Ask to set a case's retention (records older than DAYS are destroyed "
                   "automatically); a second administrator makes it so with `approval approve`");
  struct Flags {
    std::string data, liid, reason;
    LoginFlags login;
    int64_t days = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--liid", f->liid, "The case")->required();
  cmd->add_option("--days", f->days, "Days to keep (0 = until destroyed by order)")->required();
  cmd->add_option("--reason", f->reason, "Why (e.g. the prosecutor's instruction)")->required();
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, f] {
    run = [f] {
      if (f->days < 0) return Fail("retention", absl::InvalidArgumentError("--days must be >= 0"), 2);
      auto who = LoginFor(f->data, f->login, access::Action::kRetentionChange);
      if (!who.ok()) return Fail("retention", who.status());
      return AskForApproval("retention", f->data, *who, kRetention, "liid:" + f->liid,
                 {{"liid", f->liid}, {"days", f->days}}, f->reason);
    };
  });
}

void AddExport(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "export", "Take a communication's content out of the store, with four eyes: a prosecutor "
                "asks, a second prosecutor approves, the first fetches the file once");
  cmd->require_subcommand(1);
  {
    auto* req = cmd->add_subcommand("request", "Ask to export a communication's content");
    struct Flags {
      std::string data, reason;
      LoginFlags login;
      uint64_t comm = 0;
    };
    auto f = std::make_shared<Flags>();
    req->add_option("--data", f->data, "Store directory")->required();
    req->add_option("--comm", f->comm, "Communication id")->required();
    req->add_option("--reason", f->reason, "What the export is for")->required();
    AddLoginFlags(req, f->login);
    req->callback([&run, f] {
      run = [f] {
        auto audit = gate::StoreAudit::Open(f->data, "");
        if (!audit.ok()) return Fail("export request", audit.status());
        auto who = CliLogin(f->data, f->login, **audit);
        if (!who.ok()) return Fail("export request", who.status());
        absl::Status may =
            AuthorizeOnComm(f->data, *who, access::Action::kExport, f->comm, **audit);
        if (!may.ok()) return Fail("export request", may);
        return AskForApproval("export request", f->data, *who, kExport, CommObject(f->comm),
                   {{"comm", f->comm}}, f->reason);
      };
    });
  }
  {
    auto* fetch = cmd->add_subcommand(
        "fetch", "Write the content of an approved export to a new file (once; by its requester)");
    struct Flags {
      std::string data, out;
      LoginFlags login;
      uint64_t request = 0;
    };
    auto f = std::make_shared<Flags>();
    fetch->add_option("--data", f->data, "Store directory")->required();
    fetch->add_option("--request", f->request, "The approved export request")->required();
    fetch->add_option("--out", f->out, "The file to write (must not exist; made 0600)")->required();
    AddLoginFlags(fetch, f->login);
    fetch->callback([&run, f] {
      run = [f] {
        auto gate = OpenCliGate(f->data);
        if (!gate.ok()) return Fail("export fetch", gate.status());
        auto who = CliLogin(f->data, f->login, *gate->audit);
        if (!who.ok()) return Fail("export fetch", who.status());
        auto approvals = OpenApprovals(f->data, false);
        if (!approvals.ok()) return Fail("export fetch", approvals.status());
        const int64_t now = base::Now().unix_us;
        auto r = (*approvals)->Get(f->request, now);
        if (!r.ok()) return Fail("export fetch", r.status());
        if (r->action != kExport) {
          return Fail("export fetch", absl::InvalidArgumentError(base::StrCat(
                                          "request ", f->request, " is not an export")), 2);
        }
        if (r->requested_by != who->name) {
          return Fail("export fetch", absl::PermissionDeniedError(base::StrCat(
                                          "only ", r->requested_by, " fetches export ", f->request)));
        }
        if (r->state != approval::State::kApproved) {
          return Fail("export fetch", absl::FailedPreconditionError(base::StrCat(
                                          "export ", f->request, " is ",
                                          approval::StateName(r->state), ", not approved")));
        }
        // The warrant and team are checked again now: an approval does not outlive the access.
        if (absl::Status may = MayTakePart(f->data, *who, *r, *gate->audit); !may.ok()) {
          return Fail("export fetch", may);
        }
        const uint64_t comm_id = r->params.value("comm", uint64_t{0});
        nlohmann::json manifest;
        absl::Status s = RunAudited(
            f->data,
            {.actor = who->name, .role = access::ActingRole(*who, access::Action::kExport),
             .action = "export", .object = CommObject(comm_id),
             .detail = {{"request", f->request}, {"file", f->out}}},
            [&](nlohmann::json& detail) -> absl::Status {
              ASSIGN_OR_RETURN(auto records,
                               gate->gate->ReadComm(
                                   comm_id, {.who = who->name,
                                             .role = access::ActingRole(*who, access::Action::kExport),
                                             .purpose = base::StrCat("export:", f->request)}));
              std::string bytes;
              for (const auto& rec : records) bytes.append(rec.pdu.data(), rec.pdu.size());
              int fd = ::open(f->out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
              if (fd < 0) {
                return absl::FailedPreconditionError(
                    base::StrCat(f->out, ": ", std::strerror(errno)));
              }
              size_t done = 0;
              while (done < bytes.size()) {
                ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
                if (n < 0 && errno == EINTR) continue;
                if (n <= 0) break;
                done += static_cast<size_t>(n);
              }
              const bool written = done == bytes.size() && ::fsync(fd) == 0;
              ::close(fd);
              if (!written) {
                ::unlink(f->out.c_str());
                return absl::UnavailableError(base::StrCat(f->out, ": write failed"));
              }
              const auto digest = crypto::Sha256(
                  {std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())});
              manifest = {{"request", f->request},
                          {"comm", comm_id},
                          {"file", f->out},
                          {"bytes", bytes.size()},
                          {"records", records.size()},
                          {"sha256", base::ToHex(std::as_bytes(std::span(digest)))}};
              detail["sha256"] = manifest["sha256"];
              detail["bytes"] = bytes.size();
              auto finished = (*approvals)->Finish(f->request, who->name, true, manifest,
                                                   base::Now().unix_us);
              if (!finished.ok()) {
                ::unlink(f->out.c_str());
                return finished.status();
              }
              return absl::OkStatus();
            });
        if (!s.ok()) return Fail("export fetch", s);
        std::cout << manifest.dump() << "\n";
        return 0;
      };
    });
  }
}

void AddApproval(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "approval", "Four-eyes requests (destroy, retention, export, switching a four-eyes policy "
                  "off): list, show, approve, reject, withdraw");
  cmd->require_subcommand(1);
  {
    auto* list = cmd->add_subcommand("list", "Requests the logged-in user may take part in (JSON)");
    struct Flags {
      std::string data, status;
      LoginFlags login;
    };
    auto f = std::make_shared<Flags>();
    list->add_option("--data", f->data, "Store directory")->required();
    list->add_option("--status", f->status, "Only this status (pending, approved, executed, ...)");
    AddLoginFlags(list, f->login);
    list->callback([&run, f] {
      run = [f] {
        auto audit = gate::StoreAudit::Open(f->data, "");
        if (!audit.ok()) return Fail("approval list", audit.status());
        auto who = CliLogin(f->data, f->login, **audit);
        if (!who.ok()) return Fail("approval list", who.status());
        auto approvals = OpenApprovals(f->data, false);
        if (!approvals.ok() && approvals.status().code() == absl::StatusCode::kNotFound) {
          std::cout << "[]\n";
          return 0;
        }
        if (!approvals.ok()) return Fail("approval list", approvals.status());
        std::optional<approval::State> status;
        if (!f->status.empty()) {
          status = approval::ParseState(f->status);
          if (!status) {
            return Fail("approval list",
                        absl::InvalidArgumentError("--status: unknown state " + f->status), 2);
          }
        }
        auto rs = (*approvals)->List(base::Now().unix_us, status);
        if (!rs.ok()) return Fail("approval list", rs.status());
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const approval::Request& r : *rs) {
          const access::Action action = ActionOf(r.action);
          bool may = access::Authorize(*who, action, {.now_us = base::Now().unix_us}).ok();
          if (action == access::Action::kExport) {
            auto ca = CommAccessFor(f->data, *who, action, r.params.value("comm", uint64_t{0}));
            may = ca.ok() && access::Authorize(*who, action, ca->scope).ok();
          }
          if (may) out.push_back(approval::RequestJson(r));
        }
        absl::Status recorded =
            (*audit)->Record({.actor = who->name, .role = RoleOf(*who, std::nullopt),
                              .action = "approval_list", .object = "approvals",
                              .outcome = "ok", .detail = {{"status", f->status}, {"rows", out.size()}}})
                .status();
        if (!recorded.ok()) return Fail("approval list", recorded);
        std::cout << out.dump(2) << "\n";
        return 0;
      };
    });
  }
  enum class Verb { kShow, kApprove, kReject, kWithdraw };
  for (Verb verb : {Verb::kShow, Verb::kApprove, Verb::kReject, Verb::kWithdraw}) {
    const char* name = verb == Verb::kShow      ? "show"
                       : verb == Verb::kApprove ? "approve"
                       : verb == Verb::kReject  ? "reject"
                                                : "withdraw";
    const char* help =
        verb == Verb::kShow ? "One request with its history (JSON)"
        : verb == Verb::kApprove
            ? "Approve another person's request (destroy, retention and policy changes are "
              "carried out at once)"
        : verb == Verb::kReject ? "Refuse another person's pending request"
                                : "Take back one's own request";
    auto* sub = cmd->add_subcommand(name, help);
    struct Flags {
      std::string data, reason;
      LoginFlags login;
      uint64_t request = 0;
    };
    auto f = std::make_shared<Flags>();
    sub->add_option("--data", f->data, "Store directory")->required();
    sub->add_option("--request", f->request, "Request id")->required();
    if (verb == Verb::kReject) sub->add_option("--reason", f->reason, "Why")->required();
    AddLoginFlags(sub, f->login);
    const std::string label = base::StrCat("approval ", name);
    sub->callback([&run, f, verb, label] {
      run = [f, verb, label] {
        auto audit = gate::StoreAudit::Open(f->data, "");
        if (!audit.ok()) return Fail(label, audit.status());
        auto who = CliLogin(f->data, f->login, **audit);
        if (!who.ok()) return Fail(label, who.status());
        auto approvals = OpenApprovals(f->data, false);
        if (!approvals.ok()) return Fail(label, approvals.status());
        auto r = (*approvals)->Get(f->request, base::Now().unix_us);
        if (!r.ok()) return Fail(label, r.status());
        if (verb != Verb::kWithdraw || r->requested_by != who->name) {
          if (absl::Status may = MayTakePart(f->data, *who, *r, **audit); !may.ok()) {
            return Fail(label, may);
          }
        }
        if (verb == Verb::kShow) {
          absl::Status recorded =
              (*audit)->Record({.actor = who->name, .role = RoleOf(*who, ActionOf(r->action)),
                                .action = "approval_show",
                                .object = base::StrCat("approval:", r->id), .outcome = "ok"})
                  .status();
          if (!recorded.ok()) return Fail(label, recorded);
          std::cout << approval::RequestJson(*r).dump(2) << "\n";
          return 0;
        }
        const std::string action =
            base::StrCat(r->action, verb == Verb::kApprove  ? "_approve"
                                    : verb == Verb::kReject ? "_reject"
                                                            : "_withdraw");
        approval::Request after = *r;
        absl::Status s = RunAudited(
            f->data,
            {.actor = who->name, .role = RoleOf(*who, ActionOf(r->action)), .action = action,
             .object = r->object,
             .detail = {{"request", r->id}, {"requested_by", r->requested_by}}},
            [&](nlohmann::json& detail) -> absl::Status {
              const int64_t now = base::Now().unix_us;
              if (verb == Verb::kReject) {
                ASSIGN_OR_RETURN(after, (*approvals)->Reject(r->id, who->name, f->reason, now));
                return absl::OkStatus();
              }
              if (verb == Verb::kWithdraw) {
                ASSIGN_OR_RETURN(after, (*approvals)->Withdraw(r->id, who->name, now));
                return absl::OkStatus();
              }
              ASSIGN_OR_RETURN(after, (*approvals)->Approve(r->id, who->name, now));
              if (after.action == kExport) return absl::OkStatus();  // the requester fetches it
              absl::StatusOr<nlohmann::json> result = Execute(f->data, after);
              nlohmann::json outcome =
                  result.ok() ? *result
                              : nlohmann::json{{"error", base::View(result.status().message())}};
              detail["result"] = outcome;
              ASSIGN_OR_RETURN(after, (*approvals)->Finish(r->id, who->name, result.ok(), outcome,
                                                           base::Now().unix_us));
              return result.status();
            });
        if (!s.ok()) return Fail(label, s);
        std::cout << approval::RequestJson(after).dump(2) << "\n";
        return 0;
      };
    });
  }
}

}  // namespace

void AddFourEyesCommands(CLI::App& app, std::function<int()>& run) {
  AddDestroy(app, run);
  AddRetention(app, run);
  AddExport(app, run);
  AddApproval(app, run);
}

}  // namespace tapvault::cli
