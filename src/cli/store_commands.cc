// `tapvault init`, `comms list`, `keys rotate`, `proof`: the cold store's operator commands.
// Flags only; the work is done by store/.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <iostream>
#include <memory>
#include <string>

#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"
#include "cli/cli_support.h"
#include "cli/commands.h"
#include "filter/filter.h"
#include "gate/read_gate.h"
#include "nlohmann/json.hpp"
#include "store/catalog.h"
#include "store/store.h"
#include "tlog/dir_tile_store.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::cli {
namespace {

absl::StatusOr<int64_t> ParseTime(const std::string& text) {
  auto t = base::ParseRfc3339(text);
  if (!t.ok()) return t.status();
  return t->unix_us;
}

}  // namespace

void AddInitCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("init", "Create an empty cold store (catalog, Merkle log, keys)");
  struct Flags {
    std::string data, hsm, master_key_file, origin;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory (created; must not hold a store)")->required();
  cmd->add_option("--hsm", f->hsm,
                  "Master key in a PKCS#11 token (RFC 7512 URI with module-path; the PIN from "
                  "pin-source=file:..., pin-value=... or TAPVAULT_PKCS11_PIN; it is never stored)");
  cmd->add_option("--master-key-file", f->master_key_file,
                  "Master key file (mode 0600) outside the store; default DATA/keys/master.key");
  cmd->add_option("--origin", f->origin, "Merkle log origin line (default tapvault.local/<id>)");
  cmd->callback([&run, f] {
    run = [f] {
      if (!f->hsm.empty() && !f->master_key_file.empty()) {
        return Fail("init", absl::InvalidArgumentError("--hsm and --master-key-file exclude each other"), 2);
      }
      absl::Status s = store::InitStore(
          {.dir = f->data, .master_key = !f->hsm.empty() ? f->hsm : f->master_key_file, .origin = f->origin});
      if (!s.ok()) return Fail("init", s);
      auto vkey = store::SqliteCatalog::Open(store::CatalogPath(f->data), false, true);
      std::string key;
      if (vkey.ok()) {
        auto v = (*vkey)->GetMeta("verifier_key");
        if (v.ok() && *v) key = **v;
      }
      std::printf("initialised %s\nlog verifier key: %s\n", f->data.c_str(), key.c_str());
      return 0;
    };
  });
}

void AddCommsCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("comms", "Communications in the cold store");
  cmd->require_subcommand(1);
  AddCommsReadCommand(*cmd, run);
  auto* list = cmd->add_subcommand(
      "list", "List communications (metadata; parties are withheld unless the communication is "
              "readable)");
  struct Flags {
    LoginFlags login;
    std::string data, liid, party, from, to, state;
    uint64_t after = 0, limit = 0;
    bool json = false;
  };
  auto f = std::make_shared<Flags>();
  list->add_option("--data", f->data, "Store directory")->required();
  list->add_option("--liid", f->liid, "Only this LIID");
  list->add_option("--party", f->party, "Only communications with this party identity (exact)");
  list->add_option("--from", f->from, "Only communications active at or after (RFC 3339)");
  list->add_option("--to", f->to, "Only communications active at or before (RFC 3339)");
  list->add_option("--state", f->state,
                   "Only this state: available, quarantined, privileged (the prosecutor's queue) "
                   "or destroyed");
  list->add_option("--after", f->after, "Pagination: ids greater than this");
  list->add_option("--limit", f->limit, "At most this many (0 = all)");
  list->add_flag("--json", f->json, "JSON array (the only output format; accepted for clarity)");
  AddLoginFlags(list, f->login);
  list->callback([&run, f] {
    run = [f] {
      auto gate = OpenCliGate(f->data);
      if (!gate.ok()) return Fail("comms list", gate.status(), 2);
      auto who = CliLogin(f->data, f->login, *gate->audit);
      if (!who.ok()) return Fail("comms list", who.status());
      const access::Action action =
          f->party.empty() ? access::Action::kReadMetadata : access::Action::kSearch;
      if (access::ActingRole(*who, action).empty()) {
        return Fail("comms list", absl::PermissionDeniedError(base::StrCat(
                                      who->name, " has no role that may ",
                                      access::ActionName(action))));
      }
      auto warrants = LoadWarrants(f->data);
      if (!warrants.ok()) return Fail("comms list", warrants.status());
      store::CommFilter filter;
      if (!f->state.empty()) {
        filter.state = store::ParseCommState(f->state);
        if (!filter.state) {
          return Fail("comms list", absl::InvalidArgumentError("unknown --state"), 2);
        }
      }
      if (!f->liid.empty()) filter.liid = f->liid;
      if (!f->party.empty()) filter.party = f->party;
      if (!f->from.empty()) {
        auto t = ParseTime(f->from);
        if (!t.ok()) return Fail("comms list", t.status(), 2);
        filter.from_us = *t;
      }
      if (!f->to.empty()) {
        auto t = ParseTime(f->to);
        if (!t.ok()) return Fail("comms list", t.status(), 2);
        filter.to_us = *t;
      }
      filter.after_id = f->after;
      filter.limit = f->limit;
      const int64_t now = base::Now().unix_us;
      // Only what this person's warrants and teams cover (unassigned records never), decided
      // inside the gate so that the audit record names exactly what is shown.
      auto visible = [&](const store::CommRow& c) {
        access::CommAccess ca = access::CommScope(**warrants, *who, action, c.liid, c.start_us,
                                                  now, kDefaultRetentionDays);
        return access::Authorize(*who, action, ca.scope).ok();
      };
      auto comms = gate->gate->ListVisible(
          filter, {.who = who->name, .role = access::ActingRole(*who, action), .purpose = "cli"},
          {.visible = visible});
      if (!comms.ok()) return Fail("comms list", comms.status());
      nlohmann::ordered_json out = nlohmann::ordered_json::array();
      for (const gate::Listed& listed : comms->rows) {
        const store::CommRow& c = listed.comm;
        nlohmann::ordered_json j;
        j["id"] = c.id;
        j["liid"] = c.liid;
        j["network_id"] = c.network_id;
        j["cin"] = c.cin ? nlohmann::ordered_json(*c.cin) : nlohmann::ordered_json(nullptr);
        j["start"] = base::FormatRfc3339({c.start_us});
        j["end"] = base::FormatRfc3339({c.end_us});
        nlohmann::ordered_json parties = nlohmann::ordered_json::array();
        for (const store::PartyRow& p : c.parties) parties.push_back({{"role", p.role}, {"id", p.id}});
        j["parties"] = parties;
        if (listed.parties_withheld > 0) j["parties_withheld"] = listed.parties_withheld;
        j["state"] = store::CommStateName(c.state);
        j["state_reason"] = c.state_reason;
        j["readable"] = listed.readable;
        if (c.list_version != 0) j["list_version"] = c.list_version;
        j["records"] = c.records;
        j["bytes"] = c.bytes;
        out.push_back(std::move(j));
      }
      std::cout << out.dump(2) << "\n";
      return 0;
    };
  });
}

void AddKeysCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand("keys", "Key management of the cold store");
  cmd->require_subcommand(1);
  auto* rotate = cmd->add_subcommand(
      "rotate", "Rotate the master key (and with --liid that case's warrant key) without rewriting "
                "content; the old versions are destroyed and a signed record goes into the log");
  struct Flags {
    std::string data, liid;
    LoginFlags login;
  };
  auto f = std::make_shared<Flags>();
  rotate->add_option("--data", f->data, "Store directory")->required();
  rotate->add_option("--liid", f->liid, "Also rotate this case's warrant key");
  AddLoginFlags(rotate, f->login);
  rotate->callback([&run, rotate, f] {
    run = [rotate, f] {
      std::optional<std::string> liid;
      if (rotate->count("--liid")) liid = f->liid;
      auto who = LoginFor(f->data, f->login, access::Action::kKeyOperation);
      if (!who.ok()) return Fail("keys rotate", who.status());
      std::string result;
      absl::Status s = RunAudited(f->data,
                                  {.actor = who->name,
                                   .role = RoleOf(*who, access::Action::kKeyOperation),
                                   .action = "key_rotate",
                                   .object = liid ? "liid:" + *liid : "master_key"},
                                  [&](nlohmann::json&) -> absl::Status {
                                    ASSIGN_OR_RETURN(result, store::SubmitOrRunRotate(f->data, liid));
                                    return absl::OkStatus();
                                  });
      if (!s.ok()) return Fail("keys rotate", s);
      std::cout << nlohmann::json::parse(result).dump(2) << "\n";
      return 0;
    };
  });
}

