// `tapvault flag`, `tapvault decide` and `tapvault comms read`: people's decisions about
// communications and the CLI's one way to content, through the read gate. Flags only; the work
// is done by store/ (decisions), gate/ (reads) and filter/ (the privileged-party filter).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "cli/cli_support.h"
#include "cli/commands.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "filter/filter.h"
#include "filter/oversight.h"
#include "gate/read_gate.h"
#include "nlohmann/json.hpp"
#include "store/store.h"

namespace tapvault::cli {

namespace {

// The user acting in a decision about communication `comm_id`, authorised for `action` on it
// (login and refusal both in the audit log).
absl::StatusOr<access::Principal> Login(const std::string& dir, const LoginFlags& login,
                                        access::Action action, uint64_t comm_id) {
  ASSIGN_OR_RETURN(auto audit, gate::StoreAudit::Open(dir, ""));
  ASSIGN_OR_RETURN(access::Principal who, CliLogin(dir, login, *audit));
  RETURN_IF_ERROR(AuthorizeOnComm(dir, who, action, comm_id, *audit));
  return who;
}

}  // namespace

void AddFlagCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "flag", "Mark a communication privileged at once (any authorised user); it is unreadable "
              "until a prosecutor decides");
  struct Flags {
    std::string data, reason;
    LoginFlags login;
    uint64_t comm = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--comm", f->comm, "Communication id (from comms list)")->required();
  cmd->add_option("--reason", f->reason, "Why (optional)");
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, f] {
    run = [f] {
      store::DecisionOrder o;
      o.act = store::DecisionOrder::Act::kFlag;
      o.comm_id = f->comm;
      o.reason = f->reason;
      auto who = Login(f->data, f->login, access::Action::kFlag, f->comm);
      if (!who.ok()) return Fail("flag", who.status(), who.status().code() == absl::StatusCode::kNotFound ? 2 : 1);
      o.by = who->name;
      std::string result;
      absl::Status s = RunAudited(f->data,
                                  {.actor = o.by, .role = access::ActingRole(*who, access::Action::kFlag),
                                   .action = "flag", .object = CommObject(o.comm_id),
                                   .detail = {{"reason", o.reason}}},
                                  [&](nlohmann::json&) -> absl::Status {
                                    ASSIGN_OR_RETURN(auto r, store::SubmitOrRunDecide(f->data, o));
                                    result = store::DecisionResultJson(r);
                                    return absl::OkStatus();
                                  });
      if (!s.ok()) return Fail("flag", s);
      std::cout << nlohmann::json::parse(result).dump(2) << "\n";
      return 0;
    };
  });
}

void AddDecideCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "decide", "The prosecutor's decision on a privileged communication: --confirm destroys it "
                "(crypto-shredding and a signed proces-verbaal in the log); --release makes it "
                "readable (a reason is required and, by default, a second person)");
  struct Flags {
    std::string data, reason, order;
    LoginFlags login;
    uint64_t comm = 0;
    bool confirm = false, release = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--comm", f->comm, "Communication id (from comms list --state privileged)")
      ->required();
  auto* confirm = cmd->add_flag("--confirm", f->confirm, "Confirm privileged: destroy it");
  auto* release = cmd->add_flag("--release", f->release, "Release it (with --reason)");
  confirm->excludes(release);
  cmd->add_option("--reason", f->reason, "Reason (required with --release)");
  cmd->add_option("--order", f->order, "Reference of the prosecutor's order")->required();
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, f] {
    run = [f] {
      if (f->confirm == f->release) {
        return Fail("decide", absl::InvalidArgumentError("give --confirm or --release"), 2);
      }
      if (f->release && f->reason.empty()) {
        return Fail("decide", absl::InvalidArgumentError("--release needs --reason"), 2);
      }
      store::DecisionOrder o;
      o.act = f->confirm ? store::DecisionOrder::Act::kConfirm : store::DecisionOrder::Act::kRelease;
      o.comm_id = f->comm;
      o.order_ref = f->order;
      o.reason = f->reason;
      const access::Action act =
          f->confirm ? access::Action::kConfirmDestruction : access::Action::kApproveRelease;
      auto who = Login(f->data, f->login, act, f->comm);
      if (!who.ok()) return Fail("decide", who.status(), who.status().code() == absl::StatusCode::kNotFound ? 2 : 1);
      o.by = who->name;
      std::string result;
      absl::Status s = RunAudited(
          f->data,
          {.actor = o.by, .role = access::ActingRole(*who, act),
           .action = f->confirm ? "decide_confirm" : "decide_release",
           .object = CommObject(o.comm_id),
           .detail = {{"order", o.order_ref}, {"reason", o.reason}}},
          [&](nlohmann::json&) -> absl::Status {
            ASSIGN_OR_RETURN(auto r, store::SubmitOrRunDecide(f->data, o));
            result = store::DecisionResultJson(r);
            return absl::OkStatus();
          });
      if (!s.ok()) return Fail("decide", s);
      std::cout << nlohmann::json::parse(result).dump(2) << "\n";
      return 0;
    };
  });
}

