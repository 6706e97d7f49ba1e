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

int Fail(std::string_view cmd, const absl::Status& s, int code) {
  std::fprintf(stderr, "tapvault %.*s: %.*s\n", static_cast<int>(cmd.size()), cmd.data(),
               static_cast<int>(s.message().size()), s.message().data());
  return code;
}

std::string DefaultActor() {
  for (const char* var : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v != nullptr && *v != '\0') return v;
  }
  return "operator";
}

std::string CommObject(uint64_t comm_id) { return base::StrCat("comm:", comm_id); }

absl::StatusOr<CliGate> OpenCliGate(const std::string& dir) {
  CliGate g;
  auto f = filter::Filter::Open({.dir = dir, .read_only = true});
  if (f.ok()) {
    g.filter = std::move(*f);
    ASSIGN_OR_RETURN(g.assignment, filter::AssignedScreener::Open({.dir = dir}, *g.filter));
  }
  ASSIGN_OR_RETURN(g.audit, gate::StoreAudit::Open(dir, ""));
  ASSIGN_OR_RETURN(g.gate, gate::ReadGate::Open({.dir = dir, .recheck = g.assignment.get(),
                                                 .audit = g.audit.get()}));
  return g;
}

absl::Status RunAudited(const std::string& dir, audit::Event intent,
                        const std::function<absl::Status(nlohmann::json& detail)>& act) {
  ASSIGN_OR_RETURN(auto log, gate::StoreAudit::Open(dir, ""));
  intent.outcome = "requested";
  if (intent.detail.is_null()) intent.detail = nlohmann::json::object();
  RETURN_IF_ERROR(log->Record(intent).status());
  audit::Event outcome = intent;
  absl::Status done = act(outcome.detail);
  outcome.at_us = 0;
  outcome.outcome = done.ok() ? "ok" : "failed";
  if (!done.ok() && outcome.detail.is_object()) outcome.detail["error"] = base::View(done.message());
  if (absl::Status s = log->Record(outcome).status(); !s.ok() && done.ok()) {
    return absl::DataLossError(base::StrCat(outcome.action, " was carried out but its outcome could "
                                            "not be recorded in the audit log: ",
                                            base::View(s.message())));
  }
  return done;
}

void AddFlagCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "flag", "Mark a communication privileged at once (any authorised user); it is unreadable "
              "until a prosecutor decides");
  struct Flags {
    std::string data, reason, by;
    uint64_t comm = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--comm", f->comm, "Communication id (from comms list)")->required();
  cmd->add_option("--reason", f->reason, "Why (optional)");
  cmd->add_option("--by", f->by, "Who flags it (default: the login name)");
  cmd->callback([&run, f] {
    run = [f] {
      store::DecisionOrder o;
      o.act = store::DecisionOrder::Act::kFlag;
      o.comm_id = f->comm;
      o.reason = f->reason;
      o.by = f->by.empty() ? DefaultActor() : f->by;
      std::string result;
      absl::Status s = RunAudited(f->data,
                                  {.actor = o.by, .action = "flag", .object = CommObject(o.comm_id),
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
    std::string data, reason, order, by;
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
  cmd->add_option("--by", f->by, "Who decides (default: the login name)");
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
      o.by = f->by.empty() ? DefaultActor() : f->by;
      std::string result;
      absl::Status s = RunAudited(
          f->data,
          {.actor = o.by, .action = f->confirm ? "decide_confirm" : "decide_release",
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
    std::string data, out, by;
    uint64_t comm = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  cmd->add_option("--comm", f->comm, "Communication id")->required();
  cmd->add_option("--out", f->out, "Write to this file (default: standard output)");
  cmd->add_option("--by", f->by, "Who reads (default: the login name)");
  cmd->callback([&run, f] {
    run = [f] {
      auto gate = OpenCliGate(f->data);
      if (!gate.ok()) return Fail("comms read", gate.status(), 2);
      auto records = gate->gate->ReadComm(
          f->comm, {.who = f->by.empty() ? DefaultActor() : f->by, .purpose = "cli"});
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
    std::string data, from, to, release_four_eyes;
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
      "policy", "Show or set the decision policy: whether releasing a privileged communication "
                "needs a second person (default on)");
  policy->add_option("--data", f->data, "Store directory")->required();
  policy->add_option("--release-four-eyes", f->release_four_eyes, "on or off")
      ->check(CLI::IsMember({"on", "off"}));
  policy->callback([&run, f] {
    run = [f] {
      const bool set = !f->release_four_eyes.empty();
      auto catalog = store::SqliteCatalog::Open(store::CatalogPath(f->data), false, !set);
      if (!catalog.ok()) return Fail("privileged policy", catalog.status(), 2);
      if (set) {
        absl::Status s = RunAudited(
            f->data,
            {.actor = DefaultActor(), .action = "config_change", .object = "policy:release_four_eyes",
             .detail = {{"release_four_eyes", f->release_four_eyes}}},
            [&](nlohmann::json&) { return (*catalog)->SetMeta("release_four_eyes", f->release_four_eyes); });
        if (!s.ok()) return Fail("privileged policy", s);
      }
      auto v = (*catalog)->GetMeta("release_four_eyes");
      if (!v.ok()) return Fail("privileged policy", v.status());
      nlohmann::json out;
      out["release_four_eyes"] = v->value_or("on") != "off";
      std::cout << out.dump() << "\n";
      return 0;
    };
  });
}

}  // namespace tapvault::cli