namespace {

std::string HashHex(const tlog::Hash& h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : h) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace

void AddProofCommand(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "proof", "Merkle proofs from the store's log against its latest signed checkpoint (JSON): "
               "inclusion of a record (--leaf) or consistency with an earlier size (--from-size)");
  struct Flags {
    std::string data;
    uint64_t leaf = 0, from_size = 0;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--data", f->data, "Store directory")->required();
  auto* leaf = cmd->add_option("--leaf", f->leaf, "Leaf index of the record");
  auto* from = cmd->add_option("--from-size", f->from_size, "Tree size of an earlier checkpoint");
  leaf->excludes(from);
  cmd->callback([&run, cmd, f] {
    run = [cmd, f] {
      if (!cmd->count("--leaf") && !cmd->count("--from-size")) {
        return Fail("proof", absl::InvalidArgumentError("give --leaf N or --from-size M"), 2);
      }
      std::ifstream vk(store::VerifierKeyPath(f->data));
      std::string vkey;
      std::getline(vk, vkey);
      std::ifstream cpf(store::CheckpointPath(f->data), std::ios::binary);
      std::string note((std::istreambuf_iterator<char>(cpf)), std::istreambuf_iterator<char>());
      auto cp = tlog::OpenCheckpoint(note, vkey);
      if (!cp.ok()) return Fail("proof", cp.status());
      tlog::DirTileStore tiles(store::LogDir(f->data));
      nlohmann::ordered_json out;
      out["tree_size"] = cp->size;
      out["root"] = HashHex(cp->root);
      absl::StatusOr<std::vector<tlog::Hash>> proof;
      if (cmd->count("--leaf")) {
        if (f->leaf >= cp->size) {
          return Fail("proof", absl::OutOfRangeError("leaf is not in the latest checkpoint"));
        }
        auto leaf_hash = tlog::SubtreeHash(f->leaf, f->leaf + 1, cp->size, tiles);
        if (!leaf_hash.ok()) return Fail("proof", leaf_hash.status());
        proof = tlog::InclusionProof(f->leaf, cp->size, tiles);
        if (!proof.ok()) return Fail("proof", proof.status());
        if (!tlog::VerifyInclusion(f->leaf, cp->size, *leaf_hash, *proof, cp->root)) {
          return Fail("proof", absl::DataLossError("the proof does not verify: run tapvault verify"));
        }
        out["leaf_index"] = f->leaf;
        out["leaf_hash"] = HashHex(*leaf_hash);
      } else {
        if (f->from_size > cp->size) {
          return Fail("proof", absl::OutOfRangeError("--from-size is beyond the latest checkpoint"));
        }
        proof = tlog::ConsistencyProof(f->from_size, cp->size, tiles);
        if (!proof.ok()) return Fail("proof", proof.status());
        out["from_size"] = f->from_size;
        if (f->from_size > 0) {
          auto old_root = tlog::SubtreeHash(0, f->from_size, f->from_size, tiles);
          if (old_root.ok()) out["from_root"] = HashHex(*old_root);
        }
      }
      nlohmann::ordered_json hashes = nlohmann::ordered_json::array();
      for (const tlog::Hash& h : *proof) hashes.push_back(HashHex(h));
      out["proof"] = hashes;
      out["checkpoint"] = note;
      out["verifier_key"] = vkey;
      std::cout << out.dump(2) << "\n";
      return 0;
    };
  });
}

}  // namespace tapvault::cli