void AddCommsReadCommand(CLI::App& comms, std::function<int()>& run) {
  auto* cmd = comms.add_subcommand(
      "read", "Every PDU of a communication, as received (back-to-back BER; `tapvault inspect -` "
              "decodes them): only when it is decided not privileged");
  struct Flags {
    std::string data, out;
    LoginFlags login;
    uint64_t comm = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--comm", f->comm, "Communication id")->required();
  cmd->add_option("--out", f->out, "Write to this file (default: standard output)");
  AddLoginFlags(cmd, f->login);
  cmd->callback([&run, f] {
    run = [f] {
      auto gate = OpenCliGate(f->data);
      if (!gate.ok()) return Fail("comms read", gate.status(), 2);
      auto who = CliLogin(f->data, f->login, *gate->audit);
      if (!who.ok()) return Fail("comms read", who.status());
      if (absl::Status may = AuthorizeOnComm(f->data, *who, access::Action::kReadContent, f->comm,
                                             *gate->audit);
          !may.ok()) {
        return Fail("comms read", may, may.code() == absl::StatusCode::kNotFound ? 2 : 1);
      }
      auto records = gate->gate->ReadComm(
          f->comm, {.who = who->name,
                    .role = access::ActingRole(*who, access::Action::kReadContent),
                    .purpose = "cli"});
      if (!records.ok()) return Fail("comms read", records.status());
      std::ofstream file;
      std::ostream* out = &std::cout;
      if (!f->out.empty()) {
        file.open(f->out, std::ios::binary | std::ios::trunc);
        if (!file) return Fail("comms read", absl::InvalidArgumentError("cannot write --out"), 2);
        out = &file;
      }
      for (const auto& r : *records) out->write(r.pdu.data(), static_cast<std::streamsize>(r.pdu.size()));
      out->flush();
      return *out ? 0 : 1;
    };
  });
}

void AddPrivilegedOversightCommands(CLI::App& app, std::function<int()>& run) {
  CLI::App* privileged = app.get_subcommand("privileged");
  auto* report = privileged->add_subcommand(
      "report", "Oversight figures for a period (bar association, auditors): recognised, blocked, "
                "destroyed, released, time to destruction, queues; counts only");
  struct Flags {
    std::string data, from, to, release_four_eyes, confirm_four_eyes, reason;
    LoginFlags login;
  };
  auto f = std::make_shared<Flags>();
  report->add_option("--data", f->data, "Store directory")->required();
  report->add_option("--from", f->from, "Start of the period (RFC 3339; default: the beginning)");
  report->add_option("--to", f->to, "End of the period (RFC 3339; default: now)");
  report->callback([&run, f] {
    run = [f] {
      int64_t from_us = 0, to_us = base::Now().unix_us;
      for (auto [text, out] : {std::pair{&f->from, &from_us}, std::pair{&f->to, &to_us}}) {
        if (text->empty()) continue;
        auto t = base::ParseRfc3339(*text);
        if (!t.ok()) return Fail("privileged report", t.status(), 2);
        *out = t->unix_us;
      }
      auto catalog = store::SqliteCatalog::Open(store::CatalogPath(f->data), false, true);
      if (!catalog.ok()) return Fail("privileged report", catalog.status(), 2);
      auto r = filter::OversightReport(**catalog, from_us, to_us);
      if (!r.ok()) return Fail("privileged report", r.status());
      std::cout << r->dump(2) << "\n";
      return 0;
    };
  });
  auto* policy = privileged->add_subcommand(
      "policy", "Show or set the decision policy: whether releasing a privileged communication, "
                "and confirming its destruction, need a second person (both default on; "
                "switching one off needs a second person too: `approval approve`)");
  policy->add_option("--data", f->data, "Store directory")->required();
  policy->add_option("--release-four-eyes", f->release_four_eyes, "on or off")
      ->check(CLI::IsMember({"on", "off"}));
  policy->add_option("--confirm-four-eyes", f->confirm_four_eyes, "on or off")
      ->check(CLI::IsMember({"on", "off"}));
  policy->add_option("--reason", f->reason, "Why (required to switch a safeguard off)");
  AddLoginFlags(policy, f->login);
  policy->callback([&run, f] {
    run = [f] {
      const bool set = !f->release_four_eyes.empty() || !f->confirm_four_eyes.empty();
      auto catalog = store::SqliteCatalog::Open(store::CatalogPath(f->data), false, !set);
      if (!catalog.ok()) return Fail("privileged policy", catalog.status(), 2);
      std::string by, role;
      if (set) {  // showing the policy is for anyone on the machine; changing it is not
        auto who = LoginFor(f->data, f->login, access::Action::kConfigChange);
        if (!who.ok()) return Fail("privileged policy", who.status());
        by = who->name;
        role = RoleOf(*who, access::Action::kConfigChange);
      }
      for (auto [key, value] : {std::pair{"release_four_eyes", &f->release_four_eyes},
                                std::pair{"confirm_four_eyes", &f->confirm_four_eyes}}) {
        if (value->empty()) continue;
        if (*value == "off") {
          // Switching a four-eyes safeguard off is itself a four-eyes change: one person alone
          // could otherwise take the second person out of every destruction.
          if (f->reason.empty()) {
            return Fail("privileged policy",
                        absl::InvalidArgumentError("switching four eyes off needs --reason"), 2);
          }
          auto who = LoginFor(f->data, f->login, access::Action::kConfigChange);
          if (!who.ok()) return Fail("privileged policy", who.status());
          int rc = AskForApproval("privileged policy", f->data, *who, "config_change",
                                  base::StrCat("policy:", key), {{"key", key}, {"value", "off"}},
                                  f->reason);
          if (rc != 0) return rc;
          continue;
        }
        absl::Status s = RunAudited(
            f->data,
            {.actor = by, .role = role, .action = "config_change",
             .object = base::StrCat("policy:", key), .detail = {{key, *value}}},
            [&](nlohmann::json&) { return (*catalog)->SetMeta(key, *value); });
        if (!s.ok()) return Fail("privileged policy", s);
      }
      nlohmann::json out;
      for (const char* key : {"release_four_eyes", "confirm_four_eyes"}) {
        auto v = (*catalog)->GetMeta(key);
        if (!v.ok()) return Fail("privileged policy", v.status());
        out[key] = v->value_or("on") != "off";
      }
      std::cout << out.dump() << "\n";
      return 0;
    };
  });
}

}  // namespace tapvault::cli
